"""Owner lists count their rows only up to a cap, so a long book does not make every page slower."""

import pytest
from sqlalchemy import bindparam, select

from ais import pagination
from ais.extensions import db
from ais.models import Client


def _clients(app, n):
    with app.app_context():
        db.session.add_all(Client(name=f"Client {i:03}", email=f"c{i}@example.com") for i in range(n))
        db.session.commit()


def _by_id():
    clients = Client.__table__
    return pagination.capped_page_statements(select(clients.c.id, clients.c.name).order_by(clients.c.id))


def test_the_total_is_exact_below_the_cap(app, monkeypatch):
    monkeypatch.setattr(pagination.CappedStatementPagination, "cap", 50)
    _clients(app, 30)
    with app.test_request_context():
        page = pagination.paginate_capped(_by_id(), {}, page=2, per_page=10)
        assert (page.total, page.total_capped, page.pages) == (30, False, 3)
        assert [c.name for c in page.items][0] == "Client 010"


def test_the_total_stops_at_the_cap_and_says_so(app, monkeypatch, actions):
    monkeypatch.setattr(pagination.CappedStatementPagination, "cap", 20)
    _clients(app, 30)
    with app.test_request_context():
        page = pagination.paginate_capped(_by_id(), {}, page=1, per_page=10)
        assert (page.total, page.total_capped, page.pages) == (20, True, 2)
    from ais.auth.passwords import hash_password
    from ais.models import User

    with app.app_context():
        db.session.add(User(username="owner", role="owner", password_hash=hash_password("a long enough password")))
        db.session.commit()
    actions.login("owner", "a long enough password")
    text = actions.client.get("/clients").get_data(as_text=True)
    assert "of 20+" in text


def test_the_confirmation_queue_takes_its_total_from_the_running_totals(app, actions, count_queries):
    """/payments?state=reported shows the exact size of the queue without counting payments."""
    from sqlalchemy import func

    from ais.models import REPORTED, Payment

    result = app.test_cli_runner().invoke(args=["gen-demo", "--clients", "40", "--invoices", "10", "--payments", "6"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        waiting = db.session.scalar(select(func.count(Payment.id)).where(Payment.state == REPORTED))
    assert waiting > 25  # more than one page, so the total is not just the rows shown
    assert actions.login("admin", "admin123").status_code == 302
    actions.client.get("/payments?state=reported")
    with count_queries() as counter:
        text = actions.client.get("/payments?state=reported").get_data(as_text=True)
    assert f"of {waiting:,}" in text
    assert not [s for s in counter.statements if "count(*)" in s.lower()], counter.statements
    # ... and reads that running total once, for the page and the navbar's badge alike.
    assert len([s for s in counter.statements if "awaiting_count" in s]) == 1, counter.statements
    # With another filter the list is counted as usual (the running total covers the whole queue only).
    with count_queries() as counter:
        actions.client.get("/payments?state=reported&date_from=2000-01-01")
    assert [s for s in counter.statements if "count(*)" in s.lower()]


def test_one_statement_pages_carry_their_total(app, count_queries):
    _clients(app, 23)
    clients = Client.__table__
    by_id = pagination.page_statements(select(clients.c.id, clients.c.name).order_by(clients.c.id))
    none = pagination.page_statements(
        select(clients.c.id).where(clients.c.id < bindparam("below")).order_by(clients.c.id)
    )
    with app.test_request_context():
        for page_number, expected in ((1, 10), (2, 10), (3, 3)):
            with count_queries() as counter:
                page = pagination.paginate_statement(by_id, {}, page=page_number, per_page=10)
            assert (page.total, page.pages, len(page.items)) == (23, 3, expected)
            selects = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
            assert len(selects) == 1, counter.statements  # (SQLite's transactions add a BEGIN)
        assert [row.name for row in pagination.paginate_statement(by_id, {}, page=3, per_page=10).items] == [
            "Client 020",
            "Client 021",
            "Client 022",
        ]
        with pytest.raises(pagination.PastLastPage) as past_the_end:
            pagination.paginate_statement(by_id, {}, page=9, per_page=10)
        assert (past_the_end.value.page, past_the_end.value.last_page) == (9, 3)
        empty = pagination.paginate_statement(none, {"below": 0}, page=1, per_page=10)
        assert (empty.total, empty.items, empty.pages) == (0, [], 0)
        some = pagination.paginate_statement(none, {"below": 6}, page=1, per_page=10)
        assert ([row.id for row in some.items], some.total) == ([1, 2, 3, 4, 5], 5)


def test_capped_pages_carry_their_capped_total(app, count_queries, monkeypatch):
    _clients(app, 23)
    clients = Client.__table__
    by_name = pagination.capped_page_statements(select(clients.c.id, clients.c.name).order_by(clients.c.name))
    with app.test_request_context():
        with count_queries() as counter:
            page = pagination.paginate_capped(by_name, {}, page=2, per_page=10)
        assert (page.total, page.total_capped, [row.name for row in page.items][:1]) == (23, False, ["Client 010"])
        assert len([s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]) == 1
        with pytest.raises(pagination.PastLastPage) as past_the_end:  # counted on its own
            pagination.paginate_capped(by_name, {}, page=5, per_page=10)
        assert past_the_end.value.last_page == 3
        monkeypatch.setattr(pagination.CappedStatementPagination, "cap", 20)
        capped = pagination.paginate_capped(by_name, {}, page=1, per_page=10)
        assert (capped.total, capped.total_capped, capped.pages) == (20, True, 2)
        # Past the cap's pages but not past the rows: the page is shown.
        assert pagination.paginate_capped(by_name, {}, page=3, per_page=10).total_capped
        with pytest.raises(pagination.PastLastPage) as past_the_cap:
            pagination.paginate_capped(by_name, {}, page=9, per_page=10)
        assert past_the_cap.value.last_page == 2  # the last page the links offer


def test_an_empty_page_is_past_the_end_only_when_the_count_says_so():
    pagination.check_not_past_end(1, 0, has_items=False)  # an empty list's first page: its empty state
    pagination.check_not_past_end(4, 3, has_items=True)  # rows beyond a capped count are shown
    pagination.check_not_past_end(3, 3, has_items=False)  # rows went away meanwhile: no redirect loop
    with pytest.raises(pagination.PastLastPage) as empty_list:
        pagination.check_not_past_end(2, 0, has_items=False)
    assert empty_list.value.last_page == 1


def test_lists_count_the_rows_they_show(app):
    """Each owner list counts its rows without the joins that only fetch names (``count_rows``):
    the count must be the number of rows the page's own statement gives, for every kind of filter."""
    import datetime as dt

    from sqlalchemy import func

    from ais.backoffice import audit, queries

    result = app.test_cli_runner().invoke(args=["gen-demo", "--clients", "6", "--invoices", "4", "--payments", "3"])
    assert result.exit_code == 0, result.output
    today = dt.date.today()
    params = {
        "today": today,
        "client_id": 2,
        "number_pattern": "%INV%",
        "client_pattern": "%a%",
        "date_from": today - dt.timedelta(days=400),
        "date_to": today,
        "state": "confirmed",
        "method": "Cash",
        "pattern": "%e%",
        "action_pattern": "%",
        "actor_pattern": "%",
        "invoice_no": "X",
        "at_from": dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        "at_before": dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
        "count_limit": 100000,
    }
    cases = [
        queries._invoice_list_statements(False, "", False, False, False, False, "", "asc"),
        queries._invoice_list_statements(True, "overdue", False, True, True, True, "client", "desc"),
        queries._invoice_list_statements(False, "paid", True, False, False, False, "balance", "asc"),
        queries._payment_list_statements("", False, False, False, False, False, True),
        queries._payment_list_statements("confirmed", False, True, True, True, True, True),
        queries._payment_list_statements("reported", True, False, False, False, False, True),
        queries._client_list_statements(False, False),
        queries._client_list_statements(True, True),
        audit._audit_statements(False, False, False, False, False, False),
        audit._audit_statements(True, True, True, False, True, True),
    ]
    with app.app_context():
        for statements in cases:
            shown = db.session.scalar(
                select(func.count()).select_from(statements.page.limit(None).offset(None).subquery()), params
            )
            counted = db.session.scalar(statements.count, params)
            assert counted == shown, statements.page
        assert any(db.session.scalar(statements.count, params) for statements in cases)
