"""Helpers for the files tests: the upload call, sample bytes, an S3 client, a fake OpenAI audio endpoint."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import requests
from botocore.config import Config
from conftest import token


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def upload(
    server,
    data: bytes,
    name: str = "photo.png",
    user: str = "alice",
    mime: str = "application/octet-stream",
    session_id: str | None = None,
    auth: str | None = None,
) -> requests.Response:
    """POST one file the way a browser's FormData does."""
    headers = {"Authorization": auth if auth is not None else f"Bearer {token(user)}"}
    form = {"session_id": session_id} if session_id else None
    return requests.post(
        server.url + "/upload", files={"file": (name, data, mime)}, data=form, headers=headers, timeout=60
    )


# A real 1x1 PNG image header (the sniffer checks its CRC), then filler.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    + bytes(range(256)) * 4
)
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + bytes(range(256)) * 8


class FakeAudio:
    """An OpenAI-compatible audio API: ``/v1/audio/transcriptions`` answers ``{"text": self.text}``,
    ``/v1/audio/speech`` answers ``self.speech`` (MP3 bytes). Records every request. When ``gate`` is an Event,
    transcriptions wait for it (up to 30 s), so a test can act while one is in progress."""

    def __init__(self, text: str = "", status: int = 200):
        self.text, self.status = text, status
        self.gate: threading.Event | None = None
        self.speech = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fake.requests.append(
                    {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                )
                if self.path == "/v1/audio/speech":
                    data, kind = fake.speech, "audio/mpeg"
                elif self.path == "/v1/audio/transcriptions":
                    if fake.gate is not None:
                        fake.gate.wait(30)
                    payload = {"text": fake.text} if fake.status == 200 else {"error": {"message": "boom"}}
                    data, kind = json.dumps(payload).encode(), "application/json"
                else:
                    self.send_error(404)
                    return
                self.send_response(fake.status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def multipart(parts: list[tuple[str, str | None, bytes, str]], boundary: str = "b0undaryXyZ") -> tuple[bytes, str]:
    """Build a multipart body byte for byte: parts are (field name, filename or None, data, content type).

    A raw builder, not requests', so tests can send names requests would clean up (NUL, backslashes …).
    """
    body = b""
    for name, filename, data, content_type in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type:
            body += f"Content-Type: {content_type}\r\n".encode()
        body += b"\r\n" + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def post_raw(server, body, content_type: str, user: str = "alice", auth: str | None = None) -> requests.Response:
    """POST a ready-made body (bytes, or an iterator of bytes for chunked transfer) to the upload endpoint."""
    headers = {"Content-Type": content_type}
    headers["Authorization"] = auth if auth is not None else f"Bearer {token(user)}"
    return requests.post(server.url + "/upload", data=body, headers=headers, timeout=60)
