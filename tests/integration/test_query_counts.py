"""Flat cost per page: a page's number of SQL statements does not grow with the books.

Each page is loaded on a small and on a larger set of books (made by gen-demo) and the
statements counted; any growth is an N+1 (a query per row) or a load of everything.
"""

import pytest
from sqlalchemy import select

from ais.extensions import db
from ais.models import Invoice, Payment

OWNER_PAGES = [
    "/dashboard",
    "/clients",
    "/clients/1",
    "/invoices",
    "/invoices?status=overdue",
    "/invoices/{invoice}",
    "/payments",
    "/payments?state=reported",
    "/audit",
    "/aging",
    "/aging?as_of=2026-01-31",
    "/aging/clients/1",
    "/aging.csv",
    "/ledger/trial-balance",
    "/ledger/trial-balance?as_of=2026-01-31",
    "/ledger/trial-balance.csv",
    "/ledger/periods",
    "/ledger/accounts",
    "/ledger/posting-accounts",
    "/ledger",
    "/ledger/accounts/{receivable}",
    "/ledger/accounts/{receivable}?from=2020-01-15&to=2030-12-20",
    "/ledger/accounts/{receivable}.csv?from=2020-01-15&to=2030-12-20",
    "/ledger/journal",
    "/ledger/journal?journal=general&from=2020-01-01&to=2030-12-31",
    "/ledger/sales-journal?from=2020-01-01&to=2030-12-31",
    "/ledger/sales-journal.csv?from=2020-01-01&to=2030-12-31",
    "/ledger/cash-receipts-journal?from=2020-01-01&to=2030-12-31",
    "/ledger/income-statement",
    "/ledger/income-statement?from=2020-01-15&to=2030-12-20",
    "/ledger/balance-sheet",
    "/ledger/balance-sheet?as_of=2026-01-31",
    "/ledger/receivables",
    "/ledger/receivables.csv",
    "/ledger/receivables/clients/1?from=2020-01-01&to=2030-12-31",
    "/settings/reminders",
    "/settings/late-fees",
    "/settings/plan-proposals",
    "/plan-proposals",
    "/clients/1/statement",
    "/forecast",
    "/forecast/clients?from=2026-01-01&to=2026-12-31",
    "/clients/1/statement?from=2020-01-01",
    "/clients/1/statement.pdf?from=2020-01-01",
    "/settings/statements",
    "/portal?client=1",
    "/portal/invoices?client=1",
    "/portal/invoices/{invoice}?client=1",
    "/portal/payments?client=1",
]
CLIENT_PAGES = [
    "/portal",
    "/portal/invoices",
    "/portal/invoices/{invoice}",
    "/portal/payments",
    "/portal/statement",
    "/portal/statement.pdf",
    "/portal/reminders",
    "/portal/calendar",
    "/portal/payments/{payment}/add-proof",
]


def _busiest_invoice_of_client_1() -> int:
    """Alice's invoice with the most payments: its page has the most rows to show."""
    from sqlalchemy import func

    return db.session.scalar(
        select(Invoice.id)
        .join(Payment, Payment.invoice_id == Invoice.id)
        .where(Invoice.client_id == 1)
        .group_by(Invoice.id)
        .order_by(func.count(Payment.id).desc(), Invoice.id)
        .limit(1)
    )


def _receivable_account() -> int:
    from ais.billing import ledger

    return ledger.role_accounts()["receivable"]


def _counts(app, actions, count_queries, clients, invoices, payments):
    result = app.test_cli_runner().invoke(
        args=["gen-demo", "--clients", str(clients), "--invoices", str(invoices), "--payments", str(payments)]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        invoice = _busiest_invoice_of_client_1()
        payment = db.session.scalar(select(Payment.id).where(Payment.client_id == 1).order_by(Payment.id.desc()))
        receivable = _receivable_account()
    counts = {}
    for username, password, pages in (
        ("admin", "admin123", OWNER_PAGES),
        ("client1@example.com", "clientpass", CLIENT_PAGES),
    ):
        assert actions.login(username, password).status_code == 302
        for page in pages:
            url = page.format(invoice=invoice, payment=payment, receivable=receivable)
            actions.client.get(url)  # warm up (session bookkeeping happens once a minute)
            with count_queries() as counter:
                response = actions.client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            counts[(username, page)] = counter.count
        actions.logout()
    return counts


@pytest.fixture
def small_and_large(app, actions, count_queries, empty_tables):
    small = _counts(app, actions, count_queries, clients=3, invoices=3, payments=2)
    with app.app_context():
        empty_tables()
    large = _counts(app, actions, count_queries, clients=30, invoices=12, payments=8)
    return small, large


def test_no_page_runs_more_queries_on_larger_books(small_and_large):
    small, large = small_and_large
    grown = {page: (small[page], large[page]) for page in small if large[page] > small[page]}
    assert grown == {}, f"pages whose query count grew with the data (small, large): {grown}"


def test_pages_stay_within_a_small_query_budget(small_and_large):
    _, large = small_and_large
    too_many = {page: n for page, n in large.items() if n > 25}
    assert too_many == {}, too_many


def test_the_counter_sees_the_statements(small_and_large):
    """Guard against a counter that counts nothing (which would make the tests above pass vacuously)."""
    _, large = small_and_large
    assert all(n >= 2 for n in large.values()), large


# The statements each page runs (SELECTs; BEGIN/COMMIT aside): the session check, then the page's
# own reads.  Fewer round trips is most of what makes a page cheap, so a new statement on these
# pages should be a decision, not an accident.
PAGE_STATEMENTS = {
    # session check, totals + next payment, plans, recent payments, the promise to pay (if any)
    ("client1@example.com", "/portal"): 5,
    ("client1@example.com", "/portal/invoices"): 2,  # session check, the page with its total
    # session check, invoice + schedule (with whether it has credit notes, late fees, proposals:
    # this one has none, so they are not read), lines, payments (with whether each has a proof),
    # the payment instructions (how to pay, beside the report form), the owner's limits of plan
    # proposals
    ("client1@example.com", "/portal/invoices/{invoice}"): 6,
    ("client1@example.com", "/portal/payments"): 2,
    ("client1@example.com", "/portal/payments/{payment}/add-proof"): 2,  # session check, the payment
    # session check, client with the opening balance, the period's invoices and payments, the open
    # installments
    ("client1@example.com", "/portal/statement"): 4,
    ("admin", "/clients"): 2,  # session check (with the navbar's badge), the page with its capped count
    ("admin", "/invoices"): 2,
    ("admin", "/payments"): 2,
    ("admin", "/payments?state=reported"): 2,  # the queue's total is the badge's running total
    ("admin", "/audit"): 2,
    # session check, a page of clients with their capped count, the page's clients' buckets with
    # the totals (from the running open balances per due day), their promises to pay
    ("admin", "/aging"): 4,
    ("admin", "/aging/clients/1"): 3,  # session check, the client's name, their open installments
    # session check, each account's last running balance per day on or before the date, the accounts
    ("admin", "/ledger/trial-balance"): 3,
    # session check, the first month with entries, the last closed month, the page's monthly totals
    ("admin", "/ledger/periods"): 4,
    ("admin", "/ledger/accounts"): 4,  # session check, the balances, the method settings, the accounts
    # session check, the chart's roles (seeded if missing), the method settings, the sales roles, the accounts
    ("admin", "/ledger/posting-accounts"): 5,
    ("admin", "/forecast"): 3,  # session check, months (with the overdue before this month), days
    (
        "admin",
        "/dashboard",
    ): 4,  # session check, cards + chart (+ whether any overpayment is open), coming due, the two payment lists
    # session check, client + login + figures, invoices with their capped count, promises to pay,
    # open customer credits (capped)
    ("admin", "/clients/1"): 5,
    # session check, invoice + client + schedule (with whether it has credit notes, late fees,
    # proposals: this one has none, so they are not read), lines, payments
    ("admin", "/invoices/{invoice}"): 4,
}


def test_pages_run_the_statements_they_are_built_for(app, actions, count_queries):
    result = app.test_cli_runner().invoke(args=["gen-demo", "--clients", "5", "--invoices", "4", "--payments", "3"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        invoice = _busiest_invoice_of_client_1()
        payment = db.session.scalar(select(Payment.id).where(Payment.client_id == 1).order_by(Payment.id.desc()))
    found = {}
    for username, password in (("admin", "admin123"), ("client1@example.com", "clientpass")):
        assert actions.login(username, password).status_code == 302
        for who, page in PAGE_STATEMENTS:
            if who != username:
                continue
            url = page.format(invoice=invoice, payment=payment)
            actions.client.get(url)  # warm up (session bookkeeping happens once a minute)
            with count_queries() as counter:
                assert actions.client.get(url).status_code == 200, url
            # A read that starts with a WITH (the portal's overview) is a SELECT too.
            selects = [s for s in counter.statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
            found[(who, page)] = len(selects)
            # The session check carries neither the password hash nor the TOTP secret.
            assert "password_hash" not in selects[0].split("FROM")[0] and "totp_secret" not in selects[0], selects[0]
            if who == "admin":
                assert "awaiting_count" in selects[0]  # the navbar's badge, read with the session check
                if page != "/dashboard":  # (the dashboard's cards sum it too, with the other running totals)
                    assert sum("awaiting_count" in s for s in selects) == 1, selects
        actions.logout()
    assert found == PAGE_STATEMENTS


def test_a_deep_page_of_a_ledger_report_costs_what_the_second_does(app, actions, count_queries):
    """Page N of the general ledger starts from the running balances and one bounded SUM, not from
    the lines of pages 1..N-1: its statements are those of page 2, however deep."""
    result = app.test_cli_runner().invoke(args=["gen-demo", "--clients", "10", "--invoices", "10", "--payments", "6"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        receivable = _receivable_account()
    assert actions.login("admin", "admin123").status_code == 302
    period = "from=2000-01-01&to=2999-12-31"
    counts = {}
    for url in (
        f"/ledger/accounts/{receivable}?{period}&page=2",
        f"/ledger/accounts/{receivable}?{period}&page=12",
        f"/ledger/journal?{period}&page=2",
        f"/ledger/journal?{period}&page=20",
        f"/ledger/cash-receipts-journal?{period}&page=2",
        f"/ledger/cash-receipts-journal?{period}&page=10",
    ):
        actions.client.get(url)
        with count_queries() as counter:
            response = actions.client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert '<td data-label="Entry' in html or '<td data-label="Reference' in html, url  # rows, not past the end
        assert "Brought forward" in html or "ledger/accounts" not in url
        counts[url] = counter.count
    values = list(counts.values())
    assert values[0] == values[1] and values[2] == values[3] and values[4] == values[5], counts
    assert max(values) <= 12, counts
