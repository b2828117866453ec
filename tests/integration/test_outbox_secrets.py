"""What the outbox keeps once an email is sent: no working single-use link, and nothing after
its retention (docs/SECURITY.md, "What a copy of the database reveals")."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from auth_support import link_path, make_client
from sqlalchemy import inspect, select, text

from ais import clock
from ais.audit import Actor
from ais.auth import tokens
from ais.extensions import db
from ais.mail.delivery import REDACTED, deliver_due, prune_sent, redact_links
from ais.mail.outbox import queue_email
from ais.models import OutboxMessage

OWNER = Actor(user_id=None, label="owner-test")


@pytest.fixture(autouse=True)
def _fast(fast_hashing):
    return fast_hashing


def database_copy(app) -> str:
    """Every value of every table, as text: what a dump of the database would hold."""
    with app.app_context():
        values = []
        for table in inspect(db.engine).get_table_names():
            for row in db.session.execute(text(f"SELECT * FROM {table}")):  # nosec B608 - table names from the schema
                values.extend(str(value) for value in row)
        db.session.rollback()
    return "\n".join(values)


def test_a_database_copy_after_delivery_holds_no_working_link(app, client, actions, smtp_server):
    client_id, _ = make_client(app, login=False)
    with app.test_request_context():
        tokens.enable_portal_access(OWNER, client_id)
    with app.app_context():
        queued = db.session.scalar(select(OutboxMessage.body_text))
    invitation = link_path(queued)
    assert invitation in database_copy(app)  # waiting to go out, the link is there (and works)

    with app.app_context():
        assert deliver_due() == (1, 0)
    assert link_path(smtp_server.inbox.text_of(0)) == invitation  # the recipient got the real link
    assert link_path(smtp_server.inbox.html_of(0)) == invitation

    copy = database_copy(app)
    token = invitation.rsplit("/", 1)[1]
    assert token not in copy
    assert f"/invite/{REDACTED}" in copy  # the sent message is still readable, without the secret
    assert client.get(invitation).status_code == 200  # the link itself still works for its owner
    for path in set(re.findall(r"/(?:invite|reset)/[^\s\"<]+", copy)):
        assert client.get(path).status_code == 404


def test_reset_links_are_removed_from_text_and_html_once_sent(app, actions, smtp_server):
    make_client(app)
    actions.post("/forgot", {"email": "alice@example.com"})
    with app.app_context():
        assert deliver_due() == (1, 0)
        message = db.session.scalar(select(OutboxMessage))
        assert "/reset/" + REDACTED in message.body_text and "/reset/" + REDACTED in message.body_html
    token = link_path(smtp_server.inbox.text_of(0)).rsplit("/", 1)[1]
    assert token not in database_copy(app)


def test_a_message_that_failed_keeps_its_link_until_it_is_sent(app, freeze_today):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_TIMEOUT=2)  # nothing listens on port 1
    with app.app_context():
        queue_email("a@example.com", "Reset", "https://x.example/reset/abcDEF_123-x")
        db.session.commit()
        assert deliver_due() == (0, 1)
        assert db.session.scalar(select(OutboxMessage.body_text)).endswith("/reset/abcDEF_123-x")


def test_redaction_keeps_other_links():
    body = "Pay at https://x.example/portal/invoices/4 or /invite/Ab_c-9 or /reset/Zz"
    assert redact_links(body) == (
        f"Pay at https://x.example/portal/invoices/4 or /invite/{REDACTED} or /reset/{REDACTED}"
    )


def test_sent_messages_are_pruned_after_the_retention_unsent_ones_kept(app, freeze_today):
    start = freeze_today(clock.utcnow())
    app.config["MAIL_SERVER"] = ""  # .eml files
    with app.app_context():
        queue_email("a@example.com", "Old", "sent long ago")
        db.session.commit()
        assert deliver_due() == (1, 0)
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_TIMEOUT=2)
        queue_email("b@example.com", "Stuck", "never sent")
        db.session.commit()
        assert deliver_due() == (0, 1)

        freeze_today(start + timedelta(days=29))
        assert prune_sent() == 0
        freeze_today(start + timedelta(days=31))
        assert prune_sent() == 1
        assert db.session.scalars(select(OutboxMessage.subject)).all() == ["Stuck"]


def test_outbox_prune_command(app, freeze_today):
    start = freeze_today(clock.utcnow())
    app.config["MAIL_SERVER"] = ""
    with app.app_context():
        queue_email("a@example.com", "Old", "sent")
        db.session.commit()
        deliver_due()
    freeze_today(start + timedelta(days=3))
    runner = app.test_cli_runner()
    assert "0 sent message(s) deleted" in runner.invoke(args=["outbox-prune"]).output
    result = runner.invoke(args=["outbox-prune", "--days", "2"])
    assert result.exit_code == 0 and "1 sent message(s) deleted" in result.output
