"""Collections in a real browser: the owner's aging report, its drill-down and a client's
statement, and the client's own statement and reminder choice, at 1280 and 375 px, checked with
axe-core (no serious or critical WCAG 2 A/AA violation) and without sideways scrolling at 375 px."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from test_journey import no_sideways_scroll, sign_in

pytestmark = pytest.mark.e2e

CLIENT_EMAIL = "marites.villanueva@example.com"
CLIENT_PASSWORD = "Calamansi-River-77"


@pytest.fixture(scope="module")
def books(e2e_app, issuing_profile):
    """A client with an overdue installment plan, part paid, and a login (once for the module)."""
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
            actor, services.ClientInput(name="Marites Villanueva", email=CLIENT_EMAIL, company="Villanueva Bakery")
        )
        invoice_id = services.create_invoice(
            actor,
            services.InvoiceInput(
                client_id=client_id,
                issue_date=today - timedelta(days=120),
                due_date=today - timedelta(days=100),
                lines=[services.LineInput("Oven and installation", Decimal("1"), Decimal("60000.00"))],
                payment_type="installment",
                installment_count=6,
                frequency="monthly",
            ),
        )
        services.record_payment(actor, invoice_id, Decimal("12500.00"), today - timedelta(days=50), "Bank transfer")
        db.session.add(
            User(
                username=CLIENT_EMAIL, role="client", client_id=client_id, password_hash=hash_password(CLIENT_PASSWORD)
            )
        )
        db.session.commit()
        db.session.remove()
    return client_id


def test_owner_reads_the_aging_report_and_a_statement(ui, owner, books):
    page = ui.desktop().new_page()
    sign_in(page, owner.username, owner.password)
    page.get_by_role("link", name="Aging").first.click()
    expect(page.get_by_role("heading", name="Aging report")).to_be_visible()
    expect(page.get_by_role("link", name="Marites Villanueva")).to_be_visible()
    no_sideways_scroll(ui.shots(page, "c1-aging-report"), "Aging report")
    page.get_by_role("link", name="Marites Villanueva").click()
    expect(page.get_by_role("heading", name="Marites Villanueva")).to_be_visible()
    no_sideways_scroll(ui.shots(page, "c2-aging-client"), "Aging drill-down")
    page.get_by_role("link", name="Statement").last.click()
    expect(page.get_by_role("heading", name="Statement of account", exact=True)).to_be_visible()
    expect(page.get_by_text("Closing balance").first).to_be_visible()
    no_sideways_scroll(ui.shots(page, "c3-statement-owner"), "Statement (back office)")
    page.goto("/dashboard")
    page.get_by_role("link", name="Forecast").click()
    expect(page.get_by_role("heading", name="Collections forecast")).to_be_visible()
    no_sideways_scroll(ui.shots(page, "c3b-forecast"), "Collections forecast")
    page.goto("/settings/reminders")
    expect(page.get_by_role("heading", name="Reminders", exact=True)).to_be_visible()
    ui.shots(page, "c4-reminder-settings")
    ui.assert_clean()


def test_client_reads_their_statement_and_turns_off_courtesy_reminders(ui, books):
    page = ui.desktop().new_page()
    sign_in(page, CLIENT_EMAIL, CLIENT_PASSWORD)
    page.get_by_role("link", name="Statement").first.click()
    expect(page).to_have_url(re.compile(r"/portal/statement$"))
    expect(page.get_by_role("heading", name="Statement of account", exact=True)).to_be_visible()
    no_sideways_scroll(ui.shots(page, "c5-statement-portal"), "Statement (portal)")
    page.goto("/portal/reminders")
    page.get_by_label("Remind me before and on due dates").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Overdue notices still come")).to_be_visible()
    no_sideways_scroll(ui.shots(page, "c6-portal-reminders"), "Reminders (portal)")
    ui.assert_clean()


def test_owner_notes_a_promise_to_pay_and_sees_it_on_the_aging_report(ui, owner, books):
    from ais import clock

    page = ui.desktop().new_page()
    sign_in(page, owner.username, owner.password)
    page.goto(f"/clients/{books}")
    page.get_by_label("Amount promised").fill("5000.00")
    page.get_by_label("Promised by").fill((clock.today() + timedelta(days=7)).isoformat())
    page.get_by_label("Note").fill("Promised on the phone: payday on Friday")
    page.get_by_role("button", name="Note the promise").click()
    expect(page.get_by_role("status").filter(has_text="Reminders to this client pause")).to_be_visible()
    expect(page.locator('#promises [data-promise="open"]')).to_be_visible()
    no_sideways_scroll(ui.shots(page, "c7-client-promise"), "Client page with a promise to pay")
    page.goto("/aging")
    expect(page.locator('[data-promise="open"]')).to_be_visible()
    no_sideways_scroll(ui.shots(page, "c8-aging-promise"), "Aging report with a promise to pay")
    ui.assert_clean()


def test_client_sees_what_settles_an_invoice_and_reports_that_amount(ui, books):
    page = ui.desktop().new_page()
    sign_in(page, CLIENT_EMAIL, CLIENT_PASSWORD)
    page.goto("/portal/invoices")
    page.get_by_role("link", name=re.compile(r"INV-")).first.click()
    expect(page.get_by_role("heading", name=re.compile("To settle this invoice today"))).to_contain_text("47,500.00")
    no_sideways_scroll(ui.shots(page, "c9-portal-payoff"), "Invoice with the payoff quote (portal)")
    page.get_by_role("link", name=re.compile(r"Report a payment of ₱47,500\.00")).click()
    expect(page.get_by_label("Amount you paid")).to_have_value("47500.00")
    ui.assert_clean()
