"""Short-lived signed file links: ``{P}/files/<id>?exp=<unix time>&sig=<hex>``.

A link is an HMAC-SHA256 over the file id and its expiry, keyed by a key derived from JWT_SECRET, minted only for
someone who may read the file (the owner, an admin, a live share link). It replaces the user's JWT in file URLs,
which used to land in browser history, copied links and logs. It names one file and dies after FILE_LINK_TTL.
"""

from __future__ import annotations

import hashlib
import hmac
import time


def _key(secret: str) -> bytes:
    # A key of its own, so a link signature can never be mistaken for (or help forge) anything else we sign.
    return hmac.new(secret.encode(), b"chatbox file links v1", hashlib.sha256).digest()


def signature(secret: str, file_id: str, expires: int) -> str:
    return hmac.new(_key(secret), f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_url(prefix: str, secret: str, file_id: str, ttl: float, now: float | None = None) -> tuple[str, int]:
    """The signed link of ``file_id`` valid ``ttl`` seconds from ``now``, and its expiry (unix seconds)."""
    expires = int((time.time() if now is None else now) + ttl)
    return f"{prefix}/files/{file_id}?exp={expires}&sig={signature(secret, file_id, expires)}", expires


def valid(secret: str, file_id: str, exp: str, sig: str, now: float | None = None) -> bool:
    """Does ``exp``/``sig`` from a request sign ``file_id``, unexpired? Malformed values are simply invalid."""
    if not (exp.isascii() and exp.isdigit() and len(exp) <= 12) or len(sig) != 64:
        return False
    if int(exp) <= (time.time() if now is None else now):
        return False
    return hmac.compare_digest(signature(secret, file_id, int(exp)), sig)
