"""The whole story in a real browser: an owner bills a client on installments, the client
reports a payment with a proof of the transfer in the portal, the owner opens the proof from the
confirmation queue and confirms, the client sees it, the owner previews the portal.

Every page is photographed at 1280 and 375 px (test-output/screenshots/) and checked with
axe-core as it is (no serious or critical WCAG 2 A/AA violation); the main pages must not scroll
sideways at 375 px; no page may log a JavaScript error or a CSP violation.
"""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

CLIENT_NAME = "Lorna Dimaculangan"
CLIENT_EMAIL = "lorna.dimaculangan@example.com"
CLIENT_COMPANY = "Dimaculangan Farms"
CLIENT_PASSWORD = "Tamarind-Harbor-42"
PAYMENT_REFERENCE = "BPI-TRF-558201"
PHONE_WIDTH = 375


def no_sideways_scroll(width: int, page_name: str) -> None:
    assert width <= PHONE_WIDTH + 1, f"{page_name} scrolls sideways at 375 px (document is {width} px wide)"


def field(scope, label: str):
    """The input labelled ``label`` (a required field's label ends with a '*', which is ignored)."""
    return scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}(\s*\*)?\s*$"))


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label(re.compile(r"^Username")).fill(username)
    field(page, "Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def pdf_text(data: bytes) -> str:
    """A PDF's text as poppler's pdftotext reads it, whitespace folded."""
    assert data.startswith(b"%PDF-")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout
    return " ".join(out.decode("utf-8").split())


def pdf_picture(data: bytes, name: str) -> Path:
    """The PDF's first page as a PNG beside the screenshots (poppler's pdftoppm)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    prefix = SCREENSHOTS / name
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", "-", str(prefix)], input=data, check=True)
    return prefix.with_suffix(".png")


def transfer_slip() -> bytes:
    """A phone screenshot of a bank transfer confirmation (a plain PNG, 360 x 640)."""
    image = Image.new("RGB", (360, 640), (245, 247, 250))
    ImageDraw.Draw(image).text((20, 40), f"Transfer successful\n{PAYMENT_REFERENCE}", fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def amount_text(value: str) -> str:
    """'4000.00' -> '4,000.00' (how the pages print it, after the currency sign)."""
    whole, _, cents = value.partition(".")
    return f"{int(whole):,}.{cents or '00'}"


def test_owner_bills_client_pays_owner_confirms(ui, owner):
    # --- b. The owner signs in and lands on the dashboard ---------------------------------------
    owner_ctx = ui.desktop()
    o = owner_ctx.new_page()
    o.goto("/login")
    expect(o.get_by_role("heading", level=1)).to_be_visible()
    ui.shots(o, "01-login")
    sign_in(o, owner.username, owner.password)
    expect(o).to_have_url(re.compile(r"/dashboard$"))
    expect(o.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    no_sideways_scroll(ui.shots(o, "02-dashboard-empty"), "Back-office dashboard")

    # --- b2. The business profile: nothing can be issued until it is complete -----------------------
    o.get_by_role("button", name=re.compile(re.escape(owner.username))).click()
    o.get_by_role("link", name="Business profile").click()
    expect(o.get_by_role("heading", name="Business profile", level=1)).to_be_visible()
    expect(o.get_by_text("Nothing can be issued until the profile is complete.")).to_be_visible()
    field(o, "Registered name").fill("Bukid Solar Trading Corp.")
    field(o, "Trade name").fill("Bukid Solar")
    field(o, "TIN with branch code").fill("008-321-654-00000")
    field(o, "Registered address").fill("45 Rizal Avenue, San Pablo City, Laguna 4000")
    o.get_by_label("VAT-registered", exact=True).check()
    o.get_by_label("VAT-inclusive", exact=True).check()
    field(o, "Invoice footer").fill("Acknowledgement Certificate No. E2E-0001, 5 January 2026")
    o.get_by_role("button", name="Save profile").click()
    expect(o.get_by_text("The business profile was saved.")).to_be_visible()
    no_sideways_scroll(ui.shots(o, "02b-business-profile"), "Business profile")

    # --- c. A client, an installment invoice, portal access -------------------------------------
    o.get_by_role("navigation", name="Main").get_by_role("link", name="Clients", exact=True).click()
    expect(o.get_by_role("heading", name="Clients", level=1)).to_be_visible()
    ui.shots(o, "03-clients-empty")
    o.get_by_role("link", name="Add client").first.click()
    expect(o.get_by_role("heading", name="Add client", level=1)).to_be_visible()
    field(o, "Name").fill(CLIENT_NAME)
    field(o, "Email").fill(CLIENT_EMAIL)
    field(o, "Company").fill(CLIENT_COMPANY)
    field(o, "Phone").fill("+63 917 555 0142")
    ui.shots(o, "04-client-form")  # (the 375 one is the empty form)
    o.get_by_role("button", name="Add client").click()
    expect(o.get_by_role("heading", name=CLIENT_NAME, level=1)).to_be_visible()
    expect(o.get_by_text(f"{CLIENT_NAME} was added.")).to_be_visible()
    client_url = o.url
    assert re.search(r"/clients/\d+$", client_url), client_url
    ui.shots(o, "05-client-detail-new")

    o.get_by_role("link", name="New invoice").first.click()
    expect(o.get_by_role("heading", name="New invoice", level=1)).to_be_visible()
    expect(field(o, "Client")).to_have_value(re.compile(r"^\d+$"))  # preselected
    issue_date = field(o, "Issue date").input_value()
    field(o, "Description").fill("Solar water pump, supplied and installed")
    field(o, "Line 1 Description").fill("Solar water pump system")
    field(o, "Line 1 Quantity").fill("1")
    field(o, "Line 1 Unit price").fill("12000")
    field(o, "Installment plan").check()
    field(o, "Number of installments").fill("3")
    field(o, "Frequency").select_option(label="Monthly")
    # (the label reads "First installment date" once the plan is chosen)
    o.get_by_label(re.compile(r"^(First installment date|Due date)")).fill(issue_date)  # due today
    preview = o.locator("[data-preview]")
    expect(preview.locator("[data-preview-total]")).to_contain_text("12,000.00")  # the live preview's total
    expect(preview.locator("tbody tr")).to_have_count(3)
    ui.shots(o, "06-invoice-form")  # (the 375 one is the empty form)
    o.get_by_role("button", name="Issue invoice").click()
    heading = o.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Invoice ")
    invoice_no = re.search(r"Invoice (\S+)", heading.inner_text()).group(1)
    invoice_url = o.url
    expect(o.get_by_text("The invoice was issued.")).to_be_visible()
    schedule = o.locator("section#schedule tbody tr")
    expect(schedule).to_have_count(3)
    no_sideways_scroll(ui.shots(o, "07-invoice-detail-owner"), "Back-office invoice detail")

    # The sales invoice as PDF: the profile, the client, VAT and the schedule with its credit term.
    invoice_pdf = o.request.get(invoice_url + "/invoice.pdf")
    assert invoice_pdf.ok and invoice_pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(invoice_pdf.body())
    for expected in (
        "SALES INVOICE",
        f"No. {invoice_no}",
        "Bukid Solar Trading Corp.",
        "VAT Reg. TIN 008-321-654-00000",
        CLIENT_COMPANY,
        "VATable sales ₱10,714.29",
        "VAT (12%) ₱1,285.71",
        "Total amount due ₱12,000.00",
        "Payable in 3 monthly installments",
        "Acknowledgement Certificate No. E2E-0001",
    ):
        assert expected in text, expected
    assert pdf_picture(invoice_pdf.body(), "07c-invoice-pdf").exists()

    o.get_by_role("navigation", name="Main").get_by_role("link", name="Invoices", exact=True).click()
    expect(o.get_by_role("heading", name="Invoices", level=1)).to_be_visible()
    expect(o.get_by_role("link", name=invoice_no)).to_be_visible()
    no_sideways_scroll(ui.shots(o, "08-invoices"), "Back-office invoice list")
    # The client filter is a search with suggestions (never a list of every client): type part of
    # the name, pick the suggestion with the keyboard, apply; the chosen client shows with "Clear".
    search = o.get_by_role("combobox", name="Client")
    search.fill(CLIENT_NAME.split()[0].lower())
    option = o.get_by_role("option", name=re.compile(re.escape(CLIENT_NAME)))
    expect(option).to_be_visible()
    search.press("ArrowDown")
    search.press("Enter")
    expect(search).to_have_value(re.compile(re.escape(CLIENT_NAME)))
    o.get_by_role("button", name="Apply").click()
    expect(o.get_by_role("link", name=re.compile(r"^Clear the client filter"))).to_be_visible()
    expect(o.get_by_role("link", name=invoice_no)).to_be_visible()

    o.goto(client_url)
    o.get_by_role("button", name="Enable portal access").click()
    link_box = o.get_by_label(re.compile("Invitation link"))
    expect(link_box).to_be_visible()
    invitation = link_box.input_value()
    assert invitation.startswith(ui.base_url + "/"), invitation
    ui.shot(o, "09-client-detail-invitation")  # desktop only: the link is shown once

    # --- d. The client accepts the invitation, signs in, reports a payment ------------------------
    client_ctx = ui.desktop()
    c = client_ctx.new_page()
    phone_invite = ui.phone()  # the 375 picture of the invitation page (opening it uses nothing up)
    phone_page = phone_invite.new_page()
    phone_page.goto(invitation)
    ui.shot(phone_page, "10-invitation")
    phone_invite.close()

    c.goto(invitation)
    expect(c.get_by_role("heading", level=1)).to_be_visible()
    passwords = c.locator("input[type=password]")
    assert passwords.count() >= 1, "the invitation page has no password field"
    for index in range(passwords.count()):
        passwords.nth(index).fill(CLIENT_PASSWORD)
    ui.shot(c, "10-invitation")
    c.locator("form:has(input[type=password])").get_by_role("button").last.click()
    c.wait_for_load_state("load")
    if "/login" in c.url:  # the password is set; now sign in with it
        sign_in(c, CLIENT_EMAIL, CLIENT_PASSWORD)
    expect(c).to_have_url(re.compile(r"/portal/?$"))
    expect(c.get_by_role("heading", level=1)).to_be_visible()
    expect(c.get_by_role("link", name=invoice_no).first).to_be_visible()
    no_sideways_scroll(ui.shots(c, "11-portal-dashboard"), "Portal dashboard")

    c.goto("/portal/invoices")
    expect(c.get_by_role("link", name=invoice_no).first).to_be_visible()
    no_sideways_scroll(ui.shots(c, "12-portal-invoices"), "Portal invoice list")

    c.get_by_role("link", name=invoice_no).first.click()
    expect(c.get_by_role("heading", level=1)).to_contain_text(invoice_no)
    schedule_section = (
        c.locator("section, div.card").filter(has=c.get_by_role("heading", name=re.compile("schedule", re.I))).last
    )
    expect(schedule_section.locator("tbody tr")).to_have_count(3)
    no_sideways_scroll(ui.shots(c, "13-portal-invoice"), "Portal invoice detail")

    amount = c.get_by_role("textbox", name=re.compile(r"^Amount"))
    expect(amount).to_have_value(re.compile(r"^4,?000(\.00)?$"))  # pre-filled with what is due now
    due_now = amount.input_value().replace(",", "")
    c.get_by_role("combobox", name=re.compile(r"^(Method|How you paid)")).select_option(label="Bank transfer")
    c.get_by_role("textbox", name=re.compile(r"^Reference")).fill(PAYMENT_REFERENCE)
    # The transfer slip, as a phone saves a screenshot: attached as the proof of payment.
    c.get_by_label(re.compile(r"^Proof of payment")).set_input_files(
        files=[{"name": "bpi-transfer-slip.png", "mimeType": "image/png", "buffer": transfer_slip()}]
    )
    ui.shot(c, "14-portal-report-form")
    c.get_by_role("button", name="Report payment").click()
    expect(c.get_by_text("Awaiting confirmation").first).to_be_visible()
    ui.shots(c, "15-portal-invoice-reported")
    c.goto("/portal/payments")
    reported_row = c.locator("tr", has_text=PAYMENT_REFERENCE)
    expect(reported_row).to_contain_text("Awaiting confirmation")
    expect(reported_row.get_by_role("link", name=re.compile(r"^Proof"))).to_be_visible()  # their own proof
    no_sideways_scroll(ui.shots(c, "15b-portal-payments-with-proof"), "Portal payments")

    # --- e. The owner confirms it ------------------------------------------------------------------
    o.goto("/payments?state=reported")
    expect(o.get_by_role("heading", name="Payments to confirm", level=1)).to_be_visible()
    row = o.locator("tr", has_text=PAYMENT_REFERENCE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(amount_text(due_now))
    ui.shots(o, "16-payments-to-confirm")
    # The owner opens the client's proof from the queue: a download of the re-encoded image.
    with o.expect_download() as download_info:
        row.get_by_role("link", name=re.compile(r"^Proof")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".png"), download.suggested_filename
    slip = Path(download.path()).read_bytes()
    assert slip.startswith(b"\x89PNG") and Image.open(io.BytesIO(slip)).size == (360, 640)
    row.get_by_role("button", name=re.compile(r"^Confirm")).click()
    expect(o.get_by_text("The payment was confirmed and applied to the invoice.")).to_be_visible()
    o.goto(invoice_url)
    expect(o.locator("tr", has_text=PAYMENT_REFERENCE)).to_contain_text("Confirmed")
    ui.shots(o, "17-invoice-detail-owner-paid")
    o.get_by_role("navigation", name="Main").get_by_role("link", name="Audit", exact=True).click()
    expect(o.get_by_role("heading", name="Audit trail", level=1)).to_be_visible()
    no_sideways_scroll(ui.shots(o, "17b-audit"), "Audit trail")

    # --- f. The client sees it confirmed, against installment 1 ------------------------------------
    c.goto("/portal/payments")
    c.reload()
    payment_row = c.locator("tr, .card, li", has_text=PAYMENT_REFERENCE).last
    expect(payment_row).to_contain_text("Confirmed")
    expect(payment_row).to_contain_text(re.compile(r"\b1\b"))
    expect(payment_row).to_contain_text(amount_text(due_now))
    ui.shots(c, "18-portal-payments")

    # The client downloads the invoice and the receipt of the confirmed payment from the portal.
    invoice_id = invoice_url.rstrip("/").rsplit("/", 1)[1]
    c.goto(f"/portal/invoices/{invoice_id}")
    receipt_link = c.get_by_role("link", name="Receipt (PDF)")
    expect(receipt_link).to_have_count(1)
    receipt = c.request.get(receipt_link.get_attribute("href"))
    assert receipt.ok
    receipt_text = pdf_text(receipt.body())
    assert "ACKNOWLEDGEMENT RECEIPT" in receipt_text and PAYMENT_REFERENCE in receipt_text
    assert "THIS DOCUMENT IS NOT VALID FOR CLAIM OF INPUT TAX" in receipt_text
    assert pdf_picture(receipt.body(), "18b-receipt-pdf").exists()
    portal_pdf = c.request.get(
        c.get_by_role("link", name=re.compile("Download the sales invoice")).get_attribute("href")
    )
    assert portal_pdf.ok and f"No. {invoice_no}" in pdf_text(portal_pdf.body())

    # --- g. The owner previews the portal as the client ----------------------------------------------
    o.goto(client_url)
    o.get_by_role("link", name="View as client").click()
    expect(o.get_by_text(re.compile(rf"Preview\s+—\s+viewing as {re.escape(CLIENT_NAME)}"))).to_be_visible()
    ui.shots(o, "19-preview-dashboard")
    o.get_by_role("link", name=invoice_no).first.click()
    expect(o.get_by_text(re.compile(rf"Preview\s+—\s+viewing as {re.escape(CLIENT_NAME)}"))).to_be_visible()
    expect(o.get_by_role("heading", level=1)).to_contain_text(invoice_no)
    expect(o.get_by_role("textbox", name=re.compile(r"^Amount"))).to_be_disabled()
    expect(o.get_by_role("button", name="Report payment")).to_be_disabled()
    ui.shots(o, "20-preview-invoice")

    # --- h. The owner credits part of the invoice: the last installment shrinks ----------------------
    o.goto(invoice_url)
    o.get_by_text("Issue a credit note").click()
    field(o, "Amount to credit").fill("1000")
    field(o, "Reason for the credit").fill("Pump cover not delivered")
    o.get_by_role("button", name="Issue credit note").click()
    expect(o.get_by_text("The credit note was issued and emailed to the client.")).to_be_visible()
    expect(o.locator("#credit-notes")).to_contain_text("Pump cover not delivered")
    expect(o.locator("section#schedule tbody tr").last).to_contain_text("3,000.00")
    no_sideways_scroll(ui.shots(o, "21-invoice-credited"), "Invoice with a credit note")
    note_pdf = o.request.get(o.get_by_role("link", name="Credit note (PDF)").get_attribute("href"))
    note_text = pdf_text(note_pdf.body())
    assert "CREDIT NOTE" in note_text and "Total credit ₱1,000.00" in note_text
    assert pdf_picture(note_pdf.body(), "21b-credit-note-pdf").exists()

    # Every page above was checked with axe-core as it was photographed, at both widths.
    assert len(ui.accessibility_checked) >= 38, ui.accessibility_checked
    ui.assert_clean()


def test_sign_in_with_the_keyboard(ui, owner):
    page = ui.desktop().new_page()
    page.goto("/login")
    username = page.get_by_label(re.compile(r"^Username"))
    password = field(page, "Password")
    button = page.get_by_role("button", name="Sign in")

    for _ in range(10):  # skip link, brand… then the form (unless it has the focus already)
        if username.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(username).to_be_focused()
    page.keyboard.type(owner.username)
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.type(owner.password)
    stops = []
    for _ in range(3):  # e.g. a "show password" toggle may sit between them
        page.keyboard.press("Tab")
        if button.evaluate("el => el === document.activeElement"):
            break
        stops.append(page.evaluate("document.activeElement.outerHTML.slice(0, 80)"))
    expect(button).to_be_focused()
    # Enter in the password field submits the form
    password.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    ui.assert_clean()
