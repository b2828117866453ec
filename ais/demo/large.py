"""`flask --app ais gen-demo`: a large, realistic set of books for benchmarks and demos.

Rows are computed in Python with the same pure rules the service layer uses (schedule,
allocation, running totals) and written with bulk inserts, so the result passes
`flask --app ais check` exactly as books built one payment at a time would.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import func, insert, select, text

from .. import clock
from ..accounting.commands import rebuild_ledger
from ..audit import Actor
from ..auth.passwords import hash_password
from ..billing import books, rules, services
from ..billing.books import ZERO, month_of
from ..extensions import db
from ..models import (
    CONFIRMED,
    FULL_PAYMENT,
    INSTALLMENT,
    REPORTED,
    VOIDED,
    Allocation,
    BalanceDueDay,
    BalanceDueMonth,
    Client,
    ClientDueDayTotal,
    ClientOpenChange,
    DueDayBalance,
    DueDayTotal,
    DueMonthBalance,
    Installment,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    MonthlyTotal,
    OwingClientCount,
    Payment,
    User,
)
from .profile import DEMO_PROFILE

CENT = Decimal("0.01")
CHUNK = 5000
METHODS = ("Bank transfer", "GCash", "Cash", "Check", "Card")
FIRST_NAMES = (
    "Alice",
    "Bob",
    "Carla",
    "Dante",
    "Elena",
    "Felipe",
    "Grace",
    "Hector",
    "Isabel",
    "Jose",
    "Karen",
    "Luis",
    "Maria",
    "Nico",
    "Olivia",
    "Paolo",
    "Queenie",
    "Ramon",
    "Sofia",
    "Tomas",
)
LAST_NAMES = (
    "Johnson",
    "Reyes",
    "Santos",
    "Cruz",
    "Bautista",
    "Garcia",
    "Mendoza",
    "Torres",
    "Flores",
    "Villanueva",
    "Ramos",
    "Aquino",
    "Castillo",
    "Navarro",
    "Domingo",
)
CITIES = ("Makati City", "Quezon City", "Pasig City", "Taguig City", "Cebu City", "Davao City", "Manila")
PRODUCTS = (
    "Office furniture",
    "Delivery van",
    "POS terminals",
    "Refrigeration unit",
    "Laptops",
    "Construction materials",
    "Printing press",
    "Solar panels",
    "Kitchen equipment",
    "Aircon units",
)


@dataclass
class Totals:
    clients: int = 0
    invoices: int = 0
    installments: int = 0
    payments: int = 0
    allocations: int = 0


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    """A random amount between low and high pesos, in whole cents (no floats)."""
    return Decimal(rng.randint(low * 100, high * 100)).scaleb(-2)


def _split_cents(rng: random.Random, total: Decimal, parts: int) -> list[Decimal]:
    """Split ``total`` into ``parts`` positive amounts (random cut points, whole cents)."""
    cents = int(total.scaleb(2))
    parts = max(1, min(parts, cents))
    cuts = sorted(rng.sample(range(1, cents), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, cents]
    return [Decimal(b - a).scaleb(-2) for a, b in zip(bounds, bounds[1:], strict=False)]


def generate(
    clients: int, invoices_per_client: int, payments_per_invoice: int, seed: int = 2026, progress=print
) -> Totals:
    """Write the demo sign-ins and ``clients`` clients with their books; the database must be empty."""
    if db.session.scalar(select(func.count(Client.id))):
        raise click.ClickException("gen-demo fills an empty database; point DATABASE_URL at a new one.")
    # The business the demo books belong to (its invoices' documents name it).
    services.save_business_profile(Actor.system("gen-demo"), DEMO_PROFILE)
    rng = random.Random(seed)
    today = clock.today()
    currency = current_app.config["AIS_CURRENCY"]
    started = time.perf_counter()
    totals = Totals()
    now = clock.utcnow()

    client_rows = []
    for number in range(1, clients + 1):
        if number == 1:
            name, company, city = "Alice Johnson", "AJ Trading", "Makati City"
        else:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            company = f"{name.split()[1]} {rng.choice(('Trading', 'Supplies', 'Enterprises', 'Foods', 'Builders'))}"
            city = rng.choice(CITIES)
        client_rows.append(
            dict(
                id=number,
                name=name,
                email=f"client{number}@example.com",
                company=company,
                phone=f"+63 917 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                tax_id="",
                address=city,
                created_at=now,
            )
        )
    _bulk(Client, client_rows)
    totals.clients = clients
    _bulk(
        User,
        [
            dict(
                id=1,
                username="admin",
                password_hash=hash_password("admin123"),
                role="owner",
                client_id=None,
                is_enabled=True,
                totp_enabled=False,
                created_at=now,
            ),
            dict(
                id=2,
                username="client1@example.com",
                password_hash=hash_password("clientpass"),
                role="client",
                client_id=1,
                is_enabled=True,
                totp_enabled=False,
                created_at=now,
            ),
        ],
    )
    progress(f"clients: {clients} written")

    # Invoices are numbered per year in order of issue, as issuing them one by one would.
    specs = []
    for client_id in range(1, clients + 1):
        for _ in range(invoices_per_client):
            issue_date = today - timedelta(days=rng.randint(0, 730))
            specs.append((issue_date, client_id))
    specs.sort()
    counters: dict[int, int] = defaultdict(int)
    invoice_rows, line_rows, installment_rows, payment_rows, allocation_rows = [], [], [], [], []
    installment_id = payment_id = allocation_id = 0
    for invoice_id, (issue_date, client_id) in enumerate(specs, start=1):
        counters[issue_date.year] += 1
        invoice_no = rules.format_invoice_number(issue_date.year, counters[issue_date.year])
        amount = _money(rng, 1_000, 200_000)
        if rng.random() < 0.4:
            payment_type, count, frequency = FULL_PAYMENT, 1, None
            first_due = issue_date + timedelta(days=rng.choice((15, 30, 45)))
        else:
            payment_type, count = INSTALLMENT, rng.choice((3, 4, 5, 6, 10, 12))
            frequency = rng.choice(rules.FREQUENCIES)
            first_due = issue_date + timedelta(days=rng.choice((7, 14, 30)))
        schedule = rules.build_schedule(amount, count, first_due, frequency or rules.MONTHLY)
        line_rows.append(
            dict(
                invoice_id=invoice_id,
                position=1,
                description=rng.choice(PRODUCTS),
                quantity=Decimal("1.000"),
                unit_price=amount.quantize(Decimal("0.0001")),
                tax_rate=None,
                net_amount=amount,
                tax_amount=Decimal("0.00"),
            )
        )

        # How much has come in: most past-due money is paid, some is late, some is overpaid never.
        due_so_far = sum((i.amount for i in schedule if i.due_date <= today), Decimal("0.00"))
        roll = rng.random()
        if roll < 0.15:
            target = Decimal("0.00")
        elif roll < 0.35:
            target = (due_so_far * Decimal(rng.randint(30, 90)) / 100).quantize(CENT)
        else:
            target = max(due_so_far, schedule[0].amount if rng.random() < 0.3 else due_so_far)
        target = min(target, amount)
        paid_on_choices = max(0, (today - issue_date).days)
        payments: list[dict[str, Any]] = []
        if target > 0:
            # Invoices with money on them get a little more than K, so the average over all is about K.
            pieces = _split_cents(rng, target, max(1, payments_per_invoice + rng.randint(-1, 3)))
            days = sorted(rng.randint(0, paid_on_choices) for _ in pieces)
            for piece, offset in zip(pieces, days, strict=False):
                payment_id += 1
                payments.append(
                    dict(
                        id=payment_id,
                        invoice_id=invoice_id,
                        client_id=client_id,
                        amount=piece,
                        method=rng.choice(METHODS),
                        date=issue_date + timedelta(days=offset),
                        reference=f"REF-{payment_id:07d}",
                        installment_number=None,
                        state=CONFIRMED,
                        state_reason="",
                        state_changed_at=now,
                        recorded_by_id=None,
                        provider="manual",
                        provider_reference=None,
                        submission_key=None,
                        created_at=now,
                    )
                )
        # A few payments wait for the owner, a few were voided: both leave the paid total alone.
        for payment in payments:
            dice = rng.random()
            if dice < 0.03:
                payment["state"] = REPORTED
            elif dice < 0.05:
                payment["state"], payment["state_reason"] = VOIDED, "Bounced"
        confirmed = [p for p in payments if p["state"] == CONFIRMED]
        allocations = rules.allocate(
            [rules.PaymentIn(id=p["id"], date=p["date"], amount=p["amount"]) for p in confirmed],
            [rules.InstallmentIn(number=i.number, amount=i.amount) for i in schedule],
        )
        first_numbers = rules.first_installment_numbers(allocations)
        paid_by_number = rules.installment_paid_amounts(allocations)
        ids_by_number = {}
        for item in schedule:
            installment_id += 1
            ids_by_number[item.number] = installment_id
            installment_rows.append(
                dict(
                    id=installment_id,
                    invoice_id=invoice_id,
                    number=item.number,
                    due_date=item.due_date,
                    amount=item.amount,
                    paid_amount=paid_by_number.get(item.number, Decimal("0.00")),
                )
            )
        for allocation in allocations:
            allocation_id += 1
            allocation_rows.append(
                dict(
                    id=allocation_id,
                    payment_id=allocation.payment_id,
                    installment_id=ids_by_number[allocation.installment_number],
                    amount=allocation.amount,
                )
            )
        for payment in payments:
            payment["installment_number"] = first_numbers.get(payment["id"])
        payment_rows.extend(payments)
        unpaid_dates = [i.due_date for i in schedule if paid_by_number.get(i.number, Decimal("0.00")) < i.amount]
        invoice_rows.append(
            dict(
                id=invoice_id,
                invoice_no=invoice_no,
                client_id=client_id,
                description=f"{line_rows[-1]['description']} ({'installment plan' if count > 1 else 'full payment'})",
                issue_date=issue_date,
                due_date=first_due,
                amount=amount,
                currency=currency,
                payment_type=payment_type,
                installment_count=count,
                frequency=frequency,
                issued_at=now,
                voided_at=None,
                void_reason="",
                paid_amount=sum((p["amount"] for p in confirmed), Decimal("0.00")),
                held_amount=sum((p["amount"] for p in payments if p["state"] == REPORTED), Decimal("0.00")),
                next_due_date=min(unpaid_dates) if unpaid_dates else None,
                created_at=now,
            )
        )
    progress(f"invoices: {len(invoice_rows)} computed ({time.perf_counter() - started:.1f}s)")
    for model, rows in (
        (Invoice, invoice_rows),
        (InvoiceLine, line_rows),
        (Installment, installment_rows),
        (Payment, payment_rows),
        (Allocation, allocation_rows),
    ):
        _bulk(model, rows, progress)
    _bulk(InvoiceCounter, [dict(year=year, last_number=n) for year, n in counters.items()])
    _bulk(MonthlyTotal, _monthly_totals(invoice_rows, installment_rows, payment_rows))
    _bulk(
        DueDayTotal,
        [dict(day=day, **values) for day, values in sorted(_due_day_totals(installment_rows, payment_rows).items())],
    )
    _bulk(ClientDueDayTotal, _client_due_day_totals(invoice_rows, installment_rows), progress)
    client_changes = _opened_and_paid(invoice_rows, installment_rows, payment_rows, allocation_rows)
    changes = books.by_due_day(client_changes)
    balances = books.running_balances(changes)
    _bulk(DueDayBalance, [dict(due_day=key, day=day, open=open_) for (key, day), open_ in balances.items()], progress)
    _bulk(BalanceDueDay, [dict(due_day=due_day) for due_day in sorted({key for key, _ in balances})])
    month_balances = books.running_balances(books.by_due_month(changes))
    _bulk(DueMonthBalance, [dict(due_month=key, day=day, open=open_) for (key, day), open_ in month_balances.items()])
    _bulk(BalanceDueMonth, [dict(due_month=month) for month in sorted({key for key, _ in month_balances})])
    _bulk(
        ClientOpenChange,
        [
            dict(client_id=client_id, day=day, due_day=due_day, change=change)
            for (client_id, day, due_day), change in sorted(client_changes.items())
            if change
        ],
        progress,
    )
    counts = books.owing_counts((client_id, day, change) for (client_id, day, _), change in client_changes.items())
    _bulk(OwingClientCount, [dict(day=day, owing=owing) for day, owing in sorted(counts.items())])
    _reset_sequences()
    db.session.commit()
    totals.invoices, totals.installments = len(invoice_rows), len(installment_rows)
    totals.payments, totals.allocations = len(payment_rows), len(allocation_rows)
    progress(
        f"done in {time.perf_counter() - started:.1f}s: {totals.clients} clients, {totals.invoices} invoices, "
        f"{totals.installments} installments, {totals.payments} payments, {totals.allocations} allocations"
    )
    return totals


def _monthly_totals(invoice_rows, installment_rows, payment_rows) -> list[dict]:
    """The monthly running totals the service layer would have kept for these rows."""
    months: dict = defaultdict(
        lambda: dict(
            invoiced=ZERO, collected=ZERO, unpaid_due=ZERO, unpaid_count=0, awaiting_amount=ZERO, awaiting_count=0
        )
    )
    for row in invoice_rows:
        months[month_of(row["issue_date"])]["invoiced"] += row["amount"]
    for row in payment_rows:
        if row["state"] == CONFIRMED:
            months[month_of(row["date"])]["collected"] += row["amount"]
        elif row["state"] == REPORTED:
            month = months[month_of(row["date"])]
            month["awaiting_amount"] += row["amount"]
            month["awaiting_count"] += 1
    for day, values in _due_day_totals(installment_rows, []).items():
        month = months[month_of(day)]
        month["unpaid_due"] += values["unpaid_due"]
        month["unpaid_count"] += values["unpaid_count"]
    return [dict(month=month, **values) for month, values in sorted(months.items())]


def _due_day_totals(installment_rows, payment_rows) -> dict:
    """Unpaid installments per due day (every generated invoice is issued and open) and confirmed
    payments per payment day."""
    days: dict = defaultdict(lambda: dict(unpaid_due=ZERO, unpaid_count=0, collected=ZERO))
    for row in installment_rows:
        if row["paid_amount"] < row["amount"]:
            day = days[row["due_date"]]
            day["unpaid_due"] += row["amount"] - row["paid_amount"]
            day["unpaid_count"] += 1
    for row in payment_rows:
        if row["state"] == CONFIRMED:
            days[row["date"]]["collected"] += row["amount"]
    return days


def _client_due_day_totals(invoice_rows, installment_rows) -> list[dict]:
    """Unpaid installments per client and due day (every generated invoice is issued and open)."""
    client_of = {row["id"]: row["client_id"] for row in invoice_rows}
    totals: dict = defaultdict(lambda: dict(unpaid_due=ZERO, unpaid_count=0))
    for row in installment_rows:
        if row["paid_amount"] < row["amount"]:
            total = totals[(client_of[row["invoice_id"]], row["due_date"])]
            total["unpaid_due"] += row["amount"] - row["paid_amount"]
            total["unpaid_count"] += 1
    return [
        dict(client_id=client_id, due_day=due_day, **values) for (client_id, due_day), values in sorted(totals.items())
    ]


def _opened_and_paid(invoice_rows, installment_rows, payment_rows, allocation_rows) -> dict:
    """What each client's installments due each day opened and what payments took off them, per
    (client, day, due day), as ``books.client_opened_and_paid`` (every generated invoice is issued
    and open, and none has a late fee): each installment opens on its invoice's issue date, each
    allocation takes its amount off on its payment's date (or the issue date, if later)."""
    invoices = {row["id"]: (row["client_id"], row["issue_date"]) for row in invoice_rows}
    installments = {row["id"]: (*invoices[row["invoice_id"]], row["due_date"]) for row in installment_rows}
    paid_on = {row["id"]: row["date"] for row in payment_rows if row["state"] == CONFIRMED}
    changes: dict = defaultdict(lambda: ZERO)
    for row in installment_rows:
        client_id, billed, due_day = installments[row["id"]]
        changes[(client_id, billed, due_day)] += row["amount"]
    for row in allocation_rows:
        if row["payment_id"] in paid_on:
            client_id, billed, due_day = installments[row["installment_id"]]
            changes[(client_id, max(paid_on[row["payment_id"]], billed), due_day)] -= row["amount"]
    return changes


def _bulk(model, rows: list[dict], progress=None) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(model), rows[start : start + CHUNK])
    if progress and rows:
        progress(f"{model.__tablename__}: {len(rows)} written")


def _reset_sequences() -> None:
    """Rows were written with explicit ids; move PostgreSQL's sequences past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("clients", "users", "invoices", "invoice_lines", "installments", "payments", "allocations"):
        # The table names are the constants above, never input.
        statement = (
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # nosec B608
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )
        db.session.execute(text(statement))


def register_commands(app: Flask) -> None:
    @app.cli.command("gen-demo")
    @click.option("--clients", default=300, show_default=True, help="Number of clients.")
    @click.option("--invoices", default=20, show_default=True, help="Invoices per client.")
    @click.option("--payments", default=6, show_default=True, help="About this many payments per invoice.")
    @click.option("--seed", default=2026, show_default=True, help="Random seed (same seed, same books).")
    def gen_demo(clients: int, invoices: int, payments: int, seed: int) -> None:
        """Fill an empty database with the demo sign-ins and a large, consistent set of books."""
        if current_app.config["AIS_ENV"] == "production":
            raise click.ClickException("gen-demo makes demo accounts with weak passwords; it never runs in production.")
        if clients < 1 or invoices < 1 or payments < 0:
            raise click.BadParameter("clients and invoices must be at least 1, payments at least 0")
        from flask_migrate import upgrade

        upgrade()
        generate(clients, invoices, payments, seed=seed, progress=click.echo)
        click.get_current_context().exit(rebuild_ledger())  # the ledger of the bulk rows, from their history
