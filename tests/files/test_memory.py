"""A 100 MB upload streams through the server: its peak memory grows far less than the file.

The app runs in its own process (as in a gunicorn worker) so its memory is its own. The kernel's peak-RSS
counter (VmHWM) is reset just before the upload and read after it: a bound on memory, not a timing.
"""

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import SECRET, free_port, token

from .helpers import WEBM, multipart

ROOT = Path(__file__).resolve().parents[2]
SIZE = 100 * 1000 * 1000  # exactly UPLOAD_MAX_SIZE's default (100 MB): the largest file accepted
MIB = 1024 * 1024


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


@pytest.fixture
def app_process(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("upload_server.py")),
            str(port),
            str(tmp_path / "uploads"),
            SECRET,
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/chat"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the app process did not start")
        time.sleep(0.2)
    yield process, url, tmp_path / "uploads"
    process.terminate()
    process.wait(timeout=10)


def body_of(size: int, digest):
    """A multipart body produced piece by piece: nothing here holds more than 64 KiB of the file."""
    head, _ = multipart([("file", "movie.mp4", b"\x00", "video/mp4")], boundary="mEmOrYbOuNdArY")
    prefix, suffix = head.split(b"\r\n\r\n\x00", 1)
    yield prefix + b"\r\n\r\n"
    first = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00" + WEBM[:16]
    block = os.urandom(64 * 1024)
    digest.update(first)
    yield first
    sent = len(first)
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        digest.update(piece)
        sent += len(piece)
        yield piece
    yield suffix


def test_100mb_upload_keeps_server_memory_flat(app_process):
    process, url, upload_dir = app_process
    headers = {
        "Authorization": f"Bearer {token('alice')}",
        "Content-Type": "multipart/form-data; boundary=mEmOrYbOuNdArY",
    }
    warm = requests.post(
        url + "/upload",
        files={"file": ("a.txt", b"warm up")},
        headers={"Authorization": headers["Authorization"]},
        timeout=30,
    )
    assert warm.status_code == 200  # first request loads what any request loads, before the baseline

    baseline = status_kib(process.pid, "VmRSS")
    Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    digest = hashlib.sha256()
    response = requests.post(url + "/upload", data=body_of(SIZE, digest), headers=headers, timeout=600)
    peak = status_kib(process.pid, "VmHWM")

    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["size"], answer["mime"]) == (SIZE, "video/mp4")
    stored = upload_dir / "files" / answer["file_id"]
    assert stored.stat().st_size == SIZE
    growth_mib = (peak - baseline) / 1024
    print(
        f"server RSS {baseline / 1024:.1f} MiB before, peak {peak / 1024:.1f} MiB during a {SIZE / MIB:.0f} MiB "
        f"upload: +{growth_mib:.1f} MiB"
    )
    assert growth_mib < 30, f"server memory grew by {growth_mib:.1f} MiB for a {SIZE / MIB:.0f} MiB upload"
    with stored.open("rb") as handle:
        on_disk = hashlib.file_digest(handle, "sha256").hexdigest()
    assert on_disk == digest.hexdigest()
