#!/usr/bin/env python3
"""Lambda shape: the release bootstraps' sizes, their time from process start to the first event handled
under the cargo-lambda emulator (`cargo lambda watch --only-lambda-apis`), idle RSS after that event, and
the worker's peak RSS over a batch that includes an image post (the Gemini fake answers with a 1024² PNG).

Run by scripts/bench after `cargo build --release`; prints `LAMBDA ...` lines. Needs cargo-lambda on PATH.
The bootstraps are built as `sam build` builds them: `cargo lambda build --release` in each function's
directory (so each gets only its own features), into target/lambda/<function>/bootstrap.
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
PE = os.path.join(REL, "persona-engine")
PB = os.path.join(REL, "persona-bench")
FUNCTIONS = ("enqueue", "worker", "admin")


def bootstrap(name):
    return os.path.join(ROOT, "target", "lambda", name, "bootstrap")
COLD_STARTS = int(os.environ.get("COLD_STARTS", "10"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"bench-lambda: nothing listens on {port}")


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
    return fields


def psql(url, sql):
    return subprocess.run(["psql", "-qAtX", url, "-c", sql], check=True, capture_output=True, text=True).stdout.strip()


class Emulator:
    def __init__(self):
        self.port = free_port()
        self.log = open(os.path.join(ROOT, "target", "bench-lambda-watch.log"), "w")
        self.proc = subprocess.Popen(
            ["cargo", "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(self.port)],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port)

    def invoke_async(self, event):
        """Posts an invocation now; the emulator holds it until a runtime polls. Returns a joinable result."""
        result = {}

        def call():
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.port}/2015-03-31/functions/_/invocations",
                data=json.dumps(event).encode(), method="POST", headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=300) as response:
                result["body"] = response.read().decode()
            result["at"] = time.monotonic()

        thread = threading.Thread(target=call)
        thread.start()
        return thread, result

    def stop(self):
        os.killpg(self.proc.pid, 9)


def runtime_env(emulator, extra):
    env = {
        "PATH": os.environ["PATH"],
        "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{emulator.port}/.rt",
        "AWS_LAMBDA_FUNCTION_NAME": "_",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "RUST_LOG": "warn",
    }
    env.update(extra)
    return env


def cold_start(emulator, binary, event, extra):
    """Spawns `binary` with an invocation already waiting: ms from spawn to the response, then RSS."""
    thread, result = emulator.invoke_async(event)
    time.sleep(0.3)  # the invocation is queued before the process exists
    started = time.monotonic()
    proc = subprocess.Popen([binary], env=runtime_env(emulator, extra), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    thread.join()
    first_ms = (result["at"] - started) * 1000
    time.sleep(0.5)  # idle after the event
    status = proc_status(proc.pid)
    warm_thread, warm = emulator.invoke_async(event)
    sent = time.monotonic()
    warm_thread.join()
    warm_ms = (warm["at"] - sent) * 1000
    proc.kill()
    proc.wait()
    return first_ms, warm_ms, status, result["body"]


def main():
    for name in FUNCTIONS:
        subprocess.run(["cargo", "lambda", "build", "--release", "--quiet"], cwd=os.path.join(ROOT, "functions", name),
                       check=True)
        size = os.path.getsize(bootstrap(name))
        kind = subprocess.run(["file", "-b", bootstrap(name)], capture_output=True, text=True).stdout.split(",")[0]
        print(f"LAMBDA size {name} bytes={size} mb={size / 1e6:.2f} mib={size / 2**20:.2f} ({kind}, stripped)")

    pg_dir = os.path.join(ROOT, "target", "pg-bench-lambda")
    line = subprocess.run([PE, "dev-postgres", "start", "--dir", pg_dir], check=True, capture_output=True,
                          text=True).stdout.strip()
    database_url = line.split("=", 1)[1]
    emulator = fake = None
    try:
        env = dict(os.environ, DATABASE_URL=database_url)
        subprocess.run([PE, "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([PE, "seed"], env=env, check=True, capture_output=True)
        fake = subprocess.Popen([PB, "gemini-fake"], stdout=subprocess.PIPE, text=True)
        gemini = dict(fake.stdout.readline().strip().split("=", 1) for _ in range(2))
        emulator = Emulator()
        base = {"DATABASE_URL": database_url, "MEDIA_DIR": os.path.join(ROOT, "target", "bench-lambda-media"),
                "ADMIN_API_KEY": "bench-admin-key-0123456789abcdef0123456789"}
        with open(os.path.join(ROOT, "shared", "tests", "fixtures", "eventbridge-schedule.json")) as f:
            schedule = json.load(f)
        with open(os.path.join(ROOT, "shared", "tests", "fixtures", "function-url-request.json")) as f:
            health = json.load(f)
        health["rawPath"] = health["requestContext"]["http"]["path"] = "/health"
        health["rawQueryString"] = ""
        cases = [
            ("admin", "GET /health (no database work)", health, {}),
            ("worker", "scheduled event, nothing due (one claim query)", schedule, {}),
            ("enqueue", "scheduled event (connect + a full planner tick)", schedule, {}),
        ]
        for name, what, event, extra in cases:
            firsts, warms, rss, hwm = [], [], [], []
            for i in range(COLD_STARTS):
                if name == "enqueue":
                    event = dict(event, id=f"bench-cold-start-{i}")  # a new event each time, not a redelivery
                first_ms, warm_ms, status, body = cold_start(emulator, bootstrap(name), event,
                                                             dict(base, **extra))
                firsts.append(first_ms)
                warms.append(warm_ms)
                rss.append(status["VmRSS"])
                hwm.append(status["VmHWM"])
            print(f"LAMBDA cold_start {name} event=\"{what}\" runs={COLD_STARTS} "
                  f"first_event_ms_median={statistics.median(firsts):.1f} min={min(firsts):.1f} max={max(firsts):.1f} "
                  f"warm_ms_median={statistics.median(warms):.1f} idle_rss_mb={statistics.median(rss) / 1024:.1f} "
                  f"peak_rss_mb={max(hwm) / 1024:.1f} last_response={body[:120]!r}")

        # The worker's peak over a batch with an image post and text tasks, the model answering for real
        # (over HTTP, a 1024² PNG for the image).
        personas = psql(database_url, "SELECT id FROM personas ORDER BY username LIMIT 4").split()
        board = psql(database_url, "SELECT id FROM boards ORDER BY slug LIMIT 1")
        post = psql(database_url, "SELECT id FROM posts WHERE NOT locked ORDER BY created_at DESC LIMIT 1")
        psql(database_url, f"""
            UPDATE persona_tasks SET status = 'SKIPPED', completed_at = now(), skip_reason = 'bench'
            WHERE status = 'PENDING';
            INSERT INTO persona_tasks (persona_id, task_type, board_id, post_id, scheduled_at)
            VALUES ('{personas[0]}', 'image_post', '{board}', NULL, now() - interval '1 minute'),
                   ('{personas[1]}', 'comment', NULL, '{post}', now() - interval '1 minute'),
                   ('{personas[2]}', 'vote', NULL, '{post}', now() - interval '1 minute'),
                   ('{personas[3]}', 'post', '{board}', NULL, now() - interval '1 minute');""")
        model = {"LLM_PROVIDER": "gemini", "GEMINI_MAX_REQUESTS_PER_MINUTE": "1000",
                 "PERSONA_MAX_ACTIONS_PER_HOUR": "100", "PERSONA_MAX_POSTS_PER_DAY": "100", **gemini}
        first_ms, _, status, body = cold_start(emulator, bootstrap("worker"), {"max_tasks": 4},
                                               dict(base, **model))
        image = psql(database_url, "SELECT status || ' ' || coalesce(error_message, skip_reason, '') FROM persona_tasks "
                                   "WHERE task_type = 'image_post' ORDER BY created_at DESC LIMIT 1")
        media = psql(database_url, "SELECT coalesce(max(bytes), 0) || ' bytes ' || coalesce(max(width), 0) || 'x' "
                                   "|| coalesce(max(height), 0) FROM media")
        print(f"LAMBDA worker_batch_with_image tasks=4 image_post={image!r} stored={media!r} batch_ms={first_ms:.0f} "
              f"peak_rss_mb={status['VmHWM'] / 1024:.1f} response={body[:200]!r}")
    finally:
        if emulator:
            emulator.stop()
        if fake:
            fake.kill()
        subprocess.run([PE, "dev-postgres", "stop", "--dir", pg_dir], capture_output=True)
        subprocess.run(["rm", "-rf", pg_dir])


if __name__ == "__main__":
    main()
