"""Money and dates as text, in the business's locale: the one place, used by templates (the
``money``, ``day`` and ``currency_symbol`` filters), emails and messages.  Babel does the work
(CLDR's patterns for the locale in AIS_LOCALE); the parsed locale is kept, since a page formats
dozens of amounts and parsing it is most of Babel's cost per call.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from functools import cache, lru_cache

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, get_currency_symbol
from flask import current_app


@cache
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def app_locale() -> Locale:
    """The locale of AIS_LOCALE (en_PH by default)."""
    return _locale(current_app.config["AIS_LOCALE"])


# A page shows the same amounts and days again and again (a row's amount in its cell and in its
# button's label, the same dates down a list, the same page for every request): Babel's text for
# a given value, currency or style and locale never changes, so it is kept (about 13 µs a call
# saved on each repeat).  Keyed by the Decimal's own digits, so 0 and -0 stay apart.
@lru_cache(maxsize=8192)
def _money_text(digits: str, currency: str, locale: str) -> str:
    return format_currency(Decimal(digits), currency, locale=_locale(locale))


@lru_cache(maxsize=4096)
def _day_text(value: date, style: str, locale: str) -> str:
    return format_date(value, format=style, locale=_locale(locale))


@lru_cache(maxsize=4096)
def _moment_text(moment: datetime, style: str, zone: tzinfo, locale: str) -> str:
    return format_datetime(moment, format=style, tzinfo=zone, locale=_locale(locale))


def format_money(amount: Decimal | int | None, currency: str | None = None) -> str:
    """₱50,000.00 (the app's currency unless another is given, in the app's locale)."""
    if amount is None:
        return ""
    config = current_app.config
    if type(amount) is Decimal or type(amount) is int:
        return _money_text(str(amount), currency or config["AIS_CURRENCY"], config["AIS_LOCALE"])
    return format_currency(amount, currency or config["AIS_CURRENCY"], locale=app_locale())


def format_day(value: date | None, style: str = "medium") -> str:
    """25 Nov 2026 (``style``: short, medium, long, full or a CLDR pattern such as 'MMM yyyy')."""
    if value is None:
        return ""
    if type(value) is date:
        return _day_text(value, style, current_app.config["AIS_LOCALE"])
    return format_date(value, format=style, locale=app_locale())


def format_moment(value: datetime | None, style: str = "medium") -> str:
    """A moment (stored in UTC; naive values are UTC) in the business's time zone: 5 Dec 2026, 3:04:05 PM."""
    if value is None:
        return ""
    from .clock import business_timezone

    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    if type(value) is datetime:
        return _moment_text(moment, style, business_timezone(), current_app.config["AIS_LOCALE"])
    return format_datetime(moment, format=style, tzinfo=business_timezone(), locale=app_locale())


@lru_cache(maxsize=256)
def describe_device(user_agent: str | None) -> str:
    """A browser's User-Agent in words: 'Chrome 131 on Windows 10', 'Mobile Safari 17 on iOS 17
    (iPhone)'; 'Unknown browser' when it says nothing recognisable (ua-parser's rules, kept current
    with the package)."""
    if not user_agent:
        return "Unknown browser"
    from ua_parser import parse

    found = parse(user_agent)
    if found.user_agent is None or found.user_agent.family == "Other":
        return "Unknown browser"
    browser = " ".join(part for part in (found.user_agent.family, found.user_agent.major) if part)
    words = browser
    if found.os is not None and found.os.family != "Other":
        words += " on " + " ".join(part for part in (found.os.family, found.os.major) if part)
    if (
        found.device is not None
        and found.device.family not in ("Other", "Mac", "")
        and found.device.family not in words
    ):
        words += f" ({found.device.family})"
    return words


def format_unit_price(value: Decimal | None, currency: str | None = None) -> str:
    """A unit price with as many decimals as it has (at least the currency's): ₱12.345, ₱100.00."""
    if value is None:
        return ""
    return format_currency(
        value.normalize(),
        currency or current_app.config["AIS_CURRENCY"],
        locale=app_locale(),
        decimal_quantization=False,
    )


def plain_number(value: Decimal | None) -> str:
    """2.500 -> '2.5', 100.0000 -> '100' (stored quantities and rates, as a person would type them)."""
    return "" if value is None else f"{value.normalize():f}"


def currency_symbol(currency: str | None = None) -> str:
    """₱ for PHP in en_PH."""
    return get_currency_symbol(currency or current_app.config["AIS_CURRENCY"], locale=app_locale())
