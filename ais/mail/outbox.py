"""The email outbox: messages are queued in the same transaction as the change that causes them.

Delivery (``flask --app ais outbox``) is in ais.mail.delivery.
"""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import OutboxMessage


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
