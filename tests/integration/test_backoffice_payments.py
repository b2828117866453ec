"""Money in the back office: recording payments, the confirmation queue (confirm / reject),
voiding, and the payments list's filters."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from backoffice_support import (
    DAY,
    TODAY,
    count,
    fresh,
    hidden_value,
    invoice,
    make_client,
    make_invoice,
    pay,
    payment,
    report,
    sign_in_owner,
    text_of,
)
from sqlalchemy import select

from ais.models import Allocation, AuditEntry, Installment, Payment

pytestmark = pytest.mark.usefixtures("books")


@pytest.fixture
def owner(actions):
    sign_in_owner(actions)


@pytest.fixture
def plan():
    """900.00 in 3 monthly installments of 300.00: the first due 10 days ago."""
    ann = make_client("Ann Cruz", email="ann@example.com")
    return make_invoice(ann, "900.00", issued=TODAY - 40 * DAY, due=TODAY - 10 * DAY, count=3)


def payment_form(**fields):
    data = {"amount": "300.00", "date": (TODAY - DAY).isoformat(), "method": "Bank transfer", "reference": "BT-1"}
    data.update(fields)
    return data


# --- Recording ------------------------------------------------------------------------------------


def test_the_form_is_prefilled_with_the_amount_due_now_and_today(client, owner, plan):
    html = text_of(client.get(f"/invoices/{plan}"))
    assert re.search(r'name="amount"[^>]*value="300.00"', html)  # installment 1 is due
    assert re.search(rf'name="date"[^>]*value="{TODAY.isoformat()}"', html)
    assert len(hidden_value(html, "submission_key")) == 32
    for method in ("Cash", "Bank transfer", "GCash", "Check", "Card", "Other"):
        assert f">{method}</option>" in html


def test_recording_a_payment_allocates_it_oldest_installment_first(client, actions, owner, plan):
    response = actions.post(f"/invoices/{plan}/payments", payment_form(amount="450.00"))
    assert response.status_code == 302
    saved = fresh().scalar(select(Payment))
    assert (saved.amount, saved.state, saved.method, saved.reference) == (
        Decimal("450.00"),
        "confirmed",
        "Bank transfer",
        "BT-1",
    )
    assert saved.installment_number == 1
    paid = [i.paid_amount for i in fresh().scalars(select(Installment).order_by(Installment.number))]
    assert paid == [Decimal("300.00"), Decimal("150.00"), Decimal("0.00")]
    assert invoice(plan).paid_amount == Decimal("450.00")
    assert count(Allocation) == 2
    page = text_of(client.get(f"/invoices/{plan}"))
    assert "A payment of ₱450.00 was recorded." in page


def test_the_same_form_sent_twice_records_one_payment(client, actions, owner, plan):
    key = hidden_value(text_of(client.get(f"/invoices/{plan}")), "submission_key")
    actions.post(f"/invoices/{plan}/payments", payment_form(submission_key=key))
    again = actions.post(f"/invoices/{plan}/payments", payment_form(submission_key=key), follow_redirects=True)
    assert count(Payment) == 1
    assert "already recorded" in text_of(again)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"amount": ""}, "Enter an amount."),
        ({"amount": "10.005"}, "Enter an amount with at most 2 decimal places."),
        ({"amount": "0"}, "Enter an amount greater than zero."),
        ({"amount": "0.00"}, "Enter an amount greater than zero."),
        ({"amount": "-5"}, "Enter an amount greater than zero."),
        ({"amount": "NaN"}, "Enter a number, like 1500.00."),
        ({"amount": "Infinity"}, "Enter a number, like 1500.00."),
        ({"amount": "three hundred"}, "Enter a number, like 1500.00."),
        ({"amount": "1e2"}, "Enter a number, like 1500.00."),
        ({"amount": "3,00.00"}, "Use commas only to separate thousands"),
        ({"amount": "900.01"}, "exceeds the open balance of ₱900.00"),
        ({"date": (TODAY + DAY).isoformat()}, "The payment date cannot be in the future."),
        ({"date": (TODAY - 41 * DAY).isoformat()}, "The payment date cannot be before the invoice was issued."),
        ({"date": "soon"}, "Not a valid date value."),
        ({"date": ""}, "Enter a date"),
        ({"method": ""}, "Choose how it was paid."),
        ({"method": "Barter"}, "Choose how it was paid."),
    ],
)
def test_a_bad_payment_is_refused_next_to_its_field_and_nothing_is_written(
    client, actions, owner, plan, fields, message
):
    response = actions.post(f"/invoices/{plan}/payments", payment_form(**fields))
    assert response.status_code == 200
    html = text_of(response)
    assert message in html
    assert 'aria-invalid="true"' in html
    assert count(Payment) == 0 and count(Allocation) == 0
    assert invoice(plan).paid_amount == Decimal("0.00")


def test_a_refused_payment_keeps_the_form_and_its_key(client, actions, owner, plan):
    html = text_of(
        actions.post(
            f"/invoices/{plan}/payments", payment_form(amount="abc", submission_key="k" * 32, reference="Keep")
        )
    )
    assert hidden_value(html, "submission_key") == "k" * 32
    assert 'value="Keep"' in html


@pytest.mark.parametrize("action", ["payments", "void", "replan"])
def test_coming_back_to_a_refused_forms_address_leads_to_the_invoice(client, actions, owner, plan, action):
    # The refused form is shown at the address it was posted to; reloading it or going back there is a GET.
    response = client.get(f"/invoices/{plan}/{action}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/invoices/{plan}")
    assert client.get(f"/invoices/{plan}/{action}", follow_redirects=True).status_code == 200


def test_the_cap_counts_payments_awaiting_confirmation(client, actions, owner, plan):
    report(plan, "800.00")
    response = actions.post(f"/invoices/{plan}/payments", payment_form(amount="100.01"))
    assert "exceeds the open balance of ₱100.00" in text_of(response)
    assert "awaiting confirmation" in text_of(response)
    assert count(Payment) == 1


def test_a_paid_invoice_offers_no_payment_form(client, actions, owner, plan):
    pay(plan, "900.00")
    html = text_of(client.get(f"/invoices/{plan}"))
    assert "Record a payment" not in html and "Paid" in html
    response = actions.post(f"/invoices/{plan}/payments", payment_form(amount="1.00"))
    assert "already paid in full" in text_of(response)
    assert count(Payment) == 1


# --- Confirm, reject, void ----------------------------------------------------------------------------


def test_the_queue_lists_reported_payments_with_confirm_and_reject(client, owner, plan):
    report(plan, "100.00", reference="GC-555")
    pay(plan, "50.00", reference="CASH-1")
    html = text_of(client.get("/payments?state=reported"))
    assert "Payments to confirm" in html
    assert "GC-555" in html and "CASH-1" not in html
    assert "Confirm" in html and "Reject payment" in html


def test_confirming_a_reported_payment(client, actions, owner, plan):
    reported = report(plan, "100.00")
    response = actions.post(f"/payments/{reported}/confirm", {"next": "/payments?state=reported"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/payments?state=reported")
    assert payment(reported).state == "confirmed"
    assert invoice(plan).paid_amount == Decimal("100.00") and invoice(plan).held_amount == Decimal("0.00")
    assert "The payment was confirmed" in text_of(client.get("/payments?state=reported"))


def test_rejecting_needs_a_reason(client, actions, owner, plan):
    reported = report(plan, "100.00")
    response = actions.post(
        f"/payments/{reported}/reject", {"reason": " ", "next": "/payments?state=reported"}, follow_redirects=True
    )
    assert "Give the client a reason." in text_of(response)
    assert payment(reported).state == "reported"


def test_rejecting_a_reported_payment_releases_its_room(client, actions, owner, plan):
    reported = report(plan, "100.00")
    actions.post(f"/payments/{reported}/reject", {"reason": "No such transfer"})
    saved = payment(reported)
    assert (saved.state, saved.state_reason) == ("rejected", "No such transfer")
    assert invoice(plan).held_amount == Decimal("0.00")


def test_voiding_a_confirmed_payment_needs_a_reason_shown_on_the_invoice_page(client, actions, owner, plan):
    paid = pay(plan, "300.00")
    response = actions.post(f"/payments/{paid}/void", {"reason": "", "next": f"/invoices/{plan}#payments"})
    assert response.status_code == 200
    html = text_of(response)
    assert "Give a reason for voiding the payment." in html
    assert f'id="void-reason-{paid}"' in html and 'aria-invalid="true"' in html
    assert payment(paid).state == "confirmed"


def test_voiding_a_confirmed_payment(client, actions, owner, plan):
    paid = pay(plan, "300.00")
    response = actions.post(f"/payments/{paid}/void", {"reason": "Bounced check", "next": f"/invoices/{plan}"})
    assert response.headers["Location"].endswith(f"/invoices/{plan}")
    saved = payment(paid)
    assert (saved.state, saved.state_reason, saved.installment_number) == ("voided", "Bounced check", None)
    assert invoice(plan).paid_amount == Decimal("0.00")
    assert count(Allocation) == 0
    assert "payment.voided" in set(fresh().scalars(select(AuditEntry.action)))


def test_a_payment_cannot_be_confirmed_twice(client, actions, owner, plan):
    paid = pay(plan, "300.00")
    response = actions.post(f"/payments/{paid}/confirm", {"next": "/payments"}, follow_redirects=True)
    assert "A confirmed payment cannot be confirmed." in text_of(response)


def test_an_outside_next_address_is_ignored(client, actions, owner, plan):
    reported = report(plan, "100.00")
    response = actions.post(f"/payments/{reported}/confirm", {"next": "https://evil.example/"})
    assert response.headers["Location"].endswith(f"/invoices/{plan}")


def test_an_unknown_payment_is_404(client, actions, owner):
    assert actions.post("/payments/999/confirm").status_code == 404


# --- The list -------------------------------------------------------------------------------------


@pytest.fixture
def several(plan):
    ben = make_client("Ben Reyes")
    other = make_invoice(ben, "500.00", issued=TODAY - 30 * DAY)
    ids = {
        "cash_old": pay(plan, "10.00", on=TODAY - 30 * DAY, method="Cash", reference="R-CASH-OLD"),
        "bank": pay(plan, "20.00", on=TODAY - 10 * DAY, method="Bank transfer", reference="R-BANK"),
        "gcash_ben": pay(other, "30.00", on=TODAY - 5 * DAY, method="GCash", reference="R-GCASH-BEN"),
        "reported": report(other, "40.00", on=TODAY - 2 * DAY, method="GCash", reference="R-REPORTED"),
    }
    return {"ben": ben, **ids}


def refs(html) -> list[str]:
    # Not inside another word: a CSRF token (URL-safe base64) can hold "R-" and capitals by chance.
    return re.findall(r"(?<![\w.-])R-[A-Z-]*[A-Z](?![\w.-])", html)


def test_all_payments_newest_first(client, owner, several):
    assert refs(text_of(client.get("/payments"))) == ["R-REPORTED", "R-GCASH-BEN", "R-BANK", "R-CASH-OLD"]


def test_filters_by_state_client_method_and_dates(client, owner, several):
    assert refs(text_of(client.get("/payments?state=confirmed"))) == ["R-GCASH-BEN", "R-BANK", "R-CASH-OLD"]
    assert refs(text_of(client.get(f"/payments?client={several['ben']}"))) == ["R-REPORTED", "R-GCASH-BEN"]
    assert refs(text_of(client.get("/payments?method=GCash"))) == ["R-REPORTED", "R-GCASH-BEN"]
    query = {"date_from": (TODAY - 12 * DAY).isoformat(), "date_to": (TODAY - 4 * DAY).isoformat()}
    assert refs(text_of(client.get("/payments", query_string=query))) == ["R-GCASH-BEN", "R-BANK"]
    assert "No payments match" in text_of(client.get("/payments?method=Card"))


def test_the_payments_list_pages_25_at_a_time(client, owner, plan):
    for n in range(27):
        pay(plan, "1.00", reference=f"P{n:02d}")
    first = text_of(client.get("/payments"))
    assert "Showing 1–25 of 27" in first
    second = text_of(client.get("/payments?page=2"))
    assert "Showing 26–27 of 27" in second
