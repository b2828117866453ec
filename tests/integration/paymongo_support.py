"""Helpers for the PayMongo tests (test_paymongo_*.py, and the shared suite through online_support);
no tests here.  The fixtures ``paymongo_stub`` and ``paymongo_on`` are in conftest.py.

* ``paymongo_stub``: ``ais.payments.paymongo_stub.PayMongoStub``, a real HTTP server on 127.0.0.1
  that answers the Checkout Session calls the app makes with ``requests`` and builds PayMongo's
  events (``checkout_paid``, ``refunded``, ``event``).
* ``deliver(client, event)``: posts the event signed with PayMongo's scheme (``t``, ``te``, ``li``).
"""

from __future__ import annotations

import json

from ais.payments.paymongo_provider import signature_header

SECRET_KEY = "sk_test_ais_paymongo_stub"
WEBHOOK_SECRET = "whsk_test_ais_0123456789"


def signed(event: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None, livemode: bool = False):
    body = json.dumps(event)
    return body, signature_header(body, secret, livemode=livemode, timestamp=timestamp)


def post_raw(client, body: str | bytes, header: str | None):
    headers = {"Paymongo-Signature": header} if header is not None else {}
    return client.post("/webhooks/paymongo", data=body, headers=headers, content_type="application/json")


def deliver(client, event: dict, **sign_args):
    body, header = signed(event, **sign_args)
    return post_raw(client, body, header)
