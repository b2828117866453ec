"""Accounting periods: the owner closes months, in order, and nothing posts into a closed one
(``ledger.post`` posts an event dated in a closed month in the open period instead, naming the
month it corrects).  Only the last closed month reopens, with a reason.  Both are audited.

A period is a calendar month; ``closed_periods`` holds a row per closed month.  Because months
close in order and reopen from the last, the closed months are always every month up to the last
closed one (a lock date, as Odoo and ERPNext call it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, func, select, text

from .. import audit
from ..audit import Actor
from ..database import write_transaction
from ..extensions import db
from ..models import Account, AccountBalance, ClosedPeriod
from .services import BillingError

ZERO = Decimal("0.00")


class PeriodRefused(BillingError):
    """The month cannot be closed or reopened (not ended yet, already closed, not the last closed)."""


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def last_closed_month() -> date | None:
    return db.session.scalar(select(func.max(ClosedPeriod.month)))


def lock_posting() -> None:
    """Wait for every transaction that is numbering an entry, and keep new ones waiting until this
    one ends: an entry is then either posted before the closing or sees it (ledger.post reads the
    periods after locking its journal's counter).  SQLite's BEGIN IMMEDIATE already serialises."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE journal_counters IN EXCLUSIVE MODE"))


def close_through(actor: Actor, month: date, today: date) -> list[date]:
    """Close ``month`` and every open month before it (from the first month with entries, or from
    the month after the last closed one); the months closed, oldest first.  A month that has not
    ended (this month, a later one) cannot be closed: today's entries post into it."""
    month = month_of(month)
    if month >= month_of(today):
        raise PeriodRefused(f"{month:%B %Y} has not ended: only a past month can be closed.", "month")
    with write_transaction():
        lock_posting()
        last = last_closed_month()
        if last is not None and month <= last:
            raise PeriodRefused(f"{month:%B %Y} is already closed.", "month")
        if last is not None:
            first = next_month(last)
        else:
            earliest = db.session.scalar(select(func.min(AccountBalance.month)))
            first = min(earliest, month) if earliest is not None else month
        months = []
        current = first
        while current <= month:
            months.append(current)
            current = next_month(current)
        db.session.add_all(ClosedPeriod(month=each, closed_by_id=actor.user_id) for each in months)
        audit.record(
            actor,
            "ledger.period_closed",
            detail=f"{months[0]:%Y-%m}" + (f" to {months[-1]:%Y-%m}" if len(months) > 1 else ""),
        )
    return months


def reopen(actor: Actor, month: date, reason: str) -> None:
    """Reopen the last closed month (only that one: months reopen in the reverse order they closed)."""
    month = month_of(month)
    reason = (reason or "").strip()
    if not reason:
        raise PeriodRefused("Say why the month is reopened.", "reason")
    if len(reason) > 500:
        raise PeriodRefused("The reason is too long (500 characters at most).", "reason")
    with write_transaction():
        lock_posting()
        last = last_closed_month()
        if last is None or month != last:
            raise PeriodRefused(
                f"Only the last closed month ({last:%B %Y}) can be reopened." if last else "No month is closed.",
                "month",
            )
        db.session.execute(delete(ClosedPeriod).where(ClosedPeriod.month == month))
        audit.record(actor, "ledger.period_reopened", detail=f"{month:%Y-%m}: {reason}")


@dataclass(frozen=True)
class PeriodRow:
    month: date
    closed: bool
    ended: bool  # the month is over (it may be closed)
    debits: Decimal  # everything posted in the month (debits = credits)
    income: Decimal  # income accounts, credits less debits (sales less returns, fees)


@dataclass(frozen=True)
class PeriodPage:
    rows: list[PeriodRow]
    last_closed: date | None
    page: int
    pages: int


PER_PAGE = 24


def period_page(today: date, page: int = 1) -> PeriodPage:
    """The months from the first with entries to this one, newest first, a page at a time, with
    what was posted in each (from the running balances: one aggregate query per page)."""
    current = month_of(today)
    earliest = db.session.scalar(select(func.min(AccountBalance.month)))
    last = last_closed_month()
    first = min(m for m in (earliest, last, current) if m is not None)
    count = (current.year - first.year) * 12 + current.month - first.month + 1
    pages = max(1, -(-count // PER_PAGE))
    page = min(max(page, 1), pages)
    newest = current
    for _ in range((page - 1) * PER_PAGE):
        newest = previous_month(newest)
    months: list[date] = []
    each = newest
    while len(months) < PER_PAGE and each >= first:
        months.append(each)
        each = previous_month(each)
    income = func.sum(AccountBalance.credit - AccountBalance.debit).filter(Account.type == "income")
    totals = {
        month: (Decimal(debits or 0), Decimal(net or 0))
        for month, debits, net in db.session.execute(
            select(AccountBalance.month, func.sum(AccountBalance.debit), income)
            .join(Account, Account.id == AccountBalance.account_id)
            .where(AccountBalance.month >= months[-1], AccountBalance.month <= months[0])
            .group_by(AccountBalance.month)
        )
    }
    rows = [
        PeriodRow(
            month=month,
            closed=last is not None and month <= last,
            ended=month < current,
            debits=totals.get(month, (ZERO, ZERO))[0],
            income=totals.get(month, (ZERO, ZERO))[1],
        )
        for month in months
    ]
    return PeriodPage(rows=rows, last_closed=last, page=page, pages=pages)
