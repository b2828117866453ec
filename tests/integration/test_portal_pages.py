"""What a client sees in the portal, and reporting a payment (the one thing a client can write)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from portal_support import (
    ACTOR,
    ANN,
    BEN,
    DAY,
    TODAY,
    count,
    fresh,
    hidden_value,
    make_client,
    make_invoice,
    make_user,
    number_of,
    pay,
    payments_of,
    report,
    sign_in,
    text_of,
)

from ais.billing import promises, services
from ais.models import Invoice, Payment


@pytest.fixture
def ann(actions, world):
    sign_in(actions, ANN)
    return world


def squash(html: str) -> str:
    """The page's text with tags removed and spaces collapsed (for 'what the user reads' asserts)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def report_form(html: str) -> str:
    """The "Report a payment" card (the page may hold other forms, e.g. online payment)."""
    return html[html.index('id="report-payment"') :]


def form_data(html: str, **fields) -> dict:
    html = report_form(html)
    data = {
        "invoice_id": hidden_value(html, "invoice_id"),
        "submission_key": hidden_value(html, "submission_key"),
        "amount": "100.00",
        "method": "GCash",
        "date": (TODAY - DAY).isoformat(),
        "reference": "GC-123",
    }
    data.update(fields)
    return data


# --- Dashboard ------------------------------------------------------------------------------------


def test_coming_back_to_a_refused_reports_address_leads_to_the_payments(client, ann):
    response = client.get("/portal/payments/add")
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/payments")


def test_the_header_greets_the_client_by_name(client, ann):
    html = text_of(client.get("/portal"))
    header = html[html.index('id="account-menu"') : html.index("</nav>")]
    assert '<span class="account-name">Ann Cruz</span>' in header
    assert "Signed in as ann@example.com" in header


def test_the_dashboard_shows_totals_of_issued_non_void_invoices(client, ann):
    text = squash(text_of(client.get("/portal")))
    # Outstanding: 750.00 left on the plan + 1,234.56 due today; the draft and the void one count nowhere.
    assert "Outstanding ₱1,984.56" in text
    # To pay now: installment 2 of the plan (overdue) + the invoice due today.
    assert "To pay now ₱1,484.56" in text and "Includes ₱250.00 overdue" in text
    assert "Paid to date ₱250.00" in text
    assert "777.77" not in text and "Secret draft" not in text
    assert "555.55" not in text


def test_the_dashboard_shows_the_first_invoice_to_pay_now(client, ann):
    text = squash(text_of(client.get("/portal")))
    assert re.search(
        r"Next payment ₱250.00 ! Overdue since March 4, 2026 To pay now on invoice "
        + number_of(ann.a_plan)
        + r" \(₱1,484.56 on all your invoices\) View invoice",
        text,
    )


def test_the_dashboard_shows_plans_with_progress(client, ann):
    html = text_of(client.get("/portal"))
    assert "1 of 4 paid" in squash(html)
    assert re.search(r'<progress class="progress-native" value="250.00" max="1000.00"', html)
    assert "style=" not in html


def test_the_dashboard_lists_the_five_most_recent_payments(client, ann):
    for day in range(1, 7):
        report(ann.ann, ann.a_plan, "10.00", on=TODAY - day * DAY, reference=f"R-{day}")
    html = text_of(client.get("/portal"))
    shown = re.findall(r"(?<![\w.-])(?:R-\d|ANN-REF-11)(?![\w.-])", html)  # not inside a CSRF token
    assert shown == ["R-1", "R-2", "R-3", "R-4", "R-5"]


def test_the_dashboard_shows_the_clients_promise_to_pay_with_its_state(client, actions, ann, freeze_today):
    assert 'id="promise"' not in text_of(client.get("/portal"))  # no promise, no card
    promises.record_promise(ACTOR, ann.ann, "300.00", TODAY + 5 * DAY, "Phoned")
    page = squash(text_of(client.get("/portal")))
    assert "Your promise to pay" in page and "Promised ₱300.00 by Mar 21, 2026" in page
    assert "Reminders pause until then" in page and "Phoned" not in page  # the owner's note stays theirs
    pay(ann.a_plan, "100.00", on=TODAY)
    page = squash(text_of(client.get("/portal")))
    assert "₱100.00 paid towards it so far; ₱200.00 left to pay by March 21, 2026" in page
    pay(ann.a_plan, "200.00", on=TODAY)
    html = text_of(client.get("/portal"))
    assert 'data-promise="kept"' in html and "Promise kept" in html
    # Ben, who promised nothing, sees no card; nor does Ann a month after a promise's date.
    actions.logout()
    sign_in(actions, BEN)
    assert 'id="promise"' not in text_of(client.get("/portal"))
    actions.logout()
    sign_in(actions, ANN)
    freeze_today(TODAY + 40 * DAY)
    assert 'id="promise"' not in text_of(client.get("/portal"))


def test_a_broken_promise_shows_what_was_paid_by_its_date(client, ann, freeze_today):
    promises.record_promise(ACTOR, ann.ann, "300.00", TODAY + 2 * DAY)
    pay(ann.a_plan, "50.00", on=TODAY)
    freeze_today(TODAY + 3 * DAY)
    html = text_of(client.get("/portal"))
    assert 'data-promise="broken"' in html
    assert "₱50.00 of it was paid by March 18, 2026" in squash(html)


def test_a_client_with_nothing_sees_what_to_expect(client, actions, world):
    lone = make_client("Lone Client", "lone@example.com")
    make_user("lone@example.com", "lone-password-1", role="client", client_id=lone)
    sign_in(actions, ("lone@example.com", "lone-password-1"))
    assert "Nothing is due" in text_of(client.get("/portal"))
    assert "No invoices yet" in text_of(client.get("/portal/invoices"))
    assert "No payments yet" in text_of(client.get("/portal/payments"))


# --- Invoices list --------------------------------------------------------------------------------


def test_the_invoices_list_shows_issued_invoices_newest_first_with_their_figures(client, ann):
    html = text_of(client.get("/portal/invoices"))
    numbers = re.findall(r"INV-\d{4}-\d{4}", html)
    assert numbers == [number_of(ann.a_full), number_of(ann.a_void), number_of(ann.a_plan)]
    text = squash(html)
    assert "Partly paid ₱1,000.00 ₱250.00 ₱750.00" not in text  # overdue wins over partly paid
    assert re.search(number_of(ann.a_plan) + r" Jan 25, 2026 ! Overdue ₱1,000.00 ₱250.00 ₱750.00 Mar 4, 2026", text)
    assert re.search(number_of(ann.a_void) + r" Feb 24, 2026 ⊘ Void ₱555.55 ₱0.00 ₱0.00 —", text)
    assert re.search(number_of(ann.a_full) + r" Mar 11, 2026 ○ Pending ₱1,234.56 ₱0.00 ₱1,234.56 Mar 16, 2026", text)
    assert "777.77" not in text


def test_the_invoices_list_has_20_a_page(client, ann):
    for n in range(20):
        make_invoice(ann.ann, f"{n + 1}.00", issued=TODAY - 2 * DAY)
    first = text_of(client.get("/portal/invoices"))
    second = text_of(client.get("/portal/invoices?page=2"))
    assert len(set(re.findall(r"INV-\d{4}-\d{4}", first))) == 20
    assert set(re.findall(r"INV-\d{4}-\d{4}", second)) == {
        number_of(ann.a_plan),
        number_of(ann.a_void),
        number_of(ann.a_full),
    }
    assert "Showing 21–23 of 23" in second
    assert 'href="/portal/invoices?page=2"' in first


# --- One invoice ----------------------------------------------------------------------------------


def test_the_invoice_page_shows_the_schedule_with_each_installments_status(client, ann):
    text = squash(text_of(client.get(f"/portal/invoices/{ann.a_plan}")))
    assert re.search(r"1 Feb 4, 2026 ₱250.00 ₱250.00 ₱0.00 ✓ Paid", text)
    assert re.search(r"2 Mar 4, 2026 ₱250.00 ₱0.00 ₱250.00 ! Overdue", text)
    assert re.search(r"3 Apr 4, 2026 ₱250.00 ₱0.00 ₱250.00 ○ Pending", text)
    assert re.search(r"Bank transfer ANN-REF-11 1 ✓ Confirmed", text)


def test_an_installment_due_today_is_highlighted(client, ann):
    html = text_of(client.get(f"/portal/invoices/{ann.a_full}"))
    row = re.search(r'<tr class="portal-due-today">(.*?)</tr>', html, re.S)
    assert row and "Due today" in row.group(1) and "Mar 16, 2026" in row.group(1)


def test_a_partly_paid_installment_is_partial(client, ann, freeze_today):
    pay(ann.a_plan, "100.00", on=TODAY - DAY)  # installment 2 overdue and partly paid
    freeze_today(TODAY - 13 * DAY)  # 3 March: installment 2 (4 March) is not yet due
    text = squash(text_of(client.get(f"/portal/invoices/{ann.a_plan}")))
    assert re.search(r"2 Mar 4, 2026 ₱250.00 ₱100.00 ₱150.00 ◐ Partly paid", text)


def test_the_form_is_prefilled_with_the_amount_due_now_and_today(client, ann):
    html = text_of(client.get(f"/portal/invoices/{ann.a_plan}"))
    assert hidden_value(report_form(html), "amount") == "250.00"  # installment 2, overdue
    assert re.search(rf'name="date"[^>]*value="{TODAY.isoformat()}"', html)
    assert re.search(rf'max="{TODAY.isoformat()}"', html)
    assert len(hidden_value(html, "submission_key")) == 32
    assert hidden_value(html, "invoice_id") == str(ann.a_plan)
    assert 'name="csrf_token"' in html
    for method in ("Bank transfer", "GCash", "Cash deposit", "Check", "Other"):
        assert f">{method}</option>" in html


def test_the_amount_due_now_follows_the_business_date(client, ann, freeze_today):
    freeze_today(TODAY + 20 * DAY)  # 5 April: installments 2 and 3 are both due
    html = text_of(client.get(f"/portal/invoices/{ann.a_plan}"))
    assert hidden_value(report_form(html), "amount") == "500.00"
    freeze_today(TODAY - 14 * DAY)  # 2 March: nothing due yet, so the next installment
    html = text_of(client.get(f"/portal/invoices/{ann.a_plan}"))
    assert hidden_value(report_form(html), "amount") == "250.00"


def test_a_reported_payment_is_not_suggested_again(client, ann):
    report(ann.ann, ann.a_plan, "250.00")  # installment 2, the one due now, awaiting confirmation
    html = text_of(client.get(f"/portal/invoices/{ann.a_plan}"))
    # What is suggested now is the next installment (3, due 4 April), called that, never "due now".
    assert hidden_value(report_form(html), "amount") == "250.00"
    assert "Next installment: ₱250.00 due Apr 4, 2026" in squash(html)
    assert "Due now" not in html
    assert "It covers what is due now, so there is nothing more to pay yet." in html
    report(ann.ann, ann.a_full, "1000.00")  # part of the 1,234.56 due today
    assert hidden_value(report_form(text_of(client.get(f"/portal/invoices/{ann.a_full}"))), "amount") == "234.56"


def test_the_held_amount_is_shown_as_awaiting_confirmation(client, ann):
    report(ann.ann, ann.a_full, "200.00")
    text = squash(text_of(client.get(f"/portal/invoices/{ann.a_full}")))
    assert "Awaiting confirmation ₱200.00" in text
    assert (
        "₱200.00 is awaiting confirmation (reported, or a card payment in progress); "
        "up to ₱1,034.56 more can be reported." in text
    )


@pytest.mark.parametrize(
    "which, note",
    [
        ("paid", "This invoice is paid in full."),
        ("void", "This invoice is void, so no payment is needed."),
        ("held", "The payments you reported cover the whole balance."),
    ],
)
def test_no_form_when_nothing_can_be_reported(client, ann, which, note):
    invoice_id = ann.a_void if which == "void" else ann.a_full
    if which == "paid":
        pay(ann.a_full, "1234.56")
    elif which == "held":
        report(ann.ann, ann.a_full, "1234.56")
    html = text_of(client.get(f"/portal/invoices/{invoice_id}"))
    assert note in html
    assert 'name="amount"' not in html


def test_markup_in_descriptions_and_references_is_escaped(client, ann):
    evil = make_invoice(
        ann.ann, "10.00", issued=TODAY - DAY, description="<script>alert('d')</script>", line="<img src=x>"
    )
    report(ann.ann, evil, "5.00", reference="<b>ref</b>")
    for url in (f"/portal/invoices/{evil}", "/portal/payments", "/portal"):
        html = text_of(client.get(url))
        assert "<script>alert" not in html and "<img src=x>" not in html and "<b>ref</b>" not in html
    html = text_of(client.get(f"/portal/invoices/{evil}"))
    assert "&lt;script&gt;alert(&#39;d&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x&gt;" in html and "&lt;b&gt;ref&lt;/b&gt;" in html


# --- Payments list --------------------------------------------------------------------------------


def test_the_payments_list_shows_states_in_words(client, ann):
    reported = report(ann.ann, ann.a_full, "30.00", on=TODAY - DAY, reference="WAIT-1")
    rejected = report(ann.ann, ann.a_full, "40.00", on=TODAY - 2 * DAY, reference="NOPE-1")
    services.reject_payment(ACTOR, rejected, "No such transfer arrived")
    html = text_of(client.get("/portal/payments"))
    text = squash(html)
    # (a payment awaiting confirmation without a proof offers to add one)
    assert re.search(
        number_of(ann.a_full)
        + r" — ₱30.00 GCash WAIT-1 Add a proof to the payment of Mar 15, 2026 ◷ Awaiting confirmation",
        text,
    )
    assert re.search(r"NOPE-1 ✕ Rejected Reason: No such transfer arrived", text)
    assert re.search(number_of(ann.a_plan) + r" 1 ₱250.00 Bank transfer ANN-REF-11 ✓ Confirmed", text)
    assert f'href="/portal/invoices/{ann.a_full}"' in html
    assert reported


def test_the_payments_list_is_paginated_newest_first(client, ann):
    for day in range(1, 22):
        report(ann.ann, ann.a_plan, "1.00", on=TODAY - day * DAY, reference=f"P{day:02d}")
    shown = r"(?<![\w.-])(?:P\d\d|ANN-REF-11)(?![\w.-])"  # not inside a CSRF token (base64 can hold "P12")
    first = re.findall(shown, text_of(client.get("/portal/payments")))
    second = re.findall(shown, text_of(client.get("/portal/payments?page=2")))
    assert first == [f"P{day:02d}" for day in range(1, 21)]
    assert second == ["P21", "ANN-REF-11"]


# --- Reporting a payment --------------------------------------------------------------------------


def test_a_reported_payment_awaits_confirmation_then_shows_confirmed_with_its_installment(client, actions, ann):
    page = text_of(client.get(f"/portal/invoices/{ann.a_plan}"))
    response = actions.post("/portal/payments/add", form_data(page, amount="250.00", reference="GC-777"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/portal/invoices/{ann.a_plan}")
    saved = payments_of(ann.ann)[-1]
    assert (saved.amount, saved.state, saved.method, saved.reference, saved.date, saved.invoice_id) == (
        Decimal("250.00"),
        "reported",
        "GCash",
        "GC-777",
        TODAY - DAY,
        ann.a_plan,
    )
    assert fresh().get(Invoice, ann.a_plan).held_amount == Decimal("250.00")

    text = squash(text_of(client.get(f"/portal/invoices/{ann.a_plan}")))
    assert "Payment of ₱250.00 reported. It will show as paid once confirmed." in text
    assert re.search(r"₱250.00 GCash GC-777 — ◷ Awaiting confirmation", text)
    assert "Awaiting confirmation" in squash(text_of(client.get("/portal/payments")))

    services.confirm_payment(ACTOR, saved.id)
    text = squash(text_of(client.get(f"/portal/invoices/{ann.a_plan}")))
    assert re.search(r"₱250.00 GCash GC-777 2 ✓ Confirmed", text)
    assert re.search(r"2 Mar 4, 2026 ₱250.00 ₱250.00 ₱0.00 ✓ Paid", text)
    assert re.search(
        number_of(ann.a_plan) + r" 2 ₱250.00 GCash GC-777 ✓ Confirmed", squash(text_of(client.get("/portal/payments")))
    )
    assert "2 of 4 paid" in squash(text_of(client.get("/portal")))


def test_the_same_form_sent_twice_reports_one_payment(client, actions, ann):
    page = text_of(client.get(f"/portal/invoices/{ann.a_full}"))
    data = form_data(page)
    actions.post("/portal/payments/add", data)
    again = actions.post("/portal/payments/add", data, follow_redirects=True)
    assert count(Payment, Payment.invoice_id == ann.a_full) == 1
    assert "already reported" in text_of(again)


def test_only_the_forms_fields_are_read(client, actions, ann):
    page = text_of(client.get(f"/portal/invoices/{ann.a_full}"))
    actions.post(
        "/portal/payments/add",
        form_data(page, state="confirmed", client_id=ann.ben, installment_number="3", provider="stripe"),
    )
    saved = fresh().query(Payment).filter_by(invoice_id=ann.a_full).one()
    assert (saved.state, saved.client_id, saved.installment_number, saved.provider) == (
        "reported",
        ann.ann,
        None,
        "manual",
    )
    assert fresh().get(Invoice, ann.a_full).paid_amount == Decimal("0.00")


BAD_INPUT = [
    ({"amount": ""}, "amount", "Enter an amount."),
    ({"amount": "0"}, "amount", "Enter an amount greater than zero."),
    ({"amount": "0.00"}, "amount", "Enter an amount greater than zero."),
    ({"amount": "-5"}, "amount", "Enter an amount greater than zero."),
    ({"amount": "-0.01"}, "amount", "Enter an amount greater than zero."),
    ({"amount": "ten"}, "amount", "Enter a number, like 1500.00."),
    ({"amount": "NaN"}, "amount", "Enter a number, like 1500.00."),
    ({"amount": "nan"}, "amount", "Enter a number, like 1500.00."),
    ({"amount": "Infinity"}, "amount", "Enter a number, like 1500.00."),
    ({"amount": "-inf"}, "amount", "Enter a number, like 1500.00."),
    ({"amount": "1e3"}, "amount", "Enter a number, like 1500.00."),
    ({"amount": "10.005"}, "amount", "Enter an amount with at most 2 decimal places."),
    ({"amount": "1,00.00"}, "amount", "Use commas only to separate thousands"),
    ({"amount": "1234.57"}, "amount", "₱1,234.57 exceeds the open balance of ₱1,234.56."),
    ({"amount": "99999999999"}, "amount", "That amount is too large."),
    ({"date": (TODAY + DAY).isoformat()}, "date", "The payment date cannot be in the future."),
    ({"date": (TODAY - 6 * DAY).isoformat()}, "date", "The payment date cannot be before the invoice was issued."),
    ({"date": "yesterday"}, "date", "Not a valid date value."),
    ({"date": ""}, "date", "Enter the date you paid"),
    ({"method": ""}, "method", "Choose how you paid."),
    ({"method": "Barter"}, "method", "Choose how you paid."),
    ({"reference": "x" * 121}, "reference", "Field cannot be longer than 120 characters."),
]


@pytest.mark.parametrize(
    "fields, field, message", BAD_INPUT, ids=[f"{f}={list(v.values())[0][:12]!r}" for v, f, _ in BAD_INPUT]
)
def test_bad_input_is_refused_next_to_its_field_and_nothing_is_written(client, actions, ann, fields, field, message):
    page = text_of(client.get(f"/portal/invoices/{ann.a_full}"))
    before = count(Payment)
    response = actions.post("/portal/payments/add", form_data(page, **fields))
    assert response.status_code == 400
    html = text_of(response)
    error = re.search(rf'id="{field}-error">([^<]*)<', html)
    assert error and message in error.group(1).replace("&#39;", "'")
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"', html)
    assert count(Payment) == before
    invoice = fresh().get(Invoice, ann.a_full)
    assert (invoice.paid_amount, invoice.held_amount) == (Decimal("0.00"), Decimal("0.00"))
    assert hidden_value(html, "submission_key") == hidden_value(page, "submission_key")  # kept for the retry


def test_more_than_the_open_balance_counts_what_awaits_confirmation(client, actions, ann):
    report(ann.ann, ann.a_full, "1000.00")
    page = text_of(client.get(f"/portal/invoices/{ann.a_full}"))
    assert hidden_value(report_form(page), "amount") == "234.56"  # the amount due now, capped at what can be reported
    response = actions.post("/portal/payments/add", form_data(page, amount="234.57"))
    assert response.status_code == 400
    assert "exceeds the open balance of ₱234.56 (₱1,000.00 is awaiting confirmation)" in text_of(response)
    assert count(Payment, Payment.invoice_id == ann.a_full) == 1


@pytest.mark.parametrize(
    "which, message",
    [
        ("paid", "This invoice is already paid in full."),
        ("void", "This invoice is void."),
    ],
)
def test_a_paid_or_void_invoice_refuses_a_report(client, actions, ann, which, message):
    invoice_id = ann.a_void if which == "void" else ann.a_full
    page = text_of(client.get(f"/portal/invoices/{ann.a_full}"))  # the form, opened before it was paid
    if which == "paid":
        pay(ann.a_full, "1234.56")
    before = count(Payment)
    response = actions.post("/portal/payments/add", form_data(page, invoice_id=invoice_id, amount="10.00"))
    assert response.status_code == 400
    assert message in text_of(response)
    assert count(Payment) == before


def test_a_payment_on_the_issue_date_and_today_is_accepted(client, actions, ann):
    for day in (TODAY - 5 * DAY, TODAY):
        page = text_of(client.get(f"/portal/invoices/{ann.a_full}"))
        assert (
            actions.post("/portal/payments/add", form_data(page, date=day.isoformat(), amount="1.00")).status_code
            == 303
        )
    assert count(Payment, Payment.invoice_id == ann.a_full) == 2


# --- Cost -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/portal", "/portal/invoices", "/portal/payments"])
def test_a_page_costs_the_same_number_of_queries_however_many_payments(client, ann, count_queries, url):
    def measure():
        fresh()  # the test shares the requests' session: start each request from an empty identity map
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    small = measure()
    for _n in range(8):
        invoice_id = make_invoice(ann.ann, "100.00", issued=TODAY - 10 * DAY, count=2)
        pay(invoice_id, "60.00", on=TODAY - DAY)
        report(ann.ann, invoice_id, "10.00")
    assert measure() == small
