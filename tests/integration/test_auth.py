"""Sign-in, sign-out, server-side sessions, throttling, CSRF, 2FA and create-owner."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta

import pytest
import redis
from auth_support import (
    CLIENT_PASSWORD,
    OWNER_PASSWORD,
    START,
    audit_actions,
    enrol,
    make_client,
    make_owner,
    open_session_count,
    totp_now,
)
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import event, func, select

from ais import create_app
from ais.auth import passwords, sealing
from ais.auth.passwords import hash_password, password_problems, verify_password
from ais.extensions import db
from ais.models import AuditEntry, RecoveryCode, Setting, User, UserSession

GENERIC = "Incorrect username or password."


@pytest.fixture(autouse=True)
def _fast(fast_hashing):
    return fast_hashing


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("ais_session")
    return cookie.value if cookie else None


def sid_of(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("sid")


# --- Signing in ---------------------------------------------------------------------------------


def test_owner_signs_in_and_lands_on_the_dashboard(app, client, actions):
    make_owner(app)
    response = actions.login("owner", OWNER_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")
    assert client.get("/account").status_code == 200
    assert "auth.sign_in" in audit_actions(app)


def test_client_signs_in_to_the_portal_with_any_letter_case(app, client, actions):
    make_client(app, email="Alice@Example.com")
    response = actions.login("aLICE@example.COM", CLIENT_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/portal")


def test_wrong_password_and_unknown_account_get_the_same_answer(app, client, actions):
    make_owner(app)
    wrong = actions.login("owner", "not the password")
    unknown = actions.login("nobody", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert GENERIC in page
        assert "nobody" not in page.replace('value="nobody"', "")  # no "no such user" message
    assert sid_of(client) is None
    assert audit_actions(app).count("auth.sign_in_failed") == 2


def test_disabled_login_is_refused_with_the_generic_message(app, client, actions):
    make_owner(app, is_enabled=False)
    response = actions.login("owner", OWNER_PASSWORD)
    assert response.status_code == 200 and GENERIC in response.get_data(as_text=True)


def test_invited_client_without_password_cannot_sign_in(app, client, actions):
    make_client(app, password=None)
    response = actions.login("alice@example.com", "")
    assert response.status_code == 200
    assert sid_of(client) is None


@pytest.mark.parametrize(
    "target", ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_unsafe_next_is_ignored(app, client, actions, target):
    make_owner(app)
    response = actions.post("/login?" + "next=" + target, {"username": "owner", "password": OWNER_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"


def test_safe_next_is_followed(app, client, actions):
    make_owner(app)
    response = actions.post("/login?next=/account%3Ftab%3D1", {"username": "owner", "password": OWNER_PASSWORD})
    assert response.headers["Location"] == "/account?tab=1"


def test_anonymous_is_sent_to_login_with_next(app, client):
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_login_page_renders_labelled_fields(app, client):
    page = client.get("/login").get_data(as_text=True)
    assert '<label class="form-label" for="username"' in page
    assert '<label class="form-label" for="password"' in page
    assert 'name="csrf_token"' in page
    assert "<script>" not in page and " onclick=" not in page


# --- Server-side sessions -----------------------------------------------------------------------


def test_logout_ends_the_session_for_a_copied_cookie(app, client, actions):
    make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    stolen = session_cookie(client)
    thief = app.test_client()
    thief.set_cookie("ais_session", stolen)
    assert thief.get("/account").status_code == 200

    response = actions.logout()
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert thief.get("/account").status_code == 302  # the copy stopped working
    assert client.get("/account").status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(UserSession).where(UserSession.ended_at.is_(None))) == 0
        )
    assert "auth.sign_out" in audit_actions(app)


def test_each_sign_in_gets_a_new_session_id(app, client, actions):
    make_owner(app)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    actions.login("owner", OWNER_PASSWORD)
    first = sid_of(client)
    with client.session_transaction() as session:
        assert "planted" not in session  # rotated: nothing from before sign-in survives
    actions.login("owner", OWNER_PASSWORD)
    second = sid_of(client)
    assert first and second and first != second
    owner_id = db_user_id(app, "owner")
    assert open_session_count(app, owner_id) == 1  # the first one ended


def db_user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_owner_session_ends_after_30_idle_minutes(app, client, actions, moving_clock):
    make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    moving_clock.advance(minutes=29)
    assert client.get("/account").status_code == 200  # activity moves last_seen forward
    moving_clock.advance(minutes=29)
    assert client.get("/account").status_code == 200
    moving_clock.advance(minutes=30, seconds=1)
    assert client.get("/account").status_code == 302
    assert open_session_count(app, db_user_id(app, "owner")) == 0


def test_client_idle_timeout_is_60_minutes(app, client, actions, moving_clock):
    make_client(app)
    actions.login("alice@example.com", CLIENT_PASSWORD)
    moving_clock.advance(minutes=59)
    assert client.get("/account").status_code == 200
    moving_clock.advance(minutes=61)
    assert client.get("/account").status_code == 302


def test_session_ends_after_12_hours_even_when_active(app, client, actions, moving_clock):
    make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    for _ in range(35):  # 11 h 40 min of steady use
        moving_clock.advance(minutes=20)
        assert client.get("/account").status_code == 200
    moving_clock.advance(minutes=20)
    assert client.get("/account").status_code == 302


def test_last_seen_is_written_at_most_once_a_minute(app, client, actions, moving_clock):
    make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    moving_clock.advance(seconds=30)
    client.get("/account")
    with app.app_context():
        row = db.session.scalar(select(UserSession))
        first_seen = row.last_seen_at.replace(tzinfo=None)
    assert first_seen == START.replace(tzinfo=None)
    moving_clock.advance(seconds=40)
    client.get("/account")
    with app.app_context():
        assert db.session.scalar(select(UserSession)).last_seen_at.replace(tzinfo=None) == (
            START + timedelta(seconds=70)
        ).replace(tzinfo=None)


def test_disabling_the_user_ends_their_session(app, client, actions):
    owner_id = make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    with app.app_context():
        db.session.get(User, owner_id).is_enabled = False
        db.session.commit()
    assert client.get("/account").status_code == 302


def test_password_change_ends_other_sessions_but_not_this_one(app, client, actions, actions_for):
    owner_id = make_owner(app)
    other = app.test_client()
    actions_for(other, app).login("owner", OWNER_PASSWORD)
    actions.login("owner", OWNER_PASSWORD)
    assert open_session_count(app, owner_id) == 2

    response = actions.post(
        "/account/password",
        {
            "current_password": OWNER_PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    assert open_session_count(app, owner_id) == 1
    actions.logout()
    assert actions.login("owner", "a brand new passphrase").status_code == 302


def test_password_change_checks_the_current_password_and_the_policy(app, client, actions):
    make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    wrong = actions.post(
        "/account/password",
        {
            "current_password": "nope nope nope",
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert wrong.status_code == 200 and "current password is not right" in wrong.get_data(as_text=True)
    weak = actions.post(
        "/account/password",
        {
            "current_password": OWNER_PASSWORD,
            "new_password": "password1234",
            "confirm": "password1234",
        },
    )
    assert weak.status_code == 200 and "too common" in weak.get_data(as_text=True)
    mismatch = actions.post(
        "/account/password",
        {
            "current_password": OWNER_PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm": "something else",
        },
    )
    assert mismatch.status_code == 200 and "not the same" in mismatch.get_data(as_text=True)


# --- CSRF -----------------------------------------------------------------------------------------


def test_login_without_csrf_token_is_refused_and_signs_nobody_in(app, client):
    make_owner(app)
    response = client.post("/login", data={"username": "owner", "password": OWNER_PASSWORD})
    assert response.status_code == 400
    assert sid_of(client) is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0


def test_logout_without_csrf_token_is_refused_and_keeps_the_session(app, client, actions):
    make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    response = client.post("/logout")
    assert response.status_code == 400
    assert client.get("/account").status_code == 200


# --- Throttling -----------------------------------------------------------------------------------


def fail_times(actions, username: str, count: int):
    for _ in range(count):
        assert actions.login(username, "wrong password!").status_code == 200


def test_failures_past_five_make_an_unknown_browser_wait_even_with_the_right_password(app, client, actions):
    make_owner(app)
    fail_times(actions, "owner", 6)
    response = actions.login("OWNER", OWNER_PASSWORD)  # case does not dodge the counter
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert sid_of(client) is None
    assert "auth.locked_out" in audit_actions(app)


def test_successful_sign_ins_do_not_count(app, client, actions):
    make_owner(app)
    for _ in range(8):
        assert actions.login("owner", OWNER_PASSWORD).status_code == 302


def test_failures_past_twenty_from_one_address_make_it_wait(app, client, actions, actions_for):
    make_owner(app)
    for n in range(21):
        assert actions.login(f"someone{n}", "wrong password!").status_code == 200
    assert actions.login("owner", OWNER_PASSWORD).status_code == 429
    other_address = app.test_client()
    response = actions_for(other_address, app).post(
        "/login", {"username": "owner", "password": OWNER_PASSWORD}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert response.status_code == 302


@pytest.fixture
def redis_app(app, database_url, tmp_path):
    """The same app, with the limiter's counters in a real Redis (db 5, a key prefix of its own)."""
    prefix = f"ais-test-{uuid.uuid4().hex[:12]}"
    url = "redis://127.0.0.1:6379/5"
    connection = redis.Redis.from_url(url)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.fail("Redis is not running at 127.0.0.1:6379")

    def flush():
        for key in connection.scan_iter(match=f"*{prefix}*"):
            connection.delete(key)

    flush()
    redis_backed = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SESSION_COOKIE_SECURE": False,
            "SERVER_NAME": "localhost",
            "RATELIMIT_STORAGE_URI": url,
            "RATELIMIT_KEY_PREFIX": prefix,
            "AIS_ARGON2_FAST": True,
        }
    )
    redis_backed.instance_path = str(tmp_path / "instance")
    yield redis_backed, connection, prefix
    flush()
    with redis_backed.app_context():
        db.session.remove()
        db.engine.dispose()


def test_throttling_with_redis(redis_app, actions_for):
    app, connection, prefix = redis_app
    make_owner(app)
    actions = actions_for(app.test_client(), app)
    fail_times(actions, "owner", 6)
    assert any(connection.scan_iter(match=f"*{prefix}*"))  # the counters live in Redis
    assert actions.login("owner", OWNER_PASSWORD).status_code == 429


# --- Two-factor sign-in -------------------------------------------------------------------------


def test_owner_enrols_in_2fa_then_needs_a_code_to_sign_in(app, client, actions, moving_clock):
    owner_id = make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    secret, codes = enrol(client, actions)
    with app.app_context():
        assert db.session.get(User, owner_id).totp_enabled
        stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
        assert len(stored) == 10 and not set(codes) & set(stored)  # only hashes are kept
    actions.logout()

    response = actions.login("owner", OWNER_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/2fa")
    assert sid_of(client) is None  # no session before the second step
    assert client.get("/account").status_code == 302

    wrong = actions.post("/login/2fa", {"code": "000000"})
    assert wrong.status_code == 200 and "not right" in wrong.get_data(as_text=True)
    replay = actions.post("/login/2fa", {"code": totp_now(secret)})  # the enrolment code, again
    assert replay.status_code == 200

    moving_clock.advance(seconds=30)
    ok = actions.post("/login/2fa", {"code": totp_now(secret)})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/dashboard")
    assert client.get("/account").status_code == 200
    assert "auth.2fa_enabled" in audit_actions(app)


def test_recovery_code_signs_in_once(app, client, actions, moving_clock):
    make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    _, codes = enrol(client, actions)
    actions.logout()

    actions.login("owner", OWNER_PASSWORD)
    response = actions.post("/login/2fa", {"code": codes[3].upper().replace("-", " ")})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    actions.logout()

    actions.login("owner", OWNER_PASSWORD)
    again = actions.post("/login/2fa", {"code": codes[3]})
    assert again.status_code == 200 and client.get("/account").status_code == 302
    assert "auth.recovery_code_used" in audit_actions(app)


def test_second_step_expires_and_cannot_be_skipped(app, client, actions, moving_clock):
    make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    secret, _ = enrol(client, actions)
    actions.logout()
    assert client.get("/login/2fa").status_code == 302  # no pending sign-in
    actions.login("owner", OWNER_PASSWORD)
    moving_clock.advance(minutes=6)
    response = actions.post("/login/2fa", {"code": totp_now(secret)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/account").status_code == 302


def test_2fa_codes_are_throttled(app, client, actions, moving_clock):
    make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    secret, _ = enrol(client, actions)
    actions.logout()
    actions.login("owner", OWNER_PASSWORD)
    for _ in range(4):
        assert actions.post("/login/2fa", {"code": "123456"}).status_code == 200
    fifth = actions.post("/login/2fa", {"code": "123456"})
    assert fifth.status_code == 302 and fifth.headers["Location"].endswith("/login")  # the pending sign-in ended
    moving_clock.advance(seconds=30)
    response = actions.post("/login/2fa", {"code": totp_now(secret)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/account").status_code == 302


def test_disabling_2fa_needs_a_code(app, client, actions, moving_clock):
    owner_id = make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    secret, _ = enrol(client, actions)
    actions.post("/account/2fa/disable", {"disable-code": "000000"})
    with app.app_context():
        assert db.session.get(User, owner_id).totp_enabled
    moving_clock.advance(seconds=30)
    response = actions.post("/account/2fa/disable", {"disable-code": totp_now(secret)})
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, owner_id)
        assert not user.totp_enabled and user.totp_secret_sealed is None
        assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0


def stored_totp_key(app, user_id: int) -> str | None:
    with app.app_context():
        return db.session.scalar(select(User.totp_secret_sealed).where(User.id == user_id))


def test_the_totp_key_is_stored_encrypted(app, client, actions, moving_clock):
    owner_id = make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    secret, _ = enrol(client, actions)
    stored = stored_totp_key(app, owner_id)
    assert secret not in stored and stored.startswith("gAAAAA")  # a Fernet token
    with app.app_context():
        assert sealing.unseal(stored) == secret
        # Not readable with the key that signs cookies, nor with another app's key.
        with pytest.raises(InvalidToken):
            Fernet(base64.urlsafe_b64encode(hashlib.sha256(app.config["SECRET_KEY"].encode()).digest())).decrypt(
                stored.encode()
            )
        with pytest.raises(sealing.UnreadableSecret):
            sealing.unseal(stored, {"SECRET_KEY": "another-installation-" + "k" * 32})


def sign_in_with_totp(actions, secret: str):
    actions.login("owner", OWNER_PASSWORD)
    return actions.post("/login/2fa", {"code": totp_now(secret)})


def test_rotating_secret_key_keeps_2fa_with_the_old_key_as_a_fallback(app, client, actions, moving_clock):
    owner_id = make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    secret, _ = enrol(client, actions)
    actions.logout()
    old_key, before = app.config["SECRET_KEY"], stored_totp_key(app, owner_id)
    app.config.update(SECRET_KEY="rotated-" + "n" * 40, SECRET_KEY_FALLBACKS=[old_key])

    moving_clock.advance(seconds=30)
    response = sign_in_with_totp(actions, secret)
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    actions.logout()

    result = app.test_cli_runner().invoke(args=["reseal"])
    assert result.exit_code == 0 and "1 two-factor key(s) re-encrypted" in result.output
    after = stored_totp_key(app, owner_id)
    assert after != before
    with app.app_context():
        assert sealing.sealed_with_current_key(after) and not sealing.sealed_with_current_key(before)
    again = app.test_cli_runner().invoke(args=["reseal"])
    assert again.exit_code == 0 and "0 two-factor key(s)" in again.output  # nothing left to do
    assert "auth.2fa_keys_resealed" in audit_actions(app)

    app.config["SECRET_KEY_FALLBACKS"] = []  # the old key can go now
    moving_clock.advance(seconds=30)
    response = sign_in_with_totp(actions, secret)
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")


def test_a_totp_key_no_configured_key_opens_leaves_the_recovery_codes(app, client, actions, moving_clock, caplog):
    owner_id = make_owner(app)
    actions.login("owner", OWNER_PASSWORD)
    secret, codes = enrol(client, actions)
    actions.logout()
    app.config.update(SECRET_KEY="replaced-without-fallback-" + "z" * 32, SECRET_KEY_FALLBACKS=[])

    moving_clock.advance(seconds=30)
    refused = sign_in_with_totp(actions, secret)
    assert refused.status_code == 200 and "not right" in refused.get_data(as_text=True)
    assert f"user {owner_id}: the two-factor key cannot be decrypted" in caplog.text
    result = app.test_cli_runner().invoke(args=["reseal"])
    assert result.exit_code == 1 and f"user(s) {owner_id} " in result.output

    response = actions.post("/login/2fa", {"code": codes[0]})
    assert response.status_code == 302 and client.get("/account").status_code == 200
    # Then 2FA can be turned off (with another recovery code) and set up again under the new key.
    assert actions.post("/account/2fa/disable", {"disable-code": codes[1]}).status_code == 302
    new_secret, _ = enrol(client, actions)
    with app.app_context():
        assert sealing.unseal(stored_totp_key(app, owner_id)) == new_secret


def test_required_2fa_sends_owners_to_enrolment(app, client, actions):
    app.config["AIS_REQUIRE_OWNER_2FA"] = True
    make_owner(app)
    response = actions.login("owner", OWNER_PASSWORD)
    assert response.headers["Location"].endswith("/account/2fa")
    for page in ("/dashboard", "/clients"):
        response = client.get(page)
        assert response.status_code == 302 and response.headers["Location"].endswith("/account/2fa")
    assert client.get("/account/2fa").status_code == 200


def test_clients_cannot_use_owner_2fa_pages(app, client, actions):
    make_client(app)
    actions.login("alice@example.com", CLIENT_PASSWORD)
    assert client.get("/account/2fa").status_code == 403


# --- Passwords -----------------------------------------------------------------------------------


def test_password_policy():
    assert password_problems("a fine long passphrase") == []
    assert password_problems("short") == ["Use at least 10 characters."]
    assert "too common" in " ".join(password_problems("Password1234"))
    for common in ("qwertyuiop", "1234567890", "password123", "iloveyou123", "1q2w3e4r5t"):
        assert password_problems(common), common
    assert password_problems("x" * 128 + "yzw!") == []  # long passphrases are fine
    assert password_problems("ab" * 129 + "cd") == ["Use at most 256 characters."]
    assert password_problems("aaaaaaaaaaaab")  # repetitive
    assert password_problems("alice@example.com", username="Alice@Example.com")
    assert password_problems("my.login.name", username="x", email="My.Login.Name")
    assert len(passwords.common_passwords()) >= 1000


def test_hashes_are_argon2id_and_strong_by_default(app):
    assert hash_password("a fine long passphrase").startswith("$argon2id$")
    with app.app_context():
        app.config["AIS_ARGON2_FAST"] = False
        strong = hash_password("a fine long passphrase")
        assert "m=65536,t=3" in strong


def test_old_hashes_are_upgraded_on_sign_in(app):
    with app.app_context():
        app.config["AIS_ARGON2_FAST"] = True
        user = User(username="u", role="owner", password_hash=passwords._STRONG.hash("a fine long passphrase"))
        assert verify_password(user, "a fine long passphrase")
        assert "m=1024,t=1" in user.password_hash  # rehashed to the current parameters
        assert not verify_password(user, "wrong")
        assert not verify_password(None, "anything")


# --- create-owner -------------------------------------------------------------------------------


def test_create_owner_prompts_and_refuses_duplicates_and_weak_passwords(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-owner"], input="boss\nlong enough pass phrase\nlong enough pass phrase\n")
    assert result.exit_code == 0, result.output
    assert "long enough" not in result.output  # hidden input
    with app.app_context():
        boss = db.session.scalar(select(User).where(User.username == "boss"))
        assert boss.role == "owner" and verify_password(boss, "long enough pass phrase")

    duplicate = runner.invoke(args=["create-owner"], input="BOSS\nanother long phrase\nanother long phrase\n")
    assert duplicate.exit_code == 1 and "taken" in duplicate.output

    weak = runner.invoke(args=["create-owner"], input="boss2\npassword1234\npassword1234\n")
    assert weak.exit_code == 1 and "too common" in weak.output

    mismatch = runner.invoke(args=["create-owner"], input="boss3\nlong enough pass phrase\nsomething else\n")
    assert mismatch.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert "auth.owner_created" in audit_actions(app)


def test_an_owner_requires_2fa_for_every_owner_from_the_app(app, client, actions, actions_for, moving_clock):
    first = make_owner(app)
    with app.app_context():
        db.session.add(User(username="second", role="owner", password_hash=hash_password(OWNER_PASSWORD)))
        db.session.commit()
    actions.login("owner", OWNER_PASSWORD)
    # Not before they use it themselves: nobody locks the business out by accident.
    actions.post("/account/2fa/require", {"required": "on"})
    with app.app_context():
        assert db.session.get(Setting, "require_owner_2fa") is None
    enrol(client, actions)
    response = actions.post("/account/2fa/require", {"required": "on"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Setting, "require_owner_2fa").value == "true"
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(
                    AuditEntry.action == "2fa.required_for_owners", AuditEntry.actor_id == first
                )
            )
            == 1
        )
    actions.logout()

    other = actions_for(app.test_client(), app)
    response = other.login("second", OWNER_PASSWORD)
    assert response.headers["Location"].endswith("/account/2fa")
    assert other.client.get("/dashboard").headers["Location"].endswith("/account/2fa")


def test_a_rehash_at_sign_in_is_stored_in_a_write_transaction_of_its_own(app, client, actions):
    """The sign-in reads in a read transaction; on SQLite a write must not ride on it (it could
    fail with 'database is locked' under load): the new hash goes in with BEGIN IMMEDIATE."""
    with app.app_context():
        strong = passwords._STRONG.hash(OWNER_PASSWORD)
        db.session.add(User(username="owner", role="owner", password_hash=strong))
        db.session.commit()
        engine = db.engine
    statements: list[str] = []

    def note(connection, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split())[:60].upper())

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert actions.login("owner", OWNER_PASSWORD).status_code == 302
    finally:
        event.remove(engine, "before_cursor_execute", note)
    with app.app_context():
        assert "m=1024,t=1" in db.session.scalar(select(User.password_hash))  # the test's fast parameters
    rehash = next(i for i, s in enumerate(statements) if s.startswith("UPDATE USERS SET PASSWORD_HASH"))
    if engine.dialect.name == "sqlite":
        begins = [s for s in statements[:rehash] if s.startswith("BEGIN")]
        assert begins[-1] == "BEGIN IMMEDIATE"
