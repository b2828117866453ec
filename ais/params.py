"""One parser for every id, page number, amount and date that arrives from outside: a URL, a query
string, a form, a JSON body or a webhook.

Python's own parsers accept more than a person or Stripe ever sends (``int('١')`` is 1, ``'²'``
passes ``str.isdigit()`` but not ``int()``, ``int('9' * 10000)`` raises, a 2**64 id overflows the
database driver, ``date(9999, 12, 31)`` leaves no room for a schedule), and each of those used to
be a 500.  Here a value is accepted only in the plain ASCII form and range the books can hold:

* an id out of form or range is a page that does not exist: 404 (``id_or_404``);
* anything else is the sender's mistake: 400 with a sentence saying what is expected
  (``page_number``, ``day``), never a 500.  Amounts a person types are read by
  ``billing.money.parse_amount`` (the forms' one money parser); a provider's amount in cents by
  ``parse_minor_units`` here.

The ``parse_*`` functions are pure (None or a ``ValueError`` for junk) for callers outside a
request, such as the webhook's handling of an event's fields.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import BaseConverter, ValidationError
from wtforms.validators import ValidationError as FieldError

from .billing import money

MAX_ID = 2**31 - 1  # the ids are INTEGER columns: PostgreSQL's int4 ends here
MAX_PAGE = 100_000  # 2.5 million rows at 25 a page: far past any list (counts stop at 1,000)
# Days the books accept: room on both sides for any schedule (at most 120 monthly installments)
# and any date arithmetic, far from the year 1 and 9999 where Python's date ends.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
# Seconds since 1970 for the same span (a webhook's ``created``).
FIRST_TIMESTAMP = int(dt.datetime(1970, 1, 1, tzinfo=dt.UTC).timestamp())
LAST_TIMESTAMP = int(dt.datetime(2999, 12, 31, tzinfo=dt.UTC).timestamp())

_WHOLE = re.compile(r"[0-9]{1,12}", re.ASCII)
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
DAY_MESSAGE = f"Enter a date like 2026-03-31, between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}."


class BadParameter(BadRequest):
    """A 400 whose description (shown on the error page) says which value is wrong and why."""

    def __init__(self, name: str, expected: str):
        super().__init__(f"The {name} in this request is not valid. {expected}")


def _whole_number(value: object) -> int | None:
    """A non-negative whole number written in ASCII digits (at most 12), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    text = value.strip() if isinstance(value, str) else ""
    if not _WHOLE.fullmatch(text):
        return None
    return int(text)


# --- Ids ----------------------------------------------------------------------------------------


def parse_id(value: object) -> int | None:
    """A row id (1 to MAX_ID, ASCII digits or an int), or None for anything else."""
    number = _whole_number(value)
    return number if number is not None and 1 <= number <= MAX_ID else None


def id_or_404(value: object) -> int:
    number = parse_id(value)
    if number is None:
        raise NotFound()
    return number


def optional_id(value: object) -> int | None:
    """An id given as a filter or a form's hidden field: blank is None, junk is 404."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return id_or_404(value)


class IdConverter(BaseConverter):
    """``<int:...>`` in this app's routes (registered under that name in create_app): ASCII digits
    for an id from 1 to MAX_ID, or the route does not match (404).  Werkzeug's own converter takes
    any Unicode digit and any size, which the database then refuses with a 500."""

    regex = r"[0-9]{1,10}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


# --- Page numbers -------------------------------------------------------------------------------


def page_number(value: object, name: str = "page number") -> int:
    """``?page=``: blank is the first page; otherwise 1 to MAX_PAGE, or 400."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 1
    number = _whole_number(value)
    if number is None or not 1 <= number <= MAX_PAGE:
        raise BadParameter(name, f"Use a whole number from 1 to {MAX_PAGE:,}.")
    return number


# --- Dates --------------------------------------------------------------------------------------


def parse_day(value: object) -> dt.date | None:
    """A day written YYYY-MM-DD (ASCII digits) between FIRST_DAY and LAST_DAY, or None."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value if FIRST_DAY <= value <= LAST_DAY else None
    match = _DAY.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    try:
        day = dt.date(*(int(part) for part in match.groups()))
    except ValueError:  # 2026-02-30
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def day(value: object, name: str = "date") -> dt.date | None:
    """An optional day from a query string or JSON: blank is None, junk or out of range is 400."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parsed = parse_day(value)
    if parsed is None:
        raise BadParameter(name, DAY_MESSAGE)
    return parsed


def calendar_day(form, field) -> None:
    """WTForms validator for a DateField: the day must be one the books (and their schedules) hold."""
    if isinstance(field.data, dt.date) and parse_day(field.data) is None:
        raise FieldError(DAY_MESSAGE)


def parse_timestamp(value: object) -> dt.datetime | None:
    """Seconds since 1970 (a webhook's ``created``) as an aware UTC datetime, or None if absent,
    malformed or outside the books' days."""
    number = _whole_number(value)
    if number is None or not FIRST_TIMESTAMP <= number <= LAST_TIMESTAMP:
        return None
    return dt.datetime.fromtimestamp(number, tz=dt.UTC)


# --- Amounts ------------------------------------------------------------------------------------


def parse_minor_units(value: object) -> Decimal | None:
    """A provider's amount in cents (an int above zero, at most money.MAX_AMOUNT), or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    if not 0 < value <= money.to_minor_units(money.MAX_AMOUNT):
        return None
    return money.from_minor_units(value)
