"""Account services: finding a login, creating an owner, changing a password."""

from __future__ import annotations

import re

from sqlalchemy import func, select, update

from .. import audit, emails
from ..audit import Actor
from ..clock import utcnow
from ..database import execute_dml, write_transaction
from ..extensions import db
from ..models import OWNER, User
from . import sessions
from .passwords import hash_password, password_problems, verify_password

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._@+-]{3,254}$")


class AccountError(ValueError):
    """The change was refused; ``field`` names the form field, ``problems`` the reasons."""

    def __init__(self, problems: list[str] | str, field: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(" ".join(self.problems))
        self.field = field


def find_user(username: str) -> User | None:
    """The login with this username, whatever the letter case."""
    username = (username or "").strip()
    if not username or len(username) > 254:
        return None
    return db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def keep_rehashed_password(user: User) -> None:
    """Store the new hash ``verify_password`` made on ``user`` (a password checked under older
    argon2 parameters), if it made one.  Commits.

    The sign-in read the user in a read transaction; on SQLite that cannot become a write once
    another connection has written, so the unsaved change is dropped from it and the hash is
    written in a write transaction of its own (``BEGIN IMMEDIATE``)."""
    if not db.session.is_modified(user):
        return
    password_hash = user.password_hash
    db.session.rollback()
    with write_transaction():
        execute_dml(update(User).where(User.id == user.id).values(password_hash=password_hash))


def username_problems(username: str) -> list[str]:
    if not USERNAME_PATTERN.match(username or ""):
        return ["Use 3 to 254 letters, digits or . _ @ + - (no spaces)."]
    if find_user(username) is not None:
        return ["That username is taken."]
    return []


def create_owner(actor: Actor, username: str, password: str) -> int:
    """Add an owner login (the only way to make one).  Commits; returns the id."""
    username = (username or "").strip()
    problems = username_problems(username)
    if "@" in username and not problems and not emails.is_single_address(username):
        problems = ["A username with an @ must be one email address (it receives password resets)."]
    if problems:
        raise AccountError(problems, "username")
    problems = password_problems(password, username=username)
    if problems:
        raise AccountError(problems, "password")
    password_hash = hash_password(password)
    with write_transaction():
        if find_user(username) is not None:
            raise AccountError("That username is taken.", "username")
        user = User(username=username, role=OWNER, password_hash=password_hash, password_changed_at=utcnow())
        db.session.add(user)
        db.session.flush()
        audit.record(actor, "auth.owner_created", detail=username)
        return user.id


def change_password(actor: Actor, user_id: int, current: str, new: str, keep_session_id: int | None = None) -> None:
    """Change a signed-in user's password; ends their other sessions.  Commits.

    Raises AccountError (field "current_password" or "new_password").
    """
    user = db.session.get(User, user_id)
    if user is None:
        raise AccountError("No such user.")
    if not verify_password(user, current):
        raise AccountError("Your current password is not right.", "current_password")
    email = user.client.email if user.client_id and user.client else None
    problems = password_problems(new, username=user.username, email=email)
    if not problems and new == current:
        problems = ["Choose a password different from your current one."]
    if problems:
        raise AccountError(problems, "new_password")
    new_hash = hash_password(new)
    with write_transaction():
        user = db.session.get_one(User, user_id)
        user.password_hash = new_hash
        user.password_changed_at = utcnow()
        ended = sessions.end_other_sessions(user_id, keep_session_id)
        audit.record(actor, "auth.password_changed", client_id=user.client_id, detail=f"{ended} other session(s) ended")


def reset_owner_password(actor: Actor, username: str, new: str) -> int:
    """Set an owner's password from the server (``flask --app ais reset-password``), for an owner
    who cannot use "forgot password".  The password policy applies; every session of the owner
    ends and the reset is audited.  Commits; returns the number of sessions ended.

    Raises AccountError (field "username": no such owner; field "password": the policy)."""
    user = find_user(username)
    if user is None or user.role != OWNER:
        raise AccountError("No owner login has this username.", "username")
    problems = password_problems(new, username=user.username)
    if problems:
        raise AccountError(problems, "password")
    new_hash = hash_password(new)
    with write_transaction():
        user = db.session.get_one(User, user.id)
        user.password_hash = new_hash
        user.password_changed_at = utcnow()
        user.is_enabled = True
        ended = sessions.end_all_sessions(user.id)
        audit.record(
            actor, "auth.password_reset", detail=f"{user.username}: set on the server, {ended} session(s) ended"
        )
    return ended
