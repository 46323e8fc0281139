"""How the OpenAI and Anthropic adapters read the body themselves (sse.py, not the SDKs' model per chunk): events
split across reads, CRLF, a compressing proxy, errors inside the stream, streams cut short, malformed events, and
the kept-alive connection. Seen by a real WebSocket client, against fakes speaking the vendors' wire formats."""

import json
import logging
import time

import pytest
from conftest import text_of

from chatbox.models import Session

from .conftest import provider

UNAVAILABLE = {"code": "LLM_UNAVAILABLE", "message": "AI service is temporarily unavailable", "recoverable": True}
VENDORS = ("openai", "anthropic")
ERROR_EVENTS = {
    "openai": 'data: {"error": {"message": "The server had an error processing your request.", '
    '"type": "server_error", "param": null, "code": null}}\n\n',
    "anthropic": 'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", '
    '"message": "Overloaded"}}\n\n',
}


def ask(client, content="hello", timeout=15) -> list[dict]:
    client.send(type="user_message", content=content)
    return client.reply(timeout)


def errors(frames) -> list[dict]:
    return [f["error"] for f in frames if f["type"] == "error"]


def last_message(frames) -> dict:
    return Session._get_collection().find_one({"_id": frames[-1]["session_id"]})["msgs"][-1]


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("knobs", [{"split": 1}, {"split": 7}, {"crlf": True, "split": 5}, {"gzip": True}])
def test_the_reply_and_usage_survive_how_the_body_is_cut_and_encoded(vendor, knobs, fake, llm_server, connect):
    upstream = fake(vendor, chunks=["Ça ", "va ", "très ", "bien 👍"], usage=(17, 6), **knobs)
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert [f["content"] for f in frames if f["type"] == "ai_response" and f.get("content")] == upstream.chunks
    assert errors(frames) == []
    assert last_message(frames)["usage"] == {"prompt": 17, "completion": 6, "total": 23, "estimated": False}


@pytest.mark.parametrize("vendor", VENDORS)
def test_an_error_event_mid_stream_ends_the_reply_and_keeps_the_partial_text(vendor, fake, llm_server, connect, caplog):
    upstream = fake(vendor, chunks=["Part ", "one", "never"], inject={2: ERROR_EVENTS[vendor]})
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert text_of(frames) == "Part one"
    assert errors(frames) == [UNAVAILABLE]
    assert frames[-1]["metadata"]["interrupted"] == "true"
    assert last_message(frames)["content"] == "Part one"
    assert len(upstream.requests) == 1  # text was sent: never retried
    shown = "The server had an error processing your request." if vendor == "openai" else "overloaded_error"
    assert "stream error" in caplog.text and shown in caplog.text


@pytest.mark.parametrize("vendor, attempts", [("openai", 1), ("anthropic", 3)])
def test_an_error_event_before_the_first_token(vendor, attempts, fake, llm_server, connect):
    # Anthropic's in-stream errors (overloaded) are worth another try; OpenAI's, as before, are not.
    upstream = fake(vendor, inject={0: ERROR_EVENTS[vendor]})
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert errors(frames) == [UNAVAILABLE] and text_of(frames) == ""
    assert len(upstream.requests) == attempts


@pytest.mark.parametrize("vendor, missing", [("openai", "a finish_reason"), ("anthropic", "message_stop")])
def test_a_body_that_ends_before_the_vendors_last_event_is_a_cut_reply(
    vendor, missing, fake, llm_server, connect, caplog
):
    upstream = fake(vendor, chunks=["Cut ", "short"], truncate=True)
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert text_of(frames) == "Cut short"
    assert errors(frames) == [UNAVAILABLE]
    assert last_message(frames)["interrupted"] is True
    assert f"ended without {missing}" in caplog.text


@pytest.mark.parametrize("vendor", VENDORS)
def test_an_empty_body_is_retried_like_a_dropped_connection(vendor, fake, llm_server, connect):
    upstream = fake(vendor, chunks=[], truncate=True)
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert errors(frames) == [UNAVAILABLE]
    assert len(upstream.requests) == 3 and server.sleeps == [1.0, 2.0]


@pytest.mark.parametrize(
    "vendor, garbage",
    [
        ("openai", "data: {not json\n\n"),
        ("openai", "data: [1, 2]\n\n"),
        ("openai", 'data: {"choices": [{"delta": "text"}]}\n\n'),
        ("anthropic", "event: content_block_delta\ndata: {not json\n\n"),
        ("anthropic", 'event: content_block_delta\ndata: {"index": 0}\n\n'),
        ("anthropic", 'event: message_start\ndata: {"message": null}\n\n'),
    ],
)
def test_a_malformed_event_is_a_clear_error_not_a_crash(vendor, garbage, fake, llm_server, connect, caplog):
    upstream = fake(vendor, chunks=["Fine ", "until now"], inject={1: garbage})
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert text_of(frames) == "Fine "
    assert errors(frames) == [UNAVAILABLE]
    assert f"{vendor.title() if vendor == 'anthropic' else 'OpenAI'} stream is malformed" in caplog.text
    assert "unexpected" not in caplog.text  # not an adapter bug caught by the retry layer


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_connection_is_kept_alive_between_replies(vendor, fake, llm_server, connect):
    upstream = fake(vendor)
    server = llm_server(provider(upstream))
    client = connect("alice", target=server)
    ask(client)
    ask(client)
    first, second = upstream.wait_for(2)
    assert first.peer == second.peer  # the body was read to its end, so the pooled connection was reused


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_body_left_open_after_the_last_event_is_not_waited_for(vendor, fake, llm_server, connect):
    upstream = fake(vendor, linger="open")
    server = llm_server(provider(upstream), llm_stream_timeout=3.0)
    started = time.monotonic()
    frames = ask(connect("alice", target=server))
    assert time.monotonic() - started < 2.0
    assert text_of(frames) == "".join(upstream.chunks) and errors(frames) == []
    assert last_message(frames)["usage"]["estimated"] is False
    (request,) = upstream.requests
    assert request.finished.wait(10) and request.disconnected  # closed by us, not leaked


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_connection_dropped_after_the_last_event_loses_nothing(vendor, fake, llm_server, connect):
    upstream = fake(vendor, linger="drop", usage=(5, 2))
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert text_of(frames) == "".join(upstream.chunks) and errors(frames) == []
    assert last_message(frames)["usage"]["total"] == 7


@pytest.mark.parametrize("vendor", VENDORS)
def test_keys_echoed_in_an_error_event_are_redacted(vendor, fake, llm_server, connect, caplog):
    caplog.set_level(logging.DEBUG)
    upstream = fake(vendor)
    key = upstream.api_key
    message = f"Invalid key {key} for this model"
    event = (
        f"data: {json.dumps({'error': {'message': message, 'type': 'invalid_request_error'}})}\n\n"
        if vendor == "openai"
        else f"event: error\ndata: {json.dumps({'type': 'error', 'error': {'type': 'api_error', 'message': message}})}\n\n"
    )
    upstream.inject = {0: event}
    server = llm_server(provider(upstream))
    ask(connect("alice", target=server))
    assert "Invalid key [redacted] for this model" in caplog.text
    assert key not in caplog.text and key[:12] not in caplog.text


@pytest.mark.parametrize("vendor", VENDORS)
def test_an_endless_line_is_refused_not_buffered(vendor, fake, llm_server, connect, caplog):
    upstream = fake(vendor, chunks=["Fine ", "until now"], inject={1: "data: " + "x" * (1 << 20)})
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert text_of(frames) == "Fine " and errors(frames) == [UNAVAILABLE]
    assert "stream is malformed: SSEError" in caplog.text


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_upstream_request_is_closed_as_soon_as_an_error_event_ends_the_reply(vendor, fake, llm_server, connect):
    upstream = fake(vendor, chunks=["Part ", "one", "more"], inject={1: ERROR_EVENTS[vendor]}, stall_after=2)
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert errors(frames) == [UNAVAILABLE]
    (request,) = upstream.requests
    assert request.finished.wait(5) and request.disconnected  # the client hangs up; the fake stops waiting


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_connection_dropped_before_the_first_token_is_retried(vendor, fake, llm_server, connect, caplog):
    upstream = fake(vendor, break_after=0)
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server))
    assert errors(frames) == [UNAVAILABLE]
    assert len(upstream.requests) == 3 and server.sleeps == [1.0, 2.0]
    assert f"{'OpenAI' if vendor == 'openai' else 'Anthropic'} connection failed: RemoteProtocolError" in caplog.text
