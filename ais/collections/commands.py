"""The collections commands, all safe to run as often as one likes:

* ``flask --app ais reminders [--dry-run]``: queue the reminders due today;
* ``flask --app ais late-fees [--dry-run]``: charge the late fees due today;
* ``flask --app ais statements [--period YYYY-MM] [--output-dir DIR] [--email] [--dry-run]``: the
  month's statement of account of every client with something to state, as PDF files and/or
  emailed (once per client and month).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from .. import clock
from ..billing import statements as statement_rules
from ..billing.late_fees import charge_late_fees
from ..billing.reminders import run_reminders
from ..documents import content, pdf
from ..extensions import db
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


def statement_file_name(period: str, client_id: int) -> str:
    return f"statement-{period}-client-{client_id:06d}.pdf"


def statements(
    period: str | None,
    output_dir: Path | None,
    email: bool,
    dry_run: bool,
    echo=click.echo,
    progress: bool = True,
) -> int:
    """Render (``output_dir``) and/or email (``email``) the month's statement of every active
    client with something to state (statements.has_something_to_state); each client in its own
    transaction.  Returns the exit status."""
    period = period or statement_rules.last_month(clock.today())
    try:
        start, end = statement_rules.month_period(period)
    except statement_rules.InvalidPeriod as error:
        raise click.BadParameter(str(error), param_hint="--period") from None
    if output_dir is None and not email:
        raise click.UsageError("Give --output-dir DIR (PDF files), --email (through the outbox), or both.")
    if email and not statement_rules.monthly_statements_enabled():
        echo("Monthly statements are off (Settings → Monthly statements): no statement is emailed.")
        email = False
        if output_dir is None:
            return 0
    if output_dir is not None and not dry_run:
        output_dir.mkdir(parents=True, exist_ok=True)
    clients = statement_rules.clients_to_state(end)
    db.session.commit()  # end the read: each client gets its own transaction
    written = queued = stated = 0
    label = f"Statements for {start.strftime('%B %Y')}"
    with click.progressbar(clients, label=label, hidden=not progress) as bar:
        for client_id in bar:
            has_something = False
            if output_dir is not None:
                document = content.statement_document(client_id, start, end)
                if document is not None and statement_rules.has_something_to_state(document.statement):
                    has_something = True
                    if not dry_run:
                        data = pdf.statement_pdf_bytes(document)
                        (output_dir / statement_file_name(period, client_id)).write_bytes(data)
                    written += 1
                db.session.commit()
            if email:
                sent = statement_rules.email_monthly_statement(client_id, start, end, dry_run=dry_run)
                if sent is not None:
                    queued += 1
                    has_something = True
            stated += has_something
    would = "would be " if dry_run else ""
    parts = []
    if output_dir is not None:
        parts.append(f"{written} PDF file(s) {would}written to {output_dir}")
    if email:
        parts.append(f"{queued} email(s) {would}queued (none to a client already sent this month's statement)")
    echo(f"{label}: {len(clients)} active client(s) with invoices; " + "; ".join(parts) + ".")
    if dry_run:
        echo("Dry run: nothing was written.")
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

    @app.cli.command("statements")
    @click.option("--period", metavar="YYYY-MM", help="The month to state (default: last month).")
    @click.option(
        "--output-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Write each client's statement as PDF into this folder.",
    )
    @click.option("--email", is_flag=True, help="Email each client their statement (once per client and month).")
    @click.option("--dry-run", is_flag=True, help="Say what would be written and queued, without doing it.")
    def statements_command(period: str | None, output_dir: Path | None, email: bool, dry_run: bool):
        """The month's statements of account: as PDF files, emailed through the outbox, or both."""
        click.get_current_context().exit(statements(period, output_dir, email, dry_run))
