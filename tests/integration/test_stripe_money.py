"""Money that arrives online is never dropped: what does not fit its invoice is flagged for the
owner as an overpayment; refunds void the payment (and keep what was kept)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from stripe_support import (
    ACTOR,
    DAY,
    TODAY,
    checkouts,
    client_with_invoice,
    count,
    deliver,
    fresh,
    invoice,
    make_invoice,
    make_user,
    payments,
    receipts,
    refund_event,
    session_event,
    sign_in,
    start_checkout,
)

from ais.accounting.commands import rebuild_ledger
from ais.billing import credits, ledger, services
from ais.billing.checks import find_problems
from ais.extensions import db
from ais.models import (
    Allocation,
    AuditEntry,
    Installment,
    JournalEntry,
    JournalLine,
    OutboxMessage,
    Overpayment,
    Payment,
)
from ais.payments.services import open_overpayments, overpayment_lines


@pytest.fixture
def ann(stripe_on, actions):
    books = client_with_invoice("1000.00")
    sign_in(actions, "ann@example.com")
    return books


def overpayments() -> list[Overpayment]:
    return list(fresh().scalars(select(Overpayment).order_by(Overpayment.id)))


def owner_notices() -> list[OutboxMessage]:
    return list(fresh().scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("overpayment:%"))))


def assert_books_consistent():
    """`flask check` finds nothing (no checkout is open at this point, so nothing is held)."""
    db.session.rollback()
    assert find_problems() == []


# --- Two tabs, both paid --------------------------------------------------------------------------------------


def test_two_tabs_make_one_session_and_a_second_payment_anyway_is_flagged_not_dropped(
    client, actions, ann, stripe_on, freeze_today
):
    first = start_checkout(actions, ann.invoice_id, "full")
    second = start_checkout(actions, ann.invoice_id, "full")
    assert first.headers["Location"] == second.headers["Location"] and len(stripe_on.creates) == 1
    old = stripe_on.only_session()
    # Much later the old tab's session is long expired here; a new one is made and paid...
    freeze_today(datetime(2026, 3, 16, 4, 0, tzinfo=UTC) + timedelta(hours=2))
    start_checkout(actions, ann.invoice_id, "full")
    assert len(stripe_on.creates) == 2
    new = stripe_on.sessions[checkouts()[1].provider_session_id]
    deliver(client, session_event("completed", new, payment_intent="pi_new"))
    # ...and the old one had been paid in its last second: its webhook comes late.
    deliver(client, session_event("completed", old, payment_intent="pi_old"))

    [paid] = payments()
    assert (paid.amount, paid.provider_reference, paid.state) == (Decimal("1000.00"), "pi_new", "confirmed")
    [flagged] = overpayments()
    assert (flagged.amount, flagged.currency, flagged.provider_reference, flagged.invoice_id, flagged.client_id) == (
        Decimal("1000.00"),
        "PHP",
        "pi_old",
        ann.invoice_id,
        ann.client_id,
    )
    assert "already paid" in flagged.reason and flagged.resolved_at is None
    assert invoice(ann.invoice_id).paid_amount == Decimal("1000.00")
    assert invoice(ann.invoice_id).held_amount == Decimal("0.00")
    [notice] = owner_notices()
    assert notice.to_address == "owner@example.com"
    assert "₱1,000.00" in notice.body_text and "INV-2026-0001" in notice.body_text and "pi_old" in notice.body_text
    assert len(receipts()) == 1
    assert_books_consistent()


def test_two_payment_intents_on_one_session_are_one_payment_and_one_overpayment(client, ann, session):
    deliver(client, session_event("completed", session, payment_intent="pi_a"))
    deliver(client, session_event("async_payment_succeeded", session, payment_intent="pi_b"))
    assert [p.provider_reference for p in payments()] == ["pi_a"]
    assert [o.provider_reference for o in overpayments()] == ["pi_b"]
    # And each again: nothing more.
    deliver(client, session_event("completed", session, payment_intent="pi_a"))
    deliver(client, session_event("completed", session, payment_intent="pi_b"))
    assert len(payments()) == 1 and len(overpayments()) == 1 and len(owner_notices()) == 1


@pytest.fixture
def session(actions, ann, stripe_on):
    start_checkout(actions, ann.invoice_id, "full")
    return stripe_on.only_session()


def test_what_fits_pays_the_invoice_and_only_the_rest_is_flagged(client, ann, session):
    # Stripe reports more than the checkout asked for (1200.00 on a 1000.00 balance).
    deliver(client, session_event("completed", session, payment_intent="pi_more", amount_total=120000))
    [paid] = payments()
    [flagged] = overpayments()
    assert paid.amount == Decimal("1000.00") and flagged.amount == Decimal("200.00")
    assert "only ₱1,000.00 was still open" in flagged.reason
    assert paid.provider_reference == flagged.provider_reference == "pi_more"
    assert_books_consistent()


def test_another_currency_is_flagged_whole(client, ann, session):
    deliver(client, session_event("completed", session, payment_intent="pi_usd", currency="usd", amount_total=2000))
    assert payments() == []
    [flagged] = overpayments()
    assert (flagged.amount, flagged.currency) == (Decimal("20.00"), "USD")
    assert "paid in USD but the invoice is in PHP" in flagged.reason
    assert invoice(ann.invoice_id).held_amount == Decimal("0.00")


def test_money_for_a_voided_invoice_is_flagged(client, ann, session):
    services.void_invoice(ACTOR, ann.invoice_id, "Issued by mistake")
    deliver(client, session_event("completed", session, payment_intent="pi_void"))
    assert payments() == []
    [flagged] = overpayments()
    assert "voided" in flagged.reason and flagged.amount == Decimal("1000.00")


def test_money_naming_an_unknown_invoice_is_flagged_without_one(client, ann, stripe_on):
    ghost = {
        "id": "cs_test_ghost",
        "object": "checkout.session",
        "amount_total": 5000,
        "currency": "php",
        "metadata": {"invoice_id": "99999", "client_id": "1", "checkout_id": "99999"},
    }
    deliver(client, session_event("completed", ghost, payment_intent="pi_ghost"))
    [flagged] = overpayments()
    assert (flagged.invoice_id, flagged.amount) == (None, Decimal("50.00"))
    assert "names no invoice" in flagged.reason
    # Labels that contradict each other (this invoice is not client 999's) are not trusted either.
    mixed = dict(
        ghost,
        id="cs_test_mixed",
        metadata={"invoice_id": str(ann.invoice_id), "client_id": "999", "checkout_id": "99999"},
    )
    deliver(client, session_event("completed", mixed, payment_intent="pi_mixed"))
    assert payments() == [] and [o.invoice_id for o in overpayments()] == [None, None]


def test_overpayments_are_listed_for_the_owner_and_for_flask_check(app, client, ann, session, actions):
    deliver(client, session_event("completed", session, payment_intent="pi_1"))
    deliver(client, session_event("async_payment_succeeded", session, payment_intent="pi_2"))
    [row] = open_overpayments()
    assert (row.invoice_no, row.client_name, row.amount) == ("INV-2026-0001", "Ann Cruz", Decimal("1000.00"))
    [line] = overpayment_lines()
    assert line.startswith("Overpayment ₱1,000.00 (invoice INV-2026-0001, Ann Cruz, pi_2) awaits a refund or credit")
    make_user("owner@example.com", "owner")
    # The owner's dashboard lists it, with the form that settles it (its figures say that some is open).
    sign_in(actions, "owner@example.com")
    html = actions.client.get("/dashboard").get_data(as_text=True)
    assert "Customer credits to apply or refund" in html and "₱1,000.00" in html and "pi_2" in html
    assert f'action="/overpayments/{row.id}/resolve"' in html and 'name="csrf_token"' in html
    # Clients never see it: their portal has no such list, and the dashboard is not theirs.
    client_page = client.get("/portal").get_data(as_text=True)
    assert "refund or credit" not in client_page and "pi_2" not in client_page


def test_the_owner_marks_an_overpayment_settled(client, ann, session, actions):
    deliver(client, session_event("completed", session, payment_intent="pi_1"))
    deliver(client, session_event("async_payment_succeeded", session, payment_intent="pi_2"))
    [row] = open_overpayments()
    assert actions.post(f"/overpayments/{row.id}/resolve", {"note": "x"}).status_code == 403  # a client
    actions.logout()
    make_user("owner@example.com", "owner")
    sign_in(actions, "owner@example.com")
    response = actions.post(f"/overpayments/{row.id}/resolve", {"note": "", "next": "/dashboard"})
    assert response.status_code == 303 and overpayments()[0].resolved_at is None
    response = actions.post(
        f"/overpayments/{row.id}/resolve", {"note": "Credited to INV-2026-0002", "next": "https://evil.example/"}
    )
    assert response.status_code == 303 and not response.headers["Location"].startswith("https://evil")
    assert overpayments()[0].resolution == "Credited to INV-2026-0002" and open_overpayments() == []
    assert overpayment_lines() == []
    assert count(AuditEntry, AuditEntry.action == "payment.overpayment_resolved") == 1
    assert "Customer credits to apply or refund" not in actions.client.get("/dashboard").get_data(as_text=True)


def test_a_late_card_payment_goes_on_the_next_invoice_and_the_rest_is_refunded_to_the_card(client, ann, session):
    """A customer credit from the webhook: part applied to the client's next invoice (Dr customer
    credits / Cr receivable), the rest refunded by hand, out of card clearing by default."""

    from ais.models import JournalLine

    deliver(client, session_event("completed", session, payment_intent="pi_1"))
    deliver(client, session_event("async_payment_succeeded", session, payment_intent="pi_2"))
    [flagged] = overpayments()
    next_invoice = make_invoice(ann.client_id, "400.00", issued=TODAY - DAY)
    payment_id = credits.apply_credit(ACTOR, flagged.id, next_invoice, "400.00")
    assert invoice(next_invoice).paid_amount == Decimal("400.00")
    assert [row.remaining for row in open_overpayments()] == [Decimal("600.00")]
    credits.refund_credit(ACTOR, flagged.id, "Refunded in the Stripe dashboard")
    settled = overpayments()[0]
    assert (settled.applied_amount, settled.refunded_amount, settled.refund_method) == (
        Decimal("400.00"),
        Decimal("600.00"),
        "Card",
    )
    refund = (
        fresh()
        .scalars(select(JournalEntry).where(JournalEntry.source_type == ledger.OVERPAYMENT).order_by(JournalEntry.id))
        .all()[-1]
    )
    amounts = sorted(
        (line.debit, line.credit)
        for line in fresh().scalars(select(JournalLine).where(JournalLine.entry_id == refund.id))
    )
    assert amounts == [(Decimal("0.00"), Decimal("600.00")), (Decimal("600.00"), Decimal("0.00"))]
    assert fresh().get(Payment, payment_id).method == "Customer credit"
    assert_books_consistent()


def test_a_stripe_refund_of_what_is_left_of_a_partly_applied_credit_settles_it(client, ann, session):
    deliver(client, session_event("completed", session, payment_intent="pi_1"))
    deliver(client, session_event("async_payment_succeeded", session, payment_intent="pi_2"))
    [flagged] = overpayments()
    next_invoice = make_invoice(ann.client_id, "400.00", issued=TODAY - DAY)
    credits.apply_credit(ACTOR, flagged.id, next_invoice, "400.00")
    deliver(client, refund_event("pi_2", 100000, 60000))  # the 600.00 left, refunded in Stripe
    settled = overpayments()[0]
    assert settled.resolved_at is not None and settled.resolution.startswith("Refunded in Stripe")
    assert (settled.refunded_amount, settled.refund_method) == (Decimal("600.00"), "Card")
    assert invoice(next_invoice).paid_amount == Decimal("400.00")  # the applied part stays applied
    assert_books_consistent()
    assert rebuild_ledger(force=True, echo=lambda *a, **k: None, progress=False) == 0
    assert_books_consistent()


# --- Refunds ------------------------------------------------------------------------------------------------


@pytest.fixture
def plan(stripe_on, actions):
    """900.00 in 3 installments, 300.00 paid in cash, then 600.00 paid by card."""
    books = client_with_invoice("900.00", count=3, issued=TODAY - 60 * DAY, due=TODAY - 40 * DAY)
    services.record_payment(ACTOR, books.invoice_id, Decimal("300.00"), TODAY - 30 * DAY, "Cash")
    sign_in(actions, "ann@example.com")
    start_checkout(actions, books.invoice_id, "full")
    return books, stripe_on.only_session()


def installments_paid(invoice_id):
    return [
        i.paid_amount
        for i in fresh().scalars(
            select(Installment).where(Installment.invoice_id == invoice_id).order_by(Installment.number)
        )
    ]


def test_a_full_refund_voids_the_payment_with_the_reason_and_reallocates(client, plan):
    books, session = plan
    deliver(client, session_event("completed", session, payment_intent="pi_card"))
    assert installments_paid(books.invoice_id) == [Decimal("300.00")] * 3
    deliver(client, refund_event("pi_card", 60000, 60000))
    card = payments()[1]
    assert card.state == "voided" and "Refunded in Stripe" in card.state_reason and "ch_card" in card.state_reason
    assert invoice(books.invoice_id).paid_amount == Decimal("300.00")
    assert installments_paid(books.invoice_id) == [Decimal("300.00"), Decimal("0.00"), Decimal("0.00")]
    assert fresh().scalar(select(Allocation).where(Allocation.payment_id == card.id)) is None
    assert count(AuditEntry, AuditEntry.action == "payment.refunded") == 1
    [told] = refund_notices()
    assert told.to_address == "ann@example.com" and "INV-2026-0001" in told.subject
    assert "₱600.00 in all has gone back to you" in told.body_text and "none of it counts" in told.body_text
    deliver(client, refund_event("pi_card", 60000, 60000))  # the same refund again: told once
    assert len(refund_notices()) == 1
    assert_books_consistent()


def refund_notices() -> list[OutboxMessage]:
    return list(
        fresh().scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like("refunded:%")).order_by(OutboxMessage.id)
        )
    )


def test_a_partial_refund_voids_the_payment_and_keeps_the_rest_as_a_new_payment(client, plan):
    books, session = plan
    deliver(client, session_event("completed", session, payment_intent="pi_card"))
    deliver(client, refund_event("pi_card", 60000, 10000))  # 100.00 back
    cash, card, kept = payments()
    assert card.state == "voided" and "Refunded in Stripe (₱100.00" in card.state_reason
    assert (kept.state, kept.amount, kept.reference, kept.provider, kept.date) == (
        "confirmed",
        Decimal("500.00"),
        "pi_card",
        "stripe",
        card.date,
    )
    assert invoice(books.invoice_id).paid_amount == Decimal("800.00")
    assert installments_paid(books.invoice_id) == [Decimal("300.00"), Decimal("300.00"), Decimal("200.00")]
    # A second refund (cumulative 250.00), its event delivered twice, then the older one again.
    second = refund_event("pi_card", 60000, 25000)
    deliver(client, second)
    deliver(client, second)
    deliver(client, refund_event("pi_card", 60000, 10000))
    live = [p for p in payments() if p.state == "confirmed"]
    assert [p.amount for p in live] == [Decimal("300.00"), Decimal("350.00")]
    assert invoice(books.invoice_id).paid_amount == Decimal("650.00")
    # Then the rest: nothing of the card payment is left.
    deliver(client, refund_event("pi_card", 60000, 60000))
    assert [p.amount for p in payments() if p.state == "confirmed"] == [Decimal("300.00")]
    assert len(receipts()) == 2  # the cash and the card payment; refunds send none
    # Each refund that changed what counts told the client so (100.00, then 250.00, then all of it).
    told = [m.body_text for m in refund_notices()]
    assert len(told) == 3
    assert "₱100.00 in all has gone back to you, and ₱500.00 still counts as paid" in told[0]
    assert "₱250.00 in all has gone back to you, and ₱350.00 still counts as paid" in told[1]
    assert "₱600.00 in all has gone back to you, and none of it counts" in told[2]
    assert_books_consistent()


def test_refunding_the_flagged_excess_settles_the_overpayment_not_the_invoice_payment(client, ann, session):
    deliver(client, session_event("completed", session, payment_intent="pi_more", amount_total=120000))
    deliver(client, refund_event("pi_more", 120000, 20000))  # the owner refunds the 200.00 excess
    [paid] = payments()
    assert paid.state == "confirmed" and paid.amount == Decimal("1000.00")
    [flagged] = overpayments()
    assert flagged.resolved_at is not None and "Refunded in Stripe" in flagged.resolution
    assert open_overpayments() == []


def _ledger_balances() -> dict[str, Decimal]:
    from sqlalchemy import func

    from ais.models import Account

    rows = db.session.execute(
        select(Account.role, func.sum(JournalLine.debit) - func.sum(JournalLine.credit))
        .join(JournalLine, JournalLine.account_id == Account.id)
        .group_by(Account.role)
    )
    return {role: Decimal(value) for role, value in rows if Decimal(value) != 0}


def test_an_overpayment_posts_to_card_clearing_and_customer_credits_and_its_refund_reverses_it(client, ann, session):
    deliver(client, session_event("completed", session, payment_intent="pi_more", amount_total=120000))
    db.session.remove()
    balances = _ledger_balances()
    assert balances["card"] == Decimal("1200.00") and balances["customer_credit"] == Decimal("-200.00")
    assert "receivable" not in balances  # the 1,000.00 invoice is paid
    deliver(client, refund_event("pi_more", 120000, 20000))
    db.session.remove()
    balances = _ledger_balances()
    assert balances["card"] == Decimal("1000.00") and "customer_credit" not in balances
    assert_books_consistent()
