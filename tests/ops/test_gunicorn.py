"""The service as the image runs it: ``gunicorn -c gunicorn.conf.py wsgi:app`` in a subprocess, real clients.

Several workers sum their metrics (PROMETHEUS_MULTIPROC_DIR), logs are JSON lines without tokens, and SIGTERM
drains: readiness 503, new sockets refused, the in-flight reply finishes, open sockets close with 1012.
"""

from __future__ import annotations

import json
import os
import re
import signal
import struct
import time

import websocket
from conftest import token

from ops.conftest import http_get, wait_for


def open_socket(server, user_id: str, **query) -> websocket.WebSocket:
    query.setdefault("token", token(user_id))
    url = server.ws_url + "?" + "&".join(f"{k}={v}" for k, v in query.items())
    ws = websocket.create_connection(url, timeout=20)
    json.loads(ws.recv())  # the greeting
    return ws


def read_until(ws, predicate, limit: int = 500) -> list[dict]:
    frames = []
    for _ in range(limit):
        frame = json.loads(ws.recv())
        frames.append(frame)
        if predicate(frame):
            return frames
    raise AssertionError(f"no matching frame in {frames}")


def is_done(frame: dict) -> bool:
    return frame["type"] == "ai_response" and frame.get("metadata", {}).get("done") == "true"


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing from the scrape:\n{text[:2000]}"
    return float(match.group(1))


def close_code(ws) -> int:
    """Read until the server's close frame and return its code."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", data[:2])[0]


def test_two_workers_sum_their_metrics(start_gunicorn, redis_url, tmp_path):
    # No MongoDB server here: each worker keeps its own in-memory sessions, which is fine for counting.
    server = start_gunicorn(
        WEB_CONCURRENCY=2,
        REDIS_URL=redis_url,
        PROMETHEUS_MULTIPROC_DIR=tmp_path / "prom",
        LOG_LEVEL="debug",
        CHATBOX_UNSHARED_WORKERS="1",
    )
    # The kernel hands each connection to whichever worker accepts first: open sockets one at a time until the
    # workers' "websocket opening" lines show that both hold some.
    sockets = []
    while len(sockets) < 8 or len(_opening_pids(server, len(sockets))) < 2:
        assert len(sockets) < 80, "80 sockets all reached one worker"
        sockets.append(open_socket(server, f"user{len(sockets)}"))
        time.sleep(0.05)
    for ws in sockets:
        ws.send(json.dumps({"type": "user_message", "content": "Hello there"}))
    for ws in sockets:
        read_until(ws, is_done)

    status, body, headers = http_get(server.url + "/metrics/prometheus")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    scrape = body.decode()
    count = len(sockets)
    assert metric(scrape, "chatbox_websocket_connections_total") == count
    assert metric(scrape, "chatbox_messages_received_total") == count
    assert metric(scrape, "chatbox_sessions_created_total") == count
    assert metric(scrape, "chatbox_ready") == 1  # scrape-time gauges come with the summed files, once
    assert scrape.count("# TYPE chatbox_ready gauge") == 1

    for ws in sockets:
        ws.close()
    wait_for(
        lambda: (
            metric(http_get(server.url + "/metrics/prometheus")[1].decode(), "chatbox_websocket_connections_total") == 0
        ),
        20,
        "the gauge to fall back to 0",
    )


def test_one_worker_exports_process_metrics_even_with_the_images_multiproc_dir(start_gunicorn, tmp_path):
    # The image sets PROMETHEUS_MULTIPROC_DIR for every run; with one worker it must not switch the scrape to the
    # files' sums, which carry no process_* or python_* metrics.
    server = start_gunicorn(WEB_CONCURRENCY=1, PROMETHEUS_MULTIPROC_DIR=tmp_path / "prom")
    scrape = http_get(server.url + "/metrics/prometheus")[1].decode()
    assert metric(scrape, "process_resident_memory_bytes") > 0
    assert metric(scrape, "process_open_fds") > 0
    assert "python_gc_collections_total" in scrape
    assert metric(scrape, "chatbox_websocket_connections_total") == 0


def _opening_pids(server, expected: int) -> set[int]:
    lines = wait_for(
        lambda: (
            [line for line in server.json_lines() if line.get("message", "").startswith("websocket opening")][:expected]
            or None
            if expected
            else []
        ),
        10,
        "the 'websocket opening' lines",
    )
    return {line["pid"] for line in lines}


def test_log_lines_are_json_with_ids_and_no_token(start_gunicorn):
    server = start_gunicorn()
    secret_token = token("carol")
    ws = open_socket(server, "carol", token=secret_token)
    ws.send(json.dumps({"type": "user_message", "content": "my private words"}))
    session_id = read_until(ws, is_done)[-1]["session_id"]
    ws.close()
    ws = open_socket(server, "carol", token=secret_token, session_id=session_id)
    ws.close()
    http_get(server.url + f"/healthz?token={secret_token}", headers={"Authorization": f"Bearer {secret_token}"})

    resumed = wait_for(
        lambda: [
            line
            for line in server.json_lines()
            if line.get("session_id") == session_id and line.get("message", "").startswith("websocket closed")
        ],
        20,
        "the resume line",
    )
    output = server.output()
    lines = server.json_lines()  # raises if any line is not JSON
    assert all({"time", "level", "component", "message"} <= set(line) for line in lines)
    assert {"gunicorn.error", "chatbox.access"} <= {line["component"] for line in lines}
    line = resumed[0]
    assert line["user_id"] == "carol" and re.fullmatch(r"[0-9a-f]{32}", line["request_id"])
    assert line["path"] == "/chat/ws" and line["status"] == 101
    assert secret_token not in output and secret_token.split(".")[2] not in output
    assert "my private words" not in output


def test_sigterm_drains_then_closes_sockets_with_1012(start_gunicorn):
    server = start_gunicorn(DEMO_CHUNK_DELAY="0.1s", SHUTDOWN_TIMEOUT="20s")
    idle = open_socket(server, "idle-user")
    busy = open_socket(server, "busy-user")
    busy.send(json.dumps({"type": "user_message", "content": "Tell me something long"}))
    first = read_until(busy, lambda f: f["type"] == "ai_response")

    os.kill(server.proc.pid, signal.SIGTERM)
    _, body, _ = wait_for(lambda: r if (r := http_get(server.url + "/readyz"))[0] == 503 else None, 20, "readyz 503")
    assert json.loads(body)["checks"]["shutdown"] == {"status": "not ready", "reason": "Shutting down"}
    try:
        websocket.create_connection(server.ws_url + "?token=" + token("late-user"), timeout=10)
        raise AssertionError("a new socket was accepted while draining")
    except websocket.WebSocketBadStatusException as exc:
        assert exc.status_code == 503

    rest = read_until(busy, is_done)
    assert len([f for f in rest if f["type"] == "ai_response"]) > 2, "the reply was not in flight during the drain"
    reply = "".join(f.get("content", "") for f in first + rest if f["type"] == "ai_response")
    assert "demo model" in reply and not [f for f in rest if f["type"] == "error"]
    assert close_code(busy) == 1012
    assert close_code(idle) == 1012
    assert server.proc.wait(60) == 0
    assert '"shutdown: ' in server.output()


def test_ctrl_c_cuts_the_reply_cleanly_and_closes_with_1012(start_gunicorn):
    server = start_gunicorn(DEMO_CHUNK_DELAY="0.2s")
    busy = open_socket(server, "busy-user")
    busy.send(json.dumps({"type": "user_message", "content": "Tell me something long"}))
    read_until(busy, lambda f: f["type"] == "ai_response")
    os.kill(server.proc.pid, signal.SIGINT)
    rest = read_until(busy, is_done)
    assert rest[-1]["metadata"] == {"streaming": "true", "done": "true", "interrupted": "true"}
    assert close_code(busy) == 1012
    assert server.proc.wait(30) == 0


def test_several_workers_without_redis_run_one_and_say_so(start_gunicorn):
    server = start_gunicorn(WEB_CONCURRENCY="2")
    assert "WEB_CONCURRENCY=2 needs REDIS_URL and MONGO_URI; running 1 worker" in server.output()
    assert server.output().count("Booting worker") == 1
