"""What a client owes, said one way: the portal dashboard (SQL over all invoices) and each invoice's
page (rules.owed) agree for any books, and the pages never contradict each other."""

from __future__ import annotations

import contextlib
import itertools
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portal_support import ACTOR, ANN, DAY, TODAY, make_client, make_invoice, make_user, pay, report, sign_in, text_of

from ais.billing import services
from ais.billing.services import BillingError
from ais.extensions import db
from ais.models import Invoice
from ais.portal import queries

ZERO = Decimal("0.00")
_emails = itertools.count(1)

payment_kinds = st.sampled_from(["confirmed", "reported", "voided", "rejected"])
payments = st.lists(st.tuples(payment_kinds, st.integers(1, 100), st.integers(0, 30)), max_size=4)
invoices = st.lists(
    st.fixed_dictionaries(
        {
            "cents": st.integers(200, 2_000_000),
            "count": st.integers(1, 4),
            # Due dates around today, today itself often.
            "first_due": st.one_of(st.sampled_from([0, 0, -7, 7, -30, 30]), st.integers(-60, 60)),
            "payments": payments,
            "void": st.booleans(),
        }
    ),
    min_size=1,
    max_size=3,
)


def _make_books(spec) -> int:
    """A new client with the invoices and payments ``spec`` describes, all through the service layer."""
    client_id = make_client("Owed Client", f"owed{next(_emails)}@example.com")
    for item in spec:
        amount = str(Decimal(item["cents"]) / 100)
        invoice_id = make_invoice(
            client_id, amount, issued=TODAY - 100 * DAY, due=TODAY + item["first_due"] * DAY, count=item["count"]
        )
        for kind, share, days_ago in item["payments"]:
            invoice = db.session.get(Invoice, invoice_id, populate_existing=True)
            room = services.open_room(invoice)
            part = (room * share / 100).quantize(Decimal("0.01"))
            if part <= 0:
                continue
            on = TODAY - days_ago * DAY
            if kind in ("confirmed", "voided"):
                payment_id = pay(invoice_id, part, on=on)
                if kind == "voided":
                    services.void_payment(ACTOR, payment_id, "Bounced")
            else:
                payment_id = report(client_id, invoice_id, part, on=on)
                if kind == "rejected":
                    services.reject_payment(ACTOR, payment_id, "Not received")
        if item["void"]:
            with contextlib.suppress(BillingError):  # it has confirmed payments: it stays
                services.void_invoice(ACTOR, invoice_id, "Raised twice")
    return client_id


def _invoice_pages(client_id):
    """Each issued invoice of the client as its page reads it, with what is owed on it."""
    ids = [row.id for row in queries.invoices_page(client_id, 1, per_page=50).items]
    views = [queries.invoice(client_id, invoice_id) for invoice_id in ids]
    return [(view, services.owed_on(view, TODAY)) for view in views]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=invoices)
def test_the_dashboard_figures_are_the_sums_of_the_invoice_pages(books, spec):
    client_id = _make_books(spec)
    totals, to_pay, following = queries.overview(client_id, TODAY)
    pages = _invoice_pages(client_id)
    owed = [o for _, o in pages]
    assert totals.overdue == sum((o.overdue for o in owed), ZERO)
    assert totals.due_today == sum((o.due_today for o in owed), ZERO)
    assert totals.held == sum((o.awaiting_confirmation for o in owed), ZERO)
    assert totals.outstanding == sum((o.balance for o in owed), ZERO)
    assert totals.pay_now == sum((o.pay_now for o in owed), ZERO)
    # The dashboard's "next payment" is the invoice page's: the first invoice with something to pay
    # now, else the earliest next installment, with the same amount.
    with_pay_now = sorted(
        (
            (min(i.due_date for i in v.installments if i.paid_amount < i.amount), v.id, o)
            for v, o in pages
            if o.pay_now > 0
        ),
        key=lambda t: (t[0], t[1]),
    )
    if with_pay_now:
        assert (to_pay.invoice_id, to_pay.unpaid, to_pay.due_date) == (
            with_pay_now[0][1],
            with_pay_now[0][2].pay_now,
            with_pay_now[0][0],
        )
    else:
        assert to_pay is None
    nexts = sorted((o.next_installment.due_date, v.id, o.next_installment) for v, o in pages if o.next_installment)
    if nexts:
        first = nexts[0]
        assert (following.invoice_id, following.number, following.due_date, following.unpaid) == (
            first[1],
            first[2].number,
            first[2].due_date,
            first[2].amount,
        )
    else:
        assert following is None
    for _, o in pages:
        # Reported money reduces what is asked; the suggestion never exceeds what is left to send.
        assert ZERO <= o.suggested <= o.to_pay
        assert o.suggested_label in ("Due now", "Next installment", "")


# --- The contradictions of issue 16, on rendered pages -----------------------------------------------


def squash(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def alice(app, actions, freeze_today):
    freeze_today(TODAY)
    with app.app_context():
        client_id = make_client("Alice Johnson", ANN[0])
        make_user(*ANN, role="client", client_id=client_id)
        # 12,000.00 in four monthly installments of 3,000.00: #1 overdue (Mar 6), #2 Apr 6, ...
        plan = make_invoice(client_id, "12000.00", issued=TODAY - 20 * DAY, due=TODAY - 10 * DAY, count=4)
        sign_in(actions, ANN)
        yield client_id, plan


def test_a_reported_overdue_installment_is_not_asked_for_again_anywhere(client, alice):
    client_id, plan = alice
    report(client_id, plan, "3000.00")
    dashboard = squash(text_of(client.get("/portal")))
    assert "To pay now ₱0.00" in dashboard and "Covered by payments awaiting confirmation" in dashboard
    assert "and pay" not in dashboard
    assert "Next installment ₱3,000.00 Due April 6, 2026" in dashboard
    page = squash(text_of(client.get(f"/portal/invoices/{plan}")))
    assert "Next installment: ₱3,000.00 due Apr 6, 2026" in page
    assert "To pay now ₱0.00" in page and "Awaiting confirmation − ₱3,000.00" in page
    assert "Due now" not in page


def test_an_overdue_installment_is_to_pay_now_on_every_page(client, alice):
    client_id, plan = alice
    dashboard = squash(text_of(client.get("/portal")))
    assert "To pay now ₱3,000.00" in dashboard and "Includes ₱3,000.00 overdue" in dashboard
    assert "View invoice" in dashboard and "and pay" in dashboard
    page = squash(text_of(client.get(f"/portal/invoices/{plan}")))
    assert "To pay now: ₱3,000.00 (includes ₱3,000.00 overdue)" in page
    assert "Overdue ₱3,000.00" in page


def test_a_future_installment_is_never_called_due_now(client, alice, freeze_today):
    client_id, plan = alice
    pay(plan, "3000.00", on=TODAY - DAY)  # #1 paid; #2 is due on April 6, in three weeks
    dashboard = squash(text_of(client.get("/portal")))
    page = squash(text_of(client.get(f"/portal/invoices/{plan}")))
    assert "To pay now ₱0.00" in dashboard
    assert "Next installment ₱3,000.00 Due April 6, 2026" in dashboard
    assert "Next installment: ₱3,000.00 due Apr 6, 2026" in page
    assert "Due now" not in page and "Due now" not in dashboard


def test_an_installment_due_today_is_to_pay_now(client, alice, freeze_today):
    client_id, plan = alice
    pay(plan, "3000.00", on=TODAY - DAY)
    freeze_today(TODAY + 21 * DAY)  # April 6: #2 is due today
    dashboard = squash(text_of(client.get("/portal")))
    page = squash(text_of(client.get(f"/portal/invoices/{plan}")))
    assert "To pay now ₱3,000.00" in dashboard and "Due today" in dashboard
    assert "To pay now: ₱3,000.00" in page and "Due today ₱3,000.00" in page


def test_the_owner_sees_the_same_figures(client, app, alice, actions):
    client_id, plan = alice
    report(client_id, plan, "1000.00")
    make_user("owner@example.com", "owner-password-1")
    actions.logout()
    sign_in(actions, ("owner@example.com", "owner-password-1"))
    page = squash(text_of(client.get(f"/invoices/{plan}")))
    assert "To pay now: ₱2,000.00 (includes ₱3,000.00 overdue)" in page
    assert "Awaiting confirmation − ₱1,000.00" in page


@pytest.mark.parametrize(
    "paid, total, shown",
    [
        ("2000", "12000", "17%"),
        ("11999.99", "12000", "99%"),
        ("0.01", "12000", "1%"),
        ("0", "12000", "0%"),
        ("12000", "12000", "100%"),
    ],
)
def test_progress_is_rounded_but_never_full_before_the_last_cent(app, paid, total, shown):
    with app.app_context():
        macros = app.jinja_env.get_template("_macros.html").module
        html = str(macros.progress(Decimal(paid), Decimal(total), "Paid"))
    assert f">{shown}</span>" in html
