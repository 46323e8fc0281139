"""The inbox's session list: which sessions a view shows, read as light rows (a projection, never the messages).

The list and its live updates share ``rows``: the first render reads one page, each live push reads only the
sessions that changed (by id) under the same filter, so a busy server costs a watching dashboard a few rows, not
the whole list. Help requests waiting for a person come first, in their own group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from chatbox import context
from chatbox.admin.queries import MAX_USER_ID, bad_request, ids_named
from chatbox.chat.protocol import format_api_time
from chatbox.clock import utcnow
from chatbox.models import Session

# view key -> (label, filter). "help" is a session whose user is waiting for a person (taking over clears it).
HELP_WAITING = {"helpRequested": True, "endTs": None}
VIEWS = {
    "all": ("All", {}),
    "help": ("Needs help", HELP_WAITING),
    "assisted": ("Assisted", {"adminAssisted": True}),
    "active": ("Active", {"endTs": None}),
    "ended": ("Ended", {"endTs": {"$ne": None}}),
}
# Sort keys of the list headers and the stored fields they sort by (idx_start_time, idx_user_id serve two of them).
SORTS = ("last_activity", "start_time", "message_count", "user_id")
FIND_SORTS = {"start_time": "ts", "last_activity": "lastActivity", "user_id": "uid"}
PAGE_SIZE, MAX_SEARCH = 50, 100
ROW_FIELDS = {
    "uid": 1,
    "nm": 1,
    "ts": 1,
    "endTs": 1,
    "helpRequested": 1,
    "adminAssisted": 1,
    "assistingAdminName": 1,
    "takeoverBy": 1,
    "takeoverName": 1,
    "totalTokens": 1,
    "_last": {"$ifNull": ["$lastActivity", "$ts"]},
    "_count": {"$size": {"$ifNull": ["$msgs", []]}},
}


@dataclass(frozen=True)
class ListQuery:
    """A validated inbox list request: view chip, search, sort, page (and a fixed user on the user's page)."""

    view: str = "all"
    search: str = ""
    sort_by: str = "last_activity"
    sort_order: str = "desc"
    offset: int = 0
    user_id: str = ""

    @classmethod
    def from_args(cls, args, user_id: str = "") -> ListQuery:
        """Raises ApiError 400 naming the bad parameter."""
        view = args.get("view", "") or "all"
        if view not in VIEWS:
            raise bad_request(f'invalid view "{view}"; allowed: {", ".join(VIEWS)}')
        search = args.get("q", "").strip()
        if len(search) > MAX_SEARCH:
            raise bad_request(f"search exceeds maximum length of {MAX_SEARCH} characters")
        sort_by, sort_order = args.get("sort_by", "") or "last_activity", args.get("sort_order", "") or "desc"
        if sort_by not in SORTS:
            raise bad_request(f'invalid sort_by field "{sort_by}"; allowed: {", ".join(SORTS)}')
        if sort_order not in ("asc", "desc"):
            raise bad_request(f'invalid sort_order "{sort_order}"; allowed: asc, desc')
        offset = args.get("offset", "") or "0"
        if not offset.isdigit():
            raise bad_request(f'invalid offset "{offset}"')
        if len(user_id) > MAX_USER_ID:
            raise bad_request(f"user_id exceeds maximum length of {MAX_USER_ID} characters")
        return cls(view, search, sort_by, sort_order, int(offset), user_id)

    def match(self) -> dict:
        query = dict(VIEWS[self.view][1])
        if self.user_id:
            query["uid"] = self.user_id
        if self.search:
            # A user id by its start (uses idx_user_id), or any part of the session's name, any case. Names are
            # stored encrypted, so they are matched after decryption (among the newest sessions of this view).
            pattern = re.escape(self.search)
            named = ids_named(self.search, dict(query))
            query["$or"] = [{"uid": {"$regex": "^" + pattern}}, {"_id": {"$in": named}}]
        return query

    def params(self, **changes) -> dict:
        """The list's URL parameters (defaults left out), with ``changes`` applied."""
        values = {
            "view": self.view,
            "q": self.search,
            "sort_by": self.sort_by,
            "sort_order": self.sort_order,
            "offset": self.offset,
        }
        values.update(changes)
        values["user"] = self.user_id  # a user's page: the list keeps to that user when a conversation opens
        defaults = {"view": "all", "q": "", "sort_by": "last_activity", "sort_order": "desc", "offset": 0, "user": ""}
        return {k: v for k, v in values.items() if v != defaults[k]}

    def link(self, **changes) -> str:
        params = self.params(**changes)
        return "?" + urlencode(params) if params else "?"

    @property
    def live_insert(self) -> bool:
        """New sessions belong at the top of this list (first page, newest first)."""
        return self.offset == 0 and self.sort_order == "desc" and self.sort_by in ("last_activity", "start_time")


def _fetch(match: dict, sort_by: str, direction: int, skip: int = 0, limit: int = 0) -> list[dict]:
    """Rows in order: a plain find on stored fields (indexable), an aggregate only to sort by message count."""
    if sort_by == "message_count":
        window = [{"$skip": skip}] + ([{"$limit": limit}] if limit else [])
        order = {"$sort": {"_count": direction, "_id": direction}}
        return list(Session._get_collection().aggregate([{"$match": match}, {"$project": ROW_FIELDS}, order, *window]))
    # Sessions written without lastActivity (older Go data) sort as if they had none; their row shows the start.
    cursor = Session._get_collection().find(match, LIVE_FIELDS)
    cursor = cursor.sort([(FIND_SORTS[sort_by], direction), ("_id", direction)]).skip(skip).limit(limit)
    return [_with_counts(doc) for doc in cursor]


def _with_counts(doc: dict) -> dict:
    doc["_count"], doc["_last"] = len(doc.get("msgs") or []), doc.get("lastActivity") or doc.get("ts")
    return doc


def _without_help(match: dict) -> dict:
    return {"$and": [match, {"$nor": [HELP_WAITING]}]} if match else {"$nor": [HELP_WAITING]}


def page(query: ListQuery) -> tuple[list[dict], list[dict], int]:
    """(help rows, other rows of this page, how many other rows match in all)."""
    match = query.match()
    collection = Session._get_collection()
    direction = 1 if query.sort_order == "asc" else -1
    help_rows: list[dict] = []
    if query.offset == 0:
        waiting = {"$and": [match, HELP_WAITING]}
        help_rows = [row_view(doc) for doc in _fetch(waiting, "start_time", 1, limit=PAGE_SIZE)]
    rest_match = _without_help(match)
    docs = _fetch(rest_match, query.sort_by, direction, query.offset, PAGE_SIZE)
    return help_rows, [row_view(doc) for doc in docs], collection.count_documents(rest_match)


# A live push reads its few sessions by id (the _id index) with a plain find: the messages' seq numbers give their
# count, nothing else of them is read (their text never leaves the database).
LIVE_FIELDS = {**{k: v for k, v in ROW_FIELDS.items() if v == 1}, "lastActivity": 1, "msgs.seq": 1}


def rows_for(query: ListQuery, sids: set[str]) -> dict[str, dict | None]:
    """The rows of ``sids`` under this list's filter; None for a session the list no longer shows."""
    match = {"$and": [query.match(), {"_id": {"$in": sorted(sids)}}]}
    found = {doc["_id"]: row_view(_with_counts(doc)) for doc in Session._get_collection().find(match, LIVE_FIELDS)}
    return {sid: found.get(sid) for sid in sids}


def row_view(doc: dict) -> dict:
    """What ``_row.html`` draws, from a projected document."""
    ended = doc.get("endTs") is not None
    return {
        "id": doc["_id"],
        "user_id": doc.get("uid", ""),
        "name": context.services().store.keyring.decrypt(doc.get("nm") or ""),
        "start": format_api_time(doc.get("ts")),
        "last": format_api_time(doc.get("_last") or doc.get("ts")),
        "count": doc.get("_count", 0),
        "active": not ended,
        "help": bool(doc.get("helpRequested")) and not ended,
        "holder": doc.get("takeoverName") or doc.get("takeoverBy") or "",
        "assisted": bool(doc.get("adminAssisted")),
        "assisted_by": doc.get("assistingAdminName") or "",
        "tokens": doc.get("totalTokens") or 0,
    }


def now_text() -> str:
    return format_api_time(utcnow())
