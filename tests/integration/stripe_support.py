"""Helpers for the online-payment tests (test_stripe_*.py, test_double_submit*.py); no tests here.
The fixtures ``stripe_stub`` and ``stripe_on`` are in conftest.py.

* ``stripe_stub``: ``ais.payments.devstub.StripeStub``, a real HTTP server on 127.0.0.1 (a free
  port, in a thread) that answers the Checkout Session calls the app makes through the official
  ``stripe`` library (create / retrieve / expire), honours Idempotency-Key like Stripe does, and
  records every request so tests can assert what was sent.  The app is pointed at it with
  STRIPE_API_BASE.
* ``signed(event)``: a webhook body and its Stripe-Signature header made with the real scheme
  ``t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>``, so the app's check is the real one.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from argon2 import PasswordHasher
from sqlalchemy import func, select

from ais.audit import Actor
from ais.billing import services
from ais.billing.services import ClientInput, InvoiceInput, LineInput
from ais.extensions import db
from ais.models import CheckoutSession, Invoice, OutboxMessage, Overpayment, Payment, User, WebhookEvent

ACTOR = Actor.system("test")
TODAY = date(2026, 3, 16)
DAY = timedelta(days=1)
SECRET_KEY = "sk_test_ais_stub"
WEBHOOK_SECRET = "whsec_test_ais_0123456789"
PASSWORD = "client-password-1"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


# --- The Stripe stub --------------------------------------------------------------------------------


# --- Webhook events -------------------------------------------------------------------------------------


_event_numbers = itertools.count(1)


def signed(event: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> tuple[str, str]:
    """The body and its Stripe-Signature header: t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>."""
    body = json.dumps(event)
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return body, f"t={timestamp},v1={signature}"


def deliver(client, event: dict, **sign_args):
    body, header = signed(event, **sign_args)
    return client.post(
        "/webhooks/stripe", data=body, headers={"Stripe-Signature": header}, content_type="application/json"
    )


def session_event(
    kind: str,
    session: dict,
    *,
    payment_intent: str | None = "pi_test_1",
    payment_status="paid",
    event_id: str | None = None,
    **overrides,
) -> dict:
    """A checkout.session.* event about ``session`` (a dict as the stub made it)."""
    obj = dict(session)
    obj.update(
        payment_intent=payment_intent,
        payment_status=payment_status,
        status="expired" if kind == "expired" else "complete",
    )
    obj.update(overrides)
    return {
        "id": event_id or f"evt_test_{next(_event_numbers):05d}",
        "object": "event",
        "type": f"checkout.session.{kind}",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


def refund_event(
    payment_intent: str, amount_minor: int, refunded_minor: int, currency: str = "php", event_id: str | None = None
) -> dict:
    return {
        "id": event_id or f"evt_test_{next(_event_numbers):05d}",
        "object": "event",
        "type": "charge.refunded",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": f"ch_{payment_intent[3:]}",
                "object": "charge",
                "payment_intent": payment_intent,
                "amount": amount_minor,
                "amount_refunded": refunded_minor,
                "currency": currency,
                "refunded": refunded_minor >= amount_minor,
            }
        },
    }


# --- The books ------------------------------------------------------------------------------------------


def fresh():
    db.session.rollback()
    return db.session


def count(model, *where) -> int:
    query = select(func.count()).select_from(model)
    for condition in where:
        query = query.where(condition)
    return fresh().scalar(query)


def make_client(name="Ann Cruz", email="ann@example.com") -> int:
    return services.create_client(ACTOR, ClientInput(name=name, email=email))


def make_invoice(client_id, amount="1000.00", *, count=1, issued=TODAY - 30 * DAY, due=None) -> int:
    return services.create_invoice(
        ACTOR,
        InvoiceInput(
            client_id=client_id,
            issue_date=issued,
            due_date=due or issued + 10 * DAY,
            lines=[LineInput("Goods", Decimal("1"), Decimal(amount))],
            payment_type="installment" if count > 1 else "full",
            installment_count=count,
            frequency="monthly" if count > 1 else None,
        ),
    )


def make_user(username: str, role: str = "client", client_id: int | None = None) -> int:
    user = User(username=username, role=role, client_id=client_id, password_hash=FAST_HASHER.hash(PASSWORD))
    db.session.add(user)
    db.session.commit()
    return user.id


def sign_in(actions, username: str) -> None:
    response = actions.login(username, PASSWORD)
    assert response.status_code in (302, 303), f"sign-in failed ({response.status_code})"


def invoice(invoice_id) -> Invoice:
    return fresh().get(Invoice, invoice_id)


def payments(invoice_id=None) -> list[Payment]:
    query = select(Payment).order_by(Payment.id)
    if invoice_id is not None:
        query = query.where(Payment.invoice_id == invoice_id)
    return list(fresh().scalars(query))


def checkouts() -> list[CheckoutSession]:
    return list(fresh().scalars(select(CheckoutSession).order_by(CheckoutSession.id)))


def receipts() -> list[OutboxMessage]:
    return list(
        fresh().scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like("receipt:%")).order_by(OutboxMessage.id)
        )
    )


def nothing_written() -> bool:
    return (
        count(Payment) == 0
        and count(WebhookEvent) == 0
        and count(Overpayment) == 0
        and count(OutboxMessage, OutboxMessage.dedupe_key.like("receipt:%")) == 0
    )


@dataclass
class Books:
    client_id: int
    invoice_id: int
    user_id: int


def client_with_invoice(amount="1000.00", count=1, email="ann@example.com", name="Ann Cruz", **kwargs) -> Books:
    client_id = make_client(name, email)
    invoice_id = make_invoice(client_id, amount, count=count, **kwargs)
    user_id = make_user(email, "client", client_id)
    return Books(client_id, invoice_id, user_id)


def start_checkout(actions, invoice_id: int, choice: str = "full", amount: str = ""):
    return actions.post("/portal/checkout", {"invoice_id": str(invoice_id), "choice": choice, "amount": amount})
