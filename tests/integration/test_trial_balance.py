"""The trial balance as of any date: from the running balances, debits = credits, a CSV with no
formulas, a readable refusal of an unreadable date, owners only."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from portal_support import ACTOR, ANN, DAY, OWNER, TODAY, make_client, make_invoice, make_user, pay, sign_in
from sqlalchemy import update

from ais.billing import ledger, services
from ais.extensions import db
from ais.models import Account

D = Decimal


@pytest.fixture
def owner(app, actions, books):
    make_user(*OWNER)
    sign_in(actions, OWNER)
    return actions


def test_the_trial_balance_as_of_a_day_counts_what_was_posted_by_then(books):
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice_id = make_invoice(ann, "1120.00", issued=TODAY - 45 * DAY)
    pay(invoice_id, "500.00", on=TODAY - 2 * DAY, method="GCash")
    services.credit_invoice(ACTOR, invoice_id, D("112.00"), "Discount")
    before = ledger.trial_balance(TODAY - 3 * DAY)
    assert {row.code: (row.debit, row.credit) for row in before.rows} == {
        "1100": (D("1120.00"), D("0.00")),
        "2100": (D("0.00"), D("120.00")),
        "4000": (D("0.00"), D("1000.00")),
    }
    now = ledger.trial_balance(TODAY)
    assert {row.code: (row.debit, row.credit) for row in now.rows} == {
        "1020": (D("500.00"), D("0.00")),
        "1100": (D("508.00"), D("0.00")),
        "2100": (D("0.00"), D("108.00")),
        "4000": (D("0.00"), D("1000.00")),
        "4900": (D("100.00"), D("0.00")),
    }
    assert now.total_debit == now.total_credit == D("1108.00")
    assert ledger.trial_balance(TODAY - 60 * DAY).rows == []


def test_the_page_shows_each_balance_and_equal_totals(owner):
    ann = make_client("Ann Cruz", "ann@example.com")
    pay(make_invoice(ann, "1120.00"), "300.00", method="Cash")
    page = owner.client.get("/ledger/trial-balance")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1" in html and "Trial balance" in html
    assert "Cash on hand" in html and "Accounts receivable" in html
    assert html.count("1,120.00") >= 2  # total debits and total credits


def test_the_page_says_when_nothing_was_posted(owner):
    html = owner.client.get(f"/ledger/trial-balance?as_of={(TODAY - 400 * DAY).isoformat()}").get_data(as_text=True)
    assert "Nothing posted by" in html


@pytest.mark.parametrize("as_of", ["2026-02-30", "yesterday", "99999-01-01", "1800-01-01", "%00"])
def test_an_unreadable_date_is_refused_with_a_400(owner, as_of):
    assert owner.client.get("/ledger/trial-balance", query_string={"as_of": as_of}).status_code == 400
    assert owner.client.get("/ledger/trial-balance.csv", query_string={"as_of": as_of}).status_code == 400


def test_the_csv_has_every_balance_and_the_totals_and_no_formulas(owner):
    ann = make_client("Ann Cruz", "ann@example.com")
    make_invoice(ann, "1120.00")
    ledger.role_accounts()
    db.session.execute(update(Account).where(Account.code == "4000").values(name='=HYPERLINK("http://x","y")'))
    db.session.commit()
    response = owner.client.get(f"/ledger/trial-balance.csv?as_of={TODAY.isoformat()}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="trial-balance-{TODAY.isoformat()}.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["As of", TODAY.isoformat()]
    assert rows[1] == ["Code", "Account", "Type", "Debit", "Credit"]
    assert rows[2] == ["1100", "Accounts receivable", "asset", "1120.00", "0.00"]
    assert rows[3] == ["2100", "Output VAT payable", "liability", "0.00", "120.00"]
    assert rows[4] == ["4000", "'" + '=HYPERLINK("http://x","y")', "income", "0.00", "1000.00"]
    assert rows[-1] == ["", "Total", "", "1120.00", "1120.00"]


def test_a_client_cannot_see_the_trial_balance(app, actions, books):
    ann = make_client("Ann Cruz", "ann@example.com")
    make_user(*ANN, role="client", client_id=ann)
    sign_in(actions, ANN)
    for url in ("/ledger/trial-balance", "/ledger/trial-balance.csv"):
        assert actions.client.get(url).status_code in (302, 403, 404)
