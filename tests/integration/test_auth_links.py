"""Portal invitations, forgotten passwords and reset links, delivered through a real SMTP server."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from auth_support import (
    CLIENT_PASSWORD,
    OWNER_PASSWORD,
    audit_actions,
    link_path,
    make_client,
    make_owner,
    open_session_count,
)
from sqlalchemy import func, select

from ais import clock
from ais.audit import Actor
from ais.auth import tokens
from ais.extensions import db
from ais.mail.delivery import deliver_due
from ais.models import AccountToken, OutboxMessage, User

OWNER = Actor(user_id=None, label="owner-test")
NEW_PASSWORD = "my own portal phrase"


@pytest.fixture(autouse=True)
def _fast(fast_hashing):
    return fast_hashing


def enable(app, client_id: int) -> str:
    """Enable the client's portal access; the path of the invitation link (the link itself is on
    AIS_BASE_URL, as in the email)."""
    with app.test_request_context():
        link = tokens.enable_portal_access(OWNER, client_id)
    assert link.startswith(app.config["AIS_BASE_URL"].rstrip("/") + "/invite/")
    return urlsplit(link).path


def deliver(app) -> tuple[int, int]:
    with app.app_context():
        return deliver_due()


def reset_emails(app) -> list[str]:
    """The addresses of the reset emails the outbox worker made (requests it dropped are not emails)."""
    with app.app_context():
        return db.session.scalars(
            select(OutboxMessage.to_address).where(OutboxMessage.subject.like("Reset your password%"))
        ).all()


def outbox_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def set_password(actions, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return actions.post(path, {"password": password, "confirm": confirm or password})


# --- Invitations -----------------------------------------------------------------------------------


def test_invitation_arrives_by_smtp_and_its_link_works_once(app, client, actions, smtp_server):
    client_id, _ = make_client(app, name="Alice Client", email="alice@example.com", login=False)
    path = enable(app, client_id)
    assert path.startswith("/invite/")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.client_id == client_id))
        assert user.role == "client" and user.username == "alice@example.com" and user.password_hash is None
        token = db.session.scalar(select(AccountToken))
        assert token.purpose == "invitation" and path.rsplit("/", 1)[1] not in token.token_hash

    assert deliver(app) == (1, 0)
    assert len(smtp_server.inbox.messages) == 1
    mail = smtp_server.inbox.messages[0]
    assert mail["To"] == "alice@example.com"
    assert "invitation" in mail["Subject"].lower()
    text = smtp_server.inbox.text_of()
    assert link_path(text) == path
    assert "http://127.0.0.1:5000/invite/" in text  # absolute, from AIS_BASE_URL
    assert link_path(smtp_server.inbox.html_of()) == path

    page = client.get(path)
    assert page.status_code == 200 and "alice@example.com" in page.get_data(as_text=True)
    response = set_password(actions, path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal")
    assert client.get("/account").status_code == 200  # signed in
    actions.logout()
    assert actions.login("alice@example.com", NEW_PASSWORD).status_code == 302
    actions.logout()

    again = client.get(path)
    assert again.status_code == 404 and "can't be used" in again.get_data(as_text=True)
    reuse = set_password(actions, path, "an attacker's phrase")
    assert reuse.status_code == 404
    assert actions.login("alice@example.com", NEW_PASSWORD).status_code == 302
    assert {"portal.access_enabled", "auth.invitation_accepted"} <= set(audit_actions(app))


def test_invitation_password_must_follow_the_policy(app, client, actions):
    client_id, _ = make_client(app, login=False)
    path = enable(app, client_id)
    weak = set_password(actions, path, "password1234")
    assert weak.status_code == 200 and "too common" in weak.get_data(as_text=True)
    own_email = set_password(actions, path, "alice@example.com")
    assert own_email.status_code == 200 and "must not be your username" in own_email.get_data(as_text=True)
    mismatch = set_password(actions, path, NEW_PASSWORD, "something else entirely")
    assert mismatch.status_code == 200 and "not the same" in mismatch.get_data(as_text=True)
    assert set_password(actions, path).status_code == 302  # still usable after the refusals


def test_expired_invitation_is_refused_and_changes_nothing(app, client, actions, freeze_today):
    start = freeze_today(clock.utcnow())
    client_id, _ = make_client(app, login=False)
    path = enable(app, client_id)
    freeze_today(start + timedelta(days=7, seconds=1))
    assert client.get(path).status_code == 404
    assert set_password(actions, path).status_code == 404
    with app.app_context():
        user = db.session.scalar(select(User).where(User.client_id == client_id))
        assert user.password_hash is None


def test_unknown_token_is_refused(app, client, actions):
    assert client.get("/invite/not-a-real-token").status_code == 404
    assert client.get("/reset/not-a-real-token").status_code == 404


def test_a_new_invitation_cancels_the_old_link(app, client, actions):
    client_id, _ = make_client(app, login=False)
    first = enable(app, client_id)
    second = enable(app, client_id)
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_disabling_portal_access_ends_sessions_and_sign_in(app, client, actions):
    client_id, user_id = make_client(app)
    actions.login("alice@example.com", CLIENT_PASSWORD)
    assert client.get("/account").status_code == 200
    with app.test_request_context():
        tokens.disable_portal_access(OWNER, client_id)
    assert client.get("/account").status_code == 302
    assert open_session_count(app, user_id) == 0
    response = actions.login("alice@example.com", CLIENT_PASSWORD)
    assert response.status_code == 200 and "Incorrect username or password." in response.get_data(as_text=True)
    # Re-enabling sends a new invitation and lets them in again.
    path = enable(app, client_id)
    assert set_password(actions, path).status_code == 302
    assert "portal.access_disabled" in audit_actions(app)


def test_portal_access_refuses_unknown_clients_and_taken_emails(app):
    make_owner(app, username="shared@example.com")
    client_id, _ = make_client(app, email="shared@example.com", login=False)
    with app.test_request_context():
        with pytest.raises(LookupError):
            tokens.enable_portal_access(OWNER, 9999)
        with pytest.raises(ValueError):
            tokens.enable_portal_access(OWNER, client_id)
        with pytest.raises(ValueError):
            tokens.disable_portal_access(OWNER, client_id)  # no login to disable


def test_owner_enables_portal_access_from_the_client_page(app, client, actions):
    make_owner(app)
    client_id, _ = make_client(app, login=False)
    actions.login("owner", OWNER_PASSWORD)
    response = actions.post(f"/clients/{client_id}/portal-access", {"action": "enable"})
    assert response.status_code == 302
    assert outbox_count(app) == 1
    with app.app_context():
        assert db.session.scalar(select(User).where(User.client_id == client_id)).is_enabled


# --- Forgotten password ------------------------------------------------------------------------------


def test_forgot_gives_the_same_answer_for_unknown_and_known_emails(app, client, actions):
    make_client(app)
    answers = []
    for email in ("nobody@example.com", "ALICE@example.com"):
        response = actions.post("/forgot", {"email": email}, follow_redirects=True)
        assert response.status_code == 200
        page = html.unescape(response.get_data(as_text=True)).replace(email, "")
        answers.append(re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", page))
    assert "If an account exists for that email, we've sent a link." in answers[0]
    assert answers[0] == answers[1]
    assert outbox_count(app) == 2  # the request is queued the same way for both: no lookup yet
    assert deliver(app) == (1, 0)  # the worker looks up: only the real account gets mail
    assert reset_emails(app) == ["alice@example.com"]


def test_forgot_sends_nothing_for_a_disabled_login(app, client, actions):
    client_id, user_id = make_client(app)
    with app.app_context():
        db.session.get(User, user_id).is_enabled = False
        db.session.commit()
    actions.post("/forgot", {"email": "alice@example.com"})
    assert deliver(app) == (0, 0)
    assert reset_emails(app) == []


def test_reset_link_works_once_and_ends_other_sessions(app, client, actions, actions_for, smtp_server):
    _, user_id = make_client(app)
    elsewhere = app.test_client()
    actions_for(elsewhere, app).login("alice@example.com", CLIENT_PASSWORD)
    assert elsewhere.get("/account").status_code == 200

    actions.post("/forgot", {"email": "alice@example.com"})
    assert deliver(app) == (1, 0)
    path = link_path(smtp_server.inbox.text_of())
    assert path.startswith("/reset/")

    response = set_password(actions, path, "a fresh reset phrase")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert elsewhere.get("/account").status_code == 302  # other sessions ended
    assert open_session_count(app, user_id) == 0
    assert actions.login("alice@example.com", CLIENT_PASSWORD).status_code == 200  # old password gone
    assert actions.login("alice@example.com", "a fresh reset phrase").status_code == 302
    assert set_password(actions, path, "yet another phrase").status_code == 404
    assert "auth.password_reset" in audit_actions(app)


def test_reset_link_expires_after_an_hour(app, client, actions, freeze_today, smtp_server):
    start = freeze_today(clock.utcnow())
    make_client(app)
    actions.post("/forgot", {"email": "alice@example.com"})
    assert deliver(app) == (1, 0)  # the worker looks the address up and sends the link
    path = link_path(smtp_server.inbox.text_of())
    freeze_today(start + timedelta(minutes=61))
    assert client.get(path).status_code == 404
    assert set_password(actions, path).status_code == 404


def test_reset_emails_per_account_are_limited(app, client, actions):
    make_client(app)
    for _ in range(5):
        actions.post("/forgot", {"email": "alice@example.com"})
    assert outbox_count(app) == 3
