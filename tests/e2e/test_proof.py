"""How to pay, in a real browser (issue 16, item 3): the client reads the owner's payment
instructions beside "Report a payment", reports a payment with a photo of the transfer slip at
1280 px and another at 375 px, and the owner finds the proof in the confirmation queue, downloads
it and confirms the payment.  Screenshots at both widths, checked with axe-core."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image
from playwright.sync_api import expect
from test_journey import no_sideways_scroll, sign_in

pytestmark = pytest.mark.e2e

CLIENT_EMAIL = "rowena.bautista@example.com"
CLIENT_PASSWORD = "Sampaguita-Lane-42"
BANK = "BDO Savings 0012-3456-7890 (E2E Trading Corp.)"
WALLET = "GCash 0917 555 0142 (E2E Trading)"


def slip(exif: bool = True) -> bytes:
    image = Image.new("RGB", (320, 200), (235, 240, 250))
    out = io.BytesIO()
    tags = Image.Exif()
    if exif:
        tags[0x010F] = "PhoneCam"  # the camera's make: must not survive
    image.save(out, format="JPEG", exif=tags.tobytes())
    return out.getvalue()


@pytest.fixture(scope="module")
def books(e2e_app, issuing_profile):
    """A client with one open invoice and a login; the owner's payment instructions saved."""
    from ais import clock
    from ais.audit import Actor
    from ais.auth.passwords import hash_password
    from ais.billing import services
    from ais.extensions import db
    from ais.models import User

    actor = Actor.system("e2e")
    with issuing_profile(), e2e_app.app_context():
        today = clock.today()
        client_id = services.create_client(
            actor, services.ClientInput(name="Rowena Bautista", email=CLIENT_EMAIL, company="Bautista Prints")
        )
        invoice_id = services.create_invoice(
            actor,
            services.InvoiceInput(
                client_id=client_id,
                issue_date=today - timedelta(days=10),
                due_date=today + timedelta(days=20),
                lines=[services.LineInput("Large-format printer", Decimal("1"), Decimal("18000.00"))],
            ),
        )
        services.save_payment_instructions(actor, BANK, WALLET, "Write the invoice number as the reference.")
        db.session.add(
            User(
                username=CLIENT_EMAIL, role="client", client_id=client_id, password_hash=hash_password(CLIENT_PASSWORD)
            )
        )
        db.session.commit()
        db.session.remove()
    return invoice_id


def report_with_proof(page, invoice_id: int, amount: str, reference: str, name: str) -> None:
    page.goto(f"/portal/invoices/{invoice_id}")
    how = page.locator("#how-to-pay")
    expect(how.get_by_role("heading", name="How to pay")).to_be_visible()
    expect(how).to_contain_text(BANK)
    expect(how).to_contain_text(WALLET)
    page.get_by_role("textbox", name=re.compile(r"^Amount")).fill(amount)
    page.get_by_role("combobox", name=re.compile(r"^How you paid")).select_option(label="Bank transfer")
    page.get_by_role("textbox", name=re.compile(r"^Reference")).fill(reference)
    page.get_by_label(re.compile(r"^Proof of payment")).set_input_files(
        {"name": name, "mimeType": "image/jpeg", "buffer": slip()}
    )
    page.get_by_role("button", name="Report payment").click()
    expect(page.get_by_text(re.compile(r"Payment of .* reported")).first).to_be_visible()
    row = page.locator("tr", has_text=reference)
    expect(row.get_by_role("link", name=re.compile(r"^Proof"))).to_be_visible()


def test_client_reports_with_proof_and_owner_confirms_it(ui, owner, books):
    invoice_id = books

    # --- The client, at 1280 px and at 375 px -----------------------------------------------------
    c = ui.desktop().new_page()
    sign_in(c, CLIENT_EMAIL, CLIENT_PASSWORD)
    c.goto(f"/portal/invoices/{invoice_id}")
    no_sideways_scroll(ui.shots(c, "p1-portal-how-to-pay"), "Portal invoice with payment instructions")
    report_with_proof(c, invoice_id, "1000.00", "BDO-PROOF-1280", "slip desktop.jpg")
    no_sideways_scroll(ui.shots(c, "p2-portal-reported-with-proof"), "Portal invoice after a report with proof")

    phone = ui.phone(storage_state=c.context.storage_state()).new_page()
    report_with_proof(phone, invoice_id, "500.00", "BDO-PROOF-375", "slip phone.jpg")
    ui.shot(phone, "p3-portal-reported-with-proof-phone")
    with phone.expect_download() as download_info:
        phone.locator("tr", has_text="BDO-PROOF-375").get_by_role("link", name=re.compile(r"^Proof")).click()
    downloaded = Image.open(download_info.value.path())
    assert dict(downloaded.getexif()) == {}  # the camera's make was stripped
    assert download_info.value.suggested_filename == "slip-phone.jpg"

    # --- The owner finds the proofs in the queue and confirms ---------------------------------------
    o = ui.desktop().new_page()
    sign_in(o, owner.username, owner.password)
    o.goto("/payments?state=reported")
    expect(o.get_by_role("heading", name="Payments to confirm", level=1)).to_be_visible()
    row = o.locator("tr", has_text="BDO-PROOF-1280")
    expect(row).to_have_count(1)
    proof_link = row.get_by_role("link", name=re.compile(r"^Proof"))
    expect(proof_link).to_be_visible()
    no_sideways_scroll(ui.shots(o, "p4-queue-with-proof"), "Confirmation queue with a proof")
    with o.expect_download() as download_info:
        proof_link.click()
    assert download_info.value.suggested_filename == "slip-desktop.jpg"
    row.get_by_role("button", name=re.compile(r"^Confirm")).click()
    expect(o.get_by_text("The payment was confirmed and applied to the invoice.")).to_be_visible()
    o.goto(f"/invoices/{invoice_id}")
    confirmed = o.locator("tr", has_text="BDO-PROOF-1280")
    expect(confirmed).to_contain_text("Confirmed")
    expect(confirmed.get_by_role("link", name=re.compile(r"^Proof"))).to_be_visible()
    ui.shots(o, "p5-invoice-with-proof-owner")
    ui.assert_clean()


def test_owner_enters_payment_instructions_with_a_qr_code(ui, owner, books):
    o = ui.desktop().new_page()
    sign_in(o, owner.username, owner.password)
    o.goto("/settings/payment-instructions")
    expect(o.get_by_role("heading", name="How clients pay", level=1)).to_be_visible()
    qr = io.BytesIO()
    Image.new("RGB", (120, 120), (0, 0, 0)).save(qr, format="PNG")
    o.get_by_label(re.compile(r"^QR code")).set_input_files(
        {"name": "qr.png", "mimeType": "image/png", "buffer": qr.getvalue()}
    )
    o.get_by_role("button", name="Save payment instructions").click()
    expect(o.get_by_text("The payment instructions were saved.")).to_be_visible()
    expect(o.get_by_role("img", name="The current payment QR code")).to_be_visible()
    no_sideways_scroll(ui.shots(o, "p6-payment-instructions"), "Payment instructions settings")
    ui.assert_clean()
