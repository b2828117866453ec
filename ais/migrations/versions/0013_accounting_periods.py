"""accounting periods: the months the owner closed (closed_periods) and, on an entry posted in the
open period for an event dated in a closed one, the month it corrects
(journal_entries.corrects_period, nullable: the previous release keeps running)

Existing installs upgraded past 0012 with books but no ledger entries get their ledger posted by
``flask db upgrade`` itself, once every migration has run (ais/migrations/env.py; docs/ACCOUNTING.md).

Revision ID: 5d3b8e1f0a27
Revises: 9a4e2c7b1d60
"""

import sqlalchemy as sa
from alembic import context, op

revision = "5d3b8e1f0a27"
down_revision = "9a4e2c7b1d60"
branch_labels = None
depends_on = None


REBUILD_LEDGER = "ais_rebuild_ledger"  # read by ais/migrations/env.py


def _books_without_ledger() -> bool:
    """An existing install whose books have money events but whose ledger has no entry."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM journal_entries LIMIT 1")).first() is not None:
        return False
    events = (
        "SELECT 1 FROM invoices WHERE issued_at IS NOT NULL LIMIT 1",
        "SELECT 1 FROM payments WHERE state IN ('confirmed', 'voided') LIMIT 1",
        "SELECT 1 FROM overpayments WHERE provider <> 'credit_note' LIMIT 1",
    )
    return any(bind.execute(sa.text(query)).first() is not None for query in events)


def upgrade():
    op.create_table(
        "closed_periods",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["closed_by_id"], ["users.id"], name=op.f("fk_closed_periods_closed_by_id_users")),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_closed_periods")),
    )
    op.add_column("journal_entries", sa.Column("corrects_period", sa.Date(), nullable=True))
    if not context.is_offline_mode() and _books_without_ledger():
        # Posting the history needs the app's posting rules, which read and write the tables as the
        # models describe them: the schema at the head, not at this revision.  So the migration only
        # asks for it, and env.py runs ``ledger rebuild`` once every migration has run (if the
        # upgrade went to the head; otherwise it says to run the command).
        context.config.attributes[REBUILD_LEDGER] = True


def downgrade():
    op.drop_column("journal_entries", "corrects_period")
    op.drop_table("closed_periods")
