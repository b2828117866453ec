"""Paying through PayMongo: the checkout the app asks for (``requests`` against the local
stand-in), the settings that choose the provider, the owner's settings page, and the demo's
journey: a client pays an installment by GCash on the stand-in's page, its signed webhook
records one confirmed payment on the right installment, and one receipt."""

from __future__ import annotations

import base64
import re
import threading
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
import requests
from paymongo_support import SECRET_KEY
from sqlalchemy import select
from stripe_support import (
    DAY,
    TODAY,
    checkouts,
    client_with_invoice,
    count,
    fresh,
    invoice,
    make_user,
    payments,
    receipts,
    sign_in,
    start_checkout,
)
from werkzeug.serving import make_server

from ais import create_app
from ais.config import ConfigError
from ais.models import CheckoutSession, Installment
from ais.payments.configured import chosen_provider_name, settings_problem


@pytest.fixture
def ann(paymongo_on, actions):
    """Ann, signed in, with 900.00 in 3 monthly installments of 300.00: two due, one next month."""
    books = client_with_invoice("900.00", count=3, issued=TODAY - 60 * DAY, due=TODAY - 40 * DAY)
    sign_in(actions, "ann@example.com")
    return books


def installments_paid(invoice_id):
    return list(
        fresh().scalars(
            select(Installment.paid_amount).where(Installment.invoice_id == invoice_id).order_by(Installment.number)
        )
    )


# --- What is sent to PayMongo -------------------------------------------------------------------------------


def test_paying_the_amount_due_creates_one_paymongo_checkout_with_the_right_details(ann, actions, paymongo_on):
    response = start_checkout(actions, ann.invoice_id, "due")
    session = paymongo_on.only_session()
    assert response.status_code == 303 and response.headers["Location"] == session["attributes"]["checkout_url"]
    [create] = paymongo_on.creates
    sent = create.body["data"]["attributes"]
    assert sent["line_items"] == [
        {
            "name": "Invoice INV-2026-0001",
            "description": "Installments 1–2 of 3",
            "amount": 60000,
            "currency": "PHP",
            "quantity": 1,
        }
    ]
    assert sent["payment_method_types"] == ["gcash", "paymaya", "qrph", "card"]
    assert sent["metadata"]["invoice_id"] == str(ann.invoice_id) and sent["metadata"]["client_id"] == str(ann.client_id)
    assert sent["success_url"] == f"http://localhost/portal/invoices/{ann.invoice_id}?checkout=success"
    assert sent["cancel_url"] == f"http://localhost/portal/invoices/{ann.invoice_id}?checkout=cancelled"
    assert sent["send_email_receipt"] is False
    assert create.headers["authorization"] == "Basic " + base64.b64encode(f"{SECRET_KEY}:".encode()).decode()
    assert create.headers["idempotency-key"].startswith(f"ais-checkout-{ann.invoice_id}-60000-")
    row = checkouts()[0]
    assert (row.provider, row.amount, row.status, row.provider_session_id) == (
        "paymongo",
        Decimal("600.00"),
        "open",
        session["id"],
    )
    assert invoice(ann.invoice_id).held_amount == Decimal("600.00")


def test_the_methods_offered_follow_paymongo_methods(app, ann, actions, paymongo_on):
    app.config["PAYMONGO_METHODS"] = "gcash, grab_pay,dob"
    start_checkout(actions, ann.invoice_id, "full")
    assert paymongo_on.creates[0].body["data"]["attributes"]["payment_method_types"] == ["gcash", "grab_pay", "dob"]


def test_another_amount_expires_the_open_checkout_at_paymongo_first(ann, actions, paymongo_on):
    start_checkout(actions, ann.invoice_id, "due")
    response = start_checkout(actions, ann.invoice_id, "full")
    first, second = checkouts()
    assert paymongo_on.calls("POST", rf"/v1/checkout_sessions/{first.provider_session_id}/expire")
    assert (first.status, second.status) == ("expired", "open")
    assert response.headers["Location"] == second.url
    assert invoice(ann.invoice_id).held_amount == Decimal("900.00")


def test_a_checkout_paid_meanwhile_keeps_its_room(ann, actions, paymongo_on):
    start_checkout(actions, ann.invoice_id, "due")
    paymongo_on.only_session()["attributes"]["status"] = "paid"  # paid, the webhook not here yet
    response = start_checkout(actions, ann.invoice_id, "full")
    assert response.headers["Location"].endswith("#pay-online") and len(paymongo_on.creates) == 1
    assert invoice(ann.invoice_id).held_amount == Decimal("600.00")


def test_a_checkout_long_past_its_expiry_is_released_and_closed_at_paymongo(
    app, ann, actions, paymongo_on, freeze_today
):
    """PayMongo's sessions never expire by themselves: AIS closes them when it stops holding room."""
    start_checkout(actions, ann.invoice_id, "full")
    later = checkouts()[0].expires_at.replace(tzinfo=UTC) + timedelta(minutes=20)
    freeze_today(later)
    start_checkout(actions, ann.invoice_id, "custom", "100.00")
    first, second = paymongo_on.sessions.values()
    assert (first["attributes"]["status"], second["attributes"]["status"]) == ("expired", "active")
    assert [r.status for r in checkouts()] == ["expired", "open"]
    # The same for every invoice at once: `flask --app ais payments release-stale` (e.g. from cron).
    freeze_today(later + timedelta(hours=1))
    result = app.test_cli_runner().invoke(args=["payments", "release-stale"])
    assert result.exit_code == 0 and "on 1 invoice(s)" in result.output
    assert second["attributes"]["status"] == "expired"
    assert invoice(ann.invoice_id).held_amount == Decimal("0.00")
    freeze_today(TODAY)


def test_the_client_can_cancel_the_open_payment(ann, actions, paymongo_on):
    start_checkout(actions, ann.invoice_id, "full")
    response = actions.post("/portal/checkout/cancel", {"invoice_id": str(ann.invoice_id)})
    assert response.status_code == 303 and checkouts()[0].status == "expired"
    assert paymongo_on.only_session()["attributes"]["status"] == "expired"
    assert invoice(ann.invoice_id).held_amount == Decimal("0.00")


def test_when_paymongo_refuses_nothing_is_held_and_the_client_is_told(ann, actions, paymongo_on):
    paymongo_on.fail_creates = 1
    response = start_checkout(actions, ann.invoice_id, "full")
    assert response.headers["Location"].endswith("#pay-online")
    assert checkouts()[0].status == "failed" and invoice(ann.invoice_id).held_amount == Decimal("0.00")
    with actions.client.session_transaction() as session:
        assert "Online payment is not available right now" in session["ais_checkout_error"]["message"]


def test_the_box_names_the_methods_and_the_page_may_lead_to_the_stand_in(ann, actions, paymongo_on):
    response = actions.client.get(f"/portal/invoices/{ann.invoice_id}")
    html = response.get_data(as_text=True)
    assert ">Pay online</button>" in html and "Pay by card" not in html
    assert "You'll pay with GCash, Maya, QR Ph, Card on PayMongo's secure page" in html
    assert f"form-action {paymongo_on.url} 'self'" in response.headers["Content-Security-Policy"]
    returned = actions.client.get(f"/portal/invoices/{ann.invoice_id}?checkout=cancelled").get_data(as_text=True)
    assert "You left the online payment page. Nothing was charged." in returned


# --- Which provider ----------------------------------------------------------------------------------------------


STRIPE_KEYS = {"STRIPE_SECRET_KEY": "sk_test_s", "STRIPE_WEBHOOK_SECRET": "whsec_s"}
PAYMONGO_KEYS = {"PAYMONGO_SECRET_KEY": "sk_test_p", "PAYMONGO_WEBHOOK_SECRET": "whsk_p"}


@pytest.mark.parametrize(
    ("settings", "chosen"),
    [
        ({}, None),
        (STRIPE_KEYS, "stripe"),
        (PAYMONGO_KEYS, "paymongo"),
        ({**STRIPE_KEYS, **PAYMONGO_KEYS, "PAYMENTS_PROVIDER": "paymongo"}, "paymongo"),
        ({**STRIPE_KEYS, **PAYMONGO_KEYS, "PAYMENTS_PROVIDER": "stripe"}, "stripe"),
        ({**PAYMONGO_KEYS, "PAYMENTS_PROVIDER": "manual"}, None),
    ],
)
def test_the_settings_choose_the_provider(settings, chosen):
    assert settings_problem(settings) is None
    assert chosen_provider_name(settings) == chosen


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({**STRIPE_KEYS, **PAYMONGO_KEYS}, "choose one with PAYMENTS_PROVIDER"),
        ({"PAYMONGO_SECRET_KEY": "sk_test_p"}, "PAYMONGO_WEBHOOK_SECRET is not"),
        ({"STRIPE_WEBHOOK_SECRET": "whsec_s", **PAYMONGO_KEYS}, "STRIPE_SECRET_KEY is not"),
        (
            {**STRIPE_KEYS, "PAYMENTS_PROVIDER": "paymongo"},
            "PAYMONGO_SECRET_KEY and PAYMONGO_WEBHOOK_SECRET are not set",
        ),
        ({"PAYMENTS_PROVIDER": "paypal"}, "must be stripe, paymongo or manual"),
        ({**PAYMONGO_KEYS, "PAYMONGO_METHODS": " , "}, "PAYMONGO_METHODS is empty"),
    ],
)
def test_unclear_settings_stop_the_start_and_turn_online_payment_off(database_url, settings, problem):
    assert problem in settings_problem(settings)
    assert chosen_provider_name(settings) is None
    with pytest.raises(ConfigError, match=problem):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, **settings})


def test_after_a_switch_the_former_providers_webhook_still_records_money(app, client, ann, paymongo_on):
    """PayMongo is chosen explicitly; Stripe's keys stay set, so a late Stripe event is not lost."""
    import stripe_support

    app.config.update(PAYMENTS_PROVIDER="paymongo", **stripe_support_keys())
    ghost = {"id": "cs_test_old", "object": "checkout.session", "amount_total": 30000, "currency": "php"}
    ghost["metadata"] = {"invoice_id": str(ann.invoice_id), "client_id": str(ann.client_id), "checkout_id": "99999"}
    response = stripe_support.deliver(client, stripe_support.session_event("completed", ghost, payment_intent="pi_old"))
    assert response.status_code == 200
    assert [(p.provider, p.amount) for p in payments()] == [("stripe", Decimal("300.00"))]


def stripe_support_keys():
    import stripe_support

    return {"STRIPE_SECRET_KEY": stripe_support.SECRET_KEY, "STRIPE_WEBHOOK_SECRET": stripe_support.WEBHOOK_SECRET}


# --- The owner's settings page -------------------------------------------------------------------------------


def methods_shown(html: str) -> list[str]:
    start = html.find('id="online-methods"')
    return re.findall(r"<li>([^<]+)</li>", html[start : html.find("</ul>", start)]) if start >= 0 else []


def test_the_owner_sees_the_provider_its_mode_and_the_methods_enabled(app, client, paymongo_on, actions):
    make_user("owner@example.com", "owner")
    sign_in(actions, "owner@example.com")
    html = actions.client.get("/settings/payments").get_data(as_text=True)
    assert "<h1" in html and '<dd class="col-sm-8">PayMongo</dd>' in html and "Test</span>" in html
    assert methods_shown(html) == ["GCash", "Maya", "QR Ph", "Card"]
    app.config["PAYMONGO_METHODS"] = "gcash,dob"
    assert methods_shown(actions.client.get("/settings/payments").get_data(as_text=True)) == ["GCash", "Online banking"]
    app.config["PAYMONGO_WEBHOOK_SECRET"] = ""
    html = actions.client.get("/settings/payments").get_data(as_text=True)
    assert "Online payment is off" in html and "PAYMONGO_WEBHOOK_SECRET is not" in html


def test_clients_cannot_see_the_settings_page(ann, actions):
    assert actions.client.get("/settings/payments").status_code == 403


# --- The demo's journey: paying an installment by GCash through the stand-in ---------------------------------


@pytest.fixture
def live_app(app):
    """The app served over HTTP on 127.0.0.1 (a free port), for the stand-in's webhook calls."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_a_client_pays_an_installment_by_gcash_through_the_stand_in(paymongo_on, actions, live_app):
    paymongo_on.page_base = ""  # the hosted page is the stand-in itself
    paymongo_on.app_url = live_app
    # 900.00 in 3 monthly installments; only the first (300.00) is due: it is "the amount due now".
    ann = client_with_invoice("900.00", count=3, issued=TODAY - 15 * DAY, due=TODAY - 5 * DAY)
    sign_in(actions, "ann@example.com")
    start_checkout(actions, ann.invoice_id, "due")
    assert checkouts()[0].amount == Decimal("300.00")
    first_url = checkouts()[0].url
    # The client chooses GCash on the hosted page, which sends the app the signed event.
    page = requests.get(first_url, timeout=10)
    assert page.status_code == 200 and "Pay with GCash" in page.text and "Pay with Maya" in page.text
    back = requests.post(first_url, data={"outcome": "gcash"}, allow_redirects=False, timeout=10)
    assert back.status_code == 303
    assert back.headers["Location"] == f"http://localhost/portal/invoices/{ann.invoice_id}?checkout=success"

    [payment] = payments()
    assert (payment.state, payment.amount, payment.method, payment.provider) == (
        "confirmed",
        Decimal("300.00"),
        "GCash",
        "paymongo",
    )
    assert payment.provider_reference.startswith("pay_") and payment.installment_number == 1
    assert installments_paid(ann.invoice_id) == [Decimal("300.00"), Decimal("0.00"), Decimal("0.00")]
    assert checkouts()[0].status == "complete" and invoice(ann.invoice_id).held_amount == Decimal("0.00")
    assert len(receipts()) == 1 and "Method: GCash" in receipts()[0].body_text
    # PayMongo delivers the same event again (it retries): nothing more.
    session = paymongo_on.only_session()
    event = paymongo_on.checkout_paid(session, session["attributes"]["payments"][0])
    assert paymongo_on.send(event) == 200
    assert len(payments()) == 1 and len(receipts()) == 1
    # Back on the invoice: the payment is received.
    html = actions.client.get(f"/portal/invoices/{ann.invoice_id}?checkout=success").get_data(as_text=True)
    assert "Payment received." in html and "Your online payment of ₱300.00" in html
    assert count(CheckoutSession) == 1
