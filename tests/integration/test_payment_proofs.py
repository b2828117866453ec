"""How to pay (issue 16, item 3): the owner's payment instructions, shown on the portal's invoice
page, and the proof a client may attach to a payment they report: checked by content, images
re-encoded without their metadata, served only to that client and to owners, as a download."""

from __future__ import annotations

import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from PIL import Image
from portal_support import (
    ANN,
    BEN,
    DAY,
    OWNER,
    TODAY,
    count,
    fresh,
    hidden_value,
    make_invoice,
    number_of,
    payments_of,
    sign_in,
)
from sqlalchemy import select

from ais.billing import services
from ais.billing.uploads import MAX_PROOF_BYTES
from ais.models import AuditEntry, OutboxMessage, Payment, PaymentInstructions, PaymentProof

GPS_TAG, MAKE_TAG = 0x8825, 0x010F


def photo(kind: str = "JPEG", size=(40, 30), exif: bool = True) -> bytes:
    """A small picture carrying EXIF (camera make and a GPS block), as a phone would save it."""
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    if exif:
        tags = Image.Exif()
        tags[MAKE_TAG] = "PhoneCam"
        tags[GPS_TAG] = {1: "N", 2: (14.0, 35.0, 0.0)}
        image.save(out, format=kind, exif=tags.tobytes())
    else:
        image.save(out, format=kind)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def report_page(client, invoice_id) -> str:
    html = client.get(f"/portal/invoices/{invoice_id}").get_data(as_text=True)
    return html[html.index('id="report-payment"') :]


def report_with(actions, client, invoice_id, proof: tuple[bytes, str] | None, **fields):
    html = report_page(client, invoice_id)
    data = {
        "invoice_id": hidden_value(html, "invoice_id"),
        "submission_key": hidden_value(html, "submission_key"),
        "amount": "100.00",
        "method": "GCash",
        "date": (TODAY - DAY).isoformat(),
        "reference": "GC-555",
    }
    data.update(fields)
    if proof is not None:
        data["proof"] = (io.BytesIO(proof[0]), proof[1])
    return actions.post("/portal/payments/add", data, content_type="multipart/form-data")


@pytest.fixture
def ann(actions, world):
    sign_in(actions, ANN)
    return world


def the_proof() -> PaymentProof:
    return fresh().scalars(select(PaymentProof).order_by(PaymentProof.id.desc())).first()


# --- Reporting with a proof -------------------------------------------------------------------------


def test_a_payment_reported_with_a_photo_keeps_the_photo_without_exif(client, actions, ann):
    response = report_with(actions, client, ann.a_plan, (photo("JPEG"), "slip.jpg"))
    assert response.status_code == 303
    payment = payments_of(ann.ann)[-1]
    assert payment.state == "reported" and payment.amount == Decimal("100.00")
    download = client.get(f"/portal/payments/{payment.id}/proof")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "image/jpeg"
    assert download.headers["Content-Disposition"] == 'attachment; filename="slip.jpg"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "no-store"
    served = Image.open(io.BytesIO(download.data))
    assert dict(served.getexif()) == {} and "exif" not in served.info
    proof = the_proof()
    assert proof.payment_id == payment.id and proof.size == len(download.data)


def test_a_png_proof_is_re_encoded_without_its_text_chunks(client, actions, ann):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "taken at 14.58N 120.98E")
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 90, 0)).save(out, format="PNG", pnginfo=info)
    assert report_with(actions, client, ann.a_plan, (out.getvalue(), "screen.png")).status_code == 303
    served = client.get(f"/portal/payments/{payments_of(ann.ann)[-1].id}/proof")
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "PNG" and "Comment" not in image.info and b"14.58N" not in served.data


def test_a_pdf_proof_is_kept_as_sent_and_served_as_an_attachment(client, actions, ann):
    assert report_with(actions, client, ann.a_plan, (PDF, "deposit slip.pdf")).status_code == 303
    download = client.get(f"/portal/payments/{payments_of(ann.ann)[-1].id}/proof")
    assert download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == 'attachment; filename="deposit-slip.pdf"'


def test_a_payment_reported_without_a_proof_has_none(client, actions, ann):
    assert report_with(actions, client, ann.a_plan, None).status_code == 303
    assert count(PaymentProof) == 0
    assert client.get(f"/portal/payments/{payments_of(ann.ann)[-1].id}/proof").status_code == 404


@pytest.mark.parametrize(
    "data,name",
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "proof.png"),
        (b"\x89PNG\r\n\x1a\nbroken", "proof.png"),
        (b"PK\x03\x04 a zip", "proof.pdf"),
    ],
)
def test_a_bad_proof_is_refused_next_to_the_field_and_nothing_is_written(client, actions, ann, data, name):
    before = count(Payment)
    response = report_with(actions, client, ann.a_plan, (data, name))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="proof-error"' in html and ("PNG or JPEG" in html or "cannot be read" in html)
    assert 'name="amount"' in html  # the form is shown again
    assert count(Payment) == before and count(PaymentProof) == 0


def test_a_proof_over_5_mb_is_refused_with_the_form_shown_again(client, actions, ann):
    big = b"%PDF-1.4\n" + b"0" * MAX_PROOF_BYTES
    response = report_with(actions, client, ann.a_plan, (big, "big.pdf"))
    assert response.status_code == 400
    assert "The proof must be at most 5 MB." in response.get_data(as_text=True)
    assert count(PaymentProof) == 0


def test_a_body_above_the_upload_limit_is_413_and_writes_nothing(client, actions, ann, app):
    before = count(Payment)
    huge = b"%PDF-1.4\n" + b"0" * app.config["MAX_UPLOAD_CONTENT_LENGTH"]
    response = report_with(actions, client, ann.a_plan, (huge, "huge.pdf"))
    assert response.status_code == 413
    assert "a proof of payment may be up to 5 MB" in response.get_data(as_text=True)
    assert count(Payment) == before


def test_only_the_upload_forms_accept_a_large_body(actions, ann):
    """Every other route keeps the 1 MiB limit: a 2 MiB file sent to sign out is 413."""
    data = {"proof": (io.BytesIO(b"%PDF-" + b"0" * 2 * 1024 * 1024), "a.pdf")}
    response = actions.post("/logout", data, content_type="multipart/form-data")
    assert response.status_code == 413


def test_a_refused_payment_stores_no_proof(client, actions, ann):
    response = report_with(actions, client, ann.a_plan, (photo(), "slip.jpg"), amount="99999.00")
    assert response.status_code == 400
    assert count(PaymentProof) == 0


# --- Who may see a proof ----------------------------------------------------------------------------


def bens_proof(world) -> int:
    services.report_payment(
        services_actor(),
        world.ben,
        world.b_full,
        Decimal("10.00"),
        TODAY - DAY,
        "GCash",
        "BEN-PROOF",
        proof=photo(),
        proof_filename="ben.jpg",
    )
    return fresh().scalar(select(Payment.id).where(Payment.reference == "BEN-PROOF"))


def services_actor():
    from portal_support import ACTOR

    return ACTOR


def test_another_clients_proof_is_404_like_every_portal_page(client, ann):
    payment_id = bens_proof(ann)
    assert client.get(f"/portal/payments/{payment_id}/proof").status_code == 404
    assert client.get("/portal/payments/999999/proof").status_code == 404


def test_the_client_sees_the_proof_link_on_their_invoice_page(client, actions, ann):
    report_with(actions, client, ann.a_plan, (photo(), "slip.jpg"))
    payment_id = payments_of(ann.ann)[-1].id
    html = client.get(f"/portal/invoices/{ann.a_plan}").get_data(as_text=True)
    assert f'href="/portal/payments/{payment_id}/proof"' in html


def test_the_owner_sees_the_proof_in_the_queue_and_on_the_invoice_then_confirms(client, actions, world):
    payment_id = bens_proof(world)
    sign_in(actions, OWNER)
    queue = client.get("/payments?state=reported").get_data(as_text=True)
    assert f'href="/payments/{payment_id}/proof"' in queue and ">Proof<" in queue
    invoice = client.get(f"/invoices/{world.b_full}").get_data(as_text=True)
    assert f'href="/payments/{payment_id}/proof"' in invoice
    download = client.get(f"/payments/{payment_id}/proof")
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment;")
    assert dict(Image.open(io.BytesIO(download.data)).getexif()) == {}
    services.confirm_payment(services_actor(), payment_id)
    assert fresh().get(Payment, payment_id).state == "confirmed"


def test_a_client_cannot_use_the_owners_proof_address(client, actions, world):
    payment_id = bens_proof(world)
    sign_in(actions, BEN)
    assert client.get(f"/payments/{payment_id}/proof").status_code == 403


# --- Payment instructions ---------------------------------------------------------------------------


def save_instructions(actions, qr: tuple[bytes, str] | None = None, **fields):
    data = {"bank_accounts": "BPI 1234-5678-90 (AJ Trading)", "e_wallets": "GCash 0917 123 4567", "notes": ""}
    data.update(fields)
    if qr is not None:
        data["qr_image"] = (io.BytesIO(qr[0]), qr[1])
    return actions.post("/settings/payment-instructions", data, content_type="multipart/form-data")


def test_the_owner_saves_instructions_once_and_the_client_sees_them_beside_the_report_form(client, actions, world):
    sign_in(actions, OWNER)
    assert client.get("/settings/payment-instructions").status_code == 200
    response = save_instructions(actions, qr=(photo("PNG", exif=False), "qr.png"), notes="Use <b>INV</b> as reference")
    assert response.status_code == 302
    entry = (
        fresh().scalars(select(AuditEntry).where(AuditEntry.action == "business.payment_instructions_updated")).one()
    )
    assert "bank accounts" in entry.detail and "QR image" in entry.detail
    actions.logout()
    sign_in(actions, ANN)
    html = client.get(f"/portal/invoices/{world.a_plan}").get_data(as_text=True)
    how = html[html.index('id="how-to-pay"') : html.index('id="report-payment"')]
    assert "BPI 1234-5678-90 (AJ Trading)" in how and "GCash 0917 123 4567" in how
    assert "Use &lt;b&gt;INV&lt;/b&gt; as reference" in how
    assert 'src="/portal/how-to-pay/qr"' in how
    qr = client.get("/portal/how-to-pay/qr")
    assert qr.status_code == 200 and qr.headers["Content-Type"] == "image/png"
    assert qr.headers["X-Content-Type-Options"] == "nosniff"


def test_a_qr_image_loses_its_exif_when_saved(client, actions, world):
    sign_in(actions, OWNER)
    assert save_instructions(actions, qr=(photo("JPEG"), "qr.jpg")).status_code == 302
    stored = fresh().get(PaymentInstructions, 1)
    assert dict(Image.open(io.BytesIO(stored.qr_image)).getexif()) == {}


@pytest.mark.parametrize(
    "data",
    [b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.4 not an image", b"\x89PNG\r\n\x1a\ntruncated"],
)
def test_a_qr_code_that_is_not_a_png_or_jpeg_image_is_refused_with_the_form_shown_again(client, actions, world, data):
    sign_in(actions, OWNER)
    response = save_instructions(actions, qr=(data, "qr.png"), bank_accounts="Kept in the form")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="qr_image-error"' in html and "Kept in the form" in html
    assert fresh().get(PaymentInstructions, 1) is None


def test_a_qr_code_over_1_mb_is_refused(client, actions, world):
    sign_in(actions, OWNER)
    response = save_instructions(actions, qr=(b"\x89PNG\r\n\x1a\n" + b"0" * (1024 * 1024), "qr.png"))
    assert response.status_code == 400
    assert "The QR image must be at most 1 MB." in response.get_data(as_text=True)


def test_instructions_longer_than_their_limit_are_refused(client, actions, world):
    sign_in(actions, OWNER)
    response = save_instructions(actions, notes="x" * 2001)
    assert response.status_code == 400
    assert fresh().get(PaymentInstructions, 1) is None


def test_without_instructions_the_invoice_page_shows_no_how_to_pay_card(client, ann):
    html = client.get(f"/portal/invoices/{ann.a_plan}").get_data(as_text=True)
    assert 'id="how-to-pay"' not in html
    assert client.get("/portal/how-to-pay/qr").status_code == 404


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (make install) is missing")
def test_the_sales_invoice_pdf_prints_how_to_pay(client, actions, world):
    sign_in(actions, OWNER)
    assert save_instructions(actions, qr=(photo("PNG", exif=False), "qr.png")).status_code == 302
    actions.logout()
    sign_in(actions, ANN)
    response = client.get(f"/portal/invoices/{world.a_plan}/invoice.pdf")
    assert response.status_code == 200
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True, check=True)
    text = " ".join(out.stdout.decode("utf-8").split())
    assert "how to pay" in text.lower() and "BPI 1234-5678-90 (AJ Trading)" in text and "GCash 0917 123 4567" in text


# --- How to pay in the emails that ask for money ----------------------------------------------------


def message(dedupe_prefix: str, invoice_id: int) -> OutboxMessage:
    """The one email of a kind (by its dedupe key's prefix) about one invoice."""
    query = select(OutboxMessage).where(
        OutboxMessage.dedupe_key.like(f"{dedupe_prefix}%"), OutboxMessage.subject.contains(number_of(invoice_id))
    )
    return fresh().scalars(query).one()


def test_the_invoice_email_and_the_reminder_say_how_to_pay_without_an_image(app, world):
    services.save_payment_instructions(
        services_actor(),
        bank_accounts="BPI 1234-5678-90\nAJ Trading",
        e_wallets="GCash 0917 123 4567",
        notes="Write <b>the invoice number</b> as the reference",
        qr_image=photo("PNG", exif=False),
    )
    invoice_id = make_invoice(world.ann, "600.00", issued=TODAY, count=3)
    issued = message("invoice-issued:", invoice_id)
    from ais.billing.reminders import run_reminders

    assert any(r.invoice_id == world.a_full for r in run_reminders(TODAY))  # due today
    reminder = message("reminder:", world.a_full)
    for email, qr_where in ((issued, "the attached invoice and your invoice page in the portal"),
                            (reminder, "your invoice page in the portal")):  # fmt: skip
        text = email.body_text
        how = text[text.index("How to pay:") :]
        assert "  Bank transfer or deposit:\n    BPI 1234-5678-90\n    AJ Trading\n" in how
        assert "  E-wallet:\n    GCash 0917 123 4567\n" in how
        assert "Write <b>the invoice number</b> as the reference" in how  # plain text: as typed
        assert f"A QR code to scan is on {qr_where}." in how
        html = email.body_html
        assert "BPI 1234-5678-90\nAJ Trading" in html and "GCash 0917 123 4567" in html
        assert "Write &lt;b&gt;the invoice number&lt;/b&gt; as the reference" in html
        assert "<img" not in html and "data:image" not in html and "/how-to-pay/qr" not in html
    assert issued.attachment == f"invoice:{invoice_id}"  # the PDF (with its QR code), nothing more
    assert reminder.attachment == ""


def test_without_instructions_the_emails_do_not_mention_how_to_pay(app, world):
    invoice_id = make_invoice(world.ann, "600.00", issued=TODAY)
    from ais.billing.reminders import run_reminders

    run_reminders(TODAY)
    for email in (message("invoice-issued:", invoice_id), message("reminder:", world.a_full)):
        assert "How to pay" not in email.body_text and "How to pay" not in email.body_html


# --- A proof added later, from the payments page ----------------------------------------------------


def payments_page(client) -> str:
    response = client.get("/portal/payments")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def add_proof(actions, payment_id, proof: tuple[bytes, str] | None):
    data = {} if proof is None else {"proof": (io.BytesIO(proof[0]), proof[1])}
    return actions.post(f"/portal/payments/{payment_id}/add-proof", data, content_type="multipart/form-data")


def test_the_payments_page_links_each_proof_and_offers_to_add_one_while_awaiting(client, actions, ann):
    report_with(actions, client, ann.a_plan, (photo(), "slip.jpg"), reference="WITH-PROOF")
    report_with(actions, client, ann.a_plan, None, reference="NO-PROOF", amount="50.00")
    with_proof, without = payments_of(ann.ann)[-2:]
    html = payments_page(client)
    assert f'href="/portal/payments/{with_proof.id}/proof"' in html
    assert f'href="/portal/payments/{with_proof.id}/add-proof"' not in html
    assert f'href="/portal/payments/{without.id}/add-proof"' in html
    assert f'href="/portal/payments/{without.id}/proof"' not in html
    confirmed = payments_of(ann.ann)[0]  # the owner's recorded payment: no proof, nothing to add
    assert confirmed.state == "confirmed" and f"/portal/payments/{confirmed.id}/add-proof" not in html


def test_a_client_adds_a_proof_to_a_reported_payment_once(client, actions, ann):
    report_with(actions, client, ann.a_plan, None)
    payment = payments_of(ann.ann)[-1]
    page = client.get(f"/portal/payments/{payment.id}/add-proof")
    assert page.status_code == 200 and 'name="proof"' in page.get_data(as_text=True)
    response = add_proof(actions, payment.id, (photo("JPEG"), "slip.jpg"))
    assert response.status_code == 303 and response.headers["Location"].endswith("/portal/payments")
    download = client.get(f"/portal/payments/{payment.id}/proof")
    assert download.status_code == 200 and dict(Image.open(io.BytesIO(download.data)).getexif()) == {}
    html = payments_page(client)
    assert "The proof was attached to your payment of ₱100.00." in html
    assert f'href="/portal/payments/{payment.id}/proof"' in html
    entry = fresh().scalars(select(AuditEntry).where(AuditEntry.action == "payment.proof_added")).one()
    assert entry.payment_id == payment.id and "slip.jpg" in entry.detail
    # A second proof is refused; the first stays.
    again = add_proof(actions, payment.id, (PDF, "other.pdf"))
    assert again.status_code == 400 and "This payment has its proof" in again.get_data(as_text=True)
    assert count(PaymentProof, PaymentProof.payment_id == payment.id) == 1
    assert the_proof().content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("proof", "message_text"),
    [
        (None, "Choose the file to attach"),
        ((b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.svg"), 'id="proof-error"'),
        ((b"%PDF" + b"0" * (MAX_PROOF_BYTES + 10), "big.pdf"), 'id="proof-error"'),
    ],
)
def test_a_bad_or_missing_file_is_refused_next_to_the_field(client, actions, ann, proof, message_text):
    report_with(actions, client, ann.a_plan, None)
    payment = payments_of(ann.ann)[-1]
    response = add_proof(actions, payment.id, proof)
    assert response.status_code == 400 and message_text in response.get_data(as_text=True)
    assert count(PaymentProof) == 0


def test_no_proof_for_a_confirmed_payment_nor_for_another_clients(client, actions, ann):
    report_with(actions, client, ann.a_plan, None)
    payment = payments_of(ann.ann)[-1]
    services.confirm_payment(services_actor(), payment.id)
    response = add_proof(actions, payment.id, (photo(), "late.jpg"))
    assert response.status_code == 400
    assert "Only a payment awaiting confirmation can take a proof." in response.get_data(as_text=True)
    assert client.get(f"/portal/payments/{ann.b_payment}/add-proof").status_code == 404
    assert add_proof(actions, ann.b_payment, (photo(), "x.jpg")).status_code == 404
    assert client.get("/portal/payments/99999999999999999999/add-proof").status_code == 404
    assert count(PaymentProof) == 0


def test_the_owner_previews_the_form_disabled_and_cannot_send_it(client, actions, world):
    payment_id = world.b_payment
    sign_in(actions, OWNER)
    page = client.get(f"/portal/payments/{payment_id}/add-proof?client={world.ben}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<fieldset disabled>" in html
    assert add_proof(actions, payment_id, (photo(), "x.jpg")).status_code == 403
    assert count(PaymentProof) == 0
