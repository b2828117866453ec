"""Late fees (ais.billing.late_fees, ``flask --app ais late-fees``): off by default, charged once per
installment after the grace period as an installment of its own, posted Dr receivable / Cr late-fee
income, never on a fee, waived by a reversal; ``flask check`` holds after every step."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from portal_support import ACTOR, DAY, make_client, make_invoice, pay, report
from sqlalchemy import func, select

from ais import clock
from ais.billing import late_fees, ledger, services
from ais.billing.checks import find_problems
from ais.billing.late_fees import LateFeePolicy, charge_late_fees, waive_late_fee
from ais.extensions import db
from ais.models import AuditEntry, Installment, Invoice, JournalEntry, JournalLine, LateFee, OutboxMessage

START = date(2026, 3, 1)


@pytest.fixture
def ctx(app, freeze_today):
    freeze_today(START)
    app.config["AIS_BASE_URL"] = "https://ais.example.com"
    with app.app_context():
        yield
        db.session.rollback()
        assert find_problems() == []


def turn_on(kind="flat", value="150.00", grace=5, on=date(2026, 1, 1)):
    """Turn late fees on as the owner would have on ``on`` (installments due from then are charged)."""
    now = clock.utcnow()
    clock.set_clock(lambda: datetime(on.year, on.month, on.day, 4, 0, tzinfo=UTC))
    try:
        return late_fees.set_late_fee_policy(ACTOR, LateFeePolicy(True, kind, Decimal(value), grace))
    finally:
        clock.set_clock(lambda: now)


def charge_on(day):
    """Run the late-fee charge as the command would on ``day`` (the business clock set to it)."""
    clock.set_clock(lambda: datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC))
    return charge_late_fees()


def schedule(invoice_id):
    db.session.rollback()
    return [
        (i.number, i.due_date, i.amount, i.paid_amount)
        for i in db.session.scalars(
            select(Installment).where(Installment.invoice_id == invoice_id).order_by(Installment.number)
        )
    ]


def invoice(invoice_id) -> Invoice:
    db.session.rollback()
    return db.session.get_one(Invoice, invoice_id)


def fee_rows(invoice_id):
    db.session.rollback()
    return list(db.session.scalars(select(LateFee).where(LateFee.invoice_id == invoice_id).order_by(LateFee.id)))


def late_fee_income() -> Decimal:
    db.session.rollback()
    account = ledger.role_accounts()["late_fee_income"]
    debit, credit = db.session.execute(
        select(func.coalesce(func.sum(JournalLine.debit), 0), func.coalesce(func.sum(JournalLine.credit), 0)).where(
            JournalLine.account_id == account
        )
    ).one()
    return Decimal(credit) - Decimal(debit)


def test_late_fees_are_off_by_default_and_charge_nothing(ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    make_invoice(ann, "1000.00", issued=START - 40 * DAY, due=START - 30 * DAY)
    assert late_fees.late_fee_policy().enabled is False
    assert charge_on(START + 60 * DAY) == []
    assert fee_rows(1) == []


def test_a_fee_is_charged_once_after_the_grace_period_as_its_own_installment(ctx):
    turn_on(grace=5)
    ann = make_client("Ann Cruz", "ann@example.com")
    # Monthly: 1 due 10 Mar (400.00), 2 due 10 Apr, 3 due 10 May (the last 400.00).
    plan = make_invoice(ann, "1200.00", issued=START, due=START + 9 * DAY, count=3)
    # 15 Mar is the fifth day of grace: nothing yet.
    assert charge_on(date(2026, 3, 15)) == []
    charged = charge_on(date(2026, 3, 16))
    assert [(c.installment_number, c.amount, c.base) for c in charged] == [(1, Decimal("150.00"), Decimal("400.00"))]
    assert schedule(plan) == [
        (1, date(2026, 3, 10), Decimal("400.00"), Decimal("0.00")),
        (2, date(2026, 3, 16), Decimal("150.00"), Decimal("0.00")),  # the fee, due the day it is charged
        (3, date(2026, 4, 10), Decimal("400.00"), Decimal("0.00")),
        (4, date(2026, 5, 10), Decimal("400.00"), Decimal("0.00")),
    ]
    found = invoice(plan)
    assert (found.amount, found.late_fee_amount, found.installment_count) == (Decimal("1350.00"), Decimal("150.00"), 4)
    # Idempotent: later runs (any day) charge that installment nothing more, and never the fee.
    for day in range(17, 32):
        assert charge_on(date(2026, 3, day)) == []
    assert [f.installment_number for f in fee_rows(plan)] == [1]
    assert late_fee_income() == Decimal("150.00")
    # The client is told, once; the audit trail says so.
    db.session.rollback()
    assert (
        db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.dedupe_key.like("late-fee:%"))
        )
        == 1
    )
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "invoice.late_fee_charged")
        )
        == 1
    )
    assert find_problems() == []


def test_what_is_owed_now_includes_the_fee_and_payments_fill_it_in_due_date_order(ctx, freeze_today):
    turn_on(grace=0)
    ann = make_client("Ann Cruz", "ann@example.com")
    plan = make_invoice(ann, "1200.00", issued=START, due=START + 9 * DAY, count=3)
    charge_on(date(2026, 3, 11))
    freeze_today(date(2026, 3, 11))
    owed = services.owed_on(invoice(plan), date(2026, 3, 11))
    assert (owed.overdue, owed.due_today, owed.pay_now) == (Decimal("400.00"), Decimal("150.00"), Decimal("550.00"))
    pay(plan, "550.00", on=date(2026, 3, 11))
    assert [row[3] for row in schedule(plan)] == [
        Decimal("400.00"),
        Decimal("150.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    ]
    assert find_problems() == []


def test_a_percentage_fee_is_exact_to_the_centavo_on_the_unpaid_part(ctx):
    turn_on(kind="percent", value="2.50", grace=0)
    ann = make_client("Ann Cruz", "ann@example.com")
    plan = make_invoice(ann, "1000.10", issued=START - 20 * DAY, due=START - 10 * DAY)
    pay(plan, "333.33", on=START - 15 * DAY)
    # 2.5% of the unpaid 666.77 = 16.66925 → 16.67 (half-up).
    charged = charge_on(START)
    assert [(c.base, c.amount) for c in charged] == [(Decimal("666.77"), Decimal("16.67"))]
    assert invoice(plan).amount == Decimal("1016.77")


def test_no_fee_for_void_invoices_paid_installments_archived_clients_or_money_awaiting_confirmation(ctx):
    turn_on(grace=0)
    ann = make_client("Ann Cruz", "ann@example.com")
    gone = make_client("Gil Lopez", "gil@example.com")
    voided = make_invoice(ann, "300.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    services.void_invoice(ACTOR, voided, "Raised twice")
    paid = make_invoice(ann, "500.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    pay(paid, "500.00", on=START - 12 * DAY)
    covered = make_invoice(ann, "200.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    report(ann, covered, "200.00", on=START - 2 * DAY)
    archived = make_invoice(gone, "200.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    services.archive_client(ACTOR, gone)
    assert charge_on(START) == []
    for invoice_id in (voided, paid, covered, archived):
        assert fee_rows(invoice_id) == []


def test_turning_fees_on_does_not_charge_installments_due_before(ctx, freeze_today):
    freeze_today(date(2026, 3, 20))
    ann = make_client("Ann Cruz", "ann@example.com")
    old = make_invoice(ann, "300.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    turn_on(grace=0, on=date(2026, 3, 20))
    new = make_invoice(ann, "300.00", issued=date(2026, 3, 20), due=date(2026, 3, 25))
    assert [c.invoice_id for c in charge_on(date(2026, 3, 27))] == [new]
    assert fee_rows(old) == []


def test_a_fee_is_never_computed_on_a_fee_even_after_a_replan(ctx):
    turn_on(kind="percent", value="10.00", grace=0)
    ann = make_client("Ann Cruz", "ann@example.com")
    plan = make_invoice(ann, "1000.00", issued=START - 40 * DAY, due=START - 10 * DAY, count=2)
    charged = charge_on(START)  # installment 1 (500.00, due 19 Feb): 50.00; 2 is due 19 Mar
    assert [c.amount for c in charged] == [Decimal("50.00")]
    # The fee's own installment, overdue later, is never charged.
    assert charge_on(START + 40 * DAY) == [
        late_fees.Charged(plan, "INV-2026-0001", 3, Decimal("500.00"), Decimal("50.00"))
    ]
    # A re-plan spreads the 1,100.00 (fees included) over 2 new installments; each fee computed later
    # is on the part of the balance that is not fees: 10% of at most 1,000.00 in all.
    services.replan_invoice(ACTOR, plan, 2, "monthly", START + 41 * DAY)
    total = sum((c.amount for c in charge_on(START + 120 * DAY)), Decimal("0.00"))
    assert total == Decimal("100.00")  # 10% of 1,000.00, not of 1,100.00
    assert invoice(plan).late_fee_amount == Decimal("200.00")


def test_waiving_a_fee_reverses_its_posting_and_takes_it_off_the_invoice(ctx, freeze_today):
    turn_on(grace=0)
    ann = make_client("Ann Cruz", "ann@example.com")
    plan = make_invoice(ann, "1200.00", issued=START, due=START + 9 * DAY, count=3)
    charge_on(date(2026, 3, 11))
    freeze_today(date(2026, 3, 12))
    fee = fee_rows(plan)[0]
    with pytest.raises(services.InvalidInput):
        waive_late_fee(ACTOR, fee.id, "  ")
    waive_late_fee(ACTOR, fee.id, "First time late")
    assert schedule(plan) == [
        (1, date(2026, 3, 10), Decimal("400.00"), Decimal("0.00")),
        (2, date(2026, 4, 10), Decimal("400.00"), Decimal("0.00")),
        (3, date(2026, 5, 10), Decimal("400.00"), Decimal("0.00")),
    ]
    found = invoice(plan)
    assert (found.amount, found.late_fee_amount, found.installment_count) == (Decimal("1200.00"), Decimal("0.00"), 3)
    waived = fee_rows(plan)[0]
    assert (waived.waived_on, waived.waive_reason) == (date(2026, 3, 12), "First time late")
    assert late_fee_income() == Decimal("0.00")
    db.session.rollback()
    reversal = db.session.scalars(
        select(JournalEntry).where(JournalEntry.source_type == "late_fee", JournalEntry.reverses_id.is_not(None))
    ).one()
    assert reversal.date == date(2026, 3, 12)
    with pytest.raises(late_fees.WaiveRefused):
        waive_late_fee(ACTOR, fee.id, "again")
    # The installment is not charged again (its key is taken).
    assert charge_on(date(2026, 3, 20)) == []


def test_a_fee_the_payments_already_cover_is_not_waived(ctx):
    turn_on(grace=0)
    ann = make_client("Ann Cruz", "ann@example.com")
    plan = make_invoice(ann, "300.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    charge_on(START)
    pay(plan, "450.00", on=START)
    with pytest.raises(late_fees.WaiveRefused):
        waive_late_fee(ACTOR, fee_rows(plan)[0].id, "Goodwill")
    assert invoice(plan).amount == Decimal("450.00")


def test_voiding_an_invoice_reverses_its_fees(ctx):
    turn_on(grace=0)
    ann = make_client("Ann Cruz", "ann@example.com")
    plan = make_invoice(ann, "300.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    charge_on(START)
    services.void_invoice(ACTOR, plan, "Returned")
    assert late_fee_income() == Decimal("0.00")
    assert find_problems() == []


def test_a_credit_note_cannot_take_the_fee_and_the_rest_still_checks(ctx):
    turn_on(grace=0)
    ann = make_client("Ann Cruz", "ann@example.com")
    plan = make_invoice(ann, "300.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    charge_on(START)
    with pytest.raises(services.CreditRefused):
        services.credit_invoice(ACTOR, plan, "300.01", "too much")
    services.credit_invoice(ACTOR, plan, "300.00", "Returned")
    assert invoice(plan).amount == Decimal("150.00")
    assert find_problems() == []


def test_the_rebuilt_ledger_posts_the_fees_and_their_waivers(ctx, freeze_today):
    turn_on(grace=0)
    ann = make_client("Ann Cruz", "ann@example.com")
    kept = make_invoice(ann, "300.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    waived = make_invoice(ann, "200.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    voided = make_invoice(ann, "100.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    charge_on(START)
    freeze_today(START + DAY)
    waive_late_fee(ACTOR, fee_rows(waived)[0].id, "Goodwill")
    services.void_invoice(ACTOR, voided, "Returned")
    before = ledger.trial_balance(START + 5 * DAY)
    db.session.rollback()
    from ais.database import write_transaction

    with write_transaction():
        ledger.erase()
        for event in ledger.history():
            ledger.post_event(event)
    assert ledger.trial_balance(START + 5 * DAY) == before
    assert late_fee_income() == Decimal("150.00")
    assert kept


def test_the_command_dry_run_writes_nothing(ctx, app, freeze_today):
    turn_on(grace=0)
    ann = make_client("Ann Cruz", "ann@example.com")
    plan = make_invoice(ann, "300.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["late-fees", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "INV-2026-0001 installment 1: late fee ₱150.00 on ₱300.00" in result.output
    assert "Dry run: 1 late fee(s) on 1 invoice(s)" in result.output
    assert fee_rows(plan) == []
    result = runner.invoke(args=["late-fees"])
    assert "Late fees: 1 charged on 1 invoice(s)." in result.output
    assert len(fee_rows(plan)) == 1


def test_two_runs_at_once_charge_each_installment_once_on_postgresql(app, ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set AIS_TEST_DATABASE_URL")
    turn_on(grace=0)
    invoices = []
    for index in range(8):
        client_id = make_client(f"Client {index}", f"c{index}@example.com")
        invoices.append(make_invoice(client_id, "300.00", issued=START - 20 * DAY, due=START - 10 * DAY))
    barrier = threading.Barrier(3)
    results: list = [None] * 3

    def run(index: int) -> None:
        with app.app_context():
            barrier.wait(timeout=10)
            try:
                results[index] = charge_late_fees(START)
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
    assert sum(len(result) for result in results) == 8  # each installment once, whichever run charged it
    for invoice_id in invoices:
        assert len(fee_rows(invoice_id)) == 1
        assert invoice(invoice_id).amount == Decimal("450.00")
    assert late_fee_income() == Decimal("1200.00")
    assert clock.today() == START


# --- The pages ------------------------------------------------------------------------------------


def _policy_form(**overrides):
    data = {"enabled": "y", "kind": "flat", "value": "150.00", "grace_days": "5"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_the_owner_sets_late_fees_on_the_settings_page_audited(client, actions, world):
    from portal_support import OWNER, count, sign_in, text_of

    sign_in(actions, OWNER)
    assert "Late fees are off." in text_of(client.get("/settings/late-fees"))
    response = actions.post("/settings/late-fees", _policy_form(kind="percent", value="2.5", grace_days="3"))
    assert response.status_code == 302
    policy = late_fees.late_fee_policy()
    assert (policy.enabled, policy.kind, policy.value, policy.grace_days) == (True, "percent", Decimal("2.50"), 3)
    assert policy.since == date(2026, 3, 16)
    assert count(AuditEntry, AuditEntry.action == "late_fees.policy_changed") == 1
    assert "2.50% of the unpaid part" in text_of(client.get("/settings/late-fees"))
    # Off, with the fields left empty, is valid.
    assert actions.post("/settings/late-fees", {"kind": "flat", "value": "", "grace_days": ""}).status_code == 302
    assert late_fees.late_fee_policy().enabled is False


@pytest.mark.parametrize(
    "overrides",
    [
        {"value": "abc"},
        {"value": "1e5"},
        {"value": "-5"},
        {"value": "150.005"},
        {"value": "0"},
        {"value": "100000.01"},
        {"kind": "percent", "value": "25.01"},
        {"kind": "compound"},
        {"grace_days": "x"},
        {"grace_days": "366"},
        {"grace_days": "-1"},
        {"value": "NaN"},
    ],
)
def test_bad_late_fee_settings_are_refused_and_change_nothing(client, actions, world, overrides):
    from portal_support import OWNER, count, sign_in

    sign_in(actions, OWNER)
    response = actions.post("/settings/late-fees", _policy_form(**overrides))
    assert response.status_code == 400
    assert late_fees.late_fee_policy() == LateFeePolicy()
    assert count(AuditEntry, AuditEntry.action == "late_fees.policy_changed") == 0


def test_the_fee_shows_on_both_invoice_pages_and_the_owner_waives_it_there(client, actions, world, freeze_today):
    from portal_support import ANN, OWNER, TODAY, sign_in, text_of

    turn_on(grace=5)
    charged = charge_on(TODAY)  # Ann's plan: installment 2 (due 4 Mar) is past its 5 days of grace
    assert [(c.invoice_id, c.installment_number) for c in charged] == [(world.a_plan, 2)]
    fee = fee_rows(world.a_plan)[0]
    sign_in(actions, ANN)
    page = text_of(client.get(f"/portal/invoices/{world.a_plan}"))
    assert "Late fees" in page and "Installment 2 unpaid after the grace period" in page and "Late fee</span>" in page
    assert "Waive" not in page
    statement = text_of(client.get("/portal/statement"))
    assert "Late fee on" in statement and "₱150.00" in statement  # the fee, a charge of its own
    actions.logout()
    sign_in(actions, OWNER)
    page = text_of(client.get(f"/invoices/{world.a_plan}"))
    assert "Late fees" in page and "Waive fee" in page
    aging_page = text_of(client.get(f"/aging/clients/{world.ann}"))
    assert "₱150.00" in aging_page
    assert actions.post(f"/late-fees/{fee.id}/waive", {"reason": ""}).status_code == 303
    assert fee_rows(world.a_plan)[0].waived_on is None
    response = actions.post(f"/late-fees/{fee.id}/waive", {"reason": "Agreed on the phone"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/invoices/{world.a_plan}#late-fees")
    assert fee_rows(world.a_plan)[0].waive_reason == "Agreed on the phone"
    actions.logout()
    sign_in(actions, ANN)
    page = text_of(client.get(f"/portal/invoices/{world.a_plan}"))
    assert "Waived" in page and "Agreed on the phone" in page
    db.session.rollback()
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedupe_key == f"late-fee-waived:{fee.id}")
        )
        == 1
    )


def test_the_statement_lists_the_fee_on_its_day_and_the_aging_counts_it_from_then(ctx):
    from ais.billing import aging, statements

    turn_on(grace=0)
    ann = make_client("Ann Cruz", "ann@example.com")
    plan = make_invoice(ann, "300.00", issued=START - 20 * DAY, due=START - 10 * DAY)
    charge_on(START)
    statement = statements.statement_of_account(ann, START - 30 * DAY, START)
    assert [(line.day, line.kind, line.charge, line.balance) for line in statement.lines] == [
        (START - 20 * DAY, "invoice", Decimal("300.00"), Decimal("300.00")),
        (START, "late_fee", Decimal("150.00"), Decimal("450.00")),
    ]
    assert statement.closing == statement.aging.total == Decimal("450.00")
    # A statement that starts after the charge opens with it; one that ends before, without it.
    assert statements.statement_of_account(ann, START + DAY, START + 2 * DAY).opening == Decimal("450.00")
    before = statements.statement_of_account(ann, START - 30 * DAY, START - DAY)
    assert before.closing == before.aging.total == Decimal("300.00")
    assert aging.client_aging(ann, START - DAY).total == Decimal("300.00")
    # Waived: neither the statement nor the aging counts it.
    waive_late_fee(ACTOR, fee_rows(plan)[0].id, "Goodwill")
    after = statements.statement_of_account(ann, START - 30 * DAY, START + DAY)
    assert [line.kind for line in after.lines] == ["invoice"]
    assert after.closing == after.aging.total == Decimal("300.00")
