"""The demo data (``flask --app ais seed``): one owner, two clients and their invoices.

Every amount goes through the service layer, exactly as a person's actions would, so the
demo obeys every rule ``flask check`` verifies.  Dates are relative to ``today`` so that the
demo always shows the same picture: paid, partly paid, upcoming, overdue and pending.

The passwords are weak on purpose (it is a demo) and bypass the password policy.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from .. import audit
from ..audit import Actor
from ..auth.passwords import hash_password
from ..billing import rules, services
from ..billing.services import ClientInput, InvoiceInput, LineInput
from ..database import write_transaction
from ..extensions import db
from ..models import CLIENT, FULL_PAYMENT, INSTALLMENT, OWNER, User
from .profile import DEMO_PROFILE

OWNER_USERNAME = "admin"
OWNER_PASSWORD = "admin123"
CLIENT_PASSWORD = "clientpass"

ACTOR = Actor.system("seed")


def demo_loaded() -> bool:
    """The demo is loaded once its owner exists (the owner is written last)."""
    query = select(User.id).where(func.lower(User.username) == OWNER_USERNAME)
    return db.session.scalar(query) is not None


def _add_user(username: str, password: str, role: str, client_id: int | None = None) -> int:
    with write_transaction():
        user = User(
            username=username, password_hash=hash_password(password), role=role, client_id=client_id, is_enabled=True
        )
        db.session.add(user)
        db.session.flush()
        audit.record(ACTOR, "user.created", client_id=client_id, detail=f"{role} {username} (demo)")
        return user.id


def _client(name: str, company: str, address: str, email: str, tin: str = "") -> int:
    client_id = services.create_client(
        ACTOR, ClientInput(name=name, email=email, company=company, address=address, tax_id=tin)
    )
    _add_user(email, CLIENT_PASSWORD, CLIENT, client_id)
    return client_id


def _invoice(
    client_id: int,
    description: str,
    amount: str,
    issued: date,
    due: date,
    *,
    count: int = 1,
    frequency: str | None = None,
) -> int:
    """One untaxed line, so that the invoice amount is exactly ``amount``."""
    data = InvoiceInput(
        client_id=client_id,
        issue_date=issued,
        due_date=due,
        description=description,
        lines=[LineInput(description=description, quantity=Decimal("1"), unit_price=Decimal(amount))],
        payment_type=INSTALLMENT if count > 1 else FULL_PAYMENT,
        installment_count=count,
        frequency=frequency,
    )
    return services.create_invoice(ACTOR, data)


def _pay(invoice_id: int, amount: str, paid_on: date, method: str, reference: str) -> int:
    return services.record_payment(ACTOR, invoice_id, Decimal(amount), paid_on, method, reference)


def load_demo(today: date) -> None:
    """Write the demo.  Call only when ``demo_loaded()`` is false."""
    day = timedelta(days=1)

    services.save_business_profile(ACTOR, DEMO_PROFILE)

    alice = _client(
        "Alice Johnson",
        "AJ Trading",
        "Makati City",
        "client1@example.com",
        "210-345-678-00000",
    )
    bob = _client("Bob Reyes", "Reyes Supplies", "Quezon City", "client2@example.com")

    # Alice, 50,000.00 in 5 monthly installments of 10,000.00, issued about 2.5 months ago.
    # The first is due a week after "two months ago": installments 1 and 2 are due (and paid),
    # 3 to 5 are upcoming (the 3rd about a week from today).
    first_due = rules.add_months(today, -2) + 7 * day
    plan_dates = rules.due_dates(first_due, 5, rules.MONTHLY)
    assert plan_dates[1] <= today < plan_dates[2]
    plan_issued = first_due - 15 * day
    plan = _invoice(
        alice,
        "Office furniture set (5 monthly installments)",
        "50000.00",
        plan_issued,
        first_due,
        count=5,
        frequency=rules.MONTHLY,
    )

    # Bob, 30,000.00 in full, due two weeks ago, unpaid: overdue.
    _invoice(bob, "Warehouse shelving", "30000.00", today - 45 * day, today - 15 * day)

    # Alice, 10,000.00 in full, paid.
    printer = _invoice(alice, "Laser printer", "10000.00", today - 40 * day, today - 10 * day)

    # Alice, 12,000.00 as 4 weekly installments of 3,000.00: the first paid, the second overdue,
    # a reported 3,000.00 awaiting the owner's confirmation; the 3rd and 4th upcoming.
    weekly_first = today - 10 * day
    weekly = _invoice(
        alice,
        "Point-of-sale terminals (4 weekly installments)",
        "12000.00",
        weekly_first - 7 * day,
        weekly_first,
        count=4,
        frequency=rules.WEEKLY,
    )

    # Alice, 4,500.00 in full, due in two weeks.
    _invoice(alice, "Printer toner and supplies", "4500.00", today - 3 * day, today + 14 * day)

    # Payments, oldest first.
    _pay(plan, "10000.00", plan_dates[0], "bank transfer", "BT-1001")
    _pay(printer, "10000.00", today - 12 * day, "check", "CHK-2045")
    _pay(weekly, "3000.00", weekly_first, "cash", "OR-3310")
    _pay(plan, "10000.00", plan_dates[1], "bank transfer", "BT-1002")
    services.report_payment(ACTOR, alice, weekly, Decimal("3000.00"), today - day, "GCash", "GC-778812")

    # The owner last: its presence marks the demo as loaded.
    _add_user(OWNER_USERNAME, OWNER_PASSWORD, OWNER)
