"""The customer-credit rule (ais.billing.rules.credit_application_refusal, applicable_credit): an
application takes more than zero, never more than what is left of the credit nor more than the
invoice's open balance, so neither goes below zero; the suggested amount always passes."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ais.billing import rules

cents = st.integers(min_value=0, max_value=10**11).map(lambda n: Decimal(n) / 100)
signed_cents = st.integers(min_value=-(10**6), max_value=10**11).map(lambda n: Decimal(n) / 100)


@given(amount=signed_cents, remaining=cents, open_balance=signed_cents)
def test_an_application_is_accepted_exactly_when_it_fits_the_credit_and_the_invoice(amount, remaining, open_balance):
    refusal = rules.credit_application_refusal(amount, remaining, open_balance)
    assert (refusal is None) == (0 < amount <= remaining and amount <= open_balance)
    if refusal is None:
        assert remaining - amount >= 0 and open_balance - amount >= 0


@given(amount=signed_cents, remaining=cents, open_balance=signed_cents)
def test_a_refusal_names_the_first_limit_broken(amount, remaining, open_balance):
    refusal = rules.credit_application_refusal(amount, remaining, open_balance)
    if amount <= 0:
        assert refusal == "not_positive"
    elif amount > remaining:
        assert refusal == "exceeds_credit"
    elif amount > open_balance:
        assert refusal == "exceeds_open_balance"


@given(remaining=cents, open_balance=signed_cents)
def test_the_suggested_amount_is_the_most_that_fits_and_is_accepted_when_above_zero(remaining, open_balance):
    suggested = rules.applicable_credit(remaining, open_balance)
    assert suggested == max(min(remaining, open_balance), Decimal("0.00"))
    if suggested > 0:
        assert rules.credit_application_refusal(suggested, remaining, open_balance) is None
        assert rules.credit_application_refusal(suggested + Decimal("0.01"), remaining, open_balance) is not None


@given(remaining=cents, amounts=st.lists(cents, max_size=12), open_balance=cents)
def test_applications_in_turn_never_take_more_than_the_credit(remaining, amounts, open_balance):
    """Each accepted application lowers what is left of the credit and the open balance: their
    sum never exceeds either at the start."""
    left, room, taken = remaining, open_balance, Decimal("0.00")
    for amount in amounts:
        if rules.credit_application_refusal(amount, left, room) is None:
            left, room, taken = left - amount, room - amount, taken + amount
    assert taken <= remaining and taken <= open_balance and left >= 0 and room >= 0
