"""The business profile (the seller on every sales invoice) and VAT on invoices: the settings
page, its audit entry, and invoices priced and issued with it."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from backoffice_support import ACTOR, TODAY, count, fresh, make_client, sign_in_owner, text_of
from sqlalchemy import delete, select

from ais.billing import services
from ais.billing.checks import find_problems
from ais.billing.services import InvoiceInput, LineInput, ProfileInput
from ais.extensions import db
from ais.models import AuditEntry, BusinessProfile, Invoice

D = Decimal
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def owner(actions, books):
    sign_in_owner(actions)


def profile_form(**fields):
    data = {
        "registered_name": "Cruz Furniture Trading Corp.",
        "trade_name": "Cruz Furniture",
        "tin": "008 123 456 00001",
        "address": "12 Jupiter St., Makati City",
        "vat_registered": "yes",
        "vat_rate": "12",
        "prices_include_vat": "exclusive",
        "footer": "Acknowledgement Certificate No. 123\nSeries INV-2026-0001 to INV-2026-9999",
    }
    data.update(fields)
    return data


def invoice_input(client_id, *lines):
    return InvoiceInput(
        client_id=client_id,
        issue_date=TODAY,
        due_date=TODAY,
        lines=list(lines) or [LineInput("Chairs", D("2"), D("1500.00"))],
    )


def set_profile(**changes):
    values = dict(
        registered_name="Cruz Furniture Trading Corp.",
        tin="008-123-456-00001",
        address="Makati City",
        vat_registered=True,
    )
    values.update(changes)
    services.save_business_profile(ACTOR, ProfileInput(**values))


# --- The settings page ------------------------------------------------------------------------------


def test_the_owner_saves_the_profile_and_it_is_audited(client, actions, owner):
    response = actions.post("/settings/business", profile_form())
    assert response.status_code == 302
    profile = fresh().get(BusinessProfile, 1)
    assert (profile.registered_name, profile.tin, profile.vat_registered, profile.prices_include_vat) == (
        "Cruz Furniture Trading Corp.",
        "008-123-456-00001",
        True,
        False,
    )
    assert profile.vat_rate == D("12.00") and profile.footer.splitlines()[0] == "Acknowledgement Certificate No. 123"
    entry = fresh().scalar(select(AuditEntry).where(AuditEntry.action == "business.profile_updated"))
    assert entry is not None and "registered name" in entry.detail and "tin" in entry.detail
    page = text_of(client.get("/settings/business"))
    assert "The business profile was saved." in page and "008-123-456-00001" in page


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"registered_name": " "}, "Enter the registered name"),
        ({"tin": "123-456-789"}, "5-digit branch code"),
        ({"tin": "abc"}, "Enter the TIN as digits"),
        ({"address": ""}, "Enter the registered business address."),
        ({"vat_registered": ""}, "Say whether the business is VAT-registered."),
        ({"vat_rate": "0"}, "The VAT rate must be above 0"),
        ({"vat_rate": "x"}, "The VAT rate must be above 0"),
    ],
)
def test_a_bad_profile_is_refused_next_to_the_field_and_nothing_changes(client, actions, owner, fields, message):
    before = fresh().get(BusinessProfile, 1).registered_name
    response = actions.post("/settings/business", profile_form(**fields))
    assert response.status_code == 200
    html = text_of(response)
    assert message in html and "invalid-feedback" in html
    assert fresh().get(BusinessProfile, 1).registered_name == before
    assert count(AuditEntry) == 0 or not fresh().scalar(
        select(AuditEntry).where(AuditEntry.action == "business.profile_updated")
    )


def test_a_png_logo_is_kept_and_served_and_a_disguised_file_is_refused(client, actions, owner):
    response = actions.post(
        "/settings/business",
        {**profile_form(), "logo": (io.BytesIO(PNG), "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    logo = client.get("/settings/business/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/png" and logo.data == PNG
    assert "sandbox" in logo.headers["Content-Security-Policy"]

    script = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = actions.post(
        "/settings/business",
        {**profile_form(), "logo": (io.BytesIO(script), "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "contains &lt;script&gt;" in text_of(response)
    assert fresh().get(BusinessProfile, 1).logo == PNG  # the first logo is still the one


def test_clients_cannot_open_the_profile(client, actions, books):
    from backoffice_support import CLIENT_PASSWORD, make_user, sign_in

    ann = make_client("Ann Cruz", email="ann@example.com")
    make_user("ann@example.com", CLIENT_PASSWORD, role="client", client_id=ann)
    sign_in(actions, "ann@example.com", CLIENT_PASSWORD)
    assert client.get("/settings/business").status_code in (403, 404)
    assert client.get("/settings/business/logo").status_code in (403, 404)


# --- Issuing ------------------------------------------------------------------------------------------


def test_nothing_is_issued_until_the_profile_is_complete(books):
    db.session.execute(delete(BusinessProfile))
    db.session.commit()
    client_id = make_client()
    with pytest.raises(services.ProfileIncomplete) as refused:
        services.create_invoice(ACTOR, invoice_input(client_id))
    assert "registered name" in refused.value.message and "TIN" in refused.value.message
    assert count(Invoice) == 0  # nothing written, not even the draft
    draft = services.save_draft(ACTOR, invoice_input(client_id))  # a draft may wait for the profile
    with pytest.raises(services.ProfileIncomplete):
        services.issue_invoice(ACTOR, draft)
    assert fresh().get(Invoice, draft).invoice_no is None


def test_the_issue_button_says_what_the_profile_lacks(client, actions, owner):
    fresh().execute(delete(BusinessProfile))
    db.session.commit()
    ann = make_client("Ann Cruz", email="ann@example.com")
    page = text_of(client.get("/invoices/new"))
    assert "nothing can be issued until the" in page
    form = {
        "client_id": str(ann),
        "issue_date": TODAY.isoformat(),
        "due_date": TODAY.isoformat(),
        "payment_type": "full",
        "installment_count": "3",
        "frequency": "monthly",
        "action": "issue",
        "lines-0-description": "Chairs",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "100",
    }
    response = actions.post("/invoices/new", form)
    assert response.status_code == 200 and "Complete the business profile" in text_of(response)
    assert count(Invoice) == 0


def test_exclusive_prices_add_vat_and_the_invoice_stores_its_summary(books):
    set_profile(prices_include_vat=False)
    client_id = make_client()
    invoice_id = services.create_invoice(
        ACTOR,
        invoice_input(
            client_id,
            LineInput("Chairs", D("2"), D("1500.00")),
            LineInput("Books", D("1"), D("500.00"), "exempt"),
            LineInput("Export crate", D("1"), D("250.50"), "zero_rated"),
        ),
    )
    invoice = fresh().get(Invoice, invoice_id)
    assert (invoice.vatable_sales, invoice.vat_amount, invoice.exempt_sales, invoice.zero_rated_sales) == (
        D("3000.00"),
        D("360.00"),
        D("500.00"),
        D("250.50"),
    )
    assert invoice.amount == D("4110.50") and invoice.seller_vat_registered and not invoice.prices_include_vat
    assert invoice.vat_rate == D("12.00")
    assert [line.tax_rate for line in invoice.lines] == [D("12.00"), None, None]


def test_a_seller_who_is_not_vat_registered_charges_no_vat(books):
    set_profile(vat_registered=False)
    client_id = make_client()
    invoice_id = services.create_invoice(
        ACTOR, invoice_input(client_id, LineInput("Chairs", D("2"), D("1500.00"), "vatable"))
    )
    invoice = fresh().get(Invoice, invoice_id)
    assert invoice.amount == D("3000.00") and invoice.vat_amount == 0 and invoice.vatable_sales == 0
    assert not invoice.seller_vat_registered and invoice.lines[0].vat_treatment is None


def test_a_draft_priced_before_the_vat_settings_changed_must_be_saved_again(books):
    client_id = make_client()
    draft = services.save_draft(ACTOR, invoice_input(client_id))
    set_profile(prices_include_vat=False)
    with pytest.raises(services.InvalidTransition) as refused:
        services.issue_invoice(ACTOR, draft)
    assert "save it again" in refused.value.message
    services.save_draft(ACTOR, invoice_input(client_id), invoice_id=draft)
    services.issue_invoice(ACTOR, draft)
    assert fresh().get(Invoice, draft).amount == D("3360.00")


def test_check_finds_a_vat_summary_that_differs_from_the_lines(books):
    client_id = make_client()
    invoice_id = services.create_invoice(ACTOR, invoice_input(client_id))
    invoice = db.session.get(Invoice, invoice_id)
    invoice.vat_amount += D("0.01")
    db.session.commit()
    problems = find_problems()
    assert any("VAT is" in problem and "lines add up to" in problem for problem in problems)
    invoice = db.session.get(Invoice, invoice_id)
    invoice.vat_amount -= D("0.01")
    db.session.commit()
