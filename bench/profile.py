"""Sample a server worker with py-spy while a load runs, and sum the samples into top inclusive functions.

``record(pid, seconds)`` runs ``py-spy record --format raw`` (collapsed stacks: one line per distinct stack, frames
separated by ``;``, then a sample count) and returns the functions with the largest share of samples in which they
appear anywhere on the stack (inclusive), each function counted once per stack.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import Counter

PY_SPY = shutil.which("py-spy") or os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", ".venv/bin/py-spy")


def record(pid: int, seconds: float, rate: int = 200) -> dict:
    """Profile ``pid`` for ``seconds``; {"samples": n, "top": [{"function", "inclusive_pct", "self_pct"}]}."""
    if not os.path.exists(PY_SPY):
        return {"error": "py-spy is not installed (pip install py-spy)"}
    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as out:
        path = out.name
    command = [PY_SPY, "record", "--pid", str(pid), "--duration", str(max(int(seconds), 1))]
    command += ["--rate", str(rate), "--format", "raw", "--nonblocking", "--output", path]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=False)
        if done.returncode:
            return {"error": (done.stderr.strip().splitlines() or ["py-spy failed"])[-1][:300]}
        with open(path) as handle:
            return summarize(handle.read().splitlines())
    finally:
        os.unlink(path)


def summarize(lines: list[str], top: int = 40) -> dict:
    inclusive, own, total = Counter(), Counter(), 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_short(frame) for frame in stack.split(";")]
        for name in set(frames):
            inclusive[name] += samples
        own[frames[-1]] += samples
    rows = [
        {
            "function": name,
            "inclusive_pct": round(100 * count / total, 1),
            "self_pct": round(100 * own[name] / total, 1),
        }
        for name, count in inclusive.most_common(top)
    ]
    return {"samples": total, "top": rows}


def _short(frame: str) -> str:
    """``handle (chatbox/chat/hub.py:123)`` -> ``handle (chatbox/chat/hub.py)``: one row per function."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if path else name
