"""The story of one AI reply: context, streaming, deadline, cancellation, persistence of text, usage and timing.

Each session's replies run one after another on a per-session queue; each reply runs in its own greenlet so a
takeover (from any pod) can cancel it mid-stream. The reply's ``seq`` is reserved when the user's message is
accepted, so the history a reply sees is exactly what came before it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import gevent
from gevent.queue import Empty, Queue

from chatbox.chat.frames import ChunkFrames
from chatbox.chat.protocol import Frame, error_frame, now
from chatbox.events import ReplyCancelRequested, SessionChanged
from chatbox.integrations.bus import Bus
from chatbox.integrations.llm import (
    AiFile,
    Delta,
    Provider,
    ProviderError,
    ReplyCancelled,
    ReplyRequest,
    ReplyTimeout,
    Turn,
    Usage,
    estimate_tokens,
)
from chatbox.store import ReplyTotals

log = logging.getLogger("chatbox.replies")


@dataclass
class ReplyJob:
    sid: str
    seq: int
    model_id: str
    user_id: str
    finishing: bool = False
    prior_replies: int = 0  # the session's reply count and average when this reply started
    prior_average_ms: int = 0
    greenlet: gevent.Greenlet | None = field(default=None, repr=False)


@dataclass
class ReplyOutcome:
    """How one reply went: what was streamed, by whom, and how it ended."""

    provider: Provider
    message_id: str
    request: ReplyRequest
    state_before: dict  # the provider's conversation state when the reply started
    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None
    parts: list[str] = field(default_factory=list)
    usage: Usage | None = None
    files: list[AiFile] = field(default_factory=list)
    chunks: int = 0
    error_code: str = ""
    error_detail: str = ""
    interrupted: bool = False
    cancelled: bool = False

    @property
    def text(self) -> str:
        return "".join(self.parts)


class SessionQueues:
    """One FIFO per session on this process; a runner greenlet lives while its queue has work."""

    def __init__(self, idle: float = 30.0):
        self._queues: dict[str, Queue] = {}
        self._idle = idle

    def submit(self, sid: str, job: Callable[[], None]) -> None:
        queue = self._queues.get(sid)
        if queue is None:
            queue = self._queues[sid] = Queue()
            gevent.spawn(self._run, sid, queue)
        queue.put(job)

    def _run(self, sid: str, queue: Queue) -> None:
        while True:
            try:
                job = queue.get(timeout=self._idle)
            except Empty:
                if queue.empty():
                    self._queues.pop(sid, None)
                    return
                continue
            try:
                job()
            except Exception:
                log.exception("session job failed", extra={"session_id": sid})

    def busy(self) -> int:
        return sum(q.qsize() for q in self._queues.values())


def build_context(system_prompt: str, history: list, budget: int) -> list[Turn]:
    """System prompt, then the newest history that fits the token budget (oldest dropped first).

    ``history`` holds PlainMessage objects in seq order; the last user message is always kept.
    """
    turns = [_turn(m) for m in history]
    turns = [t for t in turns if t.content]
    kept: list[Turn] = []
    used = estimate_tokens(system_prompt)
    for turn in reversed(turns):
        cost = estimate_tokens(turn.content)
        if kept and used + cost > budget:
            break
        kept.append(turn)
        used += cost
    kept.reverse()
    return ([Turn("system", system_prompt)] if system_prompt else []) + kept


def _turn(message) -> Turn:
    if message.sender == "ai":
        return Turn("assistant", message.content)
    if message.sender == "admin":
        name = message.meta.get("admin_name", "support agent")
        return Turn("assistant", f"[{name}, a human support agent, wrote] {message.content}")
    text = message.transcript or message.content
    if message.file_id and not message.transcript:
        label = message.meta.get("filename") or "a file"
        text = f"{text}\n[The user sent {label}]".strip()
    return Turn("user", text)


class ReplyStreamer:
    """Runs replies: ``start`` from the session queue; ``cancel`` from a control event on any pod."""

    def __init__(
        self,
        settings,
        store,
        sessions,
        hub,
        providers,
        metrics=None,
        stream_deltas=None,
        observers=(),
        *,
        bus: Bus,
        files=None,
        on_reply_done: Callable[[str, str, str], None] | None = None,
        on_failure: Callable[..., None] | None = None,
    ):
        self.settings, self.store, self.sessions, self.hub, self.providers = settings, store, sessions, hub, providers
        self.bus, self.metrics = bus, metrics
        # Issue-3 seam: wraps a provider stream with retries/failover; default streams once.
        self.stream_deltas: Callable[[Provider, ReplyRequest], Iterator[Delta]] = stream_deltas or (
            lambda provider, request: provider.stream(request)
        )
        self.running: dict[str, ReplyJob] = {}
        self.observers = list(observers)  # each hears ``reply_finished(provider_id, first_ms, total_ms, error)``
        self.on_failure = on_failure  # called with provider, code, session_id, user_id
        # ``files.publish(sid, ai_file, model_id)`` keeps and sends a provider's file; ``on_reply_done(sid, text,
        # model_id)`` hears each complete reply (spoken replies).
        self.files, self.on_reply_done = files, on_reply_done
        hub.on_event(ReplyCancelRequested, self._on_cancel)

    def run(self, job: ReplyJob) -> None:
        job.greenlet = gevent.getcurrent()
        self.running[job.sid] = job
        try:
            self._stream(job)
        finally:
            if self.running.get(job.sid) is job:
                del self.running[job.sid]

    def active(self) -> int:
        return len(self.running)

    def _on_cancel(self, event: ReplyCancelRequested) -> None:
        job = self.running.get(event.sid)
        if job is not None and not job.finishing and job.greenlet is not None:
            job.greenlet.kill(ReplyCancelled(event.reason), block=False)

    def _frame(self, job: ReplyJob, message_id: str, **values) -> Frame:
        extra = {"seq": job.seq, "message_id": message_id}
        return Frame(session_id=job.sid, sender="ai", timestamp=now(), extra=extra, **values)

    def _stream(self, job: ReplyJob) -> None:
        session = self.sessions.get(job.sid)
        if session is None or session.end is not None or session.takeover_by:
            return  # ended, or an admin took it over while this reply waited in the queue
        job.prior_replies, job.prior_average_ms = session.response_count, session.avg_response_ms
        provider = self.providers.get(job.model_id)
        message_id = uuid.uuid4().hex
        self.bus.stream_begin(job.sid, job.seq, provider.id)
        self.hub.broadcast(job.sid, self._frame(job, message_id, type="loading"), chunk=0)
        history = [m for m in session.history if m.seq < job.seq]
        system = provider.config.system_prompt or self.settings.llm_system_prompt
        request = ReplyRequest(
            build_context(system, history, self.settings.llm_context_tokens),
            job.user_id,
            job.sid,
            dict(session.provider_state),
        )
        outcome = ReplyOutcome(provider, message_id, request, dict(request.state))
        try:
            with gevent.Timeout(self.settings.llm_stream_timeout, ReplyTimeout):
                self._pump(job, outcome)
        except ReplyTimeout:
            outcome.error_code, outcome.interrupted = "LLM_TIMEOUT", bool(outcome.parts)
        except ProviderError as exc:
            log.warning("provider %s failed: %s", outcome.provider.id, exc, extra={"session_id": job.sid})
            outcome.error_code, outcome.interrupted = "LLM_UNAVAILABLE", bool(outcome.parts)
            outcome.error_detail = f"{type(exc).__name__}: {exc}"
        except ReplyCancelled:
            outcome.interrupted = outcome.cancelled = True
        finally:
            job.finishing = True
        self._finish(job, outcome)
        files = [] if outcome.cancelled else outcome.files
        self._after(job, outcome.provider, files, "" if outcome.interrupted else outcome.text)

    def _pump(self, job: ReplyJob, outcome: ReplyOutcome) -> None:
        """Send each piece of the provider's stream to the session's sockets as it arrives."""
        chunks = ChunkFrames(job.sid, job.seq, outcome.message_id)
        for delta in self.stream_deltas(outcome.provider, outcome.request):
            if delta.provider_id and delta.provider_id != outcome.provider.id:
                outcome.provider = self.providers.get(delta.provider_id)  # a fallback is answering
            if delta.usage is not None:
                outcome.usage = delta.usage
            if delta.file is not None and delta.file not in outcome.files:  # a retried stream may repeat it
                outcome.files.append(delta.file)
            if not delta.text:
                continue
            if outcome.first_token is None:
                outcome.first_token = time.monotonic()
                self._observe("first_token", outcome.provider, outcome.first_token - outcome.started)
            outcome.parts.append(delta.text)
            outcome.chunks = self.bus.stream_append(job.sid, delta.text) or outcome.chunks + 1
            text = chunks.text(delta.text, outcome.provider.id, outcome.chunks)
            self.hub.broadcast_text(job.sid, text, seq=job.seq, chunk=outcome.chunks)
            if outcome.chunks == 1:
                # Sockets are written once per turn of the event loop: let the first token go out now, not after
                # a provider that answers without pauses has produced the whole reply.
                gevent.sleep(0)

    def _after(self, job: ReplyJob, provider: Provider, files: list[AiFile], text: str) -> None:
        """After the reply's text: the files it produced, then whoever hears complete replies."""
        for ai_file in files:
            if self.files is None:
                log.warning("provider %s sent a file but file storage is not set up", provider.id)
                break
            self.files.publish(job.sid, ai_file, provider.id)
        if text and self.on_reply_done is not None:
            self.on_reply_done(job.sid, text, provider.id)

    def _finish(self, job: ReplyJob, outcome: ReplyOutcome) -> None:
        """Store what was said (one write), then end the stream: the error frame if any, and the done frame."""
        provider, chunks = outcome.provider, outcome.chunks
        elapsed_ms = int((time.monotonic() - outcome.started) * 1000)
        if outcome.text:
            self._store(job, outcome, elapsed_ms)
        elif outcome.request.state != outcome.state_before:
            self.store.set_provider_state(job.sid, outcome.request.state)
        self.bus.stream_end(job.sid)
        if outcome.error_code:
            self._observe("error", provider, 1)
            if self.on_failure:
                self.on_failure(provider=provider.id, code=outcome.error_code, session_id=job.sid, user_id=job.user_id)
            message = None
            if outcome.error_code == "LLM_TIMEOUT":
                message = f"AI service request timed out after {self.settings.llm_stream_timeout:g}s"
            frame = error_frame(outcome.error_code, message or "", session_id=job.sid)
            frame.extra["seq"] = job.seq
            self.hub.broadcast(job.sid, frame, chunk=chunks + 1)
        metadata = {"streaming": "true", "done": "true"}
        if outcome.interrupted:
            metadata["interrupted"] = "true"
        done = self._frame(job, outcome.message_id, type="ai_response", model_id=provider.id, metadata=metadata)
        done.extra["chunk"] = chunks + 2
        self.hub.broadcast(job.sid, done, chunk=chunks + 2)
        self.hub.signal(SessionChanged(sid=job.sid))
        self._observe("total", provider, elapsed_ms / 1000)
        if not outcome.cancelled:
            first_ms = int((outcome.first_token - outcome.started) * 1000) if outcome.first_token else None
            for observer in self.observers:
                observer.reply_finished(provider.id, first_ms, elapsed_ms, outcome.error_detail or outcome.error_code)

    def _store(self, job: ReplyJob, outcome: ReplyOutcome, elapsed_ms: int) -> None:
        text, usage = outcome.text, outcome.usage
        if usage is None or not usage.total_tokens:
            prompt = sum(estimate_tokens(t.content) for t in outcome.request.turns)
            usage = Usage(prompt, estimate_tokens(text), prompt + estimate_tokens(text), estimated=True)
        first_ms = int((outcome.first_token - outcome.started) * 1000) if outcome.first_token else None
        state = outcome.request.state
        self.store.append(
            job.sid,
            job.seq,
            "ai",
            text,
            reply=ReplyTotals.after(job.prior_replies, job.prior_average_ms, usage.total_tokens, elapsed_ms),
            message_id=outcome.message_id,
            model_id=outcome.provider.id,
            usage=usage.as_dict(),
            first_token_ms=first_ms,
            response_ms=elapsed_ms,
            interrupted=outcome.interrupted or None,
            provider_state=state if state != outcome.state_before else None,
        )
        self._observe("tokens", outcome.provider, usage.total_tokens)

    def _observe(self, what: str, provider: Provider, value: float) -> None:
        if self.metrics is not None:
            self.metrics.reply_event(what, provider.config.type, value)
