"""The late-fee rule (ais.billing.rules.late_fee, late_fee_base, late_fee_is_due): exact to the
centavo, half-up, never negative, never computed on a fee."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ais.billing import rules

cents = st.integers(min_value=0, max_value=10**11).map(lambda n: Decimal(n) / 100)
positive_cents = st.integers(min_value=1, max_value=10**11).map(lambda n: Decimal(n) / 100)
percents = st.integers(min_value=1, max_value=2500).map(lambda n: Decimal(n) / 100)


@given(base=positive_cents, percent=percents)
def test_a_percentage_fee_is_the_half_up_centavo_of_the_exact_product(base, percent):
    fee = rules.late_fee(rules.PERCENT, percent, base)
    exact = base * percent / 100  # at most 6 decimals: exact in Decimal
    assert fee == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert fee == fee.quantize(Decimal("0.01")) and fee >= 0
    assert abs(fee - exact) <= Decimal("0.005")


@given(base=positive_cents, flat=positive_cents)
def test_a_flat_fee_is_the_setting_whatever_the_base(base, flat):
    assert rules.late_fee(rules.FLAT, flat, base) == flat


@given(flat=positive_cents, percent=percents, kind=st.sampled_from([rules.FLAT, rules.PERCENT]))
def test_nothing_unpaid_means_no_fee(flat, percent, kind):
    value = flat if kind == rules.FLAT else percent
    assert rules.late_fee(kind, value, Decimal("0.00")) == Decimal("0.00")


@given(unpaid=cents, invoice_amount=cents, fees=cents, paid=cents)
def test_the_base_never_exceeds_what_the_invoice_owes_apart_from_its_fees(unpaid, invoice_amount, fees, paid):
    """Never compounding: whatever the installment says (a re-plan may have spread a fee into it),
    a fee is computed on at most amount - fees - paid, the part of the balance that is not fees."""
    principal_open = invoice_amount - fees - paid
    base = rules.late_fee_base(unpaid, principal_open)
    assert Decimal("0.00") <= base <= unpaid
    assert base <= max(principal_open, Decimal("0.00"))


@given(
    base=positive_cents,
    percent=percents,
    split=st.integers(min_value=1, max_value=99),
)
def test_a_percentage_fee_on_parts_differs_from_the_fee_on_the_whole_by_rounding_only(base, percent, split):
    part = (base * split / 100).quantize(Decimal("0.01"))
    rest = base - part
    whole = rules.late_fee(rules.PERCENT, percent, base)
    parts = rules.late_fee(rules.PERCENT, percent, part) + rules.late_fee(rules.PERCENT, percent, rest)
    assert abs(whole - parts) <= Decimal("0.01")


@given(days=st.integers(min_value=0, max_value=365), offset=st.integers(min_value=-400, max_value=400))
def test_a_fee_is_due_only_after_the_whole_grace_period(days, offset):
    due = date(2026, 3, 1)
    today = due + timedelta(days=offset)
    assert rules.late_fee_is_due(due, days, today) == (offset > days)


def test_the_half_cent_rounds_up():
    assert rules.late_fee(rules.PERCENT, Decimal("2.50"), Decimal("666.77")) == Decimal("16.67")  # 16.66925
    assert rules.late_fee(rules.PERCENT, Decimal("5.00"), Decimal("0.10")) == Decimal("0.01")  # 0.005
    assert rules.late_fee(rules.PERCENT, Decimal("1.00"), Decimal("0.40")) == Decimal("0.00")  # 0.004


def test_floats_and_unknown_kinds_are_refused():
    with pytest.raises(TypeError):
        rules.late_fee(rules.FLAT, 1.5, Decimal("10.00"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rules.late_fee("compound", Decimal("1.00"), Decimal("10.00"))
    with pytest.raises(ValueError):
        rules.late_fee(rules.FLAT, Decimal("-1.00"), Decimal("10.00"))
