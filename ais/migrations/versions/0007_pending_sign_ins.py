"""pending_sign_ins: the half-finished sign-in (password right, second factor awaited) kept on the
server, so that a signed cookie alone can never stand for a checked password.

Revision ID: 5d7a1e93c0b8
Revises: 3b9e7c51d2a4
"""

import sqlalchemy as sa
from alembic import op

revision = "5d7a1e93c0b8"
down_revision = "3b9e7c51d2a4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pending_sign_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_url", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_pending_sign_ins_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_sign_ins")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_pending_sign_ins_token_hash")),
    )
    op.create_index(op.f("ix_pending_sign_ins_user_id"), "pending_sign_ins", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_pending_sign_ins_user_id"), table_name="pending_sign_ins")
    op.drop_table("pending_sign_ins")
