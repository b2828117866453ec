"""the confirmation queue's index gains the payment's id: ``ix_payments_state_date`` (state, date)
becomes ``ix_payments_state_date_id`` (state, date, id)

The queue (``/payments?state=reported``) lists the payments awaiting confirmation oldest first, by
(date, id).  Without the id in the index, PostgreSQL either walks every payment in date order
(``ix_payments_date_id``) and filters on the state, reading the confirmed payments between the
ones it shows (about 700 rows for a page of 25 on the large books), or reads the queue's payments
of the first days and sorts them.  With it, the page is the first 25 entries of the queue's range.
The tests that nothing confirmed is dated after a day (the aging report) read the same range.

Revision ID: 4e1d7c9a2f58
Revises: 8b4f2e6a1c07
"""

from alembic import op

revision = "4e1d7c9a2f58"
down_revision = "8b4f2e6a1c07"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_payments_state_date_id", "payments", ["state", "date", "id"])
    op.drop_index("ix_payments_state_date", table_name="payments")


def downgrade():
    op.create_index("ix_payments_state_date", "payments", ["state", "date"])
    op.drop_index("ix_payments_state_date_id", table_name="payments")
