"""Money and dates as text, in the business's locale: the one place, used by templates (the
``money``, ``day`` and ``currency_symbol`` filters), emails and messages.  Babel does the work
(CLDR's patterns for the locale in AIS_LOCALE); the parsed locale is kept, since a page formats
dozens of amounts and parsing it is most of Babel's cost per call.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache

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


def format_money(amount: Decimal | int | None, currency: str | None = None) -> str:
    """₱50,000.00 (the app's currency unless another is given, in the app's locale)."""
    if amount is None:
        return ""
    return format_currency(amount, currency or current_app.config["AIS_CURRENCY"], locale=app_locale())


def format_day(value: date | None, style: str = "medium") -> str:
    """25 Nov 2026 (``style``: short, medium, long, full or a CLDR pattern such as 'MMM yyyy')."""
    if value is None:
        return ""
    return format_date(value, format=style, locale=app_locale())


def format_moment(value: datetime | None, style: str = "medium") -> str:
    """A moment (stored in UTC; naive values are UTC) in the business's time zone: 5 Dec 2026, 3:04:05 PM."""
    if value is None:
        return ""
    from .clock import business_timezone

    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return format_datetime(moment, format=style, tzinfo=business_timezone(), locale=app_locale())


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
