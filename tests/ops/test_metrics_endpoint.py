"""{P}/metrics/prometheus through real HTTP: the Go metric names, and the CIDR allow-list answering 403 JSON."""

from __future__ import annotations

import json
import re

import gevent
import pytest

from ops.conftest import http_get, wait_for

GO_METRICS = [  # ORIGINAL.md section 1.5.11 as they appear in the exposition, less the two nothing would move
    "chatbox_websocket_connections_total",
    "chatbox_messages_received_total",
    "chatbox_messages_sent_total",
    "chatbox_llm_requests_total",
    "chatbox_llm_latency_seconds",
    "chatbox_llm_errors_total",
    "chatbox_active_sessions_total",
    "chatbox_sessions_created_total",
    "chatbox_sessions_ended_total",
    "chatbox_admin_takeovers_total",
    "chatbox_message_errors_total",
    "chatbox_tokens_used_total",
    "chatbox_ratelimit_blocked_total",
    "chatbox_websocket_connection_duration_seconds",
    "chatbox_http_request_duration_seconds",
]


def test_scrape_has_the_go_metric_names_and_live_values(server, connect):
    client = connect("alice")
    client.send(type="user_message", content="Hello")
    client.reply()
    status, body, headers = http_get(server.url + "/metrics/prometheus")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = body.decode()
    for name in GO_METRICS:
        assert f"# TYPE {name.removesuffix('_total')}" in text or f"# TYPE {name} " in text, name
    assert "chatbox_websocket_connections_total 1.0" in text
    assert "chatbox_messages_received_total 1.0" in text
    assert 'chatbox_llm_requests_total{provider="demo"} 1.0' in text
    assert "process_resident_memory_bytes" in text  # runtime metrics, like the Go collectors


def test_declared_metrics_that_nothing_updates_are_not_exported(server):
    text = http_get(server.url + "/metrics/prometheus")[1].decode()
    assert "chatbox_mongodb_operation_seconds" not in text
    assert "chatbox_admin_messages_dropped" not in text


def test_a_closed_socket_records_its_lifetime(server, connect):
    name = "chatbox_websocket_connection_duration_seconds"

    def observed() -> tuple[float, float]:
        text = http_get(server.url + "/metrics/prometheus")[1].decode()
        count = re.search(rf"^{name}_count (\S+)$", text, re.MULTILINE)
        total = re.search(rf"^{name}_sum (\S+)$", text, re.MULTILINE)
        return float(count.group(1)), float(total.group(1))

    assert observed() == (0.0, 0.0)
    client = connect("alice")
    gevent.sleep(0.3)
    client.close()
    wait_for(lambda: observed()[0] == 1.0, 5, "the socket's lifetime")
    assert 0.3 <= observed()[1] < 5


ALLOW_LIST = [  # (allowed networks, X-Forwarded-For from a trusted proxy, expected status)
    (["127.0.0.0/8"], None, 200),
    (["10.0.0.0/8"], None, 403),
    (["127.0.0.0/8"], "203.0.113.9", 403),
    (["10.0.0.0/8"], "10.1.2.3", 200),
    (["192.168.0.0/16", "203.0.113.0/24"], "203.0.113.9", 200),
    ([], "203.0.113.9", 200),  # an empty list allows everyone, as the Go service did
]


@pytest.mark.parametrize("allowed,forwarded,expected", ALLOW_LIST)
def test_allow_list(make_server, allowed, forwarded, expected):
    server = make_server(metrics_allowed_networks=allowed, trusted_proxies=["127.0.0.0/8"])
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    status, body, response_headers = http_get(server.url + "/metrics/prometheus", headers=headers)
    assert status == expected
    if expected == 403:
        assert response_headers["Content-Type"] == "application/json"
        assert json.loads(body) == {"error": "Insufficient permissions", "code": "FORBIDDEN"}
    else:
        assert b"chatbox_websocket_connections_total" in body


def test_forwarded_header_from_an_untrusted_peer_is_ignored(make_server):
    server = make_server(metrics_allowed_networks=["10.0.0.0/8"], trusted_proxies=["192.168.0.0/16"])
    status, _, _ = http_get(server.url + "/metrics/prometheus", headers={"X-Forwarded-For": "10.1.2.3"})
    assert status == 403


def test_probes_and_scrapes_are_never_rate_limited(make_server):
    """kubelet probes every pod on a node from the node's one address: 7 pods would exhaust 60 a minute."""
    server = make_server(public_rate_limit=2)
    for path in ("/healthz", "/readyz", "/metrics/prometheus"):
        assert [http_get(server.url + path)[0] for _ in range(5)] == [200] * 5, path
    # the public budget still holds for the public routes, and the probes above did not spend it
    assert [http_get(server.url + "/shared/nope")[0] for _ in range(3)] == [404, 404, 429]
