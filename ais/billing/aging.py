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

The drill-down, the CSV, the statement of account's aging and ``flask check`` read ``open_items``:
one set-based statement, bounded by the installments unpaid today (a partial index) and the
payments dated after ``as_of`` (a range of ``ix_payments_date_id``).  The report's page does not
read every client's items: its totals come from the running open balances per due month
(``due_month_balances``, each month's last row on or before ``as_of``) for the months that fall
whole in one bucket, and per due day (``due_day_balances``) in the few months a bucket's limit
splits: the same cost as of any day; or, when nothing is dated after ``as_of`` (as of today), from
today's unpaid amounts per due day (``due_day_totals``).  Its clients are a page walked in name
order, counted from the running number of owing clients (``owing_client_counts``, one probe), and
only that page's clients' amounts are summed: what they owe today per due day
(``client_due_day_totals``) less their changes dated after ``as_of`` (``client_open_changes``: what
their installments opened and payments took off them), which add up to the items' open amounts.
The cost follows the activity of 25 clients since the day, not the size of the books.  ``flask
check`` proves the running figures equal their recomputation and the report's totals as of today
the exact ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import aliased

from ..db_types import Money
from ..extensions import db
from ..models import (
    CONFIRMED,
    Allocation,
    BalanceDueDay,
    BalanceDueMonth,
    Client,
    ClientDueDayTotal,
    ClientOpenChange,
    DueDayBalance,
    DueDayTotal,
    DueMonthBalance,
    Installment,
    Invoice,
    LateFee,
    OwingClientCount,
    Payment,
)
from ..pagination import CappedStatementPagination, capped_page_statements, paginate_capped

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

# The report's statements carry their values in their text (``literal_execute``), not as
# parameters: a statement with no parameter is planned once per connection (psycopg prepares it),
# while one with parameters is planned afresh on each execution (PostgreSQL keeps its custom plans:
# a generic plan cannot see how few payments follow as_of).  Planning was half their cost.  The
# texts are few: one per day (and per page of clients).
AS_OF = bindparam("as_of", type_=Date, literal_execute=True)
CLIENT_ID = bindparam("client_id", type_=Integer)
CLIENT_IDS = bindparam("client_ids", expanding=True, type_=Integer, literal_execute=True)


def _constant(value, type_=Integer):
    """A constant written into the statement's text (see AS_OF)."""
    return bindparam(None, value, type_=type_, literal_execute=True)


_ZERO = _constant(0)
_CONFIRMED = _constant(CONFIRMED, String())
_ONE = _constant(1)


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


def _not_billing_a_later_fee(installment_id):
    """The installment does not bill a late fee charged after :as_of (such an installment is not
    yet open that day).  NOT IN, not NOT EXISTS: PostgreSQL reads those few fees once into a hash
    (a hashed subplan) instead of running an anti-join for each installment or client it checks
    (a quarter of the capped client count's cost on large books).  The subquery leaves out NULLs,
    which would make NOT IN unknown."""
    return installment_id.not_in(
        select(LateFee.fee_installment_id).where(LateFee.charged_on > AS_OF, LateFee.fee_installment_id.is_not(None))
    )


def _open_items():
    """The installments open on :as_of with their open amount: those unpaid today (read from the
    partial index ix_installments_unpaid_due, whose predicate is repeated as a plain condition)
    plus those paid in full since by payments dated after as_of (from those payments)."""
    # What payments dated after as_of put on each installment.  A subquery in each branch, not a
    # CTE: a statement that begins with WITH would count as a write (ais.database).
    paid_after = (
        select(Allocation.installment_id, func.sum(Allocation.amount).label("later"))
        .join(Payment, Payment.id == Allocation.payment_id)
        .where(Payment.date > AS_OF, Payment.state == _CONFIRMED)
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
        _not_billing_a_later_fee(Installment.id),
    )
    unpaid_today = (
        select(
            *columns,
            type_coerce(
                Installment.amount - Installment.paid_amount + func.coalesce(later.c.later, _ZERO), Money()
            ).label("open_amount"),
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
    bounds = [AS_OF] + [bindparam(f"due_after_{limit}", type_=Date, literal_execute=True) for _, limit in _LIMITS[1:]]

    def total(condition):
        return type_coerce(func.coalesce(func.sum(case((condition, amount), else_=_ZERO)), _ZERO), Money())

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
    split = _split_months(as_of)
    params["split_months"] = split
    for index in range(len(_LIMITS)):
        # An unused pair is an empty range (from = to).
        first = split[index] if index < len(split) else as_of
        after = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) if index < len(split) else as_of
        params[f"split_{index}_from"], params[f"split_{index}_to"] = first, after
    return params


def _aging(row) -> Aging:
    return Aging(row.current, row.days_1_30, row.days_31_60, row.days_61_90, row.over_90)


_ITEMS = _open_items().subquery("open_items")
# Every client with something open, by name, with their buckets: the CSV export and `flask check`
# (exact, from the installments; the page reads a page of clients instead).
_ALL_BY_CLIENT = (
    select(Client.id.label("client_id"), Client.name, *_bucket_sums(_ITEMS))
    .select_from(_ITEMS)
    .join(Client, Client.id == _ITEMS.c.client_id)
    .where(_ITEMS.c.open_amount > _ZERO)
    .group_by(Client.id, Client.name)
    .order_by(func.lower(Client.name), Client.id)
)
_TOTALS = select(*_bucket_sums(_ITEMS)).where(_ITEMS.c.open_amount > _ZERO)
_CLIENT_TOTALS = _TOTALS.where(_ITEMS.c.client_id == CLIENT_ID)
_CLIENT_ITEMS = (
    select(_ITEMS)
    .where(_ITEMS.c.client_id == CLIENT_ID, _ITEMS.c.open_amount > _ZERO)
    .order_by(_ITEMS.c.due_date, _ITEMS.c.invoice_id, _ITEMS.c.number)
)


def _client_owed_on_as_of():
    """The client (correlated) had something open on :as_of: an installment unpaid today on one
    of their open invoices (the partial index ix_invoices_client_open) issued by then, or one
    that a confirmed payment of theirs dated after then paid (ix_payments_client_date_id).  Exact:
    either makes the installment's open amount on :as_of above zero, and nothing else can."""
    counted = (
        Invoice.issued_at.is_not(None),
        Invoice.voided_at.is_(None),
        Invoice.issue_date <= AS_OF,
        _not_billing_a_later_fee(Installment.id),
    )
    unpaid_today = (
        select(Installment.id)
        .join(Invoice, Invoice.id == Installment.invoice_id)
        .where(
            Invoice.client_id == Client.id,
            Invoice.paid_amount < Invoice.amount,  # with the two above: the partial index's predicate
            Installment.paid_amount < Installment.amount,
            *counted,
        )
    )
    paid_since = (
        select(Allocation.id)
        .join(Payment, Payment.id == Allocation.payment_id)
        .join(Installment, Installment.id == Allocation.installment_id)
        .join(Invoice, Invoice.id == Installment.invoice_id)
        .where(Payment.client_id == Client.id, Payment.date > AS_OF, Payment.state == _CONFIRMED, *counted)
    )
    # Scalar subqueries (the first match, or NULL), not EXISTS: PostgreSQL may turn EXISTS under
    # OR into a hashed subplan that reads every client's open installments first; a scalar
    # subquery runs per client and stops at its first row.
    return or_(
        unpaid_today.limit(_ONE).scalar_subquery().is_not(None),
        paid_since.limit(_ONE).scalar_subquery().is_not(None),
    )


def _nothing_dated_after_as_of():
    """Nothing that changes who owes what is dated after :as_of: no confirmed payment, no open
    invoice with an unpaid installment issued after it, no late fee charged after it.  Then what
    was open on as_of is what is unpaid today: the amounts per due day are today's
    (``due_day_totals``), as for the report as of today.  Each test reads the first day after
    as_of in an index (nothing, for today).

    Each is the first row in day order (a scalar subquery with ORDER BY and LIMIT 1), not EXISTS:
    as of a past day PostgreSQL expects many rows after it and may answer EXISTS with a sequential
    scan that stops at the first match, which in a table written in day order is near its end
    (30 ms on the large books' invoices); and a parallel plan evaluates every test, not just the
    first that decides."""
    paid_later = (
        select(Payment.id)
        .where(Payment.state == _CONFIRMED, Payment.date > AS_OF)
        .order_by(Payment.date)
        .limit(_ONE)
        .scalar_subquery()
    )
    issued_later = (
        select(Installment.id)
        .join(Invoice, Invoice.id == Installment.invoice_id)
        .where(
            Invoice.issue_date > AS_OF,
            Invoice.issued_at.is_not(None),
            Invoice.voided_at.is_(None),
            Installment.paid_amount < Installment.amount,
        )
        .order_by(Invoice.issue_date)
        .limit(_ONE)
        .scalar_subquery()
    )
    fees_later = select(LateFee.id).where(LateFee.charged_on > AS_OF).order_by(LateFee.charged_on).limit(_ONE)
    return and_(paid_later.is_(None), issued_later.is_(None), fees_later.scalar_subquery().is_(None))


def _clients_owing_on_as_of():
    """The number of clients who owed something on :as_of: the last row of ``owing_client_counts``
    on or before it (one probe of its primary key, backwards; none before the first change)."""
    last = select(OwingClientCount.owing).where(OwingClientCount.day <= AS_OF).order_by(OwingClientCount.day.desc())
    return select(func.coalesce(last.limit(_ONE).scalar_subquery(), _ZERO)).scalar_subquery()


# A page of the clients who owed something on :as_of, by name (walking ix_clients_name_lower),
# with their number from the running count (shown up to the cap, "1,000+"): the report never
# reads every client's items.
_CLIENT_PAGE = capped_page_statements(
    select(Client.id.label("client_id"), Client.name)
    .where(_client_owed_on_as_of())
    .order_by(func.lower(Client.name), Client.id),
    total=_clients_owing_on_as_of(),
)


def _split_months(as_of: dt.date) -> list[dt.date]:
    """The due months that a bucket's limit splits as of ``as_of``: those holding a limit (as_of,
    as_of - 30, - 60, - 90) other than on their first day, whose due days fall in two buckets."""
    limits = [as_of] + [as_of - dt.timedelta(days=limit) for _, limit in _LIMITS[1:]]
    return sorted({limit.replace(day=1) for limit in limits if limit.day != 1})


# A split month's first day and the next month's, for each of up to four (unused ones: empty).
_SPLIT = [
    (
        bindparam(f"split_{index}_from", type_=Date, literal_execute=True),
        bindparam(f"split_{index}_to", type_=Date, literal_execute=True),
    )
    for index in range(len(_LIMITS))
]
SPLIT_MONTHS = bindparam("split_months", expanding=True, type_=Date, literal_execute=True)


def _last_open_on_as_of(model, listed_key):
    """The ``open`` of ``model``'s last row on or before :as_of for the key in ``listed_key`` (a
    column of the key's list, of the same name, correlated): one backward probe of the running
    balances' primary key (key, day)."""
    last = aliased(model, name=f"last_{model.__tablename__}")
    return (
        select(last.open)
        .where(getattr(last, listed_key.key) == listed_key, last.day <= AS_OF)
        .order_by(last.day.desc())
        .limit(_ONE)
        .scalar_subquery()
    )


def _from_running_balances():
    """What was open on :as_of per due day, from the running open balances: for each due month
    that falls whole in one bucket, its last row in ``due_month_balances`` on or before as_of (one
    probe of the primary key, backwards), under its first day; for each due day of a month that a
    bucket's limit splits (at most four months), its last row in ``due_day_balances``.

    The months and due days come from their own short lists (``balance_due_months``, about 40 rows
    on large books, and a range of ``balance_due_days``), not from walking the distinct keys of the
    balances' primary keys, which would cost a probe per key as much again.  The cost follows the
    number of due months, whatever the number of payments and whatever the day: as of a year back
    as of last week (about 40 probes and at most 124; one per due day, 1,081, took five times as
    long)."""
    month_open = _last_open_on_as_of(DueMonthBalance, BalanceDueMonth.due_month)
    day_open = _last_open_on_as_of(DueDayBalance, BalanceDueDay.due_day)
    in_split_month = or_(
        *(and_(BalanceDueDay.due_day >= first, BalanceDueDay.due_day < after) for first, after in _SPLIT)
    )
    # As of today (nothing dated later) today's unpaid amounts per due day are the answer, read
    # from due_day_totals (about as many rows, no probe); the test is uncorrelated, so PostgreSQL
    # evaluates it once and runs one branch only.
    unpaid_today = _nothing_dated_after_as_of()
    return union_all(
        select(DueDayTotal.day.label("due_date"), DueDayTotal.unpaid_due.label("open_amount")).where(unpaid_today),
        select(BalanceDueMonth.due_month, type_coerce(month_open, Money())).where(
            ~unpaid_today, BalanceDueMonth.due_month.not_in(SPLIT_MONTHS)
        ),
        select(BalanceDueDay.due_day, type_coerce(day_open, Money())).where(~unpaid_today, in_split_month),
    ).subquery("open_by_day")


def _page_open_amounts():
    """What the page's clients (:client_ids) had open on :as_of, by due date, as parts that add up
    per due day: their unpaid amounts today (``client_due_day_totals``, a range of the partial
    index ix_client_due_day_totals_owing per client) less what their installments opened and
    what confirmed payments took off them after as_of (``client_open_changes``, a range of its
    primary key per client: nothing as of today, the activity since as of a past day, the same on
    any size of books).  A due day's parts sum to its open amount on as_of; a part alone may be
    negative."""
    kept, changes = ClientDueDayTotal, ClientOpenChange
    return union_all(
        select(kept.client_id, kept.due_day.label("due_date"), kept.unpaid_due.label("open_amount")).where(
            kept.client_id.in_(CLIENT_IDS), kept.unpaid_count > _ZERO
        ),
        select(changes.client_id, changes.due_day, type_coerce(-changes.change, Money())).where(
            changes.client_id.in_(CLIENT_IDS), changes.day > AS_OF
        ),
    ).subquery("page_items")


# The buckets of a page's clients: the sums of their parts.
_PAGE_ITEMS = _page_open_amounts()
_PAGE_BUCKETS = select(_PAGE_ITEMS.c.client_id, *_bucket_sums(_PAGE_ITEMS)).group_by(_PAGE_ITEMS.c.client_id)
_BY_DAY = _from_running_balances()
_RUNNING_TOTALS = select(*_bucket_sums(_BY_DAY))
# The report's page in one round trip: its clients' buckets, then the totals as a row whose
# client id is NULL.
_PAGE_BUCKETS_AND_TOTALS = union_all(
    _PAGE_BUCKETS, select(type_coerce(null(), Integer).label("client_id"), *_bucket_sums(_BY_DAY))
)


def exact_aging_totals(as_of: dt.date) -> Aging:
    """Every client's open amounts on ``as_of``, per bucket, from the installments themselves
    (one statement reading every open one: the CSV export and ``flask check``)."""
    return _aging(db.session.execute(_TOTALS, _params(as_of)).one())


def aging_totals(as_of: dt.date) -> Aging:
    """Every client's open amounts on ``as_of``, per bucket, from the running open balances per due
    day (one statement; equal to ``exact_aging_totals``: ``flask check`` proves the balances)."""
    return _aging(db.session.execute(_RUNNING_TOTALS, _params(as_of)).one())


def client_aging(client_id: int, as_of: dt.date) -> Aging:
    """One client's open amounts on ``as_of``, per bucket (one statement)."""
    return _aging(db.session.execute(_CLIENT_TOTALS, {**_params(as_of), "client_id": client_id}).one())


def aging_report_page(
    as_of: dt.date, *, page: int, per_page: int
) -> tuple[CappedStatementPagination, list[ClientAging], Aging]:
    """One page of the clients with something open on ``as_of`` (by name) with their buckets, its
    pagination (their number, counted up to the cap, rides along) and every client's totals (as
    ``aging_totals``): two statements, the second reading only the page's clients' open items
    and the running open balances per due day."""
    pagination = paginate_capped(_CLIENT_PAGE, _params(as_of), page=page, per_page=per_page)
    names = [(row.client_id, row.name) for row in pagination.items]
    if not names:
        return pagination, [], aging_totals(as_of)
    params = {**_params(as_of), "client_ids": [client_id for client_id, _ in names]}
    buckets, totals = {}, Aging()
    for row in db.session.execute(_PAGE_BUCKETS_AND_TOTALS, params):
        if row.client_id is None:
            totals = _aging(row)
        else:
            buckets[row.client_id] = _aging(row)
    rows = [ClientAging(client_id, name, buckets.get(client_id, Aging())) for client_id, name in names]
    return pagination, rows, totals


def aging_by_client(as_of: dt.date, *, page: int, per_page: int) -> tuple[CappedStatementPagination, list[ClientAging]]:
    """One page of the clients with something open on ``as_of`` (by name) with their buckets, and
    its pagination (see ``aging_report_page``)."""
    pagination, rows, _ = aging_report_page(as_of, page=page, per_page=per_page)
    return pagination, rows


def all_client_agings(as_of: dt.date):
    """Every client with something open on ``as_of``, by name (the CSV export), streamed."""
    for row in db.session.execute(_ALL_BY_CLIENT, _params(as_of)):
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
