"""Connecting mongoengine: a real MongoDB from MONGO_URI, or one in-process (indexed) mongomock client per process."""

from __future__ import annotations

import logging

import mongoengine
from mongoengine.connection import get_connection
from pymongo.uri_parser import parse_uri

from chatbox.store_calls import CommandCounter

log = logging.getLogger("chatbox.storage")
_current: tuple | None = None


def connect(settings) -> None:
    """Bind the default mongoengine alias (idempotent for the same target, so apps in one process share it)."""
    global _current
    target = (settings.mongo_uri, settings.mongo_database)
    if _current == target:
        return
    mongoengine.disconnect(alias="default")
    timeout_ms = int(settings.mongo_connect_timeout * 1000)
    if settings.mongo_uri:
        database = parse_uri(settings.mongo_uri).get("database") or settings.mongo_database
        mongoengine.connect(
            db=database,
            host=settings.mongo_uri,
            uuidRepresentation="standard",
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            event_listeners=[CommandCounter()],
        )
        log.info("MongoDB configured", extra={})
    else:
        from chatbox.embedded_mongo import IndexedClient

        mongoengine.connect(settings.mongo_database, mongo_client_class=IndexedClient, uuidRepresentation="standard")
        log.warning(
            "MONGO_URI is not set: using an in-process mongomock database; data lives only as long as this "
            "process (development only)"
        )
    _current = target


def client():
    return get_connection("default")
