"""Delivering the outbox: ``deliver_due()`` sends the messages that are due, each at most once.

A message is due while ``sent_at`` is null and ``next_attempt_at <= now``.  Each message is
handled in its own short transaction:

* PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` claims one row; two workers never pick the
  same message, and ``sent_at`` is written in the same transaction right after the SMTP server
  accepted it.
* SQLite (no row locks): the row is claimed by moving ``next_attempt_at`` forward by a lease
  with a conditional UPDATE (only one worker's update matches), then sent and marked.

A failure keeps the row: ``attempts`` + 1, ``last_error``, and ``next_attempt_at`` pushed back
(1 min, 2, 4, ... capped at 1 h).  With no ``MAIL_SERVER`` the message is written to
``<instance>/outbox/<id>.eml`` instead (development).

The only way a message can go out twice is a crash between the SMTP server's "accepted" and
the commit that follows it; there is no way around that window with SMTP.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from flask import current_app
from sqlalchemy import and_, or_, select, update

from ..clock import utcnow
from ..extensions import db
from ..models import OutboxMessage

log = logging.getLogger("ais.mail")

BASE_BACKOFF = dt.timedelta(minutes=1)
MAX_BACKOFF = dt.timedelta(hours=1)
LEASE = dt.timedelta(minutes=5)  # SQLite claim; longer than any send (the SMTP timeout is 30 s)
SMTP_TIMEOUT = 30


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failure: 1 min * 2**(attempts-1), at most 1 h."""
    return min(BASE_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def build_message(row: OutboxMessage, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(utcnow())
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"ais-outbox-{row.id}", domain=domain)
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    return message


class FileTransport:
    """Writes each message to <instance>/outbox/<id>.eml (no MAIL_SERVER configured)."""

    def __init__(self, directory: str):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)

    def send(self, row_id: int, message: EmailMessage) -> None:
        path = os.path.join(self.directory, f"{row_id}.eml")
        temporary = path + ".tmp"
        with open(temporary, "wb") as handle:
            handle.write(message.as_bytes())
        os.replace(temporary, path)

    def close(self) -> None:
        pass


class SmtpTransport:
    """One SMTP connection for a batch, opened when first needed and reopened after an error."""

    def __init__(self, config):
        self.host = config["MAIL_SERVER"]
        self.port = int(config.get("MAIL_PORT") or 25)
        self.use_tls = bool(config.get("MAIL_USE_TLS"))
        self.username = config.get("MAIL_USERNAME") or ""
        self.password = config.get("MAIL_PASSWORD") or ""
        self.timeout = int(config.get("MAIL_TIMEOUT") or SMTP_TIMEOUT)
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            connection.ehlo()
            if self.use_tls:
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if self.username:
                connection.login(self.username, self.password)
        except BaseException:
            connection.close()
            raise
        return connection

    def send(self, row_id: int, message: EmailMessage) -> None:
        if self.connection is None:
            self.connection = self._connect()
        try:
            self.connection.send_message(message)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
            self.connection = None


def make_transport():
    config = current_app.config
    if config.get("MAIL_SERVER"):
        return SmtpTransport(config)
    return FileTransport(os.path.join(current_app.instance_path, "outbox"))


def _due(now: dt.datetime):
    return and_(
        OutboxMessage.sent_at.is_(None),
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    )


def _claim_postgresql(now: dt.datetime, skip_ids: set[int]) -> OutboxMessage | None:
    query = select(OutboxMessage).where(_due(now)).order_by(OutboxMessage.id).limit(1)
    if skip_ids:
        query = query.where(OutboxMessage.id.not_in(skip_ids))
    return db.session.scalar(query.with_for_update(skip_locked=True))


def _claim_sqlite(now: dt.datetime, skip_ids: set[int]) -> OutboxMessage | None:
    query = select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.id).limit(20)
    if skip_ids:
        query = query.where(OutboxMessage.id.not_in(skip_ids))
    candidates = db.session.scalars(query).all()
    db.session.commit()
    for message_id in candidates:
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _due(now))
            .values(next_attempt_at=now + LEASE)
        ).rowcount
        db.session.commit()
        if claimed == 1:
            return db.session.get(OutboxMessage, message_id)
    return None


def deliver_due(limit: int = 100) -> tuple[int, int]:
    """Send up to ``limit`` due messages.  Returns (sent, failed)."""
    session = db.session()
    if session.in_transaction():
        session.commit()
    postgresql = db.engine.dialect.name == "postgresql"
    sender = current_app.config["MAIL_FROM"]
    transport = make_transport()
    sent = failed = 0
    tried: set[int] = set()
    try:
        while sent + failed < limit:
            now = utcnow()
            row = _claim_postgresql(now, tried) if postgresql else _claim_sqlite(now, tried)
            if row is None:
                db.session.rollback()
                break
            tried.add(row.id)
            try:
                transport.send(row.id, build_message(row, sender))
            except Exception as error:  # SMTP refusal, network, bad address, bad header...
                failed += 1
                row.attempts = (row.attempts or 0) + 1
                row.last_error = f"{type(error).__name__}: {error}"[:2000]
                row.next_attempt_at = utcnow() + backoff(row.attempts)
                log.warning("outbox message %s not sent (attempt %s): %s", row.id, row.attempts, row.last_error)
            else:
                sent += 1
                row.sent_at = utcnow()
                row.last_error = ""
            db.session.commit()
    finally:
        transport.close()
        db.session.rollback()
    return sent, failed
