"""Money and dates as text: the one place (Babel), used by templates, emails and messages.

A page shows dozens of amounts and dates, and Babel's general ``format_currency`` /
``format_date`` look the locale and its patterns up again on every call: that was about a quarter
of a portal page's CPU time.  So the locale's rules are read from Babel once per (locale,
currency) and applied here with plain string operations; tests compare the result with Babel's
own for many values and locales, so the output is Babel's, only cheaper.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)
from flask import current_app


@dataclass(frozen=True)
class MoneyStyle:
    """How one locale writes amounts of one currency (from CLDR, through Babel)."""

    prefix: tuple[str, str]  # (positive, negative), the currency sign already in place
    suffix: tuple[str, str]
    quantum: Decimal  # Decimal("0.01") for a currency with 2 minor digits
    decimal_symbol: str
    group_symbol: str
    primary_group: int
    secondary_group: int
    # Groups of three (most locales): Python's own "," format does the grouping, and this table
    # turns its "," and "." into the locale's symbols (None when they are the same).
    thousands: bool = False
    symbols: dict | None = None


@lru_cache(maxsize=64)
def currency_symbol(currency: str, locale: str) -> str:
    """₱ for PHP in en_PH (Babel's answer, remembered: Babel parses the locale on every call)."""
    return get_currency_symbol(currency, locale=locale)


@lru_cache(maxsize=64)
def money_style(currency: str, locale: str) -> MoneyStyle | None:
    """The locale's standard currency pattern, taken apart once; None for the rare pattern
    this module does not reproduce (significant digits, exponents, scaling, currency names),
    which then goes through Babel every time."""
    parsed = Locale.parse(locale)
    pattern = parsed.currency_formats["standard"]
    if "@" in pattern.pattern or pattern.exp_prec or pattern.scale or "¤¤¤" in pattern.pattern:
        return None
    symbol = get_currency_symbol(currency, locale=parsed)

    def with_sign(text: str) -> str:
        return text.replace("¤¤", currency.upper()).replace("¤", symbol)

    digits = get_currency_precision(currency)
    decimal_symbol, group_symbol = get_decimal_symbol(parsed), get_group_symbol(parsed)
    symbols = None if (group_symbol, decimal_symbol) == (",", ".") else str.maketrans(
        {",": group_symbol, ".": decimal_symbol})
    return MoneyStyle(
        prefix=(with_sign(pattern.prefix[0]), with_sign(pattern.prefix[1])),
        suffix=(with_sign(pattern.suffix[0]), with_sign(pattern.suffix[1])),
        quantum=Decimal(1).scaleb(-digits),
        decimal_symbol=decimal_symbol,
        group_symbol=group_symbol,
        primary_group=pattern.grouping[0],
        secondary_group=pattern.grouping[1],
        thousands=pattern.grouping[:2] == (3, 3),
        symbols=symbols,
    )


def _group(digits: str, style: MoneyStyle) -> str:
    """'1234567' → '1,234,567' (or '12,34,567' where the second group is 2 long, as in India)."""
    if len(digits) <= style.primary_group:
        return digits
    parts = [digits[-style.primary_group:]]
    rest = digits[: -style.primary_group]
    while len(rest) > style.secondary_group:
        parts.append(rest[-style.secondary_group:])
        rest = rest[: -style.secondary_group]
    parts.append(rest)
    return style.group_symbol.join(reversed(parts))


def money_text(amount: Decimal | None, currency: str, locale: str) -> str:
    """``amount`` in ``currency`` as ``locale`` writes it: ₱50,000.00"""
    if amount is None:
        return ""
    if not isinstance(amount, Decimal):
        amount = Decimal(amount)  # ints only; floats never reach here (see db_types)
    style = money_style(currency, locale)
    if style is None or not amount.is_finite():
        return format_currency(amount, currency, locale=locale)
    negative = int(amount.is_signed())  # as Babel: -0.00 keeps its sign
    # Rounds half to even, as Babel does (the default decimal context); amounts in the books
    # already have the currency's minor digits, so nothing is rounded in practice.
    amount = abs(amount).quantize(style.quantum)
    if style.thousands:
        number = f"{amount:,f}"
        if style.symbols is not None:
            number = number.translate(style.symbols)
    else:
        whole, _, fraction = f"{amount:f}".partition(".")
        number = _group(whole, style)
        if fraction:
            number += style.decimal_symbol + fraction
    return style.prefix[negative] + number + style.suffix[negative]


def format_money(amount: Decimal | None, currency: str | None = None) -> str:
    """₱50,000.00 (the app's currency unless another is given, in the app's locale)."""
    config = current_app.config
    return money_text(amount, currency or config["AIS_CURRENCY"], config["AIS_LOCALE"])


def money_filter(config: dict):
    """The templates' ``money`` filter for one app: ``format_money`` reading the app's settings
    directly (a page formats dozens of amounts, and ``current_app`` is a context lookup each time)."""
    def money(amount: Decimal | None, currency: str | None = None) -> str:
        return money_text(amount, currency or config["AIS_CURRENCY"], config["AIS_LOCALE"])
    return money


def day_filter(config: dict):
    """The templates' ``day`` filter for one app (see ``money_filter``)."""
    def day(value: date | None, style: str = "medium") -> str:
        if value is None:
            return ""
        if type(value) is not date:  # a datetime is a date too, but must not share the cache
            return babel_format_date(value, format=style, locale=config["AIS_LOCALE"])
        return _format_day(value, style, config["AIS_LOCALE"])
    return day


@lru_cache(maxsize=8192)
def _format_day(value: date, style: str, locale: str) -> str:
    # A page repeats the same few dates (due dates, payment dates), and the books hold a few
    # thousand distinct days at most: remembering them is cheaper than asking Babel each time.
    return babel_format_date(value, format=style, locale=locale)


def format_day(value: date | None, style: str = "medium") -> str:
    """25 Nov 2026"""
    if value is None:
        return ""
    if type(value) is not date:  # a datetime is a date too, but must not share its cache entry
        return babel_format_date(value, format=style, locale=current_app.config["AIS_LOCALE"])
    return _format_day(value, style, current_app.config["AIS_LOCALE"])
