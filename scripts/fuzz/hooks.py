"""schemathesis hooks for scripts/fuzz-admin: a check that no secret the service holds appears in any
response (body or headers). The secrets are passed in FUZZ_SECRETS, comma-separated."""
import os

import schemathesis

SECRETS = [s for s in os.environ.get("FUZZ_SECRETS", "").split(",") if s]


@schemathesis.check
def no_secret_in_response(ctx, response, case):
    text = response.text or ""
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
    for secret in SECRETS:
        if secret in text or secret in headers:
            raise AssertionError(f"a configured secret ({secret[:4]}…) appears in the response")
