"""Starting an online payment: POST /portal/checkout creates one Stripe Checkout Session (through
the real library, against a local stub), holds its room under the cap, and is reused by a
second click or tab."""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal

import pytest
from stripe_support import (
    ACTOR,
    DAY,
    TODAY,
    checkouts,
    client_with_invoice,
    count,
    deliver,
    invoice,
    make_invoice,
    make_user,
    session_event,
    sign_in,
    start_checkout,
)

from ais.billing import services
from ais.billing.services import PaymentRefused
from ais.models import AuditEntry, CheckoutSession


@pytest.fixture
def ann(stripe_on, actions):
    """Ann, signed in to the portal, with 900.00 in 3 monthly installments of 300.00: the first
    two are due (40 and 12 days ago), the third next month."""
    books = client_with_invoice("900.00", count=3, issued=TODAY - 60 * DAY, due=TODAY - 40 * DAY)
    sign_in(actions, "ann@example.com")
    return books


def page(invoice_id: int, query: str = "") -> str:
    """The portal's invoice page, as the signed-in person sees it (it includes the online-payment box)."""
    response = _actions["current"].client.get(f"/portal/invoices/{invoice_id}{query}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def box(invoice_id: int, query: str = "") -> str:
    """Just the online-payment box of the page ("" when there is none)."""
    html = page(invoice_id, query)
    start = html.find('<section id="pay-online"')
    return html[start : html.index("</section>", start) + len("</section>")] if start >= 0 else ""


# --- What is sent to Stripe ---------------------------------------------------------------------------


def test_paying_the_amount_due_creates_one_checkout_session_with_the_right_details(client, ann, stripe_on):
    response = _post(ann, "due")
    session = stripe_on.only_session()
    assert response.status_code == 303
    assert response.headers["Location"] == session["url"]
    sent = stripe_on.creates[0].form
    assert sent["line_items[0][price_data][unit_amount]"] == "60000"  # installments 1 and 2: 600.00 in cents
    assert sent["line_items[0][price_data][currency]"] == "php"
    assert sent["line_items[0][quantity]"] == "1"
    assert sent["line_items[0][price_data][product_data][name]"] == "Invoice INV-2026-0001"
    assert sent["line_items[0][price_data][product_data][description]"] == "Installments 1–2 of 3"
    assert sent["metadata[invoice_id]"] == str(ann.invoice_id)
    assert sent["metadata[client_id]"] == str(ann.client_id)
    assert sent["customer_email"] == "ann@example.com"
    assert sent["mode"] == "payment"
    assert sent["success_url"] == (
        f"http://localhost/portal/invoices/{ann.invoice_id}?checkout=success&session_id={{CHECKOUT_SESSION_ID}}"
    )
    assert sent["cancel_url"] == f"http://localhost/portal/invoices/{ann.invoice_id}?checkout=cancelled"
    key = stripe_on.creates[0].headers["idempotency-key"]
    assert key.startswith(f"ais-checkout-{ann.invoice_id}-60000-")
    assert stripe_on.creates[0].headers["authorization"] == "Bearer sk_test_ais_stub"
    row = checkouts()[0]
    assert (row.amount, row.currency, row.status, row.provider_session_id, row.url, row.idempotency_key) == (
        Decimal("600.00"),
        "PHP",
        "open",
        session["id"],
        session["url"],
        key,
    )


_actions = {}


@pytest.fixture(autouse=True)
def _remember_actions(actions):
    """The test's browser, for _post (it is the same ``actions`` fixture the test may use)."""
    _actions["current"] = actions
    yield
    _actions.clear()


def _post(books, choice, amount=""):
    return start_checkout(_actions["current"], books.invoice_id, choice, amount)


def test_full_balance_and_other_amount(ann, stripe_on):
    _post(ann, "full")
    assert stripe_on.creates[-1].form["line_items[0][price_data][unit_amount]"] == "90000"
    assert stripe_on.creates[-1].form["line_items[0][price_data][product_data][description]"] == (
        "Installments 1–3 of 3 (full balance)"
    )
    _post(ann, "custom", "250.50")
    assert stripe_on.creates[-1].form["line_items[0][price_data][unit_amount]"] == "25050"
    assert stripe_on.creates[-1].form["line_items[0][price_data][product_data][description]"] == (
        "Installment 1 of 3 (part)"
    )


def test_when_nothing_is_due_yet_the_next_installment_is_offered(stripe_on, actions):
    books = client_with_invoice("900.00", count=3, issued=TODAY - DAY, due=TODAY + 20 * DAY)
    sign_in(actions, "ann@example.com")
    start_checkout(actions, books.invoice_id, "due")
    assert stripe_on.creates[0].form["line_items[0][price_data][unit_amount]"] == "30000"
    assert stripe_on.creates[0].form["line_items[0][price_data][product_data][description]"] == "Installment 1 of 3"


BAD_AMOUNTS = [
    ("abc", "Enter a number"),
    ("", "Enter an amount."),
    ("0", "greater than zero"),
    ("-5", "greater than zero"),
    ("10.005", "at most 2 decimal places"),
    ("1e3", ""),
    ("900.01", "is more than the ₱900.00 you can pay now"),
]


def test_a_bad_other_amount_is_refused_next_to_the_field_and_nothing_is_created(ann, stripe_on):
    for amount, message in BAD_AMOUNTS:
        response = _post(ann, "custom", amount)
        assert response.status_code == 303
        assert response.headers["Location"] == f"/portal/invoices/{ann.invoice_id}#pay-online"
        html = box(ann.invoice_id)
        # The message next to the amount, what was typed kept, "Other amount" still chosen.
        assert 'class="form-control is-invalid" id="pay-amount"' in html, amount
        assert message in html and f'value="{amount}"' in html
        assert re.search(r'id="pay-choice-custom" value="custom"\s+checked', html)
        # Shown once: a reload shows the plain form again.
        assert "is-invalid" not in box(ann.invoice_id)
    assert stripe_on.creates == [] and count(CheckoutSession) == 0


# --- Second click, second tab -----------------------------------------------------------------------------


def test_a_second_click_or_tab_reuses_the_open_session(ann, stripe_on):
    first = _post(ann, "full")
    second = _post(ann, "full")
    third = _post(ann, "custom", "900.00")  # the same amount, however it was chosen
    assert first.headers["Location"] == second.headers["Location"] == third.headers["Location"]
    assert len(stripe_on.creates) == 1
    assert count(CheckoutSession) == 1
    assert invoice(ann.invoice_id).held_amount == Decimal("900.00")


def test_another_amount_closes_the_open_session_first(ann, stripe_on):
    _post(ann, "due")  # 600.00
    response = _post(ann, "full")  # 900.00: the 600.00 one is expired at Stripe, then released here
    assert len(stripe_on.creates) == 2
    first, second = checkouts()
    assert stripe_on.calls("POST", rf"/v1/checkout/sessions/{first.provider_session_id}/expire")
    assert (first.status, second.status) == ("expired", "open")
    assert response.headers["Location"] == second.url
    assert invoice(ann.invoice_id).held_amount == Decimal("900.00")


def test_a_session_paid_meanwhile_keeps_its_room_when_another_amount_is_asked(client, ann, stripe_on):
    _post(ann, "due")  # 600.00
    stripe_on.only_session()["status"] = "complete"  # paid at Stripe, the webhook not here yet
    response = _post(ann, "full")  # 900.00 no longer fits: 600.00 is held
    assert response.headers["Location"].endswith("#pay-online")
    assert len(stripe_on.creates) == 1
    assert checkouts()[0].status == "open"
    assert invoice(ann.invoice_id).held_amount == Decimal("600.00")


# --- The held room --------------------------------------------------------------------------------------


def test_an_open_checkout_holds_its_room_until_it_expires(client, ann, stripe_on):
    _post(ann, "full")
    with pytest.raises(PaymentRefused):
        services.report_payment(ACTOR, ann.client_id, ann.invoice_id, Decimal("100.00"), TODAY, "GCash", "GC-1")
    with pytest.raises(PaymentRefused):
        services.record_payment(ACTOR, ann.invoice_id, Decimal("100.00"), TODAY, "Cash")
    response = deliver(
        client, session_event("expired", stripe_on.only_session(), payment_intent=None, payment_status="unpaid")
    )
    assert response.status_code == 200
    assert checkouts()[0].status == "expired"
    assert invoice(ann.invoice_id).held_amount == Decimal("0.00")
    services.report_payment(ACTOR, ann.client_id, ann.invoice_id, Decimal("900.00"), TODAY, "GCash", "GC-1")
    assert invoice(ann.invoice_id).held_amount == Decimal("900.00")


def test_an_open_checkout_long_past_its_expiry_stops_holding_room(app, ann, stripe_on, freeze_today):
    from datetime import datetime, timedelta

    _post(ann, "full")
    row = checkouts()[0]
    later = row.expires_at.replace(tzinfo=UTC) + timedelta(minutes=20)
    freeze_today(later)
    response = _post(ann, "custom", "100.00")
    assert response.status_code == 303 and len(stripe_on.creates) == 2
    assert [r.status for r in checkouts()] == ["expired", "open"]
    assert invoice(ann.invoice_id).held_amount == Decimal("100.00")
    # The same for every invoice at once: `flask --app ais payments release-stale` (e.g. from cron).
    freeze_today(later + timedelta(hours=1))
    result = app.test_cli_runner().invoke(args=["payments", "release-stale"])
    assert result.exit_code == 0 and "on 1 invoice(s)" in result.output
    assert [r.status for r in checkouts()] == ["expired", "expired"]
    assert invoice(ann.invoice_id).held_amount == Decimal("0.00")
    freeze_today(datetime(TODAY.year, TODAY.month, TODAY.day, 4, 0, tzinfo=UTC))


def test_the_client_can_cancel_the_open_payment(ann, stripe_on):
    _post(ann, "full")
    response = _actions["current"].post("/portal/checkout/cancel", {"invoice_id": str(ann.invoice_id)})
    assert response.status_code == 303
    assert checkouts()[0].status == "expired"
    assert stripe_on.calls("POST", r"/v1/checkout/sessions/[^/]+/expire")
    assert invoice(ann.invoice_id).held_amount == Decimal("0.00")


def test_when_stripe_refuses_nothing_is_held_and_the_client_is_told(ann, stripe_on):
    stripe_on.fail_creates = 1
    response = _post(ann, "full")
    assert response.headers["Location"].endswith("#pay-online")
    assert checkouts()[0].status == "failed"
    assert invoice(ann.invoice_id).held_amount == Decimal("0.00")
    with _actions["current"].client.session_transaction() as session:
        assert "Card payment is not available right now" in session["ais_checkout_error"]["message"]
    assert _post(ann, "full").headers["Location"].startswith("https://checkout.stripe.test/")


# --- Who may pay -----------------------------------------------------------------------------------------


def test_owners_previewing_the_portal_cannot_start_a_payment(client, stripe_on, actions):
    books = client_with_invoice()
    make_user("owner@example.com", "owner")
    sign_in(actions, "owner@example.com")
    assert start_checkout(actions, books.invoice_id).status_code == 403
    assert stripe_on.requests == [] and count(CheckoutSession) == 0


def test_another_clients_invoice_is_not_found(stripe_on, actions):
    ann = client_with_invoice()
    client_with_invoice(email="ben@example.com", name="Ben Reyes")
    sign_in(actions, "ben@example.com")
    assert start_checkout(actions, ann.invoice_id).status_code == 404
    assert start_checkout(actions, 99999).status_code == 404
    assert start_checkout(actions, "junk").status_code == 404
    assert stripe_on.requests == [] and count(CheckoutSession) == 0


def test_a_draft_is_not_found_and_a_paid_invoice_is_refused(stripe_on, actions):
    ann = client_with_invoice()
    draft = services.save_draft(
        ACTOR,
        services.InvoiceInput(
            client_id=ann.client_id,
            issue_date=TODAY,
            due_date=TODAY,
            lines=[services.LineInput("Goods", Decimal("1"), Decimal("5.00"))],
        ),
    )
    sign_in(actions, "ann@example.com")
    assert start_checkout(actions, draft).status_code == 404
    services.record_payment(ACTOR, ann.invoice_id, Decimal("1000.00"), TODAY, "Cash")
    response = start_checkout(actions, ann.invoice_id)
    assert response.status_code == 303 and response.headers["Location"].endswith("#pay-online")
    assert stripe_on.requests == []


def test_signed_out_people_are_sent_to_sign_in(client, stripe_on):
    books = client_with_invoice()
    response = _actions["current"].post("/portal/checkout", {"invoice_id": str(books.invoice_id), "choice": "full"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_without_a_csrf_token_nothing_happens(client, ann, stripe_on):
    response = client.post("/portal/checkout", data={"invoice_id": str(ann.invoice_id), "choice": "full"})
    assert response.status_code == 400
    assert stripe_on.requests == []


def test_with_stripe_keys_unset_there_is_no_button_and_no_checkout(app, ann, stripe_on):
    assert "Pay by card" in page(ann.invoice_id)
    app.config["STRIPE_WEBHOOK_SECRET"] = ""
    html = page(ann.invoice_id)
    assert "Pay by card" not in html and "/portal/checkout" not in html and "Report payment" in html
    assert _post(ann, "full").status_code == 404
    app.config.update(STRIPE_WEBHOOK_SECRET="whsec_x", STRIPE_SECRET_KEY="")
    assert "Pay by card" not in page(ann.invoice_id)
    assert stripe_on.requests == []


# --- The box on the invoice page ----------------------------------------------------------------------------


def test_the_box_offers_three_labelled_choices_with_the_amount_due_preselected(ann, stripe_on):
    html = box(ann.invoice_id)
    assert 'action="/portal/checkout"' in html
    assert 'name="csrf_token"' in html and f'name="invoice_id" type="hidden" value="{ann.invoice_id}"' in html
    for value, label in [("due", "Pay amount due now"), ("full", "Settle the invoice"), ("custom", "Other amount")]:
        assert f'id="pay-choice-{value}" value="{value}"' in html
        assert f'for="pay-choice-{value}">' in html and label in html
    assert 'id="pay-choice-due" value="due"\n                 checked' in html
    assert "₱600.00" in html and "Installments 1–2 of 3" in html and "₱900.00" in html
    assert '<label class="form-label small" for="pay-amount">' in html
    assert "style=" not in html and "onclick" not in html


def test_owners_previewing_see_the_box_with_the_button_disabled(stripe_on, actions):
    books = client_with_invoice()
    make_user("owner@example.com", "owner")
    sign_in(actions, "owner@example.com")
    html = box(books.invoice_id, f"?client={books.client_id}")
    assert '<button type="submit" class="btn btn-primary" disabled>Pay by card</button>' in html
    assert "Preview:" in html


def test_a_paid_or_void_invoice_has_no_box(stripe_on, actions):
    paid = client_with_invoice()
    void = make_invoice(paid.client_id)
    services.record_payment(ACTOR, paid.invoice_id, Decimal("1000.00"), TODAY, "Cash")
    services.void_invoice(ACTOR, void, "Mistake")
    sign_in(actions, "ann@example.com")
    assert box(paid.invoice_id) == "" and box(void) == ""


def test_an_open_payment_can_be_continued_or_cancelled(ann, stripe_on):
    _post(ann, "full")
    html = box(ann.invoice_id)
    assert "You started a card payment of <strong>₱900.00</strong>" in html
    assert f'href="{stripe_on.only_session()["url"]}">Continue to payment' in html
    assert 'action="/portal/checkout/cancel"' in html


def test_back_from_stripe_the_page_says_processing_until_the_webhook_arrives(client, ann, stripe_on):
    _post(ann, "full")
    session = stripe_on.only_session()
    html = box(ann.invoice_id, f"?checkout=success&session_id={session['id']}")
    assert "Payment processing." in html and "data-payment-refresh" in html
    assert "Pay by card" not in html  # not offered again while it is processing
    assert count(AuditEntry, AuditEntry.action == "payment.received_online") == 0  # the page records nothing
    deliver(client, session_event("completed", session, payment_intent="pi_test_1"))
    html = box(ann.invoice_id, f"?checkout=success&session_id={session['id']}")
    assert "Payment received." in html and "₱900.00" in html


def test_a_made_up_or_foreign_session_id_reveals_nothing(stripe_on, actions):
    ann = client_with_invoice()
    ben = client_with_invoice(email="ben@example.com", name="Ben Reyes")
    sign_in(actions, "ben@example.com")
    start_checkout(actions, ben.invoice_id, "custom", "123.45")
    bens = stripe_on.only_session()
    actions.logout()
    sign_in(actions, "ann@example.com")
    for query in (
        f"?checkout=success&session_id={bens['id']}",
        "?checkout=success&session_id=cs_test_madeup",
        "?checkout=success&session_id=%3Cscript%3E",
    ):
        html = page(ann.invoice_id, query)
        assert "Payment processing." in html
        assert "123.45" not in html and bens["id"] not in html and "<script>" not in html
    assert count(CheckoutSession, CheckoutSession.invoice_id == ann.invoice_id) == 0


def test_the_page_lets_the_form_lead_to_the_configured_checkout_host_only(ann, stripe_on):
    response = _actions["current"].client.get(f"/portal/invoices/{ann.invoice_id}")
    policy = response.headers["Content-Security-Policy"]
    assert f"form-action {stripe_on.url} 'self' https://checkout.stripe.com https://checkout.paymongo.com;" in policy


def test_the_cancel_return_says_nothing_was_charged(ann, stripe_on):
    assert "Nothing was charged." in box(ann.invoice_id, "?checkout=cancelled")


def test_when_nothing_is_due_the_next_installment_is_offered_as_early_not_as_due(ann, stripe_on):
    # 600.00 reported covers both installments due; the third is next month's: offered, labelled so.
    services.report_payment(ACTOR, ann.client_id, ann.invoice_id, Decimal("600.00"), TODAY, "GCash", "GC-1")
    html = box(ann.invoice_id)
    assert re.search(r"Pay the next installment early <strong[^>]*>₱300.00</strong>", html)
    assert "Installment 3 of 3" in html and "Pay amount due now" not in html


def test_money_already_reported_is_not_asked_for_again(ann, stripe_on):
    # Ann reported a 300.00 transfer (awaiting confirmation): it will pay installment 1.
    services.report_payment(ACTOR, ann.client_id, ann.invoice_id, Decimal("300.00"), TODAY, "GCash", "GC-1")
    html = box(ann.invoice_id)
    assert re.search(r"Pay amount due now <strong[^>]*>₱300.00</strong>", html) and "Installment 2 of 3" in html
    assert re.search(r"Settle the invoice <strong[^>]*>₱600.00</strong>", html)
    _post(ann, "due")
    sent = stripe_on.creates[0].form
    assert sent["line_items[0][price_data][unit_amount]"] == "30000"
    assert sent["line_items[0][price_data][product_data][description]"] == "Installment 2 of 3"
