"""Pods acting as one through a real Redis: the per-key rate limit, its suppressed-count summary and the burst
detectors count every pod's alerts; the bus primitives behind them behave the same in memory and in Redis."""

import json

import gevent
import pytest
import redis

from chatbox.integrations.bus import MemoryBus
from chatbox.integrations.redis_bus import RedisBus

from .conftest import notifier_of, rows, settle
from .test_rate_limit import refuse_connections

ADMIN = ["ops@example.com"]


@pytest.fixture
def pods(make_server, connect, redis_url, clock):
    """Two apps sharing one Redis (and the database), one test clock, each with its only connection taken."""
    redis.Redis.from_url(redis_url).flushall()
    servers = [
        make_server(redis_url=redis_url, max_connections=1, admin_emails=ADMIN, notify_llm_failures=3) for _ in range(2)
    ]
    for server in servers:
        notifier_of(server).clock = clock
        connect("alice", target=server)
    return servers


def test_alerts_from_both_pods_count_against_one_limit_and_one_summary(pods, clock):
    pod_a, pod_b = pods
    refuse_connections(pod_a, 3)
    refuse_connections(pod_b, 4)
    for pod in pods:
        settle(pod)
    assert [r.status for r in rows(event="connection_cap")].count("outbox") == 5
    (collapsed,) = rows(event="connection_cap", status="suppressed")
    assert collapsed.count == 2

    clock.advance(301)
    refuse_connections(pod_a, 1)
    settle(pod_a)
    latest = rows(event="connection_cap", status="outbox")[-1]
    assert "+2 similar alerts suppressed" in latest.body  # suppressed on pod_b, summed up by pod_a
    collapsed.reload()
    assert collapsed.summarized is True


def test_llm_failures_on_both_pods_make_one_burst(pods, clock):
    pod_a, pod_b = pods

    def fail(pod, user):
        pod.services.alert(
            "llm_failure", provider="openai-main", code="LLM_TIMEOUT", session_id="s-" + user, user_id=user
        )

    fail(pod_a, "ann")
    fail(pod_b, "bob")
    for pod in pods:
        settle(pod)
    assert rows(event="llm_failure") == []
    fail(pod_a, "cat")
    fail(pod_b, "dan")  # still the same window: no second report from either pod
    for pod in pods:
        settle(pod)
    (alert,) = rows(event="llm_failure")
    assert "3 failures within 5m: LLM_TIMEOUT x3" in alert.body and alert.user_id == "ann, bob, cat"


def test_refusal_bursts_are_counted_across_pods(make_server, redis_url, clock):
    redis.Redis.from_url(redis_url).flushall()
    pods = [make_server(redis_url=redis_url, admin_emails=ADMIN, notify_refusal_burst=4) for _ in range(2)]
    for pod in pods:
        notifier_of(pod).clock = clock
    for n in range(6):
        pods[n % 2].services.alert("rate_limited", user_id=f"user{n % 3}")
    for pod in pods:
        settle(pod)
    (alert,) = rows(event="rate_limited")
    assert "4 rate-limit refusals within 1m" in alert.body
    assert alert.body.count("Affected users: 3") == 1


@pytest.fixture(params=["memory", "redis"])
def bus(request, redis_url):
    if request.param == "memory":
        yield MemoryBus()
        return
    redis.Redis.from_url(redis_url).flushall()
    shared = RedisBus(redis_url)
    yield shared
    shared.close()


def test_counter_adds_and_takes_atomically(bus):
    assert bus.counter_take("k") == 0
    jobs = [gevent.spawn(bus.counter_add, "k", 60) for _ in range(20)]
    gevent.joinall(jobs, raise_error=True)
    assert sorted(job.value for job in jobs) == list(range(1, 21))
    assert bus.counter_take("k") == 20
    assert bus.counter_take("k") == 0
    assert bus.counter_add("k", 60) == 1


def test_counter_expires(bus):
    bus.counter_add("short", 0.05)
    gevent.sleep(0.3)
    assert bus.counter_take("short") == 0


def test_series_keeps_the_window_in_order_and_caps(bus):
    window = 10.0
    assert [bus.series_add("s", json.dumps({"n": n}), window, now=1000.0 + n) for n in range(3)] == [1, 2, 3]
    assert bus.series_add("s", "same", window, now=1002.0) == 4  # equal items at one instant both count
    assert bus.series_add("s", "same", window, now=1002.0) == 5
    assert bus.series_add("s", "z-last", window, now=1002.0) == 6
    everything = ['{"n": 0}', '{"n": 1}', '{"n": 2}', "same", "same", "z-last"]
    assert bus.series_items("s", window, now=1005.0) == everything
    assert bus.series_items("s", window, now=1010.0) == everything[1:]  # 1000 is out
    assert bus.series_add("s", "late", window, now=1012.0) == 1
    assert [bus.series_add("c", str(9 - n), window, now=2000.0, cap=3) for n in range(5)] == [1, 2, 3, 3, 3]
    assert bus.series_items("c", window, now=2000.0) == ["7", "6", "5"]  # the newest, in the order added


@pytest.mark.parametrize(
    "before, at, expected",
    [
        ([100.0], 100.0, 0.0),  # the second of two in the window
        ([100.0, 101.0], 102.0, 8.0),  # refused: the oldest leaves the window in 8 s
        ([100.0, 101.0], 110.0, 0.0),  # the oldest has left
    ],
)
def test_hit_counts_in_the_callers_timebase(bus, before, at, expected):
    assert [bus.hit("h", 2, 10.0, now=stamp) for stamp in before] == [0.0] * len(before)
    assert bus.hit("h", 2, 10.0, now=at) == pytest.approx(expected)
