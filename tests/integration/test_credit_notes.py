"""Credit notes: the owner credits part or all of what is unpaid on an issued invoice; the
amount drops, the unpaid installments shrink from the last backwards, allocation and `flask
check` stay exact, and both faces show (and print) the note."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal

import pytest
from backoffice_support import (
    ACTOR,
    DAY,
    TODAY,
    count,
    fresh,
    invoice,
    make_client,
    make_invoice,
    make_user,
    pay,
    report,
    sign_in,
    sign_in_owner,
    text_of,
)
from sqlalchemy import select, update

from ais.billing import services
from ais.billing.checks import find_problems
from ais.billing.services import InvoiceInput, LineInput
from ais.extensions import db
from ais.models import AuditEntry, CreditNote, Installment, Invoice, OutboxMessage

D = Decimal


def schedule(invoice_id):
    return [
        (i.number, i.amount, i.paid_amount)
        for i in fresh().scalars(
            select(Installment).where(Installment.invoice_id == invoice_id).order_by(Installment.number)
        )
    ]


@pytest.fixture
def plan(books):
    """Ann owes 1,000.00 in 4 monthly installments of 250.00; 300.00 is paid (the first and 50.00
    of the second)."""
    ann = make_client("Ann Cruz", email="ann@example.com")
    invoice_id = make_invoice(ann, "1000.00", count=4, issued=TODAY - 60 * DAY, due=TODAY - 50 * DAY)
    pay(invoice_id, "300.00", on=TODAY - 50 * DAY)
    return invoice_id


def test_a_credit_shrinks_the_unpaid_installments_from_the_last_backwards(plan):
    note_id = services.credit_invoice(ACTOR, plan, D("400.00"), "Two chairs returned")
    saved = invoice(plan)
    assert (saved.amount, saved.credited_amount, saved.paid_amount) == (D("600.00"), D("400.00"), D("300.00"))
    # The 4th (250.00) goes, the 3rd loses 150.00; the paid ones are untouched.
    assert schedule(plan) == [(1, D("250.00"), D("250.00")), (2, D("250.00"), D("50.00")), (3, D("100.00"), D("0.00"))]
    assert saved.installment_count == 3
    note = fresh().get(CreditNote, note_id)
    assert (note.credit_no, note.amount, note.reason, note.issue_date) == (
        "CN-2026-0001",
        D("400.00"),
        "Two chairs returned",
        TODAY,
    )
    # VAT-inclusive 12 %: the credit splits like the invoice (VATable and VAT, to the cent).
    assert note.vatable_amount + note.vat_amount == D("400.00") and note.vat_amount == D("42.86")
    entry = fresh().scalar(select(AuditEntry).where(AuditEntry.action == "invoice.credited"))
    assert (entry.amount_before, entry.amount_after) == (D("1000.00"), D("600.00")) and "CN-2026-0001" in entry.detail
    mail = fresh().scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"credit-note:{note_id}"))
    assert mail.attachment == f"credit_note:{note_id}" and "CN-2026-0001" in mail.subject
    assert "Two chairs returned" in mail.body_text
    assert find_problems() == []


def test_after_a_credit_the_rest_is_paid_off_exactly(plan):
    services.credit_invoice(ACTOR, plan, D("400.00"), "Discount")
    pay(plan, "300.00", on=TODAY - DAY)
    saved = invoice(plan)
    assert saved.paid_amount == saved.amount == D("600.00") and saved.next_due_date is None
    assert services.status_of(saved, TODAY) == "paid"
    assert find_problems() == []


def test_credits_are_numbered_without_gaps_across_invoices(plan):
    other = make_invoice(make_client("Ben Santos"), "500.00")
    first = services.credit_invoice(ACTOR, plan, D("10.00"), "a")
    second = services.credit_invoice(ACTOR, other, D("20.00"), "b")
    third = services.credit_invoice(ACTOR, plan, D("30.00"), "c")
    assert [fresh().get(CreditNote, n).credit_no for n in (first, second, third)] == [
        "CN-2026-0001",
        "CN-2026-0002",
        "CN-2026-0003",
    ]
    assert invoice(plan).credited_amount == D("40.00")
    assert find_problems() == []


@pytest.mark.parametrize(
    "amount, message",
    [
        ("1000.01", "exceeds the ₱1,000.00 this invoice still bills"),
        ("0", "greater than zero"),
        ("abc", "Enter a number"),
        ("-5", "greater than zero"),
    ],
)
def test_a_credit_beyond_what_the_invoice_bills_or_not_an_amount_is_refused(plan, amount, message):
    with pytest.raises(services.BillingError) as refused:
        services.credit_invoice(ACTOR, plan, amount, "Too much")
    assert message in refused.value.message and refused.value.field == "amount"
    assert count(CreditNote) == 0 and invoice(plan).amount == D("1000.00")


def test_money_awaiting_confirmation_is_not_credited(plan):
    report(plan, "600.00")
    with pytest.raises(services.CreditRefused) as refused:
        services.credit_invoice(ACTOR, plan, D("400.01"), "x")
    assert "awaiting confirmation" in refused.value.message
    services.credit_invoice(ACTOR, plan, D("100.00"), "x")
    assert invoice(plan).amount == D("900.00") and invoice(plan).held_amount == D("600.00")
    assert find_problems() == []


def test_drafts_void_invoices_and_a_missing_reason_are_refused(books):
    ann = make_client()
    draft = make_invoice(ann, issue=False)
    void = make_invoice(ann)
    services.void_invoice(ACTOR, void, "Raised twice")
    with pytest.raises(services.CreditRefused):
        services.credit_invoice(ACTOR, draft, D("1"), "x")
    with pytest.raises(services.CreditRefused):
        services.credit_invoice(ACTOR, void, D("1"), "x")
    with pytest.raises(services.InvalidInput) as refused:
        services.credit_invoice(ACTOR, make_invoice(ann), D("1"), "  ")
    assert refused.value.field == "reason"
    assert count(CreditNote) == 0


def test_a_credit_beyond_what_is_unpaid_becomes_a_customer_credit_to_refund(client, actions, plan):
    from ais.models import Overpayment

    note_id = services.credit_invoice(ACTOR, plan, D("1000.00"), "Whole order returned")
    saved = invoice(plan)
    # 700.00 was unpaid: the invoice now bills what was paid; the other 300.00 is owed back.
    assert (saved.amount, saved.paid_amount, saved.credited_amount) == (D("300.00"), D("300.00"), D("700.00"))
    assert services.status_of(saved, TODAY) == "paid" and services.creditable(saved) == 0
    note = fresh().get(CreditNote, note_id)
    assert (note.amount, note.customer_credit) == (D("1000.00"), D("300.00"))
    assert note.vatable_amount + note.vat_amount == D("1000.00")  # the whole sale is reversed
    flagged = fresh().scalar(select(Overpayment).where(Overpayment.provider_reference == note.credit_no))
    assert (flagged.amount, flagged.invoice_id, flagged.provider, flagged.resolved_at) == (
        D("300.00"),
        plan,
        "credit_note",
        None,
    )
    assert find_problems() == []
    with pytest.raises(services.CreditRefused):  # nothing left to credit
        services.credit_invoice(ACTOR, plan, D("0.01"), "again")
    sign_in_owner(actions)
    dashboard = text_of(client.get("/dashboard"))
    assert "Customer credits to apply or refund" in dashboard and "Customer credit from credit note" in dashboard
    if shutil.which("pdftotext"):
        data = client.get(f"/credit-notes/{note_id}/credit-note.pdf").data
        text = " ".join(
            subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode().split()
        )
        assert "Invoice amount after this credit ₱300.00" in text
        assert "to be refunded or applied) ₱300.00" in text


def test_crediting_all_of_an_unpaid_invoice_leaves_nothing_owed(books):
    invoice_id = make_invoice(make_client(), "1000.00", count=2)
    services.credit_invoice(ACTOR, invoice_id, D("1000.00"), "Order cancelled")
    saved = invoice(invoice_id)
    assert saved.amount == 0 and saved.credited_amount == D("1000.00") and schedule(invoice_id) == []
    assert saved.next_due_date is None
    assert find_problems() == []
    with pytest.raises(services.CreditRefused):
        services.credit_invoice(ACTOR, invoice_id, D("0.01"), "again")


def test_check_finds_a_credited_amount_that_differs_from_the_notes(plan):
    services.credit_invoice(ACTOR, plan, D("100.00"), "x")
    db.session.execute(update(Invoice).where(Invoice.id == plan).values(credited_amount=D("90.00")))
    db.session.commit()
    problems = find_problems()
    assert any("credit notes (less customer credits) add up to 100.00" in problem for problem in problems)
    db.session.execute(update(Invoice).where(Invoice.id == plan).values(credited_amount=D("100.00")))
    db.session.commit()


def test_a_credit_splits_over_the_vat_treatments_in_proportion(books):
    ann = make_client()
    invoice_id = services.create_invoice(
        ACTOR,
        InvoiceInput(
            client_id=ann,
            issue_date=TODAY,
            due_date=TODAY,
            lines=[LineInput("Chairs", D("1"), D("1120.00")), LineInput("Books", D("1"), D("880.00"), "exempt")],
        ),
    )
    note = fresh().get(CreditNote, services.credit_invoice(ACTOR, invoice_id, D("1000.00"), "Half returned"))
    assert (note.vatable_amount, note.vat_amount, note.exempt_amount, note.zero_rated_amount) == (
        D("500.00"),
        D("60.00"),
        D("440.00"),
        D("0.00"),
    )


# --- The pages and the PDF ------------------------------------------------------------------------


def test_the_owner_credits_from_the_invoice_page(client, actions, plan):
    sign_in_owner(actions)
    refused = actions.post(f"/invoices/{plan}/credit", {"amount": "9999", "reason": "x"})
    assert refused.status_code == 200 and "this invoice still bills" in text_of(refused)
    assert count(CreditNote) == 0
    done = actions.post(f"/invoices/{plan}/credit", {"amount": "400.00", "reason": "Two chairs returned"})
    assert done.status_code == 302
    page = text_of(client.get(f"/invoices/{plan}"))
    assert "The credit note was issued" in page and "CN-2026-0001" in page and "Two chairs returned" in page
    note_id = fresh().scalar(select(CreditNote.id))
    assert f"/credit-notes/{note_id}/credit-note.pdf" in page


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (make install) is missing")
def test_the_credit_note_pdf_and_who_may_download_it(client, actions, plan):
    from ais.formatting import format_money

    note_id = services.credit_invoice(ACTOR, plan, D("400.00"), "Two chairs returned")
    sign_in_owner(actions)
    response = client.get(f"/credit-notes/{note_id}/credit-note.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(
        subprocess.run(["pdftotext", "-", "-"], input=response.data, capture_output=True, check=True)
        .stdout.decode()
        .split()
    )
    note = fresh().get(CreditNote, note_id)
    saved = invoice(plan)
    assert "CREDIT NOTE" in text and "No. CN-2026-0001" in text and saved.invoice_no in text
    assert "Reason: Two chairs returned" in text and "Ann Cruz" in text
    assert f"VAT credited (12%) {format_money(note.vat_amount, 'PHP')}" in text
    assert f"Total credit {format_money(D('400.00'), 'PHP')}" in text
    assert f"Invoice amount before this credit {format_money(D('1000.00'), 'PHP')}" in text
    assert f"Invoice amount after this credit {format_money(saved.amount, 'PHP')}" in text
    assert "the last one first" in text
    actions.logout()
    ann_id = saved.client_id
    make_user("ann@example.com", "ann-password-1", role="client", client_id=ann_id)
    sign_in(actions, "ann@example.com", "ann-password-1")
    assert client.get(f"/portal/credit-notes/{note_id}/credit-note.pdf").status_code == 200
    assert f"/portal/credit-notes/{note_id}/credit-note.pdf" in text_of(client.get(f"/portal/invoices/{plan}"))
    actions.logout()
    ben = make_client("Ben Santos", email="ben@example.com")
    make_user("ben@example.com", "ben-password-1", role="client", client_id=ben)
    sign_in(actions, "ben@example.com", "ben-password-1")
    assert client.get(f"/portal/credit-notes/{note_id}/credit-note.pdf").status_code == 404
    assert client.get("/portal/credit-notes/999/credit-note.pdf").status_code == 404


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (make install) is missing")
def test_the_credit_note_email_attaches_its_pdf(app, plan):
    from email import message_from_bytes, policy
    from pathlib import Path

    from ais.mail.delivery import deliver_due

    note_id = services.credit_invoice(ACTOR, plan, D("100.00"), "Late delivery discount")
    message_id = fresh().scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == f"credit-note:{note_id}"))
    app.config["MAIL_SERVER"] = ""
    deliver_due()
    mail = message_from_bytes(
        (Path(app.instance_path) / "outbox" / f"{message_id}.eml").read_bytes(), policy=policy.default
    )
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "CN-2026-0001.pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=attachment.get_content(), capture_output=True).stdout.decode()
    assert "CREDIT NOTE" in text and "Late delivery discount" in text
