"""docker-compose.yml, checked without Docker (no daemon here): healthchecks the images can run, a stop grace
period covering the drain, databases on 127.0.0.1 only, and no default credentials (scripts/compose-env.sh makes
them)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from chatbox.settings import Settings, parse_duration

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = re.compile(r"\$\{(\w+):\?([^}]*)\}")
DEFAULTED = re.compile(r"\$\{(\w+):-([^}]*)\}")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


class Missing(Exception):
    pass


def interpolate(value, environ: dict) -> str:
    """docker-compose's ${NAME:-default} and ${NAME:?error} substitution."""

    def required(match):
        if not environ.get(match.group(1)):
            raise Missing(f"{match.group(1)}: {match.group(2)}")
        return environ[match.group(1)]

    value = REQUIRED.sub(required, str(value))
    return DEFAULTED.sub(lambda m: environ.get(m.group(1)) or m.group(2), value)


def chatbox_env(environ: dict) -> dict:
    return {k: interpolate(v, environ) for k, v in compose()["services"]["chatbox"]["environment"].items()}


@pytest.fixture(scope="module")
def dotenv(tmp_path_factory) -> dict:
    """The .env scripts/compose-env.sh writes, read as docker-compose would."""
    path = tmp_path_factory.mktemp("compose") / ".env"
    result = subprocess.run([str(ROOT / "scripts/compose-env.sh"), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert path.stat().st_mode & 0o077 == 0
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


@pytest.mark.parametrize(
    "service,ports",
    [
        ("chatbox", ["8080:8080"]),
        ("minio", ["9000:9000", "9001:9001"]),
        ("mailhog", ["1025:1025", "8025:8025"]),
        ("mongodb", ["127.0.0.1:27017:27017"]),  # databases: this machine only, never the network
        ("redis", ["127.0.0.1:6379:6379"]),
    ],
)
def test_compose_publishes_the_access_points(service, ports):
    assert compose()["services"][service]["ports"] == ports


def test_healthchecks_use_tools_the_images_ship():
    services = compose()["services"]
    # minio/minio dropped curl in RELEASE.2023-11-01: a curl check keeps it unhealthy and chatbox never starts.
    assert services["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    assert services["chatbox"]["healthcheck"]["test"] == ["CMD", "python", "-m", "chatbox.ops.probe", "healthz"]
    for name, service in services.items():
        check = service.get("healthcheck", {}).get("test", [])
        if name != "mailhog":  # alpine-based: busybox wget is there
            assert "curl" not in check and "wget" not in check, name


def test_stop_grace_period_covers_the_drain(dotenv):
    chatbox = compose()["services"]["chatbox"]
    drain = parse_duration(chatbox_env(dotenv)["SHUTDOWN_TIMEOUT"]) + 5  # gunicorn.conf.py's graceful_timeout
    assert parse_duration(chatbox["stop_grace_period"]) > drain


def test_no_credential_has_a_default():
    text = (ROOT / "docker-compose.yml").read_text()
    for name, default in DEFAULTED.findall(text):
        assert not re.search(r"PASSWORD|SECRET|KEY|TOKEN|MINIO_ROOT", name), f"{name} defaults to {default!r}"
    assert "minioadmin" not in text and ":password@" not in text


def test_without_a_dotenv_compose_stops_naming_the_variable():
    with pytest.raises(Missing, match="JWT_SECRET: run scripts/compose-env.sh to create .env"):
        chatbox_env({"MONGO_ROOT_PASSWORD": "x", "MINIO_ROOT_USER": "u", "MINIO_ROOT_PASSWORD": "p"})


def test_compose_wires_the_service_to_its_neighbours(dotenv):
    env = chatbox_env(dotenv)
    assert env["MONGO_URI"] == f"mongodb://admin:{dotenv['MONGO_ROOT_PASSWORD']}@mongodb:27017/chat?authSource=admin"
    assert env["REDIS_URL"].startswith("redis://redis:6379")
    assert env["S3_ENDPOINT"] == "http://minio:9000" and env["S3_BUCKET"] == "chat-files"
    assert (env["S3_ACCESS_KEY_ID"], env["S3_SECRET_ACCESS_KEY"]) == (
        dotenv["MINIO_ROOT_USER"], dotenv["MINIO_ROOT_PASSWORD"],
    )  # fmt: skip
    assert (env["SMTP_HOST"], env["SMTP_PORT"]) == ("mailhog", "1025")
    assert env["CHATBOX_PATH_PREFIX"] == "/chat" and env["SERVER_PORT"] == "8080"
    services = compose()["services"]
    minio = {k: interpolate(v, dotenv) for k, v in services["minio"]["environment"].items()}
    setup = {k: interpolate(v, dotenv) for k, v in services["minio-setup"]["environment"].items()}
    assert (
        minio
        == setup
        == {"MINIO_ROOT_USER": dotenv["MINIO_ROOT_USER"], "MINIO_ROOT_PASSWORD": dotenv["MINIO_ROOT_PASSWORD"]}
    )
    assert "mc mb --ignore-existing local/chat-files" in " ".join(services["minio-setup"]["command"])
    assert services["chatbox"]["depends_on"]["minio-setup"] == {"condition": "service_completed_successfully"}
    assert services["mongodb"]["environment"]["MONGO_INITDB_DATABASE"] == "chat"


def test_compose_keeps_state_only_in_named_volumes():
    """`docker-compose down -v` removes named volumes; a bind mount would leave files behind."""
    declared = set(compose()["volumes"])
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in declared, f"{name} mounts {source}, which `down -v` would not remove"


@pytest.mark.parametrize("mode", ["development", "production"])
def test_generated_credentials_pass_the_service_checks(dotenv, mode):
    settings = Settings.load(chatbox_env({**dotenv, "CHATBOX_ENV": mode}))
    assert settings.env == mode and len(settings.encryption_key) == 32
    assert [p.id for p in settings.providers] == ["demo"]


def test_compose_env_keeps_an_existing_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text("JWT_SECRET=mine\n")
    result = subprocess.run([str(ROOT / "scripts/compose-env.sh"), str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and "keeping it" in result.stderr
    assert path.read_text() == "JWT_SECRET=mine\n"


def test_dotenv_is_git_ignored():
    result = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert result.returncode == 0
