"""One invoice as its pages show it, the owner's and the client's alike: read-only values read
with prebuilt Core statements (built once, the ids bound as parameters), not ORM objects.

An invoice page shows its figures (the running totals kept on the invoice), its schedule, its
lines and its payments.  Loading ``Invoice`` with its relationships through the ORM cost more than
the page's SQL itself; these are three statements of plain rows: the invoice with its schedule
(one row per installment), its lines, its payments.  The portal's reads are scoped: they filter by
the signed-in client in SQL and see issued invoices only (``client_id`` given); the owner's are not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from sqlalchemy import Integer, Row, bindparam, exists, select

from ..extensions import db
from ..models import (
    Client,
    CreditNote,
    Installment,
    Invoice,
    InvoiceLine,
    InvoiceState,
    LateFee,
    Payment,
    PaymentProof,
    PlanProposal,
)

invoices, installments, payments = Invoice.__table__, Installment.__table__, Payment.__table__
lines, clients = InvoiceLine.__table__, Client.__table__
proofs = PaymentProof.__table__
credit_notes, late_fees, proposals = CreditNote.__table__, LateFee.__table__, PlanProposal.__table__
MAX_ID = 2**31 - 1  # ids are INTEGER columns: a larger id in a URL is simply not found
INVOICE_ID, CLIENT_ID = bindparam("invoice_id", type_=Integer), bindparam("client_id", type_=Integer)


@dataclass(frozen=True)
class ScheduleRow:
    """One installment as an invoice page shows it."""

    number: int
    due_date: dt.date
    amount: Decimal
    paid_amount: Decimal

    @property
    def unpaid(self) -> Decimal:
        return self.amount - self.paid_amount


@dataclass(frozen=True)
class InvoiceView(InvoiceState):
    """One invoice as its page shows it: its own figures (its running totals), its schedule and
    its lines.  A draft has no number, no issue time and no schedule.  ``client_name`` and
    ``client_company`` are read for the owner's page only (the portal's is the client's own)."""

    id: int
    client_id: int
    invoice_no: str | None
    description: str
    issue_date: dt.date
    due_date: dt.date
    currency: str
    payment_type: str
    installment_count: int
    frequency: str | None
    amount: Decimal
    paid_amount: Decimal
    held_amount: Decimal
    next_due_date: dt.date | None
    issued_at: dt.datetime | None
    voided_at: dt.datetime | None
    void_reason: str
    seller_vat_registered: bool
    prices_include_vat: bool
    vat_rate: Decimal | None
    vatable_sales: Decimal
    vat_amount: Decimal
    exempt_sales: Decimal
    zero_rated_sales: Decimal
    seller_name: str
    seller_trade_name: str
    seller_tin: str
    seller_address: str
    buyer_name: str
    buyer_tin: str
    buyer_address: str
    installments: tuple[ScheduleRow, ...]
    lines: tuple = ()
    client_name: str = ""
    client_company: str = ""
    late_fee_amount: Decimal = Decimal("0.00")  # its late fees not waived (part of amount)
    # Whether it has any credit notes, late fees (waived too) or plan proposals: most invoices have
    # none, and their pages then skip reading them.  True where not known (read them).
    has_credit_notes: bool = True
    has_late_fees: bool = True
    has_proposals: bool = True


INVOICE_VIEW_COLUMNS = (
    "id",
    "client_id",
    "invoice_no",
    "description",
    "issue_date",
    "due_date",
    "currency",
    "payment_type",
    "installment_count",
    "frequency",
    "amount",
    "paid_amount",
    "held_amount",
    "next_due_date",
    "issued_at",
    "voided_at",
    "void_reason",
    "seller_vat_registered",
    "prices_include_vat",
    "vat_rate",
    "vatable_sales",
    "vat_amount",
    "exempt_sales",
    "zero_rated_sales",
    "seller_name",
    "seller_trade_name",
    "seller_tin",
    "seller_address",
    "buyer_name",
    "buyer_tin",
    "buyer_address",
    "late_fee_amount",
)


@cache
def _invoice_statement(scoped: bool):
    """The invoice with its schedule: one row per installment (left-joined, in order).  Scoped: the
    client's issued invoice only.  Not scoped: any invoice, drafts too, with its client's name."""
    columns = [invoices.c[name] for name in INVOICE_VIEW_COLUMNS]
    source = invoices
    if not scoped:
        columns += [clients.c.name.label("client_name"), clients.c.company.label("client_company")]
        source = source.join(clients, clients.c.id == invoices.c.client_id)
    query = (
        select(
            *columns,
            installments.c.number.label("installment_number"),
            installments.c.due_date.label("installment_due"),
            installments.c.amount.label("installment_amount"),
            installments.c.paid_amount.label("installment_paid"),
            exists().where(credit_notes.c.invoice_id == invoices.c.id).label("has_credit_notes"),
            exists().where(late_fees.c.invoice_id == invoices.c.id).label("has_late_fees"),
            exists().where(proposals.c.invoice_id == invoices.c.id).label("has_proposals"),
        )
        .select_from(source.outerjoin(installments, installments.c.invoice_id == invoices.c.id))
        .where(invoices.c.id == INVOICE_ID)
        .order_by(installments.c.number)
    )
    if scoped:
        query = query.where(invoices.c.client_id == CLIENT_ID, invoices.c.issued_at.is_not(None))
    return query


@cache
def _lines_statement(scoped: bool):
    query = (
        select(
            lines.c.description,
            lines.c.quantity,
            lines.c.unit_price,
            lines.c.net_amount,
            lines.c.tax_rate,
            lines.c.tax_amount,
            lines.c.vat_treatment,
        )
        .where(lines.c.invoice_id == INVOICE_ID)
        .order_by(lines.c.position, lines.c.id)
    )
    if scoped:
        query = query.join(invoices, invoices.c.id == lines.c.invoice_id).where(invoices.c.client_id == CLIENT_ID)
    return query


@cache
def _payments_statement(scoped: bool):
    query = (
        select(
            payments.c.id,
            payments.c.date,
            payments.c.amount,
            payments.c.method,
            payments.c.reference,
            payments.c.installment_number,
            payments.c.state,
            payments.c.state_reason,
            exists().where(proofs.c.payment_id == payments.c.id).label("has_proof"),
        )
        .where(payments.c.invoice_id == INVOICE_ID)
        .order_by(payments.c.date, payments.c.id)
    )
    if scoped:
        query = query.where(payments.c.client_id == CLIENT_ID)
    return query


def read_invoice(invoice_id: int, client_id: int | None = None) -> InvoiceView | None:
    """The invoice with its schedule and lines (two statements), or None.  With ``client_id``:
    only that client's issued invoice (unknown, a draft or another client's are all None).  Whether
    it has credit notes, late fees and plan proposals comes with it (``has_credit_notes``, ...)."""
    scoped = client_id is not None
    params = {"invoice_id": invoice_id, "client_id": client_id}
    rows = db.session.execute(_invoice_statement(scoped), params).all()
    if not rows:
        return None
    first = rows[0]
    schedule = tuple(
        ScheduleRow(
            number=row.installment_number,
            due_date=row.installment_due,
            amount=row.installment_amount,
            paid_amount=row.installment_paid,
        )
        for row in rows
        if row.installment_number is not None
    )
    invoice_lines = tuple(db.session.execute(_lines_statement(scoped), params).all())
    client = {} if scoped else {"client_name": first.client_name, "client_company": first.client_company}
    return InvoiceView(
        **{name: getattr(first, name) for name in INVOICE_VIEW_COLUMNS},
        installments=schedule,
        lines=invoice_lines,
        has_credit_notes=first.has_credit_notes,
        has_late_fees=first.has_late_fees,
        has_proposals=first.has_proposals,
        **client,
    )


def read_invoice_payments(invoice_id: int, client_id: int | None = None) -> Sequence[Row]:
    """The payments on the invoice, oldest first (the order they were allocated in); with
    ``client_id``, only if they are that client's."""
    return db.session.execute(
        _payments_statement(client_id is not None), {"invoice_id": invoice_id, "client_id": client_id}
    ).all()


def read_credit_notes(invoice_id: int, client_id: int | None = None) -> Sequence[Row]:
    """The invoice's credit notes, oldest first; with ``client_id``, only if they are that client's."""
    notes = CreditNote.__table__
    query = select(
        notes.c.id, notes.c.credit_no, notes.c.issue_date, notes.c.amount, notes.c.reason, notes.c.customer_credit
    ).where(notes.c.invoice_id == invoice_id)
    if client_id is not None:
        query = query.where(notes.c.client_id == client_id)
    return db.session.execute(query.order_by(notes.c.id)).all()
