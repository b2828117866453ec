"""Receipts for card payments go out through the outbox to a real SMTP server (aiosmtpd on
127.0.0.1): exactly one per payment, however often Stripe delivers the event."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest
from stripe_support import DAY, TODAY, client_with_invoice, deliver, receipts, session_event, sign_in, start_checkout

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(app):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_USE_TLS=False,
        MAIL_USERNAME="",
        MAIL_PASSWORD="",
        MAIL_FROM="AIS <billing@example.com>",
    )
    try:
        yield inbox
    finally:
        controller.stop()


def send_outbox():
    try:
        from ais.mail.delivery import deliver_due
    except ImportError:  # pragma: no cover - delivery not there: the outbox rows are the receipt
        return None
    return deliver_due()


def test_one_receipt_per_card_payment_with_invoice_amount_installments_and_balance(client, actions, stripe_on, smtp):
    books = client_with_invoice("900.00", count=3, issued=TODAY - 60 * DAY, due=TODAY - 40 * DAY)
    sign_in(actions, "ann@example.com")
    start_checkout(actions, books.invoice_id, "custom", "450.00")
    first = stripe_on.only_session()
    event = session_event("completed", first, payment_intent="pi_first")
    for _ in range(5):
        deliver(client, event)
    deliver(client, session_event("async_payment_succeeded", first, payment_intent="pi_first"))
    start_checkout(actions, books.invoice_id, "full")
    second = [s for s in stripe_on.sessions.values() if s["id"] != first["id"]][0]
    for _ in range(3):
        deliver(client, session_event("completed", second, payment_intent="pi_second"))

    assert len(receipts()) == 2
    result = send_outbox()
    if result is None:
        bodies = [m.body_text for m in receipts()]
        addresses = [m.to_address for m in receipts()]
    else:
        assert result == (3, 0)  # the invoice itself, then the two receipts
        assert send_outbox() == (0, 0)  # each sent once
        sent = [(rcpt, m) for rcpt, m in smtp.messages if m["Subject"].startswith("Receipt")]
        assert [m["Subject"] for _, m in sent] == ["Receipt for your payment on INV-2026-0001"] * 2
        bodies = [m.get_body(("plain",)).get_content() for _, m in sent]
        addresses = [rcpt[0] for rcpt, _ in sent]
    assert addresses == ["ann@example.com", "ann@example.com"]
    one, two = bodies
    assert "payment of ₱450.00 on invoice INV-2026-0001" in one
    assert "Method: Card" in one and "Reference: pi_first" in one
    assert "Installments: 1, 2" in one
    assert "Balance: ₱450.00" in one
    assert "To pay now: ₱150.00 (includes ₱150.00 overdue)" in one  # overdue, so not "next"
    assert "payment of ₱450.00 on invoice INV-2026-0001" in two
    assert "Installments: 2, 3" in two
    assert "Balance: ₱0.00" in two and "The invoice is paid in full." in two
