"""One count of every database call this process makes, reads and writes apart: counted, never guessed.

Against a real MongoDB a pymongo command listener counts each command the driver sends; against the embedded
mongomock each public collection method counts once (the calls mongomock makes to itself inside it do not). The
count is exported as ``chatbox_store_calls_total{kind="read|write"}`` and read by tests and the benchmark.
"""

from __future__ import annotations

import contextlib
import functools

from greenlet import getcurrent
from prometheus_client.core import CounterMetricFamily
from pymongo import monitoring

READ_COMMANDS = frozenset({"find", "getMore", "aggregate", "count", "distinct", "listIndexes"})
WRITE_COMMANDS = frozenset({"insert", "update", "delete", "findAndModify", "createIndexes"})
READ_METHODS = (
    "find",
    "find_one",
    "aggregate",
    "count_documents",
    "estimated_document_count",
    "distinct",
    "index_information",
)
WRITE_METHODS = (
    "insert_one",
    "insert_many",
    "update_one",
    "update_many",
    "replace_one",
    "delete_one",
    "delete_many",
    "find_one_and_update",
    "find_one_and_replace",
    "find_one_and_delete",
    "bulk_write",
    "create_index",
)


class StoreCalls:
    """Running totals; ``snapshot()`` and a difference of two snapshots are what tests and the bench compare.

    Calls made inside ``background()`` (the periodic sweeps: reaper, escalation) are counted apart, so the totals
    of the request path are not blurred by a sweep that happened to run meanwhile."""

    def __init__(self):
        self.reads = self.writes = 0
        self.background_reads = self.background_writes = 0
        self._depth = 0  # >0 while inside a counted embedded call (mongomock calls itself: count the outer one)
        # The greenlets (threads) running a sweep; a set, not a thread-local: a local would give every long-lived
        # socket greenlet that ever touched the store a dict of its own.
        self._background: set = set()

    def count(self, kind: str) -> None:
        name = ("background_" if getcurrent() in self._background else "") + kind + "s"
        setattr(self, name, getattr(self, name) + 1)

    @contextlib.contextmanager
    def background(self):
        """Count the calls made by this greenlet meanwhile as background work."""
        current = getcurrent()
        self._background.add(current)
        try:
            yield
        finally:
            self._background.discard(current)

    def snapshot(self) -> tuple[int, int]:
        return self.reads, self.writes

    def since(self, before: tuple[int, int]) -> tuple[int, int]:
        return self.reads - before[0], self.writes - before[1]


calls = StoreCalls()


class CommandCounter(monitoring.CommandListener):
    """Counts the commands pymongo sends to a real MongoDB."""

    def started(self, event) -> None:
        if event.command_name in READ_COMMANDS:
            calls.count("read")
        elif event.command_name in WRITE_COMMANDS:
            calls.count("write")

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def _counting(method, kind: str):
    @functools.wraps(method)
    def call(*args, **kwargs):
        if calls._depth == 0:
            calls.count(kind)
        calls._depth += 1
        try:
            return method(*args, **kwargs)
        finally:
            calls._depth -= 1

    return call


def count_methods(cls) -> None:
    """Make the public calls of an embedded (mongomock) collection class count themselves."""
    for names, kind in ((READ_METHODS, "read"), (WRITE_METHODS, "write")):
        for name in names:
            setattr(cls, name, _counting(getattr(cls, name), kind))


class StoreCallsCollector:
    """Exports the totals to a Prometheus registry."""

    def collect(self):
        family = CounterMetricFamily(
            "chatbox_store_calls", "Database calls made by this process (periodic sweeps apart)", labels=["kind"]
        )
        for kind in ("reads", "writes", "background_reads", "background_writes"):
            family.add_metric([kind[:-1]], getattr(calls, kind))
        yield family
