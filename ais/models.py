"""Tables and relationships only.  Rules live in ais.billing; writes go through its services.

Names here are a contract (tools outside the app read them): see docs/DATA_MODEL.md.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .clock import utcnow
from .db_types import ExactDecimal, Money
from .extensions import db

OWNER = "owner"
CLIENT = "client"

FULL_PAYMENT = "full"
INSTALLMENT = "installment"

# Payment states; they change only through the transitions in ais.billing.services.
REPORTED = "reported"
CONFIRMED = "confirmed"
REJECTED = "rejected"
VOIDED = "voided"
PAYMENT_STATES = (REPORTED, CONFIRMED, REJECTED, VOIDED)

if TYPE_CHECKING:
    # db.Model is made at run time (Flask-SQLAlchemy's declarative base with the metadata's
    # naming convention); for the type checker it is a declarative base with the ``query`` helper.
    from flask_sqlalchemy.model import Model as _FlaskModel
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase, _FlaskModel):
        pass
else:
    Base = db.Model


class Timestamped:
    # A callable, so that each row gets its own time (not one computed at import).
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(UserMixin, Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role in ('owner', 'client')", name="role_known"),
        CheckConstraint("(role = 'client') = (client_id is not null)", name="client_link_matches_role"),
        # Case-insensitive uniqueness: the index is on lower(username).
        Index("uq_users_username_lower", func.lower(literal_column("username")), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), unique=True)
    # A disabled login cannot sign in; its sessions are ended when it is disabled.
    is_enabled: Mapped[bool] = mapped_column(default=True)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Two-factor sign-in (owners): the TOTP key, encrypted (ais.auth.sealing; a Fernet token)
    totp_secret_sealed: Mapped[str | None] = mapped_column(String(255))
    totp_enabled: Mapped[bool] = mapped_column(default=False)

    client: Mapped[Client | None] = relationship(back_populates="user")

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER

    @property
    def is_client(self) -> bool:
        return self.role == CLIENT

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_enabled


class Client(Timestamped, Base):
    __tablename__ = "clients"
    __table_args__ = (
        Index("uq_clients_email_lower", func.lower(literal_column("email")), unique=True),
        # The client list's order (by name, case-insensitively): a page is read from the index.
        Index("ix_clients_name_lower", func.lower(literal_column("name")), "id"),
        Index("uq_clients_calendar_key", "calendar_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    company: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    tax_id: Mapped[str] = mapped_column(String(50), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The client turned off the reminders before and on a due date (overdue notices still go).
    courtesy_reminders_off: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # The random half of the client's secret calendar address (ais.collections.calendar); the address
    # also carries an HMAC of it under SECRET_KEY, so this column alone opens nothing.  New on reset.
    calendar_key: Mapped[str | None] = mapped_column(String(32))

    user: Mapped[User | None] = relationship(back_populates="client")
    invoices: Mapped[list[Invoice]] = relationship(back_populates="client", lazy="raise_on_sql")


class BusinessProfile(Base):
    """The seller as its invoices must name it (one row, id 1): registered and trade name, TIN
    with branch code, registered address, VAT registration, how prices are entered, the footer
    lines (e.g. the certificate of accreditation) and the logo.  Nothing is issued until the
    required fields are filled (ais.billing.services.profile_problems)."""

    __tablename__ = "business_profile"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        # SQLite stores the rate scaled (12.00% is 1200); see InvoiceLine.
        CheckConstraint("vat_rate > 0 and vat_rate <= 100", name="vat_rate_range").ddl_if(dialect="postgresql"),
        CheckConstraint("vat_rate > 0 and vat_rate <= 10000", name="vat_rate_range").ddl_if(dialect="sqlite"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    registered_name: Mapped[str] = mapped_column(String(200), default="")
    trade_name: Mapped[str] = mapped_column(String(200), default="")
    tin: Mapped[str] = mapped_column(String(20), default="")  # NNN-NNN-NNN-NNNNN
    address: Mapped[str] = mapped_column(Text, default="")
    # None until the owner says: an invoice must state one or the other.
    vat_registered: Mapped[bool | None] = mapped_column()
    vat_rate: Mapped[Decimal] = mapped_column(ExactDecimal(5, 2), default=Decimal("12.00"))
    prices_include_vat: Mapped[bool] = mapped_column(default=False)
    footer: Mapped[str] = mapped_column(Text, default="")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_type: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PaymentInstructions(Base):
    """How clients pay the business (one row, id 1): bank accounts, e-wallet numbers (GCash,
    Maya), free text and an optional QR image (PNG or JPEG, re-encoded when saved).  Shown on the
    portal's invoice page beside "Report a payment" and printed on the sales invoice."""

    __tablename__ = "payment_instructions"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    bank_accounts: Mapped[str] = mapped_column(Text, default="")
    e_wallets: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    qr_image: Mapped[bytes | None] = mapped_column(LargeBinary)
    qr_type: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def is_empty(self) -> bool:
        return not (self.bank_accounts or self.e_wallets or self.notes or self.qr_image)


class InvoiceCounter(Base):
    """The last invoice number given in a year; locked while numbering, so numbers never repeat or skip."""

    __tablename__ = "invoice_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class MonthlyTotal(Base):
    """Running totals of the books per calendar month, kept by the service layer.

    ``invoiced``: issued, non-void invoices by month of issue.  ``collected``: confirmed
    payments by month of payment.  ``unpaid_due`` / ``unpaid_count``: the unpaid part of
    installments of open invoices by month of due date.  The dashboard reads these instead of
    scanning every invoice and payment; `flask check` recomputes and compares them.
    """

    __tablename__ = "monthly_totals"
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # the first day of the month
    invoiced: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    collected: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    unpaid_due: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    unpaid_count: Mapped[int] = mapped_column(default=0)
    awaiting_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    awaiting_count: Mapped[int] = mapped_column(default=0)


class DueDayTotal(Base):
    """Running totals per day: the unpaid part of installments of open (issued, non-void) invoices
    due that day, and the confirmed payments dated that day (``collected``, as in ``monthly_totals``).

    Kept with ``monthly_totals`` by the service layer, so that the dashboard's "overdue this
    month" and "due in the next 30 days" and the forecast's weeks read about 60 rows whatever the
    size of the books.
    """

    __tablename__ = "due_day_totals"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    unpaid_due: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    unpaid_count: Mapped[int] = mapped_column(default=0)
    collected: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"), server_default=text("0"))


class DueDayBalance(Base):
    """Running open balances per due day: what was open at the end of ``day`` of the installments
    due on ``due_day`` (of issued, non-void invoices), a row per day on which something billed or
    paid them.  An installment counts from the day it is billed (its invoice's issue date, a late
    fee's from the day the fee was charged); a confirmed payment's allocation takes it off from the
    payment's date (or the billing day, if later).

    Kept by the service layer after ``client_due_day_totals``: a change on a day adds to that day's
    row and every later one of the due day, the day's row first made from the last row before it.
    The aging report reads the last row on or before its day of each due day in a month that one of
    its buckets' limits splits (one index probe per due day; the other months' from
    ``due_month_balances``), so the report as of a past day costs what it costs as of a year back.
    """

    __tablename__ = "due_day_balances"
    due_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    open: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


class DueMonthBalance(Base):
    """Running open balances per due month: what was open at the end of ``day`` of the installments
    due in the month that begins on ``due_month``, a row per day on which something billed or paid
    them; the sum of that month's due days' balances (``due_day_balances``) on every day.

    Kept with ``due_day_balances``, alike.  The aging report's totals as of a past day read a due
    month's last row on or before the day for each month that falls whole in one bucket (one probe
    per month), and the due days' balances only for the months a bucket's limit splits (at most
    four), instead of a probe per due day.
    """

    __tablename__ = "due_month_balances"
    due_month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    open: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


class BalanceDueMonth(Base):
    """The due months that have running open balances (``due_month_balances``), one row each
    (about 40 on large books), added with a month's first balance; the aging report reads this
    list as ``balance_due_days``."""

    __tablename__ = "balance_due_months"
    due_month: Mapped[dt.date] = mapped_column(Date, primary_key=True)


class BalanceDueDay(Base):
    """The due days that have running open balances (``due_day_balances``), one row each, added
    with a due day's first balance.

    The aging report reads the due days of the months its buckets' limits split from this short
    list (about 1,100 rows on large books, a range of its key) to probe each one's last balance,
    instead of walking the distinct due days of ``due_day_balances``' primary key, which costs an
    index probe per due day.  `flask check` proves every due day with a balance is listed.
    """

    __tablename__ = "balance_due_days"
    due_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)


class ClientDueDayTotal(Base):
    """Running totals per client and due day, kept with ``due_day_totals`` by the service layer:
    the unpaid part and the number of the client's installments due that day on open (issued,
    non-void) invoices.

    The aging report's page buckets its clients as of today from these rows (a range of the
    partial index ``ix_client_due_day_totals_owing`` per client, a few dozen entries) instead of
    joining each client's open invoices to their installments; `flask check` recomputes and
    compares them.
    """

    __tablename__ = "client_due_day_totals"
    __table_args__ = (
        Index(
            "ix_client_due_day_totals_owing",
            "client_id",
            "due_day",
            postgresql_include=["unpaid_due"],
            postgresql_where=text("unpaid_count > 0"),
            sqlite_where=text("unpaid_count > 0"),
        ),
    )
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True, autoincrement=False)
    due_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    unpaid_due: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    unpaid_count: Mapped[int] = mapped_column(default=0)


class ClientOpenChange(Base):
    """What each client's installments due on ``due_day`` opened (+, on the day they were billed) and
    what confirmed payments took off them (-, from the payment's date, or the billing day if later)
    on ``day``: ``due_day_balances``' changes, per client, kept as sums (not running balances).

    Kept with ``client_due_day_totals`` by the service layer (a row's change summed over every day
    is that client's unpaid amount due that day).  The aging report's page buckets its clients as
    of any day from their unpaid amounts today less their changes dated after the day (a range of
    the primary key per client, the activity since that day) instead of reading their payments
    after it and the installments those paid; `flask check` recomputes and compares them.
    """

    __tablename__ = "client_open_changes"
    __table_args__ = (PrimaryKeyConstraint("client_id", "day", "due_day", postgresql_include=["change"]),)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), autoincrement=False)
    day: Mapped[dt.date] = mapped_column(Date)
    due_day: Mapped[dt.date] = mapped_column(Date)
    change: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


class OwingClientCount(Base):
    """How many clients had something open at the end of ``day`` (an installment billed by then not
    paid by confirmed payments dated by then), a row per day on which that number changed.

    Kept by the service layer after ``client_open_changes``: when a change to a client's
    installments makes them owe from a day on, or owe nothing, the number changes from that day
    (one transaction at a time: an advisory lock).  The aging report counts its clients as of any
    day with one probe, the last row on or before the day, instead of looking into every client's
    invoices; `flask check` recomputes and compares them.
    """

    __tablename__ = "owing_client_counts"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    owing: Mapped[int] = mapped_column(default=0)


# Issued, not void, not fully paid: the predicate of the partial index ix_invoices_client_open
# (queries repeat it word for word so that PostgreSQL can use the index).
UNPAID_INSTALLMENT = "paid_amount < amount"
OPEN_UNPAID = "issued_at IS NOT NULL AND voided_at IS NULL AND paid_amount < amount"


class InvoiceState:
    """What an invoice's columns say about it, for the ORM ``Invoice`` and for read-only views of
    one (``ais.billing.reads.InvoiceView``) alike."""

    if TYPE_CHECKING:  # the columns the properties read (each subclass declares them)
        amount: Decimal
        paid_amount: Decimal
        issued_at: dt.datetime | None
        voided_at: dt.datetime | None

    @property
    def is_draft(self) -> bool:
        return self.issued_at is None

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid_amount


class Invoice(InvoiceState, Timestamped, Base):
    """An invoice.  A draft has no number and no schedule; issuing fixes lines, amount and schedule.

    There is no stored status: it is derived (ais.billing.rules.invoice_status) from the
    running totals below, which the service layer keeps in the same transaction as every
    payment change and `flask check` verifies.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("installment_count >= 1", name="installment_count_positive"),
        CheckConstraint("payment_type in ('full', 'installment')", name="payment_type_known"),
        CheckConstraint("frequency is null or frequency in ('weekly', 'biweekly', 'monthly')", name="frequency_known"),
        CheckConstraint("paid_amount >= 0 and paid_amount <= amount", name="paid_within_amount"),
        CheckConstraint("held_amount >= 0", name="held_not_negative"),
        CheckConstraint("(invoice_no is null) = (issued_at is null)", name="number_iff_issued"),
        Index("ix_invoices_client_issue", "client_id", "issue_date"),
        Index("ix_invoices_next_due", "next_due_date"),
        Index("ix_invoices_issue_date_id", "issue_date", "id"),  # the invoice list, newest first
        # Only invoices with money still owed: a client's outstanding and overdue figures read
        # these, not the client's whole history.
        # (On PostgreSQL it carries the id and issue date: the aging report's page reads a page of
        # clients' open invoices issued by a day from the index alone.)
        Index(
            "ix_invoices_client_open",
            "client_id",
            postgresql_include=["id", "issue_date"],
            postgresql_where=text(OPEN_UNPAID),
            sqlite_where=text(OPEN_UNPAID),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    issue_date: Mapped[dt.date] = mapped_column(Date)
    # Full payment: the date it is due.  Installment plan: the first installment's date.
    due_date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(String(3))
    payment_type: Mapped[str] = mapped_column(String(12), default=FULL_PAYMENT)
    installment_count: Mapped[int] = mapped_column(default=1)
    frequency: Mapped[str | None] = mapped_column(String(10))
    issued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    voided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[str] = mapped_column(Text, default="")
    # Running totals (service layer only): confirmed payments; room held by reported payments
    # and open online checkouts; the earliest due date of an installment not fully paid.
    paid_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    held_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    next_due_date: Mapped[dt.date | None] = mapped_column(Date)
    # VAT, fixed with the lines (ais.billing.rules.vat_line_totals): how the seller stood and
    # priced when the lines were saved, and the sums of the lines by treatment.  Stored so that
    # documents and the books read them; vatable + vat + exempt + zero_rated (+ the sales of a
    # seller who is not VAT-registered) = amount.
    seller_vat_registered: Mapped[bool] = mapped_column(default=False)
    prices_include_vat: Mapped[bool] = mapped_column(default=False)
    vat_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal(5, 2))
    vatable_sales: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    vat_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    exempt_sales: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    zero_rated_sales: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    # The seller and the buyer as the invoice names them, copied when it is issued: a copy printed
    # later says what the original said, whatever the profile or the client became since.
    seller_name: Mapped[str] = mapped_column(String(200), default="")
    seller_trade_name: Mapped[str] = mapped_column(String(200), default="")
    seller_tin: Mapped[str] = mapped_column(String(20), default="")
    seller_address: Mapped[str] = mapped_column(Text, default="")
    buyer_name: Mapped[str] = mapped_column(String(200), default="")
    buyer_tin: Mapped[str] = mapped_column(String(50), default="")
    buyer_address: Mapped[str] = mapped_column(Text, default="")
    # What its credit notes took off it (their amounts less any customer credit): ``amount`` is
    # what is owed after them (the lines add up to amount + credited_amount).
    credited_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    # The late fees charged on it and not waived (ais.billing.late_fees): part of ``amount``, so the
    # lines add up to amount + credited_amount - late_fee_amount.
    late_fee_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"), server_default=text("0"))

    client: Mapped[Client] = relationship(back_populates="invoices")
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan"
    )
    installments: Mapped[list[Installment]] = relationship(
        back_populates="invoice", order_by="Installment.number", cascade="all, delete-orphan"
    )
    payments: Mapped[list[Payment]] = relationship(back_populates="invoice", order_by="Payment.id", lazy="raise_on_sql")


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint(
            "vat_treatment is null or vat_treatment in ('vatable', 'exempt', 'zero_rated')", name="vat_treatment_known"
        ),
        # SQLite stores the rate scaled (ais.db_types: 12.00% is 1200), so 100% is 10000 there.
        CheckConstraint("tax_rate is null or (tax_rate >= 0 and tax_rate <= 100)", name="tax_rate_range").ddl_if(
            dialect="postgresql"
        ),
        CheckConstraint("tax_rate is null or (tax_rate >= 0 and tax_rate <= 10000)", name="tax_rate_range").ddl_if(
            dialect="sqlite"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(12, 3))
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal(14, 4))
    tax_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal(5, 2))  # percent, e.g. 12.00
    # vatable | exempt | zero_rated; None on the invoices of a seller who is not VAT-registered.
    vat_treatment: Mapped[str | None] = mapped_column(String(12))
    # Rounded half-up to the cent when the line is saved (the one place rounding happens).
    net_amount: Mapped[Decimal] = mapped_column(Money())
    tax_amount: Mapped[Decimal] = mapped_column(Money())

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class CreditNoteCounter(Base):
    """The last credit note number given in a year (locked while numbering, like invoices)."""

    __tablename__ = "credit_note_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class CreditNote(Timestamped, Base):
    """A credit against an issued invoice (``CN-YYYY-NNNN``, gap-free): the invoice's amount drops
    by it (less any ``customer_credit``) and its unpaid installments shrink from the last
    backwards.  Its split by VAT treatment (in proportion to what the invoice had left, to the
    cent) is stored for the books."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "vatable_amount + vat_amount + exempt_amount + zero_rated_amount <= amount", name="split_within_amount"
        ),
        CheckConstraint("customer_credit >= 0 and customer_credit <= amount", name="customer_credit_within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_no: Mapped[str] = mapped_column(String(20), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    issue_date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    reason: Mapped[str] = mapped_column(Text)
    # The credit's VATable sales, VAT, VAT-exempt and zero-rated sales (the rest, if any, is a
    # non-VAT seller's sales).
    vatable_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    vat_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    exempt_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    zero_rated_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    # The part of the credit beyond what was unpaid (payments already exceed the lowered amount):
    # owed back to the client, flagged as an overpayment (provider "credit_note", its reference
    # the note's number) to refund or apply.  The rest lowers the invoice's amount.
    customer_credit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    invoice: Mapped[Invoice] = relationship()


class Installment(Base):
    __tablename__ = "installments"
    __table_args__ = (
        UniqueConstraint("invoice_id", "number", name="uq_installments_invoice_number"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("paid_amount >= 0 and paid_amount <= amount", name="paid_within_amount"),
        CheckConstraint("number >= 1", name="number_positive"),
        Index("ix_installments_due_date", "due_date"),
        Index("ix_installments_invoice_due", "invoice_id", "due_date"),  # an invoice's next unpaid one
        # Unpaid installments in due order: the dashboard's "coming due" list reads its 10 rows
        # straight from this index, however many installments fall due each day.
        Index(
            "ix_installments_unpaid_due",
            "due_date",
            "invoice_id",
            "number",
            postgresql_where=text(UNPAID_INSTALLMENT),
            sqlite_where=text(UNPAID_INSTALLMENT),
        ),
        # Unpaid installments by invoice, carrying what the aging sums (PostgreSQL: INCLUDE): a
        # page of clients' buckets reads their open invoices' installments from the index alone,
        # not every unpaid installment.
        Index(
            "ix_installments_unpaid_invoice",
            "invoice_id",
            postgresql_include=["id", "due_date", "amount", "paid_amount"],
            postgresql_where=text(UNPAID_INSTALLMENT),
            sqlite_where=text(UNPAID_INSTALLMENT),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    due_date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    # Running total of the allocations to this installment (service layer only).
    paid_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))

    invoice: Mapped[Invoice] = relationship(back_populates="installments")

    @property
    def unpaid(self) -> Decimal:
        return self.amount - self.paid_amount


class Payment(Timestamped, Base):
    """Money a client paid (or says they paid).  Never deleted: rejected or voided instead."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("state in ('reported', 'confirmed', 'rejected', 'voided')", name="state_known"),
        Index("ix_payments_invoice_state", "invoice_id", "state"),
        # A client's payments, newest first; with the state, those after a day are read from the
        # index alone (PostgreSQL; what was open on a past day follows them).
        Index("ix_payments_client_date_id", "client_id", "date", "id", postgresql_include=["state"]),
        # The confirmation queue, oldest first by (date, id): its page is the first entries of a range.
        Index("ix_payments_state_date_id", "state", "date", "id"),
        # (date, id): the newest-first lists (ORDER BY date DESC, id DESC) walk it and stop.
        Index("ix_payments_date_id", "date", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    # Copied from the invoice so that a client's payments are one indexed range.
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    amount: Mapped[Decimal] = mapped_column(Money())
    method: Mapped[str] = mapped_column(String(40))
    date: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(120), default="")
    # Number of the installment that received the payment's first cent (confirmed payments).
    installment_number: Mapped[int | None] = mapped_column()
    state: Mapped[str] = mapped_column(String(10), default=REPORTED)
    state_reason: Mapped[str] = mapped_column(Text, default="")
    state_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Online payments: the provider and its id for the money (a Stripe PaymentIntent), unique
    # so that two webhook events describing one payment record it once.
    provider: Mapped[str] = mapped_column(String(20), default="manual")
    provider_reference: Mapped[str | None] = mapped_column(String(255), unique=True)
    # The hidden one-time key of the form that created it: a resent form records nothing new.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")
    client: Mapped[Client] = relationship()
    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="payment", cascade="all, delete-orphan", lazy="raise_on_sql"
    )


class PaymentProof(Timestamped, Base):
    """What a client attached to a reported payment (a transfer slip, a screenshot): an image
    re-encoded without its metadata, or a PDF.  Kept in the database, outside the static folder,
    and served only to that client and to owners, as a download."""

    __tablename__ = "payment_proofs"
    __table_args__ = (CheckConstraint("size > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(120))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)


class Allocation(Base):
    """How much of a confirmed payment went to which installment (recomputed on every change)."""

    __tablename__ = "allocations"
    __table_args__ = (
        # Also the index of a payment's allocations (payment_id first); with the amount, what a
        # payment put on each installment is read from the index alone (PostgreSQL).
        UniqueConstraint(
            "payment_id", "installment_id", name="uq_allocations_payment_installment", postgresql_include=["amount"]
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    installment_id: Mapped[int] = mapped_column(ForeignKey("installments.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    installment: Mapped[Installment] = relationship()


class UserSession(Base):
    """A signed-in session, so that sign-out and password changes end it on the server."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")

    user: Mapped[User] = relationship()


class PendingSignIn(Base):
    """A sign-in whose password was right and whose second factor is awaited (ais.auth.pending):
    the browser holds only a random token; this row makes it single use and short-lived."""

    __tablename__ = "pending_sign_ins"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    next_url: Mapped[str] = mapped_column(String(500), default="")


class AccountToken(Base):
    """A single-use link (portal invitation, password reset); only its hash is kept."""

    __tablename__ = "account_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # invitation | reset
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class OutboxMessage(Base):
    """An email written in the same transaction as the change that causes it; sent later, once."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "receipt:payment:42": the same message is never queued twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    # A document to attach, rendered when sent (ais.documents.attachments), e.g. "receipt:42".
    attachment: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")


class AuditEntry(Base):
    """Append-only: who did what, when, from where, to which record, with amounts before/after."""

    __tablename__ = "audit_entries"
    # (at, id): the trail is read newest first (ORDER BY at DESC, id DESC) and a page stops early.
    __table_args__ = (Index("ix_audit_at_id", "at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(254), default="")  # username, or "system"/"stripe"
    action: Mapped[str] = mapped_column(String(60), index=True)
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    amount_before: Mapped[Decimal | None] = mapped_column(Money())
    amount_after: Mapped[Decimal | None] = mapped_column(Money())
    detail: Mapped[str] = mapped_column(Text, default="")


class FormSubmission(Base):
    """A used one-time form key and where its first result was shown (double-submit guard)."""

    __tablename__ = "form_submissions"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    result_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- Online payments (ais.payments) ------------------------------------------------------------

# Checkout session states.  "open": the client may still pay on the provider's page;
# "processing": completed with a delayed method (e.g. a bank debit) whose money has not arrived;
# "complete": paid and recorded; "expired" / "failed": nothing was paid.  Open and processing
# sessions hold their room under the invoice's cap (counted in Invoice.held_amount).
CHECKOUT_OPEN = "open"
CHECKOUT_PROCESSING = "processing"
CHECKOUT_COMPLETE = "complete"
CHECKOUT_EXPIRED = "expired"
CHECKOUT_FAILED = "failed"
CHECKOUT_STATES = (CHECKOUT_OPEN, CHECKOUT_PROCESSING, CHECKOUT_COMPLETE, CHECKOUT_EXPIRED, CHECKOUT_FAILED)
CHECKOUT_HOLDING = (CHECKOUT_OPEN, CHECKOUT_PROCESSING)


class CheckoutSession(Base):
    """An online payment started by a client (a Stripe Checkout Session), written before the
    provider is called so that its room is held from the first moment."""

    __tablename__ = "checkout_sessions"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("refunded_amount >= 0", name="refunded_not_negative"),
        CheckConstraint("status in ('open', 'processing', 'complete', 'expired', 'failed')", name="status_known"),
        Index("ix_checkout_sessions_invoice_status", "invoice_id", "status"),
        Index("ix_checkout_sessions_payment_intent", "payment_intent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(20), default="stripe")
    # Set once the provider has created it (a moment after the row is written).
    provider_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    url: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default=CHECKOUT_OPEN)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    payment_intent: Mapped[str | None] = mapped_column(String(255))
    # What the provider reports refunded so far on this session's payment (never goes down).
    refunded_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    invoice: Mapped[Invoice] = relationship()


class WebhookEvent(Base):
    """A provider event already processed: the same event delivered again changes nothing."""

    __tablename__ = "webhook_events"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # the provider's event id
    provider: Mapped[str] = mapped_column(String(20), default="stripe")
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(255), default="")


class Overpayment(Base):
    """A customer credit: money that arrived online but could not be applied to its invoice (paid
    meanwhile, void, other currency, unknown invoice), or a credit note's credit beyond what was
    unpaid.  Flagged for the owner to apply to an open invoice (``CreditApplication``) or refund;
    what is left of it is ``amount - applied_amount - refunded_amount``, and it is settled
    (``resolved_at``) when nothing is left."""

    __tablename__ = "overpayments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "applied_amount >= 0 and refunded_amount >= 0 and applied_amount + refunded_amount <= amount",
            name="used_within_amount",
        ),
        Index("ix_overpayments_open", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(20), default="stripe")
    provider_reference: Mapped[str] = mapped_column(String(255), unique=True)  # the PaymentIntent
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str] = mapped_column(Text, default="")
    # The running total of its confirmed applications to invoices (CreditApplication).
    applied_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"), server_default=text("0"))
    # A refund the owner made by hand ("mark refunded"): how much, and the method whose account paid
    # it out (posted Dr customer credits / Cr that account on the day it was resolved).  A refund
    # through the provider leaves these empty (its receipt is reversed instead).
    refunded_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"), server_default=text("0"))
    refund_method: Mapped[str | None] = mapped_column(String(40))

    invoice: Mapped[Invoice | None] = relationship()
    client: Mapped[Client | None] = relationship()

    @property
    def remaining(self) -> Decimal:
        """What is left to apply or refund."""
        return self.amount - self.applied_amount - self.refunded_amount


class CreditApplication(Base):
    """A customer credit applied to an open invoice of the same client: recorded as a confirmed
    payment by the method "Customer credit" (so allocation and the totals treat it as any
    payment).  Voiding that payment gives the credit back."""

    __tablename__ = "credit_applications"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    overpayment_id: Mapped[int] = mapped_column(ForeignKey("overpayments.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    overpayment: Mapped[Overpayment] = relationship()
    payment: Mapped[Payment] = relationship()


class Setting(Base):
    """A business-wide choice an owner makes in the app (e.g. requiring two-factor sign-in)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), default="")
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class InstallmentReminder(Base):
    """A reminder sent (queued in the outbox) for one installment at one step of the schedule of
    reminders: the unique key makes "at most once per installment and step" a constraint, however
    many ``flask reminders`` runs overlap.  Written by ais.billing.reminders only."""

    __tablename__ = "installment_reminders"
    __table_args__ = (
        UniqueConstraint("installment_id", "step", name="uq_installment_reminders_installment_step"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A re-plan deletes unpaid installments (their replacements are new obligations, reminded anew).
    installment_id: Mapped[int] = mapped_column(ForeignKey("installments.id", ondelete="CASCADE"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(20))  # "before:3", "due", "overdue:7"
    sent_on: Mapped[dt.date] = mapped_column(Date)  # the business's date of the run that queued it
    amount: Mapped[Decimal] = mapped_column(Money())  # what the reminder asked to pay
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PaymentPromise(Base):
    """A client's promise, noted by the owner, to pay ``amount`` by ``promised_by``.  Its state
    (open, kept, broken) is never stored: ais.billing.promises derives it from the client's
    confirmed payments dated from ``recorded_on`` to ``promised_by`` and the day it is read on.
    Only a cancellation is written (``cancelled_on``).  Written by ais.billing.promises only."""

    __tablename__ = "payment_promises"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("promised_by >= recorded_on", name="promised_after_recorded"),
        # A client's promises, newest first (the client page, the aging report, the reminder run).
        Index("ix_payment_promises_client_recorded", "client_id", "recorded_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    amount: Mapped[Decimal] = mapped_column(Money())
    promised_by: Mapped[dt.date] = mapped_column(Date)
    recorded_on: Mapped[dt.date] = mapped_column(Date)  # the business's date when it was noted
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_on: Mapped[dt.date | None] = mapped_column(Date)  # the business's date
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class MonthlyStatement(Base):
    """A client's statement of account for one calendar month, queued in the outbox by
    ``flask statements --email``: the unique key makes "one email per client and month" a
    constraint, however many runs overlap.  The email's PDF is drawn from this row when it is
    sent.  Written by ais.billing.statements only."""

    __tablename__ = "monthly_statements"
    __table_args__ = (UniqueConstraint("client_id", "period", name="uq_monthly_statements_client_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    period: Mapped[dt.date] = mapped_column(Date)  # the first day of the month stated
    to_address: Mapped[str] = mapped_column(String(254))
    closing: Mapped[Decimal] = mapped_column(Money())  # the closing balance when it was queued
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- The ledger (docs/ACCOUNTING.md) -----------------------------------------------------------

ACCOUNT_TYPES = ("asset", "liability", "equity", "income", "expense")
# Journals, each numbered 1.. without gaps (journal_counters).
SALES_JOURNAL = "sales"
CASH_RECEIPTS_JOURNAL = "cash_receipts"
GENERAL_JOURNAL = "general"
JOURNALS = (SALES_JOURNAL, CASH_RECEIPTS_JOURNAL, GENERAL_JOURNAL)


class Account(Base):
    """An account of the chart.  ``role`` names the account a posting rule uses (receivable,
    sales, output_vat, ...); an account the owner adds has none.  Accounts are deactivated, never
    deleted once they have entries."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "type IN ('asset', 'liability', 'equity', 'income', 'expense')",
            name="type_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    role: Mapped[str | None] = mapped_column(String(40), unique=True)


class MethodAccount(Base):
    """The setting: which account a payment method's money posts to (ais/billing/methods.py)."""

    __tablename__ = "method_accounts"
    method: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)


class JournalCounter(Base):
    """The last entry number given in a journal; locked while numbering, so numbers never skip."""

    __tablename__ = "journal_counters"
    journal: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class JournalEntry(Base):
    """One balanced entry, posted by the service layer with the event it records (its source).
    Append-only: a correction is a new entry that ``reverses`` another."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        UniqueConstraint("journal", "number", name="uq_journal_entries_journal_number"),
        Index("ix_journal_entries_source", "source_type", "source_id"),
        # The orders of the journals' pages (one journal, and every journal).
        Index("ix_journal_entries_journal_date_number", "journal", "date", "number"),
        Index("ix_journal_entries_date_journal_number", "date", "journal", "number"),
        CheckConstraint("journal IN ('sales', 'cash_receipts', 'general')", name="journal_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    journal: Mapped[str] = mapped_column(String(20))
    number: Mapped[int] = mapped_column(Integer)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    memo: Mapped[str] = mapped_column(String(255), default="")
    source_type: Mapped[str] = mapped_column(String(30))  # invoice, payment, credit_note, overpayment
    source_id: Mapped[int] = mapped_column(Integer)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    # The closed month (its first day) this entry corrects: the event was dated in it, so the
    # entry was posted in the open period instead (docs/ACCOUNTING.md, "Periods").
    corrects_period: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    lines: Mapped[list[JournalLine]] = relationship(back_populates="entry", order_by="JournalLine.id")


class JournalLine(Base):
    """A debit or a credit of one entry to one account (one of the two is zero)."""

    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0 AND (debit > 0 OR credit > 0)", name="one_side"),
        CheckConstraint("debit = 0 OR credit = 0", name="not_both"),
        # The orders of the general ledger and of a client's receivable (date, entry, line).
        Index("ix_journal_lines_account_date", "account_id", "date", "entry_id", "id"),
        Index("ix_journal_lines_account_client_date", "account_id", "client_id", "date", "entry_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    debit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    credit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)  # the entry's date, copied so an index can order lines by it

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")


class ClosedPeriod(Base):
    """A calendar month the owner closed: nothing posts into it any more.  Months close in order
    and only the last closed one reopens (its row is deleted; the audit trail keeps both)."""

    __tablename__ = "closed_periods"
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # the first day of the month
    closed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AccountBalance(Base):
    """Running debits and credits of one account in one calendar month, kept with every entry:
    the trial balance reads these, not the lines."""

    __tablename__ = "account_balances"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # the first day of the month
    debit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    credit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


class AccountDayBalance(Base):
    """An account's debits and credits from the beginning through the end of ``day``, a row per
    day with lines, kept with every entry: the balance as of any day is the last row on or before
    it (one index lookup), whatever the size of the books."""

    __tablename__ = "account_day_balances"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    debit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    credit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


class ClientDayBalance(Base):
    """The same per client, for the lines that name one (accounts receivable, customer credits):
    the receivables sub-ledger reads a client's balance as of a day from here."""

    __tablename__ = "client_day_balances"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    debit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    credit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


class ClientAccount(Base):
    """The clients with lines in an account: a row per account and client that has a running
    balance per day (``client_day_balances``), added with the client's first line in the account
    and never removed.  The receivables sub-ledger's list counts these, one short index entry per
    client, instead of looking for each client's running balances."""

    __tablename__ = "client_accounts"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)


# --- Late fees and plan proposals (docs/ACCOUNTING.md, docs/USER_GUIDE.md) ----------------------


class LateFee(Base):
    """A late fee charged on one overdue installment (ais.billing.late_fees): its own dated charge,
    added to the invoice as an installment of its own (``fee_installment_id``) due the day it is
    charged.  ``installment_id`` is unique: an installment is charged at most once, however many
    runs overlap.  Waiving reverses its posting and takes it off the invoice; the row stays."""

    __tablename__ = "late_fees"
    __table_args__ = (
        UniqueConstraint("installment_id", name="uq_late_fees_installment"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("base > 0", name="base_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    # The overdue installment charged for (null once a re-plan replaced it), and its number then.
    installment_id: Mapped[int | None] = mapped_column(ForeignKey("installments.id", ondelete="SET NULL"))
    installment_number: Mapped[int] = mapped_column()
    # The installment that bills the fee (null once a re-plan spread it or a waiver removed it).
    fee_installment_id: Mapped[int | None] = mapped_column(
        ForeignKey("installments.id", ondelete="SET NULL"), index=True
    )
    charged_on: Mapped[dt.date] = mapped_column(Date, index=True)  # the aging report: fees charged after a day
    base: Mapped[Decimal] = mapped_column(Money())  # the unpaid part the fee was computed on
    amount: Mapped[Decimal] = mapped_column(Money())
    rule: Mapped[str] = mapped_column(String(120), default="")  # e.g. "5.00% of the unpaid ₱1,000.00"
    waived_on: Mapped[dt.date | None] = mapped_column(Date)
    waived_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    waive_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


PROPOSAL_PENDING = "pending"
PROPOSAL_APPROVED = "approved"
PROPOSAL_DECLINED = "declined"
PROPOSAL_LAPSED = "lapsed"  # the invoice was paid or voided before the owner decided
PROPOSAL_STATES = (PROPOSAL_PENDING, PROPOSAL_APPROVED, PROPOSAL_DECLINED, PROPOSAL_LAPSED)


class PlanProposal(Base):
    """A client's proposal of a new plan for an invoice's unpaid balance (ais.billing.proposals):
    a number of installments and a first due date.  At most one pending per invoice (a partial
    unique index); the owner approves it (the re-plan runs) or declines it with a reason."""

    __tablename__ = "plan_proposals"
    __table_args__ = (
        CheckConstraint("installment_count >= 1", name="installment_count_positive"),
        CheckConstraint("status in ('pending', 'approved', 'declined', 'lapsed')", name="status_known"),
        Index(
            "uq_plan_proposals_pending_invoice",
            "invoice_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_plan_proposals_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    installment_count: Mapped[int] = mapped_column()
    frequency: Mapped[str] = mapped_column(String(10))
    first_due_date: Mapped[dt.date] = mapped_column(Date)
    balance: Mapped[Decimal] = mapped_column(Money())  # the unpaid balance when proposed
    status: Mapped[str] = mapped_column(String(10), default=PROPOSAL_PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decline_reason: Mapped[str] = mapped_column(Text, default="")
