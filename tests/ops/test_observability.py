"""deployments/observability: the Grafana dashboard and the alert rules name only metrics a running server exports,
cover what operators watch, and the ServiceMonitor scrapes the real route; chatbox_ready and chatbox_dependency_up
follow the readiness checks."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import free_port
from prometheus_client.parser import text_string_to_metric_families

from ops.conftest import http_get, wait_for

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "deployments" / "observability"
K8S = ROOT / "deployments" / "kubernetes"
KEYWORDS = {"and", "or", "unless", "bool", "offset"}
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}


def metric_names(expr: str) -> set[str]:
    """Series names a PromQL expression reads (label matchers, grouping, ranges, strings and calls left out)."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][\w:]*)\s*(\()?", expr):
        name, call = match.groups()
        if not call and name not in KEYWORDS:
            names.add(name)
    return names


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((KIT / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def rules() -> list[dict]:
    doc = yaml.safe_load((KIT / "prometheus-rules.yaml").read_text())
    assert doc["kind"] == "PrometheusRule"
    return [rule for group in doc["spec"]["groups"] for rule in group["rules"]]


def exported(scrape: str) -> set[str]:
    """Every series name the scrape can carry, including labelled families that have no sample yet."""
    names = set()
    for family in text_string_to_metric_families(scrape):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


@pytest.fixture
def scrape(make_server, connect, redis_url):
    """The exposition of a running server (with Redis, so every dependency is reported) after one exchange."""
    server = make_server(redis_url=redis_url)
    client = connect("alice", target=server)
    client.send(type="user_message", content="Hello")
    client.reply()
    status, body, _ = http_get(server.url + "/metrics/prometheus")
    assert status == 200
    return body.decode()


def test_the_dashboard_and_the_rules_name_only_exported_metrics(scrape):
    available = exported(scrape)
    used = {name for expr in dashboard_exprs() + [rule["expr"] for rule in rules()] for name in metric_names(expr)}
    assert len(used) >= 15, used  # the extraction found the kit's metrics (it is not vacuous)
    assert used - available == set(), f"named but not exported: {sorted(used - available)}"


def test_a_misspelt_metric_would_be_caught(scrape):
    expr = 'sum(rate(chatbox_llm_error_total{provider="demo"}[5m])) / sum(chatbox_ready)'
    assert metric_names(expr) - exported(scrape) == {"chatbox_llm_error_total"}
    assert metric_names("histogram_quantile(0.99, sum by (le) (rate(x_bucket[$__rate_interval])))") == {"x_bucket"}


DASHBOARD_COVERS = {  # what operators watch -> the metric that shows it
    "sockets": "chatbox_websocket_connections_total",
    "messages": "chatbox_messages_received_total",
    "replies": "chatbox_reply_duration_seconds_count",
    "first-token latency": "chatbox_llm_latency_seconds_bucket",
    "reply latency": "chatbox_reply_duration_seconds_bucket",
    "provider errors": "chatbox_llm_errors_total",
    "rate-limit refusals": "chatbox_ratelimit_blocked_total",
    "MongoDB and Redis health": "chatbox_dependency_up",
    "ready pods": "chatbox_ready",
}


def test_the_dashboard_shows_what_operators_watch():
    used = {name for expr in dashboard_exprs() for name in metric_names(expr)}
    missing = {topic for topic, metric in DASHBOARD_COVERS.items() if metric not in used}
    assert not missing, missing
    dashboard = json.loads((KIT / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] and [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_the_rules_alert_on_what_the_issue_names():
    by_name = {rule["alert"]: rule for rule in rules()}
    assert {
        "ChatboxNoReadyPods",
        "ChatboxErrorRatioHigh",
        "ChatboxFirstTokenP99Slow",
        "ChatboxProviderFailures",
        "ChatboxRedisDegraded",
    } <= set(by_name)
    for rule in by_name.values():
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]
        assert re.fullmatch(r"\d+m", rule["for"])
    assert "chatbox_llm_latency_seconds_bucket" in by_name["ChatboxFirstTokenP99Slow"]["expr"]
    assert 'dependency="redis"' in by_name["ChatboxRedisDegraded"]["expr"]


def test_the_service_monitor_scrapes_the_metrics_route_of_the_service():
    monitor = yaml.safe_load((KIT / "servicemonitor.yaml").read_text())
    service = next(d for d in yaml.safe_load_all((K8S / "service.yaml").read_text()) if d["kind"] == "Service")
    config = yaml.safe_load((K8S / "configmap.yaml").read_text())["data"]
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["path"] == config["CHATBOX_PATH_PREFIX"] + "/metrics/prometheus"
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()


# --- the scrape-time health gauges --------------------------------------------------------------------------


def gauge(server, name: str, **labels) -> float:
    text = http_get(server.url + "/metrics/prometheus")[1].decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    raise AssertionError(f"{name}{labels} not in the scrape")


def test_ready_follows_the_readiness_check(make_server):
    server = make_server()
    assert gauge(server, "chatbox_ready") == 1.0
    assert gauge(server, "chatbox_dependency_up", dependency="mongodb") == 1.0
    server.services.lifecycle.draining = True
    assert gauge(server, "chatbox_ready") == 0.0
    assert http_get(server.url + "/readyz")[0] == 503


def test_redis_going_away_shows_in_the_scrape(make_server, tmp_path):
    port = free_port()
    redis = subprocess.Popen(
        [
            shutil.which("redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0)
        server = make_server(redis_url=f"redis://127.0.0.1:{port}/0")
        assert gauge(server, "chatbox_dependency_up", dependency="redis") == 1.0
        redis.terminate()
        redis.wait(10)
        wait_for(lambda: gauge(server, "chatbox_dependency_up", dependency="redis") == 0.0, 15, "redis reported down")
        assert gauge(server, "chatbox_ready") == 1.0  # degraded, still ready: one Redis blip must not pull every pod
    finally:
        if redis.poll() is None:
            redis.kill()


def test_dependencies_are_checked_at_most_once_a_second(make_server, monkeypatch):
    """/readyz is public and never rate-limited: a flood of probes and scrapes must not become a flood of pings."""
    pings = []
    monkeypatch.setattr("chatbox.ops.health.mongo_ready", lambda: pings.append(1) or True)
    server = make_server()
    started = time.monotonic()
    for _ in range(20):
        assert http_get(server.url + "/readyz")[0] == 200
        assert gauge(server, "chatbox_ready") == 1.0
    assert 1 <= len(pings) <= int(time.monotonic() - started) + 1  # 40 asks, one ping per second at most
    before = len(pings)
    time.sleep(1.05)
    assert http_get(server.url + "/readyz")[0] == 200
    assert len(pings) == before + 1  # and a fresh one once the last is a second old
