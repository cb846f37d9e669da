-- The global model request limit (GEMINI_MAX_REQUESTS_PER_MINUTE) shared by every worker process.
-- One row per limit holds the times of the requests made in the last minute; taking a slot is one
-- UPDATE of that row, so concurrent workers serialise on it and the limit holds in any 60-second window.
CREATE TABLE IF NOT EXISTS public.persona_engine_request_limits (
    name        text PRIMARY KEY,
    recent      timestamptz[] NOT NULL DEFAULT '{}'
);
