"""Stop: while a reply streams, Send turns into Stop; Stop ends the reply, kept and marked interrupted."""

from chatbox.models import Session

from .browser_helpers import open_chat, screenshot, send, wait_reply_done


def test_send_turns_into_stop_and_stop_keeps_the_partial_reply(make_server, open_page):
    server = make_server(demo_chunk_delay=0.08)
    page = open_chat(open_page(), server)
    assert page.inner_text("#send-btn") == "Send"
    send(page, "Tell me a long story.")
    page.wait_for_function("() => document.getElementById('send-btn').textContent === 'Stop'")
    page.wait_for_function(
        "() => (document.querySelector('.message.ai .message-content') || {textContent: ''}).textContent.length > 10"
    )
    screenshot(page, "chat-streaming-stop")
    page.click("#send-btn")
    wait_reply_done(page)
    page.wait_for_selector(".message.ai.interrupted")
    assert page.inner_text("#send-btn") == "Send"
    assert page.get_attribute("#send-btn", "aria-label") == "Send"
    stored = Session.objects.get().messages[-1]
    assert stored.sender == "ai" and stored.interrupted is True
    # Enter still sends text while a reply streams, and the next reply runs normally.
    send(page, "Short one.")
    wait_reply_done(page, count=2)
    assert page.locator(".message.ai.interrupted").count() == 1
