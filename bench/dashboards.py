"""Open admin dashboards during a benchmark window: each behaves like a browser showing the inbox list.

    dash = Dashboards("http://127.0.0.1:8080", admin_token, count=2).start()
    ...                      # the chat window runs
    stats = dash.stop()      # {"dashboards": 2, "pages": 2, "row_events": ..., "list_refreshes": ..., ...}

A dashboard loads the list page once (``GET {prefix}/dashboard/``), then keeps its live stream open
(``GET {prefix}/dashboard/events``) and does what the page's script does with each event: a ``row`` event is
applied in the page (no request); a ``changed`` event (older servers, which re-rendered the whole list on every
change) makes it fetch the list again, as htmx did. So the same load measures old and new servers fairly.

Threads and the standard library only: the caller (``bench/run.py``) is synchronous and may run this in-process.
Command line, for a manual check: ``python bench/dashboards.py URL TOKEN [--count 2] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import threading
import time
from urllib.parse import urlsplit


class Dashboard(threading.Thread):
    """One open inbox: the list page, then its SSE stream until ``stop``."""

    def __init__(self, base_url: str, token: str, prefix: str = "/chat"):
        super().__init__(daemon=True)
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
        self.prefix = prefix.rstrip("/")
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.stats = {"pages": 0, "row_events": 0, "list_refreshes": 0, "stream_bytes": 0, "errors": 0}
        self._conn: http.client.HTTPConnection | None = None

    def _get_list(self, htmx: bool) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            headers = {**self.headers, **({"HX-Request": "true"} if htmx else {})}
            conn.request("GET", self.prefix + "/dashboard/", headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise OSError(f"list page answered {response.status}")
        finally:
            conn.close()

    def run(self) -> None:
        try:
            self._get_list(htmx=False)
            self.stats["pages"] += 1
            self._stream()
        except (OSError, http.client.HTTPException):
            if not self.stopping.is_set():
                self.stats["errors"] += 1
        finally:
            self.connected.set()  # never leave start() waiting

    def _stream(self) -> None:
        self._conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self._conn.request(
            "GET", self.prefix + "/dashboard/events", headers={**self.headers, "Accept": "text/event-stream"}
        )
        try:
            response = self._conn.getresponse()
            if response.status != 200:
                raise OSError(f"live stream answered {response.status}")
            self.connected.set()
            self._read_events(response)
        finally:
            self._conn.close()

    def _read_events(self, response) -> None:
        event = ""
        while not self.stopping.is_set():
            line = response.readline()
            if not line:
                return
            self.stats["stream_bytes"] += len(line)
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if text.startswith("event:"):
                event = text[6:].strip()
            elif text == "" and event:
                self._handle(event)
                event = ""

    def _handle(self, event: str) -> None:
        if event == "row":
            self.stats["row_events"] += 1
        elif event == "changed":
            self._get_list(htmx=True)
            self.stats["list_refreshes"] += 1

    def stop(self) -> None:
        self.stopping.set()
        # Only shut the socket down: the reading thread sees the end of the stream and closes it itself.
        if self._conn is not None and self._conn.sock is not None:
            try:
                self._conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Dashboards:
    """``count`` open dashboards against ``base_url`` (e.g. ``http://127.0.0.1:8080``) signed in with an admin JWT."""

    def __init__(self, base_url: str, admin_token: str, count: int = 2, prefix: str = "/chat"):
        self.boards = [Dashboard(base_url, admin_token, prefix) for _ in range(count)]

    def start(self, timeout: float = 10.0) -> Dashboards:
        """Open every dashboard and wait until each live stream is connected (or failed)."""
        for board in self.boards:
            board.start()
        deadline = time.monotonic() + timeout
        for board in self.boards:
            board.connected.wait(max(deadline - time.monotonic(), 0.0))
        return self

    def stop(self) -> dict:
        """Close every stream; the totals of what the dashboards received and did."""
        for board in self.boards:
            board.stop()
        for board in self.boards:
            board.join(timeout=5)
        totals = {"dashboards": len(self.boards)}
        for board in self.boards:
            for key, value in board.stats.items():
                totals[key] = totals.get(key, 0) + value
        return totals


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("--count", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--prefix", default="/chat")
    args = parser.parse_args(argv)
    boards = Dashboards(args.url, args.token, args.count, args.prefix).start()
    time.sleep(args.seconds)
    print(json.dumps(boards.stop()))


if __name__ == "__main__":
    main()
