"""Errors every layer may raise: a refused request (answered as JSON) and an unusable configuration."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered as JSON ``{"error": message, "code": code}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers or {}, extra


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and how to fix it."""
