"""gunicorn settings derived from the service's own settings (SERVER_PORT, MAX_CONNECTIONS, SHUTDOWN_TIMEOUT).

On SIGTERM a worker first drains: readiness answers 503, new sockets are refused, in-flight AI replies finish
(up to SHUTDOWN_TIMEOUT), then every socket is closed with 1012 so clients resume on another pod.
"""

import os
import signal

from chatbox.settings import parse_duration

worker_class = "gevent"
bind = f"0.0.0.0:{os.environ.get('SERVER_PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
# HTTP requests need connections too: leave headroom above the socket cap.
worker_connections = int(os.environ.get("MAX_CONNECTIONS", "10000")) + 200
shutdown_timeout = parse_duration(os.environ.get("SHUTDOWN_TIMEOUT", "30s"))
graceful_timeout = int(shutdown_timeout) + 5
timeout = 30
keepalive = 5
accesslog = None  # the app logs requests as JSON, without tokens
control_socket_disable = True


def post_worker_init(worker):
    def drain_then_exit():
        app = worker.wsgi
        app.extensions["chatbox"].lifecycle.shutdown()
        worker.alive = False

    def handle_term(sig, frame):
        import gevent

        gevent.spawn(drain_then_exit)

    worker.handle_exit = handle_term
    signal.signal(signal.SIGTERM, handle_term)
