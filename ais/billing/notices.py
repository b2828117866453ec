"""Emails that money events send, queued in the outbox inside the event's own transaction.

Each has a dedupe key, so that however often an event is processed the email is queued once.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from email.utils import parseaddr

from flask import current_app, render_template
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..links import external_url
from ..mail.outbox import queue_email
from ..models import Allocation, CreditNote, Installment, Invoice, Payment, User
from . import rules


def _portal_link(invoice: Invoice) -> str:
    return external_url("portal.invoice_detail", invoice_id=invoice.id)


def owner_addresses() -> list[str]:
    """Where owner notices go: AIS_OWNER_EMAIL; else owners whose username is an email address;
    else the business's own mailbox (the address in MAIL_FROM), so no notice is ever dropped."""
    configured = current_app.config.get("AIS_OWNER_EMAIL")
    if configured:
        return [configured]
    names = db.session.scalars(select(User.username).where(User.role == "owner", User.is_enabled.is_(True)))
    addresses = [name for name in names if "@" in name]
    if addresses:
        return addresses
    _, mailbox = parseaddr(current_app.config["MAIL_FROM"])
    return [mailbox] if mailbox else []


def _owed(invoice: Invoice) -> rules.Owed:
    """What is owed on the invoice now, as its page says it (rules.owed); a void invoice owes nothing."""
    if invoice.is_void:
        return rules.owed([], clock.today())
    states = [
        rules.InstallmentState(number=i.number, due_date=i.due_date, amount=i.amount, paid=i.paid_amount)
        for i in invoice.installments
    ]
    return rules.owed(states, clock.today(), invoice.held_amount)


def _how_to_pay():
    """The owner's payment instructions for an email that asks for money, or None if they gave none."""
    from .services import payment_instructions  # (services imports this module)

    instructions = payment_instructions()
    return None if instructions is None or instructions.is_empty else instructions


def how_to_pay_for_run():
    """The payment instructions once for a command that sends many emails (the reminder run), out
    of the session: each email's transaction ends with a commit or a rollback, which would expire
    the row and read it again for the next email."""
    instructions = _how_to_pay()
    if instructions is not None:
        db.session.expunge(instructions)
    return instructions


def send_notice(to: str, template: str, subject: str, dedupe_key: str, attachment: str = "", **context) -> None:
    context.setdefault("business_name", current_app.config["AIS_BUSINESS_NAME"])
    text = render_template(f"email/{template}.txt", **context)
    html = render_template(f"email/{template}.html", **context)
    queue_email(to, subject, text, html, dedupe_key=dedupe_key, attachment=attachment)


def invoice_issued(invoice: Invoice, client) -> None:
    send_notice(
        client.email,
        "invoice_issued",
        f"Invoice {invoice.invoice_no}",
        f"invoice-issued:{invoice.id}",
        attachment=f"invoice:{invoice.id}",  # the sales invoice (PDF), drawn when sent
        invoice=invoice,
        client=client,
        installments=list(invoice.installments),
        instructions=_how_to_pay(),
        link=_portal_link(invoice),
    )


def invoice_replanned(invoice: Invoice, client) -> None:
    # One notice per re-plan: the key includes the schedule's shape after the change.
    shape = "-".join(f"{i.number}:{i.due_date.isoformat()}:{i.amount}" for i in invoice.installments)
    send_notice(
        client.email,
        "invoice_replanned",
        f"New payment schedule for {invoice.invoice_no}",
        f"invoice-replanned:{invoice.id}:{hashlib.sha256(shape.encode()).hexdigest()[:16]}",
        invoice=invoice,
        client=client,
        installments=sorted(invoice.installments, key=lambda i: (i.due_date, i.number)),
        owed=_owed(invoice),
        link=_portal_link(invoice),
    )


def payment_receipt(payment: Payment, invoice: Invoice) -> None:
    """Receipt for a confirmed payment: amount, installment(s), remaining balance, next due date."""
    numbers = list(
        db.session.scalars(
            select(Installment.number)
            .join(Allocation, Allocation.installment_id == Installment.id)
            .where(Allocation.payment_id == payment.id)
            .order_by(Installment.number)
        )
    )
    send_notice(
        invoice.client.email,
        "payment_receipt",
        f"Receipt for your payment on {invoice.invoice_no}",
        f"receipt:payment:{payment.id}",
        attachment=f"receipt:{payment.id}",  # the acknowledgement receipt (PDF), drawn when sent
        payment=payment,
        invoice=invoice,
        installment_numbers=numbers,
        owed=_owed(invoice),
        link=_portal_link(invoice),
    )


def credit_note_issued(note: CreditNote, invoice: Invoice) -> None:
    """The client's invoice was credited: the credit note (attached as PDF) and what is owed now."""
    send_notice(
        invoice.client.email,
        "credit_note_issued",
        f"Credit note {note.credit_no} on {invoice.invoice_no}",
        f"credit-note:{note.id}",
        attachment=f"credit_note:{note.id}",
        note=note,
        invoice=invoice,
        installments=sorted(invoice.installments, key=lambda i: (i.due_date, i.number)),
        owed=_owed(invoice),
        link=_portal_link(invoice),
    )


def payment_voided(payment: Payment, invoice: Invoice) -> None:
    """The client had a receipt for this payment: tell them it no longer counts, and what is owed now."""
    send_notice(
        invoice.client.email,
        "payment_voided",
        f"A payment on {invoice.invoice_no} was voided",
        f"voided:payment:{payment.id}",
        payment=payment,
        invoice=invoice,
        owed=_owed(invoice),
        link=_portal_link(invoice),
    )


def payment_refunded(payment: Payment, invoice: Invoice, refunded: Decimal, kept: Decimal) -> None:
    # refunded: of the original payment, in all so far; kept: what of it still counts as paid.
    """The client's online payment was refunded (in full or in part) at the provider: the receipt
    for it no longer stands as it was; say what came back, what still counts and what is owed now."""
    send_notice(
        invoice.client.email,
        "payment_refunded",
        f"Your payment on {invoice.invoice_no} was refunded",
        f"refunded:payment:{payment.id}",
        payment=payment,
        invoice=invoice,
        refunded=refunded,
        kept=kept,
        owed=_owed(invoice),
        link=_portal_link(invoice),
    )


def invoice_voided(invoice: Invoice) -> None:
    """The client was sent this invoice: tell them it is cancelled and need not be paid."""
    send_notice(
        invoice.client.email,
        "invoice_voided",
        f"Invoice {invoice.invoice_no} was voided",
        f"invoice-voided:{invoice.id}",
        invoice=invoice,
        link=_portal_link(invoice),
    )


def payment_reported(payment: Payment, invoice: Invoice) -> None:
    for address in owner_addresses():
        send_notice(
            address,
            "payment_reported",
            f"Payment reported on {invoice.invoice_no}",
            f"reported:payment:{payment.id}:{address}",
            payment=payment,
            invoice=invoice,
            link=external_url("backoffice.payments", state="reported"),
        )


def payment_rejected(payment: Payment, invoice: Invoice) -> None:
    send_notice(
        invoice.client.email,
        "payment_rejected",
        f"Your reported payment on {invoice.invoice_no}",
        f"rejected:payment:{payment.id}",
        payment=payment,
        invoice=invoice,
        link=_portal_link(invoice),
    )


def installment_reminder(invoice: Invoice, client, due: list, owed: rules.Owed, today, instructions) -> None:
    """A reminder for the installments of one invoice at a step today (ais.billing.reminders): each
    installment with its step, then what is due now on the invoice, with the link to pay or report.
    ``due``: ``reminders.DueInstallment`` items; ``instructions``: ``how_to_pay_for_run()``.  Keyed
    by its first (installment, step), which is reminded once ever."""
    kinds = {item.step.kind for item in due}
    if "overdue" in kinds:
        subject = f"Payment overdue on invoice {invoice.invoice_no}"
    elif "due" in kinds:
        subject = f"Payment due today on invoice {invoice.invoice_no}"
    else:
        subject = f"Payment coming due on invoice {invoice.invoice_no}"
    first = due[0]
    send_notice(
        client.email,
        "installment_reminder",
        subject,
        f"reminder:{first.installment.id}:{first.step.key}",
        invoice=invoice,
        client=client,
        due=due,
        owed=owed,
        today=today,
        courtesy_only=all(item.step.courtesy for item in due),
        instructions=instructions,
        link=_portal_link(invoice),
        settings_link=external_url("portal.collections.reminders_page"),
    )


ZERO = Decimal("0.00")


def monthly_statement(statement_row_id: int, client, statement) -> None:
    """The client's statement of account for a month (``statements.Statement``), its PDF drawn from
    the ``monthly_statements`` row when the email is sent.  Keyed by client and month: once."""
    month = statement.start.strftime("%Y-%m")
    send_notice(
        client.email,
        "monthly_statement",
        f"Your statement of account for {statement.start.strftime('%B %Y')}",
        f"statement:{client.id}:{month}",
        attachment=f"statement:{statement_row_id}",
        client=client,
        statement=statement,
        link=external_url(
            "portal.collections.statement", **{"from": statement.start.isoformat(), "to": statement.end.isoformat()}
        ),
    )


def late_fees_charged(invoice: Invoice, fees) -> None:
    """The client is told of the late fees a run charged on the invoice (once per fee set)."""
    send_notice(
        invoice.client.email,
        "late_fee_charged",
        f"Late fee added to {invoice.invoice_no}",
        "late-fee:" + ",".join(str(fee.id) for fee in fees),
        invoice=invoice,
        fees=fees,
        owed=_owed(invoice),
        link=_portal_link(invoice),
    )


def late_fee_waived(invoice: Invoice, fee) -> None:
    """The client is told a late fee was waived, and why."""
    send_notice(
        invoice.client.email,
        "late_fee_waived",
        f"Late fee waived on {invoice.invoice_no}",
        f"late-fee-waived:{fee.id}",
        invoice=invoice,
        fee=fee,
        owed=_owed(invoice),
        link=_portal_link(invoice),
    )


def plan_proposal_decided(invoice: Invoice, proposal) -> None:
    """The client is told the owner approved (with the new schedule) or declined (with the reason)
    their proposal of a new plan."""
    approved = proposal.status == "approved"
    send_notice(
        invoice.client.email,
        "plan_proposal_decided",
        f"Your proposed plan for {invoice.invoice_no} was {'approved' if approved else 'declined'}",
        f"plan-proposal:{proposal.id}:{proposal.status}",
        invoice=invoice,
        proposal=proposal,
        approved=approved,
        installments=sorted(invoice.installments, key=lambda i: (i.due_date, i.number)) if approved else [],
        owed=_owed(invoice),
        link=_portal_link(invoice),
    )
