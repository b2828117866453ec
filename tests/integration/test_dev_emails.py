"""/dev/emails: in development the owner reads the queued emails; clients and production never do."""

from __future__ import annotations

import re

import pytest
from portal_support import ANN, OWNER, sign_in, text_of

from ais.extensions import db
from ais.mail.outbox import queue_email
from ais.models import OutboxMessage


@pytest.fixture
def queued(app, world):
    with app.app_context():
        queue_email(
            "ann@example.com",
            "Reset your password",
            "Open https://billing.example.com/reset/abc123 to choose a new password.",
            "<p>reset</p>",
            dedupe_key="dev-test:1",
        )
        db.session.commit()
        return db.session.query(OutboxMessage).filter_by(dedupe_key="dev-test:1").one().id


def test_the_owner_reads_queued_emails_with_working_links(client, actions, world, queued):
    sign_in(actions, OWNER)
    listing = text_of(client.get("/dev/emails"))
    assert "Reset your password" in listing and "ann@example.com" in listing
    assert "Emails sent (development)" in listing  # in the account menu
    page = text_of(client.get(f"/dev/emails/{queued}"))
    assert re.search(r'<a href="https://billing.example.com/reset/abc123"[^>]*>', page)
    assert client.get("/dev/emails/999999").status_code == 404


def test_clients_and_anonymous_visitors_cannot_read_them(client, actions, world, queued):
    assert client.get("/dev/emails").status_code == 302  # to sign in
    sign_in(actions, ANN)
    assert client.get("/dev/emails").status_code == 403
    assert client.get(f"/dev/emails/{queued}").status_code == 403


def test_outside_development_the_pages_do_not_exist(app, client, actions, world, queued):
    sign_in(actions, OWNER)
    app.config["AIS_ENV"] = "production"
    try:
        assert client.get("/dev/emails").status_code == 404
        assert client.get(f"/dev/emails/{queued}").status_code == 404
        assert "Emails sent (development)" not in text_of(client.get("/dashboard"))
    finally:
        app.config["AIS_ENV"] = "development"
