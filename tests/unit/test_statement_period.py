"""The month of a monthly statement (ais.billing.statements.month_period, last_month): read from
YYYY-MM exactly, anything else refused with a sentence saying how to write it."""

from datetime import date

import pytest

from ais.billing.statements import InvalidPeriod, last_month, month_period


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-02", (date(2026, 2, 1), date(2026, 2, 28))),
        ("2028-02", (date(2028, 2, 1), date(2028, 2, 29))),  # a leap year
        ("2026-12", (date(2026, 12, 1), date(2026, 12, 31))),
        (" 2026-04 ", (date(2026, 4, 1), date(2026, 4, 30))),
    ],
)
def test_a_month_runs_from_its_first_to_its_last_day(text, expected):
    assert month_period(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026",
        "2026-2",
        "2026-13",
        "2026-00",
        "26-02",
        "2026/02",
        "2026-02-01",
        "１２３４-02",
        "2026-０２",
        "1999-12",
        "feb",
    ],
)
def test_anything_but_yyyy_mm_is_refused_with_a_sentence(text):
    with pytest.raises(InvalidPeriod, match="is not a month: use YYYY-MM, e.g. 2026-02."):
        month_period(text)


@pytest.mark.parametrize(
    "today,expected",
    [(date(2026, 3, 16), "2026-02"), (date(2026, 1, 1), "2025-12"), (date(2026, 3, 31), "2026-02")],
)
def test_the_default_month_is_the_last_complete_one(today, expected):
    assert last_month(today) == expected
