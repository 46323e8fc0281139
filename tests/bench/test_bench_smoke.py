"""The benchmark's quickest mode end to end, with tiny numbers: it starts, measures, reports and stops everything.

Never asserts on speed (the machine is shared): only that every figure is there, is a number, and that each ratio
is computed from the windows of the same round. Two rounds, so the fresh app server per round is visible.
"""

import json
import math
import os
import statistics
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOAL_IDS = ("G1", "G1'", "G2", "G3", "G3'", "G5", "M2/G6", "G4", "S1", "S2", "C1", "D1")
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
        "2",
        "--duration",
        "1",
        "--warmup",
        "0.3",
        "--conns",
        "2",
        "--hold",
        "40",
        "--users",
        "3,6",
        "--dash-users",
        "4",
        "--exchanges",
        "5",
        "--json",
        str(out),
        "--quiet",
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=250, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


@pytest.mark.timeout(280)
def test_table_names_every_goal_with_a_verdict(report):
    document, printed = report
    for goal in GOAL_IDS:
        assert goal in printed
    assert "not measured" not in printed
    for row in document["goals"]:
        # A 1 s window holds no whole paced reply, so D1's first-token row may have no sample here.
        allowed = ("pass", "fail", "not", "report") + (("n/a",) if row["figure"].startswith("first-token") else ())
        assert row["status"].split()[0] in allowed, row


def test_every_window_measured_something(report):
    document, _ = report
    assert len(document["rounds"]) == 2
    for name, window in [item for windows in document["rounds"] for item in windows.items()]:
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
    for windows in document["rounds"]:
        assert windows["demo_chat_admin"]["admin_chunks_per_s"] > 0  # the admin watcher was shown the stream
    assert document["noise"][0]["max_foreign_cpu_pct"] is not None


def test_each_round_has_fresh_app_servers_and_one_bare_echo(report):
    document, _ = report
    first, second = ({name: w["server_worker_pid"] for name, w in r.items()} for r in document["rounds"])
    assert all(is_number(pid) and pid > 0 for pid in [*first.values(), *second.values()])
    assert first["bare_stream"] == first["bare_stream_c1"] == second["bare_stream"]
    # Within a round the same app serves every demo window; the next round gets a new one.
    assert first["demo_chat"] == first["demo_open"] == first["demo_chat_admin"] == first["demo_chat_c1"]
    assert first["http_chat"] == first["http_chat_c1"] != second["http_chat"]
    assert second["demo_chat"] not in (first["demo_chat"], first["http_chat"], first["bare_stream"])


def test_open_loop_runs_at_half_the_closed_loop_capacity_of_its_round(report):
    document, _ = report
    for windows in document["rounds"]:
        closed, opened = windows["demo_chat"], windows["demo_open"]
        assert opened["offered_per_s"] == pytest.approx(closed["replies_per_s"] * 0.5, abs=0.01)
        assert opened["scheduled"] > 0 and opened["samples"] > 0 and opened["unfinished"] == 0, opened
        assert not opened["capped"] and is_number(opened["send_lag_p99_ms"]), opened
    g4 = [row for row in document["goals"] if row["id"] == "G4"]
    assert [row["figure"].split()[2] for row in g4] == ["p99", "p50"]
    assert g4[0]["status"] in ("pass", "fail") and g4[0]["goal"] == "<= 4.00"
    for row in g4:
        key = f"first_{row['figure'].split()[2]}_ms"
        ratios = [r["demo_open"][key] / r["demo_chat_c1"][key] for r in document["rounds"]]
        assert row["per_round"] == pytest.approx(ratios, rel=1e-3, abs=1e-3)
        assert row["value"] == pytest.approx(statistics.median(ratios), rel=1e-3, abs=1e-3)
        assert row["app"] == pytest.approx(statistics.median(r["demo_open"][key] for r in document["rounds"]), abs=1e-3)


def test_ratios_come_from_the_same_run(report):
    document, _ = report
    rows = {row["figure"]: row for row in document["goals"]}
    for figure, (app, bare, app_key, bare_key) in THROUGHPUT.items():
        row = rows[figure]
        apps = [r[app][app_key] for r in document["rounds"]]
        bares = [r[bare][bare_key] for r in document["rounds"]]
        assert row["app"] == pytest.approx(statistics.median(apps), abs=1e-3)
        assert row["baseline"] == pytest.approx(statistics.median(bares), abs=1e-3)
        pairs = [a / b if row["kind"] == "ratio" else a - b for a, b in zip(apps, bares, strict=True)]
        assert row["value"] == pytest.approx(statistics.median(pairs), rel=1e-3, abs=1e-3)
        if row["kind"] == "ratio":  # the same ratio per second of server CPU, from the same round's two windows
            per_cpu = [
                (r[app][app_key] / r[app]["server_cpu_pct"]) / (r[bare][bare_key] / r[bare]["server_cpu_pct"])
                for r in document["rounds"]
            ]
            assert row["per_cpu_ratio"] == pytest.approx(statistics.median(per_cpu), rel=1e-3, abs=1e-3)


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


def test_store_calls_are_counted_per_exchange_from_the_apps_own_counter(report):
    document, _ = report
    rows = {(row["id"], row["figure"].split()[1]): row for row in document["goals"] if row["id"] == "S1"}
    for kind in ("read", "write"):
        per_round = []
        for windows in document["rounds"]:
            calls = windows["demo_steady"]["store_calls"]
            assert calls["replies"] == 2 * 5 and is_number(calls[kind]), calls  # conns x exchanges, counted whole
            per_round.append(calls[kind] / calls["replies"])
        row = rows[("S1", f"{kind}s")]
        assert row["value"] == pytest.approx(statistics.median(per_round), abs=1e-3)


def test_the_seeded_store_is_compared_with_the_empty_one_of_the_same_round(report):
    document, _ = report
    (s2,) = [row for row in document["goals"] if row["id"] == "S2"]
    ratios = [r["seeded_chat"]["chunks_per_s"] / r["demo_chat"]["chunks_per_s"] for r in document["rounds"]]
    assert s2["value"] == pytest.approx(statistics.median(ratios), rel=1e-3, abs=1e-3)
    assert len({r["seeded_chat"]["server_worker_pid"] for r in document["rounds"]}) == 1  # seeded once


def test_capacity_steps_report_chunk_gaps(report):
    document, _ = report
    steps = document["capacity"]["steps"]
    assert [s["users"] for s in steps][:1] == [3]
    for step in steps:
        assert is_number(step["gap_p99_ms"]) and step["replies_per_s"] > 0 and not step.get("error"), step
    (c1,) = [row for row in document["goals"] if row["id"] == "C1"]
    held = [s["users"] for s in steps if s["gap_p99_ms"] < 100]
    assert c1["value"] == max(held, default=0)


def test_the_worker_is_profiled_under_load(report):
    document, _ = report
    profile = document["profile"]
    assert profile["samples"] > 0, profile
    names = [row["function"] for row in profile["top"]]
    assert any("chatbox/" in name for name in names), names


def test_dashboards_are_open_during_their_windows_and_compared_with_none(report):
    document, _ = report
    pairs = document["capacity"]["dashboards"]
    assert len(pairs["without"]) == len(pairs["with"]) == 2
    for window in pairs["with"]:
        assert window["dashboards"]["pages"] == 2 and window["dashboards"]["errors"] == 0, window["dashboards"]
        assert window["dashboards"]["row_events"] > 0  # the live list was pushed rows while users chatted
    rows = [row for row in document["goals"] if row["id"] == "D1"]
    assert len(rows) == 3 and all(row["status"] in ("pass", "fail") for row in rows if row["app"] is not None), rows
    assert rows[0]["app"] is not None and rows[2]["app"] is not None  # the gap and replies rows always measure
