"""The billing commands: seed (and seed.py), check and backfill-installments."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, text

from ais import create_app
from ais.audit import Actor
from ais.billing import services
from ais.billing.checks import find_problems
from ais.billing.services import ClientInput
from ais.extensions import db
from ais.models import CONFIRMED, REPORTED, Allocation, Client, Invoice, Payment, User

REPO = Path(__file__).resolve().parents[2]
D = Decimal
TODAY = date(2026, 3, 16)


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    """Cheap argon2 parameters for the demo's logins (still verifiable: the hash records them)."""
    monkeypatch.setattr("ais.demo.hash_password", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash)


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args))

    return invoke


@pytest.fixture
def seeded(app, cli, freeze_today):
    freeze_today(TODAY)
    result = cli("seed")
    assert result.exit_code == 0, result.output
    return result


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def demo_invoices() -> dict[str, Invoice]:
    """The demo's invoices keyed by client and amount, e.g. 'Alice 50000.00'."""
    rows = db.session.execute(select(Invoice, Client.name).join(Client, Client.id == Invoice.client_id)).all()
    return {f"{name.split()[0]} {inv.amount}": inv for inv, name in rows}


def raw(sql: str) -> None:
    db.session.execute(text(sql))
    db.session.commit()


# --- seed --------------------------------------------------------------------------------------------


def test_seed_loads_the_demo_clients_logins_and_invoices(app, seeded):
    with app.app_context():
        assert count(Client) == 2 and count(Invoice) == 5
        users = {u.username: u for u in db.session.scalars(select(User))}
        assert sorted(users) == ["admin", "client1@example.com", "client2@example.com"]
        assert users["admin"].role == "owner" and users["admin"].client_id is None
        alice = db.session.scalar(select(Client).where(Client.email == "client1@example.com"))
        bob = db.session.scalar(select(Client).where(Client.email == "client2@example.com"))
        assert (alice.name, alice.company, alice.address) == ("Alice Johnson", "AJ Trading", "Makati City")
        assert (bob.name, bob.company, bob.address) == ("Bob Reyes", "Reyes Supplies", "Quezon City")
        assert users["client1@example.com"].client_id == alice.id and users["client1@example.com"].role == "client"
        assert users["client2@example.com"].client_id == bob.id
        hasher = PasswordHasher()
        assert hasher.verify(users["admin"].password_hash, "admin123")
        assert hasher.verify(users["client1@example.com"].password_hash, "clientpass")
        assert hasher.verify(users["client2@example.com"].password_hash, "clientpass")


def test_seed_gives_the_demo_a_complete_vat_registered_profile(app, seeded):
    with app.app_context():
        profile = services.business_profile()
        assert services.profile_problems(profile) == []
        assert profile.registered_name == "Demo Furnishings Trading Corp." and profile.tin == "008-123-456-00000"
        assert profile.vat_registered and profile.prices_include_vat and profile.vat_rate == D("12.00")
        # VAT-inclusive prices: the demo's amounts are its prices, VAT 12/112 of each.
        plan = demo_invoices()["Alice 50000.00"]
        assert (plan.vatable_sales, plan.vat_amount) == (D("44642.86"), D("5357.14"))


def test_seed_demo_figures_are_exact(app, seeded):
    with app.app_context():
        invoices = demo_invoices()
        figures = {
            key: (inv.paid_amount, inv.held_amount, services.status_of(inv, TODAY), inv.installment_count)
            for key, inv in invoices.items()
        }
        assert figures == {
            "Alice 50000.00": (D("20000.00"), D("0.00"), "partial", 5),
            "Alice 10000.00": (D("10000.00"), D("0.00"), "paid", 1),
            "Alice 4500.00": (D("0.00"), D("0.00"), "pending", 1),
            "Alice 12000.00": (D("3000.00"), D("3000.00"), "overdue", 4),
            "Bob 30000.00": (D("0.00"), D("0.00"), "overdue", 1),
        }
        alice_outstanding = sum(inv.outstanding for key, inv in invoices.items() if key.startswith("Alice"))
        assert alice_outstanding == D("43500.00")
        assert invoices["Bob 30000.00"].outstanding == D("30000.00")
        assert invoices["Alice 4500.00"].due_date == date(2026, 3, 30)  # in two weeks
        assert invoices["Bob 30000.00"].due_date < TODAY

        plan = invoices["Alice 50000.00"].installments
        assert [i.amount for i in plan] == [D("10000.00")] * 5
        assert [i.paid_amount for i in plan] == [D("10000.00")] * 2 + [D("0.00")] * 3
        assert [i.due_date <= TODAY for i in plan] == [True, True, False, False, False]

        weekly = invoices["Alice 12000.00"].installments
        assert [i.amount for i in weekly] == [D("3000.00")] * 4
        overdue = [i.number for i in weekly if i.due_date < TODAY and i.paid_amount < i.amount]
        assert overdue == [2]
        assert weekly[0].paid_amount == D("3000.00")

        payments = db.session.execute(select(Payment, Invoice.issue_date).join(Invoice)).all()
        assert sorted((p.state, p.amount) for p, _ in payments) == [
            (CONFIRMED, D("3000.00")),
            (CONFIRMED, D("10000.00")),
            (CONFIRMED, D("10000.00")),
            (CONFIRMED, D("10000.00")),
            (REPORTED, D("3000.00")),
        ]
        assert all(issued <= p.date <= TODAY for p, issued in payments)
        assert sorted(inv.invoice_no for inv in invoices.values()) == [f"INV-2026-000{n}" for n in range(1, 6)]


@pytest.mark.parametrize("today", [date(2026, 1, 5), date(2026, 3, 31), date(2024, 2, 29), date(2026, 12, 31)])
def test_seed_demo_is_consistent_whatever_today_is(app, cli, freeze_today, today):
    """Month ends, leap days and a new year (numbers then run in two years) keep the same picture."""
    freeze_today(today)
    assert cli("seed").exit_code == 0
    with app.app_context():
        assert find_problems() == []
        statuses = sorted(services.status_of(inv, today) for inv in demo_invoices().values())
        assert statuses == ["overdue", "overdue", "paid", "partial", "pending"]
        plan = demo_invoices()["Alice 50000.00"].installments
        assert [i.due_date <= today for i in plan] == [True, True, False, False, False]


def test_seed_twice_leaves_one_copy(app, cli, seeded):
    second = cli("seed")

    assert second.exit_code == 0
    assert "Demo data already loaded." in second.output
    with app.app_context():
        assert (count(User), count(Client), count(Invoice), count(Payment)) == (3, 2, 5, 5)


def test_seed_refuses_in_production(app, cli):
    app.config["AIS_ENV"] = "production"

    result = cli("seed")

    assert result.exit_code == 1
    assert "production" in result.output
    with app.app_context():
        assert count(User) == 0 and count(Invoice) == 0


def _run_seed_py(database_url: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"AIS_ENV", "SECRET_KEY", "DATABASE_URL"}}
    environment.update(DATABASE_URL=database_url, **env)
    return subprocess.run(
        [sys.executable, "seed.py"], cwd=REPO, env=environment, capture_output=True, text=True, timeout=60
    )


def test_seed_py_builds_the_schema_and_loads_the_demo_once(tmp_path):
    url = "sqlite:///" + str(tmp_path / "fresh.sqlite3")

    first = _run_seed_py(url)
    second = _run_seed_py(url)

    assert first.returncode == 0, first.stderr
    assert "Demo data loaded" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "Demo data already loaded." in second.stdout
    other = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with other.app_context():
        assert (count(User), count(Client), count(Invoice), count(Payment)) == (3, 2, 5, 5)
        assert find_problems() == []
        db.engine.dispose()


def test_seed_py_refuses_in_production(tmp_path):
    url = "sqlite:///" + str(tmp_path / "prod.sqlite3")

    result = _run_seed_py(url, AIS_ENV="production", SECRET_KEY=os.urandom(32).hex())

    assert result.returncode == 1
    assert "production" in result.stderr
    assert not (tmp_path / "prod.sqlite3").exists() or (tmp_path / "prod.sqlite3").stat().st_size == 0


# --- check -------------------------------------------------------------------------------------------


def test_check_passes_on_the_demo(cli, seeded):
    result = cli("check")

    assert result.exit_code == 0
    assert "OK: 5 invoices, 5 payments checked" in result.output


def test_check_reports_an_installment_that_no_longer_adds_up(app, cli, seeded):
    with app.app_context():
        plan = demo_invoices()["Alice 50000.00"]
        plan_id, plan_no = plan.id, plan.invoice_no
        raw(f"UPDATE installments SET amount = amount + 1 WHERE invoice_id = {plan_id} AND number = 5")

    result = cli("check")

    assert result.exit_code == 1
    assert f"{plan_no}: installments add up to" in result.output


def test_check_fails_when_the_aging_report_stops_agreeing_with_the_statements_and_forecast(app, cli, seeded):
    """The aging report's totals come from the running open balances per due day, the forecast's
    overdue figure from the running totals per due day: either drifting (here: an overdue day's
    open balance as of today and its unpaid amount each raised by 10.00 behind the service layer's
    back) makes the report or the forecast disagree with the installments, and `flask check` says
    so, naming the drifted rows."""
    assert cli("check").exit_code == 0
    with app.app_context():
        due_day = db.session.scalar(text("SELECT MIN(day) FROM due_day_totals WHERE unpaid_due > 0"))
        last = db.session.scalar(text(f"SELECT MAX(day) FROM due_day_balances WHERE due_day = '{due_day}'"))
        raw(f"UPDATE due_day_balances SET open = open + 10 WHERE due_day = '{due_day}' AND day = '{last}'")
        raw(f"UPDATE due_day_totals SET unpaid_due = unpaid_due + 10 WHERE day = '{due_day}'")

    result = cli("check")

    assert result.exit_code == 1
    assert f"Aging report totals on {TODAY.isoformat()}" in result.output
    assert "(the clients' installments say" in result.output
    assert f"Open balance of the installments due {due_day}, on {last}:" in result.output
    assert f"Forecast overdue on {TODAY.isoformat()}" in result.output


def test_check_fails_when_a_clients_aging_stops_agreeing_with_their_statement(app, cli, seeded):
    with app.app_context():
        invoice = demo_invoices()["Alice 50000.00"]
        client_id = invoice.client_id
        # A late fee's charge recorded on the statement's side only (no installment bills it).
        raw(
            "INSERT INTO late_fees (invoice_id, client_id, installment_number, charged_on, base, amount, rule, "
            f"waive_reason, created_at) VALUES ({invoice.id}, {client_id}, 1, '{TODAY.isoformat()}', 100, 5, "
            "'test', '', CURRENT_TIMESTAMP)"
        )

    result = cli("check")

    assert result.exit_code == 1
    assert f"Aging of client {client_id} on {TODAY.isoformat()}:" in result.output
    assert "(statement closing balance" in result.output


def test_check_reports_a_wrong_installment_number_on_a_payment(app, cli, seeded):
    with app.app_context():
        plan = demo_invoices()["Alice 50000.00"]
        plan_no = plan.invoice_no
        payment_id = db.session.scalar(
            select(Payment.id).where(Payment.invoice_id == plan.id).order_by(Payment.date.desc())
        )
        raw(f"UPDATE payments SET installment_number = 4 WHERE id = {payment_id}")

    result = cli("check")

    assert result.exit_code == 1
    assert f"{plan_no}: payment {payment_id} names installment 4 but oldest-first allocation gives 2" in result.output


def test_check_reports_running_totals_and_caps_that_disagree_with_payments(app, cli, seeded):
    with app.app_context():
        invoices = demo_invoices()
        printer, weekly = invoices["Alice 10000.00"], invoices["Alice 12000.00"]
        db.session.expunge_all()
        raw(f"UPDATE invoices SET held_amount = 0 WHERE id = {weekly.id}")
        # A second reported payment that takes the invoice over its amount.
        raw(
            f"INSERT INTO payments (invoice_id, client_id, amount, method, date, reference, state, state_reason, "
            f"provider, created_at) SELECT invoice_id, client_id, amount, method, date, 'dup', 'reported', '', "
            f"provider, created_at FROM payments WHERE invoice_id = {printer.id}"
        )

    result = cli("check")

    assert result.exit_code == 1
    assert (
        f"{weekly.invoice_no}: held_amount is 0.00 but its reported payments and open online checkouts "
        "add up to 3,000.00." in result.output
    )
    assert f"{printer.invoice_no}: confirmed (10,000.00) and reported (10,000.00) payments exceed" in result.output


def test_check_reports_allocations_that_do_not_match_the_payment(app, cli, seeded):
    with app.app_context():
        printer = demo_invoices()["Alice 10000.00"]
        printer_payment = db.session.scalar(select(Payment.id).where(Payment.invoice_id == printer.id))
        db.session.expunge_all()
        raw(f"DELETE FROM allocations WHERE payment_id IN (SELECT id FROM payments WHERE invoice_id = {printer.id})")

    result = cli("check")

    assert result.exit_code == 1
    assert (
        f"{printer.invoice_no}: payment {printer_payment} of 10,000.00 has allocations adding up to 0.00."
        in result.output
    )
    assert f"{printer.invoice_no}: installment 1 has paid_amount 10,000.00 but allocations of 0.00." in result.output


def test_check_reports_a_gap_in_invoice_numbers(app, cli, seeded):
    with app.app_context():
        raw("UPDATE invoice_counters SET last_number = last_number + 2")

    result = cli("check")

    assert result.exit_code == 1
    assert "INV-2026: numbers missing (gaps) in 2026: 6-7 (counter at 7)." in result.output


def test_check_reports_a_wrong_next_due_date(app, cli, seeded):
    with app.app_context():
        bob = demo_invoices()["Bob 30000.00"]
        db.session.expunge_all()
        raw(f"UPDATE invoices SET next_due_date = NULL WHERE id = {bob.id}")

    result = cli("check")

    assert result.exit_code == 1
    assert f"{bob.invoice_no}: next_due_date is empty but should be {bob.due_date.isoformat()}." in result.output


# --- backfill-installments ---------------------------------------------------------------------------


def _payment_numbers() -> dict[int, int | None]:
    db.session.rollback()
    return dict(db.session.execute(select(Payment.id, Payment.installment_number)).all())


def test_backfill_restores_cleared_installment_numbers(app, cli, seeded):
    with app.app_context():
        expected = _payment_numbers()
        raw("UPDATE payments SET installment_number = NULL")
        plan = demo_invoices()["Alice 50000.00"]
        db.session.expunge_all()
    assert cli("check").exit_code == 1

    result = cli("backfill-installments")

    assert result.exit_code == 0
    second_payment = max(p for p, n in expected.items() if n == 2)
    assert f"{plan.invoice_no}: payment {second_payment}: installment none → 2" in result.output
    assert "Updated 3 invoice(s) (4 installment number(s))." in result.output
    with app.app_context():
        assert _payment_numbers() == expected
    assert cli("check").exit_code == 0


def test_backfill_dry_run_changes_nothing(app, cli, seeded):
    with app.app_context():
        raw("UPDATE payments SET installment_number = NULL")

    result = cli("backfill-installments", "--dry-run")

    assert result.exit_code == 0
    assert "installment none → 1" in result.output
    assert "Dry run: 3 invoice(s) would change (4 installment number(s)); nothing was written." in result.output
    with app.app_context():
        assert set(_payment_numbers().values()) == {None}


def test_backfill_rewrites_missing_allocations(app, cli, seeded):
    with app.app_context():
        raw("DELETE FROM allocations")
        printer = demo_invoices()["Alice 10000.00"]
        db.session.expunge_all()

    result = cli("backfill-installments")

    assert f"{printer.invoice_no}: allocations rewritten" in result.output
    with app.app_context():
        assert count(Allocation) == 4  # each confirmed payment pays exactly one installment
    # The running open balances per due day follow the allocations: deleting them behind the
    # service layer's back left those drifted (the backfill adds its change on top); rebuild-totals
    # recomputes them.
    assert "Open balance of the installments due" in cli("check").output
    assert cli("rebuild-totals").exit_code == 0
    with app.app_context():
        assert find_problems() == []


def test_backfill_second_run_changes_nothing(app, cli, seeded):
    with app.app_context():
        raw("UPDATE payments SET installment_number = NULL")
    cli("backfill-installments")

    result = cli("backfill-installments")

    assert result.exit_code == 0
    assert "Nothing to change" in result.output
    assert "→" not in result.output


def test_seed_over_clashing_data_fails_clearly_without_a_traceback(app, cli):
    with app.app_context():
        services.create_client(Actor.system("test"), ClientInput(name="Someone", email="CLIENT1@example.com"))

    result = cli("seed")

    assert result.exit_code == 1
    assert "Could not load the demo: Another client already uses this email address." in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_check_reports_monthly_totals_that_disagree_with_the_books(app, cli, seeded):
    with app.app_context():
        raw("UPDATE monthly_totals SET invoiced = invoiced + 100 WHERE month = '2026-03-01'")

    result = cli("check")

    assert result.exit_code == 1
    assert "Monthly totals 2026-03: invoiced" in result.output
