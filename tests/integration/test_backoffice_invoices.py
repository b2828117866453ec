"""The owner's invoice pages: the form (lines, terms, preview), drafts, issuing, the list's
filters and sorting, re-planning and voiding."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from backoffice_support import (
    DAY,
    TODAY,
    count,
    fresh,
    invoice,
    make_client,
    make_invoice,
    pay,
    report,
    sign_in_owner,
    text_of,
)
from sqlalchemy import select

from ais.models import Installment, Invoice, InvoiceLine

pytestmark = pytest.mark.usefixtures("books")


@pytest.fixture
def owner(actions):
    sign_in_owner(actions)


@pytest.fixture
def ann():
    return make_client("Ann Cruz", email="ann@example.com")


def invoice_form(client, lines=None, **fields):
    """What the form posts: lines as lines-N-description / -quantity / -unit_price / -vat (a line's
    fourth value "12" posts VATable, "" VAT-exempt; the test profile's prices include 12 % VAT)."""
    data = {
        "client_id": str(client),
        "description": "Office chairs",
        "issue_date": TODAY.isoformat(),
        "payment_type": "full",
        "due_date": (TODAY + 30 * DAY).isoformat(),
        "installment_count": "3",
        "frequency": "monthly",
        "action": "issue",
    }
    lines = lines if lines is not None else [("Chairs", "2", "1500.00", "12")]
    for index, (description, quantity, price, tax) in enumerate(lines):
        data[f"lines-{index}-description"] = description
        data[f"lines-{index}-quantity"] = quantity
        data[f"lines-{index}-unit_price"] = price
        data[f"lines-{index}-vat"] = {"12": "vatable", "": "exempt"}.get(tax, tax)
    data.update(fields)
    return data


def schedule_of(invoice_id):
    return [
        (i.number, i.due_date, i.amount)
        for i in fresh().scalars(
            select(Installment).where(Installment.invoice_id == invoice_id).order_by(Installment.number)
        )
    ]


# --- Creating ---------------------------------------------------------------------------------------


def test_the_new_invoice_form_has_three_empty_lines_and_an_add_line_button(client, owner, ann):
    html = text_of(client.get("/invoices/new"))
    for index in range(3):
        assert f'name="lines-{index}-description"' in html
    assert 'name="lines-3-description"' not in html
    assert "data-add-line" in html and 'id="line-template"' in html
    assert "/static/js/invoice-form.js" in html
    assert "Save draft" in html and "Issue invoice" in html


def test_the_form_can_start_with_a_client_chosen(client, owner, ann):
    html = text_of(client.get(f"/invoices/new?client={ann}"))
    assert f'<option selected value="{ann}">' in html or f'value="{ann}" selected' in html


def test_issuing_a_full_payment_invoice(client, actions, owner, ann):
    response = actions.post("/invoices/new", invoice_form(ann))
    assert response.status_code == 302
    saved = fresh().scalar(select(Invoice))
    assert saved.invoice_no == "INV-2026-0001"
    # 2 x 1,500.00 VAT-inclusive: VAT 3,000.00 x 12/112 = 321.43, net 2,678.57
    assert saved.amount == Decimal("3000.00")
    assert schedule_of(saved.id) == [(1, TODAY + 30 * DAY, Decimal("3000.00"))]
    line = fresh().scalar(select(InvoiceLine))
    assert (line.vat_treatment, line.net_amount, line.tax_amount) == ("vatable", Decimal("2678.57"), Decimal("321.43"))
    page = text_of(client.get(response.headers["Location"]))
    assert "The invoice was issued." in page and "INV-2026-0001" in page and "Pending" in page


def test_issuing_an_installment_plan_makes_the_schedule(client, actions, owner, ann):
    form = invoice_form(
        ann,
        lines=[("Sofa", "1", "1000.00", "")],
        payment_type="installment",
        due_date="2026-03-31",
        installment_count="3",
        frequency="monthly",
    )
    actions.post("/invoices/new", form)
    saved = fresh().scalar(select(Invoice))
    assert saved.payment_type == "installment" and saved.installment_count == 3
    # Equal parts rounded down, the leftover cent last; monthly dates keep the 31st where they can.
    assert schedule_of(saved.id) == [
        (1, date(2026, 3, 31), Decimal("333.33")),
        (2, date(2026, 4, 30), Decimal("333.33")),
        (3, date(2026, 5, 31), Decimal("333.34")),
    ]


def test_several_lines_including_ones_added_by_the_script(client, actions, owner, ann):
    form = invoice_form(ann, lines=[("Chairs", "2", "10.005", ""), ("", "", "", ""), ("Desk", "1.5", "100", "12")])
    form.update(
        {"lines-7-description": "Lamp", "lines-7-quantity": "3", "lines-7-unit_price": "9.99", "lines-7-vat": "exempt"}
    )
    actions.post("/invoices/new", form)
    lines = list(fresh().scalars(select(InvoiceLine).order_by(InvoiceLine.position)))
    assert [(line.description, line.net_amount, line.tax_amount) for line in lines] == [
        ("Chairs", Decimal("20.01"), Decimal("0.00")),  # 20.010 rounds half-up to 20.01
        ("Desk", Decimal("133.93"), Decimal("16.07")),  # 150.00 including VAT of 150 x 12/112
        ("Lamp", Decimal("29.97"), Decimal("0.00")),
    ]
    assert fresh().scalar(select(Invoice.amount)) == Decimal("199.98")


def test_saving_a_draft_gives_no_number_and_no_schedule(client, actions, owner, ann):
    response = actions.post("/invoices/new", invoice_form(ann, action="draft"))
    saved = fresh().scalar(select(Invoice))
    assert saved.invoice_no is None and saved.issued_at is None
    assert count(Installment) == 0
    page = text_of(client.get(response.headers["Location"]))
    assert "Draft" in page and "Issue invoice" in page and "Delete draft" in page


@pytest.mark.parametrize(
    "line, message",
    [
        (("Chairs", "abc", "10", ""), "Quantity must be a number"),
        (("Chairs", "0", "10", ""), "Quantity must be greater than zero."),
        (("Chairs", "-2", "10", ""), "Quantity must be greater than zero."),
        (("Chairs", "1.2345", "10", ""), "Quantity can have at most 3 decimal places."),
        (("Chairs", "NaN", "10", ""), "Quantity must be a number"),
        (("Chairs", "1", "ten", ""), "Unit price must be a number"),
        (("Chairs", "1", "-5", ""), "Unit price cannot be negative."),
        (("Chairs", "1", "10.00001", ""), "Unit price can have at most 4 decimal places."),
        (("Chairs", "1", "1e3", ""), "Unit price must be a number"),
        (("Chairs", "1", "10", "vat-free"), "Choose VATable, VAT-exempt or zero-rated."),
        (("", "1", "10", ""), "Enter a description."),
        (("Chairs", "", "10", ""), "Enter a value for quantity."),
    ],
)
def test_a_bad_line_is_refused_next_to_its_field_and_nothing_is_written(client, actions, owner, ann, line, message):
    response = actions.post("/invoices/new", invoice_form(ann, lines=[line]))
    assert response.status_code == 200
    html = text_of(response)
    assert message in html
    assert "Nothing was saved" in html
    assert 'aria-invalid="true"' in html
    assert count(Invoice) == 0 and count(InvoiceLine) == 0


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"client_id": ""}, "Choose a client."),
        ({"client_id": "999"}, "Choose a client."),
        ({"issue_date": "31/31/2026"}, "Not a valid date value."),
        ({"due_date": ""}, "Enter a date"),
        ({"due_date": (TODAY - DAY).isoformat()}, "The due date cannot be before the issue date."),
        ({"payment_type": "installment", "installment_count": "1"}, "2 to 120 installments"),
        ({"payment_type": "installment", "installment_count": "abc"}, "2 to 120"),
        ({"payment_type": "installment", "installment_count": "500"}, "2 to 120 installments"),
        ({"payment_type": "installment", "frequency": "yearly"}, "Not a valid choice"),
    ],
)
def test_bad_terms_are_refused_and_nothing_is_written(client, actions, owner, ann, fields, message):
    response = actions.post("/invoices/new", invoice_form(ann, **fields))
    assert response.status_code == 200
    assert message in text_of(response)
    assert count(Invoice) == 0


def test_an_invoice_without_lines_is_refused(client, actions, owner, ann):
    response = actions.post("/invoices/new", invoice_form(ann, lines=[("", "", "", "")] * 3))
    assert "Add at least one line." in text_of(response)
    assert count(Invoice) == 0


def test_a_zero_total_is_refused(client, actions, owner, ann):
    response = actions.post("/invoices/new", invoice_form(ann, lines=[("Free sample", "1", "0", "")]))
    assert "The invoice total must be above zero." in text_of(response)
    assert count(Invoice) == 0


def test_a_full_payment_ignores_a_stray_installment_count(client, actions, owner, ann):
    actions.post("/invoices/new", invoice_form(ann, installment_count="abc"))
    assert count(Invoice) == 1


def test_the_update_preview_button_saves_nothing(client, actions, owner, ann):
    response = actions.post("/invoices/new", invoice_form(ann, action="preview"))
    assert response.status_code == 200
    assert "₱3,000.00" in text_of(response)  # VAT-inclusive prices: the total is the prices
    assert count(Invoice) == 0


# --- Preview ----------------------------------------------------------------------------------------


def test_the_preview_uses_the_real_rules(client, owner):
    response = client.get(
        "/invoices/preview",
        query_string={
            "lines-0-description": "A",
            "lines-0-quantity": "3",
            "lines-0-unit_price": "0.335",
            "lines-0-vat": "vatable",
            "lines-1-description": "B",
            "lines-1-quantity": "x",
            "lines-1-unit_price": "1",
            "payment_type": "installment",
            "installment_count": "3",
            "frequency": "monthly",
            "due_date": "2026-01-31",
        },
    )
    data = response.get_json()
    # 1.005 rounds half-up to 1.01, VAT included: 1.01 x 12/112 = 0.108 -> 0.11, net 0.90
    assert (data["lines"][0]["net"], data["lines"][0]["tax"]) == ("₱0.90", "₱0.11")
    assert "number" in data["lines"][1]["error"]
    assert data["total"] == "₱1.01"
    assert [(item["due_iso"], item["amount"]) for item in data["schedule"]] == [
        ("2026-01-31", "₱0.33"),
        ("2026-02-28", "₱0.33"),
        ("2026-03-31", "₱0.35"),
    ]


def test_the_preview_explains_why_there_is_no_schedule(client, owner):
    data = client.get("/invoices/preview").get_json()
    assert data["total"] == "₱0.00" and data["schedule"] == []
    assert "Add a line" in data["message"]


def test_the_preview_is_for_owners_only(client):
    assert client.get("/invoices/preview").status_code == 302


# --- Drafts -----------------------------------------------------------------------------------------


def test_editing_a_draft_replaces_its_lines(client, actions, owner, ann):
    draft = make_invoice(ann, "100.00", issued=TODAY, issue=False)
    html = text_of(client.get(f"/invoices/{draft}/edit"))
    assert 'value="Goods"' in html and 'value="100"' in html
    assert 'name="lines-2-description"' in html  # the line plus two empty rows
    actions.post(f"/invoices/{draft}/edit", invoice_form(ann, lines=[("Tables", "4", "25", "")], action="draft"))
    saved = invoice(draft)
    assert saved.is_draft and saved.amount == Decimal("100.00")
    assert [line.description for line in saved.lines] == ["Tables"]


def test_editing_and_issuing_a_draft(client, actions, owner, ann):
    draft = make_invoice(ann, "100.00", issued=TODAY, issue=False)
    actions.post(f"/invoices/{draft}/edit", invoice_form(ann))
    assert invoice(draft).invoice_no == "INV-2026-0001"


def test_an_issued_invoice_cannot_be_edited(client, actions, owner, ann):
    issued = make_invoice(ann, "100.00")
    response = client.get(f"/invoices/{issued}/edit")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/invoices/{issued}")
    actions.post(f"/invoices/{issued}/edit", invoice_form(ann, lines=[("Changed", "1", "1", "")]))
    assert invoice(issued).amount == Decimal("100.00")


def test_issuing_a_draft_from_its_page(client, actions, owner, ann):
    draft = make_invoice(ann, "100.00", issued=TODAY, issue=False)
    response = actions.post(f"/invoices/{draft}/issue", follow_redirects=True)
    assert "Invoice INV-2026-0001 was issued." in text_of(response)
    assert len(schedule_of(draft)) == 1


def test_deleting_a_draft(client, actions, owner, ann):
    draft = make_invoice(ann, "100.00", issued=TODAY, issue=False)
    response = actions.post(f"/invoices/{draft}/delete", follow_redirects=True)
    assert "The draft was deleted." in text_of(response)
    assert count(Invoice) == 0


def test_an_issued_invoice_cannot_be_deleted(client, actions, owner, ann):
    issued = make_invoice(ann, "100.00")
    response = actions.post(f"/invoices/{issued}/delete", follow_redirects=True)
    assert "Issued invoices are voided, not deleted." in text_of(response)
    assert count(Invoice) == 1


# --- The invoice page -------------------------------------------------------------------------------


def test_the_invoice_page_shows_lines_schedule_and_payments(client, actions, owner, ann):
    plan = make_invoice(ann, "900.00", issued=TODAY - 40 * DAY, due=TODAY - 10 * DAY, count=3)
    pay(plan, "400.00", on=TODAY - 5 * DAY, reference="OR-77")
    report(plan, "50.00")
    html = text_of(client.get(f"/invoices/{plan}"))
    assert "INV-2026-0001" in html and "Ann Cruz" in html
    assert "₱900.00" in html and "₱400.00" in html and "₱500.00" in html  # amount, paid, balance
    assert "₱50.00" in html  # awaiting confirmation
    assert "Paid" in html and "Partly paid" in html and "Pending" in html  # installments 1, 2, 3
    assert "OR-77" in html and "Confirmed" in html and "Awaiting confirmation" in html
    assert "Record a payment" in html and "Re-plan" in html and "Void invoice" in html
    # Due now: installment 1's unpaid 0.00 + ... = what is due on or before today (none) -> next unpaid.
    assert 'name="amount"' in html


# --- Re-plan and void -------------------------------------------------------------------------------


def test_replanning_spreads_the_unpaid_balance(client, actions, owner, ann):
    plan = make_invoice(ann, "900.00", issued=TODAY - 40 * DAY, due=TODAY - 10 * DAY, count=3)
    pay(plan, "400.00", on=TODAY - 5 * DAY)
    response = actions.post(
        f"/invoices/{plan}/replan", {"installment_count": "2", "frequency": "weekly", "first_due": "2026-04-06"}
    )
    assert response.status_code == 302
    assert schedule_of(plan) == [  # in due-date order: the new ones start on or after #2's date
        (1, TODAY - 10 * DAY, Decimal("300.00")),  # fully paid: kept
        (2, date(2026, 4, 6), Decimal("100.00")),  # partly paid: cut to what was paid
        (3, date(2026, 4, 6), Decimal("250.00")),
        (4, date(2026, 4, 13), Decimal("250.00")),
    ]
    assert "re-planned" in text_of(client.get(f"/invoices/{plan}"))


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"installment_count": "0"}, "Choose 1 to 120 installments."),
        ({"installment_count": "x"}, "Not a valid integer value."),
        ({"first_due": ""}, "Enter a date"),
        ({"first_due": "2020-01-01"}, "The first new due date cannot be before the issue date."),
    ],
)
def test_a_bad_replan_is_refused_and_changes_nothing(client, actions, owner, ann, fields, message):
    plan = make_invoice(ann, "900.00", count=3)
    before = schedule_of(plan)
    data = {"installment_count": "2", "frequency": "monthly", "first_due": "2026-04-01"}
    data.update(fields)
    response = actions.post(f"/invoices/{plan}/replan", data)
    assert response.status_code == 200
    assert message in text_of(response)
    assert schedule_of(plan) == before


def test_voiding_an_invoice_needs_a_reason(client, actions, owner, ann):
    issued = make_invoice(ann, "100.00")
    response = actions.post(f"/invoices/{issued}/void", {"reason": "  "})
    assert response.status_code == 200
    assert "Give a reason for voiding the invoice." in text_of(response)
    assert not invoice(issued).is_void
    actions.post(f"/invoices/{issued}/void", {"reason": "Billed twice"})
    saved = invoice(issued)
    assert saved.is_void and saved.void_reason == "Billed twice"
    html = text_of(client.get(f"/invoices/{issued}"))
    assert "This invoice is void." in html and "Billed twice" in html


def test_an_invoice_with_confirmed_payments_cannot_be_voided(client, actions, owner, ann):
    issued = make_invoice(ann, "100.00")
    pay(issued, "10.00")
    response = actions.post(f"/invoices/{issued}/void", {"reason": "Mistake"})
    assert "Void them first" in text_of(response) or "void or refund them first" in text_of(response)
    assert not invoice(issued).is_void


# --- The list ---------------------------------------------------------------------------------------


@pytest.fixture
def many(ann):
    """One invoice in each status, for the list's filters."""
    ben = make_client("Ben Reyes")
    ids = {
        "paid": make_invoice(ann, "100.00", issued=TODAY - 50 * DAY, due=TODAY - 40 * DAY),
        "overdue": make_invoice(ben, "200.00", issued=TODAY - 30 * DAY, due=TODAY - 1 * DAY),
        "partial": make_invoice(ann, "300.00", issued=TODAY - 20 * DAY, due=TODAY + 5 * DAY),
        "pending": make_invoice(ben, "400.00", issued=TODAY - 10 * DAY, due=TODAY),
        "void": make_invoice(ann, "500.00", issued=TODAY - 5 * DAY),
        "draft": make_invoice(ben, "600.00", issued=TODAY, issue=False),
    }
    pay(ids["paid"], "100.00")
    pay(ids["partial"], "50.00")
    from backoffice_support import ACTOR

    from ais.billing import services

    services.void_invoice(ACTOR, ids["void"], "Wrong client")
    return {"ann": ann, "ben": ben, **ids}


def listed(html) -> list[str]:
    """The invoice numbers (or draft labels) in the list, in order."""
    return re.findall(r'class="fw-semibold doc-no" href="/invoices/\d+">([^<]+)</a>', html)


NUMBERS = {
    "paid": "INV-2026-0001",
    "overdue": "INV-2026-0002",
    "partial": "INV-2026-0003",
    "pending": "INV-2026-0004",
    "void": "INV-2026-0005",
}


@pytest.mark.parametrize("status", ["paid", "overdue", "partial", "pending", "void", "draft"])
def test_the_status_filter_returns_exactly_that_status(client, owner, many, status):
    shown = listed(text_of(client.get(f"/invoices?status={status}")))
    expected = NUMBERS.get(status) or f"Draft #{many['draft']}"
    assert shown == [expected]


def test_the_client_filter(client, owner, many):
    shown = listed(text_of(client.get(f"/invoices?client={many['ben']}")))
    assert sorted(shown) == sorted(["INV-2026-0002", "INV-2026-0004", f"Draft #{many['draft']}"])


def test_the_issue_date_range_filter(client, owner, many):
    query = {"date_from": (TODAY - 25 * DAY).isoformat(), "date_to": (TODAY - 8 * DAY).isoformat()}
    assert sorted(listed(text_of(client.get("/invoices", query_string=query)))) == ["INV-2026-0003", "INV-2026-0004"]


def test_a_date_that_cannot_be_read_is_reported_not_a_crash(client, owner, many):
    response = client.get("/invoices?date_from=yesterday")
    assert response.status_code == 200
    assert "Not a valid date value." in text_of(response)


def test_searching_by_invoice_number(client, owner, many):
    assert listed(text_of(client.get("/invoices?q=0003"))) == ["INV-2026-0003"]
    assert listed(text_of(client.get("/invoices?q=inv-2026-000"))) != []
    assert "No invoices match" in text_of(client.get("/invoices?q=NOPE"))


@pytest.mark.parametrize(
    "sort, direction, expected",
    [
        ("amount", "asc", ["0001", "0002", "0003", "0004", "0005", "draft"]),
        ("amount", "desc", ["draft", "0005", "0004", "0003", "0002", "0001"]),
        ("number", "asc", ["0001", "0002", "0003", "0004", "0005", "draft"]),
        ("number", "desc", ["0005", "0004", "0003", "0002", "0001", "draft"]),
        ("issue_date", "desc", ["draft", "0005", "0004", "0003", "0002", "0001"]),
        # Balance: paid, void and draft owe nothing; then 200, 250, 400.
        ("balance", "desc", ["0004", "0003", "0002"]),
    ],
)
def test_sorting(client, owner, many, sort, direction, expected):
    shown = listed(text_of(client.get(f"/invoices?sort={sort}&dir={direction}")))
    shown = ["draft" if s.startswith("Draft") else s[-4:] for s in shown]
    assert shown[: len(expected)] == expected


def test_the_sort_control_names_column_and_direction_together(client, owner, many):
    # The form's one select ("-number": highest first) sorts as the header link does, and shows
    # the choice that is in force, whichever of the two asked for it.
    from_form = text_of(client.get("/invoices?sort=-number"))
    from_header = text_of(client.get("/invoices?sort=number&dir=desc"))
    assert listed(from_form) == listed(from_header)
    for html in (from_form, from_header):
        assert re.search(r'<option selected value="-number">Number, highest first</option>', html), html
        assert ">Order<" not in html and "Ascending" not in html
    default = text_of(client.get("/invoices"))
    assert re.search(r'<option selected value="">Latest issued first</option>', default)
    assert listed(text_of(client.get("/invoices?sort=-nonsense"))) == listed(default)


def test_sorting_by_client_name(client, owner, many):
    html = text_of(client.get("/invoices?sort=client&dir=desc"))
    assert html.index(">Ben Reyes</a>") < html.index(">Ann Cruz</a>")
    assert 'aria-sort="descending"' in html


def test_the_list_pages_25_at_a_time_and_keeps_the_filters(client, owner, ann):
    for _ in range(30):
        make_invoice(ann, "10.00", due=TODAY + 10 * DAY)
    first = text_of(client.get("/invoices?status=pending&sort=number&dir=asc"))
    assert len(listed(first)) == 25 and "Showing 1–25 of 30" in first
    next_link = re.search(r'href="([^"]+)" rel="next"', first).group(1)
    assert "page=2" in next_link and "status=pending" in next_link and "sort=number" in next_link
    second = listed(text_of(client.get("/invoices?status=pending&sort=number&dir=asc&page=2")))
    assert second == [f"INV-2026-{n:04d}" for n in range(26, 31)]
