"""An admin withdraws a session's share link from the dashboard (issue 12, item 15); audited; CSRF-guarded."""

import requests
from conftest import token

from chatbox.models import AuditEntry

from .conftest import ADMIN


def shared(server, connect) -> tuple[str, str]:
    client = connect("alice", target=server)
    client.send(type="user_message", content="hello")
    sid = client.reply()[0]["session_id"]
    answer = requests.post(
        f"{server.url}/sessions/{sid}/share", headers={"Authorization": f"Bearer {token('alice')}"}, timeout=10
    ).json()
    return sid, answer["share_token"]


def test_admin_revokes_from_the_session_panel(server, http, connect):
    sid, share = shared(server, connect)
    page = http.get(f"/dashboard/sessions/{sid}", cookie=ADMIN)
    assert "Revoke link" in page.text
    refused = http.post(f"/dashboard/sessions/{sid}/share/revoke", cookie=ADMIN)  # no CSRF token
    assert refused.status_code == 403
    assert requests.get(f"{server.url}/shared/{share}", timeout=10).status_code == 200
    done = http.post(f"/dashboard/sessions/{sid}/share/revoke", cookie=ADMIN, csrf=http.csrf(ADMIN))
    assert done.status_code == 200 and "Revoke link" not in done.text
    assert requests.get(f"{server.url}/shared/{share}", timeout=10).status_code == 404
    assert "share_revoked" in [a.action for a in AuditEntry.objects(session_id=sid)]


def test_users_cannot_use_the_dashboard_route(server, http, connect):
    sid, share = shared(server, connect)
    response = http.post(f"/dashboard/sessions/{sid}/share/revoke", bearer=token("alice"))
    assert response.status_code in (302, 403)
    assert requests.get(f"{server.url}/shared/{share}", timeout=10).status_code == 200
