"""Every stored or addressed email is exactly one address (email-validator)."""

from __future__ import annotations

import pytest
from auth_support import make_client
from sqlalchemy import select

from ais import create_app
from ais.audit import Actor
from ais.auth import accounts, tokens
from ais.billing import services
from ais.config import ConfigError
from ais.emails import InvalidEmail, single_address
from ais.extensions import db
from ais.mail.delivery import deliver_due
from ais.mail.outbox import queue_email
from ais.models import Client, OutboxMessage

ACTOR = Actor.system("test")
NOT_ONE = [
    "ann@example.com, boss@example.com",
    "ann@example.com;boss@example.com",
    "Ann <ann@example.com>",
    "ann@example.com boss@example.com",
    "ann",
    "ann@",
    "@example.com",
    "ann@@example.com",
    "a" * 250 + "@example.com",
    "",
]


@pytest.mark.parametrize("text", NOT_ONE)
def test_only_one_address_is_accepted(text):
    with pytest.raises(InvalidEmail):
        single_address(text)


def test_a_plain_address_is_kept_with_its_domain_in_lower_case():
    assert single_address(" Ann.Cruz+bills@Example.COM ") == "Ann.Cruz+bills@example.com"


@pytest.mark.parametrize("text", NOT_ONE)
def test_a_client_email_must_be_one_address(app, text):
    with app.app_context():
        with pytest.raises(services.InvalidInput) as refused:
            services.create_client(ACTOR, services.ClientInput(name="Ann", email=text))
        assert refused.value.field == "email"
        assert db.session.scalar(select(Client.id)) is None


def test_editing_a_client_checks_the_address_too(app):
    with app.app_context():
        client_id = services.create_client(ACTOR, services.ClientInput(name="Ann", email="ann@example.com"))
        with pytest.raises(services.InvalidInput):
            services.update_client(ACTOR, client_id, services.ClientInput(name="Ann", email="a@x.com, b@y.com"))
        assert db.session.get(Client, client_id).email == "ann@example.com"


def test_no_invitation_goes_to_a_stored_list_of_addresses(app):
    client_id, _ = make_client(app, email="ann@example.com", login=False)
    with app.app_context():
        db.session.get(Client, client_id).email = "ann@example.com,boss@example.com"  # stored before the check
        db.session.commit()
    with app.test_request_context():
        with pytest.raises(tokens.PortalAccessError, match="exactly one address"):
            tokens.enable_portal_access(ACTOR, client_id)
        assert db.session.scalar(select(OutboxMessage.id)) is None


def test_an_owner_username_with_an_at_sign_is_one_address(app, fast_hashing):
    with app.app_context(), pytest.raises(accounts.AccountError):
        accounts.create_owner(ACTOR, "boss@example.com@other.com", "a long enough passphrase")


def test_the_outbox_never_sends_to_a_list(app):
    with app.app_context():
        queue_email("ann@example.com,boss@example.com", "Receipt", "body")
        db.session.commit()
        assert deliver_due() == (0, 1)
        row = db.session.scalar(select(OutboxMessage))
        assert row.sent_at is None and "exactly one email address" in row.last_error


def test_the_outbox_sends_to_one_local_mailbox_such_as_the_default_sender(app):
    """Owner notices fall back to MAIL_FROM's mailbox (billing@localhost unless configured): one
    address, on a local domain email-validator calls reserved; the outbox still sends it."""
    with app.app_context():
        queue_email("billing@localhost", "Notice", "body")
        db.session.commit()
        assert deliver_due() == (1, 0)


@pytest.mark.parametrize("variable", ["AIS_OWNER_EMAIL", "FLASK_AIS_OWNER_EMAIL"])
def test_the_owner_notices_address_must_be_one_address(monkeypatch, database_url, variable):
    monkeypatch.setenv(variable, "owner@example.com, partner@example.com")
    with pytest.raises(ConfigError, match="AIS_OWNER_EMAIL must be one email address"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url})
