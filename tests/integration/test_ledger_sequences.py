"""Random sequences of the service operations (issue, pay, report, confirm, reject, void a payment,
void an invoice, credit, re-plan, charge and waive late fees) keep the ledger balanced and tied to
the books: `flask check` finds nothing after every step."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portal_support import ACTOR, DAY, TODAY, make_client, make_invoice, pay, report

from ais import clock
from ais.billing import late_fees, rules, services
from ais.billing.checks import find_problems
from ais.billing.services import BillingError
from ais.extensions import db
from ais.models import CONFIRMED, REPORTED, Invoice, LateFee, Payment, Setting

_emails = itertools.count(1)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), st.integers(1, 6), st.integers(0, 3)),
        st.tuples(st.just("pay"), st.integers(0, 5), st.integers(1, 100), st.sampled_from(("Cash", "GCash", "Card"))),
        st.tuples(st.just("report"), st.integers(0, 5), st.integers(1, 100), st.sampled_from(("Maya", "QR Ph"))),
        st.tuples(st.just("confirm"), st.integers(0, 5)),
        st.tuples(st.just("reject"), st.integers(0, 5)),
        st.tuples(st.just("void_payment"), st.integers(0, 5)),
        st.tuples(st.just("void_invoice"), st.integers(0, 5)),
        st.tuples(st.just("credit"), st.integers(0, 5), st.integers(1, 100)),
        st.tuples(st.just("replan"), st.integers(0, 5), st.integers(1, 4), st.sampled_from(rules.FREQUENCIES)),
        st.tuples(st.just("late_fees"), st.integers(0, 60)),
        st.tuples(st.just("waive"), st.integers(0, 5)),
    ),
    min_size=1,
    max_size=10,
)


def _pick(ids: list[int], index: int) -> int | None:
    return ids[index % len(ids)] if ids else None


def _apply(client_id: int, invoices: list[int], operation) -> None:
    kind = operation[0]
    if kind == "issue":
        _, hundreds, count = operation
        invoices.append(
            make_invoice(
                client_id, f"{hundreds * 1120}.00", issued=TODAY - 30 * DAY, due=TODAY - 20 * DAY, count=count + 1
            )
        )
        return
    if kind == "late_fees":
        # The charge runs on its day: the business clock moves forward to it (never back).
        day = max(clock.today(), TODAY + operation[1] * DAY)
        clock.set_clock(lambda: datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC))
        late_fees.charge_late_fees()
        return
    if kind == "waive":
        fee_id = _pick(
            list(
                db.session.scalars(
                    db.select(LateFee.id)
                    .where(LateFee.client_id == client_id, LateFee.waived_on.is_(None))
                    .order_by(LateFee.id)
                )
            ),
            operation[1],
        )
        if fee_id is not None:
            late_fees.waive_late_fee(ACTOR, fee_id, "Goodwill")
        return
    if kind in ("confirm", "reject", "void_payment"):
        state = CONFIRMED if kind == "void_payment" else REPORTED
        candidates = list(
            db.session.scalars(
                db.select(Payment.id).where(Payment.client_id == client_id, Payment.state == state).order_by(Payment.id)
            )
        )
        payment_id = _pick(candidates, operation[1])
        if payment_id is None:
            return
        if kind == "confirm":
            services.confirm_payment(ACTOR, payment_id)
        elif kind == "reject":
            services.reject_payment(ACTOR, payment_id, "Not received")
        else:
            services.void_payment(ACTOR, payment_id, "Bounced")
        return
    invoice_id = _pick(invoices, operation[1])
    if invoice_id is None:
        return
    invoice = db.session.get(Invoice, invoice_id, populate_existing=True)
    if kind in ("pay", "report"):
        part = (services.open_room(invoice) * operation[2] / 100).quantize(Decimal("0.01"))
        if part > 0:
            if kind == "pay":
                pay(invoice_id, part, on=TODAY - DAY, method=operation[3])
            else:
                report(client_id, invoice_id, part, on=TODAY - DAY, method=operation[3])
    elif kind == "credit":
        part = (services.creditable(invoice) * operation[2] / 100).quantize(Decimal("0.01"))
        if part > 0:
            services.credit_invoice(ACTOR, invoice_id, part, "Adjustment")
    elif kind == "void_invoice":
        services.void_invoice(ACTOR, invoice_id, "Cancelled")
    elif kind == "replan":
        services.replan_invoice(ACTOR, invoice_id, operation[2], operation[3], TODAY + 10 * DAY)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_the_ledger_stays_balanced_and_tied_to_the_books_after_any_operations(books, ops):
    if db.session.get(Setting, late_fees.SETTING_KEY) is None:  # a percentage, to exercise the rounding
        policy = late_fees.LateFeePolicy(True, rules.PERCENT, Decimal("3.75"), 0, since=TODAY - 400 * DAY)
        db.session.add(Setting(key=late_fees.SETTING_KEY, value=policy.to_text()))
        db.session.commit()
    client_id = make_client("Ledger Client", f"ledger{next(_emails)}@example.com")
    invoices = [make_invoice(client_id, "2240.00", issued=TODAY - 40 * DAY, due=TODAY - 30 * DAY, count=2)]
    assert find_problems() == []
    for operation in ops:
        try:
            _apply(client_id, invoices, operation)
        except BillingError:
            db.session.rollback()  # refused (paid in full, void, ...): nothing written
        assert find_problems() == [], operation
