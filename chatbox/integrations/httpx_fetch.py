"""Fetch a file over HTTP with a size cap, over httpx2; each redirect target is vetted by the caller's rule first."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

import httpx2

MAX_REDIRECTS = 3


class FetchError(Exception):
    """The file could not be fetched; the text says why (for logs and, shortened, for users)."""


class TooLarge(FetchError):
    pass


def fetch(url: str, limit: int, allowed: Callable[[str], None], timeout: float = 30.0) -> tuple[bytes, str]:
    """GET ``url`` → (bytes, Content-Type). ``allowed(url)`` raises for a URL we may not fetch (checked again for
    every redirect). Raises TooLarge past ``limit`` bytes (never reading more than that), FetchError otherwise."""
    with httpx2.Client(timeout=httpx2.Timeout(timeout, connect=10.0), follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            allowed(url)
            try:
                with client.stream("GET", url) as response:
                    if response.is_redirect and response.headers.get("location"):
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise FetchError(f"HTTP {response.status_code}")
                    return _read(response, limit), response.headers.get("content-type", "")
            except httpx2.HTTPError as exc:
                raise FetchError(f"{type(exc).__name__}: {str(exc)[:300]}") from None
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _read(response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"{declared} bytes")
    data = bytearray()
    for chunk in response.iter_bytes():
        data.extend(chunk)
        if len(data) > limit:
            raise TooLarge(f"more than {limit} bytes")
    return bytes(data)
