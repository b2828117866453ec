"""ais.formatting writes amounts and dates exactly as Babel does, only cheaper."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from babel.dates import format_date
from babel.numbers import format_currency
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from ais.formatting import format_day, format_money, money_style

LOCALES = ["en_PH", "en_US", "de_DE", "fr_FR", "en_IN", "de_CH", "nl_NL", "ar_EG", "ja_JP", "fil_PH", "pt_BR"]
CURRENCIES = ["PHP", "USD", "EUR", "JPY", "BHD", "INR"]


def app_for(locale: str, currency: str = "PHP") -> Flask:
    app = Flask(__name__)
    app.config.update(AIS_LOCALE=locale, AIS_CURRENCY=currency)
    return app


amounts = st.decimals(min_value=Decimal("-999999999999.9999"), max_value=Decimal("999999999999.9999"),
                      allow_nan=False, allow_infinity=False, places=4)


@settings(max_examples=400, deadline=None)
@given(amount=amounts, locale=st.sampled_from(LOCALES), currency=st.sampled_from(CURRENCIES))
def test_money_is_written_as_babel_writes_it(amount, locale, currency):
    with app_for(locale).app_context():
        assert format_money(amount, currency) == format_currency(amount, currency, locale=locale)


@pytest.mark.parametrize("amount", ["0", "-0.00", "0.005", "0.015", "-0.005", "1", "12", "123", "1234", "12345.6",
                                    "123456.78", "1234567.89", "-1234567.89", "100000000000.00", "2.675"])
@pytest.mark.parametrize("locale", LOCALES)
def test_money_edge_cases(amount, locale):
    with app_for(locale).app_context():
        for currency in CURRENCIES:
            assert format_money(Decimal(amount), currency) == format_currency(Decimal(amount), currency, locale=locale)


def test_money_defaults_to_the_configured_currency_and_takes_ints():
    with app_for("en_PH", "PHP").app_context():
        assert format_money(Decimal("50000")) == "₱50,000.00"
        assert format_money(1500) == "₱1,500.00"
        assert format_money(None) == ""


def test_every_installed_locale_pattern_is_either_reproduced_or_left_to_babel():
    from babel.localedata import locale_identifiers

    for locale in locale_identifiers()[:400]:
        style = money_style("USD", locale)
        if style is not None:
            with app_for(locale).app_context():
                for amount in ("-1234567.891", "0.5", "987654321.00"):
                    assert format_money(Decimal(amount), "USD") == format_currency(Decimal(amount), "USD", locale=locale), locale


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
       locale=st.sampled_from(LOCALES), style=st.sampled_from(["short", "medium", "long", "full"]))
def test_days_are_written_as_babel_writes_them(day, locale, style):
    with app_for(locale).app_context():
        assert format_day(day, style) == format_date(day, format=style, locale=locale)
        assert format_day(day, style) == format_date(day, format=style, locale=locale)  # from the cache


def test_a_datetime_is_not_mistaken_for_its_day_in_the_cache():
    with app_for("en_PH").app_context():
        moment = datetime(2026, 11, 25, 13, 0)
        assert format_day(moment) == format_date(moment, format="medium", locale="en_PH")
        assert format_day(None) == ""


@settings(max_examples=200, deadline=None)
@given(amount=amounts, locale=st.sampled_from(LOCALES), currency=st.sampled_from(CURRENCIES))
def test_the_template_filters_write_what_format_money_and_format_day_write(amount, locale, currency):
    from ais.formatting import day_filter, money_filter

    app = app_for(locale, currency)
    money, day = money_filter(app.config), day_filter(app.config)
    with app.app_context():
        assert money(amount, currency) == format_money(amount, currency)
        assert money(amount) == format_money(amount) == format_currency(amount, currency, locale=locale)
        assert money(None) == ""
        assert day(date(2026, 2, 28)) == format_day(date(2026, 2, 28))
        assert day(datetime(2026, 2, 28, 13, 5), "long") == format_day(datetime(2026, 2, 28, 13, 5), "long")
        assert day(None) == ""
