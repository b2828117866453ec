"""The business's clock: "today" is the date where the business is, not where the server is.

Every rule that depends on the date (overdue, due now, date checks) takes ``today`` as an
argument; views and commands get it from here.  Tests freeze it with ``set_clock``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

_now_override: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """The current instant, timezone-aware (UTC). Used for timestamps."""
    if _now_override is not None:
        return _now_override()
    return datetime.now(UTC)


def business_timezone() -> ZoneInfo:
    name = current_app.config["AIS_TIMEZONE"] if has_app_context() else "Asia/Manila"
    return ZoneInfo(name)


def today() -> date:
    """Today's date in the business's time zone (AIS_TIMEZONE, default Asia/Manila)."""
    return utcnow().astimezone(business_timezone()).date()


def set_clock(now: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests only); ``None`` restores the real one."""
    global _now_override
    _now_override = now
