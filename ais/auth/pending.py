"""The pending sign-in: the password was right, the second factor is awaited.

It lives on the server (``pending_sign_ins``), like a session: the browser's signed cookie holds
only a random token, whose sha256 finds the row.  So a forged cookie (a leaked or weak key) names
no user, and a copied token stops working as soon as the sign-in completes, expires (5 minutes)
or has been given a wrong code too often (5 times).
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import session
from sqlalchemy import delete, select, update

from ..clock import utcnow
from ..database import execute_dml, write_transaction
from ..extensions import db
from ..models import PendingSignIn
from .sessions import as_utc, token_hash

COOKIE_KEY = "auth_2fa"
LIFETIME = dt.timedelta(minutes=5)
MAX_FAILURES = 5
KEPT_FOR = dt.timedelta(days=1)  # rows past their expiry are deleted after this (they open nothing)


def start(user_id: int, next_url: str | None) -> None:
    """Record a pending sign-in for ``user_id`` and give this browser its token.  Commits.

    Any pending sign-in this browser had before ends: one browser, one pending step.  Rows that
    expired more than a day ago are deleted on the way, so the table stays small."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    old_raw = session.get(COOKIE_KEY)
    with write_transaction():
        if isinstance(old_raw, str):
            _end(token_hash(old_raw), now)
        execute_dml(delete(PendingSignIn).where(PendingSignIn.expires_at < now - KEPT_FOR))
        db.session.add(
            PendingSignIn(
                token_hash=token_hash(raw),
                user_id=user_id,
                created_at=now,
                expires_at=now + LIFETIME,
                failures=0,
                next_url=(next_url or "")[:500],
            )
        )
    session[COOKIE_KEY] = raw


def current() -> PendingSignIn | None:
    """This browser's pending sign-in, if it is still usable (not ended, not expired)."""
    raw = session.get(COOKIE_KEY)
    if not isinstance(raw, str) or not raw:
        return None
    row = db.session.scalar(select(PendingSignIn).where(PendingSignIn.token_hash == token_hash(raw)))
    if row is None or row.ended_at is not None or as_utc(row.expires_at) <= utcnow():
        return None
    return row


def complete(pending_id: int) -> bool:
    """Use the pending sign-in up (once): True for the one request that ends it.  Commits."""
    with write_transaction():
        used = execute_dml(
            update(PendingSignIn)
            .where(
                PendingSignIn.id == pending_id, PendingSignIn.ended_at.is_(None), PendingSignIn.expires_at > utcnow()
            )
            .values(ended_at=utcnow())
        )
    session.pop(COOKIE_KEY, None)
    return used == 1


def record_failure(pending_id: int) -> bool:
    """Count a wrong code; after MAX_FAILURES the pending sign-in ends.  True if it has.  Commits."""
    with write_transaction():
        row = db.session.get(PendingSignIn, pending_id)
        if row is None or row.ended_at is not None:
            return True
        row.failures += 1
        if row.failures >= MAX_FAILURES:
            row.ended_at = utcnow()
        ended = row.ended_at is not None
    if ended:
        session.pop(COOKIE_KEY, None)
    return ended


def forget() -> None:
    """End this browser's pending sign-in, if any (e.g. a new password sign-in).  Commits."""
    raw = session.pop(COOKIE_KEY, None)
    if isinstance(raw, str):
        with write_transaction():
            _end(token_hash(raw), utcnow())


def _end(hashed: str, now: dt.datetime) -> None:
    db.session.execute(
        update(PendingSignIn)
        .where(PendingSignIn.token_hash == hashed, PendingSignIn.ended_at.is_(None))
        .values(ended_at=now)
    )
