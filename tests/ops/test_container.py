"""Dockerfile, .dockerignore and create-secrets.sh, checked without Docker or a cluster (compose: test_compose.py).

Docker cannot run on this machine: these tests parse the files and check them against what the service needs and
what the deployment guide promises; the command the image runs is the one test_gunicorn.py starts.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from chatbox.settings import Settings
from ops.conftest import GUNICORN_COMMAND

ROOT = Path(__file__).resolve().parents[2]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def instructions(word: str) -> list[str]:
    return [rest for name, rest in dockerfile() if name == word]


def test_the_image_runs_the_command_the_tests_start():
    [cmd] = instructions("CMD")
    assert json.loads(cmd) == GUNICORN_COMMAND
    assert not instructions("ENTRYPOINT")


def test_multi_stage_slim_and_non_root():
    stages = instructions("FROM")
    assert len(stages) == 2 and all("slim" in stage for stage in stages)
    assert stages[0].endswith(" AS builder")
    user = instructions("USER")[-1]
    assert user.split(":")[0] not in ("root", "0")
    last_from = max(i for i, (name, _) in enumerate(dockerfile()) if name == "FROM")
    last_user = max(i for i, (name, _) in enumerate(dockerfile()) if name == "USER")
    assert last_user > last_from


def test_no_secret_in_any_layer():
    assert not instructions("ARG"), "build arguments end up in the image history"
    env_text = " ".join(instructions("ENV"))
    for name in ("JWT_SECRET", "ENCRYPTION_KEY", "API_KEY", "PASSWORD", "TOKEN", "SECRET"):
        assert name not in env_text.upper()


def test_healthcheck_uses_the_probe_on_the_prefix():
    [check] = instructions("HEALTHCHECK")
    assert '"chatbox.ops.probe", "healthz"' in check
    env_text = " ".join(instructions("ENV"))
    assert "CHATBOX_PATH_PREFIX=/chat" in env_text and "SERVER_PORT=8080" in env_text
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus" in env_text
    assert instructions("EXPOSE") == ["8080"]


def test_every_copied_path_exists_and_is_not_ignored():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for args in instructions("COPY"):
        if "--from=" in args:
            continue
        sources = [part for part in args.split()[:-1] if not part.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert source not in ignored, f"COPY {source}: excluded by .dockerignore"
    for private in (".git", ".venv", ".env", "tests", "data"):
        assert private in ignored


def test_the_probe_reports_health_of_a_running_server(server):
    env = {**os.environ, "SERVER_PORT": str(server.port), "CHATBOX_PATH_PREFIX": "/chat"}
    result = subprocess.run(
        [sys.executable, "-m", "chatbox.ops.probe", "healthz"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and result.stdout.startswith("healthz 200 ")
    env["SERVER_PORT"] = "9"  # nothing listens there
    result = subprocess.run(
        [sys.executable, "-m", "chatbox.ops.probe", "healthz"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1 and "unreachable" in result.stdout


# --- create-secrets.sh -----------------------------------------------------------------------------------------

FAKE_KUBECTL = """#!{python}
import json, sys
args = sys.argv[1:]
if "create" in args:
    data = dict(a.split("=", 1)[1].split("=", 1) for a in args if a.startswith("--from-literal="))
    print(json.dumps({{"kind": "Secret", "metadata": {{"name": args[args.index("generic") + 1]}}, "data": data}}))
elif "apply" in args:
    open({out!r}, "w").write(sys.stdin.read())
"""


def test_create_secrets_generates_keys_the_service_accepts(tmp_path):
    kubectl = tmp_path / "kubectl"
    applied = tmp_path / "applied.json"
    kubectl.write_text(FAKE_KUBECTL.format(python=sys.executable, out=str(applied)))
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
    env = {
        "PATH": os.environ["PATH"],
        "KUBECTL": str(kubectl),
        "BATCH": "1",
        "NAMESPACE": "chatbox",
        "SMTP_PASS": "mail-pass",
    }
    result = subprocess.run(
        ["bash", str(ROOT / "deployments/kubernetes/create-secrets.sh")],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    secret = json.loads(applied.read_text())
    assert secret["metadata"]["name"] == "chat-secrets"
    data = secret["data"]
    assert set(data) == {"JWT_SECRET", "ENCRYPTION_KEY", "SMTP_PASS"}, "empty answers must not become variables"
    # MONGO_URI and S3_BUCKET come from the ConfigMap, not the Secret.
    settings = Settings.load({"CHATBOX_ENV": "production", "MONGO_URI": "mongodb://m/chat", "S3_BUCKET": "b", **data})
    assert settings.smtp_password == "mail-pass" and len(settings.encryption_key.encode()) == 32
    assert data["JWT_SECRET"] not in result.stdout + result.stderr


def test_create_secrets_refuses_a_wrong_length_key(tmp_path):
    env = {"PATH": os.environ["PATH"], "KUBECTL": "false", "BATCH": "1", "ENCRYPTION_KEY": "short"}
    result = subprocess.run(
        ["bash", str(ROOT / "deployments/kubernetes/create-secrets.sh")],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "ENCRYPTION_KEY must be exactly 32 characters (got 5)" in result.stderr
