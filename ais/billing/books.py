"""Running totals of the books (``monthly_totals``, ``due_day_totals``, ``client_due_day_totals``,
``due_day_balances``, ``due_month_balances``, ``client_open_changes``, ``owing_client_counts``),
kept in step with every change to an invoice.

When the service layer locks an invoice it takes a snapshot of what the invoice adds to the
totals (its amount in its month of issue, its confirmed and reported payments by month, its
confirmed payments by day, its unpaid installments by due month, by due day and by client and
due day, and what it opened and paid per client, day and due day, which summed over the clients
give the changes per due day and day, and so per due month and day); just before the transaction
commits it takes the snapshot again and adds the difference.  Every write path goes
through ``lock_invoice``, so none can forget it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, and_, case, delete, func, insert, select, text, type_coerce, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..db_types import Money
from ..extensions import db
from ..models import (
    CONFIRMED,
    REPORTED,
    Allocation,
    BalanceDueDay,
    BalanceDueMonth,
    ClientDueDayTotal,
    ClientOpenChange,
    DueDayBalance,
    DueDayTotal,
    DueMonthBalance,
    Installment,
    Invoice,
    LateFee,
    MonthlyTotal,
    OwingClientCount,
    Payment,
)

ZERO = Decimal("0.00")
BEFORE_COMMIT = "ais_before_commit"
SNAPSHOTS = "ais_monthly_snapshots"

# The columns of each table that hold running sums, in the order the deltas are kept.
MONTHLY_COLUMNS = ("invoiced", "collected", "unpaid_due", "unpaid_count", "awaiting_amount", "awaiting_count")
DAILY_COLUMNS = ("unpaid_due", "unpaid_count", "collected")
CLIENT_COLUMNS = ("unpaid_due", "unpaid_count")
# The advisory-lock space of the running open balances per due day and per due month (one lock per
# due month, its first day's ordinal, for both tables); the ledger's running balances use 22.
DUE_MONTH_BALANCE_LOCKS = 23
# The advisory locks of the number of owing clients per day: one per client (its id) while its
# changes are read to see on which days it began or ceased to owe, then one for the numbers.
CLIENT_OWING_LOCKS = 24
OWING_COUNT_LOCKS, OWING_COUNT_LOCK = 25, 0
BULK_ROWS = 5000  # rows per INSERT when rebuilding the larger tables (hundreds of thousands of rows on large books)


def month_of(day: date) -> date:
    return day.replace(day=1)


def _money_by_key() -> defaultdict:
    return defaultdict(lambda: ZERO)


@dataclass
class Contribution:
    """What one invoice adds to each month's (and each due day's) totals."""

    invoiced: dict = field(default_factory=_money_by_key)
    collected: dict = field(default_factory=_money_by_key)
    unpaid_due: dict = field(default_factory=_money_by_key)
    unpaid_count: dict = field(default_factory=lambda: defaultdict(int))
    awaiting_amount: dict = field(default_factory=_money_by_key)
    awaiting_count: dict = field(default_factory=lambda: defaultdict(int))
    # By due day (not month): the dashboard's day-exact windows.
    day_unpaid_due: dict = field(default_factory=_money_by_key)
    day_unpaid_count: dict = field(default_factory=lambda: defaultdict(int))
    day_collected: dict = field(default_factory=_money_by_key)
    # By (client, due day): the aging report's buckets of a page of clients.
    client_day_unpaid_due: dict = field(default_factory=_money_by_key)
    client_day_unpaid_count: dict = field(default_factory=lambda: defaultdict(int))
    # By (client, day, due day): what the invoice's installments due that day opened (+, the day
    # they were billed) and what confirmed payments took off them (-, from the payment's date, or
    # the billing day if later) on that day: the aging report's page of clients as of any day
    # (client_open_changes), the number of clients owing on each day (owing_client_counts) and,
    # summed over the clients (by_due_day), the aging report's totals as of any day
    # (due_day_balances).
    client_opened_and_paid: dict = field(default_factory=_money_by_key)

    @classmethod
    def of(cls, invoice: Invoice) -> Contribution:
        result = cls()
        if invoice.is_draft:
            return result
        # Payments count whatever became of the invoice: a void invoice's reported payments are
        # rejected in the same transaction, and its confirmed ones must be voided before it.
        payments = db.session.execute(
            select(Payment.date, Payment.amount, Payment.state).where(
                Payment.invoice_id == invoice.id, Payment.state.in_((CONFIRMED, REPORTED))
            )
        )
        for paid_on, amount, state in payments:
            month = month_of(paid_on)
            if state == CONFIRMED:
                result.collected[month] += amount
                result.day_collected[paid_on] += amount
            else:
                result.awaiting_amount[month] += amount
                result.awaiting_count[month] += 1
        if invoice.is_void:
            return result
        result.invoiced[month_of(invoice.issue_date)] += invoice.amount
        for installment in invoice.installments:
            if installment.paid_amount < installment.amount:
                unpaid = installment.amount - installment.paid_amount
                month = month_of(installment.due_date)
                result.unpaid_due[month] += unpaid
                result.unpaid_count[month] += 1
                result.day_unpaid_due[installment.due_date] += unpaid
                result.day_unpaid_count[installment.due_date] += 1
                result.client_day_unpaid_due[(invoice.client_id, installment.due_date)] += unpaid
                result.client_day_unpaid_count[(invoice.client_id, installment.due_date)] += 1
        _add_opened_and_paid(result.client_opened_and_paid, invoice)
        return result


def _billed_on(issue_date: date, fee_charged_on: date | None) -> date:
    """The day an installment is billed: its invoice's issue date, or the day the late fee it bills
    was charged, if later (as the aging report counts it: ``aging._not_billing_a_later_fee``)."""
    return fee_charged_on if fee_charged_on is not None and fee_charged_on > issue_date else issue_date


def _add_opened_and_paid(changes: dict, invoice: Invoice) -> None:
    """The invoice's installments by (client, billing day, due day), less their allocations of
    confirmed payments by (client, day taking effect, due day): one query, a row per installment
    and allocation."""
    fee_charged_on = (
        select(func.max(LateFee.charged_on)).where(LateFee.fee_installment_id == Installment.id).scalar_subquery()
    )
    rows = db.session.execute(
        select(
            Installment.id,
            Installment.due_date,
            Installment.amount,
            fee_charged_on,
            Allocation.amount,
            Payment.date,
        )
        .select_from(Installment)
        .outerjoin(Allocation, Allocation.installment_id == Installment.id)
        .outerjoin(Payment, and_(Payment.id == Allocation.payment_id, Payment.state == CONFIRMED))
        .where(Installment.invoice_id == invoice.id)
    )
    client_id = invoice.client_id
    counted = set()
    for installment_id, due_date, amount, charged_on, allocated, paid_on in rows:
        billed = _billed_on(invoice.issue_date, charged_on)
        if installment_id not in counted:
            counted.add(installment_id)
            changes[(client_id, billed, due_date)] += amount
        if paid_on is not None:
            changes[(client_id, max(paid_on, billed), due_date)] -= allocated


def track(invoice: Invoice) -> None:
    """Remember the invoice's contribution now; the difference is booked before commit."""
    session = db.session
    snapshots = session.info.setdefault(SNAPSHOTS, {})
    if invoice.id in snapshots:
        return
    snapshots[invoice.id] = (invoice, Contribution.of(invoice))
    callbacks = session.info.setdefault(BEFORE_COMMIT, [])
    if post_changes not in callbacks:
        callbacks.append(post_changes)


def _add_differences(deltas: dict, before: Contribution, after: Contribution, names) -> None:
    for index, name in enumerate(names):
        old, new = getattr(before, name), getattr(after, name)
        for key in set(old) | set(new):
            deltas[key][index] += new.get(key, 0) - old.get(key, 0)


def post_changes() -> None:
    """Add each tracked invoice's change in contribution to the monthly, daily and client totals."""
    session = db.session
    snapshots = session.info.pop(SNAPSHOTS, {})
    session.flush()
    monthly: dict[date, list] = defaultdict(lambda: [ZERO, ZERO, ZERO, 0, ZERO, 0])
    daily: dict[date, list] = defaultdict(lambda: [ZERO, 0, ZERO])
    by_client_day: dict[tuple[int, date], list] = defaultdict(lambda: [ZERO, 0])
    by_client_change: dict[tuple[int, date, date], list] = defaultdict(lambda: [ZERO])
    for invoice, before in snapshots.values():
        after = Contribution.of(invoice)
        _add_differences(monthly, before, after, MONTHLY_COLUMNS)
        _add_differences(daily, before, after, ("day_unpaid_due", "day_unpaid_count", "day_collected"))
        _add_differences(by_client_day, before, after, ("client_day_unpaid_due", "client_day_unpaid_count"))
        _add_differences(by_client_change, before, after, ("client_opened_and_paid",))
    add_to_months({month: values for month, values in monthly.items() if any(values)})
    add_to_days({day: values for day, values in daily.items() if any(values)})
    add_to_client_due_days({key: values for key, values in by_client_day.items() if any(values)})
    client_changes = {key: change for key, (change,) in by_client_change.items() if change}
    add_to_due_day_balances({key: change for key, change in by_due_day(client_changes).items() if change})
    add_to_client_open_changes(client_changes)
    add_to_owing_counts(client_changes)


def _insert(table):
    """INSERT with the dialect's ON CONFLICT clauses."""
    return (pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)(table)


def _upsert(model, key: str | tuple[str, ...], columns: tuple[str, ...], deltas: dict) -> None:
    """Add ``deltas`` (key -> values in ``columns`` order) to the rows, inserting missing ones.  A
    key of several columns is given as a tuple of their names, each delta's key as a tuple of values.
    Keys in ascending order: every transaction takes the row locks in the same order (no deadlocks)."""
    if not deltas:
        return
    table = model.__table__
    names = key if isinstance(key, tuple) else (key,)
    for value in sorted(deltas):
        values = value if isinstance(key, tuple) else (value,)
        statement = _insert(table).values(
            {**dict(zip(names, values, strict=True)), **dict(zip(columns, deltas[value], strict=False))}
        )
        statement = statement.on_conflict_do_update(
            index_elements=[table.c[name] for name in names],
            set_={name: table.c[name] + statement.excluded[name] for name in columns},
        )
        db.session.execute(statement)


def add_to_months(deltas: dict[date, list]) -> None:
    """Upsert monthly deltas: [invoiced, collected, unpaid_due, unpaid_count, awaiting_amount, awaiting_count]."""
    _upsert(MonthlyTotal, "month", MONTHLY_COLUMNS, deltas)


def add_to_days(deltas: dict[date, list]) -> None:
    """Upsert daily deltas: [unpaid_due, unpaid_count, collected].  Always after the months (the lock order)."""
    _upsert(DueDayTotal, "day", DAILY_COLUMNS, deltas)


def add_to_client_due_days(deltas: dict[tuple[int, date], list]) -> None:
    """Upsert per-(client, due day) deltas: [unpaid_due, unpaid_count].  Always after the days
    (the lock order)."""
    _upsert(ClientDueDayTotal, ("client_id", "due_day"), CLIENT_COLUMNS, deltas)


def by_due_day(client_changes: dict[tuple[int, date, date], Decimal]) -> dict[tuple[date, date], Decimal]:
    """Changes per (client, day, due day) summed per (due day, day)."""
    days: dict[tuple[date, date], Decimal] = defaultdict(lambda: ZERO)
    for (_, day, due_day), change in client_changes.items():
        days[(due_day, day)] += change
    return dict(days)


def by_due_month(changes: dict[tuple[date, date], Decimal]) -> dict[tuple[date, date], Decimal]:
    """Changes per (due day, day) summed per (due month, day), those that add up to nothing left out."""
    months: dict[tuple[date, date], Decimal] = defaultdict(lambda: ZERO)
    for (due_day, day), change in changes.items():
        months[(month_of(due_day), day)] += change
    return {key: change for key, change in months.items() if change}


def add_to_due_day_balances(changes: dict[tuple[date, date], Decimal]) -> None:
    """Add each (due day, day)'s change to the open balance of the due day on that day and every
    later day, and likewise to its due month's.  Always after the clients' due days (the lock
    order).  A day's row holds everything through that day, so a change adds to its day's row and
    to every later one: one transaction at a time per due month (an advisory lock per due month,
    taken in order, for the month's row and its due days' rows), or a row added meanwhile for a
    later day would miss this change."""
    if not changes:
        return
    if db.engine.dialect.name == "postgresql":
        for due_month in sorted({month_of(due_day) for due_day, _ in changes}):
            db.session.execute(
                text("SELECT pg_advisory_xact_lock(:space, :due_month)"),
                {"space": DUE_MONTH_BALANCE_LOCKS, "due_month": due_month.toordinal()},
            )
    _add_to_running_balances(DueDayBalance, "due_day", BalanceDueDay, changes)
    _add_to_running_balances(DueMonthBalance, "due_month", BalanceDueMonth, by_due_month(changes))


def _add_to_running_balances(model, key: str, listed, changes: dict[tuple[date, date], Decimal]) -> None:
    """Add each (key, day)'s change to the rows of ``model`` (running balances per ``key`` and day)
    for that day and every later one; a key's first row also lists it in ``listed``."""
    for (value, day), change in sorted(changes.items()):
        if _add_from_day_on(model.__table__, "open", day, change, ZERO, {key: value}):
            # Perhaps the key's first balance: list it (the report reads the list).
            db.session.execute(_insert(listed.__table__).values({key: value}).on_conflict_do_nothing())


def _add_from_day_on(table, column: str, day: date, change, zero, key: dict | None = None) -> bool:
    """Add ``change`` to ``column`` of ``table``'s running figure (of ``key``'s rows, if given) on
    ``day`` and every later day: a row holds the figure at the end of its day, so the day's row is
    first made from the last row before it (``zero`` if none).  Returns whether there was none."""
    same = [table.c[name] == value for name, value in (key or {}).items()]
    before = db.session.scalar(
        select(table.c[column]).where(*same, table.c.day < day).order_by(table.c.day.desc()).limit(1)
    )
    db.session.execute(
        _insert(table)
        .values({**(key or {}), "day": day, column: zero if before is None else before})
        .on_conflict_do_nothing()
    )
    db.session.execute(update(table).where(*same, table.c.day >= day).values({column: table.c[column] + change}))
    return before is None


def add_to_client_open_changes(changes: dict[tuple[int, date, date], Decimal]) -> None:
    """Add each (client, day, due day)'s change to client_open_changes.  Always after the due days'
    balances (the lock order)."""
    _upsert(ClientOpenChange, ("client_id", "day", "due_day"), ("change",), {k: [v] for k, v in changes.items()})


def owing_days(daily: dict[date, Decimal]) -> dict[date, bool]:
    """Whether a client owed something at the end of each day with a change, from their changes
    per day (``daily``): their open amount is the changes through the day."""
    owing, open_so_far = {}, ZERO
    for day, change in sorted(daily.items()):
        open_so_far += change
        owing[day] = open_so_far > ZERO
    return owing


def owing_count_changes(before: dict[date, bool], after: dict[date, bool]) -> dict[date, int]:
    """How the number of owing clients changes, per day from which it holds, when one client's
    owing days (``owing_days``) go from ``before`` to ``after``."""
    changes: dict[date, int] = {}
    was_before = was_after = False
    for day in sorted(set(before) | set(after)):
        now_before, now_after = before.get(day, was_before), after.get(day, was_after)
        change = (now_after - now_before) - (was_after - was_before)
        if change:
            changes[day] = change
        was_before, was_after = now_before, now_after
    return changes


def add_to_owing_counts(changes: dict[tuple[int, date, date], Decimal]) -> None:
    """Update owing_client_counts for the clients whose (client, day, due day) ``changes`` this
    transaction made, already in client_open_changes.  Always after them (the lock order): each
    client's changes are read under the client's advisory lock (so a concurrent transaction for
    the same client reads them with this one's committed), their owing days compared with what
    they were without this transaction's changes, and the difference added from each day on
    under one more lock (a day's row holds the number through that day, as the balances')."""
    if not changes:
        return
    postgresql = db.engine.dialect.name == "postgresql"
    mine: dict[int, dict[date, Decimal]] = defaultdict(_money_by_key)
    for (client_id, day, _), change in changes.items():
        mine[client_id][day] += change
    counts: dict[date, int] = defaultdict(int)
    table = ClientOpenChange
    for client_id in sorted(mine):
        if postgresql:
            db.session.execute(
                text("SELECT pg_advisory_xact_lock(:space, :client_id)"),
                {"space": CLIENT_OWING_LOCKS, "client_id": client_id},
            )
        daily = select(table.day, func.sum(table.change)).where(table.client_id == client_id)
        after: dict[date, Decimal] = {day: change for day, change in db.session.execute(daily.group_by(table.day))}
        before = dict(after)
        for day, change in mine[client_id].items():
            before[day] = before.get(day, ZERO) - change
        for day, number in owing_count_changes(owing_days(before), owing_days(after)).items():
            counts[day] += number
    _add_to_owing_counts({day: number for day, number in counts.items() if number})


def _add_to_owing_counts(counts: dict[date, int]) -> None:
    """Add each day's change in the number of owing clients to its row and every later one."""
    if not counts:
        return
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"), {"space": OWING_COUNT_LOCKS, "key": OWING_COUNT_LOCK}
        )
    for day, change in sorted(counts.items()):
        _add_from_day_on(OwingClientCount.__table__, "owing", day, change, 0)


def discard() -> None:
    """The transaction rolled back: forget the snapshots."""
    db.session.info.pop(SNAPSHOTS, None)
    db.session.info.pop(BEFORE_COMMIT, None)


# --- The totals recomputed from the rows (flask check compares, rebuild-totals replaces) ----------


def unpaid_installments_by_day() -> dict[date, list]:
    """Unpaid part and count of installments of open (issued, non-void) invoices, per due day."""
    open_invoice = and_(Invoice.issued_at.is_not(None), Invoice.voided_at.is_(None))
    return {
        day: [amount - paid, number]
        for day, amount, paid, number in db.session.execute(
            select(Installment.due_date, func.sum(Installment.amount), func.sum(Installment.paid_amount), func.count())
            .join(Invoice, Invoice.id == Installment.invoice_id)
            .where(open_invoice, Installment.paid_amount < Installment.amount)
            .group_by(Installment.due_date)
        )
    }


def _payments_by_day_and_state():
    """Confirmed and reported payments of issued invoices (void ones too), summed per day and state."""
    return db.session.execute(
        select(Payment.date, Payment.state, func.sum(Payment.amount), func.count())
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Payment.state.in_((CONFIRMED, REPORTED)), Invoice.issued_at.is_not(None))
        .group_by(Payment.date, Payment.state)
    )


def recomputed_months() -> dict[date, list]:
    """What monthly_totals should hold, in MONTHLY_COLUMNS order: issued non-void invoices by month
    of issue, confirmed payments by month paid, unpaid installments of open invoices by month due,
    reported payments by month paid.  Summed per day in SQL (portable), folded into months here."""
    months: dict[date, list] = defaultdict(lambda: [ZERO, ZERO, ZERO, 0, ZERO, 0])
    open_invoice = and_(Invoice.issued_at.is_not(None), Invoice.voided_at.is_(None))
    for day, total in db.session.execute(
        select(Invoice.issue_date, func.sum(Invoice.amount)).where(open_invoice).group_by(Invoice.issue_date)
    ):
        months[month_of(day)][0] += total
    for day, state, total, number in _payments_by_day_and_state():
        month = months[month_of(day)]
        if state == CONFIRMED:
            month[1] += total
        else:
            month[4] += total
            month[5] += number
    for day, (unpaid, number) in unpaid_installments_by_day().items():
        month = months[month_of(day)]
        month[2] += unpaid
        month[3] += number
    return dict(months)


def recomputed_days() -> dict[date, list]:
    """What due_day_totals should hold, in DAILY_COLUMNS order: the unpaid part and count of
    installments of open invoices per due day, confirmed payments (as monthly_totals.collected) per
    payment day."""
    days: dict[date, list] = defaultdict(lambda: [ZERO, 0, ZERO])
    for day, (unpaid, number) in unpaid_installments_by_day().items():
        days[day][0], days[day][1] = unpaid, number
    for day, state, total, _number in _payments_by_day_and_state():
        if state == CONFIRMED:
            days[day][2] = total
    return dict(days)


def recomputed_client_due_days() -> dict[tuple[int, date], list]:
    """What client_due_day_totals should hold, in CLIENT_COLUMNS order: the unpaid part and count
    of the installments of each client's open (issued, non-void) invoices per due day; (client,
    due day) pairs with none are left out (a stored row of zeros agrees with them)."""
    open_invoice = and_(Invoice.issued_at.is_not(None), Invoice.voided_at.is_(None))
    return {
        (client_id, due_day): [amount - paid, number]
        for client_id, due_day, amount, paid, number in db.session.execute(
            select(
                Invoice.client_id,
                Installment.due_date,
                func.sum(Installment.amount),
                func.sum(Installment.paid_amount),
                func.count(),
            )
            .select_from(Installment)
            .join(Invoice, Invoice.id == Installment.invoice_id)
            .where(open_invoice, Installment.paid_amount < Installment.amount)
            .group_by(Invoice.client_id, Installment.due_date)
        )
    }


def _opened_and_paid():
    """Every opening of an installment of an open (issued, non-void) invoice and every allocation
    of a confirmed payment to one, as (client_id, due_day, day, change) (see
    ``opened_and_paid_by_day``)."""
    fees = (
        select(LateFee.fee_installment_id.label("installment_id"), func.max(LateFee.charged_on).label("charged_on"))
        .where(LateFee.fee_installment_id.is_not(None))
        .group_by(LateFee.fee_installment_id)
        .subquery("fees")
    )
    billed = case((fees.c.charged_on > Invoice.issue_date, fees.c.charged_on), else_=Invoice.issue_date)
    open_invoice = (Invoice.issued_at.is_not(None), Invoice.voided_at.is_(None))
    opened = (
        select(
            Invoice.client_id,
            Installment.due_date.label("due_day"),
            type_coerce(billed, Date()).label("day"),
            Installment.amount.label("change"),
        )
        .join(Invoice, Invoice.id == Installment.invoice_id)
        .outerjoin(fees, fees.c.installment_id == Installment.id)
        .where(*open_invoice)
    )
    paid = (
        select(
            Invoice.client_id,
            Installment.due_date,
            type_coerce(case((Payment.date > billed, Payment.date), else_=billed), Date()),
            type_coerce(-Allocation.amount, Money()),
        )
        .select_from(Allocation)
        .join(Payment, Payment.id == Allocation.payment_id)
        .join(Installment, Installment.id == Allocation.installment_id)
        .join(Invoice, Invoice.id == Installment.invoice_id)
        .outerjoin(fees, fees.c.installment_id == Installment.id)
        .where(Payment.state == CONFIRMED, *open_invoice)
    )
    return union_all(opened, paid).subquery("changes")


def opened_and_paid_by_day():
    """What installments of open (issued, non-void) invoices due each day opened and what
    confirmed payments took off them, per (due day, day): a statement of (due_day, day, change).
    An installment opens on the day it is billed (its invoice's issue date, or the day its late
    fee was charged if later); an allocation takes effect on its payment's date, or on the
    installment's billing day if later (as ``Contribution.of``, summed over every invoice)."""
    changes = _opened_and_paid()
    return select(
        changes.c.due_day, changes.c.day, type_coerce(func.sum(changes.c.change), Money()).label("change")
    ).group_by(changes.c.due_day, changes.c.day)


def client_opened_and_paid():
    """What ``client_open_changes`` should hold: ``opened_and_paid_by_day`` per client, a statement
    of (client_id, day, due_day, change)."""
    changes = _opened_and_paid()
    return select(
        changes.c.client_id,
        changes.c.day,
        changes.c.due_day,
        type_coerce(func.sum(changes.c.change), Money()).label("change"),
    ).group_by(changes.c.client_id, changes.c.day, changes.c.due_day)


def owing_counts(client_changes) -> dict[date, int]:
    """What ``owing_client_counts`` should hold, from every (client_id, day, change) of
    ``client_changes`` (any order, a day repeated): the number of clients owing at the end of
    each day on which it changed."""
    by_client: dict[int, dict[date, Decimal]] = defaultdict(_money_by_key)
    for client_id, day, change in client_changes:
        by_client[client_id][day] += change
    changes: dict[date, int] = defaultdict(int)
    for daily in by_client.values():
        for day, change in owing_count_changes({}, owing_days(daily)).items():
            changes[day] += change
    counts, owing = {}, 0
    for day, change in sorted(changes.items()):
        if change:
            owing += change
            counts[day] = owing
    return counts


def running_balances(changes: dict[tuple[date, date], Decimal]) -> dict[tuple[date, date], Decimal]:
    """For each (key, day) with a change, what is open at the end of that day: the key's changes
    through it."""
    balances: dict[tuple[date, date], Decimal] = {}
    open_so_far: dict[date, Decimal] = {}
    for (key, day), change in sorted(changes.items()):
        open_so_far[key] = open_so_far.get(key, ZERO) + change
        balances[(key, day)] = open_so_far[key]
    return balances


def recomputed_due_balances() -> tuple[dict[tuple[date, date], Decimal], dict[tuple[date, date], Decimal]]:
    """What due_day_balances and due_month_balances should hold: for each due day (and due month)
    and each day on which something opened or paid its installments, what was open at the end of
    that day (the changes through it)."""
    statement = opened_and_paid_by_day().subquery("by_day")
    changes = {
        (due_day, day): change
        for due_day, day, change in db.session.execute(select(statement.c.due_day, statement.c.day, statement.c.change))
    }
    return running_balances(changes), running_balances(by_due_month(changes))


def rebuild_totals() -> tuple[int, int, int, int, int, int, int]:
    """Replace monthly_totals, due_day_totals, client_due_day_totals, due_day_balances and
    due_month_balances (with their lists of due days and months, balance_due_days and
    balance_due_months), client_open_changes and owing_client_counts by their recomputation from
    the rows, in the caller's transaction; returns the number of monthly, daily, client due-day,
    due-day balance, due-month balance, client change and owing count rows written.
    On PostgreSQL the tables are locked first: a change to the books in flight adds its difference
    after this commits, on top of totals that do not include it yet."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text(
                "LOCK TABLE monthly_totals, due_day_totals, client_due_day_totals, "
                "due_day_balances, balance_due_days, due_month_balances, balance_due_months, client_open_changes, "
                "owing_client_counts IN EXCLUSIVE MODE"
            )
        )
    months, days = recomputed_months(), recomputed_days()
    client_days = recomputed_client_due_days()
    balances, month_balances = recomputed_due_balances()
    db.session.execute(delete(MonthlyTotal))
    db.session.execute(delete(DueDayTotal))
    db.session.execute(delete(ClientDueDayTotal))
    db.session.execute(delete(DueDayBalance))
    db.session.execute(delete(BalanceDueDay))
    db.session.execute(delete(DueMonthBalance))
    db.session.execute(delete(BalanceDueMonth))
    if months:
        db.session.execute(
            insert(MonthlyTotal),
            [
                {"month": month, **dict(zip(MONTHLY_COLUMNS, values, strict=True))}
                for month, values in sorted(months.items())
            ],
        )
    if days:
        db.session.execute(
            insert(DueDayTotal),
            [{"day": day, **dict(zip(DAILY_COLUMNS, values, strict=True))} for day, values in sorted(days.items())],
        )
    client_day_rows = [
        {"client_id": client_id, "due_day": due_day, **dict(zip(CLIENT_COLUMNS, values, strict=True))}
        for (client_id, due_day), values in sorted(client_days.items())
    ]
    for start in range(0, len(client_day_rows), BULK_ROWS):
        db.session.execute(insert(ClientDueDayTotal), client_day_rows[start : start + BULK_ROWS])
    _insert_running_balances(DueDayBalance, "due_day", BalanceDueDay, balances)
    _insert_running_balances(DueMonthBalance, "due_month", BalanceDueMonth, month_balances)
    # The clients' changes in one INSERT ... SELECT (hundreds of thousands of rows on large books).
    db.session.execute(delete(ClientOpenChange))
    db.session.execute(delete(OwingClientCount))
    changes = client_opened_and_paid().subquery("changes")
    db.session.execute(
        insert(ClientOpenChange).from_select(
            ["client_id", "day", "due_day", "change"],
            select(changes.c.client_id, changes.c.day, changes.c.due_day, changes.c.change).where(
                changes.c.change != ZERO
            ),
        )
    )
    client_changes = db.session.scalar(select(func.count()).select_from(ClientOpenChange)) or 0
    table = ClientOpenChange.__table__
    counts = owing_counts(
        db.session.execute(
            select(table.c.client_id, table.c.day, func.sum(table.c.change)).group_by(table.c.client_id, table.c.day)
        )
    )
    if counts:
        db.session.execute(insert(OwingClientCount), [{"day": day, "owing": n} for day, n in sorted(counts.items())])
    return (
        len(months),
        len(days),
        len(client_days),
        len(balances),
        len(month_balances),
        client_changes,
        len(counts),
    )


def _insert_running_balances(model, key: str, listed, balances: dict[tuple[date, date], Decimal]) -> None:
    """Write running balances per (key, day) into ``model`` and their keys into ``listed``."""
    rows = [{key: value, "day": day, "open": open_} for (value, day), open_ in sorted(balances.items())]
    for start in range(0, len(rows), BULK_ROWS):
        db.session.execute(insert(model), rows[start : start + BULK_ROWS])
    keys = sorted({value for value, _ in balances})
    if keys:
        db.session.execute(insert(listed), [{key: value} for value in keys])
