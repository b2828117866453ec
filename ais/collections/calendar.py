"""The client's calendar: an iCalendar feed (RFC 5545, the ``icalendar`` library) of their unpaid
installments at a secret address, ``/calendar/<key>.<mac>.ics``.

The address is the client's ``calendar_key`` (random, stored) and an HMAC of it under SECRET_KEY
(not stored): a copy of the database alone opens no feed, and the client can see the address
again at any time in the portal.  Resetting makes a new key, so the old address is a 404 from then
on.  (Rotating SECRET_KEY also changes every address: clients subscribe again.)

Each unpaid installment of an issued, non-void invoice is one all-day event on its due date whose
UID is the installment's, so a calendar that refreshes the subscription sees it move or go when
the plan is re-planned or paid.  The feed reads the client's open invoices only.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Calendar, Event
from sqlalchemy import select

from .. import audit, clock
from ..audit import Actor
from ..billing.reads import MAX_ID
from ..database import write_transaction
from ..extensions import db
from ..formatting import format_money
from ..links import external_url
from ..models import Client, Installment, Invoice

MAC_LENGTH = 32


def _mac(key: str) -> str:
    secret = current_app.config["SECRET_KEY"]
    secret_bytes = secret if isinstance(secret, bytes) else str(secret).encode()
    digest = hmac.new(secret_bytes, f"ais-calendar:{key}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:MAC_LENGTH]


def address_token(key: str) -> str:
    """The secret part of the calendar address for ``key``."""
    return f"{key}.{_mac(key)}"


def address(key: str) -> str:
    """The full calendar address for ``key`` (on AIS_BASE_URL, like the links in emails)."""
    return external_url("calendar.feed", token=address_token(key))


def client_for_token(token: str) -> int | None:
    """The client whose calendar address this is, or None (unknown, reset, forged or malformed)."""
    key, _, mac = (token or "").partition(".")
    if not key or len(key) > 32 or len(mac) != MAC_LENGTH or not hmac.compare_digest(mac, _mac(key)):
        return None
    return db.session.scalar(select(Client.id).where(Client.calendar_key == key))


def calendar_key_of(client_id: int) -> str | None:
    if not 0 < client_id <= MAX_ID:
        return None
    return db.session.scalar(select(Client.calendar_key).where(Client.id == client_id))


def reset_calendar_address(actor: Actor, client_id: int) -> None:
    """Give the client a new calendar address (the first one, or instead of one they shared)."""
    with write_transaction():
        client = db.session.get(Client, client_id, with_for_update=True)
        if client is None:
            raise LookupError("No such client.")
        client.calendar_key = secrets.token_urlsafe(16)
        audit.record(actor, "client.calendar_address_reset", client_id=client_id)


def feed(client_id: int) -> bytes:
    """The client's unpaid installments as an iCalendar document (one statement)."""
    config = current_app.config
    base = config["AIS_BASE_URL"].rstrip("/")
    host = urlsplit(base).hostname or "ais"
    rows = db.session.execute(
        select(
            Installment.id,
            Installment.number,
            Installment.due_date,
            Installment.amount,
            Installment.paid_amount,
            Invoice.id.label("invoice_id"),
            Invoice.invoice_no,
            Invoice.installment_count,
            Invoice.currency,
        )
        .join(Invoice, Invoice.id == Installment.invoice_id)
        .where(
            Invoice.client_id == client_id,
            Invoice.issued_at.is_not(None),
            Invoice.voided_at.is_(None),
            Invoice.paid_amount < Invoice.amount,
            Installment.paid_amount < Installment.amount,
        )
        .order_by(Installment.due_date, Installment.invoice_id, Installment.number)
    ).all()
    calendar = Calendar()
    calendar.add("prodid", "-//AIS//Installments//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{config['AIS_BUSINESS_NAME']}: payments due")
    calendar.add("x-wr-timezone", config["AIS_TIMEZONE"])
    stamp = clock.utcnow()
    for row in rows:
        unpaid = format_money(row.amount - row.paid_amount, row.currency)
        link = external_url("portal.invoice_detail", invoice_id=row.invoice_id)
        event = Event()
        event.add("uid", f"installment-{row.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", row.due_date)
        event.add("dtend", row.due_date + dt.timedelta(days=1))
        event.add("summary", f"Pay {unpaid}: {row.invoice_no} ({row.number} of {row.installment_count})")
        event.add(
            "description",
            f"Installment {row.number} of {row.installment_count} of invoice {row.invoice_no}: "
            f"{unpaid} still to pay.\nPay online or report a payment: {link}",
        )
        event.add("url", link)
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()
