"""The package: ``pip install .`` gives a working service and the ``chatbox`` command; its pins are requirements.txt's.

The console script and ``flask --app chatbox`` run in subprocesses and sign tokens that the running test server
accepts on its WebSocket (a subprocess cannot share the test's in-process database, so the data commands are
tested in-process through Flask's CliRunner in tests/core/test_operator_commands.py).
"""

import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from conftest import SECRET, Client

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
ENV = {**os.environ, "CHATBOX_ENV": "development", "JWT_SECRET": SECRET, "MONGO_URI": "", "REDIS_URL": ""}


def pins(lines) -> set[str]:
    return {re.split(r"\s+#", line)[0].strip().lower() for line in lines if line.strip() and not line.startswith("#")}


def test_dependencies_are_requirements_pins_and_httpx2_is_declared():
    declared = pins(PYPROJECT["project"]["dependencies"])
    assert declared == pins((ROOT / "requirements.txt").read_text().splitlines())
    assert all("==" in pin for pin in declared)
    assert "httpx2==2.16.2" in declared  # the LLM adapters import it directly


def test_every_package_of_the_tree_is_installed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    tree = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "chatbox").rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    assert tree <= listed, f"add to pyproject.toml's packages: {sorted(tree - listed)}"


def test_every_command_the_docs_name_exists():
    from chatbox.cli import COMMANDS

    names = {command.name for command in COMMANDS}
    texts = [(ROOT / "README.md").read_text()] + [path.read_text() for path in (ROOT / "docs").glob("*.md")]
    named = {
        name
        for text in texts
        for name in re.findall(r"(?m)(?:flask --app chatbox|^chatbox|`chatbox) ([a-z][a-z-]+)", text)
    }
    assert named and named <= names, named - names
    assert {"sign-token", "ensure-indexes", "reencrypt", "check-data"} <= named


def run_signed(command, server, cwd=ROOT) -> str:
    done = subprocess.run(
        [*command, "sign-token", "erin", "--name", "Erin"], env=ENV, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def accepted(server, signed: str) -> bool:
    client = Client(f"{server.ws_url}?token={signed}")
    greeting = client.recv()
    client.close()
    return greeting["type"] == "connection_status" and greeting.get("user_id") == "erin"


def test_console_script_entry_point_signs_tokens_the_service_accepts(server):
    module, function = PYPROJECT["project"]["scripts"]["chatbox"].split(":")
    entry = [sys.executable, "-c", f"import sys; from {module} import {function}; sys.exit({function}())"]
    assert accepted(server, run_signed(entry, server))


def test_console_script_names_a_configuration_error_without_a_traceback():
    module, function = PYPROJECT["project"]["scripts"]["chatbox"].split(":")
    entry = [sys.executable, "-c", f"import sys; from {module} import {function}; sys.exit({function}())"]
    env = {**ENV, "CHATBOX_ENV": "production", "JWT_SECRET": ""}
    done = subprocess.run([*entry, "check-data"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "configuration error: JWT_SECRET is required" in done.stderr and "Traceback" not in done.stderr


def test_flask_cli_reaches_the_same_commands(server):
    flask = [os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "chatbox"]
    assert accepted(server, run_signed(flask, server))


def test_pip_install_gives_the_command_and_finds_templates_and_static(server, tmp_path):
    """A throwaway venv that sees the test environment's packages (through a .pth) gets ``pip install --no-deps
    --no-build-isolation .`` and then, run from elsewhere, serves a page and a static file from the installed copy."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (site / "test-environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(ROOT)]
    done = subprocess.run(install, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr

    assert accepted(server, run_signed([str(venv / "bin" / "chatbox")], server, cwd=tmp_path))
    vendored = next((ROOT / "static" / "vendor").glob("htmx-*.js")).name
    probe = (
        "import chatbox; from chatbox import create_app; from chatbox.settings import Settings\n"
        "client = create_app(Settings.for_tests()).test_client()\n"
        "print(chatbox.__file__)\n"
        f"page, script = client.get('/chat/'), client.get('/chat/static/vendor/{vendored}')\n"
        "print(page.status_code, b'<html' in page.data.lower(), script.status_code)\n"
    )
    shown = subprocess.run(
        [str(python), "-c", probe], env=ENV, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    where, statuses = shown.stdout.split("\n")[:2]
    assert where.startswith(str(site)), shown.stdout + shown.stderr  # the installed copy, not the source tree
    assert statuses == "200 True 200", shown.stderr
