"""A local stand-in for PayMongo's Checkout API and hosted page, for tests and the demo.  Never for
production: it accepts any key and moves no money.

    python -m ais.payments.paymongo_stub --port 12112 --app http://127.0.0.1:5000 --secret whsk_demo

then run the app with PAYMONGO_API_BASE=http://127.0.0.1:12112, PAYMONGO_SECRET_KEY=sk_test_demo
and PAYMONGO_WEBHOOK_SECRET=whsk_demo.  It answers the calls the app makes (create, retrieve and
expire a Checkout Session; Idempotency-Key honoured; basic auth required) and records every
request.  Its hosted page (``GET /checkout/<session id>``) has one button per method the session
offers (GCash, Maya, ...): a click marks the session paid and sends the app a
``checkout_session.payment.paid`` event, signed with PayMongo's scheme
(``Paymongo-Signature: t=...,te=...,li=...``), then follows the success URL.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .paymongo_provider import METHOD_NAMES, signature_header
from .stub_pages import checkout_page, minor_units


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: dict


def _error(code: str, detail: str) -> dict:
    return {"errors": [{"code": code, "detail": detail}]}


@dataclass
class PayMongoStub:
    page_base: str = "https://checkout.paymongo.test"  # where the sessions' checkout_url points
    app_url: str = ""  # for the hosted page's buttons
    webhook_secret: str = ""
    livemode: bool = False
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    fail_creates: int = 0  # answer the next N creates with an error
    url: str = ""
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # --- What tests look at ------------------------------------------------------------------------

    def calls(self, method: str, path_pattern: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.fullmatch(path_pattern, r.path)]

    @property
    def creates(self) -> list[Recorded]:
        return self.calls("POST", r"/v1/checkout_sessions")

    def only_session(self) -> dict:
        assert len(self.sessions) == 1, self.sessions
        return next(iter(self.sessions.values()))

    # --- Running ------------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> PayMongoStub:
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.url = f"http://{host}:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- The API ------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict, body: dict) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(Recorded(method, path, headers, body))
            if not headers.get("authorization", "").startswith("Basic "):
                return 401, _error("unauthorized", "API key missing")
            if method == "POST" and path == "/v1/checkout_sessions":
                return self._create(headers.get("idempotency-key"), body)
            match = re.fullmatch(r"/v1/checkout_sessions/([^/]+)(/expire)?", path)
            if match and match.group(1) in self.sessions:
                session = self.sessions[match.group(1)]
                if method == "GET" and not match.group(2):
                    return 200, {"data": session}
                if method == "POST" and match.group(2):
                    if session["attributes"]["status"] != "active":
                        return 400, _error("resource_invalid_state", "The checkout session is not active.")
                    session["attributes"]["status"] = "expired"
                    return 200, {"data": session}
            return 404, _error("resource_not_found", "No such resource")

    def _create(self, key: str | None, body: dict) -> tuple[int, dict]:
        if key and key in self.by_key:
            return 200, {"data": self.sessions[self.by_key[key]]}
        if self.fail_creates:
            self.fail_creates -= 1
            return 400, _error("parameter_below_minimum", "The amount is below the minimum of 20.00.")
        try:
            attributes = body["data"]["attributes"]
            item = attributes["line_items"][0]
            amount, currency = int(item["amount"]), str(item["currency"])
        except (KeyError, IndexError, TypeError, ValueError):
            return 400, _error("parameter_invalid", "line_items are required")
        session_id = f"cs_{next(self._counter):04d}{secrets.token_hex(10)}"
        page_base = self.page_base or self.url
        now = int(time.time())
        session = {
            "id": session_id,
            "type": "checkout_session",
            "attributes": {
                "checkout_url": f"{page_base}/checkout/{session_id}",
                "status": "active",
                "livemode": self.livemode,
                "line_items": [{**item, "amount": amount, "currency": currency}],
                "payment_method_types": list(attributes.get("payment_method_types") or []),
                "metadata": dict(attributes.get("metadata") or {}),
                "reference_number": attributes.get("reference_number"),
                "description": attributes.get("description"),
                "success_url": attributes.get("success_url"),
                "cancel_url": attributes.get("cancel_url"),
                "payments": [],
                "payment_method_used": None,
                "created_at": now,
                "updated_at": now,
            },
        }
        self.sessions[session_id] = session
        if key:
            self.by_key[key] = session_id
        return 200, {"data": session}

    # --- Events ---------------------------------------------------------------------------------------

    def payment(self, session: dict, method: str = "gcash", amount: int | None = None, **attributes) -> dict:
        """A paid payment of ``session`` (its id new each time unless given)."""
        item = session["attributes"]["line_items"][0]
        payment_id = attributes.pop("id", None) or f"pay_{secrets.token_hex(12)}"
        return {
            "id": payment_id,
            "type": "payment",
            "attributes": {
                "amount": item["amount"] if amount is None else amount,
                "currency": item["currency"],
                "status": "paid",
                "source": {"id": f"src_{secrets.token_hex(8)}", "type": method},
                "metadata": dict(session["attributes"]["metadata"]),
                "paid_at": int(time.time()),
                "refunds": [],
                **attributes,
            },
        }

    def event(self, kind: str, resource: dict, event_id: str | None = None, livemode: bool | None = None) -> dict:
        now = int(time.time())
        return {
            "data": {
                "id": event_id or f"evt_{next(self._counter):05d}{secrets.token_hex(8)}",
                "type": "event",
                "attributes": {
                    "type": kind,
                    "livemode": self.livemode if livemode is None else livemode,
                    "data": resource,
                    "previous_data": {},
                    "created_at": now,
                    "updated_at": now,
                },
            }
        }

    def checkout_paid(self, session: dict, payment: dict, **event_args) -> dict:
        """The ``checkout_session.payment.paid`` event of ``session`` paid with ``payment``."""
        attributes = dict(session["attributes"], status="active", payments=[payment])
        attributes["payment_method_used"] = payment["attributes"]["source"]["type"]
        return self.event(
            "checkout_session.payment.paid",
            {"id": session["id"], "type": "checkout_session", "attributes": attributes},
            **event_args,
        )

    def refunded(self, payment: dict, *refund_amounts: int, **event_args) -> dict:
        """``payment.refunded`` for ``payment`` after refunds of these amounts (centavos)."""
        refunds = [
            {
                "id": f"ref_{payment['id'][4:14]}{number}",
                "type": "refund",
                "attributes": {"amount": amount, "payment_id": payment["id"], "status": "succeeded"},
            }
            for number, amount in enumerate(refund_amounts)
        ]
        full = sum(refund_amounts) >= payment["attributes"]["amount"]
        resource = dict(
            payment, attributes=dict(payment["attributes"], refunds=refunds, status="refunded" if full else "paid")
        )
        return self.event("payment.refunded", resource, **event_args)

    def send(self, event: dict) -> int:
        body = json.dumps(event)
        request = urllib.request.Request(
            self.app_url.rstrip("/") + "/webhooks/paymongo",
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Paymongo-Signature": signature_header(body, self.webhook_secret, livemode=self.livemode),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310 - the configured app
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def pay(self, session_id: str, outcome: str) -> str:
        """The buyer's click on the hosted page: send the event; return where the browser goes."""
        session = self.sessions[session_id]
        attributes = session["attributes"]
        if outcome == "cancel" or attributes["status"] != "active":
            return attributes["cancel_url"]
        payment = self.payment(session, method=outcome)
        event = self.checkout_paid(session, payment)
        attributes.update(status="paid", payments=[payment], payment_method_used=outcome)
        self.send(event)
        return attributes["success_url"]


def _handler_for(stub: PayMongoStub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _raw(self) -> str:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length).decode() if length else ""

        def _send(self, status: int, data: bytes, content_type: str, location: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if location:
                self.send_header("Location", location)
            self.end_headers()
            self.wfile.write(data)

        def _answer(self, method: str) -> None:
            parts = urlsplit(self.path)
            page = re.fullmatch(r"/checkout/([^/]+)", parts.path)
            if page and page.group(1) in stub.sessions:
                session = stub.sessions[page.group(1)]
                if method == "POST":
                    outcome = dict(parse_qsl(self._raw())).get("outcome", "gcash")
                    return self._send(303, b"", "text/plain", stub.pay(session["id"], outcome))
                attributes = session["attributes"]
                item = attributes["line_items"][0]
                html_page = checkout_page(
                    "paymongo_checkout.html",
                    name=str(item.get("name", "")),
                    description=str(item.get("description", "")),
                    currency=str(item["currency"]),
                    amount=minor_units(item["amount"]),
                    methods=[
                        (code, METHOD_NAMES.get(code, code)) for code in attributes["payment_method_types"] or ["gcash"]
                    ],
                )
                return self._send(200, html_page, "text/html; charset=utf-8")
            headers = {k.lower(): v for k, v in self.headers.items()}
            raw = self._raw()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            status, payload = stub.handle(method, parts.path, headers, body if isinstance(body, dict) else {})
            self._send(status, json.dumps(payload).encode(), "application/json")

        def do_GET(self):  # noqa: N802 - http.server's naming
            self._answer("GET")

        def do_POST(self):  # noqa: N802
            self._answer("POST")

        def log_message(self, *args):
            pass

    return Handler


def main() -> None:  # pragma: no cover - a developer's tool
    parser = argparse.ArgumentParser(description="A local PayMongo stand-in for trying online payment.")
    parser.add_argument("--port", type=int, default=12112)
    parser.add_argument("--app", default="http://127.0.0.1:5000", help="the AIS app (its /webhooks/paymongo)")
    parser.add_argument("--secret", default="whsk_demo", help="the app's PAYMONGO_WEBHOOK_SECRET")
    args = parser.parse_args()
    stub = PayMongoStub(page_base="", app_url=args.app, webhook_secret=args.secret).start(port=args.port)
    print(f"PayMongo stand-in on {stub.url} (PAYMONGO_API_BASE); events go to {args.app}/webhooks/paymongo")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stub.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
