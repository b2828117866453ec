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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from decimal import Decimal

from sqlalchemy import Date, Integer, Row, and_, bindparam, case, func, literal_column, select, true, type_coerce

from ..db_types import Money
from ..extensions import db
from ..models import INSTALLMENT, Client, Installment, Invoice, Payment
from ..billing.reads import MAX_ID, InvoiceView, read_invoice, read_invoice_payments
from ..pagination import PageStatements, StatementPagination, page_statements, paginate_statement

PER_PAGE = 20
RECENT_PAYMENTS = 5
ACTIVE_PLANS = 10


def _money_sum(expression):
    """SUM(expression) as exact money, 0.00 when there are no rows (cents on SQLite, NUMERIC on PostgreSQL)."""
    return type_coerce(func.coalesce(func.sum(expression), 0), Money())


# --- Scope --------------------------------------------------------------------------------------


def client_name(client_id: int) -> str | None:
    """The client's name, or None if there is no such client (used to set the scope)."""
    if not 0 < client_id <= MAX_ID:
        return None
    return db.session.scalar(select(Client.name).where(Client.id == client_id))


# --- Dashboard ----------------------------------------------------------------------------------
#
# The portal's pages are read with prebuilt Core statements (built once, under functools.cache, with
# the client and the day as bound parameters) that select only the columns a page shows: a page view
# neither builds nor hashes its SQL again, and its rows come back as plain named tuples rather than
# ORM objects (a list page only shows them).  Each still filters by the scoped client first.

invoices, installments, payments = Invoice.__table__, Installment.__table__, Payment.__table__
CLIENT, TODAY = bindparam("client_id", type_=Integer), bindparam("today", type_=Date)


def _counting_rows():
    """The scoped client's invoices that count in totals: issued and not void (Core columns)."""
    return and_(invoices.c.client_id == CLIENT, invoices.c.issued_at.is_not(None), invoices.c.voided_at.is_(None))


@dataclass(frozen=True)
class Totals:
    outstanding: Decimal  # still owed on issued, non-void invoices
    paid: Decimal  # confirmed payments on them (paid to date)
    held: Decimal  # reported payments awaiting the owner's confirmation
    due_now: Decimal  # unpaid part of installments due today or earlier
    overdue: Decimal  # unpaid part of installments due before today
    overdue_count: int
    open_count: int  # invoices with something still to pay


@dataclass(frozen=True)
class NextDue:
    invoice_id: int
    invoice_no: str
    currency: str
    number: int
    installment_count: int
    due_date: dt.date
    unpaid: Decimal


@cache
def _overview_statement():
    """The dashboard's figures and its next payment, side by side in one row: the invoices' running
    totals, the unpaid installments due by today, and the earliest unpaid installment (left-joined:
    there may be none).  Three one-row subqueries, one round trip."""
    invoice_sums = (
        select(
            _money_sum(invoices.c.amount - invoices.c.paid_amount).label("outstanding"),
            _money_sum(invoices.c.paid_amount).label("paid"),
            _money_sum(invoices.c.held_amount).label("held"),
            func.count(case((invoices.c.paid_amount < invoices.c.amount, invoices.c.id))).label("open_count"),
        ).where(_counting_rows())
    ).subquery("invoice_sums")
    unpaid_part = installments.c.amount - installments.c.paid_amount
    installment_sums = (
        select(
            _money_sum(unpaid_part).label("due_now"),
            _money_sum(case((installments.c.due_date < TODAY, unpaid_part), else_=0)).label("overdue"),
            func.count(case((installments.c.due_date < TODAY, installments.c.id))).label("overdue_count"),
        )
        .select_from(installments.join(invoices, invoices.c.id == installments.c.invoice_id))
        .where(_counting_rows(), installments.c.paid_amount < installments.c.amount, installments.c.due_date <= TODAY)
    ).subquery("installment_sums")
    # Each invoice keeps the due date of its earliest unpaid installment (next_due_date, a running
    # total): start from the client's invoices and join only that installment, rather than walk
    # every client's installments in due-date order looking for this client's.
    next_due = (
        select(invoices.c.id.label("next_invoice_id"), invoices.c.invoice_no.label("next_invoice_no"),
               invoices.c.currency.label("next_currency"), invoices.c.installment_count.label("next_count"),
               installments.c.number.label("next_number"), installments.c.due_date.label("next_due_date"),
               (installments.c.amount - installments.c.paid_amount).label("next_unpaid"))
        .select_from(invoices.join(installments, and_(installments.c.invoice_id == invoices.c.id,
                                                      installments.c.due_date == invoices.c.next_due_date)))
        .where(_counting_rows(), invoices.c.next_due_date.is_not(None),
               installments.c.paid_amount < installments.c.amount)
        .order_by(invoices.c.next_due_date, invoices.c.id, installments.c.number)
        .limit(literal_column("1"))  # a number in the SQL, not a parameter (see pagination.page_statements)
    ).subquery("next_due")
    return (select(invoice_sums, installment_sums, next_due)
            .select_from(invoice_sums.join(installment_sums, true()).outerjoin(next_due, true())))


def overview(client_id: int, today: dt.date) -> tuple[Totals, NextDue | None]:
    """The dashboard's totals and the next payment due (None when nothing is unpaid), in one statement."""
    row = db.session.execute(_overview_statement(), {"client_id": client_id, "today": today}).one()
    totals = Totals(outstanding=row.outstanding, paid=row.paid, held=row.held, due_now=row.due_now,
                    overdue=row.overdue, overdue_count=int(row.overdue_count), open_count=int(row.open_count))
    if row.next_invoice_id is None:
        return totals, None
    return totals, NextDue(invoice_id=row.next_invoice_id, invoice_no=row.next_invoice_no,
                           currency=row.next_currency, number=row.next_number,
                           installment_count=row.next_count, due_date=row.next_due_date,
                           unpaid=row.next_unpaid)


@cache
def _active_plans_statement():
    paid_installments = (
        select(func.count(installments.c.id))
        .where(installments.c.invoice_id == invoices.c.id, installments.c.paid_amount >= installments.c.amount)
        .correlate(invoices)
        .scalar_subquery()
    )
    return (
        select(invoices.c.id, invoices.c.invoice_no, invoices.c.currency, invoices.c.installment_count,
               invoices.c.amount, invoices.c.paid_amount, invoices.c.next_due_date,
               paid_installments.label("paid_installments"))
        .where(_counting_rows(), invoices.c.payment_type == INSTALLMENT, invoices.c.paid_amount < invoices.c.amount)
        .order_by(invoices.c.next_due_date.is_(None), invoices.c.next_due_date, invoices.c.id)
        .limit(bindparam("limit", type_=Integer, literal_execute=True))
    )


def active_plans(client_id: int, limit: int = ACTIVE_PLANS) -> Sequence[Row]:
    """Installment plans still being paid, soonest due first, each with its count of paid
    installments (rows: id, invoice_no, currency, installment_count, amount, paid_amount,
    next_due_date, paid_installments)."""
    return db.session.execute(_active_plans_statement(), {"client_id": client_id, "limit": limit}).all()


def _payments_select():
    """The client's payments with their invoice's number and currency (one join, no query per row),
    newest first."""
    return (
        select(payments.c.id, payments.c.date, payments.c.invoice_id, invoices.c.invoice_no, invoices.c.currency,
               payments.c.installment_number, payments.c.amount, payments.c.method, payments.c.reference,
               payments.c.state, payments.c.state_reason)
        .select_from(payments.join(invoices, invoices.c.id == payments.c.invoice_id))
        .where(payments.c.client_id == CLIENT, invoices.c.client_id == CLIENT, invoices.c.issued_at.is_not(None))
        .order_by(payments.c.date.desc(), payments.c.id.desc())
    )


@cache
def _recent_payments_statement():
    return _payments_select().limit(bindparam("limit", type_=Integer, literal_execute=True))


def recent_payments(client_id: int, limit: int = RECENT_PAYMENTS) -> Sequence[Row]:
    return db.session.execute(_recent_payments_statement(), {"client_id": client_id, "limit": limit}).all()


# --- Lists --------------------------------------------------------------------------------------


@cache
def _invoice_list_statements() -> PageStatements:
    return page_statements(
        select(invoices.c.id, invoices.c.invoice_no, invoices.c.issue_date, invoices.c.currency,
               invoices.c.amount, invoices.c.paid_amount, invoices.c.next_due_date,
               invoices.c.voided_at.is_not(None).label("is_void"), invoices.c.issued_at.is_(None).label("is_draft"))
        .where(invoices.c.client_id == CLIENT, invoices.c.issued_at.is_not(None))
        .order_by(invoices.c.issue_date.desc(), invoices.c.id.desc())
    )


def invoices_page(client_id: int, page: int, per_page: int = PER_PAGE) -> StatementPagination:
    """The client's issued invoices, newest first: a page of rows (id, invoice_no, issue_date,
    currency, amount, paid_amount, next_due_date, is_void, is_draft) with the total: ``services.status_of``
    reads a row as it reads an Invoice."""
    return paginate_statement(_invoice_list_statements(), {"client_id": client_id}, page=page, per_page=per_page)


@cache
def _payment_list_statements() -> PageStatements:
    return page_statements(_payments_select())


def payments_page(client_id: int, page: int, per_page: int = PER_PAGE) -> StatementPagination:
    """The client's payments, newest first, each with its invoice's number and currency (rows)."""
    return paginate_statement(_payment_list_statements(), {"client_id": client_id}, page=page, per_page=per_page)


# --- One invoice --------------------------------------------------------------------------------


def invoice(client_id: int, invoice_id: int) -> InvoiceView | None:
    """One of the client's issued invoices with its schedule and lines, or None (unknown, a draft,
    or another client's: the three are never told apart).  Two statements (ais.billing.reads)."""
    if not 0 < invoice_id <= MAX_ID:
        return None  # beyond any id the database can hold: not found (never a database error)
    return read_invoice(invoice_id, client_id=client_id)


def invoice_payments(client_id: int, invoice_id: int) -> Sequence[Row]:
    """The payments on one of the client's invoices, oldest first (the order they were allocated in)."""
    return read_invoice_payments(invoice_id, client_id=client_id)


def submission_key_used(client_id: int, key: str) -> bool:
    """True if this client already sent a payment with this one-time form key (a form sent twice)."""
    return db.session.scalar(
        select(Payment.id).where(Payment.client_id == client_id, Payment.submission_key == key)
    ) is not None
