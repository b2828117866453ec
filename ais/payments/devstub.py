"""A local stand-in for Stripe's API and hosted Checkout page, for tests and the demo.  Never for
production: it accepts any key and moves no money.

    python -m ais.payments.devstub --port 12111 --app http://127.0.0.1:5000 --secret whsec_demo

then run the app with STRIPE_API_BASE=http://127.0.0.1:12111, STRIPE_SECRET_KEY=sk_test_demo and
STRIPE_WEBHOOK_SECRET=whsec_demo.  It answers the Checkout Session calls the app makes through
the official library (create, retrieve, expire; Idempotency-Key honoured as Stripe does) and
records every request.  Its "hosted page" (``GET /pay/<session id>``) has buttons that send the
app the events Stripe would (signed with the real scheme) and then follow the session's
success or cancel URL.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .stub_pages import checkout_page, minor_units


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    form: dict  # flattened, e.g. {"line_items[0][price_data][unit_amount]": "50000"}


def sign(body: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for ``body``: t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class StripeStub:
    page_base: str = "https://checkout.stripe.test"  # where the sessions' "url" points
    app_url: str = ""  # for the hosted page's buttons
    webhook_secret: str = ""
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    fail_creates: int = 0  # answer the next N creates with a Stripe error
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
        return self.calls("POST", r"/v1/checkout/sessions")

    def only_session(self) -> dict:
        assert len(self.sessions) == 1, self.sessions
        return next(iter(self.sessions.values()))

    # --- Running ------------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> StripeStub:
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

    def handle(self, method: str, path: str, headers: dict, form: dict) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(Recorded(method, path, headers, form))
            if method == "POST" and path == "/v1/checkout/sessions":
                return self._create(headers.get("idempotency-key"), form)
            match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)(/expire)?", path)
            if match and match.group(1) in self.sessions:
                session = self.sessions[match.group(1)]
                if method == "GET" and not match.group(2):
                    return 200, session
                if method == "POST" and match.group(2):
                    if session["status"] != "open":
                        return 400, _error(f"Only open sessions can be expired; this one is {session['status']}.")
                    session["status"] = "expired"
                    return 200, session
            return 404, _error("No such resource")

    def _create(self, key: str | None, form: dict) -> tuple[int, dict]:
        if key and key in self.by_key:
            return 200, self.sessions[self.by_key[key]]
        if self.fail_creates:
            self.fail_creates -= 1
            return 400, _error("The amount is below the minimum charge amount allowed.")
        number = next(self._counter)
        session_id = f"cs_test_{number:04d}{'x' * 20}"
        page_base = self.page_base or self.url
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"{page_base}/pay/{session_id}",
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": None,
            "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
            "currency": form["line_items[0][price_data][currency]"],
            "customer_email": form.get("customer_email"),
            "expires_at": int(form.get("expires_at") or time.time() + 1800),
            "metadata": {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")},
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "line_item": {
                "name": form.get("line_items[0][price_data][product_data][name]", ""),
                "description": form.get("line_items[0][price_data][product_data][description]", ""),
            },
        }
        self.sessions[session_id] = session
        if key:
            self.by_key[key] = session_id
        return 200, session

    # --- The hosted page (demo) -----------------------------------------------------------------------

    def event(self, kind: str, session: dict, **fields) -> dict:
        obj = dict(session, **fields)
        return {
            "id": f"evt_stub_{int(time.time() * 1000)}_{next(self._counter)}",
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }

    def send(self, event: dict) -> int:
        body = json.dumps(event)
        request = urllib.request.Request(
            self.app_url.rstrip("/") + "/webhooks/stripe",
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Stripe-Signature": sign(body, self.webhook_secret)},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310 - the configured app
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def pay(self, session_id: str, outcome: str) -> str:
        """The buyer's click on the hosted page: send the events; return where the browser goes."""
        session = self.sessions[session_id]
        if outcome == "cancel" or session["status"] != "open":
            return session["cancel_url"]
        intent = f"pi_stub_{session_id[-24:-20]}{int(time.time())}"
        session.update(status="complete", payment_intent=intent)
        if outcome == "delayed":
            session["payment_status"] = "unpaid"
            self.send(self.event("checkout.session.completed", session))
        else:
            session["payment_status"] = "paid"
            self.send(self.event("checkout.session.completed", session))
        return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)


def _error(message: str) -> dict:
    return {"error": {"type": "invalid_request_error", "message": message}}


def _handler_for(stub: StripeStub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            return dict(parse_qsl(body or urlsplit(self.path).query, keep_blank_values=True))

        def _send(self, status: int, data: bytes, content_type: str, location: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if location:
                self.send_header("Location", location)
            self.send_header("Request-Id", "req_stub")
            self.end_headers()
            self.wfile.write(data)

        def _answer(self, method: str) -> None:
            parts = urlsplit(self.path)
            page = re.fullmatch(r"/pay/([^/]+)", parts.path)
            if page and page.group(1) in stub.sessions:
                session = stub.sessions[page.group(1)]
                if method == "POST":
                    target = stub.pay(session["id"], self._body().get("outcome", "paid"))
                    return self._send(303, b"", "text/plain", target)
                html_page = checkout_page(
                    "stripe_checkout.html",
                    name=session["line_item"]["name"],
                    description=session["line_item"]["description"],
                    currency=session["currency"].upper(),
                    amount=minor_units(session["amount_total"]),
                    email=session["customer_email"] or "",
                )
                return self._send(200, html_page, "text/html; charset=utf-8")
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload = stub.handle(method, parts.path, headers, self._body())
            self._send(status, json.dumps(payload).encode(), "application/json")

        def do_GET(self):  # noqa: N802 - http.server's naming
            self._answer("GET")

        def do_POST(self):  # noqa: N802
            self._answer("POST")

        def log_message(self, *args):
            pass

    return Handler


def main() -> None:  # pragma: no cover - a developer's tool
    parser = argparse.ArgumentParser(description="A local Stripe stand-in for trying online payment.")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--app", default="http://127.0.0.1:5000", help="the AIS app (its /webhooks/stripe)")
    parser.add_argument("--secret", default="whsec_demo", help="the app's STRIPE_WEBHOOK_SECRET")
    args = parser.parse_args()
    stub = StripeStub(page_base="", app_url=args.app, webhook_secret=args.secret).start(port=args.port)
    print(f"Stripe stub on {stub.url} (STRIPE_API_BASE); events go to {args.app}/webhooks/stripe")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stub.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
