"""``flask --app ais reminders [--dry-run]``: queue the reminders due today (safe to run often)."""

from __future__ import annotations

import click
from flask import Flask

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


def register_commands(app: Flask) -> None:
    @app.cli.command("reminders")
    @click.option("--dry-run", is_flag=True, help="List the reminders due today without queuing them.")
    def reminders_command(dry_run: bool):
        """Queue today's installment reminders in the outbox (each installment and step once)."""
        click.get_current_context().exit(reminders(dry_run))
