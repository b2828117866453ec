"""How a client's money reaches an invoice: the payment providers.

Implementations of one small interface (the settings choose one: ais.payments.configured):

``manual``
    The client reports a transfer in the portal and the owner confirms it
    (``ais.billing.services.report_payment`` / ``confirm_payment``).  Always available.
``stripe``
    The client pays by card on a Stripe Checkout page; the signed webhook records the payment
    (``ais.payments.stripe_provider``).  On only when STRIPE_SECRET_KEY and
    STRIPE_WEBHOOK_SECRET are both set; STRIPE_API_BASE points the library elsewhere (a stub).
``paymongo``
    The client pays with GCash, Maya, QR Ph, a card, ... on a PayMongo Checkout page; the signed
    webhook records the payment under the method's name (``ais.payments.paymongo_provider``).

The online provider only talks to the outside world; every change to the books is made by
``ais.payments.services``, which calls it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from ..billing import services

# Currencies whose smallest unit is not a hundredth (Stripe's zero- and three-decimal
# currencies).  AIS amounts always have two decimals, so these cannot be paid online.
NOT_TWO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
        "BHD",
        "JOD",
        "KWD",
        "OMR",
        "TND",
    ]
)

MAX_EVENT_BYTES = 512 * 1024  # a webhook body larger than this is refused unread


class ProviderError(Exception):
    """The provider could not do what was asked (network, refusal); ``message`` is for people."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(detail or message)
        self.message = message
        self.detail = detail


class InvalidEvent(Exception):
    """A webhook body that is not authentic, too old, or not an event: answered with 400."""


@dataclass(frozen=True)
class CheckoutRequest:
    """What one online payment asks the provider for (amounts in minor units)."""

    amount_minor: int
    currency: str  # lowercase ISO code, as Stripe wants it
    name: str
    description: str
    metadata: dict[str, str]
    customer_email: str
    success_url: str
    cancel_url: str
    expires_at: dt.datetime
    idempotency_key: str


@dataclass(frozen=True)
class CreatedCheckout:
    session_id: str
    url: str
    status: str
    expires_at: dt.datetime | None = None
    payment_intent: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


class OnlineProvider(Protocol):
    """A provider the client pays on (a hosted page) and that reports back through a webhook."""

    name: str
    label: str  # as clients and owners read it: "Stripe", "PayMongo"
    expires_sessions_itself: bool  # False: AIS closes a session it stops holding room for

    def create_checkout(self, request: CheckoutRequest) -> CreatedCheckout:
        """Create the hosted payment page; the same idempotency key gives the same page."""

    def expire_checkout(self, session_id: str) -> str:
        """Close a page nobody paid on yet; return its status afterwards ('expired', 'complete', ...)."""

    def parse_event(self, payload: bytes, signature: str | None) -> dict:
        """Verify a webhook body's signature and age and return the event; InvalidEvent otherwise."""


class ManualProvider:
    """The client reports a transfer, the owner confirms it: what the portal and back office do."""

    name = "manual"

    @staticmethod
    def report(
        actor,
        client_id: int,
        invoice_id: int,
        amount,
        paid_on: dt.date,
        method: str,
        reference: str = "",
        submission_key: str | None = None,
    ) -> int:
        return services.report_payment(
            actor, client_id, invoice_id, amount, paid_on, method, reference, submission_key=submission_key
        )

    @staticmethod
    def confirm(actor, payment_id: int) -> None:
        services.confirm_payment(actor, payment_id)


MANUAL = ManualProvider()


def supports_currency(currency: str) -> bool:
    return bool(currency) and currency.upper() not in NOT_TWO_DECIMAL_CURRENCIES


ZERO = Decimal("0.00")
