"""The printed documents: the sales invoice and the acknowledgement receipt as PDF, read back
with poppler's ``pdftotext``: every field the law asks for is there and every amount is the one
the database holds.  Who may download which is the same as for the pages (404 for anyone else's)."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal

import pytest
from portal_support import ACTOR, ANN, BEN, DAY, OWNER, TODAY, fresh, make_client, make_user, sign_in
from sqlalchemy import select, update

from ais.billing import services
from ais.billing.services import InvoiceInput, LineInput, ProfileInput
from ais.documents.pdf import LocalOnlyFetcher
from ais.extensions import db
from ais.formatting import format_day, format_money
from ais.models import Client, Installment, Invoice, Payment

D = Decimal
pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (make install) is missing")


def pdf_text(data: bytes) -> str:
    """The PDF's text with its whitespace folded (poppler's pdftotext, as a person would copy it)."""
    assert data.startswith(b"%PDF-")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return " ".join(out.stdout.decode("utf-8").split())


def page_size(data: bytes) -> str:
    out = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True, check=True).stdout.decode()
    return next(line for line in out.splitlines() if line.startswith("Page size:"))


def money(value) -> str:
    return format_money(value, "PHP")


@pytest.fixture
def books(app, freeze_today):
    """Ann of Cruz Trading (with TIN and address) owes a 3-month plan of VATable, exempt and
    zero-rated lines, one installment paid; Ben has an invoice of his own."""
    freeze_today(TODAY)
    with app.app_context():
        ann = services.create_client(
            ACTOR,
            services.ClientInput(
                name="Ann Cruz",
                email=ANN[0],
                company="Cruz Trading",
                tax_id="210-345-678-00000",
                address="5 Paseo de Roxas, Makati City",
            ),
        )
        ben = make_client("Ben Santos", BEN[0])
        make_user(*OWNER)
        make_user(*ANN, role="client", client_id=ann)
        make_user(*BEN, role="client", client_id=ben)
        plan = services.create_invoice(
            ACTOR,
            InvoiceInput(
                client_id=ann,
                issue_date=TODAY - 40 * DAY,
                due_date=TODAY - 30 * DAY,
                description="Office fit-out",
                payment_type="installment",
                installment_count=3,
                frequency="monthly",
                lines=[
                    LineInput("Office chairs", D("4"), D("2499.75")),
                    LineInput("Reference books", D("2"), D("650.00"), "exempt"),
                    LineInput("Export crates", D("1"), D("1200.50"), "zero_rated"),
                ],
            ),
        )
        paid = services.record_payment(ACTOR, plan, D("4000.00"), TODAY - 30 * DAY, "Bank transfer", "BT-77")
        reported = services.report_payment(ACTOR, ann, plan, D("100.00"), TODAY - DAY, "GCash", "GC-1")
        theirs = services.create_invoice(
            ACTOR,
            InvoiceInput(
                client_id=ben, issue_date=TODAY, due_date=TODAY, lines=[LineInput("Ben's goods", D("1"), D("99"))]
            ),
        )
        draft = services.save_draft(
            ACTOR, InvoiceInput(client_id=ann, issue_date=TODAY, due_date=TODAY, lines=[LineInput("X", D("1"), D("5"))])
        )
        yield {"plan": plan, "paid": paid, "reported": reported, "theirs": theirs, "draft": draft}
        db.session.rollback()


def test_the_sales_invoice_pdf_carries_every_required_field_and_the_databases_amounts(client, actions, books):
    sign_in(actions, OWNER)
    response = client.get(f"/invoices/{books['plan']}/invoice.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data)
    invoice = fresh().get(Invoice, books["plan"])
    seller = services.business_profile()
    # The seller: registered and trade name, address, VAT registration and TIN with branch code.
    for expected in (seller.registered_name, seller.trade_name, seller.address, f"VAT Reg. TIN {seller.tin}"):
        assert expected in text
    # The document, its serial number and date.
    assert "SALES INVOICE" in text and f"No. {invoice.invoice_no}" in text
    assert format_day(invoice.issue_date, "long") in text
    # The buyer: name, address and TIN.
    for expected in ("Cruz Trading", "Attention: Ann Cruz", "5 Paseo de Roxas, Makati City", "210-345-678-00000"):
        assert expected in text
    # Every line: description, quantity, unit price, VAT treatment and amount as stored.
    for line, treatment in zip(invoice.lines, ("VATable", "VAT-exempt", "Zero-rated"), strict=True):
        assert line.description in text and treatment in text
        assert money(line.net_amount + line.tax_amount) in text
    assert "2,499.75" in text and "650.00" in text
    # The VAT summary: each figure the database holds, and they add up to the total.
    assert f"VATable sales {money(invoice.vatable_sales)}" in text
    assert f"VAT (12%) {money(invoice.vat_amount)}" in text
    assert f"VAT-exempt sales {money(invoice.exempt_sales)}" in text
    assert f"Zero-rated sales {money(invoice.zero_rated_sales)}" in text
    assert f"Total amount due {money(invoice.amount)}" in text
    assert (
        invoice.vatable_sales + invoice.vat_amount + invoice.exempt_sales + invoice.zero_rated_sales == invoice.amount
    )
    # The credit term in words and the schedule with its due dates and amounts.
    installments = (
        fresh()
        .scalars(select(Installment).where(Installment.invoice_id == invoice.id).order_by(Installment.number))
        .all()
    )
    assert f"Payable in 3 monthly installments, the first due on {format_day(installments[0].due_date, 'long')}" in text
    for inst in installments:
        assert f"{inst.number} of 3 {format_day(inst.due_date, 'long')} {money(inst.amount)}" in text
    assert "NOT VALID FOR CLAIM OF INPUT TAX" not in text  # a VAT-registered seller's invoice


def test_the_invoice_prints_on_a4_by_default_and_on_letter_when_asked(client, actions, books):
    sign_in(actions, OWNER)
    a4 = client.get(f"/invoices/{books['plan']}/invoice.pdf").data
    letter = client.get(f"/invoices/{books['plan']}/invoice.pdf?size=letter").data
    assert "595.276 x 841.89" in page_size(a4) or "(A4)" in page_size(a4)
    assert "612 x 792" in page_size(letter) or "(letter)" in page_size(letter)


def test_the_receipt_of_a_confirmed_payment_is_a_supplementary_document(client, actions, books):
    sign_in(actions, OWNER)
    response = client.get(f"/payments/{books['paid']}/receipt.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    payment = fresh().get(Payment, books["paid"])
    invoice = fresh().get(Invoice, books["plan"])
    assert "ACKNOWLEDGEMENT RECEIPT" in text and f"No. AR-{payment.id:06d}" in text
    assert "Supplementary document" in text and "THIS DOCUMENT IS NOT VALID FOR CLAIM OF INPUT TAX" in text
    assert f"Amount received {money(payment.amount)}" in text and "Bank transfer" in text and "BT-77" in text
    assert invoice.invoice_no in text and "Cruz Trading" in text and format_day(payment.date, "long") in text
    assert f"Balance after this payment {money(invoice.amount - payment.amount)}" in text


def test_a_payment_not_confirmed_has_no_receipt(client, actions, books):
    sign_in(actions, OWNER)
    assert client.get(f"/payments/{books['reported']}/receipt.pdf").status_code == 404
    assert client.get(f"/invoices/{books['draft']}/invoice.pdf").status_code == 404
    assert client.get("/invoices/999999/invoice.pdf").status_code == 404


def test_a_client_downloads_their_own_documents_and_no_one_elses(client, actions, books):
    sign_in(actions, ANN)
    assert client.get(f"/portal/invoices/{books['plan']}/invoice.pdf").status_code == 200
    receipt = client.get(f"/portal/payments/{books['paid']}/receipt.pdf")
    assert receipt.status_code == 200 and "AR-" in pdf_text(receipt.data)
    for url in (
        f"/portal/invoices/{books['theirs']}/invoice.pdf",  # Ben's
        f"/portal/invoices/{books['draft']}/invoice.pdf",  # a draft
        f"/portal/payments/{books['reported']}/receipt.pdf",  # not confirmed
        "/portal/invoices/999999/invoice.pdf",
    ):
        assert client.get(url).status_code == 404, url
    actions.logout()
    sign_in(actions, BEN)
    assert client.get(f"/portal/payments/{books['paid']}/receipt.pdf").status_code == 404


def test_the_pages_link_to_the_documents(client, actions, books):
    sign_in(actions, OWNER)
    page = client.get(f"/invoices/{books['plan']}").get_data(as_text=True)
    assert f"/invoices/{books['plan']}/invoice.pdf" in page and f"/payments/{books['paid']}/receipt.pdf" in page
    assert "VATable sales" in page
    actions.logout()
    sign_in(actions, ANN)
    page = client.get(f"/portal/invoices/{books['plan']}").get_data(as_text=True)
    assert f"/portal/invoices/{books['plan']}/invoice.pdf" in page
    assert f"/portal/payments/{books['paid']}/receipt.pdf" in page
    assert f"/portal/payments/{books['reported']}/receipt.pdf" not in page


def test_a_seller_who_is_not_vat_registered_prints_no_vat_and_the_required_words(client, actions, books):
    profile = services.business_profile()
    services.save_business_profile(
        ACTOR,
        ProfileInput(
            registered_name=profile.registered_name, tin=profile.tin, address=profile.address, vat_registered=False
        ),
    )
    ann = fresh().scalar(select(Client.id).where(Client.email == ANN[0]))
    invoice_id = services.create_invoice(
        ACTOR,
        InvoiceInput(
            client_id=ann, issue_date=TODAY, due_date=TODAY + 30 * DAY, lines=[LineInput("Repair", D("1"), D("800"))]
        ),
    )
    sign_in(actions, OWNER)
    text = pdf_text(client.get(f"/invoices/{invoice_id}/invoice.pdf").data)
    assert f"Non-VAT Reg. TIN {profile.tin}" in text and "THIS DOCUMENT IS NOT VALID FOR CLAIM OF INPUT TAX" in text
    assert "VATable sales" not in text and "VAT (" not in text
    assert f"Total amount due {money(D('800.00'))}" in text
    assert "Payable in full on or before" in text and "(30 days from the invoice date)" in text


def test_a_later_change_to_the_profile_or_the_client_does_not_change_an_issued_invoice(client, actions, books):
    name, tin = services.business_profile().registered_name, services.business_profile().tin
    services.save_business_profile(
        ACTOR,
        ProfileInput(
            registered_name="New Name Inc.", tin="999-999-999-00009", address="Cebu City", vat_registered=True
        ),
    )
    db.session.execute(update(Client).where(Client.email == ANN[0]).values(company="Renamed Co."))
    db.session.commit()
    sign_in(actions, OWNER)
    text = pdf_text(client.get(f"/invoices/{books['plan']}/invoice.pdf").data)
    assert name in text and tin in text and "Cruz Trading" in text
    assert "New Name Inc." not in text and "Renamed Co." not in text


def test_the_renderer_fetches_nothing_but_data_uris():
    fetcher = LocalOnlyFetcher()
    for url in ("http://127.0.0.1:9/logo.png", "https://example.com/a.css", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,aGk=") is not None


def test_the_receipt_email_attaches_the_receipt_pdf(app, books):
    from email import message_from_bytes, policy
    from pathlib import Path

    from ais.mail.delivery import deliver_due
    from ais.models import OutboxMessage

    app.config["MAIL_SERVER"] = ""  # delivered as .eml files under instance/outbox
    message = fresh().scalar(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == f"receipt:payment:{books['paid']}")
    )
    assert message.attachment == f"receipt:{books['paid']}"
    deliver_due()
    mail = message_from_bytes(
        (Path(app.instance_path) / "outbox" / f"{message.id}.eml").read_bytes(), policy=policy.default
    )
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"AR-{books['paid']:06d}.pdf"
    text = pdf_text(attachment.get_content())
    assert "ACKNOWLEDGEMENT RECEIPT" in text and f"Amount received {money(D('4000.00'))}" in text
    # The new invoice's email attaches the sales invoice; the others go without a document.
    issued = fresh().scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"invoice-issued:{books['plan']}"))
    assert issued.attachment == f"invoice:{books['plan']}"
    mail = message_from_bytes(
        (Path(app.instance_path) / "outbox" / f"{issued.id}.eml").read_bytes(), policy=policy.default
    )
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "INV-2026-0001.pdf" and "SALES INVOICE" in pdf_text(attachment.get_content())
    others = (
        fresh()
        .scalars(
            select(OutboxMessage).where(
                OutboxMessage.dedupe_key.not_like("invoice-issued:%"), OutboxMessage.id != message.id
            )
        )
        .all()
    )
    assert others and all(other.attachment == "" for other in others)
