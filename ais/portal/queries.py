"""Reads for the client portal.  Every function takes the scoped ``client_id`` FIRST and filters
by it in SQL: nothing here ever loads a row by its id alone, so another client's data cannot
reach a portal page whatever id is in the URL or the form.

What a client sees: issued invoices only (drafts are the owner's work in progress); void
invoices are listed (with their badge) but count in no total.  Lists and totals are read from the
running totals kept on ``Invoice`` (amount, paid_amount, held_amount, next_due_date) and the
installments' ``paid_amount``, so SQL does the sums and a page costs the same number of queries
however many invoices and payments the client has (no query per row).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, select, true, type_coerce
from sqlalchemy.orm import contains_eager, selectinload

from ..db_types import Money
from ..extensions import db
from ..models import INSTALLMENT, Client, Installment, Invoice, Payment
from ..pagination import paginate_in_one

PER_PAGE = 20
RECENT_PAYMENTS = 5
ACTIVE_PLANS = 10
MAX_ID = 2**31 - 1  # ids are INTEGER columns


def _money_sum(expression):
    """SUM(expression) as exact money, 0.00 when there are no rows (cents on SQLite, NUMERIC on PostgreSQL)."""
    return type_coerce(func.coalesce(func.sum(expression), 0), Money())


def _visible(client_id: int):
    """The client's invoices that the portal shows: issued ones (void included)."""
    return and_(Invoice.client_id == client_id, Invoice.issued_at.is_not(None))


def _counting(client_id: int):
    """The client's invoices that count in totals: issued and not void."""
    return and_(_visible(client_id), Invoice.voided_at.is_(None))


# --- Scope --------------------------------------------------------------------------------------


def client_name(client_id: int) -> str | None:
    """The client's name, or None if there is no such client (used to set the scope)."""
    if not 0 < client_id <= MAX_ID:
        return None
    return db.session.scalar(select(Client.name).where(Client.id == client_id))


# --- Dashboard ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    outstanding: Decimal  # still owed on issued, non-void invoices
    paid: Decimal  # confirmed payments on them (paid to date)
    held: Decimal  # reported payments awaiting the owner's confirmation
    due_now: Decimal  # unpaid part of installments due today or earlier
    overdue: Decimal  # unpaid part of installments due before today
    overdue_count: int
    open_count: int  # invoices with something still to pay


def totals(client_id: int, today: dt.date) -> Totals:
    """The dashboard's figures in one statement: the invoices' running totals, and the unpaid
    installments due by today (a one-row subquery each, side by side: one round trip)."""
    invoice_sums = (
        select(
            _money_sum(Invoice.amount - Invoice.paid_amount),
            _money_sum(Invoice.paid_amount),
            _money_sum(Invoice.held_amount),
            func.count(case((Invoice.paid_amount < Invoice.amount, Invoice.id))),
        ).where(_counting(client_id))
    ).subquery()
    unpaid_part = Installment.amount - Installment.paid_amount
    installment_sums = (
        select(
            _money_sum(unpaid_part),
            _money_sum(case((Installment.due_date < today, unpaid_part), else_=0)),
            func.count(case((Installment.due_date < today, Installment.id))),
        )
        .join(Installment.invoice)
        .where(_counting(client_id), Installment.paid_amount < Installment.amount, Installment.due_date <= today)
    ).subquery()
    # Two one-row aggregates side by side (a cross join of one row with one row).
    row = db.session.execute(
        select(invoice_sums, installment_sums).select_from(invoice_sums.join(installment_sums, true()))
    ).one()
    outstanding, paid, held, open_count, due_now, overdue, overdue_count = row
    return Totals(outstanding=outstanding, paid=paid, held=held, due_now=due_now, overdue=overdue,
                  overdue_count=int(overdue_count), open_count=int(open_count))


@dataclass(frozen=True)
class NextDue:
    invoice_id: int
    invoice_no: str
    currency: str
    number: int
    installment_count: int
    due_date: dt.date
    unpaid: Decimal


def next_due(client_id: int) -> NextDue | None:
    """The earliest installment with something unpaid (it may already be overdue), or None."""
    # Each invoice keeps the due date of its earliest unpaid installment (next_due_date, a running
    # total): start from the client's invoices and join only that installment, rather than walk
    # every client's installments in due-date order looking for this client's.
    row = db.session.execute(
        select(Invoice.id, Invoice.invoice_no, Invoice.currency, Invoice.installment_count,
               Installment.number, Installment.due_date, Installment.amount, Installment.paid_amount)
        .join(Installment, and_(Installment.invoice_id == Invoice.id, Installment.due_date == Invoice.next_due_date))
        .where(_counting(client_id), Invoice.next_due_date.is_not(None), Installment.paid_amount < Installment.amount)
        .order_by(Invoice.next_due_date, Invoice.id, Installment.number)
        .limit(1)
    ).first()
    if row is None:
        return None
    invoice_id, invoice_no, currency, count, number, due_date, amount, paid = row
    return NextDue(invoice_id=invoice_id, invoice_no=invoice_no, currency=currency, number=number,
                   installment_count=count, due_date=due_date, unpaid=amount - paid)


@dataclass(frozen=True)
class Plan:
    invoice: Invoice
    paid_installments: int


def active_plans(client_id: int, limit: int = ACTIVE_PLANS) -> list[Plan]:
    """Installment plans still being paid, soonest due first, each with its count of paid installments."""
    paid_count = (
        select(func.count(Installment.id))
        .where(Installment.invoice_id == Invoice.id, Installment.paid_amount >= Installment.amount)
        .correlate(Invoice)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Invoice, paid_count)
        .where(_counting(client_id), Invoice.payment_type == INSTALLMENT, Invoice.paid_amount < Invoice.amount)
        .order_by(Invoice.next_due_date.is_(None), Invoice.next_due_date, Invoice.id)
        .limit(limit)
    ).all()
    return [Plan(invoice=invoice, paid_installments=int(count)) for invoice, count in rows]


def _payments_query(client_id: int):
    """The client's payments with their invoice (one join, no query per row), newest first."""
    return (
        select(Payment)
        .join(Payment.invoice)
        .options(contains_eager(Payment.invoice))
        .where(Payment.client_id == client_id, _visible(client_id))
        .order_by(Payment.date.desc(), Payment.id.desc())
    )


def recent_payments(client_id: int, limit: int = RECENT_PAYMENTS) -> list[Payment]:
    return list(db.session.scalars(_payments_query(client_id).limit(limit)).unique())


# --- Lists --------------------------------------------------------------------------------------


def invoices_page(client_id: int, page: int, per_page: int = PER_PAGE):
    """The client's issued invoices, newest first (a Flask-SQLAlchemy Pagination of Invoice)."""
    query = select(Invoice).where(_visible(client_id)).order_by(Invoice.issue_date.desc(), Invoice.id.desc())
    return paginate_in_one(query, page=page, per_page=per_page)


def payments_page(client_id: int, page: int, per_page: int = PER_PAGE):
    """The client's payments, newest first, each with its invoice (Pagination of Payment)."""
    return paginate_in_one(_payments_query(client_id), page=page, per_page=per_page)


# --- One invoice --------------------------------------------------------------------------------


def invoice(client_id: int, invoice_id: int) -> Invoice | None:
    """One of the client's issued invoices with its lines and schedule, or None (unknown, a draft,
    or another client's: the three are never told apart)."""
    if not 0 < invoice_id <= MAX_ID:
        return None  # beyond any id the database can hold: not found (never a database error)
    return db.session.scalar(
        select(Invoice)
        .where(Invoice.id == invoice_id, _visible(client_id))
        .options(selectinload(Invoice.lines), selectinload(Invoice.installments))
    )


def invoice_payments(client_id: int, invoice_id: int) -> list[Payment]:
    """The payments on one of the client's invoices, oldest first (the order they were allocated in)."""
    return list(
        db.session.scalars(
            select(Payment)
            .where(Payment.client_id == client_id, Payment.invoice_id == invoice_id)
            .order_by(Payment.date, Payment.id)
        )
    )


def submission_key_used(client_id: int, key: str) -> bool:
    """True if this client already sent a payment with this one-time form key (a form sent twice)."""
    return db.session.scalar(
        select(Payment.id).where(Payment.client_id == client_id, Payment.submission_key == key)
    ) is not None
