"""Helpers shared by the sign-in, security and outbox tests (no tests here).

Import what you need: ``from auth_support import make_owner, ...``; the fixtures that use these
(``fast_hashing``, ``smtp_server``) are in conftest.py.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pyotp
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from ais import clock
from ais.auth.passwords import hash_password
from ais.extensions import db
from ais.models import CLIENT, OWNER, AuditEntry, Client, User, UserSession

OWNER_PASSWORD = "correct horse battery"
CLIENT_PASSWORD = "client secret phrase"
# Where the moving_clock fixture (conftest.py) starts.
START = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)


def make_owner(app, username: str = "owner", password: str = OWNER_PASSWORD, **extra) -> int:
    with app.app_context():
        user = User(username=username, role=OWNER, password_hash=hash_password(password), **extra)
        db.session.add(user)
        db.session.commit()
        return user.id


def make_client(
    app,
    name: str = "Alice Client",
    email: str = "alice@example.com",
    password: str | None = CLIENT_PASSWORD,
    login: bool = True,
) -> tuple[int, int | None]:
    """A client row and (optionally) its portal login.  Returns (client id, user id)."""
    with app.app_context():
        client = Client(name=name, email=email)
        db.session.add(client)
        db.session.flush()
        user_id = None
        if login:
            user = User(
                username=email,
                role=CLIENT,
                client_id=client.id,
                password_hash=hash_password(password) if password else None,
            )
            db.session.add(user)
            db.session.flush()
            user_id = user.id
        db.session.commit()
        return client.id, user_id


def totp_now(secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.utcnow(), counter_offset=offset)


def enrol(client, actions) -> tuple[str, list[str]]:
    page = client.get("/account/2fa").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in page
    secret = re.search(r'id="totp-secret" type="text" value="([A-Z2-7]+)"', page).group(1)
    response = actions.post("/account/2fa", {"code": totp_now(secret)})
    assert response.status_code == 200
    codes = re.findall(r"\b[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}\b", response.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def open_session_count(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(UserSession.id)).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Inbox:
    """What a real SMTP server (aiosmtpd) received."""

    messages: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def text_of(self, index: int = -1) -> str:
        return self.messages[index].get_body(preferencelist=("plain",)).get_content()

    def html_of(self, index: int = -1) -> str:
        return self.messages[index].get_body(preferencelist=("html",)).get_content()


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


LINK = re.compile(r"https?://\S+?(/(?:invite|reset)/[A-Za-z0-9_\-]+)")


def link_path(text: str) -> str:
    """The path of the account link in an email body."""
    match = LINK.search(text)
    assert match, f"no link in: {text!r}"
    return match.group(1)
