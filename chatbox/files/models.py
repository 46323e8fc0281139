"""The ``files`` collection: one document per stored file (uploads and AI-generated files)."""

from __future__ import annotations

from typing import ClassVar

import mongoengine as me


class FileRecord(me.Document):
    meta: ClassVar[dict] = {
        "collection": "files",
        "strict": False,
        "auto_create_index": False,
        "indexes": [
            {"fields": ["owner", "-created"], "name": "idx_files_owner"},
            {"fields": ["session"], "name": "idx_files_session", "sparse": True},
        ],
    }

    id = me.StringField(primary_key=True, db_field="_id")  # random, unguessable: it is part of the file URL
    owner = me.StringField(db_field="owner", required=True)  # user id of the uploader (or the session's user)
    session = me.StringField(db_field="sid")  # session it was sent in, when known
    key = me.StringField(db_field="key", required=True)  # storage key (opaque; never user input)
    store = me.StringField(db_field="store")  # local | s3, where the bytes were put
    name = me.StringField(db_field="name", required=True)
    size = me.IntField(db_field="size", required=True)
    mime = me.StringField(db_field="mime", required=True)
    sha256 = me.StringField(db_field="sha256", required=True)
    origin = me.StringField(db_field="origin", default="upload")  # upload | ai
    created = me.DateTimeField(db_field="ts", required=True)
