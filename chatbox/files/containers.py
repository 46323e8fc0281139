"""A second look at the containers the sniffer allows: the magic number is only where a file starts.

A PNG must open with a well-formed IHDR chunk (its CRC checked), a JPEG with a real marker, an MPEG audio file
with a valid frame header followed by another frame where the first one ends; and no image may carry an HTML
document in its first bytes (a polyglot a careless viewer could render). Each check returns why it failed, or "".
"""

from __future__ import annotations

import re
import struct
import zlib

_MARKUP = re.compile(rb"<(?:!doctype|html|head|body|script|iframe|svg|object|embed|meta)[\s>/]", re.IGNORECASE)
# JPEG: after SOI comes an APPn, a quantisation or Huffman table, a frame header or a comment.
_JPEG_MARKERS = set(range(0xE0, 0xF0)) | {0xDB, 0xC4, 0xC0, 0xC1, 0xC2, 0xFE}

# MPEG audio frame headers (ISO 11172-3 / 13818-3): kbit/s by (version is MPEG-1, layer) and sample rates.
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def png_problem(head: bytes) -> str:
    if len(head) < 33 or head[12:16] != b"IHDR" or struct.unpack(">I", head[8:12])[0] != 13:
        return "the PNG does not start with an image header"
    if zlib.crc32(head[12:29]) != struct.unpack(">I", head[29:33])[0]:
        return "the PNG image header is damaged"
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    if not width or not height or depth not in (1, 2, 4, 8, 16) or colour not in (0, 2, 3, 4, 6):
        return "the PNG image header is not valid"
    return ""


def jpeg_problem(head: bytes) -> str:
    return "" if len(head) > 3 and head[3] in _JPEG_MARKERS else "the JPEG does not start with a valid marker"


def mpeg_frame_length(header: bytes) -> int:
    """The length in bytes of the MPEG audio frame starting with ``header`` (4 bytes), or 0 if it is not one."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return 0
    version, layer_bits = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate_index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 3, (header[2] >> 1) & 1
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return 0
    layer, mpeg1 = 4 - layer_bits, version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _SAMPLE_RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    return (144 if mpeg1 or layer == 2 else 72) * bitrate // rate + padding


def mpeg_problem(head: bytes) -> str:
    length = mpeg_frame_length(head[:4])
    if not length:
        return "the file does not start with a valid MPEG audio frame"
    if not mpeg_frame_length(head[length : length + 4]):
        return "the first MPEG audio frame is not followed by another"
    return ""


def markup_problem(head: bytes) -> str:
    return "the image carries an HTML document" if _MARKUP.search(head) else ""


def container_problem(mime: str, head: bytes) -> str:
    """Why ``head`` (the first bytes of a file typed ``mime`` by its magic number) is not really one, or ""."""
    checks = {"image/png": png_problem, "image/jpeg": jpeg_problem, "audio/mpeg": mpeg_problem}
    problem = checks[mime](head) if mime in checks else ""
    if not problem and mime.startswith("image/"):
        problem = markup_problem(head)
    return problem
