"""flat-cost owner pages: awaiting totals per month, unpaid totals per due day, bounded indexes

monthly_totals gains awaiting_amount / awaiting_count (reported payments by month of payment);
due_day_totals holds the unpaid part of installments of open invoices per due day.  Both are
filled from the existing rows here, so an upgraded database passes `flask check` at once.
ix_payments_date (date) becomes ix_payments_date_id (date, id) and ix_audit_at (at) becomes
ix_audit_at_id (at, id), for the newest-first lists;
ix_payments_client_date (client_id, date) becomes ix_payments_client_date_id (client_id, date, id)
(a client's payments newest first, read from the index); ix_installments_invoice_due
(invoice_id, due_date) finds an invoice's next unpaid installment; ix_installments_unpaid_due
(partial: unpaid installments) lists those coming due in order;
ix_clients_name_lower orders the client list; ix_invoices_client_open (partial: invoices with
money still owed) keeps a client's outstanding and overdue figures off their paid history.

Revision ID: 5d2f8b7a4c10
Revises: 3a7c1e0b9d21
"""

import sqlalchemy as sa
from alembic import op

revision = "5d2f8b7a4c10"
down_revision = "3a7c1e0b9d21"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")
UNPAID = "paid_amount < amount"
OPEN_UNPAID = "issued_at IS NOT NULL AND voided_at IS NULL AND paid_amount < amount"


def _month_of(column: str) -> str:
    """SQL for the first day of the month of a date column (money is stored the same way on both
    databases' sides of these statements, so plain SUMs stay exact: NUMERIC, or cents on SQLite)."""
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS DATE)"
    return f"date({column}, 'start of month')"


def upgrade():
    with op.batch_alter_table("monthly_totals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("awaiting_amount", MONEY, nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("awaiting_count", sa.Integer(), nullable=False, server_default="0"))

    op.create_table(
        "due_day_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unpaid_due", MONEY, nullable=False),
        sa.Column("unpaid_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_due_day_totals")),
    )

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_date")
        batch_op.create_index("ix_payments_date_id", ["date", "id"], unique=False)
        batch_op.drop_index("ix_payments_client_date")
        batch_op.create_index("ix_payments_client_date_id", ["client_id", "date", "id"], unique=False)
    with op.batch_alter_table("installments", schema=None) as batch_op:
        batch_op.create_index("ix_installments_invoice_due", ["invoice_id", "due_date"], unique=False)
    op.create_index(
        "ix_installments_unpaid_due",
        "installments",
        ["due_date", "invoice_id", "number"],
        unique=False,
        postgresql_where=sa.text(UNPAID),
        sqlite_where=sa.text(UNPAID),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_at")
        batch_op.create_index("ix_audit_at_id", ["at", "id"], unique=False)
    op.create_index("ix_clients_name_lower", "clients", [sa.text("lower(name)"), "id"], unique=False)
    op.create_index(
        "ix_invoices_client_open",
        "invoices",
        ["client_id"],
        unique=False,
        postgresql_where=sa.text(OPEN_UNPAID),
        sqlite_where=sa.text(OPEN_UNPAID),
    )

    # --- Backfill, from the rows as they are (the same definitions as ais.billing.books) --------
    # Reported payments of issued invoices, by month of payment: one row per month, read here and
    # written back as read (NUMERIC on PostgreSQL, cents on SQLite: the column's own form).
    bind = op.get_bind()
    month = _month_of("payments.date")
    awaiting = bind.execute(
        sa.text(
            f"SELECT {month}, SUM(payments.amount), COUNT(*) "  # nosec B608 - {month} is a fixed SQL expression per dialect
            "FROM payments JOIN invoices ON invoices.id = payments.invoice_id "
            "WHERE payments.state = 'reported' AND invoices.issued_at IS NOT NULL "
            f"GROUP BY {month}"
        )
    ).fetchall()
    for first_day, amount, number in awaiting:
        values = {"month": first_day, "amount": amount, "number": number}
        updated = bind.execute(
            sa.text(
                "UPDATE monthly_totals SET awaiting_amount = :amount, awaiting_count = :number WHERE month = :month"
            ),
            values,
        ).rowcount
        if not updated:  # a month with nothing else in it yet
            bind.execute(
                sa.text(
                    "INSERT INTO monthly_totals (month, invoiced, collected, unpaid_due, unpaid_count, "
                    "awaiting_amount, awaiting_count) VALUES (:month, 0, 0, 0, 0, :amount, :number)"
                ),
                values,
            )
    # Unpaid installments of issued, non-void invoices, by due day.
    op.execute(
        "INSERT INTO due_day_totals (day, unpaid_due, unpaid_count) "
        "SELECT installments.due_date, SUM(installments.amount - installments.paid_amount), COUNT(*) "
        "FROM installments JOIN invoices ON invoices.id = installments.invoice_id "
        "WHERE invoices.issued_at IS NOT NULL AND invoices.voided_at IS NULL "
        "AND installments.paid_amount < installments.amount "
        "GROUP BY installments.due_date"
    )


def downgrade():
    op.drop_index("ix_invoices_client_open", table_name="invoices")
    op.drop_index("ix_clients_name_lower", table_name="clients")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_at_id")
        batch_op.create_index("ix_audit_at", ["at"], unique=False)
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_date_id")
        batch_op.create_index("ix_payments_date", ["date"], unique=False)
        batch_op.drop_index("ix_payments_client_date_id")
        batch_op.create_index("ix_payments_client_date", ["client_id", "date"], unique=False)
    op.drop_index("ix_installments_unpaid_due", table_name="installments")
    with op.batch_alter_table("installments", schema=None) as batch_op:
        batch_op.drop_index("ix_installments_invoice_due")
    op.drop_table("due_day_totals")
    with op.batch_alter_table("monthly_totals", schema=None) as batch_op:
        batch_op.drop_column("awaiting_count")
        batch_op.drop_column("awaiting_amount")
