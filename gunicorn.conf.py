"""gunicorn settings from the service's own (SERVER_PORT, MAX_CONNECTIONS, SHUTDOWN_TIMEOUT, LOG_LEVEL).

Start: ``gunicorn -c gunicorn.conf.py wsgi:app`` (the Dockerfile's CMD and what the ops tests run).

On SIGTERM a worker first drains: readiness answers 503, new sockets are refused, in-flight AI replies finish
(up to SHUTDOWN_TIMEOUT), then every socket is closed with 1012 so clients resume on another pod. gunicorn's own
graceful timeout is SHUTDOWN_TIMEOUT + 5 s so the drain is never cut short; the pod's terminationGracePeriodSeconds
must exceed preStop sleep + that.

Runtime variables read here (not by chatbox.settings): WEB_CONCURRENCY (worker processes, default 1; more than one
needs REDIS_URL and MONGO_URI) and PROMETHEUS_MULTIPROC_DIR (a writable folder; required when WEB_CONCURRENCY > 1 so
/metrics/prometheus sums every worker; ignored with one worker).
"""

import glob
import logging
import os
import signal

from chatbox.settings import parse_duration

worker_class = "gevent"
bind = f"0.0.0.0:{os.environ.get('SERVER_PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
# Workers are separate processes: like pods, they share sessions only through Redis and a real MongoDB.
single_worker_reason = ""
shared = os.environ.get("REDIS_URL") and os.environ.get("MONGO_URI")
if workers > 1 and not shared and os.environ.get("CHATBOX_UNSHARED_WORKERS") != "1":
    single_worker_reason = f"WEB_CONCURRENCY={workers} needs REDIS_URL and MONGO_URI; running 1 worker"
    workers = 1
# Multiprocess metrics only when there are several processes to sum: in that mode a scrape shows the files' sums
# and nothing else, so one worker would lose its process_* and python_* metrics for no gain. Unset before the fork
# so the worker's app sees the same.
if workers == 1:
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
# HTTP requests need connections too: leave headroom above the socket cap.
worker_connections = int(os.environ.get("MAX_CONNECTIONS", "10000")) + 200
shutdown_timeout = parse_duration(os.environ.get("SHUTDOWN_TIMEOUT", "30s"))
graceful_timeout = int(shutdown_timeout) + 5
timeout = 30
keepalive = 5
control_socket_disable = True
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# gunicorn's own lines (boot, worker exits) and Python warnings as JSON like the app's; its access log stays off
# because it would print query strings, and WebSocket tokens travel in ?token=. The app logs each request itself.
# The formatter lives in chatbox.jsonlog because the master must not import chatbox.ops (pymongo imports ssl, and
# gevent patches ssl in the workers only after the fork).
accesslog = None
logging.captureWarnings(True)
logconfig_dict = {
    "root": {"level": "INFO", "handlers": []},  # wsgi.py adds the app's JSON handler in each worker
    "loggers": {
        "gunicorn.error": {
            "level": loglevel.upper(),
            "handlers": ["json_stderr"],
            "propagate": False,
            "qualname": "gunicorn.error",
        },
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False, "qualname": "gunicorn.access"},
        "py.warnings": {"level": "WARNING", "handlers": ["json_stderr"], "propagate": False},
    },
    "handlers": {"json_stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "formatters": {"json": {"()": "chatbox.jsonlog.JsonFormatter"}},
}


def on_starting(server):
    """Start every run with an empty metrics folder: files left by an earlier run would be summed in."""
    if single_worker_reason:
        server.log.warning(single_worker_reason)
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for stale in glob.glob(os.path.join(folder, "*.db")):
            os.remove(stale)
    elif workers > 1:
        server.log.warning(
            "WEB_CONCURRENCY=%d without PROMETHEUS_MULTIPROC_DIR: each scrape sees one worker only", workers
        )


def child_exit(server, worker):
    """Drop a dead worker's live gauges (open sockets, active sessions) from the sums."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_int(worker):
    """Ctrl-C (SIGINT/SIGQUIT): stop within a couple of seconds, but cut replies cleanly instead of losing them."""
    app = getattr(worker, "wsgi", None)
    if app is not None and "chatbox" in getattr(app, "extensions", {}):
        app.extensions["chatbox"].lifecycle.shutdown(grace=2.0, cancel_replies=True)


def post_worker_init(worker):
    """Replace the worker's SIGTERM handling with the drain described above."""

    def drain_then_exit():
        app = worker.wsgi
        app.extensions["chatbox"].lifecycle.shutdown()
        worker.alive = False

    def handle_term(sig, frame):
        import gevent

        if not getattr(worker, "_chatbox_draining", False):  # a second SIGTERM must not start a second drain
            worker._chatbox_draining = True
            gevent.spawn(drain_then_exit)

    worker.handle_exit = handle_term
    signal.signal(signal.SIGTERM, handle_term)
