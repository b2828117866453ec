"""Aging buckets by days past due, and CSV cells a spreadsheet cannot run as formulas."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from ais.billing.aging import bucket_of
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
