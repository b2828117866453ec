"""Connection settings the app gives PostgreSQL (ais.config.engine_options)."""

import pytest
from sqlalchemy import text

from ais.config import engine_options
from ais.extensions import db


def test_postgresql_connections_plan_for_ssd(monkeypatch):
    assert engine_options("postgresql+psycopg://u@h/d")["connect_args"] == {"options": "-c random_page_cost=1.1"}
    monkeypatch.setenv("AIS_PG_RANDOM_PAGE_COST", "4")
    assert engine_options("postgresql+psycopg://u@h/d")["connect_args"] == {"options": "-c random_page_cost=4.0"}
    assert "connect_args" not in engine_options("sqlite:///x.db")
    assert engine_options("sqlite:///x.db")["pool_pre_ping"] is True


@pytest.mark.parametrize("value", ["fast", "0", "-1", "nan"])
def test_a_bad_planner_setting_stops_the_app_with_a_clear_error(monkeypatch, value):
    from ais.config import ConfigError

    monkeypatch.setenv("AIS_PG_RANDOM_PAGE_COST", value)
    with pytest.raises(ConfigError, match="AIS_PG_RANDOM_PAGE_COST"):
        engine_options("postgresql+psycopg://u@h/d")


@pytest.mark.postgres
def test_the_setting_reaches_the_server(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("needs PostgreSQL: set AIS_TEST_DATABASE_URL")
        assert db.session.scalar(text("SHOW random_page_cost")) == "1.1"
