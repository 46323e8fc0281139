"""AI providers behind one small interface, and the built-in demo model.

A provider turns a list of turns into a stream of ``Delta`` objects: text pieces (and any files it produced), then
one final ``Delta`` with ``usage``. It raises ``ProviderError`` when it fails (``retryable`` says whether trying
again could help). Vendor adapters (openai_llm.py, anthropic_llm.py, dify_llm.py) register themselves in
``ADAPTERS`` by type.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from chatbox.llm_settings import ProviderConfig


@dataclass(frozen=True)
class Turn:
    role: str  # "system", "user" or "assistant"
    content: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated: bool = False

    def as_dict(self) -> dict:
        return {
            "prompt": self.prompt_tokens,
            "completion": self.completion_tokens,
            "total": self.total_tokens,
            "estimated": self.estimated,
        }


@dataclass(frozen=True)
class AiFile:
    """A file the provider produced (an image, a document): its bytes, or an absolute URL to fetch them from."""

    url: str = ""
    data: bytes = b""
    name: str = ""
    mime: str = ""  # what the provider says; the bytes decide


@dataclass(frozen=True)
class Delta:
    text: str = ""
    usage: Usage | None = None
    provider_id: str = ""  # set when a fallback provider, not the one asked, produced this delta
    file: AiFile | None = None  # sent to the user after the reply's text


@dataclass
class ReplyRequest:
    """What a provider needs for one reply. ``state`` is per-session provider memory (e.g. Dify's conversation id);
    changes to it are persisted with the session."""

    turns: list[Turn]
    user_id: str
    session_id: str
    state: dict = field(default_factory=dict)


class ProviderError(Exception):
    """The provider failed. ``detail`` is for logs (already truncated, never holds keys); users see a code."""

    def __init__(self, detail: str, retryable: bool = False, retry_after: float | None = None):
        super().__init__(detail[:1024])
        self.retryable, self.retry_after = retryable, retry_after


class ReplyCancelled(Exception):
    """Raised inside a reply greenlet to stop it (takeover, session ended); adapters must let it through."""


class ReplyTimeout(Exception):
    """Raised inside a reply greenlet when the provider took longer than ``LLM_STREAM_TIMEOUT``."""


class Provider:
    def __init__(self, config: ProviderConfig):
        self.config = config

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def name(self) -> str:
        return self.config.name

    def stream(self, request: ReplyRequest) -> Iterator[Delta]:
        raise NotImplementedError


def estimate_tokens(text: str) -> int:
    """The Go service's estimate: four characters a token."""
    return max(len(text) // 4, 1) if text else 0


class DemoProvider(Provider):
    """Streams a deterministic reply word by word, clearly labelled, so everything works without an API key."""

    def __init__(self, config: ProviderConfig, delay: float = 0.05, sleep: Callable[[float], None] = time.sleep):
        super().__init__(config)
        self.delay, self._sleep = delay, sleep

    @staticmethod
    def reply_for(turns: list[Turn]) -> str:
        question = next((t.content for t in reversed(turns) if t.role == "user"), "")
        earlier = sum(1 for t in turns if t.role == "user") - 1
        quoted = question if len(question) <= 200 else question[:197] + "..."
        return (
            f'[demo model] You said: "{quoted}". I am the built-in demo model, so this answer is canned: '
            f"configure an OpenAI, Anthropic or Dify provider to get real replies. "
            f"I can see {earlier} earlier message{'s' if earlier != 1 else ''} from you in this conversation."
        )

    def stream(self, request: ReplyRequest) -> Iterator[Delta]:
        text = self.reply_for(request.turns)
        words = text.split(" ")
        for index, word in enumerate(words):
            if self.delay:
                self._sleep(self.delay)
            yield Delta(text=word if index == 0 else " " + word)
        prompt = sum(estimate_tokens(t.content) for t in request.turns)
        completion = estimate_tokens(text)
        yield Delta(usage=Usage(prompt, completion, prompt + completion, estimated=True))


DEMO_CONFIG = ProviderConfig(id="demo", name="Demo (no AI configured)", type="demo")

# type -> factory(config, settings) -> Provider; vendor modules add themselves here.
ADAPTERS: dict[str, Callable[..., Provider]] = {
    "demo": lambda config, settings: DemoProvider(config, delay=settings.demo_chunk_delay),
}


def _load_vendor_adapters(types: set[str]) -> None:
    """Import the vendor modules of the configured types so they register (only those: each vendor SDK costs
    tens of MiB in every worker); a missing one only removes its type."""
    import importlib

    for kind in sorted(types - set(ADAPTERS)):
        module = f"chatbox.integrations.{kind}_llm"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


class Providers:
    """The configured providers in configuration order, and the default one."""

    def __init__(self, settings):
        configs = list(settings.providers) or [DEMO_CONFIG]
        _load_vendor_adapters({config.type for config in configs})
        self._by_id: dict[str, Provider] = {}
        for config in configs:
            factory = ADAPTERS.get(config.type)
            if factory is None:
                raise ValueError(f"LLM provider {config.id!r}: type {config.type!r} has no adapter installed")
            self._by_id[config.id] = factory(config, settings)
        self.default_id = settings.llm_default_model or configs[0].id

    def __contains__(self, model_id: str) -> bool:
        return model_id in self._by_id

    def get(self, model_id: str) -> Provider:
        return self._by_id.get(model_id) or self._by_id[self.default_id]

    def models(self) -> list[dict]:
        return [{"id": p.id, "name": p.name} for p in self._by_id.values()]

    def all(self) -> list[Provider]:
        return list(self._by_id.values())
