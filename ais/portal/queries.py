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
from decimal import Decimal
from functools import cache

from sqlalchemy import (
    Date,
    Integer,
    Row,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    select,
    true,
    type_coerce,
)

from ..billing.reads import MAX_ID, InvoiceView, read_credit_notes, read_invoice, read_invoice_payments
from ..db_types import Money
from ..extensions import db
from ..models import INSTALLMENT, Client, Installment, Invoice, Payment, PaymentProof
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


def client_reminder_choice(client_id: int) -> bool:
    """Whether the client wants the reminders before and on due dates (overdue notices always go)."""
    return not db.session.scalar(select(Client.courtesy_reminders_off).where(Client.id == client_id))


# --- Dashboard ----------------------------------------------------------------------------------
#
# The portal's pages are read with prebuilt Core statements (built once, under functools.cache, with
# the client and the day as bound parameters) that select only the columns a page shows: a page view
# neither builds nor hashes its SQL again, and its rows come back as plain named tuples rather than
# ORM objects (a list page only shows them).  Each still filters by the scoped client first.

invoices, installments, payments = Invoice.__table__, Installment.__table__, Payment.__table__
proofs = PaymentProof.__table__
CLIENT, TODAY = bindparam("client_id", type_=Integer), bindparam("today", type_=Date)


def _counting_rows():
    """The scoped client's invoices that count in totals: issued and not void (Core columns)."""
    return and_(invoices.c.client_id == CLIENT, invoices.c.issued_at.is_not(None), invoices.c.voided_at.is_(None))


@dataclass(frozen=True)
class Totals:
    """The dashboard's figures: each is the sum over the client's counting invoices of the same
    figure on the invoice's page (``rules.owed``), so the two can never disagree."""

    outstanding: Decimal  # balance: still owed on issued, non-void invoices
    paid: Decimal  # confirmed payments on them (paid to date)
    held: Decimal  # awaiting confirmation: reported payments and card payments in progress
    overdue: Decimal  # unpaid part of installments due before today
    due_today: Decimal  # unpaid part of installments due today
    pay_now: Decimal  # per invoice: overdue + due today - awaiting confirmation, floored at 0
    overdue_count: int
    open_count: int  # invoices with something still to pay


@dataclass(frozen=True)
class NextDue:
    """An invoice to open: the first with something to pay now, or the next installment."""

    invoice_id: int
    invoice_no: str
    currency: str
    number: int | None
    installment_count: int
    due_date: dt.date
    unpaid: Decimal


@cache
def _overview_statement():
    """The dashboard's figures, the first invoice with something to pay now and the next installment,
    side by side in one row (one round trip).

    Money awaiting confirmation pays an invoice's unpaid installments in due-date order (as in
    ``rules.owed``): a running sum over them (a window function) tells which installment is the first
    it does not cover."""
    invoice_sums = (
        select(
            _money_sum(invoices.c.amount - invoices.c.paid_amount).label("outstanding"),
            _money_sum(invoices.c.paid_amount).label("paid"),
            _money_sum(invoices.c.held_amount).label("held"),
            func.count(case((invoices.c.paid_amount < invoices.c.amount, invoices.c.id))).label("open_count"),
        ).where(_counting_rows())
    ).subquery("invoice_sums")
    unpaid_part = installments.c.amount - installments.c.paid_amount
    # The client's unpaid installments with the unpaid total up to each one (in due-date order).
    unpaid_rows = (
        select(
            installments.c.invoice_id,
            installments.c.number,
            installments.c.due_date,
            unpaid_part.label("unpaid"),
            invoices.c.held_amount.label("held"),
            func.sum(unpaid_part)
            .over(partition_by=installments.c.invoice_id, order_by=(installments.c.due_date, installments.c.number))
            .label("running"),
        )
        .select_from(installments.join(invoices, invoices.c.id == installments.c.invoice_id))
        .where(_counting_rows(), installments.c.paid_amount < installments.c.amount)
    ).cte("unpaid_rows")  # read by three of the parts below: a WITH, so PostgreSQL scans it once
    due_by_today = func.sum(case((unpaid_rows.c.due_date <= TODAY, unpaid_rows.c.unpaid), else_=0))
    per_invoice = (
        select(
            unpaid_rows.c.invoice_id,
            case((due_by_today - unpaid_rows.c.held > 0, due_by_today - unpaid_rows.c.held), else_=0).label("pay_now"),
            func.min(unpaid_rows.c.due_date).label("first_due"),
        ).group_by(unpaid_rows.c.invoice_id, unpaid_rows.c.held)
    ).subquery("per_invoice")
    installment_sums = (
        select(
            _money_sum(case((unpaid_rows.c.due_date < TODAY, unpaid_rows.c.unpaid), else_=0)).label("overdue"),
            _money_sum(case((unpaid_rows.c.due_date == TODAY, unpaid_rows.c.unpaid), else_=0)).label("due_today"),
            func.count(case((unpaid_rows.c.due_date < TODAY, unpaid_rows.c.number))).label("overdue_count"),
        )
    ).subquery("installment_sums")
    pay_sums = select(_money_sum(per_invoice.c.pay_now).label("pay_now")).subquery("pay_sums")
    first_to_pay = (
        select(
            per_invoice.c.invoice_id.label("pay_invoice_id"),
            invoices.c.invoice_no.label("pay_invoice_no"),
            invoices.c.currency.label("pay_currency"),
            invoices.c.installment_count.label("pay_count"),
            per_invoice.c.first_due.label("pay_due_date"),
            type_coerce(per_invoice.c.pay_now, Money()).label("pay_amount"),
        )
        .select_from(per_invoice.join(invoices, invoices.c.id == per_invoice.c.invoice_id))
        .where(per_invoice.c.pay_now > 0)
        .order_by(per_invoice.c.first_due, per_invoice.c.invoice_id)
        .limit(literal_column("1"))  # a number in the SQL, not a parameter (see pagination.page_statements)
    ).subquery("first_to_pay")
    uncovered = unpaid_rows.c.running - unpaid_rows.c.held
    next_due = (
        select(
            invoices.c.id.label("next_invoice_id"),
            invoices.c.invoice_no.label("next_invoice_no"),
            invoices.c.currency.label("next_currency"),
            invoices.c.installment_count.label("next_count"),
            unpaid_rows.c.number.label("next_number"),
            unpaid_rows.c.due_date.label("next_due_date"),
            type_coerce(case((uncovered < unpaid_rows.c.unpaid, uncovered), else_=unpaid_rows.c.unpaid), Money()).label(
                "next_unpaid"
            ),
        )
        .select_from(unpaid_rows.join(invoices, invoices.c.id == unpaid_rows.c.invoice_id))
        .where(unpaid_rows.c.due_date > TODAY, unpaid_rows.c.running > unpaid_rows.c.held)
        .order_by(unpaid_rows.c.due_date, unpaid_rows.c.invoice_id, unpaid_rows.c.number)
        .limit(literal_column("1"))
    ).subquery("next_due")
    return select(invoice_sums, installment_sums, pay_sums, first_to_pay, next_due).select_from(
        invoice_sums.join(installment_sums, true())
        .join(pay_sums, true())
        .outerjoin(first_to_pay, true())
        .outerjoin(next_due, true())
    )


def overview(client_id: int, today: dt.date) -> tuple[Totals, NextDue | None, NextDue | None]:
    """The dashboard's totals, the first invoice with something to pay now (None when nothing is to
    be paid now) and the next installment not yet covered (None when there is none), in one statement."""
    row = db.session.execute(_overview_statement(), {"client_id": client_id, "today": today}).one()
    totals = Totals(
        outstanding=row.outstanding,
        paid=row.paid,
        held=row.held,
        overdue=row.overdue,
        due_today=row.due_today,
        pay_now=row.pay_now,
        overdue_count=int(row.overdue_count),
        open_count=int(row.open_count),
    )
    to_pay = None
    if row.pay_invoice_id is not None:
        to_pay = NextDue(
            invoice_id=row.pay_invoice_id,
            invoice_no=row.pay_invoice_no,
            currency=row.pay_currency,
            number=None,
            installment_count=row.pay_count,
            due_date=row.pay_due_date,
            unpaid=row.pay_amount,
        )
    following = None
    if row.next_invoice_id is not None:
        following = NextDue(
            invoice_id=row.next_invoice_id,
            invoice_no=row.next_invoice_no,
            currency=row.next_currency,
            number=row.next_number,
            installment_count=row.next_count,
            due_date=row.next_due_date,
            unpaid=row.next_unpaid,
        )
    return totals, to_pay, following


@cache
def _active_plans_statement():
    paid_installments = (
        select(func.count(installments.c.id))
        .where(installments.c.invoice_id == invoices.c.id, installments.c.paid_amount >= installments.c.amount)
        .correlate(invoices)
        .scalar_subquery()
    )
    return (
        select(
            invoices.c.id,
            invoices.c.invoice_no,
            invoices.c.currency,
            invoices.c.installment_count,
            invoices.c.amount,
            invoices.c.paid_amount,
            invoices.c.next_due_date,
            paid_installments.label("paid_installments"),
        )
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
        select(
            payments.c.id,
            payments.c.date,
            payments.c.invoice_id,
            invoices.c.invoice_no,
            invoices.c.currency,
            payments.c.installment_number,
            payments.c.amount,
            payments.c.method,
            payments.c.reference,
            payments.c.state,
            payments.c.state_reason,
            exists().where(proofs.c.payment_id == payments.c.id).label("has_proof"),
        )
        .select_from(payments.join(invoices, invoices.c.id == payments.c.invoice_id))
        .where(payments.c.client_id == CLIENT, invoices.c.client_id == CLIENT, invoices.c.issued_at.is_not(None))
        .order_by(payments.c.date.desc(), payments.c.id.desc())
    )


def payment(client_id: int, payment_id: int) -> Row | None:
    """One of the client's payments as the payments list shows it (with ``has_proof``), or None
    (unknown or another client's: never told apart)."""
    if not 0 < payment_id <= MAX_ID:
        return None
    return db.session.execute(_payments_select().where(payments.c.id == payment_id), {"client_id": client_id}).first()


@cache
def _recent_payments_statement():
    return _payments_select().limit(bindparam("limit", type_=Integer, literal_execute=True))


def recent_payments(client_id: int, limit: int = RECENT_PAYMENTS) -> Sequence[Row]:
    return db.session.execute(_recent_payments_statement(), {"client_id": client_id, "limit": limit}).all()


# --- Lists --------------------------------------------------------------------------------------


@cache
def _invoice_list_statements() -> PageStatements:
    return page_statements(
        select(
            invoices.c.id,
            invoices.c.invoice_no,
            invoices.c.issue_date,
            invoices.c.currency,
            invoices.c.amount,
            invoices.c.paid_amount,
            invoices.c.next_due_date,
            invoices.c.voided_at.is_not(None).label("is_void"),
            invoices.c.issued_at.is_(None).label("is_draft"),
        )
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
    return (
        db.session.scalar(select(Payment.id).where(Payment.client_id == client_id, Payment.submission_key == key))
        is not None
    )


def invoice_credit_notes(client_id: int, invoice_id: int) -> Sequence[Row]:
    """The credit notes on the client's invoice, oldest first."""
    return read_credit_notes(invoice_id, client_id)
