"""One request to a model for the copilot: the conversation as a transcript, the text back, its tokens counted.

Nothing here retries or fails over: a draft that is late or missing is better than one that holds a worker.
"""

from __future__ import annotations

from chatbox.integrations.llm import ReplyRequest, Turn

MAX_TRANSCRIPT = 8000  # characters of the most recent conversation the model reads
SPEAKERS = {"user": "User", "ai": "AI", "admin": "Agent", "system": "System"}


def transcript(messages) -> str:
    """The conversation as ``Speaker: text`` lines, newest kept when it is too long."""
    lines = []
    for message in messages:
        text = message.content or message.transcript or ("[a file]" if message.file_id else "")
        if text:
            lines.append(f"{SPEAKERS.get(message.sender, message.sender)}: {text}")
    joined, kept = "", []
    for line in reversed(lines):
        if len(joined) + len(line) + 1 > MAX_TRANSCRIPT:
            break
        kept.append(line)
        joined += line + "\n"
    return "\n".join(reversed(kept))


class Asker:
    """Sends one copilot request to a provider and counts its tokens under the feature's own label."""

    def __init__(self, providers, metrics):
        self.providers, self.metrics = providers, metrics

    def model_for(self, configured: str, session) -> str:
        return configured or session.model_id or self.providers.default_id

    def ask(self, feature: str, model_id: str, instructions: str, conversation: str, session) -> str:
        """Return the model's whole answer. Raises ProviderError (or the SDK's error) when the model fails."""
        provider = self.providers.get(model_id)
        request = ReplyRequest([Turn("system", instructions), Turn("user", conversation)], session.user_id, session.id)
        self.metrics.copilot_event(feature, "request", provider.config.type)
        parts = []
        try:
            for delta in provider.stream(request):
                parts.append(delta.text)
                if delta.usage is not None:
                    self.metrics.copilot_event(feature, "tokens", provider.config.type, delta.usage.total_tokens)
        except Exception:
            self.metrics.copilot_event(feature, "failure", provider.config.type)
            raise
        return "".join(parts).strip()
