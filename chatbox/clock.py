"""The time every stored timestamp is taken with."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Now, naive UTC, to the millisecond."""
    # MongoDB keeps milliseconds; rounding here keeps what we send equal to what we read back.
    moment = datetime.now(timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=None)
