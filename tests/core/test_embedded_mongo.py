"""The embedded store answers exactly as plain mongomock does, through its lookup tables and in-place updates."""

import mongomock
import pytest
from pymongo.errors import DuplicateKeyError

from chatbox.embedded_mongo import IndexedClient
from chatbox.store_calls import calls


def twin_collections():
    """The same data in plain mongomock and in the indexed client, with the session indexes declared."""
    made = []
    for client_class in (mongomock.MongoClient, IndexedClient):
        collection = client_class()[f"twin_{client_class.__name__}"]["sessions"]  # one server store: two dbs
        collection.drop()
        collection.create_index([("uid", 1)], name="idx_user_id")
        collection.create_index([("shareToken", 1)], name="idx_share_token", unique=True, sparse=True)
        for n in range(30):
            doc = {"_id": f"s{n}", "uid": f"u{n % 4}", "n": n, "msgs": [{"seq": 1}]}
            if n % 3 == 0:
                doc["endTs"] = n
            if n % 10 == 0:
                doc["shareToken"] = f"t{n}"
            collection.insert_one(doc)
        made.append(collection)
    return made


QUERIES = [
    {"_id": "s3"},
    {"_id": "missing"},
    {"_id": "s3", "uid": "u0"},
    {"_id": "s3", "uid": "u3"},
    {"uid": "u1"},
    {"uid": "u3"},  # s1 moves here
    {"uid": "u0"},  # u2 moves here
    {"uid": "u9"},  # s5 is replaced into here
    {"uid": "u1", "endTs": None},
    {"uid": "nobody"},
    {"uid": {"$in": ["u1", "u2"]}},
    {"shareToken": "t10"},
    {"shareToken": "t77"},
    {"shareToken": None},
    {"endTs": None},
    {"n": {"$gt": 25}},
]

WRITES = [
    lambda c: c.update_one({"_id": "s1"}, {"$set": {"uid": "u3"}}),
    lambda c: c.update_one({"_id": "s2"}, {"$push": {"msgs": {"seq": 2}}, "$max": {"lastSeq": 2}, "$inc": {"k": 1}}),
    lambda c: c.update_one({"_id": "s4", "msgs.seq": 1}, {"$set": {"msgs.$.t": "x"}}),
    lambda c: c.replace_one({"_id": "s5"}, {"uid": "u9", "n": 5}),
    lambda c: c.delete_one({"_id": "s6"}),
    lambda c: c.insert_one({"_id": "new", "uid": "u1", "n": 99}),
    lambda c: c.update_many({"uid": "u2"}, {"$set": {"uid": "u0"}}),
    lambda c: c.update_one({"_id": "s7"}, {"$set": {"shareToken": "t77"}}),
    lambda c: c.update_one({"_id": "nope"}, {"$set": {"uid": "u1"}}, upsert=True),
]


def results(collection, query):
    return sorted(collection.find(query), key=lambda d: d["_id"])


def test_every_query_matches_plain_mongomock_before_and_after_each_kind_of_write():
    plain, indexed = twin_collections()
    for write in [None, *WRITES]:
        if write is not None:
            write(plain)
            write(indexed)
        for query in QUERIES:
            assert results(indexed, query) == results(plain, query), (query, write)


def test_an_in_place_update_reports_like_mongomock_and_changes_only_its_document():
    plain, indexed = twin_collections()
    for collection in (plain, indexed):
        hit = collection.update_one({"_id": "s2"}, {"$push": {"msgs": {"seq": 2}}, "$set": {"a": 1}})
        miss = collection.update_one({"_id": "s2", "uid": "other"}, {"$set": {"a": 2}})
        assert (hit.matched_count, miss.matched_count) == (1, 0)
    assert list(indexed.find()) == list(plain.find())


def test_unique_indexes_still_refuse_duplicates():
    _, indexed = twin_collections()
    with pytest.raises(DuplicateKeyError):
        indexed.update_one({"_id": "s1"}, {"$set": {"shareToken": "t10"}})
    assert indexed.find_one({"_id": "s1"}).get("shareToken") is None  # rolled back


def test_each_public_call_counts_once():
    _, indexed = twin_collections()
    before = calls.snapshot()
    indexed.find_one({"_id": "s1"})  # mongomock's find_one calls find inside: still one read
    list(indexed.find({"uid": "u1"}))
    indexed.update_one({"_id": "s1"}, {"$set": {"x": 1}})
    assert calls.since(before) == (2, 1)
