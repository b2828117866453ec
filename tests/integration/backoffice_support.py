"""Helpers shared by the back-office tests (test_backoffice_*.py); it holds no tests itself
(the ``books`` fixture is in conftest.py).

The people and books are made directly (users) or through the service layer (clients, invoices,
payments); the pages are then used the way an owner would, with ``actions.post`` adding the
CSRF token.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from argon2 import PasswordHasher
from sqlalchemy import func, select

from ais.audit import Actor
from ais.billing import services
from ais.billing.services import ClientInput, InvoiceInput, LineInput
from ais.extensions import db
from ais.models import Invoice, Payment, User

ACTOR = Actor.system("test")
TODAY = date(2026, 3, 16)
DAY = timedelta(days=1)
OWNER = ("owner@example.com", "owner-password-1")
CLIENT_PASSWORD = "client-password-1"


def fresh():
    """End the test's read transaction so that it sees what the last request committed."""
    db.session.rollback()
    return db.session


def count(model) -> int:
    return fresh().scalar(select(func.count()).select_from(model))


def make_user(username: str, password: str, role: str = "owner", client_id: int | None = None) -> int:
    user = User(
        username=username,
        role=role,
        client_id=client_id,
        password_hash=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(password),
    )
    db.session.add(user)
    db.session.commit()
    return user.id


def sign_in(actions, username: str, password: str) -> None:
    response = actions.login(username, password)
    assert response.status_code in (302, 303), f"sign-in failed ({response.status_code})"


def sign_in_owner(actions) -> None:
    make_user(*OWNER)
    sign_in(actions, *OWNER)


def make_client(name="Ann Cruz", email=None, company="", **fields) -> int:
    email = email or re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".") + "@example.com"
    return services.create_client(ACTOR, ClientInput(name=name, email=email, company=company, **fields))


def make_invoice(
    client_id,
    amount="1000.00",
    *,
    issued=TODAY - 30 * DAY,
    due=None,
    count=1,
    frequency=None,
    issue=True,
    description="",
) -> int:
    data = InvoiceInput(
        client_id=client_id,
        issue_date=issued,
        due_date=due or issued + 10 * DAY,
        lines=[LineInput("Goods", Decimal("1"), Decimal(amount))],
        description=description,
        payment_type="installment" if count > 1 else "full",
        installment_count=count,
        frequency=frequency or ("monthly" if count > 1 else None),
    )
    if issue:
        return services.create_invoice(ACTOR, data)
    return services.save_draft(ACTOR, data)


def pay(invoice_id, amount, on=TODAY - DAY, method="Cash", reference="") -> int:
    return services.record_payment(ACTOR, invoice_id, Decimal(amount), on, method, reference)


def report(invoice_id, amount, on=TODAY - DAY, method="GCash", reference="GC-1") -> int:
    client_id = fresh().scalar(select(Invoice.client_id).where(Invoice.id == invoice_id))
    return services.report_payment(ACTOR, client_id, invoice_id, Decimal(amount), on, method, reference)


def invoice(invoice_id) -> Invoice:
    return fresh().get(Invoice, invoice_id)


def payment(payment_id) -> Payment:
    return fresh().get(Payment, payment_id)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    assert match, f"no {name} field"
    return match.group(1)
