"""running open balances per due month (``due_month_balances``): what was open at the end of each
day of the installments due in each month, the sum of its due days' running balances, filled from
``due_day_balances``, and the list of the due months (``balance_due_months``)

The aging report's totals as of a past day read one running balance per due month that falls whole
in one bucket, and per due day only in the months a bucket's limit splits (at most four), instead
of one per due day (about 40 to 160 probes instead of 1,081 on large books).  The service layer
keeps the table with ``due_day_balances``; `flask check` compares it with the rows and
`flask rebuild-totals` recomputes it.  The previous release does not write it: after serving on
this schema, run `rebuild-totals` (docs/DEPLOYMENT.md).

Revision ID: 3d8a6f0c2b91
Revises: 5c3e91d0a7b4
"""

import sqlalchemy as sa
from alembic import op

revision = "3d8a6f0c2b91"
down_revision = "5c3e91d0a7b4"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")
# A due day's month: its first day (SQLite stores dates as ISO text).
MONTH_OF = {
    "postgresql": "CAST(date_trunc('month', due_day) AS DATE)",
    "sqlite": "date(due_day, 'start of month')",
}


def upgrade():
    op.create_table(
        "due_month_balances",
        sa.Column("due_month", sa.Date(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("open", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("due_month", "day", name=op.f("pk_due_month_balances")),
    )
    op.create_table(
        "balance_due_months",
        sa.Column("due_month", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("due_month", name=op.f("pk_balance_due_months")),
    )
    month_of = MONTH_OF[op.get_bind().dialect.name]
    # Each due day's change on each of its days (its balance less the one before), summed per due
    # month and day, then accumulated per due month in day order (books.recomputed_due_balances).
    # The month expression is one of the two constants above, never input.
    op.execute(
        "INSERT INTO due_month_balances (due_month, day, open) "  # nosec B608
        "SELECT due_month, day, SUM(SUM(change)) OVER (PARTITION BY due_month ORDER BY day) FROM ("
        f"SELECT {month_of} AS due_month, day, "
        "open - COALESCE(LAG(open) OVER (PARTITION BY due_day ORDER BY day), 0) AS change "
        "FROM due_day_balances) AS changes GROUP BY due_month, day"
    )
    op.execute("INSERT INTO balance_due_months (due_month) SELECT DISTINCT due_month FROM due_month_balances")


def downgrade():
    op.drop_table("balance_due_months")
    op.drop_table("due_month_balances")
