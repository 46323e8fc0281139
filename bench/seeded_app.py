"""The app over a store that already holds data (goal S2): ``wsgi:app``, seeded in the worker before it serves.

``BENCH_SEED_SESSIONS`` sessions (default 10,000) of ``BENCH_SEED_MESSAGES`` messages each (default 10, so 100,000
messages), written as the Go service wrote them (short field names, plaintext content, which still reads), spread
five sessions a user, all ended (an open one would be ended by the reaper during the window). Only for the embedded store: with ``BENCH_MONGO_URL`` the data would
outlive the run.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from wsgi import app  # noqa: E402  (monkey-patches and builds the app from the environment)

BATCH = 1000


def seed(sessions: int, messages: int) -> float:
    """Insert the sessions; return the seconds it took."""
    from chatbox.models import Session

    started, collection = time.monotonic(), Session._get_collection()
    t0 = datetime(2026, 1, 1)
    for first in range(0, sessions, BATCH):
        documents = []
        for n in range(first, min(first + BATCH, sessions)):
            start = t0 + timedelta(minutes=n)
            msgs = [
                {"content": f"seeded message {i} of session {n}", "ts": start + timedelta(seconds=i), "sender": s}
                for i, s in zip(range(messages), ["user", "ai"] * messages, strict=False)
            ]
            documents.append(
                {
                    "_id": f"seed{n:08d}",
                    "uid": f"seed-user-{n // 5}",
                    "nm": f"Seeded {n}",
                    "msgs": msgs,
                    "ts": start,
                    "endTs": start + timedelta(minutes=5),
                    "dur": 300,
                    "lastActivity": start + timedelta(seconds=messages),
                }
            )
        collection.insert_many(documents)
    return time.monotonic() - started


seconds = seed(int(os.environ.get("BENCH_SEED_SESSIONS", "10000")), int(os.environ.get("BENCH_SEED_MESSAGES", "10")))
print(f"seeded the store in {seconds:.1f}s", file=sys.stderr, flush=True)
__all__ = ["app"]
