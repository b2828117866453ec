"""Online payments keep the running totals too: a card payment arriving by webhook, a checkout
that expires, a refund (see test_running_totals.py for the owner's and the portal's changes)."""

from __future__ import annotations

from decimal import Decimal

from stripe_support import TODAY, client_with_invoice, deliver, refund_event, session_event, sign_in, start_checkout
from totals_support import assert_totals_agree, figures_from_totals


def test_a_card_payment_and_its_refund_keep_the_totals(client, actions, stripe_on):
    books = client_with_invoice("900.00", count=3)
    sign_in(actions, "ann@example.com")
    start_checkout(actions, books.invoice_id, "full")
    assert_totals_agree(TODAY)
    deliver(client, session_event("completed", stripe_on.only_session(), payment_intent="pi_card"))
    assert figures_from_totals(TODAY)["collected"] == Decimal("900.00")
    assert_totals_agree(TODAY)
    deliver(client, refund_event("pi_card", 90000, 20000))  # 200.00 back: the rest kept as a new payment
    assert figures_from_totals(TODAY)["collected"] == Decimal("700.00")
    assert_totals_agree(TODAY)


def test_an_expired_checkout_changes_no_total(client, actions, stripe_on):
    books = client_with_invoice("500.00")
    sign_in(actions, "ann@example.com")
    start_checkout(actions, books.invoice_id, "full")
    deliver(client, session_event("expired", stripe_on.only_session(), payment_intent=None))
    assert figures_from_totals(TODAY)["collected"] == Decimal("0.00")
    assert_totals_agree(TODAY)
