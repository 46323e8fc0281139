"""JWT identities exactly as the Go service read them (ORIGINAL.md section 1.2), plus decorators for routes.

flask-jwt-extended finds and verifies the token (header, ``?token=``, the dashboard cookie); its loaders check the
Go claims, build the Identity and answer refusals with the Go service's bodies.

Claims: ``user_id`` (non-empty string), ``roles`` (array of strings, may be empty), optional ``name``, ``exp``
(required outside development), ``nbf``. Any HMAC algorithm. Admin = role ``admin`` or ``chat_admin``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from datetime import timedelta

import jwt as pyjwt
from flask import current_app, g, jsonify, request
from flask_jwt_extended import JWTManager, decode_token, get_current_user, verify_jwt_in_request
from flask_jwt_extended.exceptions import InvalidHeaderError, JWTExtendedException

ADMIN_ROLES = ("admin", "chat_admin")
ALGORITHMS = ["HS256", "HS384", "HS512"]

jwt_manager = JWTManager()


class AuthError(Exception):
    """A token is missing, invalid, or lacks a required role."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


MISSING = AuthError(401, "UNAUTHORIZED", "Invalid authorization header")
INVALID = AuthError(401, "INVALID_TOKEN", "Invalid or expired authentication token")
FORBIDDEN = AuthError(403, "FORBIDDEN", "Insufficient permissions")


@dataclass(frozen=True)
class Identity:
    user_id: str
    roles: tuple[str, ...] = ()
    name: str = ""
    exp: int | None = field(default=None, compare=False)

    @property
    def is_admin(self) -> bool:
        return any(role in ADMIN_ROLES for role in self.roles)

    @property
    def display_name(self) -> str:
        return self.name or self.user_id


DASHBOARD_COOKIE = "chatbox_admin"  # HttpOnly cookie holding the admin's JWT after dashboard sign-in
TOKEN_ERRORS = (JWTExtendedException, pyjwt.PyJWTError)


def init_app(app) -> None:
    """flask-jwt-extended reads tokens: the ``Authorization: Bearer`` header, ``?token=``, the dashboard cookie.

    Its cookie CSRF check stays off: it compares the header with a ``csrf`` claim inside the cookie's JWT, and the
    cookie holds the admin's token as the parent app issued it, which has no such claim. ``admin/guard.py`` checks
    CSRF with a token derived from the cookie instead (README, "Tokens").
    """
    settings = app.config["CHATBOX_SETTINGS"]
    app.config.update(
        JWT_SECRET_KEY=settings.jwt_secret,
        JWT_ALGORITHM="HS256",
        JWT_DECODE_ALGORITHMS=ALGORITHMS,
        JWT_IDENTITY_CLAIM="user_id",
        JWT_TOKEN_LOCATION=["headers", "query_string", "cookies"],
        JWT_QUERY_STRING_NAME="token",
        JWT_ACCESS_COOKIE_NAME=DASHBOARD_COOKIE,
        JWT_COOKIE_CSRF_PROTECT=False,
    )
    jwt_manager.init_app(app)
    # After init_app, which maps this error to "invalid token": an empty ``Bearer`` is a missing token to Go.
    app.register_error_handler(InvalidHeaderError, lambda exc: _refusal(MISSING if _empty_bearer() else INVALID))


def go_claims_valid(claims: dict) -> bool:
    """The Go service's claims: ``user_id`` a non-empty string, ``roles`` a list of strings, ``name`` a string if
    present, ``exp`` present outside development."""
    user_id, roles, name = claims.get("user_id"), claims.get("roles"), claims.get("name")
    return (
        isinstance(user_id, str)
        and bool(user_id.strip())
        and isinstance(roles, list)
        and all(isinstance(role, str) for role in roles)
        and (name is None or isinstance(name, str))
        and ("exp" in claims or current_app.config["CHATBOX_SETTINGS"].development)
    )


def identity_of(claims: dict) -> Identity:
    return Identity(
        claims["user_id"], tuple(claims["roles"]), claims.get("name") or claims["user_id"], claims.get("exp")
    )


@jwt_manager.token_verification_loader
def _verify_claims(_header: dict, claims: dict) -> bool:
    return go_claims_valid(claims)


@jwt_manager.user_lookup_loader
def _load_identity(_header: dict, claims: dict) -> Identity:
    return identity_of(claims)


def _refusal(error: AuthError):
    response = jsonify(error=error.message, code=error.code)
    response.status_code = error.status
    return response


# The library's refusals, answered with the Go service's bodies: no token 401 UNAUTHORIZED, any bad one 401
# INVALID_TOKEN (malformed, wrong signature or algorithm, expired, claims of the wrong shape).
jwt_manager.unauthorized_loader(lambda _reason: _refusal(MISSING))
jwt_manager.invalid_token_loader(lambda _reason: _refusal(INVALID))
jwt_manager.expired_token_loader(lambda _header, _claims: _refusal(INVALID))
jwt_manager.token_verification_failed_loader(lambda _header, _claims: _refusal(INVALID))


def _empty_bearer() -> bool:
    return request.headers.get("Authorization", "").strip() == "Bearer"


def request_identity(*locations: str, allow_query_token: bool = False) -> Identity | None:
    """The caller's identity from the first of ``locations`` holding a token (default: the Bearer header, else
    ``?token=`` when allowed, else the dashboard cookie); which one is ``token_location()``.

    Returns None when the request carries no token at all; raises INVALID for a bad one. CSRF checks for
    cookie-authenticated writes are the dashboard's job.
    """
    if not locations:
        locations = ("headers", "query_string", "cookies") if allow_query_token else ("headers", "cookies")
    try:
        found = verify_jwt_in_request(optional=True, locations=list(locations), verify_type=False)
    except InvalidHeaderError:
        if not _empty_bearer():
            raise INVALID from None
        # Go read ``Bearer`` with nothing after it as no header at all: look in the other places.
        rest = [location for location in locations if location != "headers"]
        return request_identity(*rest) if rest else None
    except TOKEN_ERRORS:
        raise INVALID from None
    return get_current_user() if found else None


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return ""
    return header[7:].strip()


def identify(token: str) -> Identity:
    """Validate a token handed over as text (the dashboard sign-in). Raises MISSING or INVALID."""
    if not token:
        raise MISSING
    try:
        claims = decode_token(token)
    except TOKEN_ERRORS:
        raise INVALID from None
    if not go_claims_valid(claims):
        raise INVALID
    return identity_of(claims)


def sign_token(
    secret: str,
    user_id: str,
    roles: list[str] | tuple[str, ...] = (),
    name: str = "",
    expires: timedelta | None = timedelta(hours=12),
) -> str:
    """Sign a token the way a parent app would (development links and tests)."""
    claims = {"user_id": user_id, "roles": list(roles), "name": name or user_id}
    if expires is not None:
        claims["exp"] = int(time.time() + expires.total_seconds())
    return pyjwt.encode(claims, secret, algorithm="HS256")


def require_user(view):
    """Route decorator: a valid Bearer token; the identity is in ``g.identity``. Refusals are the loaders'."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        verify_jwt_in_request(locations=["headers"], verify_type=False)
        g.identity = get_current_user()
        return view(*args, **kwargs)

    return wrapper


def require_admin(view):
    """Route decorator: a valid Bearer token with an admin role (401, then 403)."""

    @functools.wraps(view)
    @require_user
    def wrapper(*args, **kwargs):
        if not g.identity.is_admin:
            raise FORBIDDEN
        return view(*args, **kwargs)

    return wrapper
