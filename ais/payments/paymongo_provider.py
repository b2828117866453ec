"""PayMongo Checkout (GCash, Maya, QR Ph, cards, ...) through its REST API with ``requests``.

* ``POST /v1/checkout_sessions`` (JSON ``{"data": {"attributes": ...}}``, the secret key as HTTP
  basic auth user), ``POST /v1/checkout_sessions/<id>/expire`` and ``GET`` to ask its state.
  The AIS idempotency key is sent as ``Idempotency-Key``; a second click reuses the stored
  session in any case (ais.payments.services).
* Webhooks: the ``Paymongo-Signature`` header is ``t=<unix time>,te=<hex>,li=<hex>``, both
  signatures being HMAC-SHA256 of ``"<t>.<raw body>"`` with the webhook's secret key; ``te``
  is the one to check in test mode, ``li`` in live mode (the mode follows the secret API key:
  ``sk_live_...`` is live).  ``verify_signature`` is the only place that compares them.
* ``parse_event`` checks the event and turns the events AIS acts on into the shape
  ``ais.payments.services.handle_event`` reads (the names are Stripe's, the first provider):

  =================================  =========================================================
  PayMongo event                     read as
  =================================  =========================================================
  ``checkout_session.payment.paid``  ``checkout.session.completed`` with ``payment_status``
                                     ``paid``; the money is the session's paid payment
                                     (``pay_...``, unique in AIS), its method named canonically
  ``payment.paid``                   ``checkout.session.async_payment_succeeded`` (applied only
                                     when the payment carries AIS's metadata; else ignored)
  ``payment.refunded``               ``charge.refunded`` with the refunded total so far
  anything else                      kept under its own name: acknowledged and ignored
  =================================  =========================================================

  Values that are missing, of the wrong type or absurd (amounts of zero or above ten billion
  pesos, a currency that is not three letters) make the event invalid: 400, nothing written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time

import requests

from ..billing import methods
from .providers import MAX_EVENT_BYTES, CheckoutRequest, CreatedCheckout, InvalidEvent, ProviderError

log = logging.getLogger("ais.payments")

DEFAULT_API_BASE = "https://api.paymongo.com"
HTTP_TIMEOUT_SECONDS = 15
TOLERANCE_SECONDS = 300  # a signed timestamp older (or further ahead) than this is refused
MAX_MINOR = 10**12  # ten billion pesos in centavos: anything above is not a real payment
EVENT_ID_PREFIX = "paymongo:"  # stored event ids, so that they never meet Stripe's

# PayMongo's method codes and the names AIS records on the payment (``Payment.method``), one per
# account the books may post to.  Codes not listed are recorded as "Online (PayMongo)".
# (The names are ais.billing.methods': one spelling per method across the app.)
METHOD_NAMES = {
    "gcash": methods.GCASH,
    "paymaya": methods.MAYA,
    "qrph": methods.QR_PH,
    "card": methods.CARD,
    "grab_pay": methods.GRABPAY,
    "dob": methods.ONLINE_BANKING,
    "dob_ubp": methods.ONLINE_BANKING,
    "brankas_bdo": methods.ONLINE_BANKING,
    "brankas_landbank": methods.ONLINE_BANKING,
    "brankas_metrobank": methods.ONLINE_BANKING,
    "billease": methods.BILLEASE,
    "shopee_pay": methods.SHOPEEPAY,
}
OTHER_METHOD = methods.ONLINE_OTHER
CANONICAL_METHODS = tuple(dict.fromkeys([*METHOD_NAMES.values(), OTHER_METHOD]))

STATUSES = {"active": "open", "expired": "expired", "paid": "complete"}
UNAVAILABLE = (
    "Online payment is not available right now. Please try again in a few minutes, "
    "or pay by transfer and report it below."
)


def method_name(code: object) -> str:
    """The canonical name of a PayMongo method code (``gcash`` → ``GCash``)."""
    return METHOD_NAMES.get(str(code or "").strip().lower(), OTHER_METHOD)


def method_names(codes) -> list[str]:
    return list(dict.fromkeys(method_name(code) for code in codes))


def signature_header(body: bytes | str, secret: str, *, livemode: bool = False, timestamp: int | None = None) -> str:
    """A ``Paymongo-Signature`` header for ``body`` (the stand-in and the tests sign with it)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},te={'' if livemode else digest},li={digest if livemode else ''}"


def verify_signature(
    payload: bytes, header: str | None, secret: str, *, livemode: bool, now: float | None = None
) -> None:
    """Accept ``payload`` only if ``header`` signs it with ``secret`` in the endpoint's mode
    (``te`` in test mode, ``li`` live) within TOLERANCE_SECONDS; InvalidEvent otherwise."""
    if not header or len(header) > 1000:
        raise InvalidEvent("signature: no Paymongo-Signature header")
    parts: dict[str, str] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts[key] = value
    stamp = parts.get("t", "")
    if not stamp.isdigit() or len(stamp) > 12:
        raise InvalidEvent("signature: no timestamp")
    given = parts.get("li" if livemode else "te", "")
    if not re.fullmatch(r"[0-9a-f]{64}", given):
        raise InvalidEvent(f"signature: no {'live' if livemode else 'test'} mode signature")
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise InvalidEvent("signature: does not match")
    now = time.time() if now is None else now
    if abs(now - int(stamp)) > TOLERANCE_SECONDS:
        raise InvalidEvent("signature: timestamp outside the tolerance")


# --- Reading an event's values (anything unexpected is InvalidEvent) ---------------------------------


def _dict(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise InvalidEvent(f"{what} is not an object")
    return value


def _text(value, what: str, *, max_length: int = 200) -> str:
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise InvalidEvent(f"{what} is not a short text")
    return value


def _minor(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_MINOR:
        raise InvalidEvent(f"{what} is not a plausible amount")
    return value


def _currency(value) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        raise InvalidEvent("currency is not a three-letter code")
    return value.lower()


def _metadata(value) -> dict[str, str]:
    if value is None:
        return {}
    metadata = _dict(value, "metadata")
    return {
        str(k)[:100]: str(v)[:255] for k, v in metadata.items() if isinstance(v, str | int) and not isinstance(v, bool)
    }


def _resource(value, what: str) -> tuple[str, dict]:
    resource = _dict(value, what)
    return _text(resource.get("id"), f"{what} id"), _dict(resource.get("attributes"), f"{what} attributes")


def _payment(value) -> dict:
    """A payment resource as services reads it (its id is the money's key in AIS)."""
    payment_id, attributes = _resource(value, "payment")
    source = attributes.get("source")
    code = _dict(source, "payment source").get("type") if source is not None else attributes.get("payment_method_type")
    return {
        "payment_intent": payment_id,
        "amount_total": _minor(attributes.get("amount"), "payment amount"),
        "currency": _currency(attributes.get("currency")),
        "payment_method": method_name(code),
        "status": attributes.get("status"),
        "metadata": _metadata(attributes.get("metadata")),
        "attributes": attributes,
    }


def _checkout_paid(resource) -> dict:
    session_id, attributes = _resource(resource, "checkout session")
    payments = attributes.get("payments")
    if not isinstance(payments, list) or len(payments) > 50:
        raise InvalidEvent("checkout session payments is not a list")
    paid = [p for p in (_payment(item) for item in payments) if p["status"] == "paid"]
    if not paid:
        raise InvalidEvent("checkout_session.payment.paid without a paid payment")
    money = paid[0]
    if money["payment_method"] == OTHER_METHOD and attributes.get("payment_method_used"):
        money["payment_method"] = method_name(attributes.get("payment_method_used"))
    return {
        "id": session_id,
        "object": "checkout_session",
        "metadata": _metadata(attributes.get("metadata")),
        "payment_status": "paid",
        "payment_intent": money["payment_intent"],
        "amount_total": money["amount_total"],
        "currency": money["currency"],
        "payment_method": money["payment_method"],
    }


def _payment_paid(resource) -> dict:
    money = _payment(resource)
    if money["status"] != "paid":
        raise InvalidEvent("payment.paid for a payment that is not paid")
    return {
        "id": None,
        "object": "payment",
        "metadata": money["metadata"],
        "payment_status": "paid",
        "payment_intent": money["payment_intent"],
        "amount_total": money["amount_total"],
        "currency": money["currency"],
        "payment_method": money["payment_method"],
    }


def _payment_refunded(resource) -> dict:
    money = _payment(resource)
    refunds = money["attributes"].get("refunds")
    if isinstance(refunds, list) and refunds:
        refunded = 0
        for item in refunds[:100]:
            _, attributes = _resource(item, "refund")
            if attributes.get("status") != "failed":
                refunded += _minor(attributes.get("amount"), "refund amount")
    elif money["status"] == "refunded":
        refunded = money["amount_total"]
    else:
        raise InvalidEvent("payment.refunded without refunds")
    if refunded > money["amount_total"]:
        raise InvalidEvent("more refunded than paid")
    return {
        "id": money["payment_intent"],
        "object": "payment",
        "payment_intent": money["payment_intent"],
        "amount": money["amount_total"],
        "amount_refunded": refunded,
        "currency": money["currency"],
    }


def _attributes_of(data: dict) -> dict:
    attributes = data.get("attributes")
    return attributes if isinstance(attributes, dict) else {}


READERS = {
    "checkout_session.payment.paid": ("checkout.session.completed", _checkout_paid),
    "payment.paid": ("checkout.session.async_payment_succeeded", _payment_paid),
    "payment.refunded": ("charge.refunded", _payment_refunded),
}


class PayMongoProvider:
    name = "paymongo"
    label = "PayMongo"
    expires_sessions_itself = False  # its sessions stay open until paid or expired

    def __init__(
        self, secret_key: str, webhook_secret: str, api_base: str = "", methods=("gcash", "paymaya", "qrph", "card")
    ):
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.methods = list(methods)
        self.livemode = secret_key.startswith("sk_live_")
        self.http = requests.Session()
        self.http.auth = (secret_key, "")
        self.http.headers.update({"Accept": "application/json"})

    # --- Checkout Sessions ---------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self.http.request(method, self.api_base + path, timeout=HTTP_TIMEOUT_SECONDS, **kwargs)
        except requests.RequestException as error:
            raise ProviderError(UNAVAILABLE, f"paymongo: {method} {path}: {error}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            errors = body.get("errors") if isinstance(body, dict) else None
            raise ProviderError(UNAVAILABLE, f"paymongo: {method} {path}: {response.status_code} {errors}")
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise ProviderError(UNAVAILABLE, f"paymongo: {method} {path}: unexpected answer")
        return body["data"]

    def create_checkout(self, request: CheckoutRequest) -> CreatedCheckout:
        attributes = {
            "line_items": [
                {
                    "name": request.name,
                    "description": request.description,
                    "amount": request.amount_minor,
                    "currency": request.currency.upper(),
                    "quantity": 1,
                }
            ],
            "payment_method_types": self.methods,
            "description": f"{request.name}: {request.description}",
            "reference_number": f"{request.metadata.get('invoice_no', '')}-{request.metadata.get('checkout_id', '')}",
            "metadata": request.metadata,
            # Stripe fills in {CHECKOUT_SESSION_ID}; PayMongo does not, and AIS never reads it.
            "success_url": request.success_url.replace("&session_id={CHECKOUT_SESSION_ID}", ""),
            "cancel_url": request.cancel_url,
            "send_email_receipt": False,  # AIS sends the receipt, once
            "show_description": True,
            "show_line_items": True,
        }
        data = self._call(
            "POST",
            "/v1/checkout_sessions",
            json={"data": {"attributes": attributes}},
            headers={"Idempotency-Key": request.idempotency_key},
        )
        answer = _attributes_of(data)
        session_id, url = data.get("id"), answer.get("checkout_url")
        if not isinstance(session_id, str) or not session_id or not isinstance(url, str) or not url:
            raise ProviderError(UNAVAILABLE, "paymongo: no checkout session id or url")
        return CreatedCheckout(
            session_id=session_id,
            url=url,
            status=STATUSES.get(str(answer.get("status")), "open"),
            expires_at=None,  # PayMongo's sessions do not expire by themselves: AIS's expiry stands
            payment_intent=None,
        )

    def expire_checkout(self, session_id: str) -> str:
        try:
            data = self._call("POST", f"/v1/checkout_sessions/{session_id}/expire")
        except ProviderError:
            # Not active any more (paid or expired already), or PayMongo unreachable: ask.
            try:
                data = self._call("GET", f"/v1/checkout_sessions/{session_id}")
            except ProviderError as error:
                log.warning("paymongo: expiring checkout session %s failed: %s", session_id, error.detail)
                raise ProviderError("The earlier online payment could not be cancelled.", error.detail) from None
        status = str(_attributes_of(data).get("status") or "")
        return STATUSES.get(status, status)

    # --- Webhooks ------------------------------------------------------------------------------

    def parse_event(self, payload: bytes, signature: str | None) -> dict:
        if len(payload) > MAX_EVENT_BYTES:
            raise InvalidEvent("body too large")
        verify_signature(payload, signature, self.webhook_secret, livemode=self.livemode)
        try:
            body = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise InvalidEvent("body is not UTF-8 JSON") from None
        event_id, attributes = _resource(_dict(body, "body").get("data"), "event")
        kind = _text(attributes.get("type"), "event type")
        livemode = attributes.get("livemode")
        if not isinstance(livemode, bool):
            raise InvalidEvent("event livemode is not true or false")
        if livemode != self.livemode:
            raise InvalidEvent(
                f"a {'live' if livemode else 'test'} event sent to a {'live' if self.livemode else 'test'} endpoint"
            )
        created = attributes.get("created_at")
        if isinstance(created, bool) or not isinstance(created, int) or not 0 < created < 2**33:
            raise InvalidEvent("event created_at is not a time")
        internal, reader = READERS.get(kind, (f"paymongo.{kind}", None))
        obj = reader(attributes.get("data")) if reader else {}
        return {
            "id": EVENT_ID_PREFIX + event_id,
            "type": internal,
            "provider": self.name,
            "created": created,
            "livemode": livemode,
            "data": {"object": obj},
        }
