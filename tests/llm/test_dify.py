"""Dify keeps the conversation itself: its conversation_id is kept per session and sent with every later turn."""

from conftest import text_of

from chatbox.models import Session

from .conftest import provider


def ask(client, content):
    client.send(type="user_message", content=content)
    return client.reply()


def test_conversation_id_is_kept_across_turns_and_persisted(fake, llm_server, connect):
    upstream = fake("dify")
    server = llm_server(provider(upstream, id="dify-helpdesk"))
    client = connect("carol", target=server)
    frames = ask(client, "My printer is broken")
    ask(client, "It is a LaserJet")

    first, second = upstream.wait_for(2)
    assert first.headers["authorization"] == f"Bearer {upstream.api_key}"
    assert first.body == {
        "inputs": {},
        "query": "My printer is broken",
        "response_mode": "streaming",
        "conversation_id": "",
        "user": "carol",
    }
    (conversation,) = upstream.conversations
    assert second.body["conversation_id"] == conversation
    assert second.body["query"] == "It is a LaserJet"  # Dify has the history; only the new message travels
    document = Session._get_collection().find_one({"_id": frames[-1]["session_id"]})
    assert document["providerState"] == {"dify_conversation:dify-helpdesk": conversation}
    assert document["msgs"][-1]["usage"] == {"prompt": 11, "completion": 4, "total": 15, "estimated": False}


def test_a_forgotten_conversation_starts_a_new_one_with_the_transcript(fake, llm_server, connect):
    upstream = fake("dify", chunks=["Noted."])
    server = llm_server(provider(upstream))
    client = connect("carol", target=server)
    ask(client, "My name is Carol")
    (issued,) = upstream.conversations
    upstream.conversations.clear()  # Dify deleted the conversation
    frames = ask(client, "What is my name?")
    assert text_of(frames) == "Noted."
    first, refused, fresh = upstream.wait_for(3)
    assert first.body["conversation_id"] == ""
    assert refused.body["conversation_id"] == issued
    assert fresh.body["conversation_id"] == ""
    assert fresh.body["query"] == (
        "Earlier in this conversation:\nuser: My name is Carol\nassistant: Noted.\n\nNew message:\nWhat is my name?"
    )


def test_agent_messages_stream_like_messages(fake, llm_server, connect):
    upstream = fake("dify", dify_event="agent_message", chunks=["Thinking ", "done."])
    server = llm_server(provider(upstream))
    assert text_of(ask(connect("carol", target=server), "Use your tools")) == "Thinking done."


def test_switching_to_dify_mid_conversation_sends_the_earlier_turns(fake, llm_server, connect):
    openai_fake, dify_fake = fake("openai", chunks=["Hi Dave."]), fake("dify")
    server = llm_server(provider(openai_fake), provider(dify_fake))
    client = connect("dave", target=server)
    ask(client, "I am Dave")
    client.send(type="model_select", model_id="dify-main")
    client.recv_until(lambda f: f["type"] == "connection_status" and f.get("model_id") == "dify-main")
    ask(client, "Who am I?")
    (request,) = dify_fake.requests
    assert request.body["query"] == (
        "Earlier in this conversation:\nuser: I am Dave\nassistant: Hi Dave.\n\nNew message:\nWho am I?"
    )
