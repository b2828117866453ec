"""The second sign-in step is a server-side record: single use, short-lived, bound to the browser."""

from __future__ import annotations

import pytest
from auth_support import OWNER_PASSWORD, enrol, make_owner, totp_now
from sqlalchemy import select

from ais.extensions import db
from ais.models import PendingSignIn


@pytest.fixture
def owner_with_2fa(app, client, actions, fast_hashing, moving_clock):
    owner_id = make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    secret, _ = enrol(client, actions)
    actions.logout()
    moving_clock.advance(seconds=30)
    return owner_id, secret


def pending_rows(app):
    with app.app_context():
        return db.session.execute(
            select(PendingSignIn.token_hash, PendingSignIn.failures, PendingSignIn.ended_at).order_by(PendingSignIn.id)
        ).all()


def test_a_forged_pending_cookie_naming_a_user_signs_nobody_in(app, client, actions, owner_with_2fa):
    owner_id, secret = owner_with_2fa
    # What the cookie used to hold: whoever can sign a cookie could skip the password.
    with client.session_transaction() as session:
        session["auth_2fa"] = {"user_id": owner_id, "at": 10**10, "next": None}
    response = actions.post("/login/2fa", {"code": totp_now(secret)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/account").status_code == 302


def test_the_cookie_holds_only_a_token_whose_hash_is_stored(app, client, actions, owner_with_2fa):
    actions.login("owner", OWNER_PASSWORD)
    with client.session_transaction() as session:
        raw = session["auth_2fa"]
    assert isinstance(raw, str) and len(raw) >= 40
    [row] = pending_rows(app)
    assert row.token_hash != raw and row.ended_at is None


def test_a_copied_pending_token_stops_working_once_the_sign_in_completes(
    app, client, actions, actions_for, owner_with_2fa, moving_clock
):
    _, secret = owner_with_2fa
    actions.login("owner", OWNER_PASSWORD)
    with client.session_transaction() as session:
        copied = session["auth_2fa"]
    assert actions.post("/login/2fa", {"code": totp_now(secret)}).status_code == 302
    assert pending_rows(app)[-1].ended_at is not None

    other = app.test_client()
    with other.session_transaction() as session:
        session["auth_2fa"] = copied
    moving_clock.advance(seconds=30)
    response = actions_for(other, app).post("/login/2fa", {"code": totp_now(secret)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert other.get("/account").status_code == 302


def test_a_pending_sign_in_expires_after_five_minutes(app, client, actions, owner_with_2fa, moving_clock):
    _, secret = owner_with_2fa
    actions.login("owner", OWNER_PASSWORD)
    moving_clock.advance(minutes=5, seconds=1)
    response = actions.post("/login/2fa", {"code": totp_now(secret)})
    assert response.headers["Location"].endswith("/login") and client.get("/account").status_code == 302


def test_five_wrong_codes_revoke_the_pending_sign_in(app, client, actions, owner_with_2fa, moving_clock):
    _, secret = owner_with_2fa
    actions.login("owner", OWNER_PASSWORD)
    for _ in range(4):
        assert actions.post("/login/2fa", {"code": "000000"}).status_code == 200
    assert actions.post("/login/2fa", {"code": "000000"}).headers["Location"].endswith("/login")
    [row] = pending_rows(app)
    assert row.failures == 5 and row.ended_at is not None
    moving_clock.advance(seconds=30)
    assert actions.post("/login/2fa", {"code": totp_now(secret)}).headers["Location"].endswith("/login")
    assert client.get("/account").status_code == 302


def test_a_new_password_sign_in_ends_the_previous_pending_one(app, client, actions, owner_with_2fa):
    actions.login("owner", OWNER_PASSWORD)
    actions.login("owner", OWNER_PASSWORD)
    first, second = pending_rows(app)
    assert first.ended_at is not None and second.ended_at is None


def test_pending_sign_ins_expired_over_a_day_ago_are_deleted(app, client, actions, owner_with_2fa, moving_clock):
    actions.login("owner", OWNER_PASSWORD)
    moving_clock.advance(days=1, minutes=6)
    actions.login("owner", OWNER_PASSWORD)  # the next password sign-in, a day later, tidies up
    rows = pending_rows(app)
    assert len(rows) == 1 and rows[0].ended_at is None
