"""Customer credits: money owed back to a client (an overpayment flagged by the payment
provider's webhook, or a credit note's credit beyond what was unpaid), applied to an open invoice
of the same client or refunded (docs/PAYMENTS.md, docs/ACCOUNTING.md).

An application is a confirmed payment by the method "Customer credit" on the invoice, so the
allocation, the running totals, statements, aging and receipts treat it as any payment; it posts
Dr customer credits / Cr receivable (no money moves), and voiding it gives the credit back
(``services.void_payment``).  A refund by hand posts Dr customer credits / Cr the account of the
method the owner paid it out by.  What is left of a credit is ``amount - applied - refunded``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, bindparam, select

from .. import audit, clock
from ..audit import Actor
from ..database import write_transaction
from ..extensions import db
from ..formatting import format_money
from ..models import CONFIRMED, CreditApplication, Invoice, Overpayment, Payment
from . import ledger, methods, money, notices, rules
from .services import (
    BillingError,
    InvalidInput,
    NotFound,
    add_payment,
    lock_invoice,
    open_room,
    reallocate,
    require_open,
)

ZERO = Decimal("0.00")
CREDIT_NOTE_PROVIDER = "credit_note"  # the provider of a credit note's customer credit
MAX_OPEN_INVOICES = 100  # the apply form's choice of invoices (a client's open ones, oldest due first)


class CreditApplicationRefused(BillingError):
    """The credit cannot go on that invoice: settled, another client's or currency, or too much."""


# --- Changes ---------------------------------------------------------------------------------


def _lock_credit(overpayment_id: int) -> Overpayment:
    """The customer credit with its row locked (after any invoice lock: the lock order)."""
    credit = db.session.get(Overpayment, overpayment_id, populate_existing=True, with_for_update=True)
    if credit is None:
        raise NotFound("No such customer credit.")
    return credit


def apply_credit(actor: Actor, overpayment_id: int, invoice_id: int, amount) -> int:
    """Apply part or all of a customer credit to an open invoice of the same client and currency,
    as a confirmed payment by "Customer credit" dated today; returns the payment's id.

    Rule (rules.credit_application_refusal): the amount is above zero, at most what is left of the
    credit and at most the invoice's open balance (amount less confirmed and awaiting payments).
    The invoice is locked, then the credit's row, so two applications of one credit never take
    more than it holds.  A credit with nothing left is settled.  Posts Dr customer credits / Cr
    receivable; audited; the client gets the receipt.  A refusal writes nothing."""
    try:
        amount = money.parse_amount(amount)
    except money.InvalidAmount as error:
        raise InvalidInput(str(error), "amount") from None
    with write_transaction():
        try:
            invoice = lock_invoice(invoice_id)
        except NotFound:
            raise InvalidInput("Choose an open invoice of this client.", "invoice_id") from None
        credit = _lock_credit(overpayment_id)
        if credit.resolved_at is not None:
            raise CreditApplicationRefused("This customer credit is already settled.")
        if credit.client_id is None:
            raise CreditApplicationRefused("This credit names no client: it can only be refunded.")
        if credit.provider == CREDIT_NOTE_PROVIDER and credit.invoice is not None and credit.invoice.is_void:
            raise CreditApplicationRefused("The invoice of this credit's credit note is void: the credit went with it.")
        if invoice.client_id != credit.client_id:
            raise CreditApplicationRefused("That invoice belongs to another client.", "invoice_id")
        require_open(invoice, error=CreditApplicationRefused)
        if invoice.currency.upper() != credit.currency.upper():
            raise CreditApplicationRefused(
                f"The credit is in {credit.currency} but {invoice.invoice_no} is in {invoice.currency}.",
                "invoice_id",
            )
        room = open_room(invoice)
        refusal = rules.credit_application_refusal(amount, credit.remaining, room)
        if refusal == "exceeds_credit":
            raise CreditApplicationRefused(
                f"{format_money(amount, credit.currency)} exceeds the "
                f"{format_money(credit.remaining, credit.currency)} left of this credit.",
                "amount",
            )
        if refusal is not None:
            held = ""
            if invoice.held_amount > 0:
                held = f" ({format_money(invoice.held_amount, invoice.currency)} is awaiting confirmation)"
            raise CreditApplicationRefused(
                f"{format_money(amount, invoice.currency)} exceeds the open balance of "
                f"{format_money(max(room, ZERO), invoice.currency)} on {invoice.invoice_no}{held}.",
                "amount",
            )
        paid_before = invoice.paid_amount
        payment = add_payment(
            actor,
            invoice,
            amount=amount,
            paid_on=max(clock.today(), invoice.issue_date),
            method=methods.CUSTOMER_CREDIT,
            reference=credit.provider_reference,
            state=CONFIRMED,
            submission_key=None,
        )
        db.session.add(
            CreditApplication(
                overpayment_id=credit.id,
                payment_id=payment.id,
                amount=amount,
                created_at=clock.utcnow(),
                actor_id=actor.user_id,
            )
        )
        credit.applied_amount += amount
        if credit.remaining == 0:
            credit.resolved_at = clock.utcnow()
            last = format_money(amount, credit.currency)
            credit.resolution = f"Applied in full (the last {last} to {invoice.invoice_no})."
        ledger.payment_confirmed(payment)
        reallocate(invoice)
        audit.record(
            actor,
            "payment.credit_applied",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            payment_id=payment.id,
            amount_before=paid_before,
            amount_after=invoice.paid_amount,
            detail=f"{format_money(amount, credit.currency)} of customer credit {credit.provider_reference} "
            f"to {invoice.invoice_no}; {format_money(credit.remaining, credit.currency)} left",
        )
        notices.payment_receipt(payment, invoice)
        return payment.id


def arrival_method(credit: Overpayment) -> str:
    """The method the credit's money arrived by (what its refund is paid out by unless the owner
    says otherwise): a credit note's, that of the last confirmed payment on its invoice; an
    online overpayment's, that of its payment at the provider."""
    if credit.provider == CREDIT_NOTE_PROVIDER:
        method = db.session.scalar(
            select(Payment.method)
            .where(
                Payment.invoice_id == credit.invoice_id,
                Payment.state == CONFIRMED,
                Payment.method != methods.CUSTOMER_CREDIT,
            )
            .order_by(Payment.date.desc(), Payment.id.desc())
            .limit(1)
        )
        return method or methods.CASH
    return ledger.flagged_method(credit)


def refund_credit(actor: Actor, overpayment_id: int, note: str, method: str | None = None) -> None:
    """The owner refunded what is left of a customer credit by hand (cash, a transfer, a Stripe
    refund made outside AIS...): the credit is settled with the note, and Dr customer credits /
    Cr the account of ``method`` (None: the method the money arrived by) is posted, dated today."""
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Say how it was settled (e.g. refunded in Stripe, credited to INV-…).", "note")
    chosen = methods.canonical(method) if method else None
    if method and chosen not in methods.REFUND_METHODS:
        raise InvalidInput("Choose the method the refund was paid by.", "method")
    with write_transaction():
        invoice_id = db.session.scalar(select(Overpayment.invoice_id).where(Overpayment.id == overpayment_id))
        if invoice_id is not None:
            lock_invoice(invoice_id)
        credit = _lock_credit(overpayment_id)
        if credit.resolved_at is not None:
            raise BillingError("This overpayment is already settled.")
        refunded = credit.remaining
        credit.refunded_amount += refunded
        credit.refund_method = chosen or arrival_method(credit)
        credit.resolved_at = clock.utcnow()
        credit.resolution = note[:1000]
        ledger.credit_refunded(credit, clock.today())
        audit.record(
            actor,
            "payment.overpayment_resolved",
            client_id=credit.client_id,
            invoice_id=credit.invoice_id,
            amount_before=refunded,
            detail=f"{format_money(refunded, credit.currency)} refunded by {credit.refund_method}: {note[:1000]}",
        )


# --- Reads ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenCredit:
    id: int
    amount: Decimal
    applied_amount: Decimal
    refunded_amount: Decimal
    currency: str
    provider_reference: str
    created_at: datetime

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.applied_amount - self.refunded_amount


# Built once, not on each view of the client's page.
_CLIENT_OPEN_CREDITS = (
    select(
        Overpayment.id,
        Overpayment.amount,
        Overpayment.applied_amount,
        Overpayment.refunded_amount,
        Overpayment.currency,
        Overpayment.provider_reference,
        Overpayment.created_at,
    )
    .where(Overpayment.client_id == bindparam("client_id", type_=Integer), Overpayment.resolved_at.is_(None))
    .order_by(Overpayment.created_at, Overpayment.id)
    .limit(bindparam("limit", type_=Integer, literal_execute=True))
)


def client_open_credits(client_id: int, limit: int = 20) -> list[OpenCredit]:
    """A client's open customer credits, oldest first (one bounded statement: the client page)."""
    rows = db.session.execute(_CLIENT_OPEN_CREDITS, {"client_id": client_id, "limit": limit})
    return [OpenCredit(*row) for row in rows]


@dataclass(frozen=True)
class OpenInvoice:
    id: int
    invoice_no: str
    open_balance: Decimal


@dataclass(frozen=True)
class CreditToApply:
    """What the apply form shows: the credit, its client, and the invoices it may go on."""

    credit: Overpayment
    client_name: str
    invoices: list[OpenInvoice]

    @property
    def suggested_amount(self) -> Decimal:
        first = self.invoices[0].open_balance if self.invoices else ZERO
        return rules.applicable_credit(self.credit.remaining, first)


def credit_to_apply(overpayment_id: int) -> CreditToApply:
    """The credit (NotFound if there is none) and its client's open invoices in its currency, the
    next due first."""
    credit = db.session.get(Overpayment, overpayment_id)
    if credit is None:
        raise NotFound("No such customer credit.")
    invoices: list[OpenInvoice] = []
    if credit.client_id is not None:
        open_balance = Invoice.amount - Invoice.paid_amount - Invoice.held_amount
        invoices = [
            OpenInvoice(invoice_id, invoice_no or "", Decimal(balance))
            for invoice_id, invoice_no, balance in db.session.execute(
                select(Invoice.id, Invoice.invoice_no, open_balance)
                .where(
                    Invoice.client_id == credit.client_id,
                    Invoice.currency == credit.currency,
                    Invoice.issued_at.is_not(None),
                    Invoice.voided_at.is_(None),
                    open_balance > 0,
                )
                .order_by(Invoice.next_due_date.is_(None), Invoice.next_due_date, Invoice.id)
                .limit(MAX_OPEN_INVOICES)
            )
        ]
    return CreditToApply(credit, credit.client.name if credit.client else "", invoices)
