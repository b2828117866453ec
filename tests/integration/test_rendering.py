"""What the templates write, checked on rendered pages: hostile text escaped everywhere it is
shown, rows linking to the right pages, the actions each payment state allows, the empty states,
and money and dates in the business's locale."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from backoffice_support import (
    TODAY,
    make_client,
    make_invoice,
    pay,
    report,
    sign_in_owner,
    text_of,
)

from ais.formatting import format_day, format_money

HOSTILE = "<script>alert('x')</script> & \"Co\""
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;Co&#34;"


def test_hostile_names_are_escaped_on_every_page_that_shows_them(books, actions):
    client_id = make_client(HOSTILE, email="hostile@example.com", company=HOSTILE)
    invoice_id = make_invoice(client_id, "3000.00", count=3, description=HOSTILE)
    report(invoice_id, "1000.00", reference=HOSTILE)
    pay(invoice_id, "500.00", reference="R-1")
    sign_in_owner(actions)
    pages = [
        "/dashboard",
        "/clients",
        f"/clients/{client_id}",
        "/invoices",
        f"/invoices/{invoice_id}",
        "/payments",
        "/payments?state=reported",
        "/audit",
        f"/portal?client={client_id}",
        f"/portal/invoices/{invoice_id}?client={client_id}",
        f"/portal/payments?client={client_id}",
    ]
    for url in pages:
        response = actions.client.get(url)
        assert response.status_code == 200, url
        html = text_of(response)
        assert "<script>alert" not in html, url
        assert ESCAPED in html, url


def test_rows_link_to_their_client_and_invoice(books, actions):
    client_id = make_client("Ann Cruz")
    invoice_id = make_invoice(client_id, "2000.00", count=2)
    report(invoice_id, "1000.00")
    sign_in_owner(actions)
    for url in ("/dashboard", "/invoices", "/payments"):
        html = text_of(actions.client.get(url))
        assert f'href="/clients/{client_id}"' in html, url
        assert f'href="/invoices/{invoice_id}"' in html, url


def _actions_of(html: str, payment_id: int) -> set[str]:
    found = set()
    for action in ("confirm", "reject", "void"):
        if f'action="/payments/{payment_id}/{action}"' in html:
            found.add(action)
    return found


def test_each_payment_state_offers_only_its_actions(books, actions):
    client_id = make_client("Ann Cruz")
    invoice_id = make_invoice(client_id, "3000.00", count=3)
    reported = report(invoice_id, "1000.00")
    confirmed = pay(invoice_id, "500.00")
    sign_in_owner(actions)
    for url in ("/payments", f"/invoices/{invoice_id}"):
        html = text_of(actions.client.get(url))
        assert _actions_of(html, reported) == {"confirm", "reject"}, url
        assert _actions_of(html, confirmed) == {"void"}, url
    # The confirmation queue shows the reported one only.
    html = text_of(actions.client.get("/payments?state=reported"))
    assert _actions_of(html, reported) == {"confirm", "reject"} and _actions_of(html, confirmed) == set()
    # A rejected payment has no action left.
    response = actions.post(f"/payments/{reported}/reject", {"reason": "Not received", "next": "/payments"})
    assert response.status_code in (302, 303)
    assert _actions_of(text_of(actions.client.get("/payments")), reported) == set()


def test_empty_books_show_what_to_do_next(books, actions):
    sign_in_owner(actions)
    expectations = {
        "/clients": "Add client",
        "/invoices": "No invoices yet",
        "/payments": "No payments yet",
        "/payments?state=reported": "Nothing to confirm",
        "/dashboard": "No payments yet",
    }
    for url, words in expectations.items():
        html = text_of(actions.client.get(url))
        assert words in html, url
        assert "<tbody>\n      </tbody>" not in html


def test_sort_headers_and_page_links_keep_the_filters(books, actions):
    client_id = make_client("Ann Cruz")
    for _ in range(30):
        make_invoice(client_id, "100.00")
    sign_in_owner(actions)
    html = text_of(actions.client.get("/invoices?status=overdue&sort=amount&dir=asc"))
    header = re.search(
        r'<th scope="col" aria-sort="ascending"[^>]*>\s*<a class="sort-link is-current" href="([^"]+)"', html
    )
    assert header and "sort=amount" in header.group(1) and "dir=desc" in header.group(1)
    assert "status=overdue" in header.group(1)
    next_link = re.search(r'<a class="page-link" href="([^"]+)" rel="next">', html)
    assert next_link and "page=2" in next_link.group(1) and "sort=amount" in next_link.group(1)
    assert "Showing 1–25 of 30" in html


def test_money_and_dates_are_written_by_babel_in_the_business_locale(app):
    with app.app_context():
        assert format_money(Decimal("50000")) == "₱50,000.00"
        assert format_money(Decimal("-1234.50")) == "-₱1,234.50"
        assert format_money(None) == ""
        assert format_day(date(2026, 11, 25)) == "Nov 25, 2026"
        assert format_day(TODAY, "MMM yyyy") == "Mar 2026"
        assert format_day(None) == ""
