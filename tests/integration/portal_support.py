"""Helpers of the portal tests (test_portal_*.py); it holds no tests itself.

The ``world`` fixture (conftest.py): an owner and two clients with logins, Ann (A) and Ben (B), each with invoices made
through the service layer at a fixed "today".  Amounts and numbers are distinctive so that a test
can assert that nothing of the other client appears on a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
ANN = ("ann@example.com", "ann-password-1")
BEN = ("ben@example.com", "ben-password-1")

_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # cheap: tests only


def fresh():
    """End the test's read transaction so that it sees what the last request committed."""
    db.session.rollback()
    return db.session


def count(model, *conditions) -> int:
    return fresh().scalar(select(func.count()).select_from(model).where(*conditions))


def make_user(username: str, password: str, role: str = "owner", client_id: int | None = None) -> int:
    user = User(username=username, role=role, client_id=client_id, password_hash=_HASHER.hash(password))
    db.session.add(user)
    db.session.commit()
    return user.id


def make_client(name: str, email: str) -> int:
    return services.create_client(ACTOR, ClientInput(name=name, email=email))


def make_invoice(
    client_id, amount="1000.00", *, issued=TODAY - 30 * DAY, due=None, count=1, issue=True, description="", line="Goods"
) -> int:
    data = InvoiceInput(
        client_id=client_id,
        issue_date=issued,
        due_date=due or issued + 10 * DAY,
        lines=[LineInput(line, Decimal("1"), Decimal(amount))],
        description=description,
        payment_type="installment" if count > 1 else "full",
        installment_count=count,
        frequency="monthly" if count > 1 else None,
    )
    if issue:
        return services.create_invoice(ACTOR, data)
    return services.save_draft(ACTOR, data)


def pay(invoice_id, amount, on=TODAY - DAY, method="Cash", reference="") -> int:
    return services.record_payment(ACTOR, invoice_id, Decimal(amount), on, method, reference)


def report(client_id, invoice_id, amount, on=TODAY - DAY, method="GCash", reference="") -> int:
    return services.report_payment(ACTOR, client_id, invoice_id, Decimal(amount), on, method, reference)


def number_of(invoice_id) -> str:
    return fresh().scalar(select(Invoice.invoice_no).where(Invoice.id == invoice_id))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    assert match, f"no {name} field"
    return match.group(1)


def sign_in(actions, who) -> None:
    response = actions.login(*who)
    assert response.status_code in (302, 303), f"sign-in failed ({response.status_code})"


@dataclass
class World:
    owner: int
    ann: int  # client ids
    ben: int
    a_plan: int  # A: 1,000.00 in 4 monthly installments; the first paid, the second overdue
    a_full: int  # A: 1,234.56 due today
    a_draft: int  # A: a draft (invisible to A)
    a_void: int  # A: 555.55, void (listed, counted in no total)
    b_full: int  # B: 4,321.09 with a reported payment
    b_payment: int

    @property
    def b_secrets(self) -> list[str]:
        """What of Ben may never appear on Ann's pages (and would prove a leak if it did)."""
        return ["Ben Santos", number_of(self.b_full), "4,321.09", "21.09", "BEN-REF-77", "Ben's secret goods"]

    @property
    def a_secrets(self) -> list[str]:
        return [
            "Ann Cruz",
            number_of(self.a_plan),
            number_of(self.a_full),
            "1,234.56",
            "ANN-REF-11",
            "Ann's secret goods",
        ]


def payments_of(client_id) -> list[Payment]:
    return list(fresh().scalars(select(Payment).where(Payment.client_id == client_id).order_by(Payment.id)))
