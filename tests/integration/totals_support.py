"""The dashboard's figures two ways, for the running-totals tests (test_running_totals*.py): read
from the running totals as the dashboard reads them, and counted from every row."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from backoffice_support import TODAY, fresh
from sqlalchemy import select

from ais.backoffice import queries
from ais.billing.checks import (
    _check_client_due_day_totals,
    _check_client_open_changes,
    _check_due_day_balances,
    _check_due_day_totals,
    _check_monthly_totals,
    _check_owing_client_counts,
)
from ais.models import REPORTED, Installment, Invoice, Payment

ZERO = Decimal("0.00")


def figures_from_scratch(today: date, days: int = 30) -> dict:
    """The dashboard's cards counted from every row, the slow and obvious way."""
    session = fresh()
    invoices = {i.id: i for i in session.scalars(select(Invoice))}
    payments = list(session.scalars(select(Payment)))
    open_ids = {i.id for i in invoices.values() if not i.is_draft and not i.is_void}
    unpaid = [
        (i.due_date, i.amount - i.paid_amount)
        for i in session.scalars(select(Installment))
        if i.invoice_id in open_ids and i.paid_amount < i.amount
    ]
    horizon = today + timedelta(days=days)
    reported = [p.amount for p in payments if p.state == REPORTED]
    return {
        "invoiced": sum((invoices[i].amount for i in open_ids), ZERO),
        "collected": sum(
            (p.amount for p in payments if p.state == "confirmed" and not invoices[p.invoice_id].is_draft), ZERO
        ),
        "outstanding": sum((amount for _, amount in unpaid), ZERO),
        "overdue": (sum((a for d, a in unpaid if d < today), ZERO), sum(1 for d, _ in unpaid if d < today)),
        "due_soon": (
            sum((a for d, a in unpaid if today <= d <= horizon), ZERO),
            sum(1 for d, _ in unpaid if today <= d <= horizon),
        ),
        "awaiting": (sum(reported, ZERO), len(reported)),
    }


def figures_from_totals(today: date) -> dict:
    fresh()
    shown = queries.dashboard_figures(today)
    return {
        "invoiced": shown.invoiced,
        "collected": shown.collected,
        "outstanding": shown.outstanding,
        "overdue": (shown.overdue_amount, shown.overdue_count),
        "due_soon": (shown.due_soon_amount, shown.due_soon_count),
        "awaiting": (shown.awaiting_amount, shown.awaiting_count),
    }


def assert_totals_agree(today: date = TODAY) -> None:
    fresh()
    assert _check_monthly_totals() == []
    assert _check_due_day_totals() == []
    assert _check_client_due_day_totals() == []
    assert _check_due_day_balances() == []
    assert _check_client_open_changes() == []
    assert _check_owing_client_counts() == []
    assert figures_from_totals(today) == figures_from_scratch(today)
    assert queries.awaiting_confirmation_count() == figures_from_scratch(today)["awaiting"][1]
