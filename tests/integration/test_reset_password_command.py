"""``flask --app ais reset-password USERNAME``: an owner's password set from the server."""

from __future__ import annotations

from auth_support import OWNER_PASSWORD, audit_actions, make_client, make_owner
from sqlalchemy import select

from ais.auth.passwords import verify_password
from ais.extensions import db
from ais.models import AuditEntry, User

NEW = "a brand new owner phrase"


def owner(app, username="owner") -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def test_prompted_password_is_set_sessions_end_and_it_is_audited(app, fast_hashing, actions_for):
    make_owner(app)
    browser = actions_for(app.test_client(), app)
    assert browser.login("owner", OWNER_PASSWORD).status_code == 302
    assert browser.client.get("/account").status_code == 200

    result = app.test_cli_runner().invoke(args=["reset-password", "owner"], input=f"{NEW}\n{NEW}\n")
    assert result.exit_code == 0, result.output
    assert NEW not in result.output and "1 session(s) ended" in result.output
    assert verify_password(owner(app), NEW) and not verify_password(owner(app), OWNER_PASSWORD)
    assert browser.client.get("/account").status_code == 302  # the open session ended
    assert browser.login("owner", NEW).status_code == 302
    assert "auth.password_reset" in audit_actions(app)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.password_reset"))
        assert entry.actor_label == "reset-password" and "set on the server" in entry.detail


def test_generated_password_is_printed_once_and_works(app, fast_hashing):
    make_owner(app)
    result = app.test_cli_runner().invoke(args=["reset-password", "OWNER", "--generate"])
    assert result.exit_code == 0, result.output
    generated = result.output.rsplit("New password: ", 1)[1].strip()
    assert len(generated) >= 20 and verify_password(owner(app), generated)


def test_weak_passwords_unknown_users_and_clients_are_refused(app, fast_hashing):
    make_owner(app)
    make_client(app)
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["reset-password", "owner"], input="password1234\npassword1234\n")
    assert weak.exit_code == 1 and "too common" in weak.output
    assert verify_password(owner(app), OWNER_PASSWORD)
    unknown = runner.invoke(args=["reset-password", "nobody"], input=f"{NEW}\n{NEW}\n")
    assert unknown.exit_code == 1 and "No owner login" in unknown.output
    client = runner.invoke(args=["reset-password", "alice@example.com"], input=f"{NEW}\n{NEW}\n")
    assert client.exit_code == 1 and "No owner login" in client.output
