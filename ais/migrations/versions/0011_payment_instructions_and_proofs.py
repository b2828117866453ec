"""how to pay: the owner's payment instructions (one row) and the proofs clients attach to the
payments they report

Revision ID: 7a4e2b91c0d6
Revises: 6c1d0f3a8b52
"""

import sqlalchemy as sa
from alembic import op

revision = "7a4e2b91c0d6"
down_revision = "6c1d0f3a8b52"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payment_instructions",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bank_accounts", sa.Text(), nullable=False),
        sa.Column("e_wallets", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("qr_image", sa.LargeBinary(), nullable=True),
        sa.Column("qr_type", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_payment_instructions_single_row")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_payment_instructions_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_instructions")),
    )
    op.create_table(
        "payment_proofs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size > 0", name=op.f("ck_payment_proofs_size_positive")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_payment_proofs_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_proofs")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_payment_proofs_payment_id")),
    )


def downgrade():
    op.drop_table("payment_proofs")
    op.drop_table("payment_instructions")
