"""The one place "now" comes from, and the one place local days are worked out.

Tests freeze "now" with :func:`frozen`. Services take the network's time zone as a
:class:`~zoneinfo.ZoneInfo` or its name; :func:`zone` turns either into a zone, and the local-day
helpers below are the only place a local date becomes a UTC instant (or the reverse).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dispatch.config import Settings

Zone = ZoneInfo | str
"""A time zone or its IANA name (``"Asia/Shanghai"``)."""

_frozen: datetime | None = None


def utcnow() -> datetime:
    """Aware UTC now (or the frozen instant inside :func:`frozen`)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


@contextlib.contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Freeze :func:`utcnow` at ``at`` (aware) for the duration of the block."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    previous, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous


def zone(tz: Zone | None = None) -> ZoneInfo:
    """``tz`` as a zone; ``None`` is the network's default zone (``Settings.timezone``), for the
    few callers that get no settings (job-lifecycle hooks, helpers joining a transaction)."""
    if isinstance(tz, ZoneInfo):
        return tz
    return ZoneInfo(str(tz) if tz else Settings.timezone)


def local_today(tz: Zone | None = None) -> date:
    """Today's date in the network's time zone (a purchase made this morning in Shanghai is not
    "in the future" just because it is still yesterday in UTC)."""
    return utcnow().astimezone(zone(tz)).date()


def local_midnight(day: date, tz: Zone | None = None) -> datetime:
    """The instant local ``day`` starts."""
    return datetime.combine(day, time.min, tzinfo=zone(tz))


def local_day_span(first: date, last: date | None = None, tz: Zone | None = None) -> tuple[datetime, datetime]:
    """``[start, end)`` of the local days ``first`` .. ``last`` (inclusive; default: one day)."""
    return local_midnight(first, tz), local_midnight((last or first) + timedelta(days=1), tz)
