"""Each vendor through its real SDK / HTTP code against a fake speaking its wire format, seen by a real WebSocket
client: chunks, usage, history, system prompt and the token budget."""

import pytest
from conftest import text_of

from chatbox.models import Session

from .conftest import VENDORS, provider


def ask(client, content: str) -> list[dict]:
    client.send(type="user_message", content=content)
    return client.reply()


def stored(sid: str) -> dict:
    return Session._get_collection().find_one({"_id": sid})


def conversation(vendor: str, body: dict) -> list[tuple[str, str]]:
    """(role, text) pairs the vendor received, system prompt first when there is one."""
    if vendor == "anthropic":
        return ([("system", body["system"])] if "system" in body else []) + [
            (m["role"], m["content"]) for m in body["messages"]
        ]
    return [(m["role"], m["content"]) for m in body["messages"]]


@pytest.mark.parametrize("vendor", VENDORS)
def test_chunks_arrive_in_order_and_usage_is_persisted(vendor, fake, llm_server, connect):
    upstream = fake(vendor, chunks=["The ", "answer ", "is ", "42", "."], usage=(23, 5))
    server = llm_server(provider(upstream))
    client = connect("alice", target=server)
    frames = ask(client, "What is the answer?")

    streamed = [f for f in frames if f["type"] == "ai_response" and f["metadata"]["done"] == "false"]
    assert [f["content"] for f in streamed] == ["The ", "answer ", "is ", "42", "."]
    assert [f["chunk"] for f in streamed] == [1, 2, 3, 4, 5]
    assert {f["seq"] for f in streamed} == {frames[-1]["seq"]}
    assert {f["model_id"] for f in streamed} == {f"{vendor}-main"}
    assert frames[-1]["metadata"] == {"streaming": "true", "done": "true"}
    assert not [f for f in frames if f["type"] == "error"]

    document = stored(frames[-1]["session_id"])
    reply = document["msgs"][-1]
    assert (reply["sender"], reply["content"], reply["modelId"]) == ("ai", "The answer is 42.", f"{vendor}-main")
    assert reply["usage"] == {"prompt": 23, "completion": 5, "total": 28, "estimated": False}
    assert reply["firstMs"] <= reply["respMs"]
    assert document["totalTokens"] == 28

    ask(client, "And again?")
    document = stored(frames[-1]["session_id"])
    assert document["totalTokens"] == 56
    assert document["maxRespTime"] >= document["avgRespTime"] >= 0
    assert document["respCount"] == 2


def test_the_request_carries_model_options_and_the_key(fake, llm_server, connect):
    upstream = fake("openai")
    server = llm_server(provider(upstream, model="llama3.1:8b", max_tokens=321, temperature=0.25))
    ask(connect("alice", target=server), "hello")
    (request,) = upstream.requests
    assert request.headers["authorization"] == f"Bearer {upstream.api_key}"
    body = request.body
    assert (body["model"], body["max_tokens"], body["temperature"], body["stream"]) == ("llama3.1:8b", 321, 0.25, True)
    assert body["stream_options"] == {"include_usage": True}


def test_anthropic_gets_max_tokens_and_system_separately(fake, llm_server, connect):
    upstream = fake("anthropic")
    server = llm_server(provider(upstream, max_tokens=777, system_prompt="Answer like a pirate."))
    ask(connect("alice", target=server), "hello")
    body = upstream.requests[0].body
    assert (body["max_tokens"], body["system"], body["model"]) == (777, "Answer like a pirate.", "claude-sonnet-4-5")
    assert body["messages"] == [{"role": "user", "content": "hello"}]


@pytest.mark.parametrize("endpoint_suffix", ["/v1", "", "/v1/"])
def test_anthropic_endpoint_with_or_without_v1(endpoint_suffix, fake, llm_server, connect):
    upstream = fake("anthropic")
    root = upstream.endpoint.removesuffix("/v1")
    server = llm_server(provider(upstream, endpoint=root + endpoint_suffix))
    assert text_of(ask(connect("alice", target=server), "hi")) == "Hello from anthropic."
    assert upstream.requests[0].path == "/v1/messages"


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_second_turn_sends_history_and_system_prompt(vendor, fake, llm_server, connect):
    upstream = fake(vendor, chunks=["Paris", " is the capital."])
    server = llm_server(provider(upstream, system_prompt="You are the geography bot."))
    client = connect("alice", target=server)
    ask(client, "What is the capital of France?")
    upstream.chunks = ["About 2 million."]
    ask(client, "How many people live there?")

    first, second = upstream.wait_for(2)
    assert conversation(vendor, first.body) == [
        ("system", "You are the geography bot."),
        ("user", "What is the capital of France?"),
    ]
    assert conversation(vendor, second.body) == [
        ("system", "You are the geography bot."),
        ("user", "What is the capital of France?"),
        ("assistant", "Paris is the capital."),
        ("user", "How many people live there?"),
    ]


def test_default_system_prompt_is_used_when_the_provider_sets_none(fake, llm_server, connect):
    upstream = fake("openai")
    server = llm_server(provider(upstream), llm_system_prompt="Be kind and brief.")
    ask(connect("alice", target=server), "hi")
    assert upstream.requests[0].body["messages"][0] == {"role": "system", "content": "Be kind and brief."}


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_token_budget_drops_the_oldest_turns(vendor, fake, llm_server, connect):
    upstream = fake(vendor, chunks=["ok"])
    server = llm_server(provider(upstream, system_prompt="Be brief."), llm_context_tokens=40)
    client = connect("alice", target=server)
    oldest, middle = "alpha " * 20, "bravo " * 10  # about 30 and 15 tokens
    for text in (oldest, middle, "charlie"):
        ask(client, text)
    last = conversation(vendor, upstream.wait_for(3)[2].body)
    texts = " ".join(text for _, text in last)
    assert "alpha" not in texts
    assert "bravo" in texts and last[-1] == ("user", "charlie")
    assert last[0] == ("system", "Be brief.")


def test_usage_is_estimated_and_flagged_when_the_provider_reports_none(fake, llm_server, connect):
    upstream = fake("openai", usage=None, chunks=["twelve chars", " more text."])
    server = llm_server(provider(upstream))
    frames = ask(connect("alice", target=server), "count me")
    reply = stored(frames[-1]["session_id"])["msgs"][-1]
    assert reply["usage"]["estimated"] is True
    assert reply["usage"]["completion"] == len("twelve chars more text.") // 4
    assert reply["usage"]["total"] == reply["usage"]["prompt"] + reply["usage"]["completion"] > 0
