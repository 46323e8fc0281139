"""What an upload is, decided from its bytes (never from what the client claims), and why it is refused.

No I/O here: ``check_name`` judges a file name; an ``Inspector`` is fed the bytes as they arrive and names the MIME
type from the allow-list, or raises ``Refused`` with a status, a code and a sentence saying what was wrong.
The allow-list and the refusals follow the Go service's upload rules (ORIGINAL.md section 7.4), made stricter
where they were loose: SVG and HTML are refused outright (they can run script in the browser), and OLE containers
are accepted only as Word, Excel or PowerPoint files (an .msi installer is an OLE container too).
"""

from __future__ import annotations

import codecs
import re

from chatbox.errors import ApiError
from chatbox.files.containers import container_problem

HEAD_SIZE = 8192  # bytes looked at to decide the type

EXECUTABLE_EXTENSIONS = {
    "exe",
    "bat",
    "cmd",
    "com",
    "scr",
    "vbs",
    "vbe",
    "js",
    "jse",
    "jar",
    "sh",
    "bin",
    "app",
    "msi",
    "ps1",
    "hta",
    "wsf",
    "cpl",
    "dll",
    "pif",
    "lnk",
}
HTML_EXTENSIONS = {"html", "htm", "xhtml", "xht", "shtml", "mht", "mhtml"}
AUDIO_EXTENSIONS = {"mp3", "wav", "weba", "ogg", "oga", "opus", "aac", "m4a"}

OOXML = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OLE = {"doc": "application/msword", "xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint"}

ALLOWED_KINDS = (
    "images (JPEG, PNG, GIF, WebP), PDF, Word/Excel/PowerPoint, plain text, CSV, JSON, "
    "audio (MP3, WAV, WebM, Ogg, AAC, M4A), video (MP4, WebM, Ogg), zip, gzip and tar archives"
)

_MACHO = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_SCRIPT_MARKERS = re.compile(rb"<script|javascript:|vbscript:|\bon(?:error|load)\s*=", re.IGNORECASE)
_HTML_START = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<meta", b"<style")
_TEXT_CONTROLS = set(range(32)) - {9, 10, 12, 13}


class Refused(ApiError):
    """An upload we will not keep; answered as ``{"error": message, "code": code}`` with ``status``."""


def _refuse(status: int, code: str, message: str) -> Refused:
    return Refused(status, code, message)


def human_size(size: int) -> str:
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def extensions(name: str) -> list[str]:
    """The dot-separated parts after the first, lower-cased: ``a.tar.gz`` → ``["tar", "gz"]``."""
    return [part.lower() for part in name.split(".")[1:]]


def check_name(name: str) -> str:
    """Return the name if it is safe to keep and show. Raises Refused (400 bad name, 415 executable or markup)."""
    if not name or not name.strip():
        raise _refuse(400, "BAD_NAME", "The file has no name")
    if "\x00" in name:
        raise _refuse(400, "BAD_NAME", "The file name contains a NUL character")
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise _refuse(400, "BAD_NAME", "The file name contains a control character")
    if ".." in name:
        raise _refuse(400, "BAD_NAME", "The file name contains '..'")
    if "/" in name or "\\" in name:
        raise _refuse(400, "BAD_NAME", "The file name contains a path separator ('/' or '\\')")
    if len(name.encode()) > 255:
        raise _refuse(400, "BAD_NAME", "The file name is longer than 255 bytes")
    parts = extensions(name)
    risky = [part for part in parts if part in EXECUTABLE_EXTENSIONS]
    if risky:
        raise _refuse(
            415,
            "EXECUTABLE_NAME",
            f"The file name has an executable extension (.{risky[0]}); programs and scripts are not accepted",
        )
    last = parts[-1] if parts else ""
    if last in ("svg", "svgz"):
        raise _refuse(415, "SVG_NOT_ALLOWED", "SVG images are not accepted (they can carry scripts)")
    if last in HTML_EXTENSIONS:
        raise _refuse(415, "HTML_NOT_ALLOWED", "HTML documents are not accepted (they can run scripts)")
    return name


def _binary_type(head: bytes, ext: str, audio: bool) -> str | None:
    """The MIME type of a known binary format, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return OOXML.get(ext, "application/zip")
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        if ext not in OLE:
            raise _refuse(
                415, "TYPE_NOT_ALLOWED", "This Office-style container is only accepted as a .doc, .xls or .ppt file"
            )
        return OLE[ext]
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head[257:262] == b"ustar":
        return "application/x-tar"
    return _media_type(head, audio)


def _media_type(head: bytes, audio: bool) -> str | None:
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF0 == 0xF0 and head[1] & 0x06 == 0:
        return "audio/aac"  # ADTS: MPEG frame sync with layer bits 00
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0:
        return "audio/mpeg"
    if head.startswith(b"OggS"):
        return "audio/ogg" if audio else "video/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" not in head[:64]:
            raise _refuse(415, "TYPE_NOT_ALLOWED", "Matroska video is not accepted; send WebM or MP4")
        return "audio/webm" if audio else "video/webm"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"qt  "):
            raise _refuse(415, "TYPE_NOT_ALLOWED", f"This type of file is not allowed; allowed are {ALLOWED_KINDS}")
        return "audio/mp4" if audio or brand == b"M4A " else "video/mp4"
    return None


def _refuse_executable(head: bytes) -> None:
    if head.startswith(b"MZ"):
        raise _refuse(415, "EXECUTABLE", "Windows programs (.exe, .dll) are not accepted")
    if head.startswith(b"\x7fELF"):
        raise _refuse(415, "EXECUTABLE", "Linux programs (ELF) are not accepted")
    if head.startswith(_MACHO):
        raise _refuse(415, "EXECUTABLE", "macOS programs (Mach-O) and Java classes are not accepted")
    if head.startswith(b"#!"):
        raise _refuse(415, "SCRIPT", "Scripts (files starting with #!) are not accepted")


def _text_type(head: bytes, ext: str, complete: bool) -> str | None:
    body = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    try:
        text = body.decode("utf-8") if complete else codecs.getincrementaldecoder("utf-8")().decode(body)
    except UnicodeDecodeError:
        return None
    if any(ord(char) in _TEXT_CONTROLS for char in text[:HEAD_SIZE]):
        return None
    start = text.lstrip().lower().encode()
    if start.startswith(b"<svg") or (start.startswith((b"<?xml", b"<!doctype svg")) and b"<svg" in start):
        raise _refuse(415, "SVG_NOT_ALLOWED", "SVG images are not accepted (they can carry scripts)")
    if start.startswith(_HTML_START):
        raise _refuse(415, "HTML_NOT_ALLOWED", "HTML documents are not accepted (they can run scripts)")
    if ext == "csv":
        return "text/csv"
    if ext == "json":
        return "application/json"
    return "text/plain"


class Inspector:
    """Fed an upload's bytes in order; ``finish`` names its type. Raises Refused as soon as something is wrong."""

    def __init__(self, name: str, declared: str = ""):
        parts = extensions(name)
        self.ext = parts[-1] if parts else ""
        self.audio = declared.lower().startswith("audio/") or self.ext in AUDIO_EXTENSIONS
        self.mime = ""
        self._head = bytearray()
        self._text = False
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._tail = b""

    def feed(self, data: bytes) -> None:
        if not self.mime:
            self._head.extend(data)
            if len(self._head) < HEAD_SIZE:
                return
            self._decide(complete=False)
            data = bytes(self._head)
        if self._text:
            self._scan(data)

    def finish(self) -> str:
        """The MIME type of everything fed. Raises Refused (empty, not allowed, or bad content at the end)."""
        if not self.mime:
            if not self._head:
                raise _refuse(400, "EMPTY_FILE", "The file is empty")
            self._decide(complete=True)
            if self._text:
                self._scan(bytes(self._head))
        if self._text:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise self._binary_in_text() from None
        return self.mime

    def _decide(self, complete: bool) -> None:
        head = bytes(self._head[:HEAD_SIZE])
        _refuse_executable(head)
        mime = _binary_type(head, self.ext, self.audio)
        problem = container_problem(mime, head) if mime and not head.startswith(b"ID3") else ""
        if problem:
            raise _refuse(415, "CONTENT_MISMATCH", f"The file is not what it starts as: {problem}")
        if mime is None:
            mime = _text_type(head, self.ext, complete)
            self._text = mime is not None
        if mime is None:
            raise _refuse(415, "TYPE_NOT_ALLOWED", f"This type of file is not allowed; allowed are {ALLOWED_KINDS}")
        self.mime = mime

    def _scan(self, data: bytes) -> None:
        try:
            text = self._decoder.decode(data)
        except UnicodeDecodeError:
            raise self._binary_in_text() from None
        if "\x00" in text:
            raise self._binary_in_text()
        # Keep a short tail so a marker split across two reads is still found.
        window = self._tail + data
        if _SCRIPT_MARKERS.search(window):
            raise _refuse(
                415,
                "SCRIPT_IN_CONTENT",
                "The file contains script code (a <script> tag, a javascript: "
                "link or an onerror/onload handler), which is not accepted",
            )
        self._tail = window[-32:]

    @staticmethod
    def _binary_in_text() -> Refused:
        return _refuse(
            415,
            "TYPE_NOT_ALLOWED",
            "The file starts as text but contains binary data; this type of file is not allowed",
        )
