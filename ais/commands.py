"""The books' commands: ``flask --app ais seed | check | backfill-installments | backfill-vat``."""

from __future__ import annotations

import click
from flask import Flask, current_app

from . import clock
from .billing import books
from .billing.checks import counts, find_problems, totals_drift
from .billing.services import BillingError, fill_vat_from_lines, reallocate_all
from .database import write_transaction
from .demo import demo_loaded, load_demo
from .payments.services import overpayment_lines


def seed(echo=click.echo) -> int:
    """Build the schema (migrations) and load the demo once.  Returns the exit code.

    Refuses in production: the demo's passwords are public.
    """
    if current_app.config.get("AIS_ENV") == "production":
        echo("Refusing to seed: AIS_ENV is production, and the demo's logins have public passwords.", err=True)
        return 1
    from flask_migrate import upgrade

    upgrade()
    if demo_loaded():
        echo("Demo data already loaded.")
        return 0
    try:
        load_demo(clock.today())
    except BillingError as error:
        echo(f"Could not load the demo: {error.message} (is another copy of it partly loaded?)", err=True)
        return 1
    echo("Demo data loaded: owner admin / admin123; clients client1@example.com and client2@example.com / clientpass.")
    return 0


def check(echo=click.echo) -> int:
    """Print every broken invariant; 1 if any, else 0 with a summary."""

    problems = find_problems()
    for problem in problems:
        echo(problem)
    # Money received beyond an invoice is the owner's to refund or credit: listed, never a failure.
    for line in overpayment_lines():
        echo(f"Notice: {line}")
    if problems:
        echo(f"{len(problems)} problem(s) found.", err=True)
        return 1
    totals = counts()
    echo(f"OK: {totals.invoices} invoices, {totals.payments} payments checked")
    return 0


def backfill(dry_run: bool, echo=click.echo) -> int:
    """Recompute every issued invoice's allocation and installment numbers; print what changed."""

    changes = reallocate_all(dry_run=dry_run)
    numbers = 0
    for change in changes:
        for payment_id, (old, new) in sorted(change.payment_numbers.items()):
            numbers += 1
            echo(f"{change.invoice_no}: payment {payment_id}: installment {_number(old)} → {_number(new)}")
        if change.allocations_changed:
            echo(f"{change.invoice_no}: allocations rewritten")
    if not changes:
        echo("Nothing to change: every allocation and installment number is up to date.")
    elif dry_run:
        echo(f"Dry run: {len(changes)} invoice(s) would change ({numbers} installment number(s)); nothing was written.")
    else:
        echo(f"Updated {len(changes)} invoice(s) ({numbers} installment number(s)).")
    return 0


def backfill_vat(dry_run: bool, echo=click.echo) -> int:
    """Give the invoices the previous release wrote (after a rollback) their VAT summary."""
    changed = fill_vat_from_lines(dry_run=dry_run)
    for label in changed:
        echo(f"{label}: VAT summary computed from its lines")
    if not changed:
        echo("Nothing to change: every invoice has its VAT summary.")
    elif dry_run:
        echo(f"Dry run: {len(changed)} invoice(s) would change; nothing was written.")
    else:
        echo(f"Updated {len(changed)} invoice(s). Then run: flask --app ais ledger rebuild --force")
    return 0


def rebuild_totals(dry_run: bool, echo=click.echo) -> int:
    """Recompute the running totals (monthly_totals, due_day_totals, client_due_day_totals,
    due_day_balances, due_month_balances, client_open_changes, owing_client_counts) from the
    books and, unless a dry
    run, replace them: the remedy when `check` finds them drifted (e.g. after the previous release
    served on the new schema)."""
    drift = totals_drift()
    for line in drift:
        echo(line)
    if dry_run:
        echo(
            f"Dry run: {'the totals disagree with the books' if drift else 'the totals agree with the books'}; "
            "nothing was written."
        )
        return 0
    with write_transaction():
        months, days, client_days, balances, month_balances, changes, counts = books.rebuild_totals()
    echo(
        f"Running totals rebuilt: {months} month(s), {days} day(s), {client_days} due day(s) of owing "
        f"clients, {balances} open balance(s) per due day and day, "
        f"{month_balances} per due month and day, {changes} change(s) per client, day and due day, "
        f"{counts} day(s) on which the number of owing clients changed."
    )
    return 0


def _number(value: int | None) -> str:
    return "none" if value is None else str(value)


def register_commands(app: Flask) -> None:
    @app.cli.command("seed")
    def seed_command():
        """Create the schema if needed and load the demo data (not in production)."""
        click.get_current_context().exit(seed())

    @app.cli.command("check")
    def check_command():
        """Verify the books' invariants; exit 1 and list the problems if any."""
        click.get_current_context().exit(check())

    @app.cli.command("backfill-installments")
    @click.option("--dry-run", is_flag=True, help="Show what would change without writing anything.")
    def backfill_command(dry_run: bool):
        """Recompute allocations and payments' installment numbers for every issued invoice."""
        click.get_current_context().exit(backfill(dry_run))

    @app.cli.command("rebuild-totals")
    @click.option("--dry-run", is_flag=True, help="Show what disagrees without writing anything.")
    def rebuild_totals_command(dry_run: bool):
        """Recompute the running totals (per month, due day, client and due day, day) from the books."""
        click.get_current_context().exit(rebuild_totals(dry_run))

    @app.cli.command("backfill-vat")
    @click.option("--dry-run", is_flag=True, help="Show what would change without writing anything.")
    def backfill_vat_command(dry_run: bool):
        """Compute the VAT summary of invoices the previous release (0.8) wrote, from their lines."""
        click.get_current_context().exit(backfill_vat(dry_run))
