"""Photos and voice notes in Chromium: a moving progress bar, the image in the conversation, a recorded note with a
running timer and playback controls."""

import random
import struct
import zlib

from chatbox.models import Session

from .browser_helpers import chat_url, open_chat, screenshot

WATCH_PROGRESS = """() => {
  window.__progress = [];
  const bar = document.querySelector("#upload-progress .progress-bar");
  new MutationObserver(() => window.__progress.push(+bar.getAttribute("aria-valuenow")))
    .observe(bar, {attributes: true, attributeFilter: ["aria-valuenow"]});
}"""


def noisy_png(path, width=700, height=700):
    """A real PNG of random pixels (incompressible, so the upload takes a while under throttling)."""
    rng = random.Random(7)
    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")
    )
    return path


def first_message(server):
    store = server.services.store
    return store.messages(store.get(Session.objects.get(user_id="alice").id))[0]


def throttle_uploads(page, bytes_per_second):
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second},
    )
    return cdp


def test_a_photo_uploads_with_a_moving_progress_bar_and_appears_in_the_conversation(make_server, open_page, tmp_path):
    server = make_server(upload_dir=str(tmp_path / "uploads"))
    page = open_chat(open_page(), server)
    page.evaluate(WATCH_PROGRESS)
    photo = noisy_png(tmp_path / "holiday.png")
    throttle_uploads(page, 600_000)
    page.set_input_files("#file-input", str(photo))
    image = page.locator(".message.user img")
    image.wait_for()
    page.wait_for_function(
        "() => { const i = document.querySelector('.message.user img'); "
        "return i && i.complete && i.naturalWidth === 700; }"
    )
    page.wait_for_selector(".message.user[data-seq]")  # stored and echoed by the server
    progress = page.evaluate("window.__progress")
    moving = [p for p in progress if 0 < p < 100]
    assert len(set(moving)) >= 2 and progress == sorted(progress), progress
    assert progress[-1] == 100
    assert page.locator("#upload-progress").is_hidden()
    stored = first_message(server)
    assert stored.file_id and stored.meta["filename"] == "holiday.png"
    # After a reload the photo comes back from the server (the token on its URL), once.
    page.goto(chat_url(server))
    page.wait_for_function(
        "() => { const i = document.querySelectorAll('.message.user img'); "
        "return i.length === 1 && i[0].complete && i[0].naturalWidth === 700; }"
    )
    assert "/files/" in page.locator(".message.user img").get_attribute("src")
    screenshot(page, "chat-photo")


def test_a_voice_note_records_with_a_running_timer_and_plays_back(make_server, open_page, tmp_path):
    server = make_server(upload_dir=str(tmp_path / "uploads"))
    page = open_chat(open_page(), server)
    page.click("#voice-btn")
    page.wait_for_selector("#voice-recording:not([hidden])")
    page.wait_for_function("() => document.getElementById('recording-time').textContent === '0:02'")
    page.wait_for_function("() => document.getElementById('voice-level').value > 0")
    page.click("#stop-recording-btn")
    audio = page.locator(".message.user audio[controls]")
    audio.wait_for()
    page.wait_for_selector(".message.user[data-seq]")
    duration = page.wait_for_function(
        "() => { const a = document.querySelector('.message.user audio'); return a.readyState >= 1 && a.duration; }"
    )
    assert duration.json_value()
    stored = first_message(server)
    assert stored.meta["kind"] == "voice" and stored.meta["filename"].startswith("voice_")
    screenshot(page, "chat-voice")
