"""Readiness and degraded service: Redis unreachable (sign-in keeps working, still throttled),
the database down or read-only (503 with Retry-After and the app's own page)."""

from __future__ import annotations

import os

import pytest
from auth_support import OWNER_PASSWORD, make_owner

from ais import clock, create_app
from ais.extensions import db
from ais.mail.outbox import queue_email

UNREACHABLE_REDIS = "redis://127.0.0.1:1/10"  # nothing listens on port 1 of loopback
DOWN_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
postgres_only = pytest.mark.skipif(not os.environ.get("AIS_TEST_DATABASE_URL"), reason="needs PostgreSQL")


def make_app(database_url, tmp_path, empty_tables=None, **settings):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SESSION_COOKIE_SECURE": False,
            "SERVER_NAME": "localhost",
            "AIS_ARGON2_FAST": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            **settings,
        }
    )
    app.instance_path = str(tmp_path / "instance")
    os.makedirs(app.instance_path, exist_ok=True)
    if empty_tables is not None:
        with app.app_context():
            empty_tables()
    return app


@pytest.fixture
def redis_down_app(database_url, tmp_path, empty_tables):
    app = make_app(database_url, tmp_path, empty_tables, RATELIMIT_STORAGE_URI=UNREACHABLE_REDIS)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    clock.set_clock(None)


def test_with_redis_unreachable_people_still_sign_in(redis_down_app, caplog, actions_for):
    make_owner(redis_down_app)
    actions = actions_for(redis_down_app.test_client(), redis_down_app)
    assert actions.login("owner", "a wrong password").status_code == 200
    response = actions.login("owner", OWNER_PASSWORD)
    assert response.status_code == 302 and "/login" not in response.headers["Location"]
    assert "throttle storage unavailable" in caplog.text


def test_with_redis_unreachable_sign_in_is_still_throttled_per_process(redis_down_app, actions_for):
    make_owner(redis_down_app)
    actions = actions_for(redis_down_app.test_client(), redis_down_app)
    for _ in range(6):  # five free failures, then a wait
        assert actions.login("owner", "a wrong password").status_code == 200
    assert actions.login("owner", OWNER_PASSWORD).status_code == 429
    assert b"Too many attempts" in actions.login("owner", OWNER_PASSWORD).data


def test_with_redis_unreachable_forgot_password_answers(redis_down_app, actions_for):
    actions = actions_for(redis_down_app.test_client(), redis_down_app)
    assert actions.post("/forgot", {"email": "nobody@example.com"}).status_code in (200, 302)


def test_readyz_reports_redis_down_without_taking_the_server_out(redis_down_app):
    response = redis_down_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["redis"] == "down" and response.get_json()["status"] == "degraded"


def test_readyz_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "up", "outbox_due": 0, "outbox": "ok"}
    assert "Set-Cookie" not in response.headers


def test_readyz_reports_an_outbox_backlog(app, client):
    app.config["AIS_OUTBOX_READY_BACKLOG"] = 2
    with app.app_context():
        for n in range(3):
            queue_email(f"c{n}@example.com", "Hello", "Words.")
        db.session.commit()
    body = client.get("/readyz").get_json()
    assert body["outbox_due"] == 3 and body["outbox"] == "backlog" and body["status"] == "degraded"


def test_readyz_is_503_when_the_database_is_down():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": DOWN_DATABASE})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["database"] == "down"


def test_pages_answer_503_with_the_app_error_page_when_the_database_is_down():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": DOWN_DATABASE, "SESSION_COOKIE_SECURE": False})
    client = app.test_client()
    with client.session_transaction() as session:
        session.update(sid="a-signed-in-browser", _user_id="1")  # each request has a user to load
    for path in ("/", "/dashboard", "/portal/"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "30"
        assert b"The service is busy for a moment" in response.data
        assert b"Internal Server Error" not in response.data


@postgres_only
def test_a_read_only_database_is_not_ready_and_writes_answer_503(database_url, tmp_path, actions_for):
    app = make_app(
        database_url,
        tmp_path,
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_pre_ping": True,
            "connect_args": {"options": "-c default_transaction_read_only=on"},
        },
    )
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503 and response.get_json()["database"] == "read-only"
        actions = actions_for(app.test_client(), app)
        response = actions.login("nobody", "a wrong password")  # a failed sign-in is audited: a write
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert b"The service is busy for a moment" in response.data
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@postgres_only
def test_after_the_database_turns_writable_again_the_pool_recovers_by_itself(app, database_url, actions_for):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(database_url).database
    admin = create_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    actions = actions_for(app.test_client(), app)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        with app.app_context():
            db.engine.dispose()  # the next connections are opened while the database is read-only
        assert app.test_client().get("/readyz").get_json()["database"] == "read-only"
        assert actions.login("nobody", "a wrong password").status_code == 503
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
        admin.dispose()
    # No restart: connections that saw the read-only state were dropped from the pool.
    for _ in range(3):
        assert actions.login("nobody", "a wrong password").status_code == 200
    assert app.test_client().get("/readyz").get_json()["database"] == "up"
