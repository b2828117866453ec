"""collections: reminders per installment, the client's calendar address

installment_reminders: one row per installment and reminder step already queued (the unique key
makes "at most once" a constraint for overlapping runs of ``flask reminders``);
clients.courtesy_reminders_off: the client turned off the reminders before and on a due date;
clients.calendar_key: the random half of the client's secret iCalendar address.

Revision ID: 5d1c7a90e2b3
Revises: 6c1d9e2f4a70
"""

import sqlalchemy as sa
from alembic import op

revision = "5d1c7a90e2b3"
down_revision = "6c1d9e2f4a70"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "installment_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("installment_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_installment_reminders_amount_positive")),
        sa.ForeignKeyConstraint(
            ["installment_id"],
            ["installments.id"],
            name=op.f("fk_installment_reminders_installment_id_installments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_installment_reminders_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installment_reminders")),
        sa.UniqueConstraint("installment_id", "step", name="uq_installment_reminders_installment_step"),
    )
    op.create_index(op.f("ix_installment_reminders_invoice_id"), "installment_reminders", ["invoice_id"], unique=False)
    # Plain ALTER TABLE on SQLite too: a batch operation would rebuild the table from its reflection,
    # which cannot see the expression indexes on lower(email) and lower(name).
    op.add_column(
        "clients",
        sa.Column("courtesy_reminders_off", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("clients", sa.Column("calendar_key", sa.String(length=32), nullable=True))
    # A unique index rather than a constraint: SQLite cannot add a constraint to an existing table.
    op.create_index(op.f("uq_clients_calendar_key"), "clients", ["calendar_key"], unique=True)


def downgrade():
    op.drop_index(op.f("uq_clients_calendar_key"), table_name="clients")
    op.drop_column("clients", "calendar_key")
    op.drop_column("clients", "courtesy_reminders_off")
    op.drop_index(op.f("ix_installment_reminders_invoice_id"), table_name="installment_reminders")
    op.drop_table("installment_reminders")
