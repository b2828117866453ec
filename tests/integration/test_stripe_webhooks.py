"""POST /webhooks/stripe: what is Stripe's own (delayed methods, expiry, foreign checkouts, events
it sends that AIS ignores).  The exactly-once suite (50 deliveries, either order, 20 at once,
forged, stale and malformed events) runs for Stripe and PayMongo in test_online_webhooks.py."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from sqlalchemy import select
from stripe_support import (
    checkouts,
    client_with_invoice,
    count,
    deliver,
    fresh,
    invoice,
    nothing_written,
    payments,
    refund_event,
    session_event,
    sign_in,
    signed,
    start_checkout,
)

from ais.extensions import db
from ais.models import AuditEntry, CheckoutSession, Payment, WebhookEvent


@pytest.fixture
def paying(stripe_on, actions):
    """Ann has started a card payment of 1000.00 (the full balance); returns (books, session)."""
    books = client_with_invoice("1000.00")
    sign_in(actions, "ann@example.com")
    start_checkout(actions, books.invoice_id, "full")
    return books, stripe_on.only_session()


def post_raw(client, body: str | bytes, header: str | None):
    headers = {"Stripe-Signature": header} if header is not None else {}
    return client.post("/webhooks/stripe", data=body, headers=headers, content_type="application/json")


# --- Authenticity -----------------------------------------------------------------------------------------


def test_a_signed_event_is_accepted_without_a_csrf_token(client, paying):
    books, session = paying
    response = deliver(client, session_event("completed", session))
    assert response.status_code == 200
    assert response.get_json()["outcome"] == f"payment {payments()[0].id} recorded"


def test_an_oversized_body_is_refused_unread(client, paying):
    body, header = signed(session_event("completed", paying[1], padding="x" * 600_000))
    assert post_raw(client, body, header).status_code == 413
    assert nothing_written()


def test_with_stripe_off_the_webhook_is_not_there(app, client, paying):
    app.config["STRIPE_WEBHOOK_SECRET"] = ""
    assert deliver(client, session_event("completed", paying[1])).status_code == 404
    assert nothing_written()


# --- Once -------------------------------------------------------------------------------------------------


def test_async_payment_succeeded_before_completed_is_still_one_payment(client, paying):
    books, session = paying
    deliver(client, session_event("async_payment_succeeded", session, payment_intent="pi_late"))
    assert len(payments()) == 1 and checkouts()[0].status == "complete"
    # The older "completed" (status unpaid at the time) arrives last: nothing changes.
    response = deliver(client, session_event("completed", session, payment_intent="pi_late", payment_status="unpaid"))
    assert response.status_code == 200
    assert len(payments()) == 1 and checkouts()[0].status == "complete"
    assert invoice(books.invoice_id).held_amount == Decimal("0.00")


# --- Delayed methods, expiry, other events ------------------------------------------------------------------


def test_completed_but_unpaid_waits_and_keeps_holding_then_succeeds(client, paying):
    books, session = paying
    deliver(client, session_event("completed", session, payment_intent="pi_debit", payment_status="unpaid"))
    assert payments() == [] and checkouts()[0].status == "processing"
    assert invoice(books.invoice_id).held_amount == Decimal("1000.00")
    deliver(client, session_event("async_payment_succeeded", session, payment_intent="pi_debit"))
    assert len(payments()) == 1 and checkouts()[0].status == "complete"
    assert invoice(books.invoice_id).held_amount == Decimal("0.00")


def test_a_failed_delayed_payment_releases_the_hold(client, paying):
    books, session = paying
    deliver(client, session_event("completed", session, payment_intent="pi_debit", payment_status="unpaid"))
    deliver(client, session_event("async_payment_failed", session, payment_intent="pi_debit", payment_status="unpaid"))
    assert payments() == [] and checkouts()[0].status == "failed"
    assert invoice(books.invoice_id).held_amount == Decimal("0.00")
    assert count(AuditEntry, AuditEntry.action == "checkout.failed") == 1


def test_expiry_after_completion_changes_nothing(client, paying):
    books, session = paying
    deliver(client, session_event("completed", session))
    deliver(client, session_event("expired", session, payment_intent=None, payment_status="unpaid"))
    assert checkouts()[0].status == "complete" and len(payments()) == 1


def test_unknown_event_types_are_acknowledged_and_ignored(client, paying, caplog):
    event = {
        "id": "evt_unknown_1",
        "object": "event",
        "type": "customer.created",
        "created": int(time.time()),
        "data": {"object": {"id": "cus_1", "object": "customer"}},
    }
    import logging

    logging.getLogger("ais.payments").disabled = False  # alembic's fileConfig (test setup) disables it
    with caplog.at_level("INFO", logger="ais.payments"):
        response = deliver(client, event)
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert "customer.created ignored" in caplog.text
    assert fresh().get(WebhookEvent, "evt_unknown_1").outcome == "ignored"
    assert payments() == [] and checkouts()[0].status == "open"


def test_a_checkout_from_another_system_on_the_same_account_is_ignored(client, paying):
    foreign = {
        "id": "cs_live_elsewhere",
        "object": "checkout.session",
        "amount_total": 5000,
        "currency": "php",
        "metadata": {},
    }
    response = deliver(client, session_event("completed", foreign, payment_intent="pi_elsewhere"))
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored: not an AIS checkout"
    assert payments() == []


def test_a_session_is_found_by_its_metadata_if_its_id_was_never_stored(client, paying):
    """The create call succeeded but the app stopped before saving the session id."""
    books, session = paying
    row = fresh().scalar(select(CheckoutSession))
    row.provider_session_id = None
    db.session.commit()
    deliver(client, session_event("completed", session, payment_intent="pi_meta"))
    assert len(payments()) == 1 and checkouts()[0].status == "complete"
    assert invoice(books.invoice_id).held_amount == Decimal("0.00")


def test_refund_of_an_unknown_payment_intent_is_ignored(client, paying):
    response = deliver(client, refund_event("pi_nobody", 1000, 1000))
    assert response.status_code == 200 and payments() == []


def test_a_late_payment_on_a_locally_expired_session_is_still_recorded(client, paying):
    books, session = paying
    deliver(client, session_event("expired", session, payment_intent=None, payment_status="unpaid"))
    deliver(client, session_event("completed", session, payment_intent="pi_last_second"))
    assert len(payments()) == 1 and payments()[0].amount == Decimal("1000.00")
    assert checkouts()[0].status == "complete"
    assert fresh().scalar(select(Payment.state)) == "confirmed"
