"""Monthly running totals (``monthly_totals``), kept in step with every change to an invoice.

When the service layer locks an invoice it takes a snapshot of what the invoice adds to the
monthly totals (its amount in its month of issue, its confirmed payments by month, its unpaid
installments by due month); just before the transaction commits it takes the snapshot again and
adds the difference.  Every write path goes through ``_lock_invoice``, so none can forget it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..extensions import db
from ..models import CONFIRMED, Invoice, MonthlyTotal, Payment

ZERO = Decimal("0.00")
BEFORE_COMMIT = "ais_before_commit"
SNAPSHOTS = "ais_monthly_snapshots"


def month_of(day: date) -> date:
    return day.replace(day=1)


@dataclass
class Contribution:
    """What one invoice adds to each month's totals."""

    invoiced: dict = field(default_factory=lambda: defaultdict(lambda: ZERO))
    collected: dict = field(default_factory=lambda: defaultdict(lambda: ZERO))
    unpaid_due: dict = field(default_factory=lambda: defaultdict(lambda: ZERO))
    unpaid_count: dict = field(default_factory=lambda: defaultdict(int))

    @classmethod
    def of(cls, invoice: Invoice) -> "Contribution":
        result = cls()
        if invoice.is_draft:
            return result
        confirmed = db.session.execute(
            select(Payment.date, Payment.amount).where(Payment.invoice_id == invoice.id, Payment.state == CONFIRMED)
        )
        for paid_on, amount in confirmed:
            result.collected[month_of(paid_on)] += amount
        if invoice.is_void:
            return result
        result.invoiced[month_of(invoice.issue_date)] += invoice.amount
        for installment in invoice.installments:
            if installment.paid_amount < installment.amount:
                month = month_of(installment.due_date)
                result.unpaid_due[month] += installment.amount - installment.paid_amount
                result.unpaid_count[month] += 1
        return result


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


def post_changes() -> None:
    """Add each tracked invoice's change in contribution to the monthly totals."""
    session = db.session
    snapshots = session.info.pop(SNAPSHOTS, {})
    session.flush()
    deltas: dict[date, list] = defaultdict(lambda: [ZERO, ZERO, ZERO, 0])
    for invoice, before in snapshots.values():
        after = Contribution.of(invoice)
        for index, name in enumerate(("invoiced", "collected", "unpaid_due", "unpaid_count")):
            old, new = getattr(before, name), getattr(after, name)
            for month in set(old) | set(new):
                deltas[month][index] += new.get(month, 0) - old.get(month, 0)
    add_to_months({month: values for month, values in deltas.items() if any(values)})


def add_to_months(deltas: dict[date, list]) -> None:
    """Upsert the deltas, months in ascending order (a fixed lock order: no deadlocks)."""
    if not deltas:
        return
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    table = MonthlyTotal.__table__
    for month in sorted(deltas):
        invoiced, collected, unpaid_due, unpaid_count = deltas[month]
        statement = insert(table).values(month=month, invoiced=invoiced, collected=collected,
                                         unpaid_due=unpaid_due, unpaid_count=unpaid_count)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.month],
            set_={
                "invoiced": table.c.invoiced + statement.excluded.invoiced,
                "collected": table.c.collected + statement.excluded.collected,
                "unpaid_due": table.c.unpaid_due + statement.excluded.unpaid_due,
                "unpaid_count": table.c.unpaid_count + statement.excluded.unpaid_count,
            },
        )
        db.session.execute(statement)


def discard() -> None:
    """The transaction rolled back: forget the snapshots."""
    db.session.info.pop(SNAPSHOTS, None)
    db.session.info.pop(BEFORE_COMMIT, None)
