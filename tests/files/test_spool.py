"""The upload spool: UPLOAD_SPOOL_DIR holds uploads in flight, UPLOAD_SPOOL_SIZE caps them together, and an upload
that cannot fit is refused before its body is read (a full emptyDir would get the pod evicted)."""

from __future__ import annotations

import json
import socket
import uuid

import gevent
import pytest
from conftest import token
from ops.conftest import wait_for

from .conftest import S3_KEYS
from .helpers import PNG, s3_client, upload

BOUNDARY = "spooltestboundary"


def body_of(size: int) -> tuple[bytes, bytes, bytes]:
    """A multipart body carrying a PNG of ``size`` bytes: (head, file bytes, tail)."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    return head, PNG + b"\0" * (size - len(PNG)), f"\r\n--{BOUNDARY}--\r\n".encode()


class RawUpload:
    """An upload over a raw socket, so a test can stop half-way (or before the body) and read the answer."""

    def __init__(self, server, size: int):
        self.head, self.data, self.tail = body_of(size)
        length = len(self.head) + len(self.data) + len(self.tail)
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        self.sock.sendall(
            (
                f"POST {server.prefix}/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token('alice')}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
        )

    def send(self, part: bytes) -> None:
        self.sock.sendall(part)

    def answer(self, timeout: float = 10) -> tuple[int, dict, dict]:
        """The response, read by its Content-Length (the server may keep reading a refused body, unstored)."""
        self.sock.settimeout(timeout)
        raw = b""
        while b"\r\n\r\n" not in raw:
            raw += self.sock.recv(65536)
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        while len(body) < int(headers["Content-Length"]):
            body += self.sock.recv(65536)
        self.sock.close()
        return int(lines[0].split()[1]), headers, json.loads(body)


@pytest.fixture
def spool_server(make_server, moto_endpoint, tmp_path):
    """An app on S3 (moto) whose uploads wait in ``server.spool`` (1 MB at most)."""
    bucket = f"spool-{uuid.uuid4().hex[:12]}"
    s3_client(moto_endpoint).create_bucket(Bucket=bucket)
    server = make_server(
        s3_bucket=bucket,
        s3_endpoint=moto_endpoint,
        upload_spool_dir=str(tmp_path / "spool"),
        upload_spool_size=1_000_000,
        upload_max_size=10_000_000,
        **S3_KEYS,
    )
    server.spool, server.bucket, server.s3_endpoint = tmp_path / "spool", bucket, moto_endpoint
    return server


def test_an_upload_that_cannot_fit_is_refused_before_its_body_is_read(spool_server):
    raw = RawUpload(spool_server, 2_000_000)  # within UPLOAD_MAX_SIZE, over the spool; no body byte sent
    status, headers, body = raw.answer(timeout=5)
    assert status == 507 and headers["Retry-After"] == "30"
    assert body == {
        "code": "SPOOL_FULL",
        "error": "The server has no room for this upload (2.0 MB) right now; please try again shortly",
    }
    assert list(spool_server.spool.glob("*")) == []


def test_uploads_in_flight_share_the_spool(spool_server):
    first = RawUpload(spool_server, 600_000)
    first.send(first.head + first.data[:100_000])
    # The half-received upload waits in UPLOAD_SPOOL_DIR (not /tmp), holding its whole size.
    wait_for(lambda: list(spool_server.spool.glob("upload-*")), 5, "the spool file")
    refused = upload(spool_server, PNG + b"\0" * 600_000, name="second.png")
    assert refused.status_code == 507 and refused.json()["code"] == "SPOOL_FULL"
    small = upload(spool_server, PNG + b"\0" * 300_000, name="small.png")
    assert small.status_code == 200  # 600 KB promised + 300 KB fits in 1 MB

    first.send(first.data[100_000:] + first.tail)
    status, _, body = first.answer()
    assert status == 200 and body["size"] == 600_000
    gevent.sleep(0)
    assert list(spool_server.spool.iterdir()) == []  # sent on to S3, the temp file is gone
    again = upload(spool_server, PNG + b"\0" * 600_000, name="second.png")
    assert again.status_code == 200  # the reservations were given back
    objects = s3_client(spool_server.s3_endpoint).list_objects_v2(Bucket=spool_server.bucket)["Contents"]
    assert sorted(o["Size"] for o in objects) == [300_000 + len(PNG), 600_000, 600_000 + len(PNG)]


def test_a_refused_or_broken_upload_gives_its_reservation_back(spool_server):
    for _ in range(3):  # each would hold 900 KB of the 1 MB if its reservation leaked
        broken = RawUpload(spool_server, 900_000)
        broken.send(b"--not-the-boundary\r\n\r\n" + b"x" * 1000 + b"\r\n--not-the-boundary--\r\n")
        broken.sock.shutdown(socket.SHUT_WR)
        assert broken.answer()[0] == 400
    assert upload(spool_server, PNG + b"\0" * 900_000).status_code == 200


def test_free_disk_space_counts_too(make_server, tmp_path, monkeypatch):
    server = make_server(upload_dir=str(tmp_path / "uploads"), upload_spool_dir=str(tmp_path / "spool"))
    monkeypatch.setattr("chatbox.files.spool.disk_free", lambda folder: 500_000)
    assert upload(server, PNG + b"\0" * 600_000).status_code == 507
    assert upload(server, PNG + b"\0" * 100_000).status_code == 200
