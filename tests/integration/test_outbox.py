"""Outbox delivery: real SMTP (aiosmtpd), outages and retries, the .eml fallback, the command."""

from __future__ import annotations

import os
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import create_engine, select, text

from ais import clock
from ais.extensions import db
from ais.mail.delivery import backoff, deliver_due
from ais.mail.outbox import queue_email
from ais.models import OutboxMessage


def queue(app, to="alice@example.com", subject="Hello", text_body="Plain words.", html_body="<p>Rich words.</p>"):
    with app.app_context():
        queue_email(to, subject, text_body, html_body)
        db.session.commit()
        return db.session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))


def row(app, message_id: int) -> OutboxMessage:
    with app.app_context():
        found = db.session.get(OutboxMessage, message_id)
        db.session.expunge(found)
        return found


def deliver(app, limit: int = 100):
    with app.app_context():
        return deliver_due(limit)


def test_due_messages_go_out_once_with_text_and_html(app, smtp_server):
    first = queue(app)
    second = queue(app, to="bob@example.com", subject="Plain only", html_body="")
    assert deliver(app) == (2, 0)
    assert deliver(app) == (0, 0)  # never twice
    assert len(smtp_server.inbox.messages) == 2

    mail = smtp_server.inbox.messages[0]
    assert mail["From"] == "AIS Test <billing@example.com>"
    assert mail["To"] == "alice@example.com" and mail["Subject"] == "Hello"
    assert mail["Message-ID"] and mail["Date"]
    assert smtp_server.inbox.text_of(0).strip() == "Plain words."
    assert smtp_server.inbox.html_of(0).strip() == "<p>Rich words.</p>"
    assert not smtp_server.inbox.messages[1].is_multipart()

    for message_id in (first, second):
        sent = row(app, message_id)
        assert sent.sent_at is not None and sent.attempts == 0 and sent.last_error == ""


def test_smtp_outage_keeps_the_message_and_it_goes_out_later(app, smtp_server, freeze_today):
    start = freeze_today(clock.utcnow())
    message_id = queue(app)
    smtp_server.stop()

    assert deliver(app) == (0, 1)
    failed = row(app, message_id)
    assert failed.sent_at is None and failed.attempts == 1 and failed.last_error
    assert failed.next_attempt_at.replace(tzinfo=None) == (start + timedelta(minutes=1)).replace(tzinfo=None)
    assert deliver(app) == (0, 0)  # not due yet

    smtp_server.start()
    freeze_today(start + timedelta(seconds=59))
    assert deliver(app) == (0, 0)
    freeze_today(start + timedelta(minutes=1))
    assert deliver(app) == (1, 0)
    assert len(smtp_server.inbox.messages) == 1
    assert row(app, message_id).sent_at is not None


def test_repeated_failures_back_off_up_to_an_hour(app, freeze_today):
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(7) == timedelta(hours=1) and backoff(30) == timedelta(hours=1)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_TIMEOUT=2)  # nothing listens on port 1
    now = freeze_today(clock.utcnow())
    message_id = queue(app)
    for attempt in range(1, 4):
        assert deliver(app) == (0, 1)
        failed = row(app, message_id)
        assert failed.attempts == attempt
        now = now + backoff(attempt)
        freeze_today(now)


def test_without_a_mail_server_messages_are_written_as_eml_files(app):
    app.config["MAIL_SERVER"] = ""
    message_id = queue(app, subject="Your receipt")
    assert deliver(app) == (1, 0)
    path = os.path.join(app.instance_path, "outbox", f"{message_id}.eml")
    with open(path, "rb") as handle:
        mail = message_from_bytes(handle.read(), policy=policy.default)
    assert mail["Subject"] == "Your receipt" and mail["To"] == "alice@example.com"
    assert mail.get_body(preferencelist=("html",)).get_content().strip() == "<p>Rich words.</p>"
    assert row(app, message_id).sent_at is not None
    assert deliver(app) == (0, 0)


def test_a_bad_message_fails_without_stopping_the_others(app, smtp_server):
    bad = queue(app, to="broken@example.com\nBcc: victim@example.com")
    good = queue(app)
    assert deliver(app) == (1, 1)
    assert row(app, bad).sent_at is None and row(app, bad).attempts == 1
    assert row(app, good).sent_at is not None
    assert [m["To"] for m in smtp_server.inbox.messages] == ["alice@example.com"]


def test_limit_caps_one_batch(app, smtp_server):
    for n in range(3):
        queue(app, subject=f"Message {n}")
    assert deliver(app, limit=2) == (2, 0)
    assert deliver(app, limit=2) == (1, 0)


def test_outbox_command_once(app, smtp_server):
    queue(app)
    result = app.test_cli_runner().invoke(args=["outbox", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 failed" in result.output
    assert len(smtp_server.inbox.messages) == 1


@pytest.mark.skipif(not os.environ.get("AIS_TEST_DATABASE_URL"), reason="row locks need PostgreSQL")
def test_a_row_locked_by_another_worker_is_skipped(app, smtp_server, database_url):
    locked = queue(app, subject="Being sent by another worker")
    free = queue(app, subject="Free")
    other_worker = create_engine(database_url)
    with other_worker.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("SELECT id FROM outbox_messages WHERE id = :id FOR UPDATE"), {"id": locked})
        assert deliver(app) == (1, 0)
        transaction.rollback()
    other_worker.dispose()
    assert [m["Subject"] for m in smtp_server.inbox.messages] == ["Free"]
    assert row(app, free).sent_at is not None and row(app, locked).sent_at is None
