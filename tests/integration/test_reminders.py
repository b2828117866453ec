"""Reminders per installment (ais.billing.reminders, ``flask --app ais reminders``): each step once
per installment, naming what is due now, never for paid installments, void invoices or archived
clients, run under a controlled clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from portal_support import ACTOR, DAY, make_client, make_invoice, pay, report
from sqlalchemy import func, select

from ais import clock
from ais.billing import reminders, services
from ais.billing.checks import find_problems
from ais.billing.reminders import ReminderSchedule, run_reminders
from ais.extensions import db
from ais.models import Client, Installment, InstallmentReminder, OutboxMessage

START = date(2026, 3, 1)


def reminder_messages(to: str | None = None) -> list[OutboxMessage]:
    db.session.rollback()
    query = select(OutboxMessage).where(OutboxMessage.dedupe_key.like("reminder:%")).order_by(OutboxMessage.id)
    if to:
        query = query.where(OutboxMessage.to_address == to)
    return list(db.session.scalars(query))


def steps_sent(invoice_id: int) -> list[tuple[int, str]]:
    db.session.rollback()
    return sorted(
        db.session.execute(
            select(Installment.number, InstallmentReminder.step)
            .join(Installment, Installment.id == InstallmentReminder.installment_id)
            .where(InstallmentReminder.invoice_id == invoice_id)
        ).all()
    )


def at(moment: datetime) -> None:
    clock.set_clock(lambda: moment)


@pytest.fixture
def ctx(app, freeze_today):
    freeze_today(START)
    app.config["AIS_BASE_URL"] = "https://ais.example.com"
    with app.app_context():
        yield
        db.session.rollback()
        assert find_problems() == []


def test_an_hourly_run_across_a_month_sends_each_step_once_and_never_for_a_paid_installment(ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    quiet = make_client("Quinn Reyes", "quinn@example.com")
    gone = make_client("Gil Lopez", "gil@example.com")
    # Weekly: installment 1 due 6 Mar, 2 due 13 Mar, 3 due 20 Mar, 4 due 27 Mar.
    plan = services.create_invoice(
        ACTOR,
        services.InvoiceInput(
            client_id=ann,
            issue_date=START - 10 * DAY,
            due_date=START + 5 * DAY,
            lines=[services.LineInput("Goods", Decimal("1"), Decimal("400.00"))],
            payment_type="installment",
            installment_count=4,
            frequency="weekly",
        ),
    )
    paid = make_invoice(ann, "500.00", issued=START - 10 * DAY, due=START + 6 * DAY)
    pay(paid, "500.00", on=START - 5 * DAY)
    void = make_invoice(ann, "300.00", issued=START - 10 * DAY, due=START + 6 * DAY)
    services.void_invoice(ACTOR, void, "Raised twice")
    courtesy_off = make_invoice(quiet, "200.00", issued=START - 10 * DAY, due=START + 8 * DAY)
    reminders.set_courtesy_reminders(ACTOR, quiet, wanted=False)
    archived = make_invoice(gone, "200.00", issued=START - 10 * DAY, due=START + 8 * DAY)
    services.archive_client(ACTOR, gone)

    moment = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    end = moment + timedelta(days=30)
    while moment < end:
        at(moment)
        if clock.today() == date(2026, 3, 15) and moment.hour == 2:
            # 150.00 pays installment 1 and half of installment 2 (both overdue by then).
            pay(plan, "150.00", on=clock.today())
        run_reminders()
        moment += timedelta(hours=1)

    assert steps_sent(plan) == sorted(
        [
            (1, "before:3"),
            (1, "due"),
            (1, "overdue:1"),
            (1, "overdue:7"),  # paid on the 15th: no overdue:14 on the 20th
            (2, "before:3"),
            (2, "due"),
            (2, "overdue:1"),
            (2, "overdue:7"),  # partly paid on the 15th: still reminded
            (2, "overdue:14"),
            (3, "before:3"),
            (3, "due"),
            (3, "overdue:1"),
            (3, "overdue:7"),
            (4, "before:3"),
            (4, "due"),
            (4, "overdue:1"),
        ]
    )
    assert steps_sent(paid) == [] and steps_sent(void) == [] and steps_sent(archived) == []
    assert steps_sent(courtesy_off) == sorted([(1, "overdue:1"), (1, "overdue:7"), (1, "overdue:14")])
    # One email per invoice and day: e.g. installment 1's overdue:7 (13 Mar) went with installment 2's due.
    keys = [m.dedupe_key for m in reminder_messages("ann@example.com")]
    assert len(keys) == len(set(keys)) == 12
    assert reminder_messages("gil@example.com") == []


def test_the_reminder_names_what_is_due_now_after_partial_and_reported_payments(ctx, freeze_today):
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "1000.00", issued=START - 10 * DAY, due=START + 10 * DAY)
    pay(invoice, "300.00", on=START - DAY)
    report(ann, invoice, "200.00", on=START - DAY)
    freeze_today(START + 10 * DAY)
    queued = run_reminders()
    assert [(r.installment_number, r.step, r.amount) for r in queued] == [(1, "due", Decimal("500.00"))]
    (message,) = reminder_messages()
    assert message.subject.startswith("Payment due today on invoice INV-")
    assert "₱500.00 due today" in message.body_text
    assert "To pay now: ₱500.00" in message.body_text
    assert "₱200.00 awaiting confirmation" in message.body_text
    assert f"https://ais.example.com/portal/invoices/{invoice}" in message.body_text
    assert "https://ais.example.com/portal/reminders" in message.body_text  # a courtesy: it can be turned off


def test_an_overdue_notice_cannot_be_turned_off_and_says_so_nowhere(ctx, freeze_today):
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "1000.00", issued=START - 10 * DAY, due=START)
    reminders.set_courtesy_reminders(ACTOR, ann, wanted=False)
    freeze_today(START + 7 * DAY)
    run_reminders()
    (message,) = reminder_messages()
    assert message.subject == f"Payment overdue on invoice {services_number(invoice)}"
    assert "7 days overdue" in message.body_text
    assert "/portal/reminders" not in message.body_text


def services_number(invoice_id: int) -> str:
    from portal_support import number_of

    return number_of(invoice_id)


def test_no_reminder_while_a_reported_payment_covers_the_installment(ctx, freeze_today):
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "1000.00", issued=START - 10 * DAY, due=START)
    report(ann, invoice, "1000.00", on=START - DAY)
    freeze_today(START + DAY)
    assert run_reminders() == []
    assert steps_sent(invoice) == []  # nothing recorded: if the payment is rejected, reminders resume


def test_no_courtesy_reminder_for_an_invoice_issued_on_or_after_its_day(ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    make_invoice(ann, "1000.00", issued=START, due=START)  # due on the day it is issued
    make_invoice(ann, "1000.00", issued=START - DAY, due=START + 2 * DAY)  # issued after its before:3 day
    assert run_reminders() == []


def test_running_twice_a_day_or_dry_running_queues_nothing_more(ctx, freeze_today):
    ann = make_client("Ann Cruz", "ann@example.com")
    make_invoice(ann, "1000.00", issued=START - 10 * DAY, due=START - DAY)
    dry = run_reminders(dry_run=True)
    assert [(r.installment_number, r.step) for r in dry] == [(1, "overdue:1")]
    assert reminder_messages() == [] and db.session.scalar(select(func.count(InstallmentReminder.id))) == 0
    assert len(run_reminders()) == 1
    assert run_reminders() == []
    assert len(reminder_messages()) == 1


def test_the_owner_turns_reminders_off_or_changes_the_steps(ctx, freeze_today):
    ann = make_client("Ann Cruz", "ann@example.com")
    make_invoice(ann, "1000.00", issued=START - 10 * DAY, due=START - 2 * DAY)
    reminders.set_reminder_schedule(ACTOR, ReminderSchedule(enabled=False))
    assert run_reminders() == []
    reminders.set_reminder_schedule(ACTOR, ReminderSchedule(overdue_days=(2,)))
    assert [r.step for r in run_reminders()] == ["overdue:2"]


def test_the_command_lists_and_queues_the_reminders(app, ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    make_invoice(ann, "1000.00", issued=START - 10 * DAY, due=START - DAY)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["reminders", "--dry-run"])
    assert dry.exit_code == 0 and "(overdue:1): ₱1,000.00 → ann@example.com" in dry.output
    assert "nothing was written" in dry.output
    real = runner.invoke(args=["reminders"])
    assert real.exit_code == 0 and "1 queued on 1 invoice(s)" in real.output
    again = runner.invoke(args=["reminders"])
    assert "0 queued" in again.output


def test_a_replanned_installment_is_reminded_anew(ctx, freeze_today):
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "900.00", issued=START - 40 * DAY, due=START - 30 * DAY, count=3)
    freeze_today(START - 29 * DAY)
    assert [r.step for r in run_reminders()] == ["overdue:1"]
    freeze_today(START)
    services.replan_invoice(ACTOR, invoice, 3, "monthly", START + 5 * DAY)  # deletes the reminded installment
    assert db.session.scalar(select(func.count(InstallmentReminder.id))) == 0
    freeze_today(START + 2 * DAY)
    assert [r.step for r in run_reminders()] == ["before:3"]


def test_a_client_turns_courtesy_reminders_off_in_the_portal(app, actions, ctx):
    from portal_support import ANN, make_user, sign_in

    ann = make_client("Ann Cruz", ANN[0])
    make_user(*ANN, role="client", client_id=ann)
    sign_in(actions, ANN)
    page = actions.client.get("/portal/reminders")
    assert page.status_code == 200 and "are <strong>on</strong>" in page.get_data(as_text=True)
    response = actions.post("/portal/reminders", {})
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.get(Client, ann).courtesy_reminders_off is True
    assert "are <strong>off</strong>" in actions.client.get("/portal/reminders").get_data(as_text=True)
    actions.post("/portal/reminders", {"wanted": "y"})
    db.session.rollback()
    assert db.session.get(Client, ann).courtesy_reminders_off is False


def test_the_owner_sets_the_steps_on_the_settings_page(app, actions, ctx):
    from portal_support import OWNER, make_user, sign_in

    make_user(*OWNER)
    sign_in(actions, OWNER)
    assert "3 day(s) before the due date" in actions.client.get("/settings/reminders").get_data(as_text=True)
    response = actions.post(
        "/settings/reminders", {"enabled": "y", "before_days": "", "on_due_date": "y", "overdue_days": "5, 2"}
    )
    assert response.status_code == 302
    assert reminders.reminder_schedule() == ReminderSchedule(before_days=None, overdue_days=(2, 5))
    bad = actions.post("/settings/reminders", {"enabled": "y", "before_days": "x", "overdue_days": "0"})
    assert bad.status_code == 400 and "whole number" in bad.get_data(as_text=True)
    bad = actions.post("/settings/reminders", {"enabled": "y", "overdue_days": "0"})
    assert bad.status_code == 400 and "1 to 365 days" in bad.get_data(as_text=True)
    assert reminders.reminder_schedule() == ReminderSchedule(before_days=None, overdue_days=(2, 5))


def test_two_runs_at_once_send_nothing_twice_on_postgresql(app, ctx, freeze_today):
    import threading

    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set AIS_TEST_DATABASE_URL")
    for index in range(12):
        client_id = make_client(f"Client {index}", f"c{index}@example.com")
        make_invoice(client_id, "1000.00", issued=START - 40 * DAY, due=START - 30 * DAY, count=3)
    freeze_today(START - 29 * DAY)
    barrier = threading.Barrier(3)
    results: list = [None] * 3

    def run(index: int) -> None:
        with app.app_context():
            barrier.wait(timeout=10)
            try:
                results[index] = run_reminders()
            except Exception as error:  # noqa: BLE001 - the test inspects it
                results[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(isinstance(result, Exception) for result in results), results
    assert sum(len(result) for result in results) == 12  # every installment once, whichever run sent it
    messages = reminder_messages()
    assert len(messages) == 12 and len({m.to_address for m in messages}) == 12


def test_the_step_day_is_the_business_date_in_manila(ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    make_invoice(ann, "1000.00", issued=START - 10 * DAY, due=date(2026, 3, 6))
    at(datetime(2026, 3, 2, 15, 59, tzinfo=UTC))  # 23:59 on 2 March in Manila: 4 days before
    assert run_reminders() == []
    at(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))  # midnight: 3 March in Manila, still 2 March in UTC
    assert [r.step for r in run_reminders()] == ["before:3"]


def test_a_run_costs_the_same_whatever_the_number_of_installments_it_does_not_concern(
    ctx, freeze_today, count_queries, empty_tables
):
    def statements_for_one_due_invoice(others: int) -> int:
        db.session.rollback()
        empty_tables()
        freeze_today(START)
        due = make_client("Due Client", "due@example.com")
        make_invoice(due, "100.00", issued=START - 10 * DAY, due=START - DAY)
        for index in range(others):
            client_id = make_client(f"Other {index}", f"o{index}@example.com")
            make_invoice(client_id, "100.00", issued=START - 60 * DAY, due=START - 50 * DAY)  # no step today
            paid = make_invoice(client_id, "100.00", issued=START - 10 * DAY, due=START - DAY)
            pay(paid, "100.00", on=START - 2 * DAY)
        with count_queries() as counter:
            assert len(run_reminders()) == 1
        return counter.count

    assert statements_for_one_due_invoice(2) == statements_for_one_due_invoice(15)
