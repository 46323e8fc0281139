"""JWT identities exactly as the Go service read them (ORIGINAL.md section 1.2), plus decorators for routes.

Claims: ``user_id`` (non-empty string), ``roles`` (array of strings, may be empty), optional ``name``, ``exp``
(required outside development), ``nbf``. Any HMAC algorithm. Admin = role ``admin`` or ``chat_admin``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from datetime import timedelta

import jwt as pyjwt
from flask import current_app, g, request
from flask_jwt_extended import JWTManager

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


def init_app(app) -> None:
    settings = app.config["CHATBOX_SETTINGS"]
    app.config.update(
        JWT_SECRET_KEY=settings.jwt_secret,
        JWT_ALGORITHM="HS256",
        JWT_DECODE_ALGORITHMS=ALGORITHMS,
        JWT_IDENTITY_CLAIM="user_id",
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(hours=12),
    )
    jwt_manager.init_app(app)


def decode(token: str, secret: str, require_exp: bool) -> Identity:
    """Validate a token and return its identity. Raises INVALID for anything wrong with it."""
    if not token:
        raise MISSING
    try:
        header = pyjwt.get_unverified_header(token)
        if header.get("alg") not in ALGORITHMS:
            raise INVALID
        claims = pyjwt.decode(
            token,
            secret,
            algorithms=ALGORITHMS,
            options={"require": ["exp"] if require_exp else [], "verify_aud": False},
        )
    except pyjwt.PyJWTError:
        raise INVALID from None
    user_id, roles, name = claims.get("user_id"), claims.get("roles"), claims.get("name")
    if not isinstance(user_id, str) or not user_id.strip():
        raise INVALID
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise INVALID
    if name is not None and not isinstance(name, str):
        raise INVALID
    return Identity(user_id=user_id, roles=tuple(roles), name=name or user_id, exp=claims.get("exp"))


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return ""
    return header[7:].strip()


DASHBOARD_COOKIE = "chatbox_admin"  # HttpOnly cookie holding the admin's JWT after dashboard sign-in


def request_identity(allow_query_token: bool = False) -> Identity | None:
    """The caller's identity from the Bearer header, else ``?token=`` (when allowed), else the dashboard cookie.

    Returns None when the request carries no token at all; raises INVALID for a bad one. CSRF checks for
    cookie-authenticated writes are the dashboard's job.
    """
    token = bearer_token()
    if not token and allow_query_token:
        token = request.args.get("token", "").strip()
    if not token:
        token = request.cookies.get(DASHBOARD_COOKIE, "")
    return identify(token) if token else None


def identify(token: str) -> Identity:
    settings = current_app.config["CHATBOX_SETTINGS"]
    return decode(token, settings.jwt_secret, require_exp=not settings.development)


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
    """Route decorator: a valid Bearer token; the identity is in ``g.identity``."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        token = bearer_token()
        if not token:
            raise MISSING
        g.identity = identify(token)
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
