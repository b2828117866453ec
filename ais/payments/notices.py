"""The owner's email when online money could not be applied (queued in the outbox, once)."""

from __future__ import annotations

from flask import current_app

from ..billing.notices import owner_addresses, send_notice
from ..models import Overpayment


def overpayment_flagged(flagged: Overpayment) -> None:
    invoice = flagged.invoice
    subject = "Online payment to refund or credit" + (f" on {invoice.invoice_no}" if invoice else "")
    link = current_app.config["AIS_BASE_URL"].rstrip("/") + "/dashboard"
    for address in owner_addresses():
        send_notice(
            address,
            "overpayment_flagged",
            subject,
            f"overpayment:{flagged.id}:{address}",
            overpayment=flagged,
            invoice=invoice,
            client=flagged.client,
            link=link,
        )
