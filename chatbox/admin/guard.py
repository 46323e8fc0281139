"""Dashboard sign-in and request guard: an admin JWT becomes an HttpOnly cookie; cookie writes need a CSRF token.

The CSRF token is an HMAC of the cookie's token under the JWT secret, so it needs no server-side state, changes
with every sign-in, and cannot be computed by a page that cannot read the HttpOnly cookie. It travels in the page's
``<meta name="csrf-token">``, htmx sends it as ``X-CSRF-Token`` on every request, plain forms as ``csrf_token``.
Requests authenticated by a Bearer header (scripts) carry no ambient credentials and need no CSRF token.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import time

from flask import g, make_response, redirect, render_template, request
from flask_jwt_extended import get_jwt_request_location

from chatbox import context
from chatbox.auth import DASHBOARD_COOKIE, AuthError, Identity, bearer_token, identify, request_identity

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def _settings():
    return context.services().settings


def csrf_for(token: str) -> str:
    return hmac.new(_settings().jwt_secret.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


def cookie_path() -> str:
    return _settings().prefix + "/"


def sign_in_response(token: str, identity: Identity, target: str):
    """Redirect to ``target`` with the admin cookie set (HttpOnly, Secure, SameSite=Strict, path ``{P}/``)."""
    response = redirect(target, code=303)
    max_age = max(int(identity.exp - time.time()), 1) if identity.exp else None
    response.set_cookie(
        DASHBOARD_COOKIE, token, max_age=max_age, path=cookie_path(), secure=True, httponly=True, samesite="Strict"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def sign_out_response(target: str):
    response = redirect(target, code=303)
    response.delete_cookie(DASHBOARD_COOKIE, path=cookie_path(), secure=True, httponly=True, samesite="Strict")
    return response


def refusal(status: int, message: str):
    """The sign-in page with a reason, as an HTML response with ``status`` (401 or 403)."""
    response = make_response(render_template("admin/signin.html", error=message), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def check_token(token: str) -> Identity:
    """Decode a token offered for sign-in. Raises AuthError (401 invalid, 403 not an admin)."""
    identity = identify(token)
    if not identity.is_admin:
        raise AuthError(403, "FORBIDDEN", "Insufficient permissions")
    return identity


def _authenticate() -> None:
    identity = request_identity("headers", "cookies")
    if identity is None:
        raise AuthError(401, "UNAUTHORIZED", "Sign in with an admin token")
    if not identity.is_admin:
        raise AuthError(403, "FORBIDDEN", "Insufficient permissions")
    g.identity = identity
    g.cookie_auth = get_jwt_request_location() == "cookies"
    g.csrf_token = csrf_for(request.cookies[DASHBOARD_COOKIE] if g.cookie_auth else bearer_token())


def _csrf_ok() -> bool:
    if not g.cookie_auth or request.method in ("GET", "HEAD", "OPTIONS"):
        return True
    offered = request.headers.get(CSRF_HEADER, "") or request.form.get(CSRF_FIELD, "")
    return bool(offered) and hmac.compare_digest(offered, g.csrf_token)


def require_dashboard_admin(view):
    """Route decorator: an admin by cookie or Bearer token (401/403 as the sign-in page); cookie POSTs need CSRF."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            _authenticate()
        except AuthError as exc:
            return refusal(exc.status, exc.message)
        if not _csrf_ok():
            return refusal(403, "Missing or invalid CSRF token: reload the page and try again")
        return view(*args, **kwargs)

    return wrapper
