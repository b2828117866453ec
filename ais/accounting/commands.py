"""``flask --app ais ledger rebuild [--dry-run] [--force]``."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask

from ..billing import ledger, periods, rebuild
from ..database import write_transaction


def rebuild_ledger(dry_run: bool = False, force: bool = False, echo=click.echo, progress: bool = True) -> int:
    """Post the history of the books in event order, in one transaction (all or nothing), with the
    bulk writer of ais.billing.rebuild (the service layer's posting rules, written in batches).

    Refuses when the ledger has entries, unless ``force`` (then it is erased and posted again: the
    same books give the same ledger).  ``dry_run`` counts the events and writes nothing."""
    existing = ledger.entry_count()
    closed_through = periods.last_closed_month()
    if closed_through is not None and not dry_run:
        echo(
            f"The books are closed through {closed_through:%B %Y}: the rebuild posts every event on its own date, "
            "so reopen the closed months first (/ledger/periods), rebuild, then close them again.",
            err=True,
        )
        return 1
    if existing and not force and not dry_run:
        echo(f"The ledger already has {existing} entries: add --force to erase and rebuild it.", err=True)
        return 1
    events = ledger.history()
    if dry_run:
        kinds = ("invoices issued", "credit notes", "payments", "overpayments", "payments voided",
                 "overpayments refunded", "invoices voided", "late fees charged", "late fees waived",
                 "late fees voided", "customer credits refunded")  # fmt: skip
        for kind, name in enumerate(kinds):
            echo(f"{sum(1 for event in events if event.kind == kind)} {name}")
        echo(
            f"Dry run: {len(events)} events would be posted"
            + (f" (after erasing {existing} entries)." if existing else ".")
        )
        return 0
    with write_transaction():
        periods.lock_posting()
        if periods.last_closed_month() is not None:  # closed meanwhile
            echo("A month was closed meanwhile: nothing was rebuilt.", err=True)
            return 1
        ledger.erase()  # (an empty ledger may still have counters or running balances)
        if progress:
            with click.progressbar(length=len(events), label="Posting the ledger") as bar:
                posted = rebuild.post_history(events, open_from=None, progress=bar.update)
        else:
            posted = rebuild.post_history(events, open_from=None)
    echo(f"Ledger rebuilt: {len(events)} events, {posted} entries.")
    return 0


def export_beancount(output: str, as_of: date | None, echo=click.echo, progress: bool = True) -> int:
    """Write the ledger (up to ``as_of``) as a Beancount file to ``output`` ("-": standard output)."""
    from . import plaintext

    total = plaintext.entry_count(as_of)
    stream = click.open_file(output, "w", encoding="utf-8", lazy=False)
    try:
        if progress and output != "-":
            with click.progressbar(length=total, label="Writing the ledger") as bar:
                written = plaintext.write_beancount(stream, as_of, progress=bar.update)
        else:
            written = plaintext.write_beancount(stream, as_of)
    finally:
        if output != "-":
            stream.close()
    if output != "-":
        echo(f"Wrote {written} transactions to {output}.")
    return 0


def register_commands(app: Flask) -> None:
    @app.cli.group("ledger")
    def ledger_group():
        """The double-entry ledger (docs/ACCOUNTING.md)."""

    @ledger_group.command("rebuild")
    @click.option("--dry-run", is_flag=True, help="Count the events to post; write nothing.")
    @click.option("--force", is_flag=True, help="Erase the entries there are and post them again.")
    def ledger_rebuild_command(dry_run: bool, force: bool):
        """Post the history of the books to the ledger, in event order."""
        click.get_current_context().exit(rebuild_ledger(dry_run=dry_run, force=force))

    @app.cli.command("export-beancount")
    @click.option("--output", default="-", show_default=True, help="The file to write ('-': standard output).")
    @click.option(
        "--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Only entries up to this day."
    )
    def export_beancount_command(output: str, as_of):
        """Write the ledger as a Beancount file (docs/ACCOUNTING.md)."""
        click.get_current_context().exit(export_beancount(output, as_of.date() if as_of else None))
