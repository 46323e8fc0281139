"""Operator commands: ``chatbox <command>`` (the console script), also ``flask --app chatbox <command>``.

Each builds the app from the same configuration as the service (environment, ``CHATBOX_CONFIG``), so it signs with
the service's JWT secret, writes with its encryption key ring and talks to its MongoDB.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext

from chatbox import maintenance
from chatbox.auth import ADMIN_ROLES, sign_token
from chatbox.crypto import KeyRing
from chatbox.settings import SettingsError
from chatbox.version import __version__

DURATION = re.compile(r"^(\d+)([smhd]?)$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _settings():
    return current_app.config["CHATBOX_SETTINGS"]


def parse_duration(text: str) -> timedelta:
    """``90``, ``90s``, ``30m``, ``12h``, ``7d`` as a timedelta. Raises click.BadParameter otherwise."""
    found = DURATION.match(text.strip())
    if not found:
        raise click.BadParameter(f"{text!r} is not a duration like 3600, 30m, 12h or 7d", param_hint="--expires")
    return timedelta(seconds=int(found.group(1)) * UNITS[found.group(2)])


@click.command("sign-token")
@click.argument("user_id")
@click.option("--admin", is_flag=True, help=f"Add the {ADMIN_ROLES[0]!r} role (dashboard and admin API).")
@click.option("--role", "roles", multiple=True, help="Add a role (repeatable).")
@click.option("--name", default="", help="Display name (default: the user id).")
@click.option("--expires", default="12h", show_default=True, help="Lifetime: seconds, or 30m, 12h, 7d; 0 = none.")
@with_appcontext
def sign_token_command(user_id: str, admin: bool, roles: tuple[str, ...], name: str, expires: str) -> None:
    """Print a token for USER_ID signed with the configured JWT_SECRET (the claims a parent app's token carries)."""
    if not user_id.strip():
        raise click.BadParameter("must not be empty", param_hint="USER_ID")
    lifetime = parse_duration(expires)
    settings = _settings()
    if not lifetime and not settings.development:
        raise click.BadParameter(
            "0 (no expiry) is refused outside development: the service requires exp", param_hint="--expires"
        )
    roles = tuple(dict.fromkeys(roles + ((ADMIN_ROLES[0],) if admin else ())))
    click.echo(sign_token(settings.jwt_secret, user_id, roles, name, lifetime or None))


@click.command("ensure-indexes")
@with_appcontext
def ensure_indexes_command() -> None:
    """Create the MongoDB indexes that are missing (idempotent) and list those present."""
    from chatbox.models import ensure_indexes, present_indexes

    if not ensure_indexes():
        click.echo("index creation failed (see the log above)", err=True)
        sys.exit(1)
    click.echo("indexes: " + ", ".join(sorted(present_indexes())))


@click.command("reencrypt")
@with_appcontext
def reencrypt_command() -> None:
    """Re-encrypt every stored encrypted value under the current ENCRYPTION_KEY (resumable, safe while serving).

    Exits 1 when some values could not be re-encrypted (listed); run it again after fixing the key ring.
    """
    settings = _settings()
    if not settings.encryption_key:
        click.echo("ENCRYPTION_KEY is not set: there is no key to re-encrypt under", err=True)
        sys.exit(2)
    ring = KeyRing(settings.encryption_key, settings.encryption_keys_previous)
    report = maintenance.reencrypt(maintenance.Recipher(ring, settings.encryption_key), _progress("re-encrypted"))
    for problem in report.problems:
        click.echo(problem, err=True)
    click.echo(
        f"{report.sessions} sessions read, {report.rewritten} rewritten, {report.values} values re-encrypted, "
        f"{len(report.problems)} problems"
    )
    sys.exit(1 if report.problems else 0)


@click.command("check-data")
@with_appcontext
def check_data_command() -> None:
    """Read every session document (Go-written ones included); list those that do not validate or decrypt.

    Exits 1 when any problem was found.
    """
    settings = _settings()
    report = maintenance.check(KeyRing(settings.encryption_key, settings.encryption_keys_previous), _progress("read"))
    for problem in report.problems:
        click.echo(problem)
    click.echo(f"{report.sessions} sessions checked, {len(report.problems)} problems")
    sys.exit(1 if report.problems else 0)


def _progress(verb: str):
    return lambda report: click.echo(f"... {report.sessions} sessions {verb}", err=True)


COMMANDS = (sign_token_command, ensure_indexes_command, reencrypt_command, check_data_command)


def init_app(app) -> None:
    """Register the commands for ``flask --app chatbox <command>``."""
    for command in COMMANDS:
        app.cli.add_command(command)


@click.group(help="Chatbox operator commands (configured like the service: environment or CHATBOX_CONFIG).")
@click.version_option(__version__, prog_name="chatbox")
@click.pass_context
def main(context: click.Context) -> None:
    # with_appcontext builds the app through this ScriptInfo only when a command runs (so --help needs no config).
    context.obj = ScriptInfo(create_app=_configured_app, set_debug_flag=False)


def _configured_app():
    from chatbox import create_app

    try:
        return create_app()
    except SettingsError as exc:  # a one-line reason, as the service gives, not a traceback
        raise click.ClickException(f"configuration error: {exc}") from None


for _command in COMMANDS:
    main.add_command(_command)
