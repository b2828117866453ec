"""Server-side, revocable sessions.

The browser's (signed) Flask session holds only a random token, ``sid``; the database keeps its
sha256 in ``user_sessions``.  A request is signed in only while that row exists, is not ended,
has been used within the idle timeout (owners 30 min, clients 60 min), is younger than the
absolute lifetime (12 h) and its user is enabled.  Signing out, changing a password or disabling
a login ends rows on the server, so a copied cookie stops working at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from functools import cache
from typing import overload

from flask import current_app, g, request, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, case, func, select, update

from .. import audit
from ..audit import Actor
from ..clock import utcnow
from ..database import execute_dml, skippable_write, write_transaction
from ..extensions import db, login_manager
from ..models import User, UserSession
from . import throttle

SESSION_KEY = "sid"
TOUCH_INTERVAL = dt.timedelta(minutes=1)  # last_seen_at is written at most this often

login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def idle_timeout(user: User) -> dt.timedelta:
    key = "AIS_IDLE_TIMEOUT_OWNER" if user.is_owner else "AIS_IDLE_TIMEOUT_CLIENT"
    return current_app.config[key]


@dataclass(frozen=True)
class SessionTimes:
    """The parts of a ``user_sessions`` row that decide whether it can still be used."""

    ended_at: dt.datetime | None
    created_at: dt.datetime
    last_seen_at: dt.datetime


def session_problem(row: UserSession | SessionTimes, user: User, now: dt.datetime) -> str | None:
    """Why this session can no longer be used, or None if it can."""
    if row.ended_at is not None:
        return "ended"
    if not user.is_enabled:
        return "disabled"
    if now - as_utc(row.created_at) >= current_app.config["AIS_SESSION_LIFETIME"]:
        return "expired"
    if now - as_utc(row.last_seen_at) >= idle_timeout(user):
        return "idle"
    return None


# --- Creating and ending sessions (service functions: plain values, the caller's transaction) ---


def create_session(user_id: int, *, ip_address: str = "", user_agent: str = "") -> tuple[int, str]:
    """Add a session row to the current transaction; returns (row id, raw token for the cookie)."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(
        token_hash=token_hash(raw),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        ip_address=(ip_address or "")[:64],
        user_agent=(user_agent or "")[:255],
    )
    db.session.add(row)
    db.session.flush()
    return row.id, raw


def end_session(session_id: int) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def end_other_sessions(user_id: int, keep_session_id: int | None = None) -> int:
    """End every open session of the user except ``keep_session_id`` (caller's transaction)."""
    statement = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep_session_id is not None:
        statement = statement.where(UserSession.id != keep_session_id)
    return execute_dml(statement.values(ended_at=utcnow())) or 0


def end_all_sessions(user_id: int) -> int:
    """End every open session of the user (caller's transaction)."""
    return end_other_sessions(user_id, None)


def open_sessions(user_id: int) -> list[UserSession]:
    """The user's sessions that are not ended (some may have timed out without being used since)."""
    now = utcnow()
    user = db.session.get(User, user_id)
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    return [row for row in rows if user is not None and session_problem(row, user, now) is None]


# --- The browser side (request context) -------------------------------------------------------


def current_session_id() -> int | None:
    """The id of this request's session row, once the user is loaded."""
    return g.get("ais_session_id")


def sign_in(user: User, how: str = "password") -> int:
    """Start a new session for ``user`` in this browser: a fresh cookie (no fixation), a new row.

    Ends the session this browser had before, if any; audits the sign-in (``how``: password,
    password+totp, invitation...).  Commits.  Returns the session row's id.
    """
    old_raw = session.get(SESSION_KEY)
    with write_transaction():
        if old_raw:
            db.session.execute(
                update(UserSession)
                .where(UserSession.token_hash == token_hash(old_raw), UserSession.ended_at.is_(None))
                .values(ended_at=utcnow())
            )
        session_id, raw = create_session(
            user.id, ip_address=request.remote_addr or "", user_agent=request.user_agent.string or ""
        )
        db.session.execute(update(User).where(User.id == user.id).values(last_sign_in_at=utcnow()))
        audit.record(
            Actor(user_id=user.id, label=user.username, ip_address=request.remote_addr or ""),
            "auth.sign_in",
            client_id=user.client_id,
            detail=how,
        )
    user = db.session.get_one(User, user.id)
    session.clear()  # rotation: nothing from before sign-in survives (CSRF token, pending steps)
    session[SESSION_KEY] = raw
    login_user(user)
    g.ais_session_id = session_id
    throttle.remember_device(user.id)  # this browser now signs in to this account whatever others try
    return session_id


def sign_out(actor: Actor | None = None) -> None:
    """End this browser's session on the server and forget it here; audits if ``actor``.  Commits."""
    raw = session.get(SESSION_KEY)
    if raw:
        with write_transaction():
            ended = execute_dml(
                update(UserSession)
                .where(UserSession.token_hash == token_hash(raw), UserSession.ended_at.is_(None))
                .values(ended_at=utcnow())
            )
            if ended and actor is not None and actor.user_id is not None:
                audit.record(actor, "auth.sign_out")
    logout_user()
    session.clear()
    for name in ("ais_session_id", "ais_client_name", "ais_owner_2fa_setting", "awaiting_confirmation"):
        g.pop(name, None)


def _forget_browser_session() -> None:
    session.pop(SESSION_KEY, None)
    session.pop("_user_id", None)
    session.pop("_fresh", None)
    session.pop("_id", None)


# The user's columns a signed-in request needs (never the password hash or the TOTP secret: they
# are read where they are checked, not carried around with every request).
SIGNED_IN_COLUMNS = ("id", "username", "role", "client_id", "is_enabled", "password_changed_at", "totp_enabled")


@cache
def _session_check_statement():
    """What every signed-in request needs to know, in ONE statement: the session row's times, the
    user, the client's name (the portal's scope), and for an owner whether owners must use
    two-factor sign-in and the navbar's count of payments awaiting confirmation (a sum over
    ``monthly_totals``, a row per month; a client's check never evaluates it).  It is the only
    statement a page runs before its own work, so it is kept lean: Core columns (no ORM loading),
    built once (cached) with the token as a bound parameter."""
    from ..models import OWNER, Client, MonthlyTotal, Setting
    from .twofactor import REQUIRE_OWNER_2FA

    users, sessions, clients, settings, monthly = (
        User.__table__,
        UserSession.__table__,
        Client.__table__,
        Setting.__table__,
        MonthlyTotal.__table__,
    )
    owner_2fa_setting = (
        select(settings.c.value).where(settings.c.key == REQUIRE_OWNER_2FA).scalar_subquery().label("owner_2fa")
    )
    awaiting = select(func.coalesce(func.sum(monthly.c.awaiting_count), 0)).scalar_subquery()
    return (
        select(
            *(users.c[name] for name in SIGNED_IN_COLUMNS),
            sessions.c.id.label("session_id"),
            sessions.c.created_at,
            sessions.c.last_seen_at,
            sessions.c.ended_at,
            clients.c.name.label("client_name"),
            owner_2fa_setting,
            case((users.c.role == OWNER, awaiting)).label("owner_awaiting"),
        )
        .select_from(
            sessions.join(users, users.c.id == sessions.c.user_id).outerjoin(clients, clients.c.id == users.c.client_id)
        )
        .where(sessions.c.token_hash == bindparam("token_hash"))
    )


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user, only while this browser's server-side session is valid.

    The user is a transient ``User`` built from the session check's row (not loaded into the ORM
    session): pages only read it; anything that changes a user loads it by id in its transaction."""
    raw = session.get(SESSION_KEY)
    if not raw or not isinstance(raw, str):
        return None
    found = db.session.execute(_session_check_statement(), {"token_hash": token_hash(raw)}).first()
    if found is None:
        _forget_browser_session()
        return None
    if str(found.id) != str(user_id):
        _forget_browser_session()
        return None
    user = User(**{name: getattr(found, name) for name in SIGNED_IN_COLUMNS})
    row = SessionTimes(ended_at=found.ended_at, created_at=found.created_at, last_seen_at=found.last_seen_at)
    now = utcnow()
    problem = session_problem(row, user, now)
    if problem is not None:
        if found.ended_at is None:
            # Skipped when the database is busy: the browser forgets the session below either way.
            skippable_write(
                update(UserSession)
                .where(UserSession.id == found.session_id, UserSession.ended_at.is_(None))
                .values(ended_at=now)
            )
        _forget_browser_session()
        return None
    if now - as_utc(found.last_seen_at) >= TOUCH_INTERVAL:
        # Its own short transaction (skipped when busy), never an upgrade of this request's reads.
        skippable_write(update(UserSession).where(UserSession.id == found.session_id).values(last_seen_at=now))
    g.ais_session_id = found.session_id
    g.ais_client_name = found.client_name  # None for an owner
    g.ais_owner_2fa_setting = found.owner_2fa
    if found.owner_awaiting is not None:
        g.awaiting_confirmation = int(found.owner_awaiting)  # the back office's navbar badge
    return user


def load_user_early() -> None:
    """Check the session first thing in each request (before any view has loaded rows), so that
    the rare write of last_seen_at or ended_at never expires objects a view is holding."""
    if SESSION_KEY in session and request.endpoint != "static":
        current_user.is_authenticated  # noqa: B018 - reading it makes Flask-Login load the user now
