"""The migrations build exactly the schema the models describe (tables, columns, indexes), on
SQLite and on PostgreSQL: the test database was built by ``flask db upgrade`` (tests/conftest.py)."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ais.extensions import db


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # SQLite cannot reflect them; PostgreSQL compares them
def test_the_upgraded_schema_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = [d for d in compare_metadata(context, db.metadata)
                       if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")]
    assert differences == []
