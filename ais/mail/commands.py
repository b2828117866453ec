"""``flask --app ais outbox [--once] [--interval N] [--limit N]``: deliver queued emails."""
from __future__ import annotations

import signal
import time

import click
from flask import Flask


def register_commands(app: Flask) -> None:
    @app.cli.command("outbox")
    @click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
    @click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.1),
                  help="Seconds between polls when running continuously.")
    @click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1),
                  help="At most this many messages per poll.")
    def outbox_command(once: bool, interval: float, limit: int):
        """Send due emails from the outbox (runs until stopped, unless --once)."""
        from .delivery import deliver_due

        if once:
            sent, failed = deliver_due(limit)
            click.echo(f"Outbox: {sent} sent, {failed} failed (will be retried).")
            raise SystemExit(0)

        stopping = {"now": False}

        def stop(signum, frame):
            stopping["now"] = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        click.echo(f"Outbox: delivering every {interval:g}s (Ctrl+C to stop).")
        while not stopping["now"]:
            sent, failed = deliver_due(limit)
            if sent or failed:
                click.echo(f"Outbox: {sent} sent, {failed} failed (will be retried).")
            if sent + failed >= limit:
                continue  # more may be waiting
            waited = 0.0
            while waited < interval and not stopping["now"]:
                time.sleep(min(0.2, interval - waited))
                waited += 0.2
        click.echo("Outbox: stopped.")
