"""Password hashing (argon2id) and the password policy.

* ``hash_password(password)``: an argon2id hash with argon2-cffi's defaults (RFC 9106 low-memory
  profile).  ``AIS_ARGON2_FAST=True`` in the app's config (tests only) uses cheap parameters;
  hashes record their parameters, so either kind verifies anywhere.
* ``verify_password(user, password)``: constant-time check; a hash made with old parameters is
  replaced on the object (the caller's transaction saves it).
* ``password_problems(password, username=..., email=...)``: what is wrong with a new password,
  as sentences for the form (empty list: acceptable).
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context

MIN_LENGTH = 10
MAX_LENGTH = 256  # long passphrases are welcome; beyond this is refused (hashing cost, abuse)
MIN_DISTINCT_CHARACTERS = 4
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

_STRONG = PasswordHasher()  # argon2id, time_cost=3, memory_cost=64 MiB, parallelism=4
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only


def hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("AIS_ARGON2_FAST"):
        return _FAST
    return _STRONG


def hash_password(password: str) -> str:
    return hasher().hash(password)


@lru_cache(maxsize=2)
def _dummy_hash(fast: bool) -> str:
    return (_FAST if fast else _STRONG).hash("not a real password: equalises timing")


def dummy_verify(password: str) -> None:
    """Spend the time a real verification takes (unknown account: no timing difference)."""
    ph = hasher()
    with contextlib.suppress(VerificationError):
        ph.verify(_dummy_hash(ph is _FAST), password)


def verify_password(user, password: str) -> bool:
    """True if ``password`` is the user's; rehashes (on the object) when the parameters changed."""
    stored = getattr(user, "password_hash", None) if user is not None else None
    if not stored:
        dummy_verify(password)
        return False
    ph = hasher()
    try:
        ph.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if ph.check_needs_rehash(stored):
        user.password_hash = ph.hash(password)
    return True


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problems(password: str, username: str | None = None, email: str | None = None) -> list[str]:
    """Why ``password`` may not be used (empty list: it may)."""
    password = password or ""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    folded = password.strip().lower()
    if folded in common_passwords():
        problems.append("This password is too common; choose one that is harder to guess.")
    elif password and len(set(folded)) < MIN_DISTINCT_CHARACTERS:
        problems.append("This password repeats too few characters; choose one that is harder to guess.")
    for name in (username, email):
        if name and folded == name.strip().lower():
            problems.append("Your password must not be your username or email address.")
            break
    return problems
