"""The operator commands (``chatbox <command>``, ``flask --app chatbox <command>``) against a running service's data.

Each test starts servers with ``make_server``, writes through real WebSocket exchanges (and Go-format documents
inserted byte for byte), then runs the command through Flask's CliRunner on the app of a running server.
"""

import base64
import os
import time
from datetime import datetime

import jwt
import pytest
import requests
from conftest import SECRET, Client, token
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatbox import maintenance
from chatbox.crypto import KeyRing
from chatbox.models import SESSION_INDEXES, Session, present_indexes

OLD = "0123456789abcdef0123456789abcdef"
NEW = "fedcba9876543210fedcba9876543210"
LOST = "lostlostlostlostlostlostlostlost"  # a key nobody has any more


def encrypt(text: str, key: str) -> str:
    """The Go service's format: base64(nonce(12) || ciphertext || tag(16)), AES-256-GCM, the key's raw bytes."""
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key.encode()).encrypt(nonce, text.encode(), None)).decode()


def go_session(sid: str, **fields) -> dict:
    """A session as the Go service wrote it: no seq, no mid; content under OLD or plain; a file message's meta."""
    moment = datetime(2026, 3, 5, 10, 0, 1)
    doc = {
        "_id": sid,
        "uid": "alice",
        "nm": "Where is my order?",
        "msgs": [
            {"content": encrypt("Where is my order?", OLD), "ts": moment, "sender": "user"},
            {"content": "Legacy plaintext answer.", "ts": moment, "sender": "ai"},
            {
                "content": encrypt("here is the receipt", OLD),
                "ts": moment,
                "sender": "user",
                "meta": {"filename": encrypt("receipt.pdf", OLD), "pages": 2},
                "transcript": encrypt("spoken words", OLD),
            },
        ],
        "ts": moment,
        "lastActivity": moment,
        **fields,
    }
    Session._get_collection().insert_one(doc)
    return doc


def cli(server, *args):
    return server.app.test_cli_runner().invoke(args=list(args))


def chat(server, user_id, text):
    """One real exchange over the server's socket; returns the session id."""
    client = Client(f"{server.ws_url}?token={token(user_id)}")
    greeting = client.recv()
    client.send(type="user_message", content=text)
    frames = client.reply()
    client.close()
    return frames[-1].get("session_id") or greeting.get("session_id")


# --- sign-token ------------------------------------------------------------------------------------------------


def test_sign_token_mints_tokens_the_running_service_accepts(make_server):
    server = make_server()
    user = cli(server, "sign-token", "carol", "--name", "Carol", "--expires", "30m")
    assert user.exit_code == 0, user.output
    claims = jwt.decode(user.stdout.strip(), SECRET, algorithms=["HS256"])
    assert (claims["user_id"], claims["roles"], claims["name"]) == ("carol", [], "Carol")
    assert abs(claims["exp"] - (time.time() + 1800)) < 30
    client = Client(f"{server.ws_url}?token={user.stdout.strip()}")
    assert client.recv()["type"] == "connection_status"
    client.close()

    admin = cli(server, "sign-token", "ops", "--admin").stdout.strip()
    assert jwt.decode(admin, SECRET, algorithms=["HS256"])["roles"] == ["admin"]
    sessions = server.url + "/admin/sessions"
    assert requests.get(sessions, headers={"Authorization": f"Bearer {admin}"}, timeout=10).status_code == 200
    refused = requests.get(sessions, headers={"Authorization": f"Bearer {user.stdout.strip()}"}, timeout=10)
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "args,message",
    [
        (["sign-token", "carol", "--expires", "soon"], "is not a duration"),
        (["sign-token", "carol", "--expires", "-5m"], "is not a duration"),
        (["sign-token", " "], "must not be empty"),
    ],
)
def test_sign_token_refuses_bad_input(server, args, message):
    result = cli(server, *args)
    assert result.exit_code == 2 and message in result.output


def test_sign_token_without_expiry_only_in_development(make_server):
    production = make_server(env="production", encryption_key=NEW)
    refused = cli(production, "sign-token", "carol", "--expires", "0")
    assert refused.exit_code == 2 and "refused outside development" in refused.output
    development = cli(make_server(), "sign-token", "carol", "--expires", "0")
    assert "exp" not in jwt.decode(development.stdout.strip(), SECRET, algorithms=["HS256"])


# --- ensure-indexes --------------------------------------------------------------------------------------------


def test_ensure_indexes_creates_the_missing_indexes(server):
    Session._get_collection().drop_indexes()
    assert present_indexes() == []
    result = cli(server, "ensure-indexes")
    assert result.exit_code == 0, result.output
    assert set(SESSION_INDEXES) <= set(present_indexes())
    assert all(name in result.stdout for name in SESSION_INDEXES)


# --- reencrypt -------------------------------------------------------------------------------------------------


def stored_values(sid):
    doc = Session._get_collection().find_one({"_id": sid})
    return [(path, value) for path, value in maintenance.encrypted_values(doc) if isinstance(value, str) and value]


def test_reencrypt_moves_a_live_service_to_the_new_key(make_server):
    before = make_server(encryption_key=OLD)
    live = chat(before, "alice", "my secret question")
    go_session("a" * 32, uid="bob")
    after = make_server(encryption_key=NEW, encryption_keys_previous=[OLD])

    result = cli(after, "reencrypt")
    assert result.exit_code == 0, result.output
    # Go's session: name, 3 contents, the filename and the transcript (the page count is no string); the live one:
    # its name (the first question), the question and the reply.
    assert "2 sessions read, 2 rewritten, 9 values re-encrypted, 0 problems" in result.stdout
    only_new = KeyRing(NEW)
    for sid in (live, "a" * 32):
        for path, value in stored_values(sid):
            assert only_new.decrypt(value) != value, path  # every value opens with the new key alone
    go = Session._get_collection().find_one({"_id": "a" * 32})
    assert only_new.decrypt(go["nm"]) == "Where is my order?"
    assert only_new.decrypt(go["msgs"][1]["content"]) == "Legacy plaintext answer."
    assert only_new.decrypt(go["msgs"][2]["meta"]["filename"]) == "receipt.pdf" and go["msgs"][2]["meta"]["pages"] == 2
    assert only_new.decrypt(go["msgs"][2]["transcript"]) == "spoken words"

    # Resumable: a second run finds everything under the new key and writes nothing.
    again = cli(after, "reencrypt")
    assert "2 sessions read, 0 rewritten, 0 values re-encrypted, 0 problems" in again.stdout

    # The old key can go: a service that has only the new one serves the history.
    new_only = make_server(encryption_key=NEW)
    history = requests.get(
        f"{new_only.url}/sessions/{live}", headers={"Authorization": f"Bearer {token('alice')}"}, timeout=10
    ).json()
    assert history["messages"][0]["content"] == "my secret question"


def test_reencrypt_leaves_values_no_key_opens_and_reports_them(make_server):
    lost = encrypt("under a lost key", LOST)
    go_session("c" * 32, msgs=[{"content": lost, "ts": datetime(2026, 3, 5), "sender": "user"}])
    server = make_server(encryption_key=NEW, encryption_keys_previous=[OLD])
    result = cli(server, "reencrypt")
    assert result.exit_code == 1
    assert f"session {'c' * 32}: msgs.0.content does not decrypt with any key" in result.stderr
    doc = Session._get_collection().find_one({"_id": "c" * 32})
    assert doc["msgs"][0]["content"] == lost  # never wrapped in a second layer
    assert KeyRing(NEW).decrypt(doc["nm"]) == "Where is my order?"  # the rest of the session is done


def test_reencrypt_refuses_without_a_key(server):
    result = cli(server, "reencrypt")
    assert result.exit_code == 2 and "ENCRYPTION_KEY is not set" in result.stderr


def test_a_session_rewrite_keeps_what_the_service_wrote_meanwhile(make_server):
    """Safe while serving: the write names every old value, by position, so a message appended after the read
    survives and a value changed after the read is re-read, never overwritten with the stale one."""
    server = make_server(encryption_key=NEW, encryption_keys_previous=[OLD])
    go_session("d" * 32)
    collection = Session._get_collection()
    stale = collection.find_one({"_id": "d" * 32}, maintenance.PROJECTION)

    # Meanwhile the service appends a message and another writer replaces the first message's content.
    server.services.store.append("d" * 32, 4, "user", "appended meanwhile")
    fresh = encrypt("changed meanwhile", OLD)
    collection.update_one({"_id": "d" * 32}, {"$set": {"msgs.0.content": fresh}})

    rewrite = maintenance.rewrite_session(collection, stale, maintenance.Recipher(KeyRing(NEW, [OLD]), NEW))
    assert not rewrite.problems
    doc = collection.find_one({"_id": "d" * 32})
    only_new = KeyRing(NEW)
    assert only_new.decrypt(doc["msgs"][0]["content"]) == "changed meanwhile"
    assert [only_new.decrypt(m["content"]) for m in doc["msgs"][1:]] == [
        "Legacy plaintext answer.",
        "here is the receipt",
        "appended meanwhile",
    ]


# --- check-data ------------------------------------------------------------------------------------------------


def test_check_data_reports_documents_that_do_not_decrypt_or_validate(make_server):
    server = make_server(encryption_key=NEW, encryption_keys_previous=[OLD])
    live = chat(server, "alice", "hello")
    go_session("a" * 32)
    go_session("e" * 32, msgs=[{"content": encrypt("lost", LOST), "ts": datetime(2026, 3, 5), "sender": "user"}])
    Session._get_collection().insert_one({"_id": "f" * 32, "msgs": [], "ts": datetime(2026, 3, 5)})  # no uid
    go_session("9" * 32, msgs=[{"content": 42, "sender": "user"}])

    result = cli(server, "check-data")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"session {'e' * 32}: msgs.0.content does not decrypt with any key" in lines
    assert any(line.startswith(f"session {'f' * 32}: does not validate") and "user_id" in line for line in lines)
    assert f"session {'9' * 32}: msgs.0.content is not a string" in lines
    assert not any(live in line or "a" * 32 in line for line in lines)
    assert lines[-1].startswith("5 sessions checked")

    Session.objects(id__in=["e" * 32, "f" * 32, "9" * 32]).delete()
    clean = cli(server, "check-data")
    assert clean.exit_code == 0 and "2 sessions checked, 0 problems" in clean.stdout
