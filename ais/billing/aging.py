"""Aging of receivables as of any date: what was open on that day, by how long past due.

**What is open on a day** (``as_of``): every installment of an invoice issued on or before that
day that is neither void nor a draft (a late fee's installment from the day it was charged), less
the confirmed payments dated on or before it.  Payments
fill installments oldest first in (date, id) order (``rules.allocate``), so the allocations of the
payments up to a day are exactly what those payments alone would give: an installment's open
amount on ``as_of`` is its unpaid part today plus what payments dated after ``as_of`` put on it.
Void invoices are left out whatever the day (as ERPNext leaves out cancelled documents); payments
awaiting confirmation do not count as paid (as the invoice's balance).

**Buckets**, by the installment's due date: *current* (not yet past due, including due that day),
*1–30*, *31–60*, *61–90* and *over 90* days past due.

The report, the drill-down, the CSV, the statement of account's aging and ``flask check`` all read
``open_items``: one set-based statement, bounded by the installments unpaid today (a partial
index) and the payments dated after ``as_of`` (a range of ``ix_payments_date_id``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Date, Integer, and_, bindparam, case, exists, func, select, type_coerce, union_all

from ..db_types import Money
from ..extensions import db
from ..models import CONFIRMED, Allocation, Client, Installment, Invoice, LateFee, Payment
from ..pagination import StatementPagination, page_statements, paginate_statement

ZERO = Decimal("0.00")
CURRENT, DAYS_1_30, DAYS_31_60, DAYS_61_90, OVER_90 = "current", "1-30", "31-60", "61-90", "over-90"
BUCKETS = (CURRENT, DAYS_1_30, DAYS_31_60, DAYS_61_90, OVER_90)
BUCKET_LABELS = {
    CURRENT: "Current",
    DAYS_1_30: "1–30 days",
    DAYS_31_60: "31–60 days",
    DAYS_61_90: "61–90 days",
    OVER_90: "Over 90 days",
}
# A bucket's upper bound in days past due (inclusive); the last has none.
_LIMITS = ((CURRENT, 0), (DAYS_1_30, 30), (DAYS_31_60, 60), (DAYS_61_90, 90))

AS_OF = bindparam("as_of", type_=Date)
CLIENT_ID = bindparam("client_id", type_=Integer)


def bucket_of(due_date: dt.date, as_of: dt.date) -> str:
    """The bucket of an installment due on ``due_date``, on ``as_of``.

    Rule: days past due = as_of - due date; 0 or fewer is current (due that day is not past due);
    then 1–30, 31–60, 61–90 and over 90.
    """
    days = (as_of - due_date).days
    for bucket, limit in _LIMITS:
        if days <= limit:
            return bucket
    return OVER_90


@dataclass(frozen=True)
class Aging:
    """Open amounts per bucket, and their total."""

    current: Decimal = ZERO
    days_1_30: Decimal = ZERO
    days_31_60: Decimal = ZERO
    days_61_90: Decimal = ZERO
    over_90: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.current + self.days_1_30 + self.days_31_60 + self.days_61_90 + self.over_90

    @property
    def buckets(self) -> list[tuple[str, Decimal]]:
        """(bucket, amount) in the order of BUCKETS."""
        amounts = (self.current, self.days_1_30, self.days_31_60, self.days_61_90, self.over_90)
        return list(zip(BUCKETS, amounts, strict=True))

    @classmethod
    def of(cls, items) -> Aging:
        """The aging of ``OpenItem``s (or anything with ``bucket`` and ``open_amount``)."""
        sums = dict.fromkeys(BUCKETS, ZERO)
        for item in items:
            sums[item.bucket] += item.open_amount
        return cls(*(sums[bucket] for bucket in BUCKETS))


@dataclass(frozen=True)
class ClientAging:
    client_id: int
    client_name: str
    aging: Aging


@dataclass(frozen=True)
class OpenItem:
    """One installment open on ``as_of``, as the drill-down and the statement show it."""

    invoice_id: int
    invoice_no: str
    installment_number: int
    installment_count: int
    due_date: dt.date
    amount: Decimal
    open_amount: Decimal
    days_past_due: int
    bucket: str


def _open_items():
    """The installments open on :as_of with their open amount: those unpaid today (read from the
    partial index ix_installments_unpaid_due, whose predicate is repeated as a plain condition)
    plus those paid in full since by payments dated after as_of (from those payments)."""
    # What payments dated after as_of put on each installment.  A subquery in each branch, not a
    # CTE: a statement that begins with WITH would count as a write (ais.database).
    paid_after = (
        select(Allocation.installment_id, func.sum(Allocation.amount).label("later"))
        .join(Payment, Payment.id == Allocation.payment_id)
        .where(Payment.date > AS_OF, Payment.state == CONFIRMED)
        .group_by(Allocation.installment_id)
    )
    later, later_paid = paid_after.subquery("paid_after"), paid_after.subquery("paid_after_in_full")
    columns = (
        Installment.id.label("installment_id"),
        Installment.invoice_id,
        Installment.number,
        Installment.due_date,
        Installment.amount,
        Invoice.client_id,
        Invoice.invoice_no,
        Invoice.installment_count,
    )
    counted = (
        Invoice.issued_at.is_not(None),
        Invoice.voided_at.is_(None),
        Invoice.issue_date <= AS_OF,
        # A late fee's installment is open from the day the fee was charged (its due date).
        ~exists().where(LateFee.fee_installment_id == Installment.id, LateFee.charged_on > AS_OF),
    )
    unpaid_today = (
        select(
            *columns,
            type_coerce(Installment.amount - Installment.paid_amount + func.coalesce(later.c.later, 0), Money()).label(
                "open_amount"
            ),
        )
        .join(Invoice, Invoice.id == Installment.invoice_id)
        .outerjoin(later, later.c.installment_id == Installment.id)
        .where(Installment.paid_amount < Installment.amount, *counted)
    )
    paid_since = (
        select(*columns, type_coerce(later_paid.c.later, Money()).label("open_amount"))
        .select_from(later_paid)
        .join(Installment, Installment.id == later_paid.c.installment_id)
        .join(Invoice, Invoice.id == Installment.invoice_id)
        .where(Installment.paid_amount >= Installment.amount, *counted)
    )
    return union_all(unpaid_today, paid_since)


def _bucket_sums(items):
    """SUM per bucket over the subquery ``items`` (thresholds: due dates as_of - 30, - 60, - 90)."""
    due, amount = items.c.due_date, items.c.open_amount
    bounds = [AS_OF] + [bindparam(f"due_after_{limit}", type_=Date) for _, limit in _LIMITS[1:]]

    def total(condition):
        return type_coerce(func.coalesce(func.sum(case((condition, amount), else_=0)), 0), Money())

    return [
        total(due >= bounds[0]).label("current"),
        total(and_(due < bounds[0], due >= bounds[1])).label("days_1_30"),
        total(and_(due < bounds[1], due >= bounds[2])).label("days_31_60"),
        total(and_(due < bounds[2], due >= bounds[3])).label("days_61_90"),
        total(due < bounds[3]).label("over_90"),
    ]


def _params(as_of: dt.date) -> dict:
    params: dict = {"as_of": as_of}
    for _, limit in _LIMITS[1:]:
        params[f"due_after_{limit}"] = as_of - dt.timedelta(days=limit)
    return params


def _aging(row) -> Aging:
    return Aging(row.current, row.days_1_30, row.days_31_60, row.days_61_90, row.over_90)


_ITEMS = _open_items().subquery("open_items")
_BY_CLIENT = page_statements(
    select(Client.id.label("client_id"), Client.name, *_bucket_sums(_ITEMS))
    .select_from(_ITEMS)
    .join(Client, Client.id == _ITEMS.c.client_id)
    .where(_ITEMS.c.open_amount > 0)
    .group_by(Client.id, Client.name)
    .order_by(func.lower(Client.name), Client.id)
)
_TOTALS = select(*_bucket_sums(_ITEMS)).where(_ITEMS.c.open_amount > 0)
_CLIENT_TOTALS = _TOTALS.where(_ITEMS.c.client_id == CLIENT_ID)
_CLIENT_ITEMS = (
    select(_ITEMS)
    .where(_ITEMS.c.client_id == CLIENT_ID, _ITEMS.c.open_amount > 0)
    .order_by(_ITEMS.c.due_date, _ITEMS.c.invoice_id, _ITEMS.c.number)
)


def exact_aging_totals(as_of: dt.date) -> Aging:
    """Every client's open amounts on ``as_of``, per bucket, from the installments themselves
    (one statement reading every open one: the CSV export and ``flask check``)."""
    return _aging(db.session.execute(_TOTALS, _params(as_of)).one())


def aging_totals(as_of: dt.date) -> Aging:
    """Every client's open amounts on ``as_of``, per bucket (one statement)."""
    return exact_aging_totals(as_of)


def client_aging(client_id: int, as_of: dt.date) -> Aging:
    """One client's open amounts on ``as_of``, per bucket (one statement)."""
    return _aging(db.session.execute(_CLIENT_TOTALS, {**_params(as_of), "client_id": client_id}).one())


def aging_by_client(as_of: dt.date, *, page: int, per_page: int) -> tuple[StatementPagination, list[ClientAging]]:
    """One page of the clients with something open on ``as_of`` (by name) with their buckets, and
    its pagination (the number of such clients rides along): one statement."""
    pagination = paginate_statement(_BY_CLIENT, _params(as_of), page=page, per_page=per_page)
    return pagination, [ClientAging(row.client_id, row.name, _aging(row)) for row in pagination.items]


def all_client_agings(as_of: dt.date):
    """Every client with something open on ``as_of``, by name (the CSV export), streamed."""
    statement = _BY_CLIENT.page
    params = {**_params(as_of), "page_limit": 2**31 - 1, "page_offset": 0}
    for row in db.session.execute(statement, params):
        yield ClientAging(row.client_id, row.name, _aging(row))


def client_open_items(client_id: int, as_of: dt.date) -> list[OpenItem]:
    """The client's installments open on ``as_of``, oldest due first (one statement)."""
    rows = db.session.execute(_CLIENT_ITEMS, {**_params(as_of), "client_id": client_id}).all()
    return [
        OpenItem(
            invoice_id=row.invoice_id,
            invoice_no=row.invoice_no,
            installment_number=row.number,
            installment_count=row.installment_count,
            due_date=row.due_date,
            amount=row.amount,
            open_amount=row.open_amount,
            days_past_due=max((as_of - row.due_date).days, 0),
            bucket=bucket_of(row.due_date, as_of),
        )
        for row in rows
    ]
