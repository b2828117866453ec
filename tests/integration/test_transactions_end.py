"""How a request's transaction ends (ais.database.end_read_only_transaction).

A request that only read ends with COMMIT, so that psycopg keeps the connection's prepared
statements (it drops them all on ROLLBACK); anything else still ends in a rollback, so nothing a
request did not commit on purpose is ever saved.
"""

import pytest
from sqlalchemy import event, insert, select, text, update

from ais.extensions import db
from ais.models import Client


@pytest.fixture
def endings(app):
    """Counts the commits and rollbacks the app's connections see."""
    seen = {"commit": 0, "rollback": 0}
    with app.app_context():
        engine = db.engine

    def on_commit(conn):
        seen["commit"] += 1

    def on_rollback(conn):
        seen["rollback"] += 1

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    yield seen
    event.remove(engine, "commit", on_commit)
    event.remove(engine, "rollback", on_rollback)


@pytest.fixture
def routes(app):
    """Test-only views that read, write without committing, or leave ORM changes unsaved."""

    def read_only():
        return str(db.session.scalar(select(Client.name).where(Client.id == 1)))

    def update_not_committed():
        db.session.execute(update(Client).where(Client.id == 1).values(name="Changed without commit"))
        return "ok"

    def insert_not_committed():
        db.session.execute(insert(Client).values(name="Inserted without commit", email="x@example.com"))
        return "ok"

    def orm_change_not_committed():
        client = db.session.get(Client, 1)
        client.name = "Changed in the ORM only"
        return "ok"

    def read_then_fail():
        db.session.scalar(select(Client.name))
        raise RuntimeError("boom")

    for view in (read_only, update_not_committed, insert_not_committed, orm_change_not_committed, read_then_fail):
        app.add_url_rule(f"/_test/{view.__name__}", view.__name__, view)
    with app.app_context():
        db.session.add(Client(name="Ann", email="ann@example.com"))
        db.session.commit()
    return app


def client_name(app) -> str:
    with app.app_context():
        return db.session.scalar(select(Client.name).where(Client.id == 1))


def test_a_request_that_only_reads_ends_with_commit(routes, endings):
    response = routes.test_client().get("/_test/read_only")
    assert response.get_data(as_text=True) == "Ann"
    assert (endings["commit"], endings["rollback"]) == (1, 0)


@pytest.mark.parametrize("view", ["update_not_committed", "insert_not_committed", "orm_change_not_committed"])
def test_anything_not_committed_on_purpose_is_rolled_back(routes, endings, view):
    assert routes.test_client().get(f"/_test/{view}").status_code == 200
    assert endings["commit"] == 0 and endings["rollback"] >= 1
    assert client_name(routes) == "Ann"
    with routes.app_context():
        assert db.session.scalar(select(Client.id).where(Client.name == "Inserted without commit")) is None


def test_a_failed_request_is_rolled_back(routes, endings):
    routes.config["PROPAGATE_EXCEPTIONS"] = False
    assert routes.test_client().get("/_test/read_then_fail").status_code == 500
    assert endings["commit"] == 0 and endings["rollback"] >= 1


def test_pages_keep_their_prepared_statements(app):
    """On PostgreSQL the statements of a page are prepared once per connection, not per request."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("prepared statements: PostgreSQL only")
    from ais import create_app
    from ais.config import engine_options

    # One pooled connection, so every request below runs on the connection inspected after.
    one_connection = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "TESTING": True,
            "SQLALCHEMY_ENGINE_OPTIONS": {**engine_options("postgresql://"), "pool_size": 1, "max_overflow": 0},
        }
    )
    browser = one_connection.test_client()
    for _ in range(8):  # psycopg prepares a statement on its 5th run
        assert browser.get("/healthz").status_code == 200
    with one_connection.app_context():
        prepared = db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
        db.engine.dispose()
    assert prepared >= 1


# --- Pages that only read: no transaction around their statements on PostgreSQL ------------------


def _postgresql_only(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("autocommit reads: PostgreSQL only (SQLite pages keep their transaction)")


@pytest.fixture
def marked_routes(routes):
    """Test views marked ``reads_only``: one reads, one reads and then writes in a write transaction."""
    from ais.database import reads_only, write_transaction

    seen = {}

    @reads_only
    def marked_read():
        seen["autocommit"] = db.session.connection().connection.dbapi_connection.autocommit
        return str(db.session.scalar(select(Client.name).where(Client.id == 1)))

    @reads_only
    def marked_read_then_write():
        db.session.scalar(select(Client.name).where(Client.id == 1))
        seen["autocommit_before"] = db.session.connection().connection.dbapi_connection.autocommit
        with write_transaction() as session:
            seen["autocommit_in_write"] = session.connection().connection.dbapi_connection.autocommit
            session.execute(update(Client).where(Client.id == 1).values(name="Written"))
            raise_now = routes.config.get("_fail_write")
            if raise_now:
                raise RuntimeError("refused half-way")
        return "ok"

    def unmarked_check():
        seen["unmarked_autocommit"] = db.session.connection().connection.dbapi_connection.autocommit
        return "ok"

    for view in (marked_read, marked_read_then_write, unmarked_check):
        routes.add_url_rule(f"/_test/{view.__name__}", view.__name__, view)
    routes.config["_seen"] = seen
    return routes


def test_a_marked_page_reads_without_begin_or_commit(marked_routes, endings):
    _postgresql_only(marked_routes)
    statements = []
    with marked_routes.app_context():
        engine = db.engine
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = marked_routes.test_client().get("/_test/marked_read")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.get_data(as_text=True) == "Ann"
    assert marked_routes.config["_seen"]["autocommit"] is True
    assert not any(s.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")) for s in statements)
    # The connection went back to the pool in the default mode: an unmarked page has its transaction.
    assert marked_routes.test_client().get("/_test/unmarked_check").status_code == 200
    assert marked_routes.config["_seen"]["unmarked_autocommit"] is False


def test_a_write_from_a_marked_page_is_still_one_transaction(marked_routes):
    _postgresql_only(marked_routes)
    assert marked_routes.test_client().get("/_test/marked_read_then_write").status_code == 200
    seen = marked_routes.config["_seen"]
    assert seen["autocommit_before"] is True and seen["autocommit_in_write"] is False
    assert client_name(marked_routes) == "Written"
    # Refused half-way: the update made before the failure is rolled back with the rest.
    with marked_routes.app_context():
        db.session.execute(update(Client).where(Client.id == 1).values(name="Ann"))
        db.session.commit()
    marked_routes.config.update(_fail_write=True, PROPAGATE_EXCEPTIONS=False)
    assert marked_routes.test_client().get("/_test/marked_read_then_write").status_code == 500
    assert client_name(marked_routes) == "Ann"


def test_post_requests_to_a_marked_view_keep_their_transaction(marked_routes):
    _postgresql_only(marked_routes)
    from ais.database import read_without_transaction

    with marked_routes.test_request_context("/_test/marked_read", method="POST"):
        read_without_transaction()
        assert db.session.connection().connection.dbapi_connection.autocommit is False


def test_the_pages_that_read_are_marked(app):
    marked = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "ais_reads_only", False)
    }
    assert {
        "/dashboard",
        "/clients",
        "/clients/<int:client_id>",
        "/invoices",
        "/invoices/<int:invoice_id>",
        "/payments",
        "/audit",
        "/portal",
        "/portal/invoices",
        "/portal/invoices/<int:invoice_id>",
        "/portal/payments",
    } <= marked
    # A view marked as reading only answers reads only (a form's POST on the same address is
    # another view, with its own write transaction).
    assert not [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "ais_reads_only", False)
        and rule.methods - {"GET", "HEAD", "OPTIONS"}
    ]
