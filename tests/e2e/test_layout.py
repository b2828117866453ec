"""Layout under awkward data: a 200-character name with no spaces, long references and invoice
numbers must wrap inside the page at 1280 and 375 px, and the two-part cells on phones ("GCash ·
reference", "invoice · installment") keep their parts together."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

LONG_NAME = "Maria" + "Dimaculangan" * 16  # 197 characters, not one space
LONG_REFERENCE = "GCASH-REF-" + "7" * 60
DESKTOP_WIDTH, PHONE_WIDTH = 1280, 375


@pytest.fixture
def long_named_client(e2e_app, issuing_profile):
    """A client with an unbreakable name, an issued invoice and a reported payment with a long reference."""
    from ais import clock
    from ais.audit import Actor
    from ais.billing import services
    from ais.billing.services import ClientInput, InvoiceInput, LineInput
    from ais.extensions import db

    actor = Actor.system("test")
    with issuing_profile(), e2e_app.app_context():
        today = clock.today()
        client_id = services.create_client(actor, ClientInput(name=LONG_NAME, email="long.name@example.com"))
        invoice_id = services.create_invoice(
            actor,
            InvoiceInput(
                client_id=client_id,
                issue_date=today - timedelta(days=40),
                due_date=today - timedelta(days=10),
                lines=[LineInput("Water pump " + "x" * 80, Decimal("1"), Decimal("12000.00"))],
                description="",
                payment_type="installment",
                installment_count=3,
                frequency="monthly",
            ),
        )
        services.report_payment(
            actor, client_id, invoice_id, Decimal("500.00"), today - timedelta(days=1), "GCash", LONG_REFERENCE
        )
        # A late fee on the overdue installment and a pending plan proposal: both show on the invoice.
        from ais.billing import late_fees, proposals
        from ais.models import Setting

        policy = late_fees.LateFeePolicy(True, "percent", Decimal("2.50"), 0, since=today - timedelta(days=400))
        db.session.add(Setting(key=late_fees.SETTING_KEY, value=policy.to_text()))
        db.session.commit()
        late_fees.charge_late_fees()
        proposals.propose_plan(actor, client_id, invoice_id, 6, today + timedelta(days=5))
        db.session.remove()
        db.engine.dispose()
    return client_id, invoice_id


def document_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_long_names_and_references_wrap_at_every_width(ui, owner, long_named_client):
    client_id, invoice_id = long_named_client
    context = ui.desktop()
    page = context.new_page()
    page.goto("/login")
    page.get_by_label(re.compile(r"^Username")).fill(owner.username)
    page.get_by_label(re.compile(r"^\s*Password(\s*\*)?\s*$")).fill(owner.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    pages = {
        "clients": "/clients",
        "client": f"/clients/{client_id}",
        "invoices": "/invoices",
        "invoice": f"/invoices/{invoice_id}",
        "payments": "/payments?state=reported",
        "late-fee-settings": "/settings/late-fees",
        "proposal-settings": "/settings/plan-proposals",
        "proposals": "/plan-proposals",
    }
    page.goto(f"/invoices/{invoice_id}")
    expect(page.get_by_role("heading", name="Late fees")).to_be_visible()
    expect(page.get_by_role("heading", name="The client proposes a new plan")).to_be_visible()
    for name, path in pages.items():
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert document_width(page) <= DESKTOP_WIDTH, f"{path} is {document_width(page)} px wide at 1280"
        phone_width = ui.shots(page, f"layout-{name}")
        assert phone_width <= PHONE_WIDTH + 1, f"{path} is {phone_width} px wide at 375"

    # At 1280 the confirmation queue keeps an invoice number on one line, and its state filter
    # shows the whole of the chosen state ("Awaiting confirmation", not "Awaiting confirr").
    page.goto("/payments?state=reported")
    number = page.get_by_role("link", name=re.compile(r"^INV-\d{4}-\d{4}$")).first
    lines = number.evaluate("(a) => a.getClientRects().length")
    assert lines == 1, f"the invoice number wraps over {lines} lines"
    state = page.get_by_label("State")
    room, needed = state.evaluate(
        """(select) => {
            const style = getComputedStyle(select);
            const context = document.createElement("canvas").getContext("2d");
            context.font = style.font;
            const text = select.options[select.selectedIndex].text;
            const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
            return [room, context.measureText(text).width];
        }"""
    )
    assert needed <= room, f"the state filter cuts its text ({needed:.0f} px in {room:.0f} px)"

    # On a phone the queue's "method · reference" cell keeps the method beside its label's row.
    phone = ui.phone(storage_state=context.storage_state())
    small = phone.new_page()
    small.goto("/payments?state=reported")
    cell = small.locator("td[data-label]", has_text="GCash").first
    label_box = small.evaluate(
        "(cell) => { const r = cell.getBoundingClientRect(); return [r.left, r.right]; }", cell.element_handle()
    )
    assert label_box[1] <= PHONE_WIDTH + 1
    ui.assert_clean()
