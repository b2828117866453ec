"""Stripe Checkout through the official library (``stripe``), nothing hand-rolled.

* ``StripeClient(api_key, base_addresses={"api": STRIPE_API_BASE})`` when a base is set (a local
  stub in tests and the demo), with a short HTTP timeout and network retries (safe: every
  create carries an idempotency key).
* ``client.v1.checkout.sessions.create(params, {"idempotency_key": ...})``.
* ``stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=300)``: the
  ``Stripe-Signature`` scheme ``t=<ts>,v1=<HMAC-SHA256(secret, "<ts>.<body>")>``, refusing
  timestamps older than the library's default tolerance of five minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING

import stripe

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParams

from ..params import parse_timestamp
from .providers import MAX_EVENT_BYTES, CheckoutRequest, CreatedCheckout, InvalidEvent, ProviderError

log = logging.getLogger("ais.payments")

HTTP_TIMEOUT_SECONDS = 15
NETWORK_RETRIES = 2


def _timestamp(value) -> dt.datetime | None:
    """Stripe's seconds since 1970, or None when absent or absurd (ais.params)."""
    return parse_timestamp(value)


class StripeProvider:
    name = "stripe"
    label = "Stripe"
    expires_sessions_itself = True  # expires_at is sent with each session

    def __init__(self, secret_key: str, webhook_secret: str, api_base: str = ""):
        self.webhook_secret = webhook_secret
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            max_network_retries=NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=HTTP_TIMEOUT_SECONDS),
        )

    # --- Checkout Sessions ---------------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> CreatedCheckout:
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency,
                        "unit_amount": request.amount_minor,
                        "product_data": {"name": request.name, "description": request.description},
                    },
                }
            ],
            "metadata": request.metadata,
            # The PaymentIntent (and so its charge and refunds) carries the same labels.
            "payment_intent_data": {
                "metadata": request.metadata,
                "description": f"{request.name}: {request.description}",
            },
            "client_reference_id": request.metadata.get("invoice_id", ""),
            "customer_email": request.customer_email,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": int(request.expires_at.timestamp()),
        }
        try:
            session = self.client.v1.checkout.sessions.create(params, {"idempotency_key": request.idempotency_key})
        except stripe.StripeError as error:
            log.warning("stripe: creating a checkout session failed: %s", error)
            raise ProviderError(
                "Card payment is not available right now. Please try again in a few minutes, "
                "or pay by transfer and report it below.",
                str(error),
            ) from None
        return self._created(session)

    def expire_checkout(self, session_id: str) -> str:
        try:
            session = self.client.v1.checkout.sessions.expire(session_id).to_dict()
            return str(session.get("status") or "expired")
        except stripe.InvalidRequestError:
            # Not open any more (completed or already expired): ask what it is now.
            try:
                session = self.client.v1.checkout.sessions.retrieve(session_id).to_dict()
            except stripe.StripeError as error:
                raise ProviderError("The earlier card payment could not be checked.", str(error)) from None
            return str(session.get("status") or "")
        except stripe.StripeError as error:
            log.warning("stripe: expiring checkout session %s failed: %s", session_id, error)
            raise ProviderError("The earlier card payment could not be cancelled.", str(error)) from None

    @staticmethod
    def _created(session) -> CreatedCheckout:
        session = session.to_dict()
        session_id = session.get("id")
        url = session.get("url")
        if not session_id or not url:
            raise ProviderError("Card payment is not available right now.", "Stripe returned no session id or url")
        return CreatedCheckout(
            session_id=str(session_id),
            url=str(url),
            status=str(session.get("status") or "open"),
            expires_at=_timestamp(session.get("expires_at")),
            payment_intent=session.get("payment_intent") or None,
        )

    # --- Webhooks ------------------------------------------------------------------------------

    def parse_event(self, payload: bytes, signature: str | None) -> dict:
        if len(payload) > MAX_EVENT_BYTES:
            raise InvalidEvent("body too large")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEvent("body is not UTF-8") from None
        try:
            stripe.WebhookSignature.verify_header(
                text, signature, self.webhook_secret, tolerance=stripe.Webhook.DEFAULT_TOLERANCE
            )
        except stripe.SignatureVerificationError as error:
            raise InvalidEvent(f"signature: {error}") from None
        try:
            event = json.loads(text)
        except ValueError:
            raise InvalidEvent("body is not JSON") from None
        if (
            not isinstance(event, dict)
            or not isinstance(event.get("id"), str)
            or not event["id"]
            or not isinstance(event.get("type"), str)
            or not isinstance(event.get("data"), dict)
            or not isinstance(event["data"].get("object"), dict)
        ):
            raise InvalidEvent("not an event")
        event["provider"] = self.name
        return event
