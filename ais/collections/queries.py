"""Reads for the collections pages: each function returns what one page shows (ais.billing.aging
does the sums in SQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Date, bindparam, func, select, type_coerce

from ..billing import aging, promises
from ..billing.reads import MAX_ID
from ..billing.rules import add_months
from ..db_types import Money
from ..extensions import db
from ..models import Client, DueDayTotal, Installment, Invoice, LateFee, MonthlyTotal, PlanProposal
from ..pagination import CappedStatementPagination, StatementPagination, page_statements, paginate_statement

PER_PAGE = 25
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class AgingPage:
    as_of: dt.date
    pagination: CappedStatementPagination
    rows: list[aging.ClientAging]
    totals: aging.Aging
    promises: dict[int, promises.Promise]  # by client id: the promise to pay shown beside them


def aging_page(as_of: dt.date, page: int) -> AgingPage:
    """The aging report: a page of clients by name (their number capped at 1,000+), their buckets
    with the totals (from the running open balances per due day), and the page's clients' promises
    to pay as they stood on ``as_of`` (three statements, none reading every client's installments)."""
    pagination, rows, totals = aging.aging_report_page(as_of, page=page, per_page=PER_PAGE)
    shown = promises.promises_shown_on([row.client_id for row in rows], as_of)
    return AgingPage(as_of, pagination, rows, totals, shown)


@dataclass(frozen=True)
class ClientAgingPage:
    as_of: dt.date
    client_id: int
    client_name: str
    items: list[aging.OpenItem]
    totals: aging.Aging


def client_aging_page(client_id: int, as_of: dt.date) -> ClientAgingPage | None:
    """One client's open installments on ``as_of`` (the drill-down); None if there is no such client."""
    if not 0 < client_id <= MAX_ID:
        return None
    name = db.session.scalar(select(Client.name).where(Client.id == client_id))
    if name is None:
        return None
    items = aging.client_open_items(client_id, as_of)
    return ClientAgingPage(as_of, client_id, name, items, aging.Aging.of(items))


# --- The collections forecast -------------------------------------------------------------------

FORECAST_MONTHS_BACK = 6
FORECAST_MONTHS_AHEAD = 6
FORECAST_WEEKS_BACK = 4
FORECAST_WEEKS_AHEAD = 8


@dataclass(frozen=True)
class ForecastRow:
    """One week or month: what was collected in it (confirmed payments by payment date) and what
    of the installments due in it is unpaid (for a period ahead: what the schedules expect)."""

    start: dt.date
    end: dt.date  # the last day
    collected: Decimal
    unpaid_due: Decimal
    is_past: bool
    is_current: bool


@dataclass(frozen=True)
class Forecast:
    today: dt.date
    overdue: Decimal  # due before today and unpaid
    months: list[ForecastRow]
    weeks: list[ForecastRow]

    @property
    def chart_series(self) -> list[tuple[dt.date, Decimal]]:
        """The chart's bars: collected in each past month, then what falls due unpaid."""
        return [(row.start, row.collected if row.is_past else row.unpaid_due) for row in self.months]


def forecast(today: dt.date) -> Forecast:
    """The forecast page: months and weeks around today from the running totals (``monthly_totals``
    by month, ``due_day_totals`` by day: unpaid installments by due day, confirmed payments by
    payment day).  Two statements, each reading a bounded number of rows: every month up to the
    last shown (one row a month of the business's life), whose unpaid due before this month is
    the overdue figure's start, and the days of the weeks shown."""
    this_month = today.replace(day=1)
    first_month = add_months(this_month, -FORECAST_MONTHS_BACK)
    last_month = add_months(this_month, FORECAST_MONTHS_AHEAD)
    monthly = {}
    overdue_before_month = ZERO
    for totals in db.session.execute(
        select(MonthlyTotal.month, MonthlyTotal.collected, MonthlyTotal.unpaid_due).where(
            MonthlyTotal.month <= last_month
        )
    ):
        if totals.month >= first_month:
            monthly[totals.month] = totals
        if totals.month < this_month:
            overdue_before_month += totals.unpaid_due
    this_week = today - dt.timedelta(days=today.weekday())  # Monday
    first_week = this_week - dt.timedelta(weeks=FORECAST_WEEKS_BACK)
    after_last_week = this_week + dt.timedelta(weeks=FORECAST_WEEKS_AHEAD + 1)
    unpaid_by_day: dict[dt.date, Decimal] = {}
    collected_by_day: dict[dt.date, Decimal] = {}
    for day, unpaid_due, collected in db.session.execute(
        select(DueDayTotal.day, DueDayTotal.unpaid_due, DueDayTotal.collected).where(
            DueDayTotal.day >= first_week, DueDayTotal.day < after_last_week
        )
    ):
        unpaid_by_day[day] = unpaid_due
        if day <= today:  # (payments dated ahead are not collected yet)
            collected_by_day[day] = collected
    overdue = overdue_before_month + sum(
        (amount for day, amount in unpaid_by_day.items() if this_month <= day < today), ZERO
    )
    months = []
    for k in range(-FORECAST_MONTHS_BACK, FORECAST_MONTHS_AHEAD + 1):
        start = add_months(this_month, k)
        row = monthly.get(start)
        months.append(
            ForecastRow(
                start=start,
                end=add_months(start, 1) - dt.timedelta(days=1),
                collected=row.collected if row else ZERO,
                unpaid_due=row.unpaid_due if row else ZERO,
                is_past=k < 0,
                is_current=k == 0,
            )
        )
    weeks = []
    for k in range(-FORECAST_WEEKS_BACK, FORECAST_WEEKS_AHEAD + 1):
        start = this_week + dt.timedelta(weeks=k)
        days = [start + dt.timedelta(days=d) for d in range(7)]
        weeks.append(
            ForecastRow(
                start=start,
                end=days[-1],
                collected=sum((collected_by_day.get(day, ZERO) for day in days), ZERO),
                unpaid_due=sum((unpaid_by_day.get(day, ZERO) for day in days), ZERO),
                is_past=k < 0,
                is_current=k == 0,
            )
        )
    return Forecast(today=today, overdue=overdue, months=months, weeks=weeks)


@dataclass(frozen=True)
class ExpectedByClient:
    client_id: int
    client_name: str
    installments: int
    unpaid_due: Decimal


def expected_by_client(start: dt.date, end: dt.date, page: int) -> tuple[StatementPagination, list[ExpectedByClient]]:
    """The forecast's drill-down: per client (by name), the unpaid part of their installments due
    from ``start`` to ``end``, on issued, non-void invoices.  One statement, reading the unpaid
    installments of those days from their partial index."""
    pagination = paginate_statement(_EXPECTED_BY_CLIENT, {"start": start, "end": end}, page=page, per_page=PER_PAGE)
    rows = [ExpectedByClient(r.client_id, r.name, int(r.installments), r.unpaid_due) for r in pagination.items]
    return pagination, rows


_EXPECTED_BY_CLIENT = page_statements(
    select(
        Client.id.label("client_id"),
        Client.name,
        func.count(Installment.id).label("installments"),
        type_coerce(func.sum(Installment.amount - Installment.paid_amount), Money()).label("unpaid_due"),
    )
    .select_from(Installment)
    .join(Invoice, Invoice.id == Installment.invoice_id)
    .join(Client, Client.id == Invoice.client_id)
    .where(
        Installment.paid_amount < Installment.amount,
        Installment.due_date >= bindparam("start", type_=Date),
        Installment.due_date <= bindparam("end", type_=Date),
        Invoice.issued_at.is_not(None),
        Invoice.voided_at.is_(None),
    )
    .group_by(Client.id, Client.name)
    .order_by(func.lower(Client.name), Client.id)
)


def late_fee_invoice(fee_id: int) -> int | None:
    """The invoice of a late fee (None when there is no such fee)."""
    return db.session.scalar(select(LateFee.invoice_id).where(LateFee.id == fee_id))


def proposal_invoice(proposal_id: int) -> int | None:
    """The invoice of a plan proposal (None when there is no such proposal)."""
    return db.session.scalar(select(PlanProposal.invoice_id).where(PlanProposal.id == proposal_id))


def client_invoice(client_id: int, invoice_id: int) -> int | None:
    """The id of the client's own issued invoice (None for anyone else's, a draft or nothing)."""
    return db.session.scalar(
        select(Invoice.id).where(
            Invoice.id == invoice_id, Invoice.client_id == client_id, Invoice.issued_at.is_not(None)
        )
    )
