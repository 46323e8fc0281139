"""The running app's services, for code that runs inside a request or a CLI command.

``create_app`` installs the ``Services`` that ``services.build`` made; routes, guards and commands read them back
here, typed, instead of looking into ``current_app.extensions`` each on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:  # services.py imports every feature; the features import this module
    from chatbox.services import Services

EXTENSION = "chatbox"


def install(app: Flask, services: Services) -> None:
    app.extensions[EXTENSION] = services


def services(app: Flask | None = None) -> Services:
    """The services of ``app``, by default the current app (inside an app context)."""
    return (app or current_app).extensions[EXTENSION]
