"""Issue 12, item 7: session names and message metadata values are encrypted at rest like content.

The name (the first sentence of the first message: a card number, a diagnosis) is one encrypted string in ``nm``;
each string value of ``meta`` is encrypted on its own (keys stay plain). Everything still reads in plain text
through the socket, the REST API and the admin API (whose ``name`` filter decrypts to match), and Go documents with
plaintext names and metadata still read (tests/chat/test_go_compat.py).
"""

import base64

import requests
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatbox.models import Session
from tests.chat.test_go_compat import KEY
from tests.conftest import admin_token, token

SECRET_NAME = "My card 4111 1111 1111 1111 was charged twice."


def go_decrypt(stored: str) -> str:
    raw = base64.b64decode(stored)
    return AESGCM(KEY.encode()).decrypt(raw[:12], raw[12:], None).decode()


def get(server, path, bearer):
    response = requests.get(server.url + path, headers={"Authorization": f"Bearer {bearer}"}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_name_and_metadata_values_are_stored_encrypted_and_read_plain(make_server, connect):
    server = make_server(encryption_key=KEY)
    client = connect("alice", target=server)
    client.send(
        type="user_message", content=SECRET_NAME + " Please help.", metadata={"note": "flat 4B, door code 1234"}
    )
    sid = client.reply()[-1]["session_id"]
    stored = Session._get_collection().find_one({"_id": sid})
    assert "4111" not in stored["nm"] and go_decrypt(stored["nm"]) == SECRET_NAME
    meta = stored["msgs"][0]["meta"]
    assert set(meta) == {"note"} and "1234" not in meta["note"]
    assert go_decrypt(meta["note"]) == "flat 4B, door code 1234"

    body = get(server, f"/sessions/{sid}", token("alice"))
    assert body["name"] == SECRET_NAME and body["messages"][0]["metadata"] == {"note": "flat 4B, door code 1234"}
    assert get(server, "/sessions", token("alice"))["sessions"][0]["name"] == SECRET_NAME
    again = connect("alice", target=server, last_seq=0)
    replayed = again.recv()
    assert replayed["metadata"] == {"note": "flat 4B, door code 1234"}


def test_admin_list_shows_names_plain_and_finds_sessions_by_part_of_their_name(make_server, connect):
    server = make_server(encryption_key=KEY)
    for user, text in (("alice", SECRET_NAME), ("bob", "Where is my parcel?")):
        client = connect(user, target=server)
        client.send(type="user_message", content=text)
        client.reply()
    listing = get(server, "/admin/sessions", admin_token())
    assert sorted(s["name"] for s in listing["sessions"]) == sorted([SECRET_NAME, "Where is my parcel?"])
    found = get(server, "/admin/sessions?name=CARD%204111", admin_token())
    assert [s["user_id"] for s in found["sessions"]] == ["alice"] and found["total"] == 1
    assert get(server, "/admin/sessions?name=parcel&user_id=alice", admin_token())["sessions"] == []
    page = requests.get(server.url + "/dashboard/", headers={"Cookie": f"chatbox_admin={admin_token()}"}, timeout=5)
    assert SECRET_NAME in page.text


def test_a_resent_message_is_still_recognised_with_its_client_id_encrypted(make_server, connect):
    server = make_server(encryption_key=KEY)
    client = connect("alice", target=server)
    client.send(type="user_message", content="Hello.", metadata={"client_msg_id": "c-1"})
    first = next(f for f in client.reply() if f["type"] == "user_message")
    client.send(type="user_message", content="Hello.", metadata={"client_msg_id": "c-1"})
    echo = client.recv()
    assert echo["seq"] == first["seq"] and echo["metadata"]["client_msg_id"] == "c-1"
    assert client.quiet(0.5) == []
    stored = Session._get_collection().find_one({"_id": first["session_id"]})
    assert len(stored["msgs"]) == 2 and stored["msgs"][0]["meta"]["client_msg_id"] != "c-1"
