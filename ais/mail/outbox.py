"""The email outbox: messages are queued in the same transaction as the change that causes them.

Delivery (``flask --app ais outbox``) is in ais.mail.delivery.
"""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import OutboxMessage

# Messages whose recipient and content are decided at delivery, not when queued: dedupe_key
# prefix -> a function of the claimed row that fills it in and returns True to send it, or returns
# False to drop it.  So a request that must not reveal anything (a password reset) does the same
# work whatever it is asked, and the lookup that tells the cases apart happens in the worker.
PREPARERS: dict = {}


def register_preparer(prefix: str, prepare) -> None:
    PREPARERS[prefix] = prepare


def preparer_for(row: OutboxMessage):
    key = row.dedupe_key or ""
    return next((prepare for prefix, prepare in PREPARERS.items() if key.startswith(prefix)), None)


def queue_email(
    to_address: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    *,
    dedupe_key: str | None = None,
    attachment: str = "",
) -> None:
    """Queue one email in the current transaction; a message with the same dedupe_key is queued once.
    ``attachment`` names a document rendered when the message is sent (e.g. ``receipt:42``)."""
    if dedupe_key is not None:
        exists = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
        if exists is not None:
            return
    db.session.add(
        OutboxMessage(
            dedupe_key=dedupe_key,
            to_address=to_address,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            attachment=attachment,
        )
    )
