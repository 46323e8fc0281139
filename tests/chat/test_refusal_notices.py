"""Issue 12, item 12: refused handshakes tell the user's open sockets once per window, not once per refusal."""

import gevent

from chatbox.chat import socket as chat_socket
from tests.chat.test_connect import handshake_status
from tests.conftest import Client, token


def notices(client, seconds=0.5):
    return [f for f in client.quiet(seconds) if f["type"] == "notification"]


def test_a_burst_of_refused_handshakes_gives_each_open_socket_one_notice(make_server, monkeypatch):
    monkeypatch.setattr(chat_socket, "NOTICE_WINDOW", 1.5)
    server = make_server(max_connections_per_user=3)
    url = server.ws_url + f"?token={token('alice')}"
    open_ones = [Client(url) for _ in range(3)]
    for client in open_ones:
        client.recv()
    for _ in range(40):
        assert handshake_status(url)[0] == 429
    for client in open_ones:
        heard = notices(client)
        assert len(heard) == 1 and "Connection limit reached" in heard[0]["content"]
    gevent.sleep(1.6)  # the next window: the next refusal is told again, once
    for _ in range(10):
        assert handshake_status(url)[0] == 429
    assert [len(notices(client)) for client in open_ones] == [1, 1, 1]
    for client in open_ones:
        client.close()
