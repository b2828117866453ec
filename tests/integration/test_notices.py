"""Owner and client notices: queued once, in the same transaction, to someone who will read them."""

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from ais.audit import Actor
from ais.billing import services
from ais.extensions import db
from ais.models import OutboxMessage, User


def _invoice(app):
    actor = Actor.system("test")
    client_id = services.create_client(actor, services.ClientInput(name="Ana Cruz", email="ana@example.com"))
    invoice_id = services.create_invoice(
        actor,
        services.InvoiceInput(
            client_id=client_id,
            issue_date=date(2026, 1, 5),
            due_date=date(2026, 2, 5),
            lines=[services.LineInput("Goods", Decimal("1"), Decimal("900"))],
        ),
    )
    return actor, client_id, invoice_id


def test_a_reported_payment_notifies_the_business_mailbox_when_no_owner_has_an_email(app):
    with app.app_context():
        db.session.add(User(username="admin", role="owner", password_hash="x"))
        db.session.commit()
        actor, client_id, invoice_id = _invoice(app)
        services.report_payment(actor, client_id, invoice_id, "100.00", date(2026, 1, 10), "GCash", "G-1")
        notice = db.session.scalar(select(OutboxMessage).where(OutboxMessage.subject.startswith("Payment reported")))
        assert notice.to_address == "billing@localhost"
        assert "Ana Cruz reported a payment of ₱100.00" in notice.body_text


def test_a_reported_payment_notifies_owners_with_email_usernames(app):
    with app.app_context():
        db.session.add(User(username="boss@example.com", role="owner", password_hash="x"))
        db.session.commit()
        actor, client_id, invoice_id = _invoice(app)
        services.report_payment(actor, client_id, invoice_id, "100.00", date(2026, 1, 10), "GCash")
        to = db.session.scalars(
            select(OutboxMessage.to_address).where(OutboxMessage.subject.startswith("Payment reported"))
        ).all()
        assert to == ["boss@example.com"]


def test_issue_and_rejection_notices_reach_the_client_once(app):
    with app.app_context():
        actor, client_id, invoice_id = _invoice(app)
        payment_id = services.report_payment(actor, client_id, invoice_id, "100.00", date(2026, 1, 10), "GCash")
        services.reject_payment(actor, payment_id, "No such transfer on our statement")
        to_client = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_address == "ana@example.com").order_by(OutboxMessage.id)
        ).all()
        assert [m.subject for m in to_client] == ["Invoice INV-2026-0001", "Your reported payment on INV-2026-0001"]
        assert "No such transfer on our statement" in to_client[1].body_text


def _to_client(subject_start: str):
    return db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.to_address == "ana@example.com", OutboxMessage.subject.startswith(subject_start)
        )
    ).all()


def test_a_voided_payment_is_told_to_the_client_with_what_is_owed_now(app, freeze_today):
    freeze_today(date(2026, 1, 20))
    with app.app_context():
        actor, client_id, invoice_id = _invoice(app)
        payment_id = services.record_payment(actor, invoice_id, Decimal("300.00"), date(2026, 1, 10), "Check", "CHK-9")
        services.void_payment(actor, payment_id, "The check bounced")
        [notice] = _to_client("A payment on INV-2026-0001 was voided")
        assert "₱300.00" in notice.body_text and "CHK-9" in notice.body_text
        assert "Reason: The check bounced" in notice.body_text
        assert "the receipt we sent for it no longer stands" in notice.body_text
        assert "Balance: ₱900.00" in notice.body_text
        assert "Next installment: ₱900.00 due Feb 5, 2026" in notice.body_text
        assert "The check bounced" in notice.body_html


def test_a_voided_invoice_is_told_to_the_client(app):
    with app.app_context():
        actor, client_id, invoice_id = _invoice(app)
        services.void_invoice(actor, invoice_id, "Raised twice")
        [notice] = _to_client("Invoice INV-2026-0001 was voided")
        assert "you do not need to pay it" in notice.body_text and "Reason: Raised twice" in notice.body_text


def test_a_receipt_says_what_is_to_pay_now_or_the_next_installment(app, freeze_today):
    freeze_today(date(2026, 3, 10))
    with app.app_context():
        actor = Actor.system("test")
        client_id = services.create_client(actor, services.ClientInput(name="Ana Cruz", email="ana@example.com"))
        invoice_id = services.create_invoice(
            actor,
            services.InvoiceInput(
                client_id=client_id,
                issue_date=date(2026, 1, 5),
                due_date=date(2026, 2, 5),
                payment_type="installment",
                installment_count=3,
                frequency="monthly",
                lines=[services.LineInput("Goods", Decimal("1"), Decimal("900"))],
            ),
        )
        services.record_payment(actor, invoice_id, Decimal("100.00"), date(2026, 3, 1), "Cash")
        services.record_payment(actor, invoice_id, Decimal("500.00"), date(2026, 3, 2), "Cash")
        first, second = sorted(_to_client("Receipt"), key=lambda m: m.id)
        # After the first: 200.00 of Feb 5 and 300.00 of Mar 5 are overdue.
        assert "To pay now: ₱500.00 (includes ₱500.00 overdue)" in first.body_text
        # After the second: nothing is due, so the next installment, never "due now".
        assert "Next installment: ₱300.00 due Apr 5, 2026" in second.body_text
        assert "To pay now" not in second.body_text
