"""Open-loop chat (goal G4): messages arrive on a Poisson schedule at ``--rate`` per second, whatever the replies do.

A closed loop at saturation only measures queueing; here the load is fixed in advance. Each scheduled message goes
to an idle connection of a pool of ``--conns`` simulated users (so no two replies queue on one session); if none is
idle it waits. Latency runs from the *scheduled* time, not the actual send, so a late client or a full pool shows up
in the figures instead of silently lowering the load (no coordinated omission).

Bounded in time (nothing is scheduled after the window; in-flight replies get ``--drain`` seconds, then the rest are
counted as ``unfinished``) and in count (at most ``--max-messages`` scheduled).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time

from wsconn import connect

DRAIN_S = 10.0


class OpenWindow:
    """Mixin for the load client's Window: keep every message *scheduled* inside the window, however late it ends."""

    def record(self, sent: float, first: float | None, done: float) -> None:
        if self.t0 <= sent < self.t1:
            if first is not None:
                self.first.append((first - sent) * 1000)
            self.full.append((done - sent) * 1000)


class Chatter:
    """One simulated user's socket; a new user (so a new conversation) every ``per_session`` messages."""

    def __init__(self, args, slot: int, token):
        self.args, self.slot, self.token = args, slot, token
        self.generation = self.sent = 0
        self.conn = None

    async def open(self) -> Chatter:
        user = f"bench-{self.args.tag}-o{self.slot}-{self.generation}"
        secret = os.environ["BENCH_JWT_SECRET"]
        self.conn = await connect(f"{self.args.url}?token={self.token(secret, user)}")
        await self.conn.recv()  # connection_status greeting
        return self

    async def ask(self, win, scheduled: float, read_reply) -> None:
        win.lags.append((time.monotonic() - scheduled) * 1000)
        self.conn.send(json.dumps({"type": "user_message", "content": "hi"}))
        await read_reply(self.conn, win, scheduled)
        self.sent += 1
        if self.sent % self.args.per_session == 0:
            self.conn.close()
            self.generation += 1
            await self.open()


async def drive(args, win, token, read_reply) -> None:
    """Schedule the window's messages and wait for their replies (at most ``DRAIN_S`` after the window)."""
    pool: asyncio.Queue = asyncio.Queue()
    for slot in range(args.conns):
        pool.put_nowait(await Chatter(args, slot, token).open())
    rng = random.Random(args.seed)
    win.lags, tasks = [], []

    async def one(scheduled: float) -> None:
        chatter = await pool.get()
        try:
            await chatter.ask(win, scheduled, read_reply)
        finally:
            pool.put_nowait(chatter)

    at = time.monotonic()
    while at < win.t1 and len(tasks) < args.max_messages:
        await asyncio.sleep(max(at - time.monotonic(), 0))
        tasks.append(asyncio.ensure_future(one(at)))
        if win.t0 <= at:
            win.scheduled += 1
        at += rng.expovariate(args.rate)
    done, pending = await asyncio.wait(tasks, timeout=max(win.t1 - time.monotonic(), 0) + DRAIN_S)
    for task in pending:
        task.cancel()
    for task in done:
        if task.exception() is not None:
            raise task.exception()
    win.unfinished = len(pending)
    win.capped = len(tasks) >= args.max_messages
    while not pool.empty():
        pool.get_nowait().conn.close()


def figures(win, percentile) -> dict:
    """What the open-loop window adds to the load client's result."""
    return {
        "offered_per_s": win.rate,
        "scheduled": win.scheduled,
        "unfinished": win.unfinished,
        "capped": win.capped,
        "send_lag_p99_ms": percentile(win.lags, 0.99),
    }
