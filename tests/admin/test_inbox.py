"""The inbox list over HTTP: help first, view chips, search, sorting, paging, bad parameters, and the live row
stream (only the rows that changed, placed by id; streams end at once on shutdown)."""

import re
import time
from datetime import timedelta

import gevent
import pytest

from chatbox.clock import utcnow
from chatbox.events import SessionChanged
from chatbox.models import Session

from .conftest import ADMIN, make_session
from .test_takeover_live import SseReader


@pytest.fixture
def inbox():
    now = utcnow()
    make_session("help1", user="hana", start=now - timedelta(minutes=9), messages=3, help_requested=True, name="Refund")
    make_session("act1", user="bob", start=now - timedelta(minutes=30), messages=6, name="Shipping times")
    make_session("asst1", user="carol", start=now - timedelta(hours=3), messages=4, admin_assisted=True, name="Reset")
    make_session("end1", user="bobby", start=now - timedelta(days=2), end=now - timedelta(days=1), messages=2)


def row_ids(html):
    return re.findall(r'<tr id="row-([^"]+)"', html)


def test_help_first_then_the_views(http, inbox):
    page = http.get("/dashboard/", cookie=ADMIN).text
    assert row_ids(page) == ["help1", "act1", "asst1", "end1"]
    assert page.index('id="help-rows"') < page.index('id="row-help1"') < page.index('id="rows"')
    cases = {
        "help": (["help1"], "Needs help"),
        "assisted": (["asst1"], "Assisted"),
        "active": (["help1", "act1", "asst1"], "Active"),
        "ended": (["end1"], "Ended"),
    }
    for view, (expected, label) in cases.items():
        partial = http.get(f"/dashboard/?view={view}", cookie=ADMIN, headers={"HX-Request": "true"}).text
        assert "<html" not in partial and row_ids(partial) == expected, view
        assert f' aria-current="true">{label}</a>' in partial


@pytest.mark.parametrize(
    "search,expected",
    [
        ("bob", ["act1", "end1"]),
        ("bobby", ["end1"]),
        ("SHIPPING", ["act1"]),
        ("ob", []),
        (".*", []),
        ("Refund", ["help1"]),
    ],
)
def test_search_by_user_id_start_or_any_part_of_the_name(http, inbox, search, expected):
    page = http.get("/dashboard/", cookie=ADMIN, params={"q": search}).text
    assert row_ids(page) == expected


def test_sort_headers_say_their_order_and_flip(http, inbox):
    page = http.get("/dashboard/?sort_by=message_count&sort_order=asc", cookie=ADMIN).text
    assert row_ids(page) == ["help1", "end1", "asst1", "act1"]  # help stays on top, then 2, 4, 6 messages
    assert 'class="col-num" aria-sort="ascending"' in page and 'class="col-last" aria-sort="none"' in page
    assert 'href="/chat/dashboard/?sort_by=message_count"' in page  # clicking again: descending (the default)


def test_the_list_is_paged(http):
    start = utcnow() - timedelta(hours=1)
    for index in range(60):
        make_session(f"p{index:02d}", start=start + timedelta(seconds=index))
    first = http.get("/dashboard/?sort_by=start_time", cookie=ADMIN).text
    assert len(row_ids(first)) == 50 and row_ids(first)[0] == "p59" and "60 conversations" in first
    assert 'rel="next" href="/chat/dashboard/?sort_by=start_time&amp;offset=50"' in first
    second = http.get("/dashboard/?sort_by=start_time&offset=50", cookie=ADMIN).text
    assert row_ids(second) == [f"p{i:02d}" for i in range(9, -1, -1)] and 'rel="next"' not in second


@pytest.mark.parametrize(
    "query,message",
    [
        ("view=paused", "invalid view &#34;paused&#34;; allowed: all, help, assisted, active, ended"),
        ("sort_by=tokens", "invalid sort_by field &#34;tokens&#34;"),
        ("sort_order=up", "invalid sort_order &#34;up&#34;"),
        ("offset=-5", "invalid offset &#34;-5&#34;"),
        ("q=" + "x" * 101, "search exceeds maximum length of 100 characters"),
    ],
)
def test_bad_list_parameters_are_named(http, query, message):
    response = http.get("/dashboard/?" + query, cookie=ADMIN)
    assert response.status_code == 400 and message in response.text
    events = http.get("/dashboard/events?" + query, cookie=ADMIN)
    assert events.status_code == 400


def test_the_live_stream_sends_only_the_rows_that_changed(server, inbox):
    for index in range(200):
        make_session(f"bulk{index:03d}", start=utcnow() - timedelta(days=3, minutes=index), messages=1)
    changes = server.services.admin_live
    stream = SseReader(f"{server.url}/dashboard/events?view=active", ADMIN)
    try:
        stream.wait_for(": connected")
        Session.objects(id="act1").update_one(set__name="Renamed live")
        changes.publish(SessionChanged("act1"))
        stream.wait_for("event: row")
        stream.wait_for("Renamed live")
        assert row_ids(stream.text) == ["act1"]  # one row, not the list
        Session.objects(id="act1").update_one(set__end=utcnow())
        changes.publish(SessionChanged("act1"))
        stream.wait_for('<tr id="row-act1" data-remove="true">')  # it left the "active" view
        before = stream.text.count("event: row")
        for sid in ("help1", "asst1", "help1", "asst1"):  # a burst becomes one event
            changes.publish(SessionChanged(sid))
        stream.wait_for('id="row-asst1"')
        gevent.sleep(1.5)
        assert stream.text.count("event: row") == before + 1
    finally:
        stream.close()


def test_open_streams_end_at_once_on_shutdown(make_server):
    server = make_server()
    make_session("s1")
    lists = SseReader(f"{server.url}/dashboard/events", ADMIN)
    one = SseReader(f"{server.url}/dashboard/sessions/s1/stream", ADMIN)
    try:
        lists.wait_for(": connected")
        one.wait_for(": connected")
        started = time.monotonic()
        server.services.lifecycle.shutdown(grace=5.0)
        for reader in (lists, one):
            reader.greenlet.join(timeout=3)
            assert reader.greenlet.dead, "a dashboard stream outlived the shutdown"
        assert time.monotonic() - started < 2.0
        late = SseReader(f"{server.url}/dashboard/events", ADMIN)  # a browser reconnecting while draining
        late.greenlet.join(timeout=3)
        assert late.greenlet.dead
    finally:
        lists.close()
        one.close()


def test_a_users_page_keeps_to_that_user_when_a_conversation_opens(http, inbox):
    page = http.get("/dashboard/users/bob", cookie=ADMIN).text
    assert row_ids(page) == ["act1"]
    assert 'href="/chat/dashboard/sessions/act1?user=bob"' in page
    opened = http.get("/dashboard/sessions/act1?user=bob", cookie=ADMIN).text
    assert row_ids(opened) == ["act1"] and 'data-sid="act1"' in opened and "User <span" in opened
    assert 'sse-connect="/chat/dashboard/events?user=bob"' in opened


def test_with_encrypted_names_the_list_shows_and_finds_them(make_server):
    from .conftest import Http

    server = make_server(encryption_key="k" * 32)
    keyring = server.services.store.keyring
    make_session("enc1", user="dora", start=utcnow() - timedelta(minutes=5), name=keyring.encrypt("Lost parcel"))
    assert Session._get_collection().find_one({"_id": "enc1"})["nm"] != "Lost parcel"  # stored sealed
    http = Http(server)
    page = http.get("/dashboard/", cookie=ADMIN).text
    assert ">Lost parcel</a>" in page
    assert row_ids(http.get("/dashboard/", cookie=ADMIN, params={"q": "parcel"}).text) == ["enc1"]
    assert row_ids(http.get("/dashboard/", cookie=ADMIN, params={"q": "nothing"}).text) == []
