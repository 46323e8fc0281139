"""Admin reads of the ``sessions`` collection: list filters and sorts (parsed without I/O), metrics over a window.

Only operators real MongoDB supports are used (``$match``, ``$addFields``, ``$size``, ``$ifNull``, ``$subtract``,
``$sort``, ``$skip``, ``$limit``); no ``$text``, ``$setWindowFields`` or transactions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chatbox import context
from chatbox.admin import stats
from chatbox.chat.protocol import parse_time
from chatbox.clock import utcnow
from chatbox.errors import ApiError
from chatbox.models import Session

SORTS = {
    "start_time": "ts",
    "end_time": "endTs",
    "duration": "_duration",
    "last_activity": "_last",
    "message_count": "_count",
    "total_tokens": "totalTokens",
    "user_id": "uid",
}
DEFAULT_LIMIT, MAX_LIMIT, MAX_USER_ID = 100, 1000, 255
TIME_FORMAT_ERROR = "Invalid time format, expected RFC3339 or YYYY-MM-DD"
# Every moment a filter may name; outside it the window arithmetic (a day added, 24 hours taken) could overflow.
EARLIEST, LATEST = datetime(1970, 1, 1), datetime(9000, 1, 1)
RANGE_ERROR = "Time out of range, expected a moment between 1970-01-01 and 9000-01-01"


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BAD_REQUEST", message)


def parse_moment(text: str, end_of_day: bool = False) -> datetime:
    """RFC3339 or YYYY-MM-DD as naive UTC (a bare date means its last millisecond when ``end_of_day``).

    Raises ApiError 400 with TIME_FORMAT_ERROR.
    """
    value = text.strip()
    try:
        if len(value) == 10:
            moment = datetime.strptime(value, "%Y-%m-%d")
        else:
            moment = parse_time(value)
            # Compare before converting: 0001-01-01T00:00+14:00 is before year 1 in UTC and cannot be converted.
            if not EARLIEST <= moment.replace(tzinfo=None) <= LATEST:
                raise bad_request(RANGE_ERROR)
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except ValueError:
        raise bad_request(TIME_FORMAT_ERROR) from None
    if not EARLIEST <= moment <= LATEST:
        raise bad_request(RANGE_ERROR)
    return moment + timedelta(days=1, milliseconds=-1) if end_of_day and len(value) == 10 else moment


def _leading_int(text: str | None) -> int | None:
    digits = ""
    for index, char in enumerate((text or "").strip()):
        if char.isdigit() or (index == 0 and char in "+-"):
            digits += char
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return None


def _flag(args, name: str) -> bool | None:
    value = args.get(name, "")
    if value == "":
        return None
    if value not in ("true", "false"):
        raise bad_request(f'invalid {name} "{value}"; allowed: true, false')
    return value == "true"


@dataclass
class SessionQuery:
    """A validated ``GET /admin/sessions`` request."""

    user_id: str = ""
    name: str = ""  # part of the session's name, any case
    status: str = ""
    admin_assisted: bool | None = None
    help_requested: bool | None = None
    start_from: datetime | None = None
    start_to: datetime | None = None
    sort_by: str = "start_time"
    sort_order: str = "desc"
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    extra_match: dict = field(default_factory=dict)

    @classmethod
    def from_args(cls, args) -> SessionQuery:
        """Validate query parameters (Go names plus the Go page's ``start_time``/``end_time``). Raises ApiError 400."""
        user_id = args.get("user_id", "").strip()
        if len(user_id) > MAX_USER_ID:
            raise bad_request(f"user_id exceeds maximum length of {MAX_USER_ID} characters")
        name = args.get("name", "").strip()
        if len(name) > MAX_USER_ID:
            raise bad_request(f"name exceeds maximum length of {MAX_USER_ID} characters")
        status = args.get("status", "")
        if status not in ("", "active", "ended"):
            raise bad_request(f'invalid status "{status}"; allowed: active, ended')
        sort_by, sort_order = args.get("sort_by", "") or "start_time", args.get("sort_order", "") or "desc"
        if sort_by not in SORTS:
            raise bad_request(f'invalid sort_by field "{sort_by}"; allowed: {", ".join(SORTS)}')
        if sort_order not in ("asc", "desc"):
            raise bad_request(f'invalid sort_order "{sort_order}"; allowed: asc, desc')
        limit = _leading_int(args.get("limit"))
        limit = DEFAULT_LIMIT if limit is None or limit <= 0 else min(limit, MAX_LIMIT)
        offset = max(_leading_int(args.get("offset")) or 0, 0)
        start_from = args.get("start_time_from", "") or args.get("start_time", "")
        start_to = args.get("start_time_to", "") or args.get("end_time", "")
        return cls(
            user_id=user_id,
            name=name,
            status=status,
            admin_assisted=_flag(args, "admin_assisted"),
            help_requested=_flag(args, "help_requested"),
            start_from=parse_moment(start_from) if start_from else None,
            start_to=parse_moment(start_to, end_of_day=True) if start_to else None,
            sort_by=sort_by,
            sort_order=sort_order,
            limit=limit,
            offset=offset,
        )

    def match(self) -> dict:
        query: dict = dict(self.extra_match)
        if self.user_id:
            query["uid"] = self.user_id
        if self.status:
            query["endTs"] = {"$ne": None} if self.status == "ended" else None
        if self.admin_assisted is not None:
            query["adminAssisted"] = True if self.admin_assisted else {"$ne": True}
        if self.help_requested is not None:
            query["helpRequested"] = True if self.help_requested else {"$ne": True}
        if self.start_from or self.start_to:
            window = {}
            if self.start_from:
                window["$gte"] = self.start_from
            if self.start_to:
                window["$lte"] = self.start_to
            query["ts"] = window
        return query


def list_sessions(query: SessionQuery, now: datetime | None = None) -> tuple[list[Session], int]:
    """One page of sessions in the requested order (ties broken by id), and how many match in all."""
    now = now or utcnow()
    match = query.match()
    if query.name:
        match["_id"] = {"$in": ids_named(query.name, match)}
    direction = 1 if query.sort_order == "asc" else -1
    pipeline = [
        {"$match": match},
        {
            "$addFields": {
                "_count": {"$size": {"$ifNull": ["$msgs", []]}},
                "_last": {"$ifNull": ["$lastActivity", "$ts"]},
                "_duration": {"$subtract": [{"$ifNull": ["$endTs", now]}, "$ts"]},
            }
        },
        {"$sort": {SORTS[query.sort_by]: direction, "_id": direction}},
        {"$skip": query.offset},
        {"$limit": query.limit},
        {"$project": {"_id": 1}},
    ]
    ids = [row["_id"] for row in Session.objects.aggregate(pipeline)]
    store = _store()
    by_id = {session.id: store.readable(session) for session in Session.objects(id__in=ids)}
    total = Session._get_collection().count_documents(match)
    return [by_id[sid] for sid in ids if sid in by_id], total


def help_waiting(limit: int = 50) -> list[Session]:
    """Active sessions whose user asked for help, oldest request first."""
    store = _store()
    query = Session.objects(help_requested=True, end=None).order_by("help_time", "start").limit(limit)
    return [store.readable(session) for session in query]


def _store():
    return context.services().store


# Session names are stored encrypted (a random nonce each), so MongoDB cannot match them: a name search decrypts the
# names of the newest sessions that pass the other filters, at most this many, and matches in Python.
NAME_SEARCH_SCAN = 5000


def ids_named(text: str, match: dict | None = None, scan: int = NAME_SEARCH_SCAN) -> list[str]:
    """Ids of the sessions (among the newest ``scan`` matching ``match``) whose decrypted name contains ``text``,
    case-insensitively, newest first. Reads only ``_id`` and ``nm``."""
    keyring, needle = _store().keyring, text.casefold()
    cursor = Session._get_collection().find(match or {}, {"nm": 1}).sort("ts", -1).limit(scan)
    return [doc["_id"] for doc in cursor if needle in keyring.decrypt(doc.get("nm") or "").casefold()]


@dataclass
class Window:
    start: datetime
    end: datetime

    @classmethod
    def from_args(cls, args, default_hours: float = 24.0, max_days: int = 0) -> Window:
        """``start_time``/``end_time`` (RFC3339 or YYYY-MM-DD), default the last 24 hours; at most ``max_days``
        long when given (charts draw one bar per hour). Raises ApiError 400."""
        now = utcnow()
        end = parse_moment(args["end_time"], end_of_day=True) if args.get("end_time") else now
        start = parse_moment(args["start_time"]) if args.get("start_time") else end - timedelta(hours=default_hours)
        if end <= start:
            raise bad_request("end_time must be after start_time")
        if max_days and end - start > timedelta(days=max_days):
            raise bad_request(f"The time window may span at most {max_days} days")
        return cls(start, end)


OVERLAP_FIELDS = {
    "_id": 1,
    "ts": 1,
    "endTs": 1,
    "totalTokens": 1,
    "maxRespTime": 1,
    "avgRespTime": 1,
    "adminAssisted": 1,
    "helpRequested": 1,
}


def overlapping(window: Window, projection: dict | None = None) -> list[dict]:
    """Raw documents of sessions open at some point in the window."""
    query = {"ts": {"$lte": window.end}, "$or": [{"endTs": None}, {"endTs": {"$gte": window.start}}]}
    return list(Session._get_collection().find(query, projection or OVERLAP_FIELDS))


def summarize(docs: list[dict], window: Window, now: datetime) -> dict:
    """The flat metrics keys of DESIGN.md section 2 over the given session documents."""
    intervals = [(doc["ts"], doc.get("endTs")) for doc in docs]
    busy = stats.concurrency(intervals, window.start, window.end, now)
    averages = [doc.get("avgRespTime") or 0 for doc in docs if doc.get("avgRespTime")]
    return {
        "total_sessions": len(docs),
        "active_sessions": sum(1 for doc in docs if doc.get("endTs") is None),
        "avg_concurrent": busy.average,
        "max_concurrent": busy.maximum,
        "total_tokens": sum(doc.get("totalTokens") or 0 for doc in docs),
        "avg_response_time": int(sum(averages) / len(averages)) if averages else 0,
        "max_response_time": max([doc.get("maxRespTime") or 0 for doc in docs], default=0),
        "admin_assisted_count": sum(1 for doc in docs if doc.get("adminAssisted")),
        "help_pending": sum(1 for doc in docs if doc.get("helpRequested") and doc.get("endTs") is None),
    }


def reply_samples(window: Window) -> tuple[list[tuple[datetime, float]], list[float], int]:
    """Per AI reply in the window: (time, tokens) pairs, response times in ms of finished replies, and how many
    replies were interrupted (a takeover, Stop, a drop: their time says when they were cut, not how fast they were)."""
    fields = {"msgs.ts": 1, "msgs.sender": 1, "msgs.usage": 1, "msgs.respMs": 1, "msgs.interrupted": 1}
    docs = overlapping(window, fields)
    tokens, times, interrupted = [], [], 0
    for doc in docs:
        for message in doc.get("msgs") or []:
            when = message.get("ts")
            if message.get("sender") != "ai" or when is None or not window.start <= when <= window.end:
                continue
            tokens.append((when, float((message.get("usage") or {}).get("total") or 0)))
            if message.get("interrupted"):
                interrupted += 1
            elif message.get("respMs") is not None:
                times.append(float(message["respMs"]))
    return tokens, times, interrupted
