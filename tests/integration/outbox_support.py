"""Helpers shared by the outbox tests: fill the queue fast, count what is still to send."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from ais import clock
from ais.extensions import db
from ais.models import OutboxMessage


def queue_many(app, count: int) -> None:
    now = clock.utcnow()
    rows = [
        {
            "to_address": f"c{n}@example.com",
            "subject": f"Receipt {n}",
            "body_text": "Thank you.",
            "body_html": "",
            "attempts": 0,
            "last_error": "",
            "created_at": now,
            "next_attempt_at": now,
        }
        for n in range(count)
    ]
    with app.app_context():
        for start in range(0, count, 2000):
            db.session.execute(insert(OutboxMessage), rows[start : start + 2000])
        db.session.commit()


def pending(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None)))
