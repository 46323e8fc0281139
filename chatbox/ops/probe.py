"""``python -m chatbox.ops.probe [healthz readyz ...]``: ask the local server, print each answer, exit 1 unless all 200.

The container image has no curl or wget; the Dockerfile HEALTHCHECK and ``make health`` use this instead. Reads
SERVER_PORT and CHATBOX_PATH_PREFIX like the service, and nothing else (no settings validation, no secrets).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def probe(path: str, timeout: float = 3.0) -> tuple[int, str]:
    """Return (status, body) of GET http://127.0.0.1:SERVER_PORT{prefix}/{path}; status 0 when unreachable."""
    prefix = os.environ.get("CHATBOX_PATH_PREFIX", "/chat").rstrip("/")
    url = f"http://127.0.0.1:{os.environ.get('SERVER_PORT', '8080')}{prefix}/{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:
        return 0, f"unreachable: {exc}"


def main(paths: list[str]) -> int:
    ok = True
    for path in paths or ["healthz"]:
        status, body = probe(path)
        print(f"{path} {status} {body.strip()}")
        ok = ok and status == 200
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
