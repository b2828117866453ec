"""The running totals (monthly_totals, due_day_totals) equal a recomputation from the rows after
every kind of change: a payment reported, confirmed, rejected, recorded, voided, paid online or
refunded; an invoice drafted, issued, deleted, re-planned or voided.  The dashboard and the
navbar badge read only these totals, so they are compared with figures counted from scratch."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from backoffice_support import ACTOR, DAY, TODAY, fresh, make_client, make_invoice, pay, report
from sqlalchemy import delete, func, select
from totals_support import assert_totals_agree, figures_from_scratch, figures_from_totals

from ais.backoffice import queries
from ais.billing import services
from ais.billing.checks import find_problems
from ais.extensions import db
from ais.models import ClientOpenChange, DueDayTotal, MonthlyTotal, OwingClientCount

ZERO = Decimal("0.00")
pytestmark = pytest.mark.usefixtures("books")


@pytest.fixture
def plan(books):
    """900.00 in 3 monthly installments: one due last month, one earlier this month, one next month."""
    ann = make_client("Ann Cruz", email="ann@example.com")
    return make_invoice(ann, "900.00", issued=date(2026, 2, 1), due=date(2026, 2, 15), count=3)


def test_every_payment_change_keeps_the_totals(plan):
    assert_totals_agree()
    reported = report(plan, "300.00")
    assert figures_from_totals(TODAY)["awaiting"] == (Decimal("300.00"), 1)
    assert_totals_agree()
    services.confirm_payment(ACTOR, reported)
    assert figures_from_totals(TODAY)["awaiting"] == (ZERO, 0)
    assert_totals_agree()
    rejected = report(plan, "100.00", on=TODAY - 40 * DAY)  # in last month: another month's row
    assert_totals_agree()
    services.reject_payment(ACTOR, rejected, "Not received")
    assert_totals_agree()
    recorded = pay(plan, "250.00")
    assert_totals_agree()
    services.void_payment(ACTOR, recorded, "Bounced")
    assert_totals_agree()


def test_re_planning_moves_the_unpaid_days(plan):
    pay(plan, "150.00")  # half of the first installment
    report(plan, "50.00")
    assert_totals_agree()
    services.replan_invoice(ACTOR, plan, 4, "weekly", TODAY + 3 * DAY)
    assert_totals_agree()
    # The dashboard's window follows the new due days (all four within 30 days).
    assert figures_from_totals(TODAY)["due_soon"][1] == 4


def test_voiding_an_invoice_rejects_its_reported_payments_and_drops_its_totals(plan):
    report(plan, "200.00")
    assert_totals_agree()
    services.void_invoice(ACTOR, plan, "Issued in error")
    assert figures_from_totals(TODAY)["awaiting"] == (ZERO, 0)
    assert figures_from_totals(TODAY)["outstanding"] == ZERO
    assert_totals_agree()


def test_drafts_count_only_once_issued_and_deleting_one_changes_nothing():
    ben = make_client("Ben Ong", email="ben@example.com")
    draft = make_invoice(ben, "500.00", issue=False, due=TODAY + 5 * DAY)
    assert_totals_agree()
    assert figures_from_totals(TODAY)["invoiced"] == ZERO
    services.issue_invoice(ACTOR, draft)
    assert figures_from_totals(TODAY)["due_soon"] == (Decimal("500.00"), 1)
    assert_totals_agree()
    other = make_invoice(ben, "70.00", issue=False)
    services.delete_draft(ACTOR, other)
    assert_totals_agree()


def test_the_day_windows_are_exact_at_their_edges():
    """Due today counts as due soon (not overdue); due on the horizon counts; a day after does not."""
    ann = make_client("Ann Cruz", email="ann@example.com")
    for due, amount in ((TODAY - DAY, "1.00"), (TODAY, "2.00"), (TODAY + 30 * DAY, "4.00"), (TODAY + 31 * DAY, "8.00")):
        make_invoice(ann, amount, issued=TODAY - 60 * DAY, due=due)
    shown = figures_from_totals(TODAY)
    assert shown["overdue"] == (Decimal("1.00"), 1)
    assert shown["due_soon"] == (Decimal("6.00"), 2)
    assert_totals_agree()
    # Another day, the same rows: the windows move, the totals need no update.
    assert_totals_agree(TODAY + 15 * DAY)
    assert_totals_agree(date(2026, 5, 1))


def test_check_names_the_first_wrong_rows(plan):
    report(plan, "300.00")
    first_due = fresh().scalar(select(DueDayTotal.day).order_by(DueDayTotal.day))
    db.session.execute(MonthlyTotal.__table__.update().values(awaiting_count=MonthlyTotal.awaiting_count + 1))
    db.session.execute(
        DueDayTotal.__table__.update()
        .where(DueDayTotal.day == first_due)
        .values(unpaid_count=DueDayTotal.unpaid_count + 5)
    )
    db.session.commit()
    problems = find_problems()
    assert "Monthly totals 2026-03: awaiting_count 2 (should be 1)." in problems
    assert f"Due-day totals {first_due:%Y-%m-%d}: unpaid_count 6 (should be 1)." in problems
    # Put it right again (the fixture checks the books after the test).
    fresh().execute(MonthlyTotal.__table__.update().values(awaiting_count=MonthlyTotal.awaiting_count - 1))
    db.session.execute(
        DueDayTotal.__table__.update()
        .where(DueDayTotal.day == first_due)
        .values(unpaid_count=DueDayTotal.unpaid_count - 5)
    )
    db.session.commit()


def test_rebuild_totals_puts_drifted_totals_right_and_a_dry_run_changes_nothing(app, plan):
    """`flask rebuild-totals` (the remedy after the previous release served on this schema)
    recomputes both tables from the rows; `--dry-run` names what disagrees and writes nothing."""
    pay(plan, "300.00", on=TODAY - 2 * DAY)
    paid_day = TODAY - 2 * DAY
    db.session.execute(DueDayTotal.__table__.update().where(DueDayTotal.day == paid_day).values(collected=0))
    db.session.execute(MonthlyTotal.__table__.update().values(invoiced=MonthlyTotal.invoiced + 7))
    # The clients' changes and the number owing each day, as the previous release leaves them.
    db.session.execute(delete(ClientOpenChange))
    db.session.execute(delete(OwingClientCount))
    db.session.commit()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["rebuild-totals", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"Due-day totals {paid_day:%Y-%m-%d}: collected 0.00 (should be 300.00)." in dry.output
    assert "Change to the installments of client" in dry.output
    assert "Clients owing at the end of" in dry.output
    assert "the totals disagree with the books; nothing was written" in dry.output
    assert fresh().scalar(select(DueDayTotal.collected).where(DueDayTotal.day == paid_day)) == ZERO
    rebuilt = runner.invoke(args=["rebuild-totals"])
    assert rebuilt.exit_code == 0 and "Running totals rebuilt:" in rebuilt.output
    assert fresh().scalar(select(DueDayTotal.collected).where(DueDayTotal.day == paid_day)) == Decimal("300.00")
    assert fresh().scalar(select(func.count()).select_from(ClientOpenChange))
    assert fresh().scalar(select(func.count()).select_from(OwingClientCount))
    assert find_problems() == []
    assert_totals_agree()
    again = runner.invoke(args=["rebuild-totals", "--dry-run"])
    assert "the totals agree with the books" in again.output


def test_the_migration_fills_the_totals_of_existing_books(app, plan):
    """An existing database gets correct totals on upgrade (0004 computes them from the rows)."""
    from flask_migrate import downgrade, upgrade

    from ais.accounting.commands import rebuild_ledger

    report(plan, "300.00")
    report(plan, "100.00", on=TODAY - 40 * DAY)
    pay(plan, "50.00")
    make_invoice(make_client("Ben Ong", email="ben@example.com"), "80.00", issue=False)  # a draft: no totals
    fresh()
    db.session.remove()
    downgrade(revision="3a7c1e0b9d21")
    upgrade()
    db.session.remove()
    # The upgrade posted the ledger of the existing books itself (0013; docs/ACCOUNTING.md): a
    # second rebuild is refused, as the ledger has entries.
    assert rebuild_ledger(echo=lambda *args, **kwargs: None, progress=False) == 1
    db.session.remove()
    assert_totals_agree()
    assert figures_from_totals(TODAY)["awaiting"] == (Decimal("400.00"), 2)
    assert fresh().scalar(select(DueDayTotal.day).order_by(DueDayTotal.day)) == date(2026, 2, 15)


def test_dashboard_lists_match_a_plain_reading_of_the_payments(app):
    """The dashboard's payment lists (one statement, joined after their LIMITs) and its coming-due
    list are the rows a plain query gives, in the same order."""
    import datetime as dt

    from sqlalchemy import select

    from ais import clock
    from ais.backoffice import queries
    from ais.models import CONFIRMED, REPORTED, Installment, Invoice, Payment

    result = app.test_cli_runner().invoke(args=["gen-demo", "--clients", "8", "--invoices", "6", "--payments", "4"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        waiting, recent = queries.dashboard_payments(waiting_limit=5, recent_limit=8)
        expected_waiting = db.session.scalars(
            select(Payment).where(Payment.state == REPORTED).order_by(Payment.date, Payment.id).limit(5)
        ).all()
        expected_recent = db.session.scalars(
            select(Payment)
            .where(Payment.state.in_((CONFIRMED, REPORTED)))
            .order_by(Payment.date.desc(), Payment.id.desc())
            .limit(8)
        ).all()
        assert [p.id for p in waiting] == [p.id for p in expected_waiting] and len(waiting) == 5
        assert [p.id for p in recent] == [p.id for p in expected_recent] and len(recent) == 8
        assert all(row.client_name == db.session.get(Payment, row.id).client.name for row in waiting + recent)
        assert all(row.invoice_no == db.session.get(Payment, row.id).invoice.invoice_no for row in waiting + recent)
        today = clock.today()
        coming = queries.installments_coming_due(today, limit=10)
        expected = db.session.execute(
            select(Installment.invoice_id, Installment.number)
            .join(Invoice)
            .where(
                Invoice.issued_at.is_not(None),
                Invoice.voided_at.is_(None),
                Installment.paid_amount < Installment.amount,
                Installment.due_date >= today,
                Installment.due_date <= today + dt.timedelta(days=queries.DUE_WINDOW_DAYS),
            )
            .order_by(Installment.due_date, Installment.invoice_id, Installment.number)
            .limit(10)
        ).all()
        assert [(row.invoice_id, row.number) for row in coming] == [tuple(r) for r in expected]


@pytest.mark.parametrize("days_later", [-1000, -400, 0, 200, 1000])
def test_the_cards_hold_whatever_months_the_chart_shows(plan, days_later):
    """The statement returns the chart's months (and the first month of all, for the sums): the
    cards are the same when the chart's twelve months hold all, some or none of the history."""
    pay(plan, "250.00")
    report(plan, "100.00", on=TODAY - 40 * DAY)
    day = TODAY + days_later * DAY
    assert figures_from_totals(day) == figures_from_scratch(day)
    fresh()
    _, series = queries.dashboard_overview(day)
    assert len(series) == queries.CHART_MONTHS
    expected = Decimal("250.00") if days_later in (0, 200) else ZERO  # the payment made today
    assert sum((value for _, value in series), ZERO) == expected
