"""covering indexes for the payments that follow a day: ``ix_payments_client_date_id`` carries the
payment's state, and ``uq_allocations_payment_installment`` the allocation's amount (PostgreSQL's
INCLUDE); ``ix_allocations_payment_id`` is dropped, as the unique constraint's index begins with
the same column

What a client had open on a past day follows their confirmed payments dated after it and what
each put on an installment (the aging report's page, a statement's aging, a promise's payments):
with the state and the amount in the indexes they are read from the indexes alone, without a visit
to each payment's and each allocation's row (a page of 25 clients as of a year back: about 2,200
payments).  SQLite has no INCLUDE: there only the redundant index is dropped.  The previous
release runs on this schema unchanged.

Revision ID: 8b4f2e6a1c07
Revises: 3d8a6f0c2b91
"""

from alembic import op

revision = "8b4f2e6a1c07"
down_revision = "3d8a6f0c2b91"
branch_labels = None
depends_on = None


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    op.drop_index("ix_allocations_payment_id", table_name="allocations")
    if not _is_postgresql():
        return
    # Written out: Alembic's operations build INCLUDE against a table stub that lacks the column.
    op.drop_constraint("uq_allocations_payment_installment", "allocations", type_="unique")
    op.execute(
        "ALTER TABLE allocations ADD CONSTRAINT uq_allocations_payment_installment"
        " UNIQUE (payment_id, installment_id) INCLUDE (amount)"
    )
    op.drop_index("ix_payments_client_date_id", table_name="payments")
    op.execute("CREATE INDEX ix_payments_client_date_id ON payments (client_id, date, id) INCLUDE (state)")


def downgrade():
    if _is_postgresql():
        op.drop_index("ix_payments_client_date_id", table_name="payments")
        op.create_index("ix_payments_client_date_id", "payments", ["client_id", "date", "id"])
        op.drop_constraint("uq_allocations_payment_installment", "allocations", type_="unique")
        op.create_unique_constraint(
            "uq_allocations_payment_installment", "allocations", ["payment_id", "installment_id"]
        )
    op.create_index("ix_allocations_payment_id", "allocations", ["payment_id"])
