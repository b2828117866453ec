"""Concurrent writers on PostgreSQL: the invoice row lock keeps the cap and the numbering exact.

Each thread has its own app context (so its own session and connection) and all start
together at a barrier.  Skipped on SQLite runs (set AIS_TEST_DATABASE_URL to a PostgreSQL URL).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ais.audit import Actor
from ais.billing import services
from ais.billing.checks import find_problems
from ais.billing.services import ClientInput, InvoiceInput, LineInput, PaymentRefused
from ais.extensions import db
from ais.models import Invoice, InvoiceCounter, Payment

pytestmark = pytest.mark.postgres

ACTOR = Actor.system("test")
TODAY = date(2026, 3, 16)


@pytest.fixture(autouse=True)
def postgres_only(app, freeze_today):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("needs PostgreSQL: set AIS_TEST_DATABASE_URL")
    freeze_today(TODAY)


def run_together(app, count: int, work) -> list:
    """Run ``work(index)`` in ``count`` threads started at once; return each result or exception."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        with app.app_context():
            barrier.wait(timeout=10)
            try:
                results[index] = work(index)
            except Exception as error:  # noqa: BLE001 - the test inspects it
                results[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results


def invoice_input(client_id: int, amount: str = "1000.00", issued: date = TODAY - timedelta(days=10)) -> InvoiceInput:
    return InvoiceInput(
        client_id=client_id,
        issue_date=issued,
        due_date=issued + timedelta(days=30),
        lines=[LineInput("Goods", Decimal("1"), Decimal(amount))],
    )


def setup_invoice(app, amount: str = "1000.00") -> tuple[int, int]:
    with app.app_context():
        client_id = services.create_client(ACTOR, ClientInput(name="Ann Cruz", email="ann@example.com"))
        return client_id, services.create_invoice(ACTOR, invoice_input(client_id, amount))


def assert_books_consistent(app) -> None:
    with app.app_context():
        assert find_problems() == []


@pytest.mark.parametrize("threads, each, allowed", [(2, "600.00", 1), (8, "300.00", 3)])
def test_concurrent_payments_never_take_an_invoice_over_its_amount(app, threads, each, allowed):
    _, invoice_id = setup_invoice(app, "1000.00")

    results = run_together(
        app, threads, lambda i: services.record_payment(ACTOR, invoice_id, Decimal(each), TODAY, "cash", f"T{i}")
    )

    succeeded = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, PaymentRefused)]
    assert (len(succeeded), len(refused)) == (allowed, threads - allowed), results
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert invoice.paid_amount == Decimal(each) * allowed <= invoice.amount
        assert db.session.scalar(select(func.count()).select_from(Payment)) == allowed
    assert_books_consistent(app)


def test_concurrent_reported_and_recorded_payments_share_the_cap(app):
    client_id, invoice_id = setup_invoice(app, "1000.00")

    def work(i: int):
        if i % 2:
            return services.report_payment(ACTOR, client_id, invoice_id, Decimal("250.00"), TODAY, "bank", f"R{i}")
        return services.record_payment(ACTOR, invoice_id, Decimal("250.00"), TODAY, "cash", f"C{i}")

    results = run_together(app, 8, work)

    assert sum(isinstance(r, int) for r in results) == 4
    assert sum(isinstance(r, PaymentRefused) for r in results) == 4
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert invoice.paid_amount + invoice.held_amount == invoice.amount
    assert_books_consistent(app)


def test_concurrent_payments_on_installments_due_in_one_month_keep_its_running_balances(app):
    """Eight invoices of different clients, each with installments due on different days of the
    same months, paid at once on different days (some backdated before others): the running open
    balances per due day and per due month (one lock per due month) take every payment once."""
    with app.app_context():
        invoices = []
        for index in range(8):
            client_id = services.create_client(
                ACTOR, ClientInput(name=f"Client {index}", email=f"c{index}@example.com")
            )
            issued = TODAY - timedelta(days=90 - index)
            data = replace(
                invoice_input(client_id, "900.00", issued),
                payment_type="installment",
                installment_count=3,
                frequency="monthly",
            )
            invoices.append(services.create_invoice(ACTOR, data))

    def work(index: int):
        paid_on = TODAY - timedelta(days=(index * 7) % 40)
        return services.record_payment(ACTOR, invoices[index], Decimal("350.00"), paid_on, "cash", f"P{index}")

    results = run_together(app, 8, work)

    assert all(isinstance(result, int) for result in results), results
    assert_books_consistent(app)


def test_concurrent_issues_get_consecutive_numbers_without_duplicates(app):
    with app.app_context():
        client_id = services.create_client(ACTOR, ClientInput(name="Ann Cruz", email="ann@example.com"))
        drafts = [services.save_draft(ACTOR, invoice_input(client_id)) for _ in range(4)]

    def work(i: int):
        if i < 4:
            return services.issue_invoice(ACTOR, drafts[i])
        return services.create_invoice(ACTOR, invoice_input(client_id))

    results = run_together(app, 10, work)

    assert not [r for r in results if isinstance(r, Exception)], results
    with app.app_context():
        numbers = sorted(db.session.scalars(select(Invoice.invoice_no)))
        assert numbers == [f"INV-2026-{n:04d}" for n in range(1, 11)]
        assert db.session.get(InvoiceCounter, 2026).last_number == 10
    assert_books_consistent(app)


def test_first_invoices_of_a_new_year_issued_at_once_share_the_new_counter(app):
    with app.app_context():
        client_id = services.create_client(ACTOR, ClientInput(name="Ann Cruz", email="ann@example.com"))

    results = run_together(
        app, 6, lambda i: services.create_invoice(ACTOR, invoice_input(client_id, issued=date(2025, 12, 1)))
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    with app.app_context():
        numbers = sorted(db.session.scalars(select(Invoice.invoice_no)))
        assert numbers == [f"INV-2025-{n:04d}" for n in range(1, 7)]
    assert_books_consistent(app)


@pytest.mark.parametrize("threads, each, allowed", [(2, "200.00", 1), (8, "100.00", 3)])
def test_concurrent_applications_of_one_customer_credit_never_exceed_it(app, threads, each, allowed):
    """Each thread applies the same 300.00 credit to an invoice of its own (so no invoice lock is
    shared): the credit's row lock alone keeps them within it."""
    from ais.billing import credits
    from ais.billing.credits import CreditApplicationRefused
    from ais.models import CreditApplication, Overpayment

    client_id, paid_invoice = setup_invoice(app, "1000.00")
    with app.app_context():
        services.record_payment(ACTOR, paid_invoice, Decimal("1000.00"), TODAY, "cash", "paid")
        services.credit_invoice(ACTOR, paid_invoice, Decimal("300.00"), "Returned goods")
        credit_id = db.session.scalar(select(Overpayment.id))
        targets = [services.create_invoice(ACTOR, invoice_input(client_id, "500.00")) for _ in range(threads)]

    results = run_together(app, threads, lambda i: credits.apply_credit(ACTOR, credit_id, targets[i], Decimal(each)))

    succeeded = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, CreditApplicationRefused)]
    assert (len(succeeded), len(refused)) == (allowed, threads - allowed), results
    with app.app_context():
        credit = db.session.get(Overpayment, credit_id)
        assert credit.applied_amount == Decimal(each) * allowed <= credit.amount
        assert db.session.scalar(select(func.count()).select_from(CreditApplication)) == allowed
    assert_books_consistent(app)


def test_a_credit_applied_and_refunded_at_once_is_used_once(app):
    from ais.billing import credits
    from ais.billing.credits import CreditApplicationRefused
    from ais.billing.services import BillingError
    from ais.models import Overpayment

    client_id, paid_invoice = setup_invoice(app, "1000.00")
    with app.app_context():
        services.record_payment(ACTOR, paid_invoice, Decimal("1000.00"), TODAY, "cash", "paid")
        services.credit_invoice(ACTOR, paid_invoice, Decimal("300.00"), "Returned goods")
        credit_id = db.session.scalar(select(Overpayment.id))
        target = services.create_invoice(ACTOR, invoice_input(client_id, "500.00"))

    def work(i: int):
        if i == 0:
            return credits.apply_credit(ACTOR, credit_id, target, Decimal("300.00"))
        return credits.refund_credit(ACTOR, credit_id, "Paid back", "Cash")

    results = run_together(app, 2, work)
    assert sum(isinstance(r, (CreditApplicationRefused, BillingError)) for r in results) == 1, results
    with app.app_context():
        credit = db.session.get(Overpayment, credit_id)
        assert credit.applied_amount + credit.refunded_amount == credit.amount and credit.resolved_at is not None
    assert_books_consistent(app)


def test_concurrent_payments_that_clear_clients_keep_the_count_of_owing_clients(app):
    """Eight invoices, two for each of four clients, paid in full at once on different days (some
    backdated): two transactions at a time change one client's open amounts, and each clears its
    client from a day on only with the other.  The number of owing clients per day (one lock per
    client, then one for the numbers) equals its recomputation, and so does every client's
    change per day and due day."""
    with app.app_context():
        invoices = []
        for index in range(4):
            client_id = services.create_client(
                ACTOR, ClientInput(name=f"Client {index}", email=f"c{index}@example.com")
            )
            for offset in (0, 20):
                issued = TODAY - timedelta(days=80 - offset - index)
                invoices.append(services.create_invoice(ACTOR, invoice_input(client_id, "500.00", issued)))

    def work(index: int):
        paid_on = TODAY - timedelta(days=(index * 11) % 50)
        return services.record_payment(ACTOR, invoices[index], Decimal("500.00"), paid_on, "cash", f"P{index}")

    results = run_together(app, 8, work)

    assert all(isinstance(result, int) for result in results), results
    assert_books_consistent(app)
