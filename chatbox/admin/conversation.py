"""A conversation as HTML for the dashboard: stored messages for the first render, hub frames for the live push.

Everything a user or a model wrote is hostile: it only reaches the page through autoescaped templates, and file
links only when they are https or our own paths. Each message element is ``#msg-<seq>``; AI chunks are appended to
``#msg-<seq>-text`` with out-of-band swaps, so the SSE data of one event is always one small HTML fragment.
"""

from __future__ import annotations

import json

from flask import render_template

from chatbox.store import PlainMessage


def safe_link(url: str, prefix: str) -> str:
    if url.startswith("https://") or (url.startswith(prefix + "/") and not url.startswith("//")):
        return url
    return ""


def message_view(message: PlainMessage, prefix: str) -> dict:
    """What ``_message.html`` needs to draw a stored message."""
    return {
        "seq": message.seq,
        "sender": message.sender,
        "content": message.content,
        "ts": message.ts,
        "file_url": safe_link(message.file_url, prefix),
        "file_id": message.file_id,
        "admin_name": message.meta.get("admin_name", ""),
        "model_id": message.model_id,
        "interrupted": message.interrupted,
        "streaming": False,
        "transcript": message.transcript,
        "kind": message.meta.get("kind", ""),
    }


def _frame_view(frame: dict, prefix: str, streaming: bool = False) -> dict:
    meta = frame.get("metadata") or {}
    return {
        "seq": frame.get("seq"),
        "sender": frame.get("sender") or "user",
        "content": frame.get("content", ""),
        "ts": frame.get("timestamp", ""),
        "file_url": safe_link(frame.get("file_url", ""), prefix),
        "file_id": frame.get("file_id", ""),
        "admin_name": meta.get("admin_name", ""),
        "model_id": frame.get("model_id", ""),
        "interrupted": meta.get("interrupted") == "true",
        "streaming": streaming,
        "transcript": meta.get("transcript", ""),
        "kind": meta.get("kind", ""),
    }


def render_message(view: dict) -> str:
    """A whole message (repeats after a reconnect are avoided server-side: the stream resumes at Last-Event-ID)."""
    return render_template("admin/_message.html", m=view)


class LiveRenderer:
    """Turns one browser's stream of hub frames into HTML fragments, skipping what it has already shown."""

    def __init__(self, prefix: str, shown_seq: int):
        self.prefix = prefix
        self.shown_seq = shown_seq  # every complete message up to here is on the page
        self.open_replies: set[int] = set()  # replies whose shell is on the page, streaming
        self.skip_chunks: dict[int, int] = {}

    def snapshot(self, snap: dict | None) -> str:
        """The text so far of a reply streaming when the browser connected."""
        if not snap or not snap.get("text") or snap["seq"] <= self.shown_seq:
            return ""
        self.open_replies.add(snap["seq"])
        self.skip_chunks[snap["seq"]] = snap.get("n", 0)
        frame = {"seq": snap["seq"], "sender": "ai", "content": snap["text"], "model_id": snap.get("model_id", "")}
        return render_message(_frame_view(frame, self.prefix, streaming=True))

    def render(self, text: str, seq: int | None, chunk: int | None) -> str:
        """HTML for one frame, or "" when it shows nothing new."""
        try:
            frame = json.loads(text)
        except ValueError:
            return ""
        kind = frame.get("type")
        if kind in ("typing_indicator", "notification"):
            return ""
        if kind in ("admin_join", "admin_leave", "error") or (kind == "connection_status" and frame.get("content")):
            return render_template("admin/_system_line.html", frame=frame)
        if seq is None:
            return ""
        if kind == "loading" or (kind == "ai_response" and frame.get("sender") == "ai" and chunk is not None):
            return self._reply_part(kind, frame, seq, chunk)
        if seq <= self.shown_seq:
            return ""
        self.shown_seq = seq
        return render_message(_frame_view(frame, self.prefix))

    def _reply_part(self, kind: str, frame: dict, seq: int, chunk: int | None) -> str:
        meta = frame.get("metadata") or {}
        if seq <= self.shown_seq and seq not in self.open_replies:
            return ""
        if kind == "loading":
            self.open_replies.add(seq)
            return render_message(_frame_view({**frame, "content": ""}, self.prefix, streaming=True))
        if meta.get("done") == "true":
            self.open_replies.discard(seq)
            self.shown_seq = max(self.shown_seq, seq)
            return render_template("admin/_reply_state.html", seq=seq, interrupted=meta.get("interrupted") == "true")
        if chunk is not None and chunk <= self.skip_chunks.get(seq, 0):
            return ""
        if seq not in self.open_replies:
            self.open_replies.add(seq)
            return render_message(_frame_view(frame, self.prefix, streaming=True))
        return render_template("admin/_chunk.html", seq=seq, text=frame.get("content", ""))
