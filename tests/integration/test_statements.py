"""The statement of account (ais.billing.statements): opening balance, invoices and payments in
date order with the running balance, closing balance, the aging of what is open; the same numbers
as the aging report; in the portal (the client's own) and the back office."""

from __future__ import annotations

from decimal import Decimal

import pytest
from portal_support import (
    ACTOR,
    ANN,
    BEN,
    DAY,
    OWNER,
    TODAY,
    make_client,
    make_invoice,
    make_user,
    number_of,
    pay,
    report,
    sign_in,
    text_of,
)

from ais.billing import aging, services
from ais.billing.statements import statement_of_account

D = Decimal
START, END = TODAY - 40 * DAY, TODAY - 5 * DAY


@pytest.fixture
def ann_books(books):
    """Ann: an invoice before the period (part paid before, part in it), one in it (part paid in
    it, part after), a void one, a reported payment, and an invoice after the period."""
    ann = make_client("Ann Cruz", ANN[0])
    old = make_invoice(ann, "1000.00", issued=START - 30 * DAY, due=START - 20 * DAY)
    pay(old, "400.00", on=START - 10 * DAY)
    pay(old, "100.00", on=START + 3 * DAY, method="GCash", reference="G-1")
    new = make_invoice(ann, "900.00", issued=START + 3 * DAY, due=START + 10 * DAY, count=3)
    pay(new, "300.00", on=START + 20 * DAY)
    pay(new, "50.00", on=END + DAY)
    void = make_invoice(ann, "777.00", issued=START + 5 * DAY)
    services.void_invoice(ACTOR, void, "Raised twice")
    report(ann, new, "20.00", on=START + 21 * DAY)
    make_invoice(ann, "60.00", issued=END + 2 * DAY)
    return ann, old, new


def test_the_statement_runs_from_the_opening_to_the_closing_balance(ann_books):
    ann, old, new = ann_books
    statement = statement_of_account(ann, START, END)
    assert statement.opening == D("600.00")
    assert [
        (line.day, line.kind, line.invoice_id, line.charge, line.payment, line.balance) for line in statement.lines
    ] == [
        (START + 3 * DAY, "invoice", new, D("900.00"), None, D("1500.00")),  # invoices before payments on a day
        (START + 3 * DAY, "payment", old, None, D("100.00"), D("1400.00")),
        (START + 20 * DAY, "payment", new, None, D("300.00"), D("1100.00")),
    ]
    assert statement.lines[1].detail == "GCash G-1"
    assert statement.closing == D("1100.00") == statement.opening + statement.charges - statement.payments


def test_the_statement_agrees_with_the_aging_report(ann_books):
    ann, old, new = ann_books
    for end in (END, TODAY, START, START - 15 * DAY):
        statement = statement_of_account(ann, START - 60 * DAY, end)
        report_rows = {row.client_id: row.aging for row in aging.all_client_agings(end)}
        assert statement.aging == aging.client_aging(ann, end) == report_rows.get(ann, aging.Aging())
        assert statement.closing == statement.aging.total, end


def test_an_unknown_client_has_no_statement(books):
    assert statement_of_account(999, START, END) is None


def test_a_client_sees_their_own_statement_in_the_portal(app, actions, ann_books):
    ann, old, new = ann_books
    ben = make_client("Ben Santos", BEN[0])
    make_invoice(ben, "4321.09", issued=START + 4 * DAY)
    make_user(*ANN, role="client", client_id=ann)
    sign_in(actions, ANN)
    response = actions.client.get(f"/portal/statement?from={START.isoformat()}&to={END.isoformat()}&client={ben}")
    html = text_of(response)
    assert response.status_code == 200
    assert "Ann Cruz" in html and "Ben Santos" not in html and "4,321.09" not in html
    assert number_of(new) in html and "₱1,100.00" in html and "₱600.00" in html
    assert f'href="/portal/invoices/{new}"' in html


def test_the_owner_sees_a_clients_statement_and_previews_the_portal_one(app, actions, ann_books):
    ann, old, new = ann_books
    make_user(*OWNER)
    sign_in(actions, OWNER)
    html = text_of(actions.client.get(f"/clients/{ann}/statement?from={START.isoformat()}&to={END.isoformat()}"))
    assert "Statement of account" in html and "₱1,100.00" in html and f'href="/invoices/{new}"' in html
    preview = text_of(actions.client.get(f"/portal/statement?client={ann}&from={START.isoformat()}"))
    assert "Preview — viewing as Ann Cruz" in preview and f"/portal/invoices/{new}?client={ann}" in preview


@pytest.mark.parametrize(
    "query,status",
    [
        ("?from=2026-13-01", 400),
        ("?to=soon", 400),
        (f"?from={TODAY.isoformat()}&to={(TODAY - DAY).isoformat()}", 400),
        ("", 200),
    ],
)
def test_a_bad_period_is_a_clear_400(app, actions, books, query, status):
    ann = make_client("Ann Cruz", ANN[0])
    make_user(*ANN, role="client", client_id=ann)
    make_user(*OWNER)
    sign_in(actions, ANN)
    assert actions.client.get("/portal/statement" + query).status_code == status
    actions.logout()
    sign_in(actions, OWNER)
    assert actions.client.get(f"/clients/{ann}/statement" + query).status_code == status
    assert actions.client.get("/clients/999/statement").status_code == 404
