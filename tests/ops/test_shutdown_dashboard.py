"""SIGTERM with dashboards open: their live streams end at once, so the worker exits as quickly as without them
(an open SSE stream used to hold the worker until gunicorn's graceful timeout)."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

from conftest import admin_token


def open_stream(server, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    request = (
        f"GET /chat{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {admin_token()}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    )
    sock.sendall(request.encode())
    head = b""
    while b": connected" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return sock


def read_to_end(sock: socket.socket) -> bytes:
    """Read until the chunked body's last chunk, then let go of the connection (as curl or a browser does)."""
    sock.settimeout(10)
    data = b""
    while not data.endswith(b"0\r\n\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    sock.close()
    return data


def sigterm_seconds(server) -> float:
    started = time.monotonic()
    os.kill(server.proc.pid, signal.SIGTERM)
    assert server.proc.wait(60) == 0
    return time.monotonic() - started


def test_sigterm_does_not_wait_for_open_dashboards(start_gunicorn):
    quiet = start_gunicorn(SHUTDOWN_TIMEOUT="20s")
    baseline = sigterm_seconds(quiet)

    watched = start_gunicorn(SHUTDOWN_TIMEOUT="20s")
    streams = [open_stream(watched, "/dashboard/events"), open_stream(watched, "/dashboard/events?view=help")]
    readers = [threading.Thread(target=lambda s=s: ends.append(read_to_end(s))) for s in streams]
    ends: list[bytes] = []
    for reader in readers:
        reader.start()
    elapsed = sigterm_seconds(watched)
    for reader in readers:
        reader.join(10)
    assert elapsed < baseline + 2.0, f"{elapsed:.1f}s with dashboards open vs {baseline:.1f}s without"
    # Each stream was ended by the app (the chunked body's last chunk), not cut off by the exiting worker.
    assert len(ends) == 2 and all(end.endswith(b"0\r\n\r\n") for end in ends)
