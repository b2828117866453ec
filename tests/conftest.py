"""Shared fixtures, as in Flask's tutorial: ``app``, ``client``, and helpers that read like a user's steps.

The database is SQLite (a temporary file) unless AIS_TEST_DATABASE_URL names a PostgreSQL
database, in which case every database test runs there.  The schema is built once per run
with the Alembic migrations (so they are tested too) and emptied after each test.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, text

from ais import clock, create_app
from ais.extensions import db

TEST_DATABASE_URL = os.environ.get("AIS_TEST_DATABASE_URL", "")


def pytest_report_header(config):
    return f"database: {TEST_DATABASE_URL or 'SQLite (temporary file)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        url = TEST_DATABASE_URL
        engine = create_engine(url)
        with engine.begin() as connection:  # start from an empty schema, whatever the last run left
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


def empty_all_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        # DELETE on these small tables is much faster than TRUNCATE (which rewrites every table);
        # the sequences start again at 1 so ids are the same on both databases.  The ledger is
        # append-only (a trigger) except in a transaction that says it is maintenance.
        db.session.execute(text("SET LOCAL ais.ledger_maintenance = 'on'"))
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))
        db.session.execute(
            text(
                "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c "
                "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"
            )
        )
    else:
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))
        # sqlite_sequence exists only once a table uses AUTOINCREMENT
        if db.session.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")):
            db.session.execute(text("DELETE FROM sqlite_sequence"))
    db.session.commit()


# Every test starts with a complete business profile (nothing can be issued without one): a
# VAT-registered seller whose prices include VAT, so an invoice's amount is its lines' prices.
TEST_PROFILE = {
    "registered_name": "Test Trading Corp.",
    "trade_name": "Test Trading",
    "tin": "123-456-789-00000",
    "address": "1 Ayala Avenue, Makati City 1226",
    "vat_registered": True,
    "vat_rate": Decimal("12.00"),
    "prices_include_vat": True,
    "footer": "",
    "logo_type": "",
}


def add_test_profile(**changes) -> None:
    from ais.models import BusinessProfile

    db.session.add(BusinessProfile(id=1, **{**TEST_PROFILE, **changes}))
    db.session.commit()


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SESSION_COOKIE_SECURE": False,  # the test client speaks plain HTTP
            "RATELIMIT_STORAGE_URI": "memory://",
            "SERVER_NAME": "localhost",
            # Cheap argon2 parameters for speed; hashes record their parameters, and the tests of
            # hashing itself switch this off.
            "AIS_ARGON2_FAST": True,
        }
    )
    app.instance_path = str(tmp_path / "instance")
    os.makedirs(app.instance_path, exist_ok=True)
    with app.app_context():
        empty_all_tables()
        add_test_profile()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    clock.set_clock(None)


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token_for(client, app) -> str:
    """A valid CSRF token for this test client's session, made the way Flask-WTF makes one."""
    with client.session_transaction() as session:
        if "csrf_token" not in session:
            session["csrf_token"] = os.urandom(20).hex()
        raw = session["csrf_token"]
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def token_from_page(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


class Actions:
    """What a person does in a browser, for tests: sign in, sign out, post a form with its token."""

    def __init__(self, client, app):
        self.client = client
        self.app = app

    def post(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", csrf_token_for(self.client, self.app))
        return self.client.post(url, data=data, **kwargs)

    def login(self, username="admin", password="admin123"):
        return self.post("/login", {"username": username, "password": password})

    def logout(self):
        return self.post("/logout")


@pytest.fixture
def actions(client, app):
    return Actions(client, app)


@pytest.fixture
def actions_for():
    """``actions_for(client, app)``: Actions for a second browser, another address or another app."""
    return Actions


@pytest.fixture
def csrf_token():
    """``csrf_token(client, app)``: a valid CSRF token for that client's session."""
    return csrf_token_for


@pytest.fixture
def empty_tables():
    """``empty_tables()``, inside an app context: delete every row, as between tests (the test
    business profile comes back, as every test starts with it)."""

    def empty() -> None:
        empty_all_tables()
        add_test_profile()

    return empty


@pytest.fixture
def business_profile():
    """``business_profile(**changes)``, inside an app context of an app of the test's own: the test
    business profile (the ``app`` fixture's apps have it already)."""
    return add_test_profile


@pytest.fixture
def freeze_today():
    """Call with a date (or datetime in UTC) to fix the business clock for the test."""

    def freeze(when):
        if not isinstance(when, datetime):
            # noon in Manila, so that "today" is that date in the business's time zone
            when = datetime(when.year, when.month, when.day, 4, 0, tzinfo=UTC)
        clock.set_clock(lambda: when)
        return when

    yield freeze
    clock.set_clock(None)


class QueryCounter:
    """Counts the SQL statements the app sends while it is active (for flat-cost page tests)."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    def make():
        with app.app_context():
            return QueryCounter(db.engine)

    return make
