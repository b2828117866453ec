"""covering indexes for the aging report's page: a page of clients' open invoices and their
unpaid installments, read from the indexes alone

``ix_installments_unpaid_invoice``: the unpaid installments by invoice, carrying what the aging
sums (due date, amount, paid amount; the id for the late-fee check), so a page's buckets read
only its clients' installments instead of every unpaid one.  ``ix_invoices_client_open`` carries
the invoice's id and issue date on PostgreSQL (INCLUDE), so "a client's open invoices issued by
a day" needs no visit to the table.

Revision ID: 2c9e7b4f1a86
Revises: 5a6a3d8afd95
"""

import sqlalchemy as sa
from alembic import op

revision = "2c9e7b4f1a86"
down_revision = "5a6a3d8afd95"
branch_labels = None
depends_on = None

UNPAID_INSTALLMENT = "paid_amount < amount"
OPEN_UNPAID = "issued_at IS NOT NULL AND voided_at IS NULL AND paid_amount < amount"


def upgrade():
    op.create_index(
        "ix_installments_unpaid_invoice",
        "installments",
        ["invoice_id"],
        postgresql_include=["id", "due_date", "amount", "paid_amount"],
        postgresql_where=sa.text(UNPAID_INSTALLMENT),
        sqlite_where=sa.text(UNPAID_INSTALLMENT),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_invoices_client_open", table_name="invoices")
        op.create_index(
            "ix_invoices_client_open",
            "invoices",
            ["client_id"],
            postgresql_include=["id", "issue_date"],
            postgresql_where=sa.text(OPEN_UNPAID),
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_invoices_client_open", table_name="invoices")
        op.create_index("ix_invoices_client_open", "invoices", ["client_id"], postgresql_where=sa.text(OPEN_UNPAID))
    op.drop_index("ix_installments_unpaid_invoice", table_name="installments")
