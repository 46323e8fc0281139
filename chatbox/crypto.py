"""Message-content encryption in the Go service's format, with a key ring for rotation.

Format: base64 (standard, padded) of nonce(12) || ciphertext || tag(16), AES-256-GCM, no associated data, the
32-character key used as raw bytes. Text that is not in this format, or that no key opens, is returned unchanged:
the Go service did the same so legacy plaintext keeps reading.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_SIZE = 12
TAG_SIZE = 16


class KeyRing:
    """Encrypt with the primary key; decrypt with the primary, then each previous key."""

    def __init__(self, primary: str = "", previous: list[str] | tuple[str, ...] = ()):
        self._primary = AESGCM(primary.encode()) if primary else None
        self._all = [AESGCM(k.encode()) for k in ([primary] if primary else []) + list(previous)]

    def __repr__(self) -> str:
        return f"KeyRing(keys={len(self._all)})"

    def encrypt(self, text: str) -> str:
        if not self._primary or not text:
            return text
        nonce = os.urandom(NONCE_SIZE)
        return base64.b64encode(nonce + self._primary.encrypt(nonce, text.encode(), None)).decode()

    def decrypt(self, stored: str) -> str:
        if not self._all or not stored:
            return stored
        try:
            raw = base64.b64decode(stored, validate=True)
        except (binascii.Error, ValueError):
            return stored
        if len(raw) < NONCE_SIZE + TAG_SIZE:
            return stored
        for key in self._all:
            try:
                return key.decrypt(raw[:NONCE_SIZE], raw[NONCE_SIZE:], None).decode()
            except (InvalidTag, UnicodeDecodeError):
                continue
        return stored
