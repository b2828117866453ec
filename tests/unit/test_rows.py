"""The owner's list rows written in Python (ais.backoffice.rows) write what the template loops they
replaced wrote (kept under reference/), for rows of every kind, with hostile text escaped."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import product
from pathlib import Path
from types import SimpleNamespace

from test_forms_rendering import _normalized

from ais.backoffice.actions import payment_actions
from ais.backoffice.rows import (coming_due_rows, invoice_payment_rows, invoice_rows, payment_rows, recent_items,
                                 schedule_rows, waiting_rows)
from ais.badges import status_badge
from ais.billing import services

REFERENCE = Path(__file__).parent / "reference"
TODAY = dt.date(2026, 11, 30)


def render_reference(app, name: str, **context) -> str:
    template = app.jinja_env.from_string((REFERENCE / name).read_text())
    return template.render(status_badge=status_badge, payment_actions=payment_actions,
                           status_of=services.status_of, today=TODAY, **context)


def payments():
    kinds = product(["reported", "confirmed", "rejected", "voided", "odd_state"], [None, 0, 3],
                    [None, "", "REF <1> & 'x'"], [None, "", 'Bank said "no"'], ["PHP", "USD"])
    return [SimpleNamespace(id=n + 1, date=TODAY - dt.timedelta(days=n % 40), client_id=n % 7 + 1,
                            client_name=f"Client <{n}> & Co", invoice_id=n % 11 + 1, invoice_no=f"INV-2026-{n:04}",
                            currency=currency, installment_number=number, amount=Decimal(n * 37) / 4 + Decimal("0.25"),
                            method="Bank transfer" if n % 2 else "GCash <e>", reference=reference, state=state,
                            state_reason=reason)
            for n, (state, number, reference, reason, currency) in enumerate(kinds)]


def invoices():
    kinds = product([False, True], [False, True], [Decimal("0.00"), Decimal("40.00"), Decimal("100.00")],
                    [None, TODAY - dt.timedelta(days=3), TODAY + dt.timedelta(days=9)], [None, "INV-2026-0007"])
    return [SimpleNamespace(id=n + 1, invoice_no=number if not draft else None, client_id=n % 5 + 1,
                            client_name=f'Client "{n}" <b>', issue_date=TODAY - dt.timedelta(days=n),
                            due_date=TODAY + dt.timedelta(days=n), next_due_date=next_due, currency="PHP",
                            amount=Decimal("100.00"), paid_amount=paid, is_void=void, is_draft=draft)
            for n, (void, draft, paid, next_due, number) in enumerate(kinds)]


def test_payment_rows_equal_the_template_they_replaced(app):
    rows = payments()
    back = "/payments?state=reported&client_q=a%22b&page=2"
    with app.test_request_context("/payments"):
        expected = render_reference(app, "payment_rows_template.html", pagination=SimpleNamespace(items=rows),
                                    next_url=back)
        got = payment_rows(rows, back)
    assert _normalized(got) == _normalized(expected)
    assert str(got).count("<tr>") == len(rows) == 270 and "<b>" not in str(got)


def test_invoice_rows_equal_the_template_they_replaced(app):
    rows = invoices()
    with app.test_request_context("/invoices"):
        expected = render_reference(app, "invoice_rows_template.html", pagination=SimpleNamespace(items=rows))
        got = invoice_rows(rows, TODAY)
    assert _normalized(got) == _normalized(expected)
    assert str(got).count("<tr>") == len(rows) == 72 and "<b>" not in str(got)
    statuses = {status for status in ("draft", "void", "paid", "overdue", "partial", "pending")
                if f'data-status="{status}"' in str(got)}
    assert statuses == {"draft", "void", "paid", "overdue", "partial", "pending"}  # every kind of row was compared


def test_rows_link_under_the_script_root(app):
    with app.test_request_context("/", base_url="http://localhost/books/"):
        html = str(payment_rows(payments()[:1], "/payments")) + str(invoice_rows(invoices()[:1], TODAY))
    assert 'href="/books/clients/1"' in html and 'href="/books/invoices/1"' in html
    assert 'action="/books/payments/1/confirm"' in html


def installments():
    kinds = product([TODAY, TODAY + dt.timedelta(days=4)], [1, 12], ["PHP <x>", "Ann & Bob"])
    return [SimpleNamespace(due_date=due, number=number, installment_count=12, invoice_id=n + 1,
                            invoice_no=f"INV-2026-{n:04}<", client_id=n + 2, client_name=name,
                            unpaid=Decimal("1234.5") + n)
            for n, (due, number, name) in enumerate(kinds)]


def test_the_dashboard_lists_equal_the_template_they_replaced(app):
    waiting = [p for p in payments() if p.state == "reported"][:12]
    recent = payments()[:40]
    due = installments()
    back = "/dashboard"
    with app.test_request_context("/dashboard"):
        pairs = [
            (waiting_rows(waiting, "PHP", back),
             render_reference(app, "dashboard_waiting_template.html", waiting=waiting, currency="PHP", next_url=back)),
            (recent_items(recent, "USD"), render_reference(app, "dashboard_recent_template.html", recent=recent,
                                                           currency="USD")),
            (coming_due_rows(due, "PHP", TODAY),
             render_reference(app, "dashboard_coming_due_template.html", coming_due=due, currency="PHP")),
        ]
    for got, expected in pairs:
        assert _normalized(got) == _normalized(expected)
    assert str(pairs[0][0]).count("Confirm") >= len(waiting) and str(pairs[2][0]).count(">Today<") == 4
    assert "<x>" not in str(pairs[2][0]) and str(pairs[1][0]).count("<li") == 40


def test_the_invoice_page_rows_equal_the_template_they_replaced(app):
    shown = payments()[:60]
    errors = {shown[0].id: "Only ₱5.00 is open & <more>", shown[1].id: "Refused", shown[4].id: ""}
    schedule = [(SimpleNamespace(number=k, due_date=TODAY + dt.timedelta(days=30 * k), amount=Decimal("100.00"),
                                 paid_amount=Decimal(k * 10), unpaid=Decimal(100 - k * 10)), status)
                for k, status in enumerate(["paid", "partial", "overdue", "pending", "odd<state>"], start=1)]
    back = "/invoices/9"
    with app.test_request_context(back):
        got_payments = invoice_payment_rows(shown, "PHP", back, errors)
        expected_payments = render_reference(app, "invoice_payments_template.html", payments=shown, currency="PHP",
                                             next_url=back, payment_errors=errors)
        got_schedule = schedule_rows(schedule, "PHP")
        expected_schedule = render_reference(app, "invoice_schedule_template.html", installment_rows=schedule,
                                             currency="PHP")
    assert _normalized(got_payments) == _normalized(expected_payments)
    assert _normalized(got_schedule) == _normalized(expected_schedule)
    assert "Only ₱5.00 is open &amp; &lt;more&gt;" in str(got_payments) and "<state>" not in str(got_schedule)
