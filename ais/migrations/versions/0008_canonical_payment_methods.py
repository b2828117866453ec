"""payment methods in one spelling: "cash", "bank transfer", "Card (Stripe)" become "Cash",
"Bank transfer", "Card" (ais.billing.methods); a method that is none of the known ones becomes
"Other" with its old name kept at the front of the reference.

The ledger posts each method to its own account and the payments list filters by method: two
spellings of one method would split both.  Downgrading leaves the names as they are (the old
code read any spelling).

Revision ID: 6c1d9e2f4a70
Revises: 5d7a1e93c0b8
"""

import sqlalchemy as sa
from alembic import op

revision = "6c1d9e2f4a70"
down_revision = "5d7a1e93c0b8"
branch_labels = None
depends_on = None

payments = sa.table(
    "payments",
    sa.column("id", sa.Integer),
    sa.column("method", sa.String),
    sa.column("reference", sa.String),
)


def upgrade():
    from ais.billing import methods

    connection = op.get_bind()
    # One pass over the distinct names (a handful), then one UPDATE per name that changes.
    names = connection.execute(sa.select(payments.c.method).distinct()).scalars().all()
    for name in names:
        spelled = methods.canonical(name)
        if spelled == name:
            continue
        if spelled is not None:
            connection.execute(payments.update().where(payments.c.method == name).values(method=spelled))
        else:
            kept = sa.func.substr(sa.literal(f"{name} · ") + sa.func.coalesce(payments.c.reference, ""), 1, 120)
            connection.execute(
                payments.update().where(payments.c.method == name).values(method=methods.OTHER, reference=kept)
            )


def downgrade():
    pass
