"""The sweeps' indexes: created at startup beside the Go service's five, and listed on the status page."""

from __future__ import annotations

import requests
from conftest import admin_token

from chatbox.auth import DASHBOARD_COOKIE
from chatbox.models import Session
from ops.conftest import wait_for

GO_INDEXES = {  # ORIGINAL.md section 3.5: unchanged, so a database shared with the Go service keeps working
    "idx_user_id": [("uid", 1)],
    "idx_start_time": [("ts", -1)],
    "idx_admin_assisted": [("adminAssisted", 1)],
    "idx_user_start_time": [("uid", 1), ("ts", -1)],
    "idx_share_token": [("shareToken", 1)],
}
SWEEP_INDEXES = {
    # the reaper: open sessions (endTs null) idle since a cutoff
    "idx_open_last_activity": [("endTs", 1), ("lastActivity", 1)],
    # the escalation sweep: open help requests older than a cutoff
    "idx_open_help": [("helpRequested", 1), ("endTs", 1), ("helpTs", 1)],
}


def _keys() -> dict:
    info = Session._get_collection().index_information()
    return {name: [(field, int(order)) for field, order in spec["key"]] for name, spec in info.items()}


def test_startup_creates_the_sweep_indexes_beside_the_go_ones(make_server):
    Session._get_collection().drop_indexes()
    make_server()  # create_app starts the index creation in the background
    keys = wait_for(lambda: _keys() if set(SWEEP_INDEXES) <= set(_keys()) else None, 10, "the sweep indexes")
    for name, expected in {**GO_INDEXES, **SWEEP_INDEXES}.items():
        assert keys.get(name) == expected, name


def test_status_page_lists_the_sweep_indexes(make_server):
    server = make_server()
    wait_for(lambda: set(SWEEP_INDEXES) <= set(_keys()), 10, "the sweep indexes")
    page = requests.get(
        server.url + "/dashboard/status",
        headers={"Cookie": f"{DASHBOARD_COOKIE}={admin_token()}"},
        timeout=10,
    ).text
    for name in SWEEP_INDEXES:
        assert f'<tr class="ok" data-index="{name}">' in page, name
    assert "MISSING" not in page
