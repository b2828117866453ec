"""Failed sign-ins slow an account and an address down (growing delays) but never lock the owner
out: a browser that signed in to the account before still gets in with the right password."""

from __future__ import annotations

import time

import pytest
from auth_support import OWNER_PASSWORD, make_owner
from itsdangerous import URLSafeTimedSerializer

from ais.auth import throttle

ATTACKER = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture(autouse=True)
def _owner(app, fast_hashing):
    make_owner(app)


def attempt(actions, password, **environ):
    return actions.post(
        "/login", {"username": "owner", "password": password}, environ_base=environ or {"REMOTE_ADDR": "127.0.0.1"}
    )


def test_delays_grow_from_two_seconds_to_a_ceiling_of_fifteen_minutes(app):
    with app.app_context():
        assert [throttle.delay_after(n, 5) for n in (1, 5, 6, 7, 8, 9)] == [0, 0, 2, 4, 8, 16]
        assert throttle.delay_after(40, 5) == 15 * 60
        assert throttle.delay_after(10**6, 5) == 15 * 60


def test_an_unknown_browser_waits_after_too_many_failures_and_may_try_again_after_the_wait(app, actions_for):
    app.config["AIS_LOGIN_DELAY_BASE_SECONDS"] = 1
    attacker = actions_for(app.test_client(), app)
    for _ in range(6):
        assert attempt(attacker, "wrong password!", **ATTACKER).status_code == 200
    assert attempt(attacker, OWNER_PASSWORD, **ATTACKER).status_code == 429  # the right password waits too
    time.sleep(1.2)
    assert attempt(attacker, "wrong password!", **ATTACKER).status_code == 200  # a wait, not a lock
    assert attempt(attacker, OWNER_PASSWORD, **ATTACKER).status_code == 429  # and the next wait is longer
    time.sleep(1.2)
    assert attempt(attacker, OWNER_PASSWORD, **ATTACKER).status_code == 429
    time.sleep(1.0)
    assert attempt(attacker, OWNER_PASSWORD, **ATTACKER).status_code == 302


def test_the_owners_own_browser_signs_in_while_an_attacker_keeps_the_account_waiting(app, actions_for):
    owner = actions_for(app.test_client(), app)
    assert attempt(owner, OWNER_PASSWORD).status_code == 302  # signed in here once: a known device
    owner.logout()
    assert owner.client.get_cookie(throttle.DEVICE_COOKIE) is not None

    attacker = actions_for(app.test_client(), app)
    for _ in range(30):  # from the same address as the owner, so the address waits too
        attempt(attacker, "wrong password!")
    assert attempt(attacker, OWNER_PASSWORD).status_code == 429

    assert attempt(owner, OWNER_PASSWORD).status_code == 302
    assert owner.client.get("/account").status_code == 200


def test_a_known_browser_is_still_slowed_by_its_own_failures(app, actions_for):
    owner = actions_for(app.test_client(), app)
    assert attempt(owner, OWNER_PASSWORD).status_code == 302
    owner.logout()
    for _ in range(6):
        assert attempt(owner, "wrong password!").status_code == 200
    assert attempt(owner, OWNER_PASSWORD).status_code == 429


def test_a_device_cookie_signed_with_another_key_counts_for_nothing(app, actions_for):
    forged = URLSafeTimedSerializer("not-the-key", salt="ais-known-device").dumps({"d": "x", "u": [1]})
    attacker = actions_for(app.test_client(), app)
    attacker.client.set_cookie(throttle.DEVICE_COOKIE, forged, domain="localhost")
    for _ in range(6):
        attempt(attacker, "wrong password!")
    assert attempt(attacker, OWNER_PASSWORD).status_code == 429
