"""The benchmark's quickest mode end to end, with tiny numbers: it starts, measures, reports and stops everything.

Never asserts on speed (the machine is shared): only that every figure is there, is a number, and that each ratio
is computed from the windows of the same run.
"""

import json
import math
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOAL_IDS = ("G1", "G1'", "G2", "G3", "G3'", "G5", "M2/G6", "G4")
THROUGHPUT = {  # goal figure -> (app window, bare window, app key, bare key)
    "chat chunks/s, demo model (in-process)": ("demo_chat", "bare_stream", "chunks_per_s", "chunks_per_s"),
    "chat chunks/s, HTTP fake LLM (openai SDK)": ("http_chat", "bare_stream", "chunks_per_s", "chunks_per_s"),
    "user + admin frames/s, 1 admin per session": ("demo_chat_admin", "bare_stream", "frames_per_s", "chunks_per_s"),
    "first token p50 ms, demo (vs bare first chunk)": (
        "demo_chat_c1",
        "bare_stream_c1",
        "first_p50_ms",
        "first_p50_ms",
    ),
    "first token p99 ms, HTTP fake LLM": ("http_chat_c1", "bare_stream_c1", "first_p99_ms", "first_p99_ms"),
}


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    cmd = [
        sys.executable,
        "bench/run.py",
        "--quick",
        "--rounds",
        "1",
        "--duration",
        "1",
        "--warmup",
        "0.3",
        "--conns",
        "2",
        "--hold",
        "40",
        "--json",
        str(out),
        "--quiet",
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=170, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


@pytest.mark.timeout(200)
def test_table_names_every_goal_with_a_verdict(report):
    document, printed = report
    for goal in GOAL_IDS:
        assert goal in printed
    statuses = {row["id"]: row["status"] for row in document["goals"]}
    assert statuses["G4"] == "not measured"
    for row in document["goals"]:
        assert row["status"].split()[0] in ("pass", "fail", "not"), row


def test_every_window_measured_something(report):
    document, _ = report
    (windows,) = document["rounds"]
    for name, window in windows.items():
        assert "error" not in window, (name, window)
        for key in (
            "chunks_per_s",
            "first_p50_ms",
            "first_p99_ms",
            "full_p50_ms",
            "server_cpu_pct",
            "client_cpu_pct",
            "foreign_cpu_pct",
        ):
            assert is_number(window[key]), (name, key, window)
        assert window["chunks_per_s"] > 0 and window["errors"] == 0, (name, window)
    assert windows["demo_chat_admin"]["admin_chunks_per_s"] > 0  # the admin watcher was shown the stream
    assert document["noise"][0]["max_foreign_cpu_pct"] is not None


def test_ratios_come_from_the_same_run(report):
    document, _ = report
    (windows,) = document["rounds"]
    rows = {row["figure"]: row for row in document["goals"]}
    for figure, (app, bare, app_key, bare_key) in THROUGHPUT.items():
        row = rows[figure]
        expected_app, expected_bare = windows[app][app_key], windows[bare][bare_key]
        assert row["app"] == pytest.approx(expected_app, abs=1e-3)
        assert row["baseline"] == pytest.approx(expected_bare, abs=1e-3)
        expected = expected_app / expected_bare if row["kind"] == "ratio" else expected_app - expected_bare
        assert row["value"] == pytest.approx(expected, rel=1e-3, abs=1e-3)
        if row["kind"] == "ratio":  # the same ratio per second of server CPU, from the same two windows
            per_cpu = (expected_app / windows[app]["server_cpu_pct"]) / (
                expected_bare / windows[bare]["server_cpu_pct"]
            )
            assert row["per_cpu_ratio"] == pytest.approx(per_cpu, rel=1e-3, abs=1e-3)


def test_memory_per_connection_measured_on_the_worker(report):
    document, _ = report
    memory = document["memory"]
    assert set(memory) == {"bare-plain", "bare-deflate", "app-plain", "app-deflate"}
    for name, result in memory.items():
        assert result["held"] == result["n"] == 40, (name, result)
        assert result["connect_errors"] == 0 and result["answered"] == 40, (name, result)
        assert is_number(result["kib_per_conn"]) and result["rss_before_mib"] > 10, (name, result)
    assert memory["bare-deflate"]["client_library"] == "websockets" and memory["bare-deflate"]["deflate_offered"]
    g5 = [row for row in document["goals"] if row["id"] == "G5"]
    assert len(g5) == 2 and all(is_number(row["app"]) and is_number(row["baseline"]) for row in g5)


def test_context_names_machine_and_store(report):
    document, _ = report
    assert document["machine"]["nproc"] >= 1 and document["machine"]["ulimit_n"] > 0
    assert document["settings"]["store"].startswith(("mongomock", "MongoDB"))
    assert document["settings"]["k"] > 1
