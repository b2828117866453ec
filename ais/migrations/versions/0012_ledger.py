"""the double-entry ledger: the chart of accounts, which account each payment method posts to,
journal entries and lines (append-only), journal counters and running balances per account and
month

The chart is seeded here (a frozen copy of ais/billing/chart.py).  Existing books get their
entries from ``flask --app ais ledger rebuild`` (docs/ACCOUNTING.md).  On PostgreSQL a trigger
refuses UPDATE and DELETE of entries and lines, unless the transaction set
``ais.ledger_maintenance`` (the rebuild with --force, and the tests emptying their tables).

Revision ID: 9a4e2c7b1d60
Revises: 7a4e2b91c0d6
"""

import sqlalchemy as sa
from alembic import op

revision = "9a4e2c7b1d60"
down_revision = "7a4e2b91c0d6"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")

CHART = [
    ("1000", "Cash on hand", "asset", "cash"),
    ("1010", "Cash in bank", "asset", "bank_transfer"),
    ("1011", "Checks for deposit", "asset", "check"),
    ("1012", "Cash deposits in transit", "asset", "cash_deposit"),
    ("1013", "Online banking receipts", "asset", "online_banking"),
    ("1020", "GCash wallet", "asset", "gcash"),
    ("1021", "Maya wallet", "asset", "maya"),
    ("1022", "GrabPay wallet", "asset", "grabpay"),
    ("1023", "ShopeePay wallet", "asset", "shopeepay"),
    ("1030", "QR Ph clearing", "asset", "qr_ph"),
    ("1040", "Card clearing", "asset", "card"),
    ("1041", "BillEase clearing", "asset", "billease"),
    ("1042", "PayMongo clearing", "asset", "online_other"),
    ("1090", "Other receipts clearing", "asset", "other"),
    ("1100", "Accounts receivable", "asset", "receivable"),
    ("2100", "Output VAT payable", "liability", "output_vat"),
    ("2200", "Customer credits", "liability", "customer_credit"),
    ("3000", "Owner's capital", "equity", None),
    ("4000", "Sales", "income", "sales"),
    ("4010", "Sales, VAT-exempt", "income", "exempt_sales"),
    ("4020", "Sales, zero-rated", "income", "zero_rated_sales"),
    ("4100", "Late-fee income", "income", "late_fee_income"),
    ("4900", "Sales returns and allowances", "income", "sales_returns"),
]
METHOD_ROLES = {
    "Cash": "cash",
    "Bank transfer": "bank_transfer",
    "GCash": "gcash",
    "Maya": "maya",
    "QR Ph": "qr_ph",
    "Check": "check",
    "Card": "card",
    "GrabPay": "grabpay",
    "ShopeePay": "shopeepay",
    "BillEase": "billease",
    "Online banking": "online_banking",
    "Cash deposit": "cash_deposit",
    "Online (PayMongo)": "online_other",
    "Other": "other",
}

APPEND_ONLY = """
CREATE FUNCTION ledger_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('ais.ledger_maintenance', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the ledger is append-only: % on % refused (post a reversal)', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
"""


def upgrade():
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "type IN ('asset', 'liability', 'equity', 'income', 'expense')", name=op.f("ck_accounts_type_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_accounts_code")),
        sa.UniqueConstraint("role", name=op.f("uq_accounts_role")),
    )
    op.create_table(
        "method_accounts",
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_method_accounts_account_id_accounts")),
        sa.PrimaryKeyConstraint("method", name=op.f("pk_method_accounts")),
    )
    op.create_index(op.f("ix_method_accounts_account_id"), "method_accounts", ["account_id"])
    op.create_table(
        "journal_counters",
        sa.Column("journal", sa.String(length=20), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("journal", name=op.f("pk_journal_counters")),
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journal", sa.String(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("memo", sa.String(length=255), nullable=False),
        sa.Column("source_type", sa.String(length=30), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "journal IN ('sales', 'cash_receipts', 'general')", name=op.f("ck_journal_entries_journal_known")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["journal_entries.id"], name=op.f("fk_journal_entries_reverses_id_journal_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("journal", "number", name="uq_journal_entries_journal_number"),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_journal_entries_reverses_id")),
    )
    op.create_index(op.f("ix_journal_entries_date"), "journal_entries", ["date"])
    op.create_index("ix_journal_entries_source", "journal_entries", ["source_type", "source_id"])
    op.create_table(
        "journal_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("debit", MONEY, nullable=False),
        sa.Column("credit", MONEY, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "debit >= 0 AND credit >= 0 AND (debit > 0 OR credit > 0)", name=op.f("ck_journal_lines_one_side")
        ),
        sa.CheckConstraint("debit = 0 OR credit = 0", name=op.f("ck_journal_lines_not_both")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_journal_lines_account_id_accounts")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_journal_lines_client_id_clients")),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["journal_entries.id"], name=op.f("fk_journal_lines_entry_id_journal_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_lines")),
    )
    op.create_index(op.f("ix_journal_lines_entry_id"), "journal_lines", ["entry_id"])
    op.create_index(op.f("ix_journal_lines_client_id"), "journal_lines", ["client_id"])
    op.create_index("ix_journal_lines_account_client", "journal_lines", ["account_id", "client_id"])
    op.create_table(
        "account_balances",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("debit", MONEY, nullable=False),
        sa.Column("credit", MONEY, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_account_balances_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "month", name=op.f("pk_account_balances")),
    )

    accounts = sa.table(
        "accounts",
        sa.column("id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("type", sa.String),
        sa.column("active", sa.Boolean),
        sa.column("role", sa.String),
    )
    rows = [
        {"id": index, "code": code, "name": name, "type": kind, "active": True, "role": role}
        for index, (code, name, kind, role) in enumerate(CHART, start=1)
    ]
    op.bulk_insert(accounts, rows)
    by_role = {row["role"]: row["id"] for row in rows}
    method_accounts = sa.table("method_accounts", sa.column("method", sa.String), sa.column("account_id", sa.Integer))
    op.bulk_insert(method_accounts, [{"method": m, "account_id": by_role[r]} for m, r in METHOD_ROLES.items()])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"SELECT setval(pg_get_serial_sequence('accounts', 'id'), {len(rows)})")
        op.execute(APPEND_ONLY)
        for table in ("journal_entries", "journal_lines"):
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in ("journal_entries", "journal_lines"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")
    op.drop_table("account_balances")
    op.drop_index("ix_journal_lines_account_client", table_name="journal_lines")
    op.drop_index(op.f("ix_journal_lines_client_id"), table_name="journal_lines")
    op.drop_index(op.f("ix_journal_lines_entry_id"), table_name="journal_lines")
    op.drop_table("journal_lines")
    op.drop_index("ix_journal_entries_source", table_name="journal_entries")
    op.drop_index(op.f("ix_journal_entries_date"), table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_table("journal_counters")
    op.drop_index(op.f("ix_method_accounts_account_id"), table_name="method_accounts")
    op.drop_table("method_accounts")
    op.drop_table("accounts")
