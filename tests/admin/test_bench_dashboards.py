"""bench/dashboards.py: the "two dashboards open" load opens the list and keeps its live stream, against a real server."""

import sys
from pathlib import Path

import gevent

from chatbox.events import SessionChanged

from .conftest import ADMIN, make_session

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from dashboards import Dashboards  # noqa: E402


def test_two_dashboards_watch_and_stop(server):
    make_session("s1")
    boards = Dashboards(f"http://127.0.0.1:{server.port}", ADMIN, count=2, prefix=server.prefix).start()
    changes = server.services.admin_live
    for _ in range(20):
        if len(changes._queues) == 2:
            break
        gevent.sleep(0.05)
    changes.publish(SessionChanged("s1"))
    gevent.sleep(1.0)
    totals = boards.stop()
    assert totals["dashboards"] == 2 and totals["pages"] == 2 and totals["errors"] == 0
    assert totals["row_events"] == 2 and totals["list_refreshes"] == 0
