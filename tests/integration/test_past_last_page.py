"""A page number past a list's last page (an old bookmark, a list that shrank) lands on the list's
last page with the same filters and says so, on every paged list of the back office and the portal,
instead of the list's "nothing here yet" state, which would be false."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from ais.extensions import db
from ais.models import Account

TODAY = dt.date.today()
YEAR_AGO = (TODAY - dt.timedelta(days=365)).isoformat()

OWNER_LISTS = [
    "/clients",
    "/clients?q=a",
    "/clients/1",
    "/invoices",
    "/invoices?status=open&sort=due&dir=asc",
    "/payments",
    "/payments?state=reported",
    "/audit",
    f"/aging?as_of={YEAR_AGO}",
    "/aging",
    f"/forecast/clients?from={TODAY.isoformat()}&to={(TODAY + dt.timedelta(days=90)).isoformat()}",
    "/plan-proposals",
    "/dev/emails",
    f"/ledger/journal?from={YEAR_AGO}",
    f"/ledger/sales-journal?from={YEAR_AGO}",
    f"/ledger/cash-receipts-journal?from={YEAR_AGO}",
    "/ledger/receivables",
    f"/ledger/receivables/clients/1?from={YEAR_AGO}",
    "/ledger/accounts/{receivable}",
]
CLIENT_LISTS = ["/portal/invoices", "/portal/payments"]


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["gen-demo", "--clients", "30", "--invoices", "3", "--payments", "2"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        return {"receivable": db.session.scalar(select(Account.id).where(Account.role == "receivable"))}


def _query(url: str) -> dict:
    return parse_qs(urlsplit(url).query)


def _lands_on_the_last_page(browser, url: str) -> int:
    """Follows ``url`` with ?page=999 and returns the page it lands on, checking the filters kept."""
    asked = f"{url}{'&' if '?' in url else '?'}page=999"
    response = browser.get(asked)
    assert response.status_code == 302, (asked, response.status_code)
    location = response.headers["Location"]
    assert urlsplit(location).path == urlsplit(url).path
    kept = _query(location)
    last = int(kept.pop("page")[0])
    assert 1 <= last < 999
    assert kept == _query(url), (asked, location)
    landed = browser.get(location)
    assert landed.status_code == 200, location  # the last page is shown, not sent on again
    assert f"This list has no page 999: here is page {last}, its last." in landed.get_data(as_text=True)
    return last


def test_every_owner_list_past_its_end_lands_on_its_last_page(app, demo, actions):
    actions.login("admin", "admin123")
    landed = {url: _lands_on_the_last_page(actions.client, url.format(**demo)) for url in OWNER_LISTS}
    assert landed["/clients"] == 2  # 30 clients, 25 a page
    assert landed["/invoices"] == 4  # 90 invoices
    assert landed["/plan-proposals"] == 1  # an empty list: its first page, with its empty state
    html = actions.client.get("/clients?page=2").get_data(as_text=True)
    assert "Showing 26–30 of 30" in html


def test_the_clients_lists_and_the_owners_preview_land_on_their_last_page(app, demo, actions, actions_for):
    actions.login("client1@example.com", "clientpass")
    for url in CLIENT_LISTS:
        assert _lands_on_the_last_page(actions.client, url) == 1
    owner = actions_for(app.test_client(), app)
    owner.login("admin", "admin123")
    for url in CLIENT_LISTS:  # "View as client" keeps the client it shows
        assert _lands_on_the_last_page(owner.client, f"{url}?client=2") == 1


def test_odd_query_strings_past_the_end_change_nothing_else(app, demo, actions):
    actions.login("admin", "admin123")
    # url_for's own options are not filters; a query parameter named like the URL's own part does
    # not override it.
    response = actions.client.get("/clients/1?client_id=7&_external=1&_anchor=x&page=999")
    assert response.status_code == 302
    assert response.headers["Location"] == "/clients/1?page=1"
    repeated = actions.client.get("/payments?state=reported&state=confirmed&page=999")
    assert _query(repeated.headers["Location"])["state"] == ["reported", "confirmed"]
