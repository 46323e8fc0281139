"""The LLM providers of the configuration: ``LLM_PROVIDER_<n>_*`` variables and ``[[llm.providers]]`` tables."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from chatbox.config_checks import check_endpoint, is_placeholder
from chatbox.errors import SettingsError

PROVIDER_TYPES = ("openai", "anthropic", "dify", "demo")


@dataclass(frozen=True)
class ProviderConfig:
    id: str
    name: str
    type: str
    endpoint: str = ""
    api_key: str = field(default="", repr=False)
    model: str = ""
    max_tokens: int = 1024
    temperature: float | None = None
    system_prompt: str = ""
    fallback: str = ""


PROVIDER_FIELDS = {
    "ID": ("id", str),
    "NAME": ("name", str),
    "TYPE": ("type", str),
    "ENDPOINT": ("endpoint", str),
    "API_KEY": ("api_key", str),
    "MODEL": ("model", str),
    "MAX_TOKENS": ("max_tokens", int),
    "TEMPERATURE": ("temperature", float),
    "SYSTEM_PROMPT": ("system_prompt", str),
    "FALLBACK": ("fallback", str),
}
_TOML_PROVIDER_KEYS = {"apiKey": "api_key", "maxTokens": "max_tokens", "systemPrompt": "system_prompt"}


def read_providers(environ: Mapping[str, str], tables: list) -> tuple[ProviderConfig, ...]:
    """The providers of the TOML ``tables`` with the environment's ``LLM_PROVIDER_<n>_*`` over them, in order.

    Raises SettingsError naming the variable or table entry that is wrong."""
    entries: list[dict] = [
        {_TOML_PROVIDER_KEYS.get(k, k): v for k, v in table.items()} for table in tables if isinstance(table, dict)
    ]
    for index, entry in enumerate(entries, start=1):
        _cast_toml_fields(index, entry)
    _apply_environment(environ, entries)
    providers = [_provider(index, entry) for index, entry in enumerate(entries, start=1) if entry]
    seen = set()
    for provider in providers:
        if provider.id in seen:
            raise SettingsError(f"LLM provider id {provider.id!r} is configured twice")
        seen.add(provider.id)
    return tuple(providers)


def _apply_environment(environ: Mapping[str, str], entries: list[dict]) -> None:
    """Set each ``LLM_PROVIDER_<n>_<field>`` on entry n (adding empty entries up to n)."""
    numbers = sorted({int(m.group(1)) for key in environ if (m := re.fullmatch(r"LLM_PROVIDER_(\d+)_[A-Z_]+", key))})
    for key in environ:
        match = re.fullmatch(r"LLM_PROVIDER_(\d+)_([A-Z_]+)", key)
        if match and (int(match.group(1)) < 1 or match.group(2) not in PROVIDER_FIELDS):
            raise SettingsError(
                f"{key} is not a provider setting: use LLM_PROVIDER_<n>_<field> with n from 1 and "
                f"field one of {', '.join(PROVIDER_FIELDS)}"
            )
    for number in numbers:
        while len(entries) < number:
            entries.append({})
        for suffix, (name, cast) in PROVIDER_FIELDS.items():
            value = environ.get(f"LLM_PROVIDER_{number}_{suffix}")
            if value not in (None, ""):
                try:
                    # Strip: a key pasted with a trailing newline would be an invalid HTTP header.
                    entries[number - 1][name] = cast(value.strip())
                except ValueError:
                    raise SettingsError(
                        f"LLM_PROVIDER_{number}_{suffix} = {value!r} is not a valid {cast.__name__}"
                    ) from None


def _cast_toml_fields(index: int, entry: dict) -> None:
    """Give TOML values the field types (``max_tokens = "1024"`` works, ``max_tokens = "many"`` is refused)."""
    for name, cast in PROVIDER_FIELDS.values():
        value = entry.get(name)
        if value is None or isinstance(value, cast) and not isinstance(value, bool):
            continue
        try:
            if isinstance(value, (dict, list, bool)):
                raise ValueError(name)
            entry[name] = cast(value)
        except ValueError:
            raise SettingsError(f"LLM provider {index}: {name} = {value!r} is not a valid {cast.__name__}") from None


def _provider(index: int, entry: dict) -> ProviderConfig:
    label = f"LLM provider {index} (LLM_PROVIDER_{index}_*)"
    for required in ("id", "type"):
        if not entry.get(required):
            raise SettingsError(f"{label}: {required} is required")
    if entry["type"] not in PROVIDER_TYPES:
        raise SettingsError(f"{label}: type must be one of {', '.join(PROVIDER_TYPES)} (got {entry['type']!r})")
    if entry["type"] != "demo":
        if not entry.get("endpoint"):
            raise SettingsError(f"{label}: endpoint is required")
        check_endpoint(label, entry["endpoint"])
        if is_placeholder(str(entry.get("api_key", ""))):
            raise SettingsError(f"{label}: the API key is a placeholder; set LLM_PROVIDER_{index}_API_KEY")
        if entry["type"] in ("anthropic", "dify") and not entry.get("api_key"):
            raise SettingsError(
                f"{label}: an API key is required for type {entry['type']}; set LLM_PROVIDER_{index}_API_KEY"
            )
    if "max_tokens" in entry and entry["max_tokens"] < 1:
        raise SettingsError(f"{label}: max_tokens must be at least 1 (got {entry['max_tokens']})")
    known = {f.name for f in dataclasses.fields(ProviderConfig)}
    unknown = set(entry) - known
    if unknown:
        raise SettingsError(f"{label}: unknown keys {', '.join(sorted(unknown))}")
    entry = {"name": entry["id"], **entry}
    return ProviderConfig(**entry)
