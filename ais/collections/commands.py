"""``flask --app ais reminders [--dry-run]``: queue the reminders due today (safe to run often);
``flask --app ais late-fees [--dry-run]``: charge the late fees due today (the same)."""

from __future__ import annotations

import click
from flask import Flask

from ..billing.late_fees import charge_late_fees
from ..billing.reminders import run_reminders
from ..formatting import format_money


def reminders(dry_run: bool, echo=click.echo) -> int:
    """Queue (or, on a dry run, list) today's reminders; each line names one installment."""
    queued = run_reminders(dry_run=dry_run)
    for item in queued:
        echo(
            f"{item.invoice_no} installment {item.installment_number} ({item.step}): "
            f"{format_money(item.amount)} → {item.to_address}"
        )
    invoices = len({item.invoice_id for item in queued})
    if dry_run:
        echo(f"Dry run: {len(queued)} reminder(s) on {invoices} invoice(s) would be queued; nothing was written.")
    else:
        echo(f"Reminders: {len(queued)} queued on {invoices} invoice(s); the outbox delivers them.")
    return 0


def late_fees(dry_run: bool, echo=click.echo) -> int:
    """Charge (or, on a dry run, list) today's late fees; each line names one installment."""
    charged = charge_late_fees(dry_run=dry_run)
    for item in charged:
        echo(
            f"{item.invoice_no} installment {item.installment_number}: late fee {format_money(item.amount)} "
            f"on {format_money(item.base)}"
        )
    invoices = len({item.invoice_id for item in charged})
    if dry_run:
        echo(f"Dry run: {len(charged)} late fee(s) on {invoices} invoice(s) would be charged; nothing was written.")
    else:
        echo(f"Late fees: {len(charged)} charged on {invoices} invoice(s).")
    return 0


def register_commands(app: Flask) -> None:
    @app.cli.command("late-fees")
    @click.option("--dry-run", is_flag=True, help="List the late fees due today without charging them.")
    def late_fees_command(dry_run: bool):
        """Charge the late fees due today (each installment once; off unless the owner turned them on)."""
        click.get_current_context().exit(late_fees(dry_run))

    @app.cli.command("reminders")
    @click.option("--dry-run", is_flag=True, help="List the reminders due today without queuing them.")
    def reminders_command(dry_run: bool):
        """Queue today's installment reminders in the outbox (each installment and step once)."""
        click.get_current_context().exit(reminders(dry_run))
