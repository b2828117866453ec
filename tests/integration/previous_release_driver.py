"""Drives the PREVIOUS release's app (imported from its extracted tree through PYTHONPATH) against
a database the new release migrated and filled: run by tests/integration/test_previous_release.py
in a subprocess, never collected by pytest, and importing nothing from this tree.

Reads a JSON task on stdin (the ids and sign-ins to use), does what an owner and a client do in
a browser with the old app's Flask test client, and prints one JSON line: each step's status and
what the old app created.  Any unexpected answer stops it with a message and exit status 1."""

from __future__ import annotations

import json
import re
import sys

import ais  # the previous release's package: the caller checks where it came from
from ais import create_app

TASK = json.load(sys.stdin)
app = create_app({"SESSION_COOKIE_SECURE": False, "SERVER_NAME": "localhost"})
http = app.test_client()
report: dict = {"ais_file": ais.__file__, "version": getattr(ais, "__version__", None), "steps": {}}


def fail(message: str, response=None) -> None:
    body = response.get_data(as_text=True)[:3000] if response is not None else ""
    print(f"{message}\n{body}", file=sys.stderr)
    sys.exit(1)


def step(name: str, response, expected: int = 200):
    report["steps"][name] = response.status_code
    if response.status_code != expected:
        fail(f"{name}: {response.status_code}, expected {expected}", response)
    return response


def csrf(page) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    if not match:
        fail("no CSRF token on the page", page)
    return match.group(1)


def sign_in(username: str, password: str, lands_on: str) -> None:
    page = step(f"GET /login ({username})", http.get("/login"))
    answer = http.post("/login", data={"csrf_token": csrf(page), "username": username, "password": password})
    step(f"POST /login ({username})", answer, 302)
    if not answer.headers["Location"].endswith(lands_on):
        fail(f"{username} signed in to {answer.headers['Location']}, expected {lands_on}", answer)


def sign_out() -> None:
    page = http.get("/", follow_redirects=True)
    step("POST /logout", http.post("/logout", data={"csrf_token": csrf(page)}), 302)


def created_id(response, prefix: str) -> int:
    location = response.headers.get("Location", "")
    match = re.search(prefix + r"(\d+)$", location)
    if not match:
        fail(f"no {prefix}<id> in the redirect {location!r}", response)
    return int(match.group(1))


# --- the owner -------------------------------------------------------------------------------------
sign_in(TASK["owner"], TASK["owner_password"], "/dashboard")
for url in ("/dashboard", "/clients", "/invoices", "/payments", f"/clients/{TASK['client_id']}"):
    step(f"GET {url}", http.get(url))

invoice_url = f"/invoices/{TASK['invoice_id']}"
page = step(f"GET {invoice_url}", http.get(invoice_url))
answer = http.post(
    f"{invoice_url}/payments",
    data={
        "csrf_token": csrf(page),
        "amount": TASK["payment_amount"],
        "date": TASK["today"],
        "method": "Cash",
        "reference": "OLD-APP-1",
        "submission_key": "old-app-payment-1",
    },
)
step(f"POST {invoice_url}/payments", answer, 302)
step(f"GET {invoice_url} (after the payment)", http.get(invoice_url))

page = step("GET /clients/new", http.get("/clients/new"))
answer = http.post(
    "/clients/new",
    data={
        "csrf_token": csrf(page),
        "name": "Old App Client",
        "email": "old.app.client@example.com",
        "company": "Made by 0.8",
        "phone": "0917 000 0000",
        "tax_id": "",
        "address": "Cebu City",
    },
)
step("POST /clients/new", answer, 302)
report["client_id"] = created_id(answer, "/clients/")

page = step("GET /invoices/new", http.get(f"/invoices/new?client={report['client_id']}"))
answer = http.post(
    "/invoices/new",
    data={
        "csrf_token": csrf(page),
        "action": "issue",
        "client_id": str(report["client_id"]),
        "description": "Sold by the previous release",
        "issue_date": TASK["today"],
        "lines-0-description": "Sala set",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "9,000.00",
        "lines-0-tax_rate": "12",
        "lines-1-description": "Delivery",
        "lines-1-quantity": "1",
        "lines-1-unit_price": "300",
        "lines-1-tax_rate": "",
        "payment_type": "installment",
        "due_date": TASK["today"],
        "installment_count": "3",
        "frequency": "monthly",
    },
)
step("POST /invoices/new (issue)", answer, 302)
report["invoice_id"] = created_id(answer, "/invoices/")
page = step("GET the new invoice", http.get(f"/invoices/{report['invoice_id']}"))
answer = http.post(
    f"/invoices/{report['invoice_id']}/payments",
    data={
        "csrf_token": csrf(page),
        "amount": "1,000",
        "date": TASK["today"],
        "method": "GCash",
        "reference": "OLD-APP-2",
        "submission_key": "old-app-payment-2",
    },
)
step("POST a payment on the new invoice", answer, 302)
sign_out()

# --- the client, in the portal ---------------------------------------------------------------------
sign_in(TASK["client_email"], TASK["client_password"], "/portal")
for url in ("/portal", "/portal/invoices", "/portal/payments"):
    step(f"GET {url}", http.get(url))
portal_invoice = f"/portal/invoices/{TASK['portal_invoice_id']}"
page = step(f"GET {portal_invoice}", http.get(portal_invoice))
answer = http.post(
    "/portal/payments/add",
    data={
        "csrf_token": csrf(page),
        "invoice_id": str(TASK["portal_invoice_id"]),
        "amount": TASK["reported_amount"],
        "method": "Cash deposit",
        "date": TASK["today"],
        "reference": "OLD-APP-REPORT",
        "submission_key": "old-app-report-1",
    },
)
step("POST /portal/payments/add", answer, 303)
step("GET /portal/payments (after the report)", http.get("/portal/payments"))
sign_out()

# --- the owner confirms what the client reported ---------------------------------------------------
sign_in(TASK["owner"], TASK["owner_password"], "/dashboard")
queue = step("GET /payments?state=reported", http.get("/payments?state=reported"))
html = queue.get_data(as_text=True)
match = re.search(r'action="/payments/(\d+)/confirm"', html[html.find("OLD-APP-REPORT") :])
if not match:
    fail("the reported payment is not in the confirmation queue", queue)
report["reported_payment_id"] = int(match.group(1))
answer = http.post(f"/payments/{match.group(1)}/confirm", data={"csrf_token": csrf(queue)})
step("POST /payments/<id>/confirm", answer, 302)
step("GET /payments (after confirming)", http.get("/payments"))
print(json.dumps(report))
