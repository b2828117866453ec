"""Throttling of failed sign-in attempts, on Flask-Limiter's storage (memory:// or Redis).

Only failures count: per account (the lower-cased username, hashed) and per address.  Once a
limit is used up, the next attempt is refused with 429 before the password is even checked, so
the right password does not help an attacker who has been guessing.

Limits are read from the config: ``AIS_LOGIN_LIMIT_ACCOUNT`` (default "5/minute") and
``AIS_LOGIN_LIMIT_ADDRESS`` (default "20/minute"), in the limits library's notation.  Keys carry
``RATELIMIT_KEY_PREFIX`` so that several installations can share one Redis.

When the storage (Redis) cannot be reached, the counts go to this process's memory instead
(``_fallback``) and a warning is logged: sign-in keeps working and stays throttled, per process
(an attacker gets the limit once per worker process until Redis is back).  The next call tries
Redis again first, so the shared counts resume as soon as it answers.  Flask-Limiter does the same
for the decorator limits (``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``).
"""

from __future__ import annotations

import hashlib
import logging

from flask import current_app, request
from limits import parse
from limits.storage import MemoryStorage

from ..extensions import limiter

DEFAULT_ACCOUNT_LIMIT = "5/minute"
DEFAULT_ADDRESS_LIMIT = "20/minute"
DEFAULT_FORGOT_LIMIT = "3/15 minutes"  # reset emails per account

log = logging.getLogger("ais.auth")


def _fallback():
    """This process's own counts (strategy and storage), for while the shared storage is down."""
    local = current_app.extensions.get("ais_throttle_fallback")
    if local is None:
        storage = MemoryStorage()
        local = current_app.extensions["ais_throttle_fallback"] = (type(limiter.limiter)(storage), storage)
    return local


def _with_fallback(use):
    """``use(strategy, storage)`` on the configured storage, or on the local one if that fails."""
    try:
        return use(limiter.limiter, limiter.storage)
    except Exception as error:  # redis ConnectionError, TimeoutError...: the storage is unreachable
        log.warning("throttle storage unavailable, counting in this process: %s: %s", type(error).__name__, error)
        return use(*_fallback())


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
    checks = _checks(username)
    return _with_fallback(
        lambda strategy, storage: any(not strategy.test(item, _prefix(), scope, key) for item, scope, key in checks)
    )


def record_failure(username: str) -> bool:
    """Count one failed attempt; True if that used up the account's or the address's allowance."""
    if not _enabled():
        return False
    checks = _checks(username)

    def count(strategy, storage):
        exhausted = False
        for item, scope, key in checks:
            strategy.hit(item, _prefix(), scope, key)
            if not strategy.test(item, _prefix(), scope, key):
                exhausted = True
        return exhausted

    return _with_fallback(count)


def allow_reset_email(email: str) -> bool:
    """At most a few reset emails per account in a while (quietly: the page says the same)."""
    if not _enabled():
        return True
    item = parse(current_app.config.get("AIS_FORGOT_LIMIT_ACCOUNT", DEFAULT_FORGOT_LIMIT))
    key = account_key(email)
    return _with_fallback(lambda strategy, storage: strategy.hit(item, _prefix(), "forgot-account", key))


def first_use(scope: str, key: str, seconds: int) -> bool:
    """True the first time (scope, key) is seen within ``seconds`` (e.g. a TOTP code: no replay)."""
    if not _enabled():
        return True
    name = f"{_prefix()}/{scope}/{key}"
    return _with_fallback(lambda strategy, storage: storage.incr(name, seconds) == 1)
