"""The app alone in its own process, served by gevent like a gunicorn worker, so a test can measure its memory.

Usage: python upload_server.py PORT UPLOAD_DIR JWT_SECRET
"""

from gevent import monkey

monkey.patch_all()

import sys

from gevent.pywsgi import WSGIServer

from chatbox import create_app
from chatbox.settings import Settings

if __name__ == "__main__":
    port, upload_dir, secret = sys.argv[1:4]
    app = create_app(Settings.for_tests(upload_dir=upload_dir, jwt_secret=secret))
    WSGIServer(("127.0.0.1", int(port)), app, log=None, error_log=None).serve_forever()
