"""The early payoff quote (services.payoff_quote): "To settle this invoice today" on the owner's
and the client's invoice pages, and paying it through the existing paths (the reported payment
form, the online payment's "Settle the invoice" choice)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from portal_support import ACTOR, ANN, DAY, OWNER, TODAY, hidden_value, make_client, make_invoice, make_user, sign_in
from stripe_support import client_with_invoice, deliver, session_event, start_checkout
from stripe_support import sign_in as stripe_sign_in

from ais.billing import services
from ais.billing.checks import find_problems
from ais.extensions import db
from ais.models import Invoice, Payment

D = Decimal


def fresh_invoice(invoice_id: int) -> Invoice:
    db.session.rollback()
    return db.session.get_one(Invoice, invoice_id)


def quote_of(invoice_id: int):
    return services.payoff_quote(fresh_invoice(invoice_id))


def quote_box(html: str) -> str:
    start = html.index('<section class="card mb-4 payoff-quote"')
    return html[start : html.index("</section>", start)]


def form_amount(html: str, form_id: str) -> str:
    section = html[html.index(f'id="{form_id}"') :]
    match = re.search(r'name="amount"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="amount"', section)
    assert match, "no amount field"
    return match.group(1) or match.group(2)


@pytest.fixture
def ann_plan(app, books):
    """Ann (with a login) and 1,000.00 in 4 monthly installments of 250.00, the first two due."""
    ann = make_client("Ann Cruz", ANN[0])
    make_user(*ANN, role="client", client_id=ann)
    make_user(*OWNER)
    plan = make_invoice(ann, "1000.00", issued=TODAY - 50 * DAY, due=TODAY - 40 * DAY, count=4)
    return ann, plan


def test_the_quote_is_the_balance_after_partial_payments_reports_and_credit_notes(ann_plan):
    ann, plan = ann_plan
    assert (quote_of(plan).balance, quote_of(plan).awaiting_confirmation) == (D("1000.00"), D("0.00"))
    services.record_payment(ACTOR, plan, D("260.00"), TODAY - 5 * DAY, "Cash")  # over installment 1
    assert quote_of(plan).balance == D("740.00") and quote_of(plan).to_send == D("740.00")
    reported = services.report_payment(ACTOR, ann, plan, D("100.00"), TODAY - DAY, "GCash")
    quote = quote_of(plan)
    # Money awaiting confirmation is shown beside the balance, never taken off it.
    assert (quote.balance, quote.awaiting_confirmation, quote.to_send) == (D("740.00"), D("100.00"), D("640.00"))
    services.credit_invoice(ACTOR, plan, "40.00", "Damaged item")
    quote = quote_of(plan)
    assert (quote.balance, quote.awaiting_confirmation, quote.to_send) == (D("700.00"), D("100.00"), D("600.00"))
    services.confirm_payment(ACTOR, reported)
    quote = quote_of(plan)
    assert (quote.balance, quote.awaiting_confirmation, quote.to_send) == (D("600.00"), D("0.00"), D("600.00"))
    invoice = fresh_invoice(plan)
    # The same figure as the invoice's balance and rules.owed's, whatever the due dates.
    assert quote.balance == invoice.amount - invoice.paid_amount == services.owed_on(invoice, TODAY).balance
    services.record_payment(ACTOR, plan, quote.to_send, TODAY, "Cash")
    assert quote_of(plan).balance == D("0.00") and services.status_of(fresh_invoice(plan), TODAY) == "paid"


def test_a_void_invoice_or_a_draft_quotes_nothing(ann_plan):
    ann, _ = ann_plan
    draft = make_invoice(ann, "300.00", issue=False)
    void = make_invoice(ann, "300.00")
    services.void_invoice(ACTOR, void, "Raised twice")
    assert quote_of(draft).balance == quote_of(void).balance == D("0.00")


def test_both_invoice_pages_show_the_quote_with_what_awaits_confirmation_beside_it(app, actions, ann_plan):
    ann, plan = ann_plan
    services.record_payment(ACTOR, plan, D("250.00"), TODAY - 5 * DAY, "Cash")
    services.report_payment(ACTOR, ann, plan, D("100.00"), TODAY - DAY, "GCash")
    for who, url in ((ANN, f"/portal/invoices/{plan}"), (OWNER, f"/invoices/{plan}")):
        sign_in(actions, who)
        box = quote_box(actions.client.get(url).get_data(as_text=True))
        assert re.search(r'To settle this invoice today: <span[^>]*data-payoff="balance">₱750.00</span>', box)
        assert re.search(r'data-payoff="awaiting">₱100.00</span> is awaiting confirmation', box)
        assert re.search(r'data-payoff="to-send">₱650.00</span> is left to pay', box)
        actions.logout()


def test_the_settle_link_fills_the_payment_forms_with_what_is_left_to_pay(app, actions, ann_plan):
    ann, plan = ann_plan
    services.record_payment(ACTOR, plan, D("250.00"), TODAY - 5 * DAY, "Cash")
    services.report_payment(ACTOR, ann, plan, D("100.00"), TODAY - DAY, "GCash")
    sign_in(actions, ANN)
    page = actions.client.get(f"/portal/invoices/{plan}").get_data(as_text=True)
    assert form_amount(page, "report-payment") == "150.00"  # due now (500.00 overdue) less what is reported
    assert f'href="/portal/invoices/{plan}?amount=settle#report-payment">Report a payment of ₱650.00' in page
    settle = actions.client.get(f"/portal/invoices/{plan}?amount=settle").get_data(as_text=True)
    assert form_amount(settle, "report-payment") == "650.00"
    # Anything else in ?amount= is only ignored: the usual suggestion, never an error.
    for odd in ("<script>", "650", "%00", "settle" * 50):
        response = actions.client.get(f"/portal/invoices/{plan}", query_string={"amount": odd})
        assert (
            response.status_code == 200 and form_amount(response.get_data(as_text=True), "report-payment") == "150.00"
        )
    # Reporting it covers the whole balance; once confirmed, the invoice is paid.
    response = actions.post(
        "/portal/payments/add",
        {
            "invoice_id": str(plan),
            "amount": form_amount(settle, "report-payment"),
            "method": "GCash",
            "date": TODAY.isoformat(),
            "reference": "SETTLE-1",
            "submission_key": hidden_value(settle, "submission_key"),
        },
    )
    assert response.status_code == 303
    assert quote_of(plan).to_send == D("0.00")
    actions.logout()
    sign_in(actions, OWNER)
    owner_page = actions.client.get(f"/invoices/{plan}?amount=settle").get_data(as_text=True)
    assert "Record a payment of" not in owner_page  # nothing is left to record: all awaits confirmation
    for payment in db.session.scalars(db.select(Payment).where(Payment.state == "reported")):
        services.confirm_payment(ACTOR, payment.id)
    assert services.status_of(fresh_invoice(plan), TODAY) == "paid"
    assert 'class="card mb-4 payoff-quote"' not in actions.client.get(f"/invoices/{plan}").get_data(as_text=True)


def test_the_owner_settle_link_fills_the_record_form(app, actions, ann_plan):
    _, plan = ann_plan
    services.credit_invoice(ACTOR, plan, "10.00", "Goodwill")
    sign_in(actions, OWNER)
    page = actions.client.get(f"/invoices/{plan}").get_data(as_text=True)
    assert form_amount(page, "record-payment") == "500.00"  # the two installments due
    assert f'href="/invoices/{plan}?amount=settle#record-payment">Record a payment of ₱990.00' in page
    settle = actions.client.get(f"/invoices/{plan}?amount=settle").get_data(as_text=True)
    assert form_amount(settle, "record-payment") == "990.00"


# --- Online: "Settle the invoice" -----------------------------------------------------------------------


def test_settling_online_through_the_stripe_stand_in_leaves_the_invoice_paid_and_the_books_clean(
    app, stripe_on, actions
):
    books = client_with_invoice("900.00", count=3, issued=TODAY - 60 * DAY, due=TODAY - 40 * DAY)
    services.record_payment(ACTOR, books.invoice_id, D("120.00"), TODAY - 10 * DAY, "Cash")
    services.credit_invoice(ACTOR, books.invoice_id, "30.00", "Late delivery")
    stripe_sign_in(actions, "ann@example.com")
    html = actions.client.get(f"/portal/invoices/{books.invoice_id}").get_data(as_text=True)
    quote = quote_of(books.invoice_id)
    assert quote.balance == D("750.00")
    assert "To settle this invoice today" in html and "₱750.00" in quote_box(html)
    assert re.search(r"Settle the invoice <strong[^>]*>₱750.00</strong>", html)

    response = start_checkout(actions, books.invoice_id, "full")
    assert response.status_code == 303
    session = stripe_on.only_session()
    assert stripe_on.creates[0].form["line_items[0][price_data][unit_amount]"] == "75000"
    assert deliver(actions.client, session_event("completed", session)).status_code == 200

    invoice = fresh_invoice(books.invoice_id)
    assert (invoice.amount, invoice.paid_amount, invoice.held_amount) == (D("870.00"), D("870.00"), D("0.00"))
    assert services.status_of(invoice, TODAY) == "paid" and quote_of(books.invoice_id).balance == D("0.00")
    assert find_problems() == []
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, result.output
