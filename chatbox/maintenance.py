"""Operator maintenance of the ``sessions`` collection: re-encrypt under the primary key, and check every document.

Both read the raw documents (Go-written ones included) with pymongo. Encrypted fields: message ``content`` and
``transcript``, the session name ``nm`` (the whole string) and each string value of message ``meta`` (keys stay
plain). Re-encryption is safe while the service runs: each session is one conditional write whose filter holds
every old value it replaces, by message position, so a concurrent change to one of them makes the write miss (it is
retried from a fresh read) and a message appended meanwhile is never touched. It is resumable because it is
idempotent: a value the primary key already opens is left alone, so a second run writes nothing.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from chatbox.crypto import NONCE_SIZE, TAG_SIZE, KeyRing
from chatbox.models import Session

MESSAGE_FIELDS = ("content", "transcript")
PROJECTION = {"nm": 1, **{f"msgs.{name}": 1 for name in (*MESSAGE_FIELDS, "meta")}}
ATTEMPTS = 3  # fresh reads of one session whose values changed under us before it is left for the next run


def looks_encrypted(value: str) -> bool:
    """Whether ``value`` has the stored ciphertext's shape (padded base64 of nonce, ciphertext, tag)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) >= NONCE_SIZE + TAG_SIZE


class Unreadable(Exception):
    """A value shaped like ciphertext that no key of the ring opens: left as it is, never encrypted again."""


class Recipher:
    """What one stored value becomes: None when the primary key already opens it (or it is empty)."""

    def __init__(self, ring: KeyRing, primary_key: str):
        self.ring = ring
        self.primary = KeyRing(primary_key)

    def value(self, stored) -> str | None:
        if not isinstance(stored, str) or not stored or self.primary.decrypt(stored) != stored:
            return None
        plain = self.ring.decrypt(stored)
        if plain == stored and looks_encrypted(stored):
            raise Unreadable
        return self.primary.encrypt(plain)


@dataclass
class Report:
    sessions: int = 0
    rewritten: int = 0  # sessions written
    values: int = 0  # values re-encrypted
    problems: list[str] = field(default_factory=list)  # "session <id>: <what>"


def encrypted_values(doc: dict) -> Iterator[tuple[str, str]]:
    """(path, stored value) of every encrypted field of a raw session document."""
    yield "nm", doc.get("nm")
    for index, message in enumerate(doc.get("msgs") or []):
        if not isinstance(message, dict):
            continue
        for name in MESSAGE_FIELDS:
            yield f"msgs.{index}.{name}", message.get(name)
        meta = message.get("meta")
        if isinstance(meta, dict):
            for key, value in meta.items():
                yield f"msgs.{index}.meta[{key!r}]", value


class SessionRewrite:
    """The conditional write for one raw session document: ``where`` (its id and every old value replaced) and
    ``changes`` (the new values). Unreadable values go to ``problems`` and stay as they are."""

    def __init__(self, doc: dict, recipher: Recipher):
        self.sid, self.recipher = doc["_id"], recipher
        self.where: dict = {"_id": self.sid}
        self.changes: dict = {}
        self.values = 0
        self.problems: list[str] = []
        self._field("nm", doc.get("nm"))
        for index, message in enumerate(doc.get("msgs") or []):
            if isinstance(message, dict):
                self._message(index, message)

    def _new(self, path: str, stored) -> str | None:
        try:
            new = self.recipher.value(stored)
        except Unreadable:
            self.problems.append(f"session {self.sid}: {path} does not decrypt with any key")
            return None
        self.values += new is not None
        return new

    def _field(self, path: str, stored) -> None:
        new = self._new(path, stored)
        if new is not None:
            self.where[path], self.changes[path] = stored, new

    def _message(self, index: int, message: dict) -> None:
        for name in MESSAGE_FIELDS:
            self._field(f"msgs.{index}.{name}", message.get(name))
        meta = message.get("meta")
        if not isinstance(meta, dict):
            return
        # Replaced whole, with the whole old meta in the filter: its keys may hold dots, which a path cannot.
        fresh = {key: self._new(f"msgs.{index}.meta[{key!r}]", value) for key, value in meta.items()}
        if any(value is not None for value in fresh.values()):
            self.where[f"msgs.{index}.meta"] = meta
            self.changes[f"msgs.{index}.meta"] = {key: meta[key] if new is None else new for key, new in fresh.items()}


def reencrypt(recipher: Recipher, progress: Callable[[Report], None] = lambda report: None) -> Report:
    """Re-encrypt every encrypted value of every session under the primary key (see the module docstring)."""
    collection = Session._get_collection()
    report = Report()
    for doc in collection.find({}, PROJECTION).sort("_id", 1):
        report.sessions += 1
        rewrite = rewrite_session(collection, doc, recipher)
        report.problems += rewrite.problems
        if rewrite.changes:
            report.rewritten += 1
            report.values += rewrite.values
        if report.sessions % 100 == 0:
            progress(report)
    return report


def rewrite_session(collection, doc: dict, recipher: Recipher) -> SessionRewrite:
    """Apply one session's rewrite, reading it again (up to ATTEMPTS times) while its values change under us."""
    for _attempt in range(ATTEMPTS):
        rewrite = SessionRewrite(doc, recipher)
        if not rewrite.changes or collection.update_one(rewrite.where, {"$set": rewrite.changes}).matched_count:
            return rewrite
        # One of these values changed since we read it (a transcript stored, another run): read the session again.
        doc = collection.find_one({"_id": doc["_id"]}, PROJECTION) or {"_id": doc["_id"]}
    rewrite.problems.append(f"session {doc['_id']}: changed during {ATTEMPTS} attempts; run again to finish it")
    rewrite.changes = {}
    return rewrite


def check(ring: KeyRing, progress: Callable[[Report], None] = lambda report: None) -> Report:
    """Read every session document and report those that do not validate or hold values no key opens."""
    report = Report()
    for doc in Session._get_collection().find({}).sort("_id", 1):
        report.sessions += 1
        report.problems += document_problems(doc, ring)
        if report.sessions % 100 == 0:
            progress(report)
    return report


def document_problems(doc: dict, ring: KeyRing) -> list[str]:
    """What is wrong with one raw session document: its schema (as the service reads it), then its ciphertexts."""
    sid = doc.get("_id")
    problems = []
    try:
        Session._from_son(doc).validate()
    except Exception as exc:  # a document that cannot even be loaded is reported the same way as an invalid one
        problems.append(f"session {sid}: does not validate: {exc}")
    for path, stored in encrypted_values(doc):
        if stored is None:
            continue
        if not isinstance(stored, str):
            if ".meta[" not in path:  # meta may hold numbers and flags; the encrypted fields are strings
                problems.append(f"session {sid}: {path} is not a string")
            continue
        if stored and looks_encrypted(stored) and ring.decrypt(stored) == stored:
            problems.append(f"session {sid}: {path} does not decrypt with any key")
    return problems
