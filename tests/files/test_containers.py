"""The sniffer looks past the magic number (issue 12, item 11): a PNG header followed by HTML, a UTF-16 page
starting FF FE, or FF FB followed by anything are not images or MP3s; real ones still are. Through the upload
route, as a browser sends them."""

import struct
import zlib

import pytest

from .helpers import PNG, multipart, post_raw


def file_part(name, data, declared="application/octet-stream"):
    return ("file", name, data, declared)


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REAL_PNG = (
    PNG_SIGNATURE
    + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(b"\x00" * 5))
    + chunk(b"IEND", b"")
)
PAGE = b"<html><body><script>alert(document.cookie)</script></body></html>"
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417 bytes
MP2_FRAME = b"\xff\xfd\x40\x00" + b"\x00" * 204  # MPEG-1 layer II, 64 kbit/s, 44.1 kHz: 208 bytes
PREFIX = "The file is not what it starts as: "

REFUSED = [
    ("png-signature-then-html", "photo.png", PNG_SIGNATURE + PAGE, "the PNG does not start with an image header"),
    ("png-header-then-html", "photo.png", REAL_PNG[:33] + PAGE, "the image carries an HTML document"),
    (
        "png-bad-crc",
        "photo.png",
        REAL_PNG[:29] + b"\x00\x00\x00\x00" + REAL_PNG[33:],
        "the PNG image header is damaged",
    ),
    (
        "png-zero-width",
        "photo.png",
        PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 1, 8, 6, 0, 0, 0)),
        "the PNG image header is not valid",
    ),
    ("jpeg-then-html", "photo.jpg", b"\xff\xd8\xff" + PAGE, "the JPEG does not start with a valid marker"),
    ("gif-then-html", "anim.gif", b"GIF89a\x01\x00\x01\x00" + PAGE, "the image carries an HTML document"),
    (
        "utf16-page-as-mp3",
        "song.mp3",
        b"\xff\xfe" + PAGE.decode().encode("utf-16-le"),
        "the file does not start with a valid MPEG audio frame",
    ),
    (
        "fffb-then-html",
        "song.mp3",
        b"\xff\xfb\x90\x64" + PAGE * 10,
        "the first MPEG audio frame is not followed by another",
    ),
    ("one-frame-only", "song.mp3", MP3_FRAME, "the first MPEG audio frame is not followed by another"),
]


@pytest.mark.parametrize("name,data,why", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_a_disguised_file_is_refused(server, name, data, why):
    response = post_raw(server, *multipart([file_part(name, data)]))
    assert response.status_code == 415
    assert response.json() == {"code": "CONTENT_MISMATCH", "error": PREFIX + why}


ACCEPTED = [
    ("real.png", REAL_PNG, "image/png"),
    ("helper.png", PNG, "image/png"),
    ("exif.jpg", b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00" + b"\x00" * 100, "image/jpeg"),
    ("plain.jpg", b"\xff\xd8\xff\xdb\x00\x43" + b"\x00" * 100, "image/jpeg"),
    ("three.mp3", MP3_FRAME * 3, "audio/mpeg"),
    ("layer2.mp3", MP2_FRAME * 2, "audio/mpeg"),
]


@pytest.mark.parametrize("name,data,mime", ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_real_files_still_pass(server, name, data, mime):
    response = post_raw(server, *multipart([file_part(name, data)]))
    assert response.status_code == 200, response.text
    assert response.json()["mime"] == mime
