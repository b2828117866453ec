"""Throttling of failed sign-in attempts, on Flask-Limiter's storage (memory:// or Redis).

Failures slow sign-in down; they never lock an account.  Each account (the lower-cased username,
hashed) and each address has a few free failures in a 15-minute window (``AIS_LOGIN_FREE_FAILURES_
ACCOUNT``, default 5; ``..._ADDRESS``, 20); every failure after those makes the next attempt wait,
twice as long each time: 2 s, 4 s, 8 s … up to 15 minutes (``AIS_LOGIN_DELAY_BASE_SECONDS``,
``AIS_LOGIN_DELAY_MAX_SECONDS``).  An attempt during the wait is refused with 429 before the
password is checked, and does not count.

A browser that has signed in to an account before carries a signed "known device" cookie naming
that account.  For that account, such a browser is held only to its own failures (the same growing
delays, counted per device), never to the account's or the address's: whatever an attacker does
elsewhere, the owner's own browser still signs in with the right password.

Keys carry ``RATELIMIT_KEY_PREFIX`` so that several installations can share one Redis.

When the storage (Redis) cannot be reached, the counts go to this process's memory instead
(``_fallback``) and a warning is logged: sign-in keeps working and stays throttled, per process
(an attacker gets the free failures once per worker process until Redis is back).  The next call
tries Redis again first, so the shared counts resume as soon as it answers.  Flask-Limiter does
the same for the decorator limits (``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``).
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from flask import after_this_request, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse
from limits.storage import MemoryStorage

from ..extensions import limiter

DEFAULT_FREE_ACCOUNT_FAILURES = 5
DEFAULT_FREE_ADDRESS_FAILURES = 20
FAILURE_WINDOW_SECONDS = 15 * 60  # failures older than this are forgotten
DEFAULT_DELAY_BASE_SECONDS = 2
DEFAULT_DELAY_MAX_SECONDS = 15 * 60
DEFAULT_FORGOT_LIMIT = "3/15 minutes"  # reset emails per account
DEVICE_COOKIE = "ais_device"
DEVICE_MAX_AGE = 180 * 24 * 3600
DEVICE_ACCOUNTS = 5  # accounts one browser is remembered for

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


# --- Known devices ------------------------------------------------------------------------------


def _device_serializer() -> URLSafeTimedSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and accepts all: cookies survive a key rotation.
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt="ais-known-device")


def _device() -> dict | None:
    """This browser's known-device cookie ({"d": device id, "u": [user ids]}), if genuine."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 500:
        return None
    try:
        value = _device_serializer().loads(raw, max_age=DEVICE_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("d"), str) or not isinstance(value.get("u"), list):
        return None
    return value


def known_device_for(user_id: int | None) -> str | None:
    """The device id if this browser has signed in to ``user_id`` before, else None."""
    device = _device()
    if user_id is None or device is None or user_id not in device["u"]:
        return None
    return device["d"]


def remember_device(user_id: int) -> None:
    """After a successful sign-in: this browser is known for ``user_id`` (cookie set on the response)."""
    device = _device() or {"d": secrets.token_urlsafe(16), "u": []}
    users = [user_id] + [u for u in device["u"] if u != user_id]
    value = _device_serializer().dumps({"d": device["d"], "u": users[:DEVICE_ACCOUNTS]})
    _clear(("device", device["d"]))

    @after_this_request
    def set_cookie(response):
        response.set_cookie(
            DEVICE_COOKIE,
            value,
            max_age=DEVICE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
        return response


# --- Failures and delays ------------------------------------------------------------------------


def _scopes(username: str, user_id: int | None) -> list[tuple[tuple[str, str], int]]:
    """The counters an attempt is held to: ((scope, key), free failures)."""
    config = current_app.config
    free_account = int(config.get("AIS_LOGIN_FREE_FAILURES_ACCOUNT", DEFAULT_FREE_ACCOUNT_FAILURES))
    device = known_device_for(user_id)
    if device is not None:
        return [(("device", device), free_account)]
    return [
        (("account", account_key(username)), free_account),
        (("address", address_key()), int(config.get("AIS_LOGIN_FREE_FAILURES_ADDRESS", DEFAULT_FREE_ADDRESS_FAILURES))),
    ]


def _key(kind: str, scope: tuple[str, str]) -> str:
    return f"{_prefix()}/login-{kind}/{scope[0]}/{scope[1]}"


def _clear(scope: tuple[str, str]) -> None:
    if not _enabled():
        return

    def clear(strategy, storage):
        storage.clear(_key("failures", scope))
        storage.clear(_key("wait", scope))

    _with_fallback(clear)


def delay_after(failures: int, free: int) -> int:
    """Seconds the next attempt waits after ``failures`` failures of which ``free`` cost nothing:
    0, then doubling from the base up to the maximum."""
    if failures <= free:
        return 0
    config = current_app.config
    base = int(config.get("AIS_LOGIN_DELAY_BASE_SECONDS", DEFAULT_DELAY_BASE_SECONDS))
    ceiling = int(config.get("AIS_LOGIN_DELAY_MAX_SECONDS", DEFAULT_DELAY_MAX_SECONDS))
    return min(base * 2 ** min(failures - free - 1, 30), ceiling)


def sign_in_blocked(username: str, user_id: int | None = None) -> bool:
    """True while the account, the address or (for a known browser) the device must wait."""
    if not _enabled():
        return False
    scopes = _scopes(username, user_id)
    return _with_fallback(lambda strategy, storage: any(storage.get(_key("wait", scope)) > 0 for scope, _ in scopes))


def record_failure(username: str, user_id: int | None = None) -> bool:
    """Count one failed attempt; True if the next attempt now has to wait."""
    if not _enabled():
        return False
    scopes = _scopes(username, user_id)

    def count(strategy, storage):
        waits = False
        for scope, free in scopes:
            failures = storage.incr(_key("failures", scope), FAILURE_WINDOW_SECONDS)
            delay = delay_after(failures, free)
            if delay:
                storage.clear(_key("wait", scope))
                storage.incr(_key("wait", scope), delay)
                waits = True
        return waits

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
