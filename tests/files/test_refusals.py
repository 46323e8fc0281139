"""Every refusal of POST {P}/upload through the real HTTP endpoint: status, code and the sentence the user sees;
and every allowed type, named from its bytes."""

import io
import tarfile
import zipfile

import pytest
from conftest import token

from chatbox.files.models import FileRecord

from .helpers import PNG, WEBM, multipart, post_raw

LIMIT = 50_000  # the servers here refuse files above 50 KB

MZ = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 200
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!DOCTYPE html>\n<html><body><p>hello</p></body></html>"
SCRIPT_TEXT = (
    "The file contains script code (a <script> tag, a javascript: link or an onerror/onload handler), "
    "which is not accepted"
)
TYPE_TEXT = (
    "This type of file is not allowed; allowed are images (JPEG, PNG, GIF, WebP), PDF, Word/Excel/PowerPoint, "
    "plain text, CSV, JSON, audio (MP3, WAV, WebM, Ogg, AAC, M4A), video (MP4, WebM, Ogg), zip, gzip and tar "
    "archives"
)


def file_part(name, data=b"hello", content_type="application/octet-stream"):
    return ("file", name, data, content_type)


# (id, parts, status, code, error text). Parts are sent as a multipart body exactly as written.
REFUSED = [
    (
        "no-file-field",
        [("session_id", None, b"abc", "")],
        400,
        "MISSING_FILE",
        "No file in the upload: send it in a multipart field named 'file'",
    ),
    (
        "wrong-field-name",
        [("upload", "a.png", PNG, "image/png")],
        400,
        "MISSING_FILE",
        "No file in the upload: send it in a multipart field named 'file'",
    ),
    (
        "two-files",
        [file_part("a.png", PNG), file_part("b.png", PNG)],
        400,
        "TOO_MANY_FILES",
        "Send one file per upload",
    ),
    ("empty-file", [file_part("empty.txt", b"")], 400, "EMPTY_FILE", "The file is empty"),
    ("no-name", [file_part("", PNG)], 400, "BAD_NAME", "The file has no name"),
    ("nul-in-name", [file_part("photo\x00.png", PNG)], 400, "BAD_NAME", "The file name contains a NUL character"),
    (
        "control-in-name",
        [file_part("photo\x07.png", PNG)],
        400,
        "BAD_NAME",
        "The file name contains a control character",
    ),
    ("dotdot-in-name", [file_part("..photo.png", PNG)], 400, "BAD_NAME", "The file name contains '..'"),
    ("traversal", [file_part("../../etc/passwd", b"root:x:0:0")], 400, "BAD_NAME", "The file name contains '..'"),
    (
        "slash-in-name",
        [file_part("pics/photo.png", PNG)],
        400,
        "BAD_NAME",
        "The file name contains a path separator ('/' or '\\')",
    ),
    (
        "backslash-in-name",
        [file_part("C:\\\\Users\\\\photo.png", PNG)],
        400,
        "BAD_NAME",
        "The file name contains a path separator ('/' or '\\')",
    ),
    ("long-name", [file_part("x" * 252 + ".png", PNG)], 400, "BAD_NAME", "The file name is longer than 255 bytes"),
    (
        "exe-name",
        [file_part("setup.exe", PNG)],
        415,
        "EXECUTABLE_NAME",
        "The file name has an executable extension (.exe); programs and scripts are not accepted",
    ),
    (
        "double-ext-exe-last",
        [file_part("invoice.pdf.exe", b"%PDF-1.4")],
        415,
        "EXECUTABLE_NAME",
        "The file name has an executable extension (.exe); programs and scripts are not accepted",
    ),
    (
        "double-ext-exe-inside",
        [file_part("photo.bat.png", PNG)],
        415,
        "EXECUTABLE_NAME",
        "The file name has an executable extension (.bat); programs and scripts are not accepted",
    ),
    (
        "js-name",
        [file_part("notes.js", b"alert(1)")],
        415,
        "EXECUTABLE_NAME",
        "The file name has an executable extension (.js); programs and scripts are not accepted",
    ),
    ("windows-exe", [file_part("photo.png", MZ)], 415, "EXECUTABLE", "Windows programs (.exe, .dll) are not accepted"),
    ("linux-elf", [file_part("photo.png", ELF)], 415, "EXECUTABLE", "Linux programs (ELF) are not accepted"),
    (
        "mac-macho",
        [file_part("photo.png", MACHO)],
        415,
        "EXECUTABLE",
        "macOS programs (Mach-O) and Java classes are not accepted",
    ),
    (
        "shebang",
        [file_part("notes.txt", b"#!/bin/sh\nrm -rf /\n")],
        415,
        "SCRIPT",
        "Scripts (files starting with #!) are not accepted",
    ),
    (
        "env-shebang",
        [file_part("tool.txt", b"#!/usr/bin/env python\nprint(1)\n")],
        415,
        "SCRIPT",
        "Scripts (files starting with #!) are not accepted",
    ),
    (
        "svg-name",
        [file_part("logo.svg", b"<svg></svg>")],
        415,
        "SVG_NOT_ALLOWED",
        "SVG images are not accepted (they can carry scripts)",
    ),
    (
        "svg-content",
        [file_part("logo.png", SVG, "image/png")],
        415,
        "SVG_NOT_ALLOWED",
        "SVG images are not accepted (they can carry scripts)",
    ),
    (
        "html-name",
        [file_part("page.html", b"hello")],
        415,
        "HTML_NOT_ALLOWED",
        "HTML documents are not accepted (they can run scripts)",
    ),
    (
        "html-content",
        [file_part("page.txt", HTML, "text/plain")],
        415,
        "HTML_NOT_ALLOWED",
        "HTML documents are not accepted (they can run scripts)",
    ),
    (
        "script-in-text",
        [file_part("notes.txt", b"hello\n<script>alert(1)</script>\n")],
        415,
        "SCRIPT_IN_CONTENT",
        SCRIPT_TEXT,
    ),
    (
        "script-deep-in-text",
        [file_part("notes.txt", b"a" * 40_000 + b'<img src=x oNeRRoR="x()">')],
        415,
        "SCRIPT_IN_CONTENT",
        SCRIPT_TEXT,
    ),
    (
        "javascript-link",
        [file_part("links.csv", b"name,url\nx,javascript:alert(1)\n")],
        415,
        "SCRIPT_IN_CONTENT",
        SCRIPT_TEXT,
    ),
    ("unknown-binary", [file_part("data.dat", b"\x00\x01\x02\x03" * 100)], 415, "TYPE_NOT_ALLOWED", TYPE_TEXT),
    (
        "ole-not-office",
        [file_part("installer.msg", OLE)],
        415,
        "TYPE_NOT_ALLOWED",
        "This Office-style container is only accepted as a .doc, .xls or .ppt file",
    ),
    (
        "text-then-binary",
        [file_part("log.txt", b"hello " * 3000 + b"\xff\xfe\x00\x01")],
        415,
        "TYPE_NOT_ALLOWED",
        "The file starts as text but contains binary data; this type of file is not allowed",
    ),
    (
        "too-large",
        [file_part("big.png", PNG + b"\x00" * LIMIT)],
        413,
        "TOO_LARGE",
        "The file is larger than the upload limit of 50 KB",
    ),
]


@pytest.fixture
def server(make_server, tmp_path):
    server = make_server(upload_dir=str(tmp_path / "uploads"), upload_max_size=LIMIT)
    server.upload_dir = tmp_path / "uploads"
    return server


def assert_nothing_kept(server):
    assert FileRecord.objects.count() == 0
    leftovers = [p for p in server.upload_dir.rglob("*") if p.is_file()] if server.upload_dir.exists() else []
    assert leftovers == []


@pytest.mark.parametrize("parts,status,code,error", [row[1:] for row in REFUSED], ids=[row[0] for row in REFUSED])
def test_refused(server, parts, status, code, error):
    body, content_type = multipart(parts)
    response = post_raw(server, body, content_type)
    assert (response.status_code, response.json()) == (status, {"error": error, "code": code})
    assert_nothing_kept(server)


def _chunked(body: bytes, size: int = 8192):
    for start in range(0, len(body), size):
        yield body[start : start + size]


# Refusals that need a request shape of their own: (id, build(server) -> response kwargs, status, code, error)
SHAPES = [
    ("no-token", lambda s: {"auth": ""}, 401, "UNAUTHORIZED", "Invalid authorization header"),
    (
        "bad-token",
        lambda s: {"auth": "Bearer not.a.token"},
        401,
        "INVALID_TOKEN",
        "Invalid or expired authentication token",
    ),
    (
        "other-secret",
        lambda s: {"auth": "Bearer " + token(secret="x" * 48)},
        401,
        "INVALID_TOKEN",
        "Invalid or expired authentication token",
    ),
    (
        "not-multipart",
        lambda s: {"body": b'{"file": "x"}', "content_type": "application/json"},
        400,
        "NOT_MULTIPART",
        "Send the file as multipart/form-data in a field named 'file'",
    ),
    (
        "no-boundary",
        lambda s: {"content_type": "multipart/form-data"},
        400,
        "NOT_MULTIPART",
        "Send the file as multipart/form-data in a field named 'file'",
    ),
    (
        "cut-short",
        lambda s: {"body": multipart([file_part("a.png", PNG)])[0][:-40]},
        400,
        "MALFORMED",
        "The upload is not valid multipart/form-data (the body was cut short or badly formed)",
    ),
    # Chunked: no Content-Length, so the size is counted while reading and reading stops past the limit.
    (
        "too-large-chunked",
        lambda s: {"body": _chunked(multipart([file_part("big.png", PNG + b"\x00" * 3 * LIMIT)])[0])},
        413,
        "TOO_LARGE",
        "The file is larger than the upload limit of 50 KB",
    ),
    (
        "someone-elses-session",
        lambda s: {
            "body": multipart(
                [
                    ("session_id", None, s.services.store.create("mallory", "demo").id.encode(), ""),
                    file_part("a.png", PNG),
                ]
            )[0]
        },
        404,
        "NOT_FOUND",
        "Session not found",
    ),
    (
        "unknown-session",
        lambda s: {"body": multipart([file_part("a.png", PNG), ("session_id", None, b"nope", "")])[0]},
        404,
        "NOT_FOUND",
        "Session not found",
    ),
]


@pytest.mark.parametrize("build,status,code,error", [row[1:] for row in SHAPES], ids=[row[0] for row in SHAPES])
def test_refused_request(server, build, status, code, error):
    shape = build(server)
    default_body, default_type = multipart([file_part("a.png", PNG)])
    response = post_raw(
        server, shape.get("body", default_body), shape.get("content_type", default_type), auth=shape.get("auth")
    )
    assert (response.status_code, response.json()) == (status, {"error": error, "code": code})
    assert_nothing_kept(server)


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


def _tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("a.txt")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    return buffer.getvalue()


FTYP = b"\x00\x00\x00\x20ftyp"
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417 bytes
OOXML = "application/vnd.openxmlformats-officedocument."
# (name, bytes, declared type, the type we answer)
ACCEPTED = [
    ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 100, "image/jpeg", "image/jpeg"),
    ("photo.png", PNG, "image/png", "image/png"),
    ("anim.gif", b"GIF89a" + b"\x00" * 100, "image/gif", "image/gif"),
    ("pic.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 100, "image/webp", "image/webp"),
    ("report.pdf", b"%PDF-1.7\n" + b"\x00" * 100, "application/pdf", "application/pdf"),
    ("letter.docx", _zip("[Content_Types].xml", "word/document.xml"), "", OOXML + "wordprocessingml.document"),
    ("sheet.xlsx", _zip("[Content_Types].xml", "xl/workbook.xml"), "", OOXML + "spreadsheetml.sheet"),
    ("deck.pptx", _zip("[Content_Types].xml", "ppt/presentation.xml"), "", OOXML + "presentationml.presentation"),
    ("old.doc", OLE, "", "application/msword"),
    ("old.xls", OLE, "", "application/vnd.ms-excel"),
    ("old.ppt", OLE, "", "application/vnd.ms-powerpoint"),
    ("notes.txt", "Grüße, plain text\n".encode() * 10, "text/plain", "text/plain"),
    ("table.csv", b"a,b\n1,2\n", "text/csv", "text/csv"),
    ("data.json", b'{"a": [1, 2]}', "application/json", "application/json"),
    ("song.mp3", b"ID3\x04\x00" + b"\x00" * 100, "audio/mpeg", "audio/mpeg"),
    ("raw.mp3", MP3_FRAME * 2, "audio/mpeg", "audio/mpeg"),  # the sniffer wants a second frame where one ends
    ("note.wav", b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 100, "audio/wav", "audio/wav"),
    ("voice.webm", WEBM, "audio/webm", "audio/webm"),
    ("clip.webm", WEBM, "video/webm", "video/webm"),
    ("voice.ogg", b"OggS\x00\x02" + b"\x00" * 100, "audio/ogg", "audio/ogg"),
    ("clip.ogv", b"OggS\x00\x02" + b"\x00" * 100, "video/ogg", "video/ogg"),
    ("voice.aac", b"\xff\xf1\x50\x80" + b"\x00" * 100, "audio/aac", "audio/aac"),
    ("voice.m4a", FTYP + b"M4A \x00\x00\x00\x00" + b"\x00" * 100, "audio/x-m4a", "audio/mp4"),
    ("movie.mp4", FTYP + b"isom\x00\x00\x02\x00" + b"\x00" * 100, "video/mp4", "video/mp4"),
    ("files.zip", _zip("a.txt"), "application/zip", "application/zip"),
    ("files.tar.gz", b"\x1f\x8b\x08\x00" + b"\x00" * 100, "application/gzip", "application/gzip"),
    ("files.tar", _tar(), "application/x-tar", "application/x-tar"),
]


@pytest.mark.parametrize("name,data,declared,mime", ACCEPTED, ids=[row[0] for row in ACCEPTED])
def test_accepted_types(server, name, data, declared, mime):
    body, content_type = multipart([file_part(name, data, declared)])
    response = post_raw(server, body, content_type)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["name"], answer["size"], answer["mime"]) == (name, len(data), mime)
    assert answer["file_url"] == f"/chat/files/{answer['file_id']}"
