"""The whole story in a real browser: an owner bills a client on installments, the client
pays in the portal, the owner confirms, the client sees it, the owner previews the portal.

Every page is photographed at 1280 and 375 px (test-output/screenshots/) and checked with
axe-core as it is (no serious or critical WCAG 2 A/AA violation); the main pages must not scroll
sideways at 375 px; no page may log a JavaScript error or a CSP violation.
"""

from __future__ import annotations

import re

import pytest
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
    ui.shot(c, "14-portal-report-form")
    c.get_by_role("button", name="Report payment").click()
    expect(c.get_by_text("Awaiting confirmation").first).to_be_visible()
    ui.shots(c, "15-portal-invoice-reported")

    # --- e. The owner confirms it ------------------------------------------------------------------
    o.goto("/payments?state=reported")
    expect(o.get_by_role("heading", name="Payments to confirm", level=1)).to_be_visible()
    row = o.locator("tr", has_text=PAYMENT_REFERENCE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(amount_text(due_now))
    ui.shots(o, "16-payments-to-confirm")
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
