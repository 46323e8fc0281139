"""The embedded database (no MONGO_URI): mongomock, with the indexes the service declares actually used.

mongomock keeps a collection as one ordered dict and answers every query, a write by ``_id`` included, by testing
each stored document. ``IndexedClient`` is a thin subclass whose collections answer a query that names a plain
value for ``_id`` or for the first field of a declared index (``uid``, ``shareToken`` …) from a lookup table, then
apply the whole filter to those candidates as before; everything else is mongomock unchanged. So an exchange costs
the same with 10,000 stored sessions as with none, and the code that runs against it is the code that runs against
a real MongoDB.
"""

from __future__ import annotations

import mongomock
from bson import ObjectId
from mongomock import helpers
from mongomock.filtering import filter_applies

from chatbox.store_calls import count_methods

_KEYS = (str, int, ObjectId, type(None))
_IN_PLACE_OPERATORS = frozenset(
    {"$set", "$unset", "$inc", "$max", "$min", "$push"}
)  # values whose Python equality agrees with MongoDB's for an exact match


class IndexedCollection(mongomock.Collection):
    """A mongomock collection with lookup tables for ``_id`` and the first field of every declared index."""

    def _iter_documents(self, filter):
        candidates = self._candidates(filter or {})
        if candidates is None:
            return super()._iter_documents(filter)
        return (document for document in candidates if filter_applies(filter, document))

    def _candidates(self, filter: dict) -> list | None:
        """The only documents that can match ``filter``, or None when no table narrows it down."""
        store = self._store
        key = filter.get("_id")
        if type(key) in (str, int, ObjectId):
            return [store[key]] if key in store else []
        tables = _tables(store)
        for field, table in tables.items():
            if field in filter and type(filter[field]) in _KEYS and not table.suspended:
                table.refresh(store)
                ids = table.ids(filter[field])
                return [store[i] for i in ids if i in store]
        return None

    def _insert(self, data, *args, **kwargs):
        inserted = super()._insert(data, *args, **kwargs)
        for table in _tables(self._store).values():
            table.add(data)
        return inserted

    def _update(self, spec, document, upsert=False, *args, **kwargs):
        # A table whose field this update may change is not used until it is done (mongomock looks documents up
        # before and after changing them), then rebuilt on its next use.
        touched = _touched(document)
        changing = [table for field, table in _tables(self._store).items() if _may_change(touched, field)]
        for table in changing:
            table.suspended += 1
        try:
            if not upsert and not args and not any(kwargs.values()) and self._in_place(spec, document, touched):
                return self._update_in_place(spec, document)
            return super()._update(spec, document, upsert, *args, **kwargs)
        finally:
            for table in changing:
                table.suspended -= 1
                table.stale = True

    def _in_place(self, spec: dict, document, touched: frozenset | None) -> bool:
        """True for an update of one document by ``_id`` that cannot need mongomock's rollback: it touches neither
        ``_id`` nor a field of a unique index. mongomock deep-copies the whole document first for that rollback,
        which costs as much as the session's whole history on every message."""
        if type(spec.get("_id")) not in (str, int, ObjectId) or not isinstance(document, dict) or not document:
            return False
        if not all(key in _IN_PLACE_OPERATORS for key in document):
            return False
        guarded = {"_id"} | {
            key for index in self._store.indexes.values() if index.get("unique") for key, _ in index["key"]
        }
        return not any(_may_change(touched, field) for field in guarded)

    def _update_in_place(self, spec: dict, document: dict) -> dict:
        """mongomock's own update of the one matching document, without the snapshot taken for a rollback."""
        matched = next(iter(self._iter_documents(spec)), None)
        if matched is not None:
            document = helpers.patch_datetime_awareness_in_document(document)
            self._apply_update_document(matched, spec, document, False)
        found = int(matched is not None)
        return {"n": found, "nModified": found, "ok": 1, "upserted": None, "updatedExisting": bool(found), "err": None}

    def with_options(self, *args, **kwargs):
        collection = super().with_options(*args, **kwargs)
        if type(collection) is mongomock.Collection:
            collection.__class__ = IndexedCollection  # mongomock builds the base class by name
        return collection


count_methods(IndexedCollection)


class _Table:
    """value -> ids of the documents holding it (a superset: matches are checked again); rebuilt when stale."""

    def __init__(self, field: str):
        self.field, self.stale, self.suspended, self._by_value, self._loose = field, True, 0, {}, {}

    def refresh(self, store) -> None:
        if self.stale:
            self._by_value, self._loose, self.stale = {}, {}, False
            for document in store.documents:
                self.add(document)

    def add(self, document: dict) -> None:
        if self.stale:
            return  # the next lookup rebuilds the whole table
        value = document.get(self.field)
        # A list or sub-document can match in ways a table cannot tell: such documents are always candidates.
        bucket = self._by_value.setdefault(value, {}) if type(value) in _KEYS else self._loose
        bucket[document["_id"]] = None

    def ids(self, value) -> list:
        return [*self._by_value.get(value, {}), *self._loose]


def _tables(store) -> dict[str, _Table]:
    """The tables of a collection's store, one per first field of its declared indexes."""
    tables = store.__dict__.setdefault("_chatbox_tables", {})
    for index in store.indexes.values():
        field = index["key"][0][0]
        if field != "_id" and "." not in field and field not in tables:
            tables[field] = _Table(field)
    return tables


def _touched(document) -> frozenset | None:
    """The top-level fields an update document may change; None for a pipeline or a replacement (any field)."""
    if isinstance(document, list) or not any(key.startswith("$") for key in document):
        return None
    return frozenset(key.split(".", 1)[0] for fields in document.values() for key in fields)


def _may_change(touched: frozenset | None, field: str) -> bool:
    return touched is None or field in touched


class IndexedDatabase(mongomock.Database):
    def get_collection(self, name, *args, **kwargs):
        collection = super().get_collection(name, *args, **kwargs)
        if type(collection) is mongomock.Collection:
            collection.__class__ = IndexedCollection
        return collection


class IndexedClient(mongomock.MongoClient):
    """mongomock's client whose databases hand out indexed, counted collections."""

    def get_database(self, *args, **kwargs):
        database = super().get_database(*args, **kwargs)
        if type(database) is mongomock.Database:
            database.__class__ = IndexedDatabase
        return database
