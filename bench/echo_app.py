"""The bare flask-sock baseline: echo, and ``S<k>`` streams k small frames back (PERFORMANCE.md kit (a)).

Served by the same gunicorn command line as the app (``gunicorn -c gunicorn.conf.py``), so every ratio the benchmark
prints compares our code with nothing but Flask + flask-sock + gevent. It accepts permessage-deflate, as
simple-websocket does by default: the memory figures show what the app's NoDeflate middleware saves.
"""

from gevent import monkey

monkey.patch_all()

from flask import Flask
from flask_sock import Sock

CHUNK = "x" * 85  # the kit's message size

app = Flask(__name__)
sock = Sock(app)


@sock.route("/ws")
def echo(ws):
    while True:
        message = ws.receive()
        if isinstance(message, str) and message[:1] == "S" and message[1:].isdigit():
            for _ in range(int(message[1:])):
                ws.send(CHUNK)
        else:
            ws.send(message)
