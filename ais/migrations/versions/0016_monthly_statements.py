"""monthly statements: one row per client and month whose statement of account was emailed

monthly_statements: the unique key (client_id, period) makes "one statement email per client and
month" a constraint for overlapping runs of ``flask statements --email``.

Revision ID: 3b8e5d1c9f42
Revises: 3f6b2d8e1a94
"""

import sqlalchemy as sa
from alembic import op

revision = "3b8e5d1c9f42"
down_revision = "3f6b2d8e1a94"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "monthly_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("closing", sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_monthly_statements_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_statements")),
        sa.UniqueConstraint("client_id", "period", name="uq_monthly_statements_client_period"),
    )


def downgrade():
    op.drop_table("monthly_statements")
