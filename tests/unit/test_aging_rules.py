"""Aging buckets by days past due, CSV cells a spreadsheet cannot run as formulas, and the number
of clients owing on each day."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ais.billing.aging import bucket_of
from ais.billing.books import owing_count_changes, owing_counts, owing_days
from ais.collections.exports import csv_lines, safe_cell

AS_OF = date(2026, 3, 16)


@pytest.mark.parametrize(
    "days_past_due,bucket",
    [(-5, "current"), (0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
     (90, "61-90"), (91, "over-90"), (400, "over-90")],
)  # fmt: skip
def test_an_installment_falls_in_the_bucket_of_its_days_past_due(days_past_due, bucket):
    assert bucket_of(AS_OF - timedelta(days=days_past_due), AS_OF) == bucket


@pytest.mark.parametrize("text", ["=1+2", "+1", "-2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")'])
def test_a_cell_that_would_be_a_formula_is_neutralised(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value,expected", [("Ann Cruz", "Ann Cruz"), ("1,234.50", "1,234.50"), (7, "7"), (None, "")])
def test_other_cells_are_kept_as_they_are(value, expected):
    assert safe_cell(value) == expected


@pytest.mark.parametrize(
    "value,expected", [(Decimal("-112.00"), "-112.00"), (-3, "-3"), (Decimal("0.00"), "0.00"), ("-112.00", "'-112.00")]
)
def test_a_number_is_written_as_a_number_a_negative_one_too(value, expected):
    """A Decimal or an int comes from the books, not from anyone's typing: never a formula.  The
    same text, typed, is still neutralised."""
    assert safe_cell(value) == expected


def test_csv_lines_quote_and_neutralise():
    assert list(csv_lines([["=cmd", 'say "hi"', "12.00"]])) == ['\'=cmd,"say ""hi""",12.00\r\n']


# --- The number of owing clients per day (books.owing_days, owing_count_changes, owing_counts) -----

_DAYS = st.integers(min_value=0, max_value=40).map(lambda n: AS_OF + timedelta(days=n))
_CHANGES = st.dictionaries(_DAYS, st.integers(min_value=-500, max_value=500).map(lambda c: Decimal(c)), max_size=8)


def _owes_on(daily: dict, day: date) -> bool:
    """Plainly: the client's changes through ``day`` add up to more than zero."""
    return sum((change for when, change in daily.items() if when <= day), Decimal(0)) > 0


def _number_on(changes: dict, day: date) -> int:
    return sum(change for when, change in changes.items() if when <= day)


@given(before=_CHANGES, after=_CHANGES)
def test_the_count_changes_by_what_one_clients_owing_days_became(before, after):
    """Added up through any day, the changes to the number equal whether the client owes that
    day after, less whether they owed before."""
    changes = owing_count_changes(owing_days(before), owing_days(after))
    assert all(changes.values())
    for offset in range(-1, 42):
        day = AS_OF + timedelta(days=offset)
        assert _number_on(changes, day) == _owes_on(after, day) - _owes_on(before, day)


@given(clients=st.lists(_CHANGES, max_size=6))
def test_the_number_of_owing_clients_is_the_clients_owing_each_day(clients):
    rows = [(client, day, change) for client, daily in enumerate(clients) for day, change in daily.items()]
    counts = owing_counts(rows)
    for offset in range(-1, 42):
        day = AS_OF + timedelta(days=offset)
        known = [number for when, number in counts.items() if when <= day]
        assert (known[-1] if known else 0) == sum(_owes_on(daily, day) for daily in clients)
