"""Issue 12, item 14: a socket opened without ``session_id`` is told its user's active session in the greeting.

Clients written for the Go service reload into an empty page unless the first ``connection_status`` names it.
"""

from tests.chat.test_go_compat import KEY, go_session


def test_a_go_written_active_session_is_named_in_the_first_greeting(make_server, connect):
    server = make_server(encryption_key=KEY)
    go_session()
    client = connect("alice", target=server)
    assert client.greeting["type"] == "connection_status"
    assert client.greeting["session_id"] == "a" * 32


def test_every_way_of_connecting_without_a_session_id_names_the_active_one(connect):
    first = connect("alice")
    first.send(type="user_message", content="Hello.")
    sid = first.reply()[-1]["session_id"]
    for query in ({}, {"session_id": ""}, {"last_seq": 0}):
        again = connect("alice", **query)
        assert again.greeting["type"] == "connection_status" and again.greeting["session_id"] == sid, query
    other = connect("bob")
    assert "session_id" not in other.greeting  # bob has no session; alice's is not his
