"""Throttling of failed sign-in attempts, on Flask-Limiter's storage (memory:// or Redis).

Only failures count: per account (the lower-cased username, hashed) and per address.  Once a
limit is used up, the next attempt is refused with 429 before the password is even checked, so
the right password does not help an attacker who has been guessing.

Limits are read from the config: ``AIS_LOGIN_LIMIT_ACCOUNT`` (default "5/minute") and
``AIS_LOGIN_LIMIT_ADDRESS`` (default "20/minute"), in the limits library's notation.  Keys carry
``RATELIMIT_KEY_PREFIX`` so that several installations can share one Redis.
"""
from __future__ import annotations

import hashlib

from flask import current_app, request
from limits import parse

from ..extensions import limiter

DEFAULT_ACCOUNT_LIMIT = "5/minute"
DEFAULT_ADDRESS_LIMIT = "20/minute"
DEFAULT_FORGOT_LIMIT = "3/15 minutes"  # reset emails per account


def _enabled() -> bool:
    return bool(getattr(limiter, "enabled", False) and getattr(limiter, "initialized", False))


def _prefix() -> str:
    return current_app.config.get("RATELIMIT_KEY_PREFIX", "") or "ais"


def account_key(username: str) -> str:
    return hashlib.sha256((username or "").strip().lower().encode("utf-8")).hexdigest()[:40]


def address_key() -> str:
    return request.remote_addr or "unknown"


def _checks(username: str) -> list[tuple[object, str, str]]:
    config = current_app.config
    return [
        (parse(config.get("AIS_LOGIN_LIMIT_ACCOUNT", DEFAULT_ACCOUNT_LIMIT)), "login-account", account_key(username)),
        (parse(config.get("AIS_LOGIN_LIMIT_ADDRESS", DEFAULT_ADDRESS_LIMIT)), "login-address", address_key()),
    ]


def sign_in_blocked(username: str) -> bool:
    """True if the account or the address has used up its failed attempts."""
    if not _enabled():
        return False
    strategy = limiter.limiter
    return any(not strategy.test(item, _prefix(), scope, key) for item, scope, key in _checks(username))


def record_failure(username: str) -> bool:
    """Count one failed attempt; True if that used up the account's or the address's allowance."""
    if not _enabled():
        return False
    strategy = limiter.limiter
    exhausted = False
    for item, scope, key in _checks(username):
        strategy.hit(item, _prefix(), scope, key)
        if not strategy.test(item, _prefix(), scope, key):
            exhausted = True
    return exhausted


def allow_reset_email(email: str) -> bool:
    """At most a few reset emails per account in a while (quietly: the page says the same)."""
    if not _enabled():
        return True
    item = parse(current_app.config.get("AIS_FORGOT_LIMIT_ACCOUNT", DEFAULT_FORGOT_LIMIT))
    return limiter.limiter.hit(item, _prefix(), "forgot-account", account_key(email))


def first_use(scope: str, key: str, seconds: int) -> bool:
    """True the first time (scope, key) is seen within ``seconds`` (e.g. a TOTP code: no replay)."""
    if not _enabled():
        return True
    storage = limiter.storage
    return storage.incr(f"{_prefix()}/{scope}/{key}", seconds) == 1
