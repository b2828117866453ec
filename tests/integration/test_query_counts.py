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
    "/portal?client=1",
    "/portal/invoices?client=1",
    "/portal/invoices/{invoice}?client=1",
    "/portal/payments?client=1",
]
CLIENT_PAGES = ["/portal", "/portal/invoices", "/portal/invoices/{invoice}", "/portal/payments"]


def _busiest_invoice_of_client_1() -> int:
    """Alice's invoice with the most payments: its page has the most rows to show."""
    from sqlalchemy import func

    return db.session.scalar(
        select(Invoice.id).join(Payment, Payment.invoice_id == Invoice.id).where(Invoice.client_id == 1)
        .group_by(Invoice.id).order_by(func.count(Payment.id).desc(), Invoice.id).limit(1)
    )


def _counts(app, actions, count_queries, clients, invoices, payments):
    result = app.test_cli_runner().invoke(
        args=["gen-demo", "--clients", str(clients), "--invoices", str(invoices), "--payments", str(payments)]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        invoice = _busiest_invoice_of_client_1()
    counts = {}
    for username, password, pages in (("admin", "admin123", OWNER_PAGES),
                                      ("client1@example.com", "clientpass", CLIENT_PAGES)):
        assert actions.login(username, password).status_code == 302
        for page in pages:
            url = page.format(invoice=invoice)
            actions.client.get(url)  # warm up (session bookkeeping happens once a minute)
            with count_queries() as counter:
                response = actions.client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            counts[(username, page)] = counter.count
        actions.logout()
    return counts


@pytest.fixture
def small_and_large(app, actions, count_queries):
    small = _counts(app, actions, count_queries, clients=3, invoices=3, payments=2)
    from tests.conftest import empty_all_tables

    with app.app_context():
        empty_all_tables()
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
