"""Fixtures for files: apps on local disk or on a real S3 API (moto_server), an HTTP upload helper, and a fake
OpenAI audio endpoint."""

import shutil
import socket
import subprocess
import time
import uuid

import pytest
from conftest import free_port

from chatbox.files.models import FileRecord

from .helpers import FakeAudio, s3_client


@pytest.fixture(autouse=True)
def clean_files():
    yield
    FileRecord.objects.delete()


@pytest.fixture
def local_server(make_server, tmp_path):
    """An app storing uploads under a temp folder (``server.upload_dir``)."""
    server = make_server(upload_dir=str(tmp_path / "uploads"))
    server.upload_dir = tmp_path / "uploads"
    return server


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto_server did not start listening")


@pytest.fixture(scope="session")
def moto_endpoint():
    """A real S3 HTTP API: ``moto_server`` in a subprocess on a free port, for the whole run."""
    binary = shutil.which("moto_server")
    if binary is None:
        raise RuntimeError("moto_server is not installed: pip install -r requirements-dev.txt")
    port = free_port()
    process = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


S3_KEYS = {"s3_access_key_id": "testing", "s3_secret_access_key": "testing", "s3_region": "us-east-1"}


@pytest.fixture
def s3_server(make_server, moto_endpoint):
    """An app storing uploads in a fresh bucket of the moto S3 server (``server.bucket``, ``server.s3``)."""
    bucket = f"chat-files-{uuid.uuid4().hex[:12]}"
    client = s3_client(moto_endpoint)
    client.create_bucket(Bucket=bucket)
    server = make_server(s3_bucket=bucket, s3_endpoint=moto_endpoint, s3_sse="AES256", **S3_KEYS)
    server.bucket, server.s3 = bucket, client
    return server


@pytest.fixture
def fake_audio():
    fake = FakeAudio()
    yield fake
    fake.close()


@pytest.fixture
def server(local_server):
    """The root ``connect`` fixture talks to this app: the files tests' local-disk one."""
    return local_server
