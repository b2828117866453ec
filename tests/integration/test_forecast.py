"""The collections forecast (/forecast): what the schedules expect by month and by week against
what was collected, from the running totals; the drill-down by client."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from portal_support import ACTOR, OWNER, TODAY, make_client, make_invoice, make_user, pay, sign_in, text_of

from ais.billing import services
from ais.collections.queries import expected_by_client, forecast

D = Decimal


@pytest.fixture
def plans(books):
    ann = make_client("Ann Cruz", "ann@example.com")
    ben = make_client("Ben Santos", "ben@example.com")
    # Ann: 3 monthly installments of 100.00 due 1 Mar (overdue), 1 Apr, 1 May; 150.00 paid on 10 Mar.
    plan = make_invoice(ann, "300.00", issued=date(2026, 2, 1), due=date(2026, 3, 1), count=3)
    pay(plan, "150.00", on=date(2026, 3, 10))
    # Ben: 400.00 due 20 Mar (this week is 16-22 Mar), and a void invoice that counts for nothing.
    make_invoice(ben, "400.00", issued=date(2026, 3, 1), due=date(2026, 3, 20))
    void = make_invoice(ben, "999.00", issued=date(2026, 3, 1), due=date(2026, 3, 20))
    services.void_invoice(ACTOR, void, "Raised twice")
    return ann, ben


def test_months_and_weeks_show_collected_and_what_falls_due_unpaid(plans):
    found = forecast(TODAY)
    months = {row.start: row for row in found.months}
    assert months[date(2026, 3, 1)].collected == D("150.00")
    assert months[date(2026, 3, 1)].unpaid_due == D("400.00")  # Ben's; Ann's March installment is paid
    assert months[date(2026, 4, 1)].unpaid_due == D("50.00")  # Ann's April, half paid
    assert months[date(2026, 5, 1)].unpaid_due == D("100.00")
    assert [row.start for row in found.months][0] == date(2025, 9, 1) and len(found.months) == 13
    weeks = {row.start: row for row in found.weeks}
    assert weeks[date(2026, 3, 16)].is_current and weeks[date(2026, 3, 16)].unpaid_due == D("400.00")
    assert weeks[date(2026, 3, 9)].collected == D("150.00")
    assert found.overdue == D("0.00")  # nothing due before today is unpaid


def test_overdue_money_is_counted_once(plans, freeze_today):
    found = forecast(date(2026, 4, 10))
    assert found.overdue == D("450.00")  # Ben's 400.00 (20 Mar) and Ann's 50.00 (1 Apr)


def test_the_drill_down_lists_clients_with_money_due_in_the_period(plans):
    pagination, rows = expected_by_client(date(2026, 3, 1), date(2026, 4, 30), page=1)
    assert [(r.client_name, r.installments, r.unpaid_due) for r in rows] == [
        ("Ann Cruz", 1, D("50.00")),
        ("Ben Santos", 1, D("400.00")),
    ]
    assert pagination.total == 2


def test_the_pages_show_the_forecast_and_refuse_a_bad_period(app, actions, plans):
    make_user(*OWNER)
    sign_in(actions, OWNER)
    html = text_of(actions.client.get("/forecast"))
    assert "Collections forecast" in html and "₱400.00" in html and "is-forecast" in html
    link = re.search(r'href="(/forecast/clients\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert "Expected by client" in text_of(actions.client.get(link))
    assert "/forecast" in text_of(actions.client.get("/dashboard"))
    for query in (
        "",
        "?from=2026-03-01",
        "?from=x&to=2026-03-31",
        "?from=2026-04-01&to=2026-03-01",
        "?from=2020-01-01&to=2026-01-01",
    ):
        assert actions.client.get("/forecast/clients" + query).status_code == 400, query


def test_the_forecast_reads_running_totals_never_the_payments(plans):
    """The weeks' "collected" comes from the running totals per day (``due_day_totals.collected``,
    confirmed payments by payment day) like the months' from ``monthly_totals``: no statement of the
    forecast reads the payments, whose weeks grow with the business; what it shows still equals
    the payments themselves."""
    from sqlalchemy import event, func, select

    from ais.extensions import db
    from ais.models import CONFIRMED, Payment

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    later = make_invoice(plans[1], "80.00", issued=date(2026, 3, 2))
    pay(later, "30.00", on=date(2026, 3, 12))
    pay(later, "20.00", on=TODAY)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        found = forecast(TODAY)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    statements = [statement for statement in statements if statement.startswith("SELECT")]
    assert len(statements) == 2  # the months (with the overdue before this month), the days
    assert not [statement for statement in statements if "payments" in statement]
    for week in found.weeks:
        paid = db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.state == CONFIRMED, Payment.date.between(week.start, min(week.end, TODAY))
            )
        )
        assert week.collected == D(paid), week
    weeks = {row.start: row for row in found.weeks}
    assert weeks[date(2026, 3, 9)].collected == D("180.00")  # Ann's 150.00 and Ben's 30.00
    assert weeks[date(2026, 3, 16)].collected == D("20.00")
