"""Schedules stay in due-date order after every operation: installment numbers run in due-date order
whatever sequence of payments, reports, confirmations, rejections, voids and re-plans an invoice sees.
A re-plan that would date a new installment before one it keeps is refused, with nothing written."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portal_support import ACTOR, DAY, TODAY, make_client, make_invoice, pay, report

from ais.billing import rules, services
from ais.billing.checks import find_problems
from ais.billing.services import BillingError, InvalidInput
from ais.extensions import db
from ais.models import CONFIRMED, REPORTED, Installment, Invoice, Payment

_emails = itertools.count(1)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(1, 100), st.integers(0, 40)),
        st.tuples(st.just("report"), st.integers(1, 100), st.integers(0, 40)),
        st.tuples(st.just("confirm"), st.integers(0, 5)),
        st.tuples(st.just("reject"), st.integers(0, 5)),
        st.tuples(st.just("void"), st.integers(0, 5)),
        st.tuples(st.just("replan"), st.integers(1, 6), st.sampled_from(rules.FREQUENCIES), st.integers(-80, 120)),
        st.tuples(st.just("credit"), st.integers(1, 100)),
    ),
    min_size=1,
    max_size=8,
)


def _schedule(invoice_id) -> list[tuple[int, date]]:
    return [
        tuple(row)
        for row in db.session.execute(
            db.select(Installment.number, Installment.due_date)
            .where(Installment.invoice_id == invoice_id)
            .order_by(Installment.number)
        ).all()
    ]


def assert_in_due_date_order(invoice_id) -> None:
    schedule = _schedule(invoice_id)
    assert schedule == sorted(schedule, key=lambda row: (row[1], row[0])), schedule


def _apply(invoice_id, client_id, operation) -> None:
    kind = operation[0]
    invoice = db.session.get(Invoice, invoice_id, populate_existing=True)
    if kind in ("pay", "report"):
        part = (services.open_room(invoice) * operation[1] / 100).quantize(Decimal("0.01"))
        if part > 0:
            on = max(TODAY - operation[2] * DAY, invoice.issue_date)
            pay(invoice_id, part, on=on) if kind == "pay" else report(client_id, invoice_id, part, on=on)
        return
    if kind == "credit":  # a credit note for part or all of what may be credited (beyond the unpaid: a customer credit)
        part = (services.creditable(invoice) * operation[1] / 100).quantize(Decimal("0.01"))
        if part > 0:
            services.credit_invoice(ACTOR, invoice_id, part, "Adjustment")
        return
    if kind == "replan":
        _, count, frequency, offset = operation
        services.replan_invoice(ACTOR, invoice_id, count, frequency, TODAY + offset * DAY)
        return
    state = CONFIRMED if kind == "void" else REPORTED
    candidates = db.session.scalars(
        db.select(Payment.id).where(Payment.invoice_id == invoice_id, Payment.state == state).order_by(Payment.id)
    ).all()
    if not candidates:
        return
    payment_id = candidates[operation[1] % len(candidates)]
    if kind == "confirm":
        services.confirm_payment(ACTOR, payment_id)
    elif kind == "reject":
        services.reject_payment(ACTOR, payment_id, "Not received")
    else:
        services.void_payment(ACTOR, payment_id, "Bounced")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(2, 6), first_due=st.integers(-60, 60), ops=operations)
def test_schedules_stay_in_due_date_order_after_any_operations(books, count, first_due, ops):
    client_id = make_client("Order Client", f"order{next(_emails)}@example.com")
    invoice_id = make_invoice(client_id, "12000.00", issued=TODAY - 100 * DAY, due=TODAY + first_due * DAY, count=count)
    assert_in_due_date_order(invoice_id)
    for operation in ops:
        try:
            _apply(invoice_id, client_id, operation)
        except BillingError:
            db.session.rollback()  # refused (paid in full, out of order, ...): nothing written
        assert_in_due_date_order(invoice_id)
    # Credit notes among the operations: allocation, totals and numbering stay exact (flask check).
    assert find_problems() == []


def test_a_replan_starting_before_a_kept_installment_is_refused(books):
    """The issue's case: installment 1 (Jan 4 2027) paid early, re-planned to start Dec 14 2026."""
    client_id = make_client("Early Payer", "early@example.com")
    invoice_id = make_invoice(client_id, "12000.00", issued=TODAY - 10 * DAY, due=date(2027, 1, 4), count=4)
    pay(invoice_id, "3000.00", on=TODAY - DAY)
    before = _schedule(invoice_id)
    with pytest.raises(InvalidInput, match="cannot start before Jan 4, 2027: installment 1") as refused:
        services.replan_invoice(ACTOR, invoice_id, 3, "monthly", date(2026, 12, 14))
    assert refused.value.field == "first_due"
    db.session.rollback()
    assert _schedule(invoice_id) == before
    services.replan_invoice(ACTOR, invoice_id, 3, "monthly", date(2027, 1, 4))
    assert [d for _, d in _schedule(invoice_id)] == [
        date(2027, 1, 4),
        date(2027, 1, 4),
        date(2027, 2, 4),
        date(2027, 3, 4),
    ]
