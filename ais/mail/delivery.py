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

Single-use links (``/invite/<token>``, ``/reset/<token>``) are cut out of a message's stored
bodies in the transaction that marks it sent (``redact_links``), so a copy of the database holds
a working link only while its email waits to go out.  Sent messages are deleted after
``AIS_OUTBOX_RETENTION_DAYS`` (``prune_sent``).

A batch stops early at its deadline (``AIS_OUTBOX_BATCH_SECONDS``) or after
``MAX_CONSECUTIVE_FAILURES`` failures in a row (the SMTP server is down: the rest of the queue
waits for the next poll instead of each message paying a timeout).  Every socket operation on
the SMTP connection is bounded by ``MAIL_TIMEOUT``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from flask import current_app
from sqlalchemy import and_, delete, func, or_, select, update

from ..clock import utcnow
from ..database import execute_dml
from ..emails import is_one_recipient
from ..extensions import db
from ..models import OutboxMessage
from .outbox import preparer_for

log = logging.getLogger("ais.mail")

BASE_BACKOFF = dt.timedelta(minutes=1)
MAX_BACKOFF = dt.timedelta(hours=1)
LEASE = dt.timedelta(minutes=5)  # SQLite claim; longer than any send (the SMTP timeout is 30 s)
SMTP_TIMEOUT = 30
MAX_CONSECUTIVE_FAILURES = 3
BATCH_SECONDS = 60
RETENTION_DAYS = 30

# The token part of a single-use account link (the routes auth.invite and auth.reset_password;
# the tokens are secrets.token_urlsafe).
SECRET_LINK = re.compile(r"(/(?:invite|reset)/)[A-Za-z0-9_\-]+")
REDACTED = "[used-link-removed]"


def redact_links(body: str) -> str:
    """The body with the token of every single-use link replaced: what is kept once it is sent."""
    return SECRET_LINK.sub(lambda match: match.group(1) + REDACTED, body or "")


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failure: 1 min * 2**(attempts-1), at most 1 h."""
    return min(BASE_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _attachment(reference: str) -> tuple[str, bytes] | None:
    """The named document (``kind:id``) from the renderer the app registered for its kind."""
    kind, _, number = reference.partition(":")
    renderer = current_app.extensions.get("ais_attachments", {}).get(kind)
    if renderer is None or not number.isdigit():
        raise LookupError(f"no renderer for attachment {reference!r}")
    return renderer(int(number))


def build_message(row: OutboxMessage, sender: str) -> EmailMessage:
    if not is_one_recipient(row.to_address):
        # Never a list (SMTP would send to each): the message fails and waits for a correction.
        raise ValueError("the recipient is not exactly one email address")
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
    if row.attachment:
        document = _attachment(row.attachment)
        if document is not None:
            filename, data = document
            message.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
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


# A batch walks the queue in id order from a cursor (the last id it looked at), on the primary
# key: each claim costs the same for the 10,000th message as for the first, and no list of the ids
# already tried grows (a tried message is no longer due anyway).  A message that becomes due behind
# the cursor waits for the next batch.
def _first_unsent_id() -> int:
    first = db.session.scalar(select(func.min(OutboxMessage.id)).where(OutboxMessage.sent_at.is_(None)))
    return (first or 1) - 1


def _claim_postgresql(now: dt.datetime, after_id: int) -> tuple[OutboxMessage | None, int]:
    query = select(OutboxMessage).where(OutboxMessage.id > after_id, _due(now)).order_by(OutboxMessage.id).limit(1)
    row = db.session.scalar(query.with_for_update(skip_locked=True))
    return row, (row.id if row is not None else after_id)


def _claim_sqlite(now: dt.datetime, after_id: int) -> tuple[OutboxMessage | None, int]:
    # The next ids by primary key only (with the due test in the WHERE clause SQLite would pick
    # ix_outbox_pending and sort every pending row on each claim); the conditional UPDATE decides.
    while True:
        candidates = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.sent_at)
            .where(OutboxMessage.id > after_id)
            .order_by(OutboxMessage.id)
            .limit(20)
        ).all()
        db.session.commit()
        if not candidates:
            return None, after_id
        for message_id, sent_at in candidates:
            after_id = message_id
            if sent_at is not None:
                continue
            claimed = execute_dml(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, _due(now))
                .values(next_attempt_at=now + LEASE)
            )
            db.session.commit()
            if claimed == 1:
                return db.session.get(OutboxMessage, message_id), after_id


def deliver_due(limit: int = 100, deadline_seconds: float | None = None) -> tuple[int, int]:
    """Send up to ``limit`` due messages, for at most ``deadline_seconds`` (default
    ``AIS_OUTBOX_BATCH_SECONDS``), stopping after ``MAX_CONSECUTIVE_FAILURES`` failures in a row.
    Returns (sent, failed)."""
    session = db.session()
    if session.in_transaction():
        session.commit()
    config = current_app.config
    postgresql = db.engine.dialect.name == "postgresql"
    sender = config["MAIL_FROM"]
    if deadline_seconds is None:
        deadline_seconds = float(config.get("AIS_OUTBOX_BATCH_SECONDS") or BATCH_SECONDS)
    stop_at = time.monotonic() + deadline_seconds
    transport = make_transport()
    sent = failed = failures_in_a_row = 0
    cursor = _first_unsent_id()
    try:
        while sent + failed < limit and time.monotonic() < stop_at:
            now = utcnow()
            row, cursor = _claim_postgresql(now, cursor) if postgresql else _claim_sqlite(now, cursor)
            if row is None:
                db.session.rollback()
                break
            prepare = preparer_for(row)
            if prepare is not None and not prepare(row):
                row.sent_at = utcnow()  # nothing to send (e.g. no account has this address): done
                row.last_error = "not sent: nothing to send for this request"
                db.session.commit()
                continue
            try:
                transport.send(row.id, build_message(row, sender))
            except Exception as error:  # SMTP refusal, network, bad address, bad header...
                failed += 1
                failures_in_a_row += 1
                row.attempts = (row.attempts or 0) + 1
                row.last_error = f"{type(error).__name__}: {error}"[:2000]
                row.next_attempt_at = utcnow() + backoff(row.attempts)
                log.warning("outbox message %s not sent (attempt %s): %s", row.id, row.attempts, row.last_error)
            else:
                sent += 1
                failures_in_a_row = 0
                row.sent_at = utcnow()
                row.last_error = ""
                row.body_text = redact_links(row.body_text)
                row.body_html = redact_links(row.body_html)
            db.session.commit()
            if failures_in_a_row >= MAX_CONSECUTIVE_FAILURES:
                log.warning("outbox: %s failures in a row, the rest waits for the next poll", failures_in_a_row)
                break
    finally:
        transport.close()
        db.session.rollback()
    return sent, failed


def prune_sent(retention_days: int | None = None) -> int:
    """Delete messages sent more than ``retention_days`` ago (default ``AIS_OUTBOX_RETENTION_DAYS``).
    Unsent messages are kept whatever their age.  Commits; returns how many were deleted."""
    if retention_days is None:
        retention_days = int(current_app.config.get("AIS_OUTBOX_RETENTION_DAYS", RETENTION_DAYS))
    cutoff = utcnow() - dt.timedelta(days=retention_days)
    deleted = execute_dml(
        delete(OutboxMessage).where(OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < cutoff)
    )
    db.session.commit()
    return deleted
