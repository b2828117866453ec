"""Sort headers and page links (ais.listing) write what the Jinja macros they replaced wrote."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask_sqlalchemy.pagination import Pagination
from test_forms_rendering import _normalized

from ais.listing import page_links, sort_header

REFERENCE_MACROS = (Path(__file__).parent / "reference" / "listing_macros.html").read_text()


class FakePagination(Pagination):
    """A page of ``total`` items without a query (Flask-SQLAlchemy's arithmetic)."""

    def __init__(self, page, per_page, total, capped=False):  # noqa: super() would run a query
        self.page, self.per_page, self.max_per_page, self._query_args = page, per_page, None, {}
        self.total, self.total_capped = total, capped
        self.items = list(range(max(0, min(per_page, total - (page - 1) * per_page))))


FILTERS = [{}, {"q": 'a&b "c"', "status": "paid", "client": 3}, {"q": "", "client": None, "archived": False, "x": 0},
           {"date_from": "2026-01-01", "class_": "text-end"}]


@pytest.mark.parametrize("sort, direction", [("", "asc"), ("amount", "asc"), ("amount", "desc"), ("client", "desc")])
@pytest.mark.parametrize("params", FILTERS)
@pytest.mark.parametrize("label", ["Amount", "<b>Bold</b> & co"])
def test_sort_header_equals_the_macro_it_replaced(app, sort, direction, params, label):
    template = app.jinja_env.from_string(
        REFERENCE_MACROS + "{{ sort_header(label, 'amount', sort, direction, 'backoffice.invoices', **params) }}")
    with app.test_request_context("/"):
        expected = template.render(label=label, sort=sort, direction=direction, params=params)
        got = sort_header(label, "amount", sort, direction, "backoffice.invoices", **params)
    assert _normalized(got) == _normalized(expected)


@pytest.mark.parametrize("page, total", [(1, 0), (1, 5), (1, 25), (1, 26), (2, 60), (7, 1000), (40, 1001), (3, 3000)])
@pytest.mark.parametrize("capped", [False, True])
@pytest.mark.parametrize("params", [*FILTERS[:3], {"client_q": "Ñoño & co/?#=", "method": "GCash", "page_size": 5}])
def test_page_links_equal_the_macro_they_replaced(app, page, total, capped, params):
    pagination = FakePagination(page, 25, total, capped)
    template = app.jinja_env.from_string(
        REFERENCE_MACROS + "{{ pagination(pages, 'backoffice.payments', **params) }}")
    with app.test_request_context("/"):
        expected = template.render(pages=pagination, params=params)
        got = page_links(pagination, "backoffice.payments", **params)
    assert _normalized(got) == _normalized(expected)


def test_page_links_keep_the_filters_and_mark_the_current_page(app):
    with app.test_request_context("/"):
        html = str(page_links(FakePagination(3, 25, 200), "backoffice.payments", state="reported", client=None))
    assert "Showing 51–75 of 200" in html
    assert 'href="/payments?page=2&amp;state=reported" rel="prev"' in html
    assert '<li class="page-item active" aria-current="page"><span class="page-link">3</span></li>' in html
    assert "client=" not in html
