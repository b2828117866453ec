"""Drivers for the online-payment suite shared by the providers (test_online_*.py); no tests here.

The ``online`` fixture (conftest.py) runs a test once with Stripe and once with PayMongo, each
pointed at its local stand-in.  A driver hides what differs: where the hosted page is, how an
event saying "this money arrived" looks, and how it is signed.  ``money_id`` is the provider's id
for the money (a Stripe PaymentIntent, a PayMongo payment), which AIS keeps unique.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paymongo_support
import requests
import stripe_support

ROOT = Path(__file__).resolve().parents[2]


class StripeDriver:
    name = "stripe"
    endpoint = "/webhooks/stripe"
    header = "Stripe-Signature"
    method = "Card"
    secret = stripe_support.WEBHOOK_SECRET
    keys = {"STRIPE_SECRET_KEY": stripe_support.SECRET_KEY, "STRIPE_WEBHOOK_SECRET": stripe_support.WEBHOOK_SECRET}

    def __init__(self, stub):
        self.stub = stub

    def url(self, session: dict) -> str:
        return session["url"]

    def paid(self, session: dict, money_id: str = "pi_test_1", amount_minor: int | None = None) -> dict:
        """The event that says the money of ``session`` arrived."""
        extra = {"amount_total": amount_minor} if amount_minor is not None else {}
        return stripe_support.session_event("completed", session, payment_intent=money_id, **extra)

    def paid_again(self, session: dict, money_id: str = "pi_test_1") -> dict:
        """Another event (another type) about the same money."""
        return stripe_support.session_event("async_payment_succeeded", session, payment_intent=money_id)

    def refunded(self, money_id: str, amount_minor: int, refunded_minor: int) -> dict:
        return stripe_support.refund_event(money_id, amount_minor, refunded_minor)

    def signed(self, event: dict, secret: str | None = None, timestamp: int | None = None) -> tuple[str, str]:
        return stripe_support.signed(event, secret=secret or self.secret, timestamp=timestamp)

    def post_raw(self, client, body, header):
        headers = {self.header: header} if header is not None else {}
        return client.post(self.endpoint, data=body, headers=headers, content_type="application/json")

    def deliver(self, client, event: dict, **sign_args):
        return self.post_raw(client, *self.signed(event, **sign_args))


class PayMongoDriver(StripeDriver):
    name = "paymongo"
    endpoint = "/webhooks/paymongo"
    header = "Paymongo-Signature"
    method = "GCash"
    secret = paymongo_support.WEBHOOK_SECRET
    keys = {
        "PAYMONGO_SECRET_KEY": paymongo_support.SECRET_KEY,
        "PAYMONGO_WEBHOOK_SECRET": paymongo_support.WEBHOOK_SECRET,
    }

    def url(self, session: dict) -> str:
        return session["attributes"]["checkout_url"]

    def paid(self, session: dict, money_id: str = "pay_test_1", amount_minor: int | None = None) -> dict:
        return self.stub.checkout_paid(session, self.stub.payment(session, "gcash", amount_minor, id=money_id))

    def paid_again(self, session: dict, money_id: str = "pay_test_1") -> dict:
        return self.stub.event("payment.paid", self.stub.payment(session, "gcash", id=money_id))

    def refunded(self, money_id: str, amount_minor: int, refunded_minor: int) -> dict:
        payment = {
            "id": money_id,
            "type": "payment",
            "attributes": {"amount": amount_minor, "currency": "PHP", "status": "paid", "source": {"type": "gcash"}},
        }
        return self.stub.refunded(payment, refunded_minor)

    def signed(self, event: dict, secret: str | None = None, timestamp: int | None = None) -> tuple[str, str]:
        return paymongo_support.signed(event, secret=secret or self.secret, timestamp=timestamp)


DRIVERS = {"stripe": StripeDriver, "paymongo": PayMongoDriver}


@contextlib.contextmanager
def gunicorn(database_url: str, **settings: str):
    """The app under gunicorn (3 worker processes) on 127.0.0.1, with these settings; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "AIS_ENV": "development",
        "SECRET_KEY": "online-webhooks-test-secret-key-0123456789",
        "STRIPE_SECRET_KEY": "",
        "STRIPE_WEBHOOK_SECRET": "",
        "PAYMONGO_SECRET_KEY": "",
        "PAYMONGO_WEBHOOK_SECRET": "",
        "PAYMENTS_PROVIDER": "",
        "MAIL_SERVER": "",
        **settings,
    }
    # stderr to a file, not a pipe: an unread pipe fills with request log lines and blocks the workers.
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-w", "3", "-b", f"127.0.0.1:{port}", "ais:create_app()"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if server.poll() is not None:
                    log.seek(0)
                    raise AssertionError(log.read().decode()[-2000:])
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
            yield base
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)
