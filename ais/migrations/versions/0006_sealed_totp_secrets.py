"""the owners' TOTP keys stored encrypted: users.totp_secret becomes users.totp_secret_sealed

A TOTP key cannot be hashed (the server computes codes from it); stored as is, anyone who read
the table or a backup could compute every owner's second factor.  Each key is now a Fernet
token under a key derived from SECRET_KEY (ais.auth.sealing).  Upgrading encrypts the keys
already stored, with the SECRET_KEY of the app running the migration; downgrading decrypts them.

Revision ID: 3b9e7c51d2a4
Revises: 8e41c2d9f0a7
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "3b9e7c51d2a4"
down_revision = "8e41c2d9f0a7"
branch_labels = None
depends_on = None

users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("totp_secret", sa.String),
    sa.column("totp_secret_sealed", sa.String),
)


def upgrade():
    from ais.auth.sealing import seal

    # Plain ALTER TABLE on SQLite too (3.35+ drops columns): a batch operation would rebuild the
    # table from its reflection, which cannot see the expression index on lower(username).
    op.add_column("users", sa.Column("totp_secret_sealed", sa.String(length=255), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(users.c.id, users.c.totp_secret).where(users.c.totp_secret.is_not(None))).all()
    for user_id, secret in rows:
        connection.execute(
            users.update().where(users.c.id == user_id).values(totp_secret_sealed=seal(secret, current_app.config))
        )
    op.drop_column("users", "totp_secret")


def downgrade():
    from ais.auth.sealing import unseal

    op.add_column("users", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(users.c.id, users.c.totp_secret_sealed).where(users.c.totp_secret_sealed.is_not(None))
    ).all()
    for user_id, token in rows:
        connection.execute(
            users.update().where(users.c.id == user_id).values(totp_secret=unseal(token, current_app.config))
        )
    op.drop_column("users", "totp_secret_sealed")
