"""The handshake: tokens refused before the upgrade, caps, origins, the greeting, oversize frames."""

from datetime import timedelta

import jwt
import pytest
import websocket
from conftest import SECRET, Client, token

BAD_TOKENS = [
    ("missing", None, 401, "Missing authentication token"),
    ("garbage", "not-a-jwt", 401, "Authentication failed"),
    ("expired", token(expires=timedelta(seconds=-5)), 401, "Authentication failed"),
    ("wrong secret", token(secret="x" * 48), 401, "Authentication failed"),
    ("alg none", jwt.encode({"user_id": "alice", "roles": []}, None, algorithm="none"), 401, "Authentication failed"),
    (
        "no user_id",
        jwt.encode({"roles": [], "exp": 4102444800}, SECRET, algorithm="HS256"),
        401,
        "Authentication failed",
    ),
    (
        "roles not a list",
        jwt.encode({"user_id": "a", "roles": "admin", "exp": 4102444800}, SECRET, algorithm="HS256"),
        401,
        "Authentication failed",
    ),
    (
        "no roles",
        jwt.encode({"user_id": "a", "exp": 4102444800}, SECRET, algorithm="HS256"),
        401,
        "Authentication failed",
    ),
    (
        "no exp in production",
        jwt.encode({"user_id": "a", "roles": []}, SECRET, algorithm="HS256"),
        401,
        "Authentication failed",
    ),
]


def handshake_status(url: str, origin=None, **headers) -> tuple[int, str]:
    try:
        Client(url, origin=origin, **headers).close()
    except websocket.WebSocketBadStatusException as exc:
        return exc.status_code, exc.resp_body.decode() if exc.resp_body else ""
    return 101, ""


@pytest.mark.parametrize("label,bad,status,body", BAD_TOKENS, ids=[b[0] for b in BAD_TOKENS])
def test_bad_tokens_are_refused_before_the_upgrade(make_server, label, bad, status, body):
    server = make_server(env="production")
    url = server.ws_url + (f"?token={bad}" if bad else "")
    assert handshake_status(url) == (status, body)


def test_rs256_token_is_refused(make_server):
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"user_id": "alice", "roles": ["admin"], "exp": 4102444800}, key, algorithm="RS256")
    assert handshake_status(make_server().ws_url + f"?token={forged}") == (401, "Authentication failed")


def test_token_in_authorization_header_is_accepted(server):
    client = Client(server.ws_url, Authorization=f"Bearer {token('alice')}")
    greeting = client.recv()
    assert greeting["type"] == "connection_status" and greeting["user_id"] == "alice"
    client.close()


def test_token_without_exp_is_accepted_in_development(make_server):
    server = make_server(env="development")
    legacy = jwt.encode({"user_id": "alice", "roles": []}, SECRET, algorithm="HS384")
    client = Client(server.ws_url + f"?token={legacy}")
    assert client.recv()["type"] == "connection_status"
    client.close()


def test_greeting_lists_models_and_names_the_user_and_session(connect):
    first = connect("alice")
    assert first.greeting["models"] == [{"id": "demo", "name": "Demo (no AI configured)"}]
    assert first.greeting["model_id"] == "demo" and first.greeting["user_id"] == "alice"
    assert "session_id" not in first.greeting  # no session yet
    first.send(type="user_message", content="Hello.")
    sid = first.reply()[-1]["session_id"]
    second = connect("alice")
    assert second.greeting["session_id"] == sid  # the user's active session


def test_wrong_origin_is_refused_when_origins_are_configured(make_server):
    server = make_server(ws_allowed_origins=["https://chat.example.com"])
    url = server.ws_url + f"?token={token()}"
    assert handshake_status(url, origin="https://evil.example.com") == (403, "Forbidden")
    good = Client(url, origin="https://chat.example.com")
    assert good.recv()["type"] == "connection_status"
    good.close()


def test_oversized_frame_close_code_is_1009(make_server):
    server = make_server(max_message_size=2048)
    client = Client(server.ws_url + f"?token={token()}")
    client.recv()
    client.ws.send('{"type":"user_message","content":"' + "x" * 4000 + '"}')
    opcode, data = client.ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(data[:2], "big") == 1009


def test_eleventh_socket_of_a_user_is_refused_and_the_others_are_told(make_server):
    server = make_server(max_connections_per_user=3)
    url = server.ws_url + f"?token={token('alice')}"
    open_ones = [Client(url) for _ in range(3)]
    for client in open_ones:
        client.recv()
    assert handshake_status(url) == (429, "Connection limit exceeded, please try again later")
    notice = open_ones[0].recv()
    assert notice["type"] == "notification" and "Connection limit reached" in notice["content"]
    assert handshake_status(server.ws_url + f"?token={token('bob')}") == (101, "")  # other users unaffected
    open_ones[0].close()
    deadline_ok = False
    for _ in range(50):  # the slot is released when the server notices the close
        if handshake_status(url) == (101, ""):
            deadline_ok = True
            break
        import gevent

        gevent.sleep(0.05)
    assert deadline_ok


def test_process_connection_cap_refuses_with_a_clear_503(make_server):
    server = make_server(max_connections=2)
    clients = [Client(server.ws_url + f"?token={token(f'u{i}')}") for i in range(2)]
    for client in clients:
        client.recv()
    status, body = handshake_status(server.ws_url + f"?token={token('u3')}")
    assert status == 503 and "Server at capacity (2 connections)" in body


def test_failed_upgrade_does_not_leak_the_users_slot(make_server):
    """Go leaked a per-user slot on each failed upgrade (D6); ten failures locked the user out."""
    import urllib.error
    import urllib.request

    server = make_server(max_connections_per_user=2)
    for _ in range(5):
        request = urllib.request.Request(server.url + "/ws", headers={"Authorization": f"Bearer {token('alice')}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 400
    assert handshake_status(server.ws_url + f"?token={token('alice')}") == (101, "")


def test_keepalive_pings_and_a_silent_peer_is_dropped(make_server):
    import gevent

    server = make_server(ping_interval=0.2, pong_wait=0.5)
    listener = Client(server.ws_url + f"?token={token('alice')}")
    listener.recv()
    opcode, _ = listener.ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_PING
    # A peer that never answers pings (this client does not read, so it never sends a pong) is closed.
    silent = Client(server.ws_url + f"?token={token('bob')}")
    gevent.sleep(0.2)
    assert {c.identity.user_id for c in server.services.hub.connections} == {"alice", "bob"}
    for _ in range(40):
        gevent.sleep(0.1)
        if "bob" not in {c.identity.user_id for c in server.services.hub.connections}:
            break
    assert "bob" not in {c.identity.user_id for c in server.services.hub.connections}
    silent.close()
