"""The WSGI entry point for ``gunicorn -c gunicorn.conf.py wsgi:app`` (gevent worker)."""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from chatbox import create_app  # noqa: E402
from chatbox.ops.logging import configure  # noqa: E402
from chatbox.settings import Settings, SettingsError  # noqa: E402

try:
    settings = Settings.load()
except SettingsError as exc:
    print(f"chatbox: configuration error: {exc}", file=sys.stderr, flush=True)
    sys.exit(3)  # gunicorn stops instead of restarting a worker that cannot boot
configure(settings.log_level)
app = create_app(settings)
