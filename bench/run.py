"""The load benchmark: the app against a bare flask-sock echo, same gunicorn command line, same run, interleaved.

    python bench/run.py [--quick] [--json out.json]

Starts everything on 127.0.0.1 (bare echo, the app with the built-in demo model, the app with an OpenAI-type
provider pointed at bench/fake_llm.py, the fake LLM), pins servers to core 0 and clients to core 1 when there are two
cores, runs 3 rounds of windows (bare, app, app open loop, app, app, bare C=1, app C=1, app C=1) with fresh app
servers each round, then idle-memory ramps on fresh servers, prints one table with the goals of PERFORMANCE.md section 5.3 and one JSON document, and stops everything.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from report import context, summarize, table
from servers import BENCH, PYTHON, ROOT, Stack, base_env

OPEN_LOAD = 0.5  # G4: the open-loop window runs at this fraction of the closed-loop capacity

sys.path.insert(0, ROOT)


def demo_words() -> int:
    """How many chunks the demo model streams for "hi": the bare stream and the fake LLM send as many."""
    from chatbox.integrations.llm import DemoProvider, Turn

    return len(DemoProvider.reply_for([Turn("user", "hi")]).split(" "))


def app_env(secret: str, provider_url: str | None, chunk_delay: str = "0") -> dict[str, str]:
    env = {
        **base_env(),
        "CHATBOX_ENV": "test",
        "JWT_SECRET": secret,
        "ENCRYPTION_KEY": secrets.token_hex(16),
        "MAX_CONNECTIONS": "20000",
        "RATE_LIMIT": "100000000",
        "WS_FRAME_RATE": "1000000",  # a load client sends far faster than a person: the per-socket ceiling is off
        "DEMO_CHUNK_DELAY": chunk_delay,
        "MONGO_URI": os.environ.get("BENCH_MONGO_URL", ""),
        "MONGO_DATABASE": "chatbox_bench",
    }
    if provider_url:
        env.update(
            LLM_PROVIDER_1_ID="bench",
            LLM_PROVIDER_1_TYPE="openai",
            LLM_PROVIDER_1_ENDPOINT=provider_url,
            LLM_PROVIDER_1_API_KEY="x",
            LLM_PROVIDER_1_MODEL="m",
        )
    return env


def echo_env() -> dict[str, str]:
    return {**base_env(), "MAX_CONNECTIONS": "20000"}


class Runner:
    def __init__(self, args, stack: Stack, secret: str):
        self.args, self.stack, self.secret = args, stack, secret
        self.llm_pid = 0
        self.count = 0

    def client(self, mode: str, server, url: str, *extra: str, seconds: float) -> dict:
        """Run one load_client window; a failure is recorded as {"error": ...}, never hidden."""
        self.count += 1
        cmd = [
            PYTHON,
            os.path.join(BENCH, "load_client.py"),
            mode,
            "--url",
            url,
            "--server-pid",
            str(server.worker),
            "--llm-pid",
            str(self.llm_pid),
            "--tag",
            f"w{self.count}",
            *extra,
        ]
        if self.stack.cores:
            cmd = ["taskset", "-c", self.stack.cores[1], *cmd]
        env = {**base_env(), "BENCH_JWT_SECRET": self.secret}
        try:
            done = subprocess.run(
                ["timeout", "-k", "5", str(int(seconds + 60)), *cmd],
                check=False,
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=seconds + 70,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"{mode} window timed out"}
        lines = done.stdout.strip().splitlines()
        if done.returncode or not lines:
            return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
        return json.loads(lines[-1])

    def window(self, mode: str, server, url: str, conns: int, **options) -> dict:
        a = self.args
        duration = a.duration if conns > 1 else a.latency_duration
        extra = ["--conns", str(conns), "--warmup", str(a.warmup), "--duration", str(duration), "--k", str(a.k)]
        for key, value in options.items():
            extra += [f"--{key.replace('_', '-')}", str(value)]
        result = self.client(mode, server, url, *extra, seconds=a.warmup + duration)
        result["server_worker_pid"] = server.worker  # which server measured it (a fresh app each round)
        shown = {
            k: result.get(k)
            for k in ("chunks_per_s", "frames_per_s", "first_p50_ms", "server_cpu_pct", "foreign_cpu_pct", "error")
            if result.get(k) is not None
        }
        print(f"  {mode} C={conns} {options or ''} {shown}", file=sys.stderr, flush=True)
        return result

    def steady(self, server, url: str, metrics_url: str) -> dict:
        """S1: every user's exchanges counted whole, with the app's store calls read when none is in flight."""
        a = self.args
        extra = ["--conns", str(a.conns), "--exchanges", str(a.exchanges), "--metrics-url", metrics_url]
        result = self.client("steady", server, url, *extra, seconds=60 + a.exchanges)
        result["server_worker_pid"] = server.worker
        print(f"  steady C={a.conns} {result.get('store_calls') or result.get('error')}", file=sys.stderr, flush=True)
        return result


def open_loop_window(runner: Runner, server, url: str, closed: dict) -> dict:
    """G4: open-loop chat at half the rate the same round's closed-loop window reached on the same server."""
    capacity = closed.get("replies_per_s")
    if not isinstance(capacity, (int, float)) or capacity <= 0:
        return {"error": "no closed-loop capacity measured in this round"}
    rate = round(capacity * OPEN_LOAD, 2)
    # The same bound in count as in time: at most twice what the schedule should produce.
    most = int(rate * (runner.args.warmup + runner.args.duration) * 2) + 20
    return runner.window("open", server, url, runner.args.conns, rate=rate, max_messages=most)


def fresh_apps(runner: Runner, llm_port: int):
    """A new demo app and a new HTTP app: mongomock has no indexes, so a store that grows over the rounds would
    make each round slower than the last (see bench/README.md)."""
    stack, secret = runner.stack, runner.secret
    demo = stack.gunicorn("app-demo", "wsgi:app", app_env(secret, None))
    http = stack.gunicorn("app-http", "wsgi:app", app_env(secret, f"http://127.0.0.1:{llm_port}/v1"))
    demo.wait_ready("/chat/healthz")
    http.wait_ready("/chat/healthz")
    return demo, http


def seeded_app(runner: Runner):
    """One app over 10,000 stored sessions (100,000 messages) for the whole run (S2); None with a real MongoDB."""
    if os.environ.get("BENCH_MONGO_URL"):
        return None
    env = {**app_env(runner.secret, None), "PYTHONPATH": BENCH}
    server = runner.stack.gunicorn("app-seeded", "seeded_app:app", env, pythonpath=BENCH)
    server.wait_ready("/chat/healthz", timeout=120)
    return server


def throughput_rounds(runner: Runner, bare, llm_port: int) -> list[dict]:
    a, rounds = runner.args, []
    bare_url = f"ws://127.0.0.1:{bare.port}/ws"
    seeded = seeded_app(runner)
    for number in range(1, a.rounds + 1):
        print(f"round {number}/{a.rounds}", file=sys.stderr, flush=True)
        demo, http = fresh_apps(runner, llm_port)
        demo_url, http_url = (f"ws://127.0.0.1:{s.port}/chat/ws" for s in (demo, http))
        windows = {"bare_stream": runner.window("stream", bare, bare_url, a.conns)}
        windows["demo_chat"] = runner.window("chat", demo, demo_url, a.conns)
        if seeded is not None:
            windows["seeded_chat"] = runner.window("chat", seeded, f"ws://127.0.0.1:{seeded.port}/chat/ws", a.conns)
        metrics = f"http://127.0.0.1:{demo.port}/chat/metrics/prometheus"
        windows["demo_steady"] = runner.steady(demo, demo_url, metrics)
        windows["demo_open"] = open_loop_window(runner, demo, demo_url, windows["demo_chat"])
        windows["http_chat"] = runner.window("chat", http, http_url, a.conns)
        windows["demo_chat_admin"] = runner.window("chat", demo, demo_url, a.conns, admins=1)
        windows["bare_stream_c1"] = runner.window("stream", bare, bare_url, 1)
        windows["demo_chat_c1"] = runner.window("chat", demo, demo_url, 1)
        windows["http_chat_c1"] = runner.window("chat", http, http_url, 1)
        rounds.append(windows)
        for server in (demo, http):
            runner.stack.release(server)
    if seeded is not None:
        runner.stack.release(seeded)
    return rounds


def capacity_ramp(runner: Runner) -> dict:
    """C1: users each chatting with a model that streams 50 tokens/s; the most one worker holds with the p99 gap
    between a reply's chunks under 100 ms. Steps up until a step misses (each step: a fresh app)."""
    steps = []
    for users in runner.args.users:
        app = runner.stack.gunicorn(f"app-c1-{users}", "wsgi:app", app_env(runner.secret, None, "0.02"))
        app.wait_ready("/chat/healthz")
        window = runner.window("chat", app, f"ws://127.0.0.1:{app.port}/chat/ws", users, gaps=1)
        runner.stack.release(app)
        steps.append({"users": users, **{k: window.get(k) for k in CAPACITY_KEYS}})
        if not isinstance(window.get("gap_p99_ms"), (int, float)) or window["gap_p99_ms"] >= GAP_LIMIT_MS:
            break
    return {"steps": steps, "gap_limit_ms": GAP_LIMIT_MS}


def dashboard_windows(runner: Runner) -> dict:
    """D1 (issue 13): 50 users at 50 tokens/s without, then with, two dashboards open, twice, on one app."""
    from dashboards import Dashboards

    sys.path.insert(0, ROOT)
    from chatbox.auth import sign_token

    app = runner.stack.gunicorn("app-dash", "wsgi:app", app_env(runner.secret, None, "0.02"))
    app.wait_ready("/chat/healthz")
    url, base = f"ws://127.0.0.1:{app.port}/chat/ws", f"http://127.0.0.1:{app.port}"
    token = sign_token(runner.secret, "bench-dashboard-admin", ["admin"], "Bench Admin")
    out: dict = {"without": [], "with": []}
    for _ in range(2):
        users = runner.args.dash_users
        out["without"].append(runner.window("chat", app, url, users, gaps=1))
        boards = Dashboards(base, token, count=2).start()
        window = runner.window("chat", app, url, users, gaps=1)
        window["dashboards"] = boards.stop()
        out["with"].append(window)
    runner.stack.release(app)
    return out


CAPACITY_KEYS = ("gap_p50_ms", "gap_p99_ms", "first_p99_ms", "replies_per_s", "chunks_per_s", "errors", "error")
GAP_LIMIT_MS = 100.0


def profile_window(runner: Runner) -> dict:
    """Where the worker's time goes under the demo_chat load: py-spy samples of a fresh demo app (not measured)."""
    import profile as spy

    app = runner.stack.gunicorn("app-profile", "wsgi:app", app_env(runner.secret, None))
    app.wait_ready("/chat/healthz")
    result: dict = {}
    sampler = threading.Thread(target=lambda: result.update(spy.record(app.worker, runner.args.duration)), daemon=True)
    a = runner.args
    extra = ["--conns", str(a.conns), "--warmup", "1", "--duration", str(a.duration + 1), "--k", str(a.k)]
    url = f"ws://127.0.0.1:{app.port}/chat/ws"
    threading.Timer(1.0, sampler.start).start()
    runner.client("chat", app, url, *extra, seconds=a.duration + 2)
    sampler.join(a.duration + 40)
    runner.stack.release(app)
    return result


def memory_ramps(runner: Runner, nofile: int) -> dict:
    """Idle connections on fresh servers (freed memory would be reused by a second ramp on the same worker)."""
    a, stack, out = runner.args, runner.stack, {}
    if nofile < a.hold[-1] + 200:
        return {"not_tested": f"ulimit -n is {nofile}; {a.hold[-1]} connections need at least {a.hold[-1] + 200}"}
    ramp = ",".join(str(n) for n in a.hold)
    for kind in ("bare", "app"):
        for deflate in (False, True):
            name = f"{kind}-{'deflate' if deflate else 'plain'}"
            if kind == "bare":
                server = stack.gunicorn(f"mem-{name}", "echo_app:app", echo_env(), pythonpath=BENCH)
                server.wait_ready("/")
                url, extra = f"ws://127.0.0.1:{server.port}/ws", []
            else:
                server = stack.gunicorn(f"mem-{name}", "wsgi:app", app_env(runner.secret, None))
                server.wait_ready("/chat/healthz")
                url, extra = f"ws://127.0.0.1:{server.port}/chat/ws", ["--app"]
            extra += ["--deflate"] if deflate else []
            out[name] = runner.client("hold", server, url, "--ramp", ramp, *extra, seconds=120 + a.hold[-1] / 50)
            print(f"  hold {name}: {out[name]}", file=sys.stderr, flush=True)
            stack.release(server)
    return out


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s windows, 1,000 idle connections (~2 minutes)")
    parser.add_argument("--json", help="also write the JSON document to this file")
    parser.add_argument("--quiet", action="store_true", help="print only the table (the JSON goes to --json)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--conns", type=int, default=10, help="concurrent chats / streams")
    parser.add_argument("--duration", type=float, help="seconds per measured window (default 10, quick 3)")
    parser.add_argument("--warmup", type=float, help="seconds before each window (default 1, quick 0.5)")
    parser.add_argument(
        "--hold",
        type=lambda v: [int(x) for x in v.split(",")],
        help="idle ramp steps (default 1000,5000,10000; quick 1000)",
    )
    parser.add_argument(
        "--users",
        type=lambda v: [int(x) for x in v.split(",")],
        help="C1 steps, users chatting at 50 tokens/s (default 100,200,300,400,500,600; quick 100,300,500)",
    )
    parser.add_argument("--exchanges", type=int, help="S1: messages each user sends (default 200, quick 50)")
    parser.add_argument("--dash-users", type=int, default=50, help="D1: users at 50 tokens/s while dashboards watch")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the py-spy window")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal fails")
    args = parser.parse_args(argv)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.latency_duration = min(args.duration, 2.0) if args.quick else args.duration
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.0)
    args.hold = args.hold or ([1000] if args.quick else [1000, 5000, 10000])
    args.exchanges = args.exchanges or (50 if args.quick else 200)
    args.users = args.users or ([100, 300, 500] if args.quick else [100, 200, 300, 400, 500, 600])
    args.k = demo_words()
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    nofile = raise_nofile()
    secret = secrets.token_hex(32)
    stack = Stack(budget=2400 + args.rounds * 10 * (args.duration + 10))
    # SIGTERM (a CI job being cancelled) unwinds like Ctrl-C, so the finally below stops every server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.time()
    facts = context(args, nofile, stack.cores)  # date and git as the run starts
    try:
        llm, llm_port = stack.fake_llm(args.k)
        bare = stack.gunicorn("bare", "echo_app:app", echo_env(), pythonpath=BENCH)
        bare.wait_ready("/")
        runner = Runner(args, stack, secret)
        runner.llm_pid = llm.pid
        rounds = throughput_rounds(runner, bare, llm_port)
        stack.release(bare)
        capacity = capacity_ramp(runner)
        capacity["dashboards"] = dashboard_windows(runner)
        memory = memory_ramps(runner, nofile)
        profile = profile_window(runner) if args.profile else {"skipped": "--no-profile"}
    finally:
        stack.close()
    document = {
        **facts,
        "seconds": round(time.time() - started, 1),
        **summarize(rounds, memory, args, capacity),
        "profile": profile,
    }
    print(table(document))
    if not args.quiet:
        print(json.dumps(document, indent=2))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(document, handle, indent=2)
    failed = [row for row in document["goals"] if row["status"].startswith("fail")]
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
