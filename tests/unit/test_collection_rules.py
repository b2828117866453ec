"""The pure rules of a promise to pay's state and of the early payoff quote."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ais.billing import rules
from ais.billing.promises import BROKEN, CANCELLED, KEPT, OPEN, promise_state

BY = date(2026, 3, 20)
D = Decimal
cents = st.integers(min_value=0, max_value=10**9).map(lambda n: D(n).scaleb(-2))


@pytest.mark.parametrize(
    ("paid", "day", "cancelled", "state"),
    [
        ("0.00", BY - timedelta(days=5), False, OPEN),
        ("499.99", BY, False, OPEN),  # the promised day itself is still in time
        ("499.99", BY + timedelta(days=1), False, BROKEN),
        ("500.00", BY - timedelta(days=5), False, KEPT),  # kept as soon as the payments reach it
        ("750.00", BY + timedelta(days=40), False, KEPT),
        ("0.00", BY - timedelta(days=5), True, CANCELLED),
        ("500.00", BY + timedelta(days=1), True, CANCELLED),  # a cancellation wins
    ],
)
def test_a_promise_is_open_until_kept_or_its_date_passes(paid, day, cancelled, state):
    assert promise_state(D("500.00"), BY, D(paid), day, cancelled) == state


@given(amount=cents.filter(lambda a: a > 0), paid=cents, offset=st.integers(min_value=-100, max_value=100))
def test_enough_payments_always_keep_it_and_too_few_break_it_only_after_its_date(amount, paid, offset):
    day = BY + timedelta(days=offset)
    state = promise_state(amount, BY, paid, day, cancelled=False)
    if paid >= amount:
        assert state == KEPT
    else:
        assert state == (BROKEN if day > BY else OPEN)


def installments(*pairs):
    return [
        rules.InstallmentState(number=n, due_date=date(2026, n, 1), amount=D(amount), paid=D(paid))
        for n, (amount, paid) in enumerate(pairs, start=1)
    ]


def test_the_payoff_quote_is_every_unpaid_part_due_or_not():
    quote = rules.payoff_quote(installments(("250.00", "250.00"), ("250.00", "10.00"), ("250.00", "0.00")), D("40.00"))
    assert (quote.balance, quote.awaiting_confirmation, quote.to_send) == (D("490.00"), D("40.00"), D("450.00"))
    assert rules.payoff_quote([]).balance == D("0.00")
    with pytest.raises(TypeError):
        rules.payoff_quote([], 1.5)  # type: ignore[arg-type]


@given(
    parts=st.lists(st.tuples(st.integers(1, 10**7), st.integers(0, 10**7)), min_size=1, max_size=12),
    awaiting=st.integers(-100, 10**8),
)
def test_the_quote_never_asks_for_less_than_zero_or_more_than_is_unpaid(parts, awaiting):
    states = [
        rules.InstallmentState(
            number=n, due_date=date(2026, 1, 1), amount=D(a).scaleb(-2), paid=D(min(p, a)).scaleb(-2)
        )
        for n, (a, p) in enumerate(parts, start=1)
    ]
    quote = rules.payoff_quote(states, D(awaiting).scaleb(-2))
    assert quote.balance == sum((s.unpaid for s in states), D("0.00"))
    assert D("0.00") <= quote.awaiting_confirmation <= quote.balance
    assert quote.to_send == quote.balance - quote.awaiting_confirmation >= 0
