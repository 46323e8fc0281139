"""Retries, deadlines, mid-stream failures, failover, cancellation and concurrency, against the fake vendors."""

import json
import logging
import urllib.request

import pytest
from conftest import text_of

from chatbox.events import ReplyCancelRequested
from chatbox.models import Session

from .conftest import VENDORS, provider

UNAVAILABLE = {"code": "LLM_UNAVAILABLE", "message": "AI service is temporarily unavailable", "recoverable": True}


def ask(client, content="hello", timeout=15) -> list[dict]:
    client.send(type="user_message", content=content)
    return client.reply(timeout)


def errors(frames) -> list[dict]:
    return [f["error"] for f in frames if f["type"] == "error"]


def last_message(frames) -> dict:
    return Session._get_collection().find_one({"_id": frames[-1]["session_id"]})["msgs"][-1]


@pytest.mark.parametrize("vendor", VENDORS)
def test_429_then_success_retries_and_honours_retry_after(vendor, fake, llm_server, connect):
    upstream = fake(vendor)
    upstream.fail(429, times=1, retry_after="7")
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert text_of(frames) == "".join(upstream.chunks)
    assert errors(frames) == []
    assert len(upstream.requests) == 2
    assert server.sleeps == [7.0]


@pytest.mark.parametrize("vendor", VENDORS)
def test_5xx_backs_off_one_then_two_seconds(vendor, fake, llm_server, connect):
    upstream = fake(vendor)
    upstream.fail(502, times=2)
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert text_of(frames) == "".join(upstream.chunks)
    assert len(upstream.requests) == 3
    assert server.sleeps == [1.0, 2.0]


@pytest.mark.parametrize("vendor", VENDORS)
def test_provider_failing_forever_gives_the_error_frame_and_done(vendor, fake, llm_server, connect):
    upstream = fake(vendor)
    upstream.fail(503, times=None)
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert len(upstream.requests) == 3
    assert server.sleeps == [1.0, 2.0]
    assert errors(frames) == [UNAVAILABLE]
    assert frames[-2]["type"] == "error" and frames[-1]["metadata"]["done"] == "true"
    assert text_of(frames) == ""
    assert last_message(frames)["sender"] == "user"  # no empty AI message stored


def test_provider_health_records_each_finished_reply(fake, llm_server, connect):
    upstream = fake("openai")
    server = llm_server(provider(upstream))
    client = connect("alice", target=server)
    ask(client)
    record = server.services.provider_health.record("openai-main")
    assert (record.replies, record.failures) == (1, 0) and record.last_success is not None
    assert record.first_token_ms is not None and record.total_ms >= record.first_token_ms
    upstream.fail(503, times=None)
    ask(client)
    assert (record.replies, record.failures) == (1, 1)
    assert record.last_error.startswith("ProviderError: ") and "503" in record.last_error


def test_requests_and_errors_are_counted_for_prometheus(fake, llm_server, connect):
    upstream = fake("openai")
    upstream.fail(429, times=1, retry_after="0")
    server = llm_server(provider(upstream))
    ask(connect("alice", target=server))
    with urllib.request.urlopen(server.url + "/metrics/prometheus", timeout=10) as response:
        text = response.read().decode()
    assert 'chatbox_llm_requests_total{provider="openai"} 2.0' in text
    assert 'chatbox_llm_errors_total{provider="openai"} 1.0' in text
    assert 'chatbox_tokens_used_total{provider="openai"} 15.0' in text
    assert 'chatbox_llm_latency_seconds_count{provider="openai"} 1.0' in text


@pytest.mark.parametrize("vendor", VENDORS)
def test_wrong_key_is_not_retried_and_never_shown(vendor, fake, llm_server, connect, caplog):
    caplog.set_level(logging.DEBUG)
    upstream = fake(vendor)
    secret = "sk-live-wrong-4f9c2d7e1b8a6350"
    server = llm_server(provider(upstream, api_key=secret))
    frames = ask(connect("alice", target=server))
    assert len(upstream.requests) == 1  # 401 cannot get better by trying again
    assert errors(frames) == [UNAVAILABLE]
    assert "status 401" in caplog.text  # the operator sees why
    assert secret not in caplog.text and secret[:12] not in caplog.text
    assert secret not in json.dumps(frames)


@pytest.mark.parametrize("vendor", VENDORS)
def test_stall_mid_stream_hits_the_deadline_and_keeps_the_partial_text(vendor, fake, llm_server, connect):
    upstream = fake(vendor, chunks=["Once ", "upon ", "a time"], stall_after=2)
    server = llm_server(provider(upstream), llm_stream_timeout=1.0)
    frames = ask(connect("alice", target=server))
    assert text_of(frames) == "Once upon "
    assert errors(frames) == [
        {"code": "LLM_TIMEOUT", "message": "AI service request timed out after 1s", "recoverable": True}
    ]
    assert frames[-1]["metadata"] == {"streaming": "true", "done": "true", "interrupted": "true"}
    message = last_message(frames)
    assert (message["content"], message["interrupted"]) == ("Once upon ", True)
    (request,) = upstream.requests
    assert request.finished.wait(10) and request.disconnected  # the upstream request was closed, not leaked


@pytest.mark.parametrize("vendor", VENDORS)
def test_connection_lost_mid_stream_is_not_retried_and_keeps_the_partial_text(vendor, fake, llm_server, connect):
    upstream = fake(vendor, chunks=["Half ", "a ", "reply"], break_after=2)
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert text_of(frames) == "Half a "
    assert errors(frames) == [UNAVAILABLE]
    assert frames[-1]["metadata"]["interrupted"] == "true"
    assert len(upstream.requests) == 1 and server.sleeps == []
    assert last_message(frames)["interrupted"] is True


@pytest.mark.parametrize("failure", [{"status": 500, "times": None}, {"status": 401, "times": None}])
def test_failover_to_the_fallback_provider(failure, fake, llm_server, connect):
    primary, backup = fake("openai"), fake("anthropic")
    primary.fail(**failure)
    server = llm_server(
        provider(primary, fallback="backup", system_prompt="Primary prompt."),
        provider(backup, id="backup", system_prompt="Backup prompt."),
    )
    frames = ask(connect("alice", target=server))
    assert text_of(frames) == "Hello from anthropic."
    assert errors(frames) == []
    assert len(primary.requests) == (3 if failure["status"] == 500 else 1)
    assert primary.requests[0].body["messages"][0] == {"role": "system", "content": "Primary prompt."}
    (request,) = backup.requests
    assert request.body["messages"] == [{"role": "user", "content": "hello"}]
    assert request.body["system"] == "Backup prompt."
    # The reply is labelled with the provider that actually answered.
    assert {f["model_id"] for f in frames if f["type"] == "ai_response"} == {"backup"}
    assert last_message(frames)["modelId"] == "backup"


def test_failover_is_not_used_after_the_first_token(fake, llm_server, connect):
    primary, backup = fake("openai", break_after=1), fake("dify")
    server = llm_server(provider(primary, fallback="backup"), provider(backup, id="backup"))
    frames = ask(connect("alice", target=server))
    assert text_of(frames) == "Hel" and errors(frames) == [UNAVAILABLE]
    assert backup.requests == []


def test_failing_fallback_chain_ends_with_the_error_frame(fake, llm_server, connect):
    first, second = fake("openai"), fake("dify")
    first.fail(401, times=None)
    second.fail(400, times=None)
    server = llm_server(provider(first, fallback="second"), provider(second, id="second", fallback="openai-main"))
    frames = ask(connect("alice", target=server))
    assert errors(frames) == [UNAVAILABLE] and frames[-1]["metadata"]["done"] == "true"
    assert (len(first.requests), len(second.requests)) == (1, 1)  # no loop back to the first


@pytest.mark.parametrize("vendor", VENDORS)
def test_takeover_cancel_closes_the_upstream_request(vendor, fake, llm_server, connect):
    upstream = fake(vendor, chunks=["First ", "second"], stall_after=1)
    server = llm_server(provider(upstream))
    client = connect("alice", target=server)
    client.send(type="user_message", content="tell me a story")
    first = client.recv_until(lambda f: f["type"] == "ai_response" and f.get("content"))
    server.services.hub.signal(ReplyCancelRequested(sid=first[-1]["session_id"], reason="test"))
    (request,) = upstream.requests
    assert request.finished.wait(10), "the fake never saw the request end"
    assert request.disconnected
    rest = client.reply()
    assert text_of(rest) == "" and rest[-1]["metadata"]["interrupted"] == "true"
    assert last_message(rest)["content"] == "First "


@pytest.mark.parametrize("vendor", VENDORS)
def test_two_users_stream_at_the_same_time(vendor, fake, llm_server, connect):
    upstream = fake(vendor, chunks=["a", "b", "c", "d"], delay=0.15)
    server = llm_server(provider(upstream))
    alice, bob = connect("alice", target=server), connect("bob", target=server)
    alice.send(type="user_message", content="hi from alice")
    bob.send(type="user_message", content="hi from bob")
    assert text_of(alice.reply()) == text_of(bob.reply()) == "abcd"
    one, two = upstream.wait_for(2)
    assert one.ended is not None and two.ended is not None
    assert one.started < two.ended and two.started < one.ended  # the two requests were open at the same time


@pytest.mark.parametrize("vendor", VENDORS)
def test_cancel_while_waiting_for_headers_is_not_retried(vendor, fake, llm_server, connect):
    # Some SDKs wrap whatever interrupts a send as their connection error; a cancel must still be a cancel.
    upstream = fake(vendor, hold_headers=True)
    server = llm_server(provider(upstream))
    client = connect("alice", target=server)
    client.send(type="user_message", content="hello")
    loading = client.recv_until(lambda f: f["type"] == "loading")[-1]
    upstream.wait_for(1)
    server.services.hub.signal(ReplyCancelRequested(sid=loading["session_id"], reason="test"))
    frames = client.reply()
    assert errors(frames) == [] and frames[-1]["metadata"]["done"] == "true"
    assert upstream.requests[0].finished.wait(10) and upstream.requests[0].disconnected
    assert client.quiet(0.5) == []
    assert len(upstream.requests) == 1 and server.sleeps == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_deadline_while_waiting_for_headers_is_a_timeout(vendor, fake, llm_server, connect):
    upstream = fake(vendor, hold_headers=True)
    server = llm_server(provider(upstream), llm_stream_timeout=0.5)
    frames = ask(connect("alice", target=server))
    assert [e["code"] for e in errors(frames)] == ["LLM_TIMEOUT"]
    assert len(upstream.requests) == 1 and server.sleeps == []
