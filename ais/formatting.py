"""Money and dates as text: the one place (Babel), used by templates, emails and messages."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date as babel_format_date
from babel.numbers import format_currency
from flask import current_app


def format_money(amount: Decimal | None, currency: str | None = None) -> str:
    """₱50,000.00"""
    if amount is None:
        return ""
    if not isinstance(amount, Decimal):
        amount = Decimal(amount)  # ints only; floats never reach here (see db_types)
    currency = currency or current_app.config["AIS_CURRENCY"]
    return format_currency(amount, currency, locale=current_app.config["AIS_LOCALE"])


def format_day(value: date | None, style: str = "medium") -> str:
    """25 Nov 2026"""
    if value is None:
        return ""
    return babel_format_date(value, format=style, locale=current_app.config["AIS_LOCALE"])
