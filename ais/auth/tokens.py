"""Single-use account links (portal invitations, password resets) and the client portal switch.

Only a link's sha256 is stored.  A link works once, before it expires (invitation 7 days,
reset 1 hour); a new link of the same kind cancels the older ones.  Opening a link (GET) changes
nothing: only setting the password spends it, so mail scanners that prefetch links do no harm.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app, render_template
from sqlalchemy import func, select, update

from .. import audit, emails
from ..audit import Actor
from ..clock import utcnow
from ..database import execute_dml, write_transaction
from ..extensions import db
from ..links import external_url
from ..mail.outbox import queue_email, register_preparer
from ..models import CLIENT, AccountToken, Client, OutboxMessage, User
from . import sessions, throttle
from .passwords import hash_password, password_problems

INVITATION = "invitation"
RESET = "reset"
LIFETIMES = {INVITATION: dt.timedelta(days=7), RESET: dt.timedelta(hours=1)}


class PortalAccessError(ValueError):
    """Portal access cannot be changed (the message is for the owner)."""


class ClientNotFound(LookupError):
    """No such client."""


class PasswordRejected(ValueError):
    """The new password breaks the policy; ``problems`` lists why."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LinkInfo:
    """What a valid link is for (shown on the set-password page)."""

    token_id: int
    user_id: int
    username: str
    purpose: str


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def issue_token(user_id: int, purpose: str) -> tuple[int, str]:
    """A new single-use token for the user (caller's transaction); older unused ones are cancelled.

    Returns (token row id, raw token).
    """
    now = utcnow()
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user_id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )
    raw = secrets.token_urlsafe(32)
    row = AccountToken(
        token_hash=_hash(raw), user_id=user_id, purpose=purpose, created_at=now, expires_at=now + LIFETIMES[purpose]
    )
    db.session.add(row)
    db.session.flush()
    return row.id, raw


def _find_token(raw: str, purpose: str) -> tuple[AccountToken, User] | None:
    if not raw or len(raw) > 200:
        return None
    found = db.session.execute(
        select(AccountToken, User)
        .join(User, User.id == AccountToken.user_id)
        .where(AccountToken.token_hash == _hash(raw), AccountToken.purpose == purpose)
    ).first()
    if found is None:
        return None
    token, user = found
    if token.used_at is not None or as_utc(token.expires_at) <= utcnow() or not user.is_enabled:
        return None
    return token, user


def check_link(raw: str, purpose: str) -> LinkInfo | None:
    """The link's details if it can still be used, else None (unknown, used, expired, disabled)."""
    found = _find_token(raw, purpose)
    if found is None:
        return None
    token, user = found
    return LinkInfo(token_id=token.id, user_id=user.id, username=user.username, purpose=purpose)


def use_link(actor: Actor, raw: str, purpose: str, new_password: str) -> int:
    """Set the password through a link and spend it; ends the user's sessions.  Commits.

    Returns the user's id.  Raises LookupError for a link that cannot be used (nothing changes)
    and PasswordRejected for a password the policy refuses (the link stays usable).
    """
    found = _find_token(raw, purpose)
    if found is None:
        raise LookupError("This link is invalid, already used or expired.")
    token, user = found
    email = user.client.email if user.client_id and user.client else None
    problems = password_problems(new_password, username=user.username, email=email)
    if problems:
        raise PasswordRejected(problems)
    new_hash = hash_password(new_password)  # slow on purpose: outside the write transaction
    with write_transaction():
        found = _find_token(raw, purpose)
        if found is None:
            raise LookupError("This link is invalid, already used or expired.")
        token, user = found
        spent = execute_dml(
            update(AccountToken)
            .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if spent != 1:  # someone used it a moment ago
            raise LookupError("This link is invalid, already used or expired.")
        user.password_hash = new_hash
        user.password_changed_at = utcnow()
        sessions.end_all_sessions(user.id)
        action = "auth.invitation_accepted" if purpose == INVITATION else "auth.password_reset"
        audit.record(
            Actor(user_id=user.id, label=user.username, ip_address=actor.ip_address),
            action,
            client_id=user.client_id,
        )
        return user.id


# --- Portal access (called by the back office) ------------------------------------------------


def enable_portal_access(actor: Actor, client_id: int) -> str:
    """Give a client a portal login (or re-enable it) and email them an invitation.  Commits.

    The login's username is the client's email; it has no password until the client follows
    the invitation link (7 days, single use).  Returns the link, the same absolute address as in the
    email (on AIS_BASE_URL).
    Raises ClientNotFound (a LookupError) or PortalAccessError (a ValueError).
    """
    with write_transaction():
        client = db.session.get(Client, client_id)
        if client is None:
            raise ClientNotFound("No such client.")
        email = (client.email or "").strip()
        if not email:
            raise PortalAccessError("The client needs an email address to use the portal.")
        if not emails.is_single_address(email):  # e.g. a list stored before addresses were checked
            raise PortalAccessError("The client's email must be exactly one address; correct it first.")
        user = db.session.scalar(select(User).where(User.client_id == client_id))
        clash = db.session.scalar(
            select(User).where(func.lower(User.username) == email.lower(), User.client_id.is_distinct_from(client_id))
        )
        if clash is not None:
            raise PortalAccessError("Another login already uses this client's email address.")
        if user is None:
            user = User(username=email, role=CLIENT, client_id=client_id, password_hash=None, is_enabled=True)
            db.session.add(user)
            db.session.flush()
        else:
            user.is_enabled = True
            user.username = email
        token_id, raw = issue_token(user.id, INVITATION)
        link = external_url("auth.invite", token=raw)
        _queue_account_email(
            "invitation",
            email,
            f"Your invitation to {current_app.config['AIS_BUSINESS_NAME']}'s client portal",
            f"invitation:{token_id}",
            name=client.name,
            username=email,
            link=link,
            expires_days=LIFETIMES[INVITATION].days,
        )
        audit.record(actor, "portal.access_enabled", client_id=client_id, detail=email)
    return link


def disable_portal_access(actor: Actor, client_id: int) -> None:
    """Stop a client's login: it can no longer sign in, its sessions and links end.  Commits."""
    with write_transaction():
        client = db.session.get(Client, client_id)
        if client is None:
            raise ClientNotFound("No such client.")
        user = db.session.scalar(select(User).where(User.client_id == client_id))
        if user is None:
            raise PortalAccessError("This client has no portal login.")
        user.is_enabled = False
        sessions.end_all_sessions(user.id)
        db.session.execute(
            update(AccountToken)
            .where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None))
            .values(used_at=utcnow())
        )
        audit.record(actor, "portal.access_disabled", client_id=client_id, detail=user.username)


# --- Forgotten passwords -----------------------------------------------------------------------


RESET_REQUEST = "reset-request:"  # outbox dedupe_key prefix of a reset asked for, not yet looked up


def request_password_reset(actor: Actor, email: str) -> bool:
    """Queue a password-reset request for ``email`` in the outbox.  Commits.

    The request does the same work whatever the address (no lookup, the same insert), so neither
    the answer nor its timing tells whether an account exists; the outbox worker looks the address
    up (``prepare_password_reset``) and sends a 1-hour link only to an enabled login.  Returns
    whether a request was queued (False when the address is blank, too long or over its limit)."""
    email = (email or "").strip()
    if not emails.is_single_address(email):
        return False
    if not throttle.allow_reset_email(email):
        return False
    with write_transaction():
        queue_email(
            email,
            "Password reset request",
            f"ip={actor.ip_address[:64]}",
            dedupe_key=RESET_REQUEST + secrets.token_hex(16),
        )
    return True


def prepare_password_reset(row: OutboxMessage) -> bool:
    """The outbox worker's half of a reset request: if an enabled login has this address as its
    username, issue its link and turn ``row`` into the email (True); else nothing to send (False).
    Runs in the worker's transaction, which commits it."""
    email = row.to_address
    user = db.session.scalar(select(User).where(func.lower(User.username) == email.lower()))
    if user is None or not user.is_enabled or "@" not in user.username:
        return False
    ip_address = row.body_text[3:] if row.body_text.startswith("ip=") else ""
    token_id, raw = issue_token(user.id, RESET)
    context = {
        "business_name": current_app.config["AIS_BUSINESS_NAME"],
        "username": user.username,
        "link": external_url("auth.reset_password", token=raw),
        "expires_minutes": 60,
    }
    row.to_address = user.username
    row.dedupe_key = f"reset:{token_id}"  # prepared once: a retry sends this email, not another link
    row.subject = f"Reset your password for {current_app.config['AIS_BUSINESS_NAME']}"
    row.body_text = render_template("auth/email/reset.txt", **context)
    row.body_html = render_template("auth/email/reset.html", **context)
    audit.record(
        Actor(user_id=user.id, label=user.username, ip_address=ip_address),
        "auth.password_reset_requested",
        client_id=user.client_id,
    )
    return True


register_preparer(RESET_REQUEST, prepare_password_reset)


def _queue_account_email(template: str, to: str, subject: str, dedupe_key: str, **context) -> None:
    context.setdefault("business_name", current_app.config["AIS_BUSINESS_NAME"])
    text = render_template(f"auth/email/{template}.txt", **context)
    html = render_template(f"auth/email/{template}.html", **context)
    queue_email(to, subject, text, html, dedupe_key=dedupe_key)
