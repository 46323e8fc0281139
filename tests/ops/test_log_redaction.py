"""Share tokens and file ids never reach the log (issue 12, item 5): the service as the image runs it (gunicorn),
read by every route that carries them in its path or query; the JSON lines say [REDACTED] where they were."""

import requests
from conftest import token

from ops.conftest import wait_for

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def test_share_tokens_and_file_ids_are_redacted_in_access_lines(start_gunicorn, tmp_path):
    server = start_gunicorn(UPLOAD_DIR=str(tmp_path / "uploads"))
    auth = {"Authorization": f"Bearer {token('carol')}"}
    upload = requests.post(
        server.url + "/upload", files={"file": ("a.png", PNG, "image/png")}, headers=auth, timeout=10
    )
    file_id = upload.json()["file_id"]
    assert requests.get(f"{server.url}/files/{file_id}", headers=auth, timeout=10).content == PNG
    requests.get(f"{server.url}/files/{file_id}", params={"share": "s" * 32}, timeout=10)
    requests.get(f"{server.url}/s/{'t' * 32}", timeout=10)
    requests.get(f"{server.url}/shared/{'u' * 32}", timeout=10)
    wait_for(lambda: sum("/shared/" in line for line in server.log_lines()), 20, "the shared-view access line")
    output = server.output()
    assert file_id not in output
    assert "s" * 32 not in output and "t" * 32 not in output and "u" * 32 not in output
    paths = {line.get("path") for line in server.json_lines() if line.get("component") == "chatbox.access"}
    assert {"/chat/files/[REDACTED]", "/chat/s/[REDACTED]", "/chat/shared/[REDACTED]"} <= paths


REDACTIONS = [
    (
        "GET /chat/files/0123456789abcdef0123456789abcdef?share=abc 404",
        "GET /chat/files/[REDACTED]?share=[REDACTED] 404",
    ),
    ("https://h/chat/files/ab12?exp=99&sig=f00d", "https://h/chat/files/[REDACTED]?exp=99&sig=[REDACTED]"),
    ("/x/y?file_id=abcd&other=1", "/x/y?file_id=[REDACTED]&other=1"),
    ("/chat/s/tok-1 and /chat/shared/tok-2/", "/chat/s/[REDACTED] and /chat/shared/[REDACTED]/"),
    ("/chat/sessions/abc/share", "/chat/sessions/abc/share"),  # a session id is no capability
]


def test_redaction_table():
    from chatbox.jsonlog import redact

    for raw, shown in REDACTIONS:
        assert redact(raw) == shown
