"""``flask --app ais outbox [--once] [--interval N] [--limit N]``: deliver queued emails;
``flask --app ais outbox-prune [--days N]``: delete sent messages past their retention."""

from __future__ import annotations

import signal
import time

import click
from flask import Flask

MAX_IDLE_WAIT = 300.0  # seconds: the longest pause between polls while every send fails
PRUNE_EVERY = 3600.0  # seconds between prunes in the long-running worker


def next_wait(wait: float, interval: float, sent: int, failed: int) -> float:
    """The pause before the next poll: ``interval``, doubled (up to MAX_IDLE_WAIT) after each
    poll in which every send failed (the SMTP server is down or hanging)."""
    if failed and not sent:
        return min(max(wait, interval) * 2, MAX_IDLE_WAIT)
    return interval


def register_commands(app: Flask) -> None:
    @app.cli.command("outbox")
    @click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
    @click.option(
        "--interval",
        default=5.0,
        show_default=True,
        type=click.FloatRange(min=0.1),
        help="Seconds between polls when running continuously.",
    )
    @click.option(
        "--limit",
        default=100,
        show_default=True,
        type=click.IntRange(min=1),
        help="At most this many messages per poll.",
    )
    def outbox_command(once: bool, interval: float, limit: int):
        """Send due emails from the outbox (runs until stopped, unless --once)."""
        from .delivery import deliver_due, prune_sent

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
        wait = interval
        last_prune = 0.0
        while not stopping["now"]:
            if time.monotonic() - last_prune >= PRUNE_EVERY:
                pruned = prune_sent()
                last_prune = time.monotonic()
                if pruned:
                    click.echo(f"Outbox: {pruned} sent message(s) past their retention deleted.")
            sent, failed = deliver_due(limit)
            if sent or failed:
                click.echo(f"Outbox: {sent} sent, {failed} failed (will be retried).")
            wait = next_wait(wait, interval, sent, failed)
            if sent + failed >= limit and not failed:
                continue  # more may be waiting
            waited = 0.0
            while waited < wait and not stopping["now"]:
                time.sleep(min(0.2, wait - waited))
                waited += 0.2
        click.echo("Outbox: stopped.")

    @app.cli.command("outbox-prune")
    @click.option(
        "--days",
        type=click.IntRange(min=0),
        default=None,
        help="Keep sent messages this many days (default: AIS_OUTBOX_RETENTION_DAYS, 30).",
    )
    def outbox_prune_command(days: int | None):
        """Delete sent emails older than the retention; unsent ones are kept."""
        from .delivery import prune_sent

        click.echo(f"Outbox: {prune_sent(days)} sent message(s) deleted.")
