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
from mongomock.filtering import filter_applies

from chatbox.store_calls import count_methods

_KEYS = (str, int, ObjectId, type(None))  # values whose Python equality agrees with MongoDB's for an exact match


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
            if field in filter and type(filter[field]) in _KEYS:
                table.refresh(store)
                ids = table.ids(filter[field])
                return [store[i] for i in ids if i in store]
        return None

    def _insert(self, data, *args, **kwargs):
        inserted = super()._insert(data, *args, **kwargs)
        for table in _tables(self._store).values():
            table.add(data)
        return inserted

    def _update(self, spec, document, *args, **kwargs):
        for field, table in _tables(self._store).items():
            if _may_change(document, field):
                table.stale = True
        return super()._update(spec, document, *args, **kwargs)

    def with_options(self, *args, **kwargs):
        collection = super().with_options(*args, **kwargs)
        if type(collection) is mongomock.Collection:
            collection.__class__ = IndexedCollection  # mongomock builds the base class by name
        return collection


count_methods(IndexedCollection)


class _Table:
    """value -> ids of the documents holding it (a superset: matches are checked again); rebuilt when stale."""

    def __init__(self, field: str):
        self.field, self.stale, self._by_value, self._loose = field, True, {}, {}

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


def _may_change(document, field: str) -> bool:
    if isinstance(document, list) or not any(key.startswith("$") for key in document):
        return True  # a pipeline or a replacement
    return any(field in (key.split(".")[0] for key in fields) for fields in document.values())


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
