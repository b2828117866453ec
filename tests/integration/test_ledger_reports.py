"""The ledger's books and reports (docs/ACCOUNTING.md, "Reports") on a known set of operations:
the income statement's net income is sales less returns, the balance sheet balances, the
receivables sub-ledger ties to the open invoices and to the control account, the general ledger's
closing balance is the trial balance's and its running balance is right on every page, the books
list what was posted; each page, CSV (formula-safe) and PDF (read back with pdftotext) shows the
figures; bad dates, journals and ids are 400 and 404, never 500."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from portal_support import ACTOR, ANN, DAY, OWNER, TODAY, make_client, make_invoice, make_user, pay, sign_in
from sqlalchemy import func, select

from ais.billing import ledger, reports, services
from ais.extensions import db
from ais.models import Account, Client, ClientDayBalance, Invoice
from ais.pagination import PastLastPage

D = Decimal
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
pdftotext_missing = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (make install)")


def _account_id(code: str) -> int:
    return db.session.scalar(select(Account.id).where(Account.code == code))


def _operations() -> dict:
    """Ann: 1,120.00 invoiced on 30 Jan (1,000 + 120 VAT), 500.00 by GCash on 14 Mar, a credit note
    of 112.00 today (16 Mar).  Ben: 2,240.00 invoiced on 6 Mar, 240.00 in cash on 15 Mar."""
    ann = make_client("Ann Cruz", "ann@example.com")
    ben = make_client('=HYPERLINK("http://x","Ben")', "ben@example.com")
    ann_invoice = make_invoice(ann, "1120.00", issued=TODAY - 45 * DAY)
    pay(ann_invoice, "500.00", on=TODAY - 2 * DAY, method="GCash", reference="GC-777")
    services.credit_invoice(ACTOR, ann_invoice, D("112.00"), "Discount")
    ben_invoice = make_invoice(ben, "2240.00", issued=TODAY - 10 * DAY)
    pay(ben_invoice, "240.00", on=TODAY - DAY, method="Cash")
    return {"ann": ann, "ben": ben, "ann_invoice": ann_invoice, "ben_invoice": ben_invoice}


@pytest.fixture
def owner(app, actions, books):
    make_user(*OWNER)
    sign_in(actions, OWNER)
    return actions


@pytest.fixture
def ops(books):
    return _operations()


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv", response.status_code
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _pdf_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf", response.status_code
    assert response.data.startswith(b"%PDF")
    size = subprocess.run(["pdfinfo", "-"], input=response.data, capture_output=True, check=True).stdout.decode()
    assert any(a4 in size for a4 in ("595.276 x 841.89", "841.89 x 595.276"))  # A4 (the columnar books sideways)
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True, check=True
    ).stdout.decode()


# --- The figures ---------------------------------------------------------------------------------


def test_net_income_is_sales_less_returns(ops):
    march = reports.income_statement(TODAY.replace(day=1), TODAY.replace(day=31))
    assert {line.account.code: line.amount for line in march.income} == {"4000": D("2000.00")}
    assert {line.account.code: line.amount for line in march.returns} == {"4900": D("100.00")}
    assert (march.total_income, march.total_returns, march.net_sales) == (D("2000.00"), D("100.00"), D("1900.00"))
    assert march.net_income == D("1900.00") and march.expenses == []
    year = reports.income_statement(TODAY.replace(month=1, day=1), TODAY)
    assert year.net_income == D("3000.00") - D("100.00")
    # A period that starts and ends inside months (partial months at both ends).
    assert reports.income_statement(TODAY - 46 * DAY, TODAY - 3 * DAY).net_income == D("3000.00")
    assert reports.income_statement(TODAY - 44 * DAY, TODAY - 11 * DAY).net_income == D("0.00")


def test_the_balance_sheet_balances_with_the_year_s_earnings(ops):
    sheet = reports.balance_sheet(TODAY)
    assert {line.account.code: line.amount for line in sheet.assets} == {
        "1000": D("240.00"),
        "1020": D("500.00"),
        "1100": D("2508.00"),
    }
    assert {line.account.code: line.amount for line in sheet.liabilities} == {"2100": D("348.00")}
    assert sheet.total_assets == D("3248.00")
    assert (sheet.retained_earnings, sheet.current_earnings) == (D("0.00"), D("2900.00"))
    assert sheet.total_liabilities + sheet.total_equity == sheet.total_assets and sheet.difference == 0
    # A year later the same earnings are the years before's.
    later = reports.balance_sheet(TODAY.replace(year=2027))
    assert (later.retained_earnings, later.current_earnings, later.difference) == (D("2900.00"), D("0.00"), 0)


def test_the_sub_ledger_is_each_client_s_open_invoices_and_adds_up_to_the_control_account(ops):
    report = reports.receivables(TODAY, page=1)
    balances = {row.client_id: row.balance for row in report.clients.items}
    open_balances = dict(
        db.session.execute(
            select(Invoice.client_id, Invoice.amount - Invoice.paid_amount).where(Invoice.voided_at.is_(None))
        ).all()
    )
    assert balances == open_balances == {ops["ann"]: D("508.00"), ops["ben"]: D("2000.00")}
    control = next(row for row in ledger.trial_balance(TODAY).rows if row.code == "1100")
    assert report.control == sum(balances.values()) == control.debit == D("2508.00")
    # As of an earlier day: Ann's invoice alone.
    earlier = reports.receivables(TODAY - 20 * DAY, page=1)
    assert {row.client_id: row.balance for row in earlier.clients.items} == {ops["ann"]: D("1120.00"), ops["ben"]: 0}
    assert earlier.control == D("1120.00")


def test_the_sub_ledger_lists_and_counts_the_clients_with_receivable_lines(ops):
    """Every client with a running balance in the receivable account, by name, and no other: a
    client with no invoice is left out, one whose invoice is paid stays (with a zero balance)."""
    make_client("Cy Lim", "cy@example.com")  # no invoice, no line
    dee = make_client("dee Santos", "dee@example.com")
    pay(make_invoice(dee, "560.00", issued=TODAY - 5 * DAY), "560.00", on=TODAY - DAY)
    receivable = _account_id("1100")
    has_lines = (
        select(ClientDayBalance.day)
        .where(ClientDayBalance.account_id == receivable, ClientDayBalance.client_id == Client.id)
        .exists()
    )
    with_lines = list(
        db.session.scalars(select(Client.id).where(has_lines).order_by(func.lower(Client.name), Client.id))
    )
    assert sorted(with_lines) == sorted([ops["ann"], dee, ops["ben"]])  # (the order of "=" is the collation's)
    pages = [reports.receivables(TODAY, page=number, per_page=2) for number in (1, 2)]
    assert [row.client_id for page in pages for row in page.clients.items] == with_lines
    assert [(page.clients.total, page.clients.total_capped) for page in pages] == [(3, False)] * 2
    with pytest.raises(PastLastPage) as past_the_end:  # the app sends the reader to the last page
        reports.receivables(TODAY, page=3, per_page=2)
    assert past_the_end.value.last_page == 2
    rows = list(reports.receivables_rows(TODAY))
    assert [row.client_id for row in rows] == with_lines
    assert {row.client_id: row.balance for row in rows} == {ops["ann"]: D("508.00"), dee: 0, ops["ben"]: D("2000.00")}


def test_a_client_s_receivable_lines_run_to_their_balance(ops):
    report = reports.client_ledger(ops["ann"], TODAY.replace(day=1), TODAY, page=1)
    assert report.opening == D("1120.00")
    assert [(line.debit, line.credit, line.balance) for line in report.lines.items] == [
        (D("0.00"), D("500.00"), D("620.00")),
        (D("0.00"), D("112.00"), D("508.00")),
    ]
    assert report.closing == D("508.00")
    assert reports.client_ledger(10**6, TODAY, TODAY, page=1) is None


def test_the_general_ledger_closes_at_the_trial_balance(ops):
    receivable = _account_id("1100")
    report = reports.general_ledger(receivable, TODAY.replace(day=1), TODAY.replace(day=31))
    assert report.opening == D("1120.00")
    assert [(line.entry_ref, line.debit, line.credit, line.balance) for line in report.lines] == [
        ("SJ-2", D("2240.00"), D("0.00"), D("3360.00")),
        ("CR-1", D("0.00"), D("500.00"), D("2860.00")),
        ("CR-2", D("0.00"), D("240.00"), D("2620.00")),
        ("GJ-1", D("0.00"), D("112.00"), D("2508.00")),
    ]
    assert (report.debits, report.credits, report.closing) == (D("2240.00"), D("852.00"), D("2508.00"))
    trial = {row.account_id: row.debit - row.credit for row in ledger.trial_balance(TODAY.replace(day=31)).rows}
    for account_id, balance in trial.items():
        assert reports.general_ledger(account_id, TODAY.replace(day=1), TODAY.replace(day=31)).closing == balance


def test_the_running_balance_is_right_on_every_page(books):
    """Twenty-two payments over February and March: page N's first balance, computed from the
    running balances and one month's lines, equals the running balance of the whole listing."""
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "10000.00", issued=TODAY - 60 * DAY)
    for number in range(22):
        pay(invoice, f"{10 + number}.00", on=TODAY - (44 - number * 2) * DAY, method="Cash")
    cash = _account_id("1000")
    start, end = TODAY - 50 * DAY, TODAY
    whole = reports.general_ledger(cash, start, end, page=None)
    assert len(whole.lines) == 22
    for per_page in (3, 5, 7):
        pages = []
        page = 1
        while True:
            part = reports.general_ledger(cash, start, end, page=page, per_page=per_page)
            if not part.lines:
                break
            assert part.page_opening == (whole.opening if page == 1 else pages[-1].balance)
            pages += part.lines
            page += 1
        assert [line.balance for line in pages] == [line.balance for line in whole.lines]
    assert whole.closing == whole.lines[-1].balance == sum((D(f"{10 + n}.00") for n in range(22)), D("0.00"))


def test_the_books_list_what_was_posted(ops):
    march_start, march_end = TODAY.replace(day=1), TODAY.replace(day=31)
    sales = list(reports.sales_journal_rows(march_start, march_end))
    assert [(row.document[:4], row.customer, row.vatable, row.vat, row.gross) for row in sales] == [
        ("INV-", '=HYPERLINK("http://x","Ben")', D("2000.00"), D("240.00"), D("2240.00")),
        ("CN-2", "Ann Cruz", D("-100.00"), D("-12.00"), D("-112.00")),
    ]
    totals = reports.sales_totals(sales)
    # The output VAT of the sales journal is the movement of the output VAT account in the period.
    moved = reports.movements(march_start, march_end)[_account_id("2100")]
    assert totals["vat"] == moved.credit - moved.debit == D("228.00")
    receipts = list(reports.cash_receipts_rows(march_start, march_end))
    assert [(row.account, row.amount, row.receivable, row.received_from) for row in receipts] == [
        ("GCash wallet", D("500.00"), D("500.00"), "Ann Cruz"),
        ("Cash on hand", D("240.00"), D("240.00"), '=HYPERLINK("http://x","Ben")'),
    ]
    assert "GC-777" in receipts[0].reference
    general = list(reports.journal_entries("general", march_start, march_end))
    assert [(entry.ref, entry.debit, entry.credit) for entry in general] == [("GJ-1", D("112.00"), D("112.00"))]
    assert [line.code for line in general[0].lines] == ["4900", "2100", "1100"]


def test_a_void_shows_as_a_negative_sale_and_a_negative_receipt(books):
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "1120.00", issued=TODAY - 3 * DAY)
    payment = pay(invoice, "100.00", on=TODAY - 2 * DAY)
    services.void_payment(ACTOR, payment, "Bounced")
    services.void_invoice(ACTOR, invoice, "Mistake")
    sales = list(reports.sales_journal_rows(TODAY.replace(day=1), TODAY))
    assert [row.gross for row in sales] == [D("1120.00"), D("-1120.00")]
    receipts = list(reports.cash_receipts_rows(TODAY.replace(day=1), TODAY))
    assert [(row.amount, row.receivable) for row in receipts] == [
        (D("100.00"), D("100.00")),
        (D("-100.00"), D("-100.00")),
    ]
    assert reports.income_statement(TODAY.replace(day=1), TODAY).net_income == 0


# --- Pages, CSV and PDF ----------------------------------------------------------------------------


def test_the_index_links_every_report(owner):
    html = owner.client.get("/ledger").get_data(as_text=True)
    assert "<h1" in html and "Books and reports" in html
    for url in (
        "/ledger/journal?journal=general",
        "/ledger/sales-journal",
        "/ledger/cash-receipts-journal",
        "/ledger/trial-balance",
        "/ledger/income-statement",
        "/ledger/balance-sheet",
        "/ledger/receivables",
    ):
        assert f'href="{url}"' in html, url
    assert "Books and reports" in owner.client.get("/dashboard").get_data(as_text=True)


def test_the_pages_show_the_figures(owner, ops):
    receivable = _account_id("1100")
    pages = {
        f"/ledger/accounts/{receivable}": ["Opening balance", "₱1,120.00 Dr", "₱2,508.00 Dr"],
        "/ledger/journal?journal=general": ["GJ-1", "Sales returns and allowances", "Credit note CN-"],
        "/ledger/journal": ["SJ-2", "CR-1", "GJ-1"],
        "/ledger/sales-journal": ["₱2,240.00", "-₱112.00", "₱2,128.00"],
        "/ledger/cash-receipts-journal": ["GCash wallet", "Cash on hand", "₱740.00"],
        "/ledger/income-statement": ["₱1,900.00", "Net income"],
        "/ledger/balance-sheet": ["₱3,248.00", "₱2,900.00", "difference ₱0.00"],
        "/ledger/receivables": ["₱508.00", "₱2,000.00", "₱2,508.00"],
        f"/ledger/receivables/clients/{ops['ann']}": ["₱620.00", "₱508.00"],
    }
    for url, figures in pages.items():
        response = owner.client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True).replace("&#34;", '"')
        assert "<h1" in html
        for figure in figures:
            assert figure in html, (url, figure)


def test_every_csv_has_the_figures_and_no_formula(owner, ops):
    receivable = _account_id("1100")
    rows = _csv(owner.client.get(f"/ledger/accounts/{receivable}.csv", query_string=MARCH))
    assert rows[3] == ["2026-03-01", "", "Opening balance", "", "", "", "1120.00", "Dr"]
    assert rows[-1] == ["2026-03-31", "", "Closing balance", "", "2240.00", "852.00", "2508.00", "Dr"]
    rows = _csv(owner.client.get("/ledger/sales-journal.csv", query_string=MARCH))
    ben_row = next(row for row in rows if len(row) > 4 and row[4].startswith("'="))
    assert ben_row[4] == "'" + '=HYPERLINK("http://x","Ben")'
    assert rows[-1][-6:] == ["1900.00", "0.00", "0.00", "0.00", "228.00", "2128.00"]
    assert any(row[-1] == "-112.00" for row in rows)  # a credit note: a negative number, not text
    rows = _csv(owner.client.get("/ledger/cash-receipts-journal.csv", query_string=MARCH))
    assert rows[-1][-3:] == ["740.00", "740.00", "0.00"]
    rows = _csv(owner.client.get("/ledger/receivables.csv"))
    clients = {row[1]: row[2] for row in rows[3:-2]}
    assert clients == {"Ann Cruz": "508.00", "'" + '=HYPERLINK("http://x","Ben")': "2000.00"}
    assert rows[-2] == ["", "Total of the clients", "2508.00"] and rows[-1] == [
        "",
        "Receivable control account",
        "2508.00",
    ]
    rows = _csv(owner.client.get("/ledger/income-statement.csv", query_string=MARCH))
    assert rows[-1] == ["Net income", "", "", "1900.00"]
    rows = _csv(owner.client.get("/ledger/balance-sheet.csv"))
    assert rows[-1] == ["Difference", "", "", "0.00"]
    assert ["Total assets", "", "", "3248.00"] in rows
    rows = _csv(owner.client.get("/ledger/journal.csv", query_string={**MARCH, "journal": "general"}))
    assert ["2026-03-16", "GJ-1", "4900", "Sales returns and allowances", "", "100.00", "0.00"] in rows
    rows = _csv(owner.client.get(f"/ledger/receivables/clients/{ops['ann']}.csv", query_string=MARCH))
    assert rows[-1] == ["2026-03-31", "", "Closing balance", "", "", "508.00"]
    for row in rows:
        assert not any(cell.startswith(("=", "+", "@")) for cell in row)


@pdftotext_missing
def test_every_pdf_is_a4_and_prints_the_figures(owner, ops):
    receivable = _account_id("1100")
    expected = {
        f"/ledger/accounts/{receivable}.pdf": ["General ledger", "1,120.00 Dr", "2,508.00 Dr"],
        "/ledger/journal.pdf?journal=general": ["General journal", "GJ-1", "112.00"],
        "/ledger/sales-journal.pdf": ["Sales journal", "2,128.00", "228.00"],
        "/ledger/cash-receipts-journal.pdf": ["Cash receipts journal", "740.00", "GC-777", "Ann Cruz"],
        "/ledger/income-statement.pdf": ["Income statement", "1,900.00"],
        "/ledger/balance-sheet.pdf": ["Balance sheet", "3,248.00", "2,900.00"],
        "/ledger/receivables.pdf": ["Receivables sub-ledger", "2,508.00", "2,000.00"],
        f"/ledger/receivables/clients/{ops['ann']}.pdf": ["Ann Cruz", "620.00", "508.00"],
    }
    for url, figures in expected.items():
        text = _pdf_text(owner.client.get(url))
        for figure in figures:
            assert figure in text, (url, figure)


def test_a_pdf_of_too_many_rows_is_refused_with_a_400(owner, books, monkeypatch):
    ann = make_client("Ann Cruz", "ann@example.com")
    make_invoice(ann, "1120.00", issued=TODAY - 3 * DAY)
    make_invoice(ann, "560.00", issued=TODAY - 2 * DAY)
    monkeypatch.setattr(reports, "PDF_MAX_ROWS", 1)
    response = owner.client.get("/ledger/sales-journal.pdf")
    assert response.status_code == 400 and "download the CSV" in response.get_data(as_text=True)


def test_empty_books_show_empty_reports(owner):
    for url in ("/ledger", "/ledger/journal", "/ledger/sales-journal", "/ledger/cash-receipts-journal",
                "/ledger/income-statement", "/ledger/balance-sheet", "/ledger/receivables"):  # fmt: skip
        response = owner.client.get(url)
        assert response.status_code == 200, url


# --- Bad input -------------------------------------------------------------------------------------

BAD_QUERIES = [
    {"from": "2026-02-30"},
    {"to": "yesterday"},
    {"from": "2026-03-10", "to": "2026-03-01"},
    {"from": "99999-01-01"},
    {"from": "1800-01-01"},
    {"to": "%00"},
    {"page": "0"},
    {"page": "-1"},
    {"page": "١"},
]


@pytest.mark.parametrize("query", BAD_QUERIES, ids=[str(q) for q in BAD_QUERIES])
def test_a_bad_period_or_page_is_a_400(owner, query):
    make_client("Ann Cruz", "ann@example.com")
    ledger.role_accounts()
    db.session.commit()
    for url in (
        "/ledger/accounts/1",
        "/ledger/accounts/1.csv",
        "/ledger/journal",
        "/ledger/sales-journal",
        "/ledger/cash-receipts-journal.csv",
        "/ledger/income-statement",
        "/ledger/income-statement.pdf",
        "/ledger/receivables/clients/1",
    ):
        if "page" in query and url.endswith((".csv", ".pdf")) or "page" in query and "income" in url:
            continue
        assert owner.client.get(url, query_string=query).status_code == 400, (url, query)


@pytest.mark.parametrize("as_of", ["2026-02-30", "tomorrow", "1800-01-01"])
def test_a_bad_as_of_date_is_a_400(owner, as_of):
    for url in ("/ledger/balance-sheet", "/ledger/balance-sheet.csv", "/ledger/receivables", "/ledger/receivables.pdf"):
        assert owner.client.get(url, query_string={"as_of": as_of}).status_code == 400, url


@pytest.mark.parametrize("journal", ["purchases", "SALES", "' OR 1=1"])
def test_an_unknown_journal_is_a_400(owner, journal):
    for url in ("/ledger/journal", "/ledger/journal.csv", "/ledger/journal.pdf"):
        response = owner.client.get(url, query_string={"journal": journal})
        assert response.status_code == 400 and "journal" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/ledger/accounts/999999",
        "/ledger/accounts/999999.csv",
        "/ledger/accounts/999999.pdf",
        "/ledger/accounts/99999999999",
        "/ledger/accounts/abc",
        "/ledger/receivables/clients/999999",
        "/ledger/receivables/clients/999999.csv",
        "/ledger/receivables/clients/999999.pdf",
    ],
)
def test_an_unknown_account_or_client_is_a_404(owner, url):
    assert owner.client.get(url).status_code == 404


def test_a_client_cannot_see_the_books(app, actions, books):
    ann = make_client("Ann Cruz", "ann@example.com")
    make_user(*ANN, role="client", client_id=ann)
    sign_in(actions, ANN)
    for url in ("/ledger", "/ledger/receivables", f"/ledger/receivables/clients/{ann}", "/ledger/sales-journal.pdf"):
        assert actions.client.get(url).status_code in (403, 404)


def test_a_late_fee_is_income_of_its_own_and_leaves_the_invoice_s_sale_as_issued(app, books):
    """A late fee posts Dr receivable / Cr late-fee income in the general journal: the income
    statement shows it beside sales, the sales journal keeps the invoice's sale as posted."""
    from datetime import UTC, datetime

    from ais import clock
    from ais.billing import late_fees

    ann = make_client("Ann Cruz", "ann@example.com")
    start = TODAY.replace(day=1) - 31 * DAY  # 13 Feb
    clock.set_clock(lambda: datetime(start.year, start.month, start.day, 4, 0, tzinfo=UTC))
    late_fees.set_late_fee_policy(ACTOR, late_fees.LateFeePolicy(True, "flat", D("150.00"), 5))
    invoice = make_invoice(ann, "1120.00", issued=start, due=start + 9 * DAY)
    clock.set_clock(lambda: datetime(TODAY.year, TODAY.month, 10, 4, 0, tzinfo=UTC))
    assert [fee.amount for fee in late_fees.charge_late_fees()] == [D("150.00")]
    month_start, month_end = TODAY.replace(day=1), TODAY.replace(day=31)
    statement = reports.income_statement(month_start, month_end)
    assert {line.account.code: line.amount for line in statement.income} == {"4100": D("150.00")}
    assert statement.net_income == D("150.00")
    sales = list(reports.sales_journal_rows(start, month_end))
    assert [(row.gross, row.vatable, row.vat, row.other) for row in sales] == [
        (D("1120.00"), D("1000.00"), D("120.00"), D("0.00"))
    ]
    fee_entries = list(reports.journal_entries("general", month_start, month_end))
    assert [line.code for line in fee_entries[0].lines] == ["1100", "4100"]
    assert reports.receivables(TODAY, page=1).control == D("1270.00")
    assert reports.balance_sheet(TODAY).difference == 0
    db.session.rollback()
    assert db.session.get(Invoice, invoice).late_fee_amount == D("150.00")
