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


def test_the_collected_figure_reads_a_range_of_the_payments_by_state_and_date(plans):
    """The weeks' "collected" reads the confirmed payments of the forecast's window only, as a
    range of an index on the payment date (ix_payments_state_date), never every payment; the months' comes from
    the running totals.  The plan is asked with sequential scans discouraged (the test books
    are too small for the planner to prefer an index on its own)."""
    from sqlalchemy import event

    from ais.extensions import db

    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM payments" in statement and "sum(payments.amount)" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        forecast(TODAY)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) == 1
    statement, parameters = seen[0]
    connection = db.session.connection()
    raw = connection.connection.driver_connection
    cursor = raw.cursor()
    if connection.dialect.name == "postgresql":
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        # (state, date) or (date, id): either reads the window's range of dates, nothing more.
        assert re.search(r"Index (Only )?Scan using ix_payments_(state_date|date_id)", plan), plan
        assert re.search(r"Index Cond: .*date >= .*date <= ", plan), plan
    else:
        cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
        assert "ix_payments_state_date" in plan and "date>? AND date<?" in plan, plan
    db.session.rollback()
