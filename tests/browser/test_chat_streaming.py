"""The chat page in Chromium: a streamed answer, reload mid-stream, a cut socket; each answer exactly once."""

import gevent
import pytest

from chatbox.integrations.llm import DemoProvider, Turn

from .browser_helpers import (
    ai_texts,
    chat_url,
    open_chat,
    screenshot,
    send,
    wait_connected,
    wait_reply_done,
)


def demo_answer(*questions: str) -> str:
    return DemoProvider.reply_for([Turn("user", q) for q in questions])


RECORD_STATES = """() => {
  window.__states = [document.body.dataset.connection];
  new MutationObserver(() => window.__states.push(document.body.dataset.connection))
    .observe(document.body, {attributes: true, attributeFilter: ["data-connection"]});
}"""

WATCH_TYPING = """() => {
  window.__typing = false;
  const dots = document.getElementById("typing-indicator");
  new MutationObserver(() => { if (!dots.hidden) window.__typing = true; })
    .observe(dots, {attributes: true, attributeFilter: ["hidden"]});
}"""


def test_the_answer_streams_in_word_by_word_and_the_title_names_the_session(make_server, open_page):
    server = make_server(demo_chunk_delay=0.05)
    page = open_chat(open_page(), server)
    screenshot(page, "chat-empty")
    page.evaluate(WATCH_TYPING)
    send(page, "Hello.")
    page.wait_for_selector(".message.ai.streaming")
    lengths = []
    while page.locator(".message.ai.streaming").count():
        lengths.append(len(page.locator(".message.ai .message-content").first.inner_text()))
        gevent.sleep(0.05)
    wait_reply_done(page)
    assert page.evaluate("window.__typing") is True
    growth = sorted(set(lengths))
    assert len(growth) >= 3 and lengths == sorted(lengths), lengths
    assert ai_texts(page) == [demo_answer("Hello.")]
    user = page.locator(".message.user")
    assert user.count() == 1 and user.get_attribute("data-seq") == "1"
    assert "pending" not in user.get_attribute("class")
    page.wait_for_function("() => document.getElementById('session-title').textContent === 'Hello.'")
    assert page.title().startswith("Hello.")
    assert "token=" not in page.url  # the token left the address bar
    screenshot(page, "chat-answered")


def test_reload_mid_stream_shows_the_whole_answer_exactly_once(make_server, open_page):
    server = make_server(demo_chunk_delay=0.08)
    page = open_chat(open_page(), server)
    send(page, "Tell me a story.")
    page.wait_for_function("() => (document.querySelector('.message.ai.streaming') || {}).innerText?.length > 20")
    page.goto(chat_url(server))  # the parent app reopens the page with its token
    wait_connected(page)
    wait_reply_done(page)
    assert ai_texts(page) == [demo_answer("Tell me a story.")]
    assert page.locator(".message.user").all_inner_texts()[0].endswith("Tell me a story.")
    assert page.locator(".message.user").count() == 1


@pytest.mark.parametrize("cut", ["server_restart", "network_drop"])
def test_a_cut_socket_reconnects_and_resumes_without_loss_or_duplicates(make_server, open_page, cut):
    server = make_server(demo_chunk_delay=0.08)
    page = open_chat(open_page(), server)
    page.evaluate(RECORD_STATES)
    send(page, "First question.")
    wait_reply_done(page)
    send(page, "Second question.")
    page.wait_for_function("() => (document.querySelector('.message.ai.streaming') || {}).innerText?.length > 20")
    if cut == "server_restart":
        for conn in list(server.services.hub.connections):
            conn.close(1012, "Server restarting")
    else:
        page.context.set_offline(True)
        page.wait_for_selector("body[data-connection=offline]")
        page.context.set_offline(False)
    wait_reply_done(page, count=2)
    wait_connected(page)
    states = page.evaluate("window.__states")
    expected_gap = "reconnecting" if cut == "server_restart" else "offline"
    assert expected_gap in states and states[states.index(expected_gap) :].count("connected") >= 1, states
    assert ai_texts(page) == [demo_answer("First question."), demo_answer("First question.", "Second question.")]
    assert page.locator(".message.user").count() == 2
    seqs = page.eval_on_selector_all(".message[data-seq]", "nodes => nodes.map(n => +n.dataset.seq)")
    assert seqs == [1, 2, 3, 4]


def test_a_message_lost_with_its_socket_is_resent_on_reconnect_and_answered_once(make_server, open_page):
    server = make_server(demo_chunk_delay=0.01)
    chat = server.services.chat
    receive = chat.receive
    lost = []

    def lose_the_first_message(conn, raw):
        if not lost and "Did this arrive?" in raw:  # the page sent it, the socket died before the server read it
            lost.append(raw)
            conn.close(1012, "Server restarting")
            return
        receive(conn, raw)

    chat.receive = lose_the_first_message
    page = open_chat(open_page(), server)
    send(page, "Did this arrive?")
    wait_reply_done(page)
    page.wait_for_function("() => !document.querySelector('.message.user.pending')")
    assert len(lost) == 1
    assert [b.inner_text().count("Did this arrive?") for b in page.locator(".message.user").all()] == [1]
    assert ai_texts(page) == [demo_answer("Did this arrive?")]
    store = server.services.store
    stored = store.messages(store.get(store.active_id("alice")))
    assert [(m.sender, m.seq) for m in stored] == [("user", 1), ("ai", 2)]
