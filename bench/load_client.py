"""The load client: closed-loop streams against the bare echo, chats against the app, idle connection ramps.

One run = one measured window; it prints one JSON document on stdout. Modes:

* ``stream``: C connections each send ``S<k>`` and read k frames, again and again (bare echo).
* ``chat``: C simulated users (distinct user ids) send ``user_message`` and read ``loading``, the streamed
  ``ai_response`` chunks and the ``done`` frame; with ``--admins 1`` an admin socket watches each session. Each user
  starts a new conversation (a new user id, so a new session) every ``--per-session`` messages, as people do.
* ``open``: open-loop chat for goal G4 (``bench/open_loop.py``): messages arrive at ``--rate`` per second on a
  Poisson schedule over a pool of C users, and latency runs from each message's scheduled time.
* ``steady``: C users with a session each send exactly ``--exchanges`` messages; the app's store calls are read
  before and after (S1).
* ``hold``: open N connections, exchange one message on each, and report the worker's memory per connection.

``stream``, ``chat`` and ``open`` report chunks/s, first-chunk and full-reply latency (p50/p99, ms) and CPU of the server,
the client, the fake LLM and everything else on the machine during the window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # bench/ and the repository (chatbox.auth)

import open_loop
from procstat import CpuWindow, rss_kib
from wsconn import CONNECT_ERRORS, connect, library


class Window:
    """Counters, latency samples and the measured window's clock."""

    def __init__(self, warmup: float, duration: float):
        self.t0 = time.monotonic() + warmup
        self.t1 = self.t0 + duration
        self.chunks = self.admin_chunks = self.replies = self.errors = 0
        self.first: list[float] = []
        self.full: list[float] = []
        self.gaps: list[float] = []  # ms between consecutive chunks of one reply (with --gaps)
        self.snapshot: dict = {}

    @property
    def running(self) -> bool:
        return time.monotonic() < self.t1

    def record(self, sent: float, first: float | None, done: float) -> None:
        if sent >= self.t0 and done <= self.t1:
            if first is not None:
                self.first.append((first - sent) * 1000)
            self.full.append((done - sent) * 1000)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


# --- stream (bare echo) ------------------------------------------------------------------------------------------


async def stream_user(args, slot: int, win: Window) -> None:
    k = args.k
    conn = await connect(args.url)
    request = f"S{k}"
    while win.running:
        sent, first = time.monotonic(), None
        conn.send(request)
        for _ in range(k):
            if await conn.recv() is None:
                raise RuntimeError("the echo server closed the connection")
            first = first or time.monotonic()
            win.chunks += 1
        win.replies += 1
        win.record(sent, first, time.monotonic())
    conn.close()


# --- chat (the app) ----------------------------------------------------------------------------------------------


def token(secret: str, user_id: str, admin: bool = False) -> str:
    from chatbox.auth import sign_token

    return sign_token(secret, user_id, ["admin"] if admin else [], name=user_id)


async def read_reply(conn, win: Window, sent: float, gaps: bool = False) -> str:
    """Read one reply's frames up to ``done``; return the session id seen. Counts chunks (and their gaps)."""
    first, sid, last = None, "", None
    while True:
        raw = await conn.recv()
        if raw is None:
            raise RuntimeError("the app closed the user's socket")
        frame = json.loads(raw)
        kind = frame.get("type")
        sid = frame.get("session_id") or sid
        if kind == "error":
            win.errors += 1
            win.snapshot.setdefault("first_error", frame.get("error"))
            return sid
        if kind != "ai_response":
            continue
        meta = frame.get("metadata") or {}
        if meta.get("done") == "true":
            win.replies += 1
            win.record(sent, first, time.monotonic())
            return sid
        if meta.get("streaming") == "true":
            now = time.monotonic()
            first = first or now
            win.chunks += 1
            if gaps and last is not None and win.t0 <= last and now <= win.t1:
                win.gaps.append((now - last) * 1000)
            last = now


async def watch(conn, win: Window) -> None:
    """An admin socket: count the streamed chunks it is shown."""
    while (raw := await conn.recv()) is not None:
        frame = json.loads(raw)
        meta = frame.get("metadata") or {}
        if frame.get("type") == "ai_response" and meta.get("streaming") == "true" and meta.get("done") != "true":
            win.admin_chunks += 1


async def chat_user(args, slot: int, win: Window) -> None:
    secret = os.environ["BENCH_JWT_SECRET"]
    generation = 0
    message = json.dumps({"type": "user_message", "content": "hi"})
    while win.running:
        user = f"bench-{args.tag}-u{slot}-{generation}"
        conn = await connect(f"{args.url}?token={token(secret, user)}")
        await conn.recv()  # connection_status greeting
        admin, watcher = None, None
        for _ in range(args.per_session):
            if not win.running:
                break
            sent = time.monotonic()
            conn.send(message)
            sid = await read_reply(conn, win, sent, args.gaps)
            if args.admins and admin is None and sid:
                admin_token = token(secret, f"bench-{args.tag}-admin{slot}", admin=True)
                admin = await connect(f"{args.url}?token={admin_token}&session_id={sid}")
                await admin.recv()  # its connection_status
                watcher = asyncio.ensure_future(watch(admin, win))
        conn.close()
        if admin is not None:
            admin.close()
            await asyncio.wait_for(watcher, 10)
        generation += 1


async def store_calls(url: str | None) -> dict | None:
    """The app's store call totals (chatbox_store_calls_total) from its Prometheus endpoint, or None."""
    if not url:
        return None

    def scrape() -> dict:
        import urllib.request

        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        totals = {}
        for line in text.splitlines():
            if line.startswith("chatbox_store_calls_total{"):
                kind = line.split('kind="', 1)[1].split('"', 1)[0]
                totals[kind] = float(line.rsplit(" ", 1)[1])
        return totals

    return await asyncio.get_running_loop().run_in_executor(None, scrape)


# --- steady (S1) ----------------------------------------------------------------------------------------------------


async def steady(args) -> dict:
    """C users, each with a session already started, exchange exactly ``--exchanges`` messages each; the app's store
    calls are read before and after, when nothing is in flight, so calls / exchanges is exact."""
    secret, message = os.environ["BENCH_JWT_SECRET"], json.dumps({"type": "user_message", "content": "hi"})
    conns = [await connect(f"{args.url}?token={token(secret, f'bench-{args.tag}-s{i}')}") for i in range(args.conns)]
    warm = Window(0, 1e9)
    for conn in conns:
        await conn.recv()  # connection_status greeting
        conn.send(message)
        await read_reply(conn, warm, time.monotonic())  # the session's first exchange creates it
    win = Window(0, 1e9)

    async def user(conn) -> None:
        for _ in range(args.exchanges):
            conn.send(message)
            await asyncio.wait_for(read_reply(conn, win, time.monotonic()), 30)  # a lost reply fails, not hangs

    before = await store_calls(args.metrics_url)
    cpu, started = CpuWindow({"server": args.server_pid, "client": os.getpid(), "llm": args.llm_pid}), time.monotonic()
    await asyncio.gather(*(user(conn) for conn in conns))
    seconds = time.monotonic() - started
    usage = cpu.stop(seconds)
    after = await store_calls(args.metrics_url)
    for conn in conns:
        conn.close()
    result = {
        "chunks_per_s": round(win.chunks / seconds, 1),
        "replies_per_s": round(win.replies / seconds, 1),
        "errors": win.errors,
        "first_p50_ms": percentile(win.first, 0.5),
        "first_p99_ms": percentile(win.first, 0.99),
        "full_p50_ms": percentile(win.full, 0.5),
        "full_p99_ms": percentile(win.full, 0.99),
        "samples": len(win.full),
        **usage,
    }
    if before and after:
        result["store_calls"] = {kind: after[kind] - before[kind] for kind in after}
        result["store_calls"]["replies"] = win.replies
    return result


# --- window runner -----------------------------------------------------------------------------------------------


class OpenWindow(open_loop.OpenWindow, Window):
    def __init__(self, warmup: float, duration: float, rate: float):
        super().__init__(warmup, duration)
        self.rate, self.scheduled, self.unfinished, self.capped = rate, 0, 0, False


async def measure(args, user) -> dict:
    is_open = args.mode == "open"
    win = OpenWindow(args.warmup, args.duration, args.rate) if is_open else Window(args.warmup, args.duration)
    users = (
        [open_loop.drive(args, win, token, read_reply)] if is_open else [user(args, i, win) for i in range(args.conns)]
    )
    pids = {"server": args.server_pid, "client": os.getpid(), "llm": args.llm_pid}

    async def clock():
        await asyncio.sleep(max(win.t0 - time.monotonic(), 0))
        win.snapshot.update(chunks=win.chunks, admin=win.admin_chunks, replies=win.replies, errors=win.errors)
        store = await store_calls(args.metrics_url)
        cpu = CpuWindow(pids)
        await asyncio.sleep(max(win.t1 - time.monotonic(), 0))
        win.snapshot["cpu"] = cpu.stop(args.duration)
        win.snapshot["end"] = {
            "chunks": win.chunks,
            "admin": win.admin_chunks,
            "replies": win.replies,
            "errors": win.errors,
        }
        after = await store_calls(args.metrics_url)
        if store and after:
            win.snapshot["store"] = {kind: after[kind] - store[kind] for kind in after}

    await asyncio.gather(clock(), *users)
    start, end, seconds = win.snapshot, win.snapshot["end"], args.duration
    result = {
        "chunks_per_s": round((end["chunks"] - start["chunks"]) / seconds, 1),
        "admin_chunks_per_s": round((end["admin"] - start["admin"]) / seconds, 1),
        "replies_per_s": round((end["replies"] - start["replies"]) / seconds, 1),
        "errors": end["errors"] - start["errors"],
        "first_p50_ms": percentile(win.first, 0.5),
        "first_p99_ms": percentile(win.first, 0.99),
        "full_p50_ms": percentile(win.full, 0.5),
        "full_p99_ms": percentile(win.full, 0.99),
        "samples": len(win.full),
        **win.snapshot["cpu"],
    }
    result["frames_per_s"] = round(result["chunks_per_s"] + result["admin_chunks_per_s"], 1)
    cpu = result.get("server_cpu_pct") or 0
    result["frames_per_server_cpu_s"] = round(result["frames_per_s"] * 100 / cpu, 1) if cpu else None
    if args.gaps:
        result.update(gap_p50_ms=percentile(win.gaps, 0.5), gap_p99_ms=percentile(win.gaps, 0.99))
    if "store" in win.snapshot:
        replies = end["replies"] - start["replies"]
        result["store_calls"] = {**win.snapshot["store"], "replies": replies}
    if is_open:
        result.update(open_loop.figures(win, percentile))
    if "first_error" in win.snapshot:
        result["first_error"] = win.snapshot["first_error"]
    return result


# --- hold (idle connections) -------------------------------------------------------------------------------------


async def open_many(args, conns: list, start: int, stop: int) -> int:
    """Open connections start..stop-1 (for the app: wait for each greeting); return how many failed."""
    secret, gate, failed = os.environ.get("BENCH_JWT_SECRET", ""), asyncio.Semaphore(200), 0

    async def one(i: int) -> None:
        nonlocal failed
        url = f"{args.url}?token={token(secret, f'bench-hold-{args.tag}-{i}')}" if args.app else args.url
        async with gate:
            try:
                conn = await connect(url, deflate=args.deflate)
                if args.app and await asyncio.wait_for(conn.recv(), 30) is None:
                    raise ConnectionError("closed before the greeting")
                conns.append(conn)
            except CONNECT_ERRORS:
                failed += 1

    await asyncio.gather(*(one(i) for i in range(start, stop)))
    return failed


async def exchange(conn, message: str, timeout: float) -> bool:
    """Send one message and wait for one answer (the echo, or the app's error frame for a no-op type)."""
    try:
        conn.send(message)
        return await asyncio.wait_for(conn.recv(), timeout) is not None
    except CONNECT_ERRORS:
        return False


async def hold(args) -> dict:
    pid = args.server_pid
    warm: list = []
    await open_many(args, warm, 0, 5)  # first-use allocations are not per-connection cost
    for conn in warm:
        conn.close()
    await asyncio.sleep(1.0)
    before = rss_kib(pid)
    conns: list = []
    steps, failed, opened = [], 0, 0
    started = time.monotonic()
    for target in args.ramp:
        failed += await open_many(args, conns, 5 + opened, 5 + target)
        opened = target
        await asyncio.sleep(0.5)
        rss = rss_kib(pid)
        steps.append(
            {
                "n": target,
                "held": len(conns),
                "rss_mib": round(rss / 1024, 1),
                "kib_per_conn": round((rss - before) / max(len(conns), 1), 1),
                "elapsed_s": round(time.monotonic() - started, 2),
            }
        )
    message = '{"type":"typing_indicator"}' if args.app else "x" * 85
    answers = await asyncio.gather(*(exchange(c, message, args.answer_timeout) for c in conns))
    await asyncio.sleep(1.0)
    after = rss_kib(pid)
    for conn in conns:
        conn.close()
    await asyncio.sleep(0.5)
    return {
        "n": args.ramp[-1],
        "held": len(conns),
        "connect_errors": failed,
        "answered": sum(answers),
        "client_library": library(args.deflate),
        "deflate_offered": args.deflate,
        "rss_before_mib": round(before / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
        "kib_per_conn_idle": steps[-1]["kib_per_conn"],
        "kib_per_conn": round((after - before) / max(len(conns), 1), 1),
        "steps": steps,
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("stream", "chat", "open", "hold", "steady"))
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT/ws (echo) or .../chat/ws (app)")
    parser.add_argument("--conns", type=int, default=10)
    parser.add_argument("--k", type=int, default=50, help="stream: frames per request")
    parser.add_argument("--admins", type=int, default=0, choices=(0, 1), help="chat: admin watchers per session")
    parser.add_argument("--per-session", type=int, default=10, help="chat: messages before a new conversation")
    parser.add_argument("--rate", type=float, default=10.0, help="open: messages per second, all users together")
    parser.add_argument("--seed", type=int, default=1, help="open: the Poisson schedule's random seed")
    parser.add_argument("--max-messages", type=int, default=100_000, help="open: never schedule more than this")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--server-pid", type=int, default=0, help="the gunicorn worker (CPU and memory)")
    parser.add_argument("--llm-pid", type=int, default=0, help="the fake LLM (its CPU is reported apart)")
    parser.add_argument("--tag", default="x", help="makes user ids unique across windows")
    parser.add_argument("--app", action="store_true", help="hold: the server is the app (token, greeting)")
    parser.add_argument("--deflate", action="store_true", help="hold: offer permessage-deflate like a browser")
    parser.add_argument("--ramp", type=lambda v: [int(x) for x in v.split(",")], default=[1000])
    parser.add_argument("--answer-timeout", type=float, default=2.0)
    parser.add_argument("--exchanges", type=int, default=50, help="steady: messages each user sends")
    parser.add_argument("--gaps", type=int, default=0, help="chat: record the gaps between a reply's chunks")
    parser.add_argument("--metrics-url", help="chat: the app's Prometheus URL, to count store calls in the window")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if args.mode == "hold":
        result = asyncio.run(hold(args))
    elif args.mode == "steady":
        result = asyncio.run(steady(args))
    else:
        result = asyncio.run(measure(args, stream_user if args.mode == "stream" else chat_user))
        result["client_library"] = library()
    result.update(mode=args.mode, conns=args.conns)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
