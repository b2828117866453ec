"""flat ledger reports on large books: running balances per account and day and per client, the
date of each journal line beside it, and indexes that match the reports' orders

* ``account_day_balances``: an account's debits and credits from the beginning through the end of
  a day (a row per account and day with lines), so a balance as of any day is the last row on or
  before it;
* ``client_day_balances``: the same per client, for the accounts whose lines name a client
  (accounts receivable, customer credits);
* ``journal_lines.date``: the date of the line's entry, copied on posting, so that an account's
  or a client's lines are read in date order from an index;
* indexes ``(account_id, date, entry_id, id)`` and ``(account_id, client_id, date, entry_id, id)``
  on journal_lines (the second replaces ``(account_id, client_id)``), ``(journal, date, number)``
  and ``(date, journal, number)`` on journal_entries.

The previous release posts no ledger entries, so it keeps running on this schema.

Revision ID: 8d2f4c6a1b37
Revises: 3f6d1a8c2e57
"""

import sqlalchemy as sa
from alembic import op

revision = "8d2f4c6a1b37"
down_revision = "3f6d1a8c2e57"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")

FILL_ACCOUNT_DAYS = """
INSERT INTO account_day_balances (account_id, day, debit, credit)
SELECT account_id, day,
       SUM(debit) OVER (PARTITION BY account_id ORDER BY day),
       SUM(credit) OVER (PARTITION BY account_id ORDER BY day)
FROM (SELECT account_id, date AS day, SUM(debit) AS debit, SUM(credit) AS credit
      FROM journal_lines GROUP BY account_id, date) AS days
"""

FILL_CLIENT_DAYS = """
INSERT INTO client_day_balances (account_id, client_id, day, debit, credit)
SELECT account_id, client_id, day,
       SUM(debit) OVER (PARTITION BY account_id, client_id ORDER BY day),
       SUM(credit) OVER (PARTITION BY account_id, client_id ORDER BY day)
FROM (SELECT account_id, client_id, date AS day, SUM(debit) AS debit, SUM(credit) AS credit
      FROM journal_lines WHERE client_id IS NOT NULL GROUP BY account_id, client_id, date) AS days
"""


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("journal_lines", sa.Column("date", sa.Date(), nullable=True))
    if postgresql:
        # The append-only trigger refuses updates: off for this one copy, in this transaction.
        op.execute("ALTER TABLE journal_lines DISABLE TRIGGER journal_lines_append_only")
        op.execute("UPDATE journal_lines SET date = e.date FROM journal_entries e WHERE e.id = journal_lines.entry_id")
        op.execute("ALTER TABLE journal_lines ENABLE TRIGGER journal_lines_append_only")
        op.alter_column("journal_lines", "date", nullable=False)
    else:
        op.execute(
            "UPDATE journal_lines SET date = (SELECT date FROM journal_entries e WHERE e.id = journal_lines.entry_id)"
        )
        with op.batch_alter_table("journal_lines") as batch:
            batch.alter_column("date", existing_type=sa.Date(), nullable=False)
    op.drop_index("ix_journal_lines_account_client", table_name="journal_lines")
    op.create_index(
        "ix_journal_lines_account_client_date", "journal_lines", ["account_id", "client_id", "date", "entry_id", "id"]
    )
    op.create_index("ix_journal_lines_account_date", "journal_lines", ["account_id", "date", "entry_id", "id"])
    op.create_index("ix_journal_entries_journal_date_number", "journal_entries", ["journal", "date", "number"])
    op.create_index("ix_journal_entries_date_journal_number", "journal_entries", ["date", "journal", "number"])
    op.create_table(
        "account_day_balances",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("debit", MONEY, nullable=False),
        sa.Column("credit", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_day_balances_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "day", name=op.f("pk_account_day_balances")),
    )
    op.create_table(
        "client_day_balances",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("debit", MONEY, nullable=False),
        sa.Column("credit", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_client_day_balances_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_client_day_balances_client_id_clients")),
        sa.PrimaryKeyConstraint("account_id", "client_id", "day", name=op.f("pk_client_day_balances")),
    )
    op.execute(FILL_ACCOUNT_DAYS)
    op.execute(FILL_CLIENT_DAYS)


def downgrade():
    op.drop_table("client_day_balances")
    op.drop_table("account_day_balances")
    op.drop_index("ix_journal_entries_date_journal_number", table_name="journal_entries")
    op.drop_index("ix_journal_entries_journal_date_number", table_name="journal_entries")
    op.drop_index("ix_journal_lines_account_date", table_name="journal_lines")
    op.drop_index("ix_journal_lines_account_client_date", table_name="journal_lines")
    op.create_index("ix_journal_lines_account_client", "journal_lines", ["account_id", "client_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("journal_lines", "date")
    else:
        with op.batch_alter_table("journal_lines") as batch:
            batch.drop_column("date")
