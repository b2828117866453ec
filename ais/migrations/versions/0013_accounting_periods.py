"""accounting periods: the months the owner closed (closed_periods) and, on an entry posted in the
open period for an event dated in a closed one, the month it corrects
(journal_entries.corrects_period, nullable: the previous release keeps running)

Existing installs upgraded past 0012 with books but no ledger entries get their ledger posted by
``flask db upgrade`` itself, once every migration has run (ais/migrations/env.py; docs/ACCOUNTING.md).

Revision ID: 5d3b8e1f0a27
Revises: 9a4e2c7b1d60
"""

import sqlalchemy as sa
from alembic import op

revision = "5d3b8e1f0a27"
down_revision = "9a4e2c7b1d60"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "closed_periods",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["closed_by_id"], ["users.id"], name=op.f("fk_closed_periods_closed_by_id_users")),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_closed_periods")),
    )
    with op.batch_alter_table("journal_entries") as batch_op:
        batch_op.add_column(sa.Column("corrects_period", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("journal_entries") as batch_op:
        batch_op.drop_column("corrects_period")
    op.drop_table("closed_periods")
