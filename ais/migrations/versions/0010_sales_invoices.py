"""sales invoices a Philippine business may issue: the business profile, VAT per line and the
invoice's VAT summary, the parties as each invoice names them, and credit notes

``business_profile`` (one row) names the seller on every document.  Each invoice line gets its
VAT treatment (vatable / exempt / zero_rated, or none for a seller who is not VAT-registered)
and each invoice the sums of its lines by treatment, with how the seller stood and priced.
Existing lines with a tax rate above zero become VATable, the others have no treatment; the
invoices' sums are computed from their lines.

Revision ID: 6c1d0f3a8b52
Revises: 5d1c7a90e2b3
"""

import sqlalchemy as sa
from alembic import op

revision = "6c1d0f3a8b52"
down_revision = "5d1c7a90e2b3"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")
RATE = sa.Numeric(5, 2).with_variant(sa.BigInteger(), "sqlite")
SUMS = ("vatable_sales", "vat_amount", "exempt_sales", "zero_rated_sales")
PARTIES = (
    ("seller_name", sa.String(length=200)),
    ("seller_trade_name", sa.String(length=200)),
    ("seller_tin", sa.String(length=20)),
    ("seller_address", sa.Text()),
    ("buyer_name", sa.String(length=200)),
    ("buyer_tin", sa.String(length=50)),
    ("buyer_address", sa.Text()),
)


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "business_profile",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("registered_name", sa.String(length=200), nullable=False),
        sa.Column("trade_name", sa.String(length=200), nullable=False),
        sa.Column("tin", sa.String(length=20), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("vat_registered", sa.Boolean(), nullable=True),
        sa.Column("vat_rate", RATE, nullable=False),
        sa.Column("prices_include_vat", sa.Boolean(), nullable=False),
        sa.Column("footer", sa.Text(), nullable=False),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_type", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_business_profile_single_row")),
        sa.CheckConstraint(
            "vat_rate > 0 and vat_rate <= 10000" if sqlite else "vat_rate > 0 and vat_rate <= 100",
            name=op.f("ck_business_profile_vat_rate_range"),
        ),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_business_profile_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_profile")),
    )
    known = "vat_treatment is null or vat_treatment in ('vatable', 'exempt', 'zero_rated')"
    if sqlite:
        # SQLite adds a column with its CHECK in place (a batch rebuild is not needed).
        op.execute(
            "ALTER TABLE invoice_lines ADD COLUMN vat_treatment VARCHAR(12) "
            f"CONSTRAINT ck_invoice_lines_vat_treatment_known CHECK ({known})"
        )
    else:
        op.add_column("invoice_lines", sa.Column("vat_treatment", sa.String(length=12), nullable=True))
        op.create_check_constraint(op.f("ck_invoice_lines_vat_treatment_known"), "invoice_lines", known)
    op.add_column(
        "invoices", sa.Column("seller_vat_registered", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("invoices", sa.Column("prices_include_vat", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("invoices", sa.Column("vat_rate", RATE, nullable=True))
    for name in SUMS:
        op.add_column("invoices", sa.Column(name, MONEY, nullable=False, server_default="0"))
    # Invoices issued before this have no copy of the parties: their documents read the profile
    # and the client as they are.
    for name, type_ in PARTIES:
        op.add_column("invoices", sa.Column(name, type_, nullable=False, server_default=""))

    op.add_column("invoices", sa.Column("credited_amount", MONEY, nullable=False, server_default="0"))
    op.create_table(
        "credit_note_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_credit_note_counters")),
    )
    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_no", sa.String(length=20), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("vatable_amount", MONEY, nullable=False),
        sa.Column("vat_amount", MONEY, nullable=False),
        sa.Column("exempt_amount", MONEY, nullable=False),
        sa.Column("zero_rated_amount", MONEY, nullable=False),
        sa.Column("customer_credit", MONEY, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_notes_amount_positive")),
        sa.CheckConstraint(
            "vatable_amount + vat_amount + exempt_amount + zero_rated_amount <= amount",
            name=op.f("ck_credit_notes_split_within_amount"),
        ),
        sa.CheckConstraint(
            "customer_credit >= 0 and customer_credit <= amount",
            name=op.f("ck_credit_notes_customer_credit_within_amount"),
        ),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_credit_notes_client_id_clients")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_credit_notes_created_by_id_users")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("credit_no", name=op.f("uq_credit_notes_credit_no")),
    )
    op.create_index(op.f("ix_credit_notes_client_id"), "credit_notes", ["client_id"], unique=False)
    op.create_index(op.f("ix_credit_notes_invoice_id"), "credit_notes", ["invoice_id"], unique=False)

    # A document the outbox attaches when it sends the message (the receipt's PDF).
    op.add_column("outbox_messages", sa.Column("attachment", sa.String(length=60), nullable=False, server_default=""))

    op.execute("UPDATE invoice_lines SET vat_treatment = 'vatable' WHERE tax_rate > 0")
    op.execute(
        "UPDATE invoices SET "
        "vatable_sales = COALESCE((SELECT SUM(net_amount) FROM invoice_lines l "
        "  WHERE l.invoice_id = invoices.id AND l.vat_treatment = 'vatable'), 0), "
        "vat_amount = COALESCE((SELECT SUM(tax_amount) FROM invoice_lines l WHERE l.invoice_id = invoices.id), 0), "
        "seller_vat_registered = EXISTS (SELECT 1 FROM invoice_lines l "
        "  WHERE l.invoice_id = invoices.id AND l.vat_treatment = 'vatable')"
    )


def downgrade():
    op.drop_index(op.f("ix_credit_notes_invoice_id"), table_name="credit_notes")
    op.drop_index(op.f("ix_credit_notes_client_id"), table_name="credit_notes")
    op.drop_table("credit_notes")
    op.drop_table("credit_note_counters")
    op.drop_column("invoices", "credited_amount")
    op.drop_column("outbox_messages", "attachment")
    for name, _ in reversed(PARTIES):
        op.drop_column("invoices", name)
    for name in reversed(SUMS):
        op.drop_column("invoices", name)
    op.drop_column("invoices", "vat_rate")
    op.drop_column("invoices", "prices_include_vat")
    op.drop_column("invoices", "seller_vat_registered")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_invoice_lines_vat_treatment_known"), "invoice_lines", type_="check")
    op.drop_column("invoice_lines", "vat_treatment")
    op.drop_table("business_profile")
