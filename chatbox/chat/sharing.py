"""Share links with a lifetime (SHARE_TTL): made by the owner, withdrawn by the owner or an admin.

An expired or withdrawn link answers exactly like one that never existed, and the files it granted go with it.
A link the Go service made has no lifetime in its document; it gets SHARE_TTL from the first time we read it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chatbox.clock import utcnow
from chatbox.models import Session
from chatbox.store import SessionStore


def expiry(settings) -> datetime:
    return utcnow() + timedelta(seconds=settings.share_ttl)


def live_share(store: SessionStore, token: str, settings) -> Session | None:
    """The session a share token opens, or None when it is unknown, withdrawn or expired."""
    session = store.by_share_token(token.strip()) if token else None
    if session is None:
        return None
    if session.share_expires is None:
        session.share_expires = expiry(settings)
        store.set_share_expiry(session.id, token, session.share_expires)
    return session if session.share_expires > utcnow() else None
