"""drop the running totals per client (``client_open_totals``), which no page reads any more

The aging report counts its clients from ``owing_client_counts`` (0029) and buckets them from
``client_due_day_totals``; keeping a third running figure per client cost every transaction that
changes an invoice one more row to write and lock, and `flask check` one more comparison.  No
release wrote the table (0023 to 0029 came after v0.8.0), so no running release needs it.  The
downgrade creates it again, filled from the installments as 0023 did.

Revision ID: 7d3f0b2e9a61
Revises: 5c2a9e7d3b14
"""

import sqlalchemy as sa
from alembic import op

revision = "7d3f0b2e9a61"
down_revision = "5c2a9e7d3b14"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")
OWING = "unpaid_count > 0"


def upgrade():
    op.drop_index("ix_client_open_totals_owing", table_name="client_open_totals")
    op.drop_table("client_open_totals")


def downgrade():
    op.create_table(
        "client_open_totals",
        sa.Column("client_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("unpaid_due", MONEY, nullable=False),
        sa.Column("unpaid_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_client_open_totals_client_id_clients")),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_open_totals")),
    )
    # The unpaid installments of issued, non-void invoices per client, as 0023 filled them.
    op.execute(
        "INSERT INTO client_open_totals (client_id, unpaid_due, unpaid_count) "
        "SELECT invoices.client_id, SUM(installments.amount - installments.paid_amount), COUNT(*) "
        "FROM installments JOIN invoices ON invoices.id = installments.invoice_id "
        "WHERE invoices.issued_at IS NOT NULL AND invoices.voided_at IS NULL "
        "AND installments.paid_amount < installments.amount "
        "GROUP BY invoices.client_id"
    )
    op.create_index(
        "ix_client_open_totals_owing",
        "client_open_totals",
        ["client_id"],
        postgresql_where=sa.text(OWING),
        sqlite_where=sa.text(OWING),
    )
