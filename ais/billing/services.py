"""The service layer: every change to clients, invoices and money goes through a function here.

Each function is one transaction (``write_transaction``): it locks the invoice row first
(SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite), applies the pure rules from
``ais.billing.rules``, writes, records the audit entry and queues any email, then commits.
A rule that refuses raises a named ``BillingError`` and nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from .. import audit, clock, emails
from ..audit import Actor
from ..database import write_transaction
from ..extensions import db
from ..formatting import format_day, format_money
from ..models import (
    CHECKOUT_HOLDING,
    CONFIRMED,
    FULL_PAYMENT,
    INSTALLMENT,
    REJECTED,
    REPORTED,
    VOIDED,
    Allocation,
    AuditEntry,
    BusinessProfile,
    CheckoutSession,
    Client,
    CreditApplication,
    CreditNote,
    CreditNoteCounter,
    Installment,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Overpayment,
    Payment,
    PaymentInstructions,
    PaymentProof,
    User,
)
from . import books, ledger, methods, money, notices, rules
from .logo import LogoRefused, check_logo
from .taxpayer import InvalidTin, format_tin
from .uploads import CheckedFile, UploadRefused, check_proof, check_qr_image

if TYPE_CHECKING:
    from .reads import InvoiceView
    from .reads import ScheduleRow as InstallmentRow

MAX_INSTALLMENTS = 120
MAX_LINES = 100


# --- Errors -------------------------------------------------------------------------------


class BillingError(Exception):
    """A rule refused the change; ``message`` is for the person, ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(BillingError):
    """No such record, or not one this person may see (the two are never told apart)."""


# How far ahead a draft may be dated: a year covers any plan made in advance; five years is a typo.
MAX_DRAFT_AHEAD = timedelta(days=366)


class InvalidInput(BillingError):
    """A value is not acceptable (the form shows it next to ``field``)."""


class PaymentRefused(BillingError):
    """The payment cannot be recorded: the invoice is paid, void, a draft, or it would be over-paid."""


class InvoiceNotEditable(BillingError):
    """The invoice is issued or void: its lines and amount are fixed."""


class InvalidTransition(BillingError):
    """The record is not in a state that allows this (e.g. confirming a payment twice)."""


class CreditRefused(BillingError):
    """The credit cannot be given: the invoice is a draft or void, or it exceeds the unpaid balance."""


class ProfileIncomplete(BillingError):
    """The business profile lacks a field every sales invoice must show: nothing can be issued."""


# --- Values in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal
    # rules.VATABLE / VAT_EXEMPT / ZERO_RATED; None: VATable for a VAT-registered seller.  Ignored
    # (no VAT) when the seller is not VAT-registered.
    vat: str | None = None


@dataclass(frozen=True)
class InvoiceInput:
    client_id: int
    issue_date: date
    due_date: date  # full payment: when it is due; plan: the first installment's date
    lines: Sequence[LineInput]
    description: str = ""
    payment_type: str = FULL_PAYMENT
    installment_count: int = 1
    frequency: str | None = None


@dataclass(frozen=True)
class ProfileInput:
    registered_name: str
    tin: str
    address: str
    vat_registered: bool | None
    trade_name: str = ""
    vat_rate: Decimal = Decimal("12.00")
    prices_include_vat: bool = False
    footer: str = ""


@dataclass(frozen=True)
class ClientInput:
    name: str
    email: str
    company: str = ""
    phone: str = ""
    tax_id: str = ""
    address: str = ""


@dataclass
class ReallocationChange:
    """What recomputing one invoice's allocation changed (for backfill's report)."""

    invoice_no: str
    payment_numbers: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)
    allocations_changed: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.payment_numbers) or self.allocations_changed


# --- Clients ------------------------------------------------------------------------------


def _clean_client(data: ClientInput) -> ClientInput:
    name = data.name.strip()
    email = data.email.strip()
    if not name:
        raise InvalidInput("Enter the client's name.", "name")
    try:
        email = emails.single_address(email)  # one address: never a list that mail would fan out to
    except emails.InvalidEmail as error:
        raise InvalidInput(str(error), "email") from None
    tax_id = data.tax_id.strip()
    if tax_id:
        try:
            tax_id = format_tin(tax_id, branch_required=False)
        except InvalidTin as error:
            raise InvalidInput(str(error), "tax_id") from None
    return ClientInput(
        name=name[:200],
        email=email,
        company=data.company.strip()[:200],
        phone=data.phone.strip()[:50],
        tax_id=tax_id,
        address=data.address.strip(),
    )


def _email_taken(email: str, except_client_id: int | None = None) -> bool:
    query = select(Client.id).where(func.lower(Client.email) == email.lower())
    if except_client_id is not None:
        query = query.where(Client.id != except_client_id)
    if db.session.scalar(query) is not None:
        return True
    # A client's login name is their email; no owner may already use it either.
    user_query = select(User.id).where(func.lower(User.username) == email.lower())
    if except_client_id is not None:
        user_query = user_query.where((User.client_id.is_(None)) | (User.client_id != except_client_id))
    return db.session.scalar(user_query) is not None


def create_client(actor: Actor, data: ClientInput) -> int:
    """Add a client.  Emails are unique whatever their letter case."""
    data = _clean_client(data)
    with write_transaction():
        if _email_taken(data.email):
            raise InvalidInput("Another client already uses this email address.", "email")
        client = Client(**data.__dict__)
        db.session.add(client)
        db.session.flush()
        audit.record(actor, "client.created", client_id=client.id, detail=client.name)
        return client.id


def update_client(actor: Actor, client_id: int, data: ClientInput) -> None:
    """Change a client's details; a new email also becomes their portal username, in the same transaction."""
    data = _clean_client(data)
    with write_transaction():
        client = db.session.get(Client, client_id, with_for_update=True)
        if client is None:
            raise NotFound("No such client.")
        if _email_taken(data.email, except_client_id=client_id):
            raise InvalidInput("Another client already uses this email address.", "email")
        old_email = client.email
        for name, value in data.__dict__.items():
            setattr(client, name, value)
        if client.user is not None:
            client.user.username = client.email
        detail = f"email {old_email} → {client.email}" if old_email != client.email else "details updated"
        audit.record(actor, "client.updated", client_id=client.id, detail=detail)


def archive_client(actor: Actor, client_id: int, archived: bool = True) -> None:
    """Archive (hide from lists) or restore a client.  Their books are kept as they are."""
    with write_transaction():
        client = db.session.get(Client, client_id, with_for_update=True)
        if client is None:
            raise NotFound("No such client.")
        client.archived_at = clock.utcnow() if archived else None
        audit.record(actor, "client.archived" if archived else "client.restored", client_id=client.id)


# --- The business profile -------------------------------------------------------------------

PROFILE_ID = 1


def business_profile() -> BusinessProfile | None:
    """The seller's profile as saved (None until the owner first saves it)."""
    return db.session.get(BusinessProfile, PROFILE_ID)


def profile_problems(profile: BusinessProfile | None) -> list[str]:
    """What the profile still lacks for a sales invoice (empty when it is complete)."""
    if profile is None:
        return ["registered name", "TIN with branch code", "registered address", "VAT registration"]
    problems = []
    if not profile.registered_name.strip():
        problems.append("registered name")
    if not profile.tin:
        problems.append("TIN with branch code")
    if not profile.address.strip():
        problems.append("registered address")
    if profile.vat_registered is None:
        problems.append("VAT registration")
    return problems


def _clean_profile(data: ProfileInput) -> ProfileInput:
    registered_name = data.registered_name.strip()
    if not registered_name:
        raise InvalidInput("Enter the registered name, as on the certificate of registration.", "registered_name")
    try:
        tin = format_tin(data.tin)
    except InvalidTin as error:
        raise InvalidInput(str(error), "tin") from None
    address = data.address.strip()
    if not address:
        raise InvalidInput("Enter the registered business address.", "address")
    if data.vat_registered is None:
        raise InvalidInput("Say whether the business is VAT-registered.", "vat_registered")
    if (
        not isinstance(data.vat_rate, Decimal)
        or not (0 < data.vat_rate <= 100)
        or data.vat_rate != round(data.vat_rate, 2)
    ):
        raise InvalidInput("The VAT rate must be above 0 and at most 100%, with at most two decimals.", "vat_rate")
    footer = "\n".join(line.rstrip() for line in data.footer.strip().splitlines())
    if len(footer) > 2000:
        raise InvalidInput("The footer may have at most 2,000 characters.", "footer")
    return ProfileInput(
        registered_name=registered_name[:200],
        trade_name=data.trade_name.strip()[:200],
        tin=tin,
        address=address[:2000],
        vat_registered=bool(data.vat_registered),
        vat_rate=data.vat_rate,
        prices_include_vat=bool(data.prices_include_vat),
        footer=footer,
    )


def save_business_profile(
    actor: Actor, data: ProfileInput, logo: bytes | None = None, remove_logo: bool = False
) -> None:
    """Save the seller's profile (what every sales invoice prints about the seller).  The TIN
    must carry its branch code; a logo is accepted by its content (PNG, JPEG or a safe SVG under
    300 KB, ais.billing.logo).  Invoices already issued keep what they were issued with."""
    data = _clean_profile(data)
    logo_type = ""
    if logo is not None:
        try:
            logo_type = check_logo(logo)
        except LogoRefused as error:
            raise InvalidInput(str(error), "logo") from None
    with write_transaction():
        profile = db.session.get(BusinessProfile, PROFILE_ID, with_for_update=True)
        if profile is None:
            profile = BusinessProfile(id=PROFILE_ID, logo_type="")
            db.session.add(profile)
        changed = [name for name, value in data.__dict__.items() if getattr(profile, name, None) != value]
        for name, value in data.__dict__.items():
            setattr(profile, name, value)
        if logo is not None:
            profile.logo, profile.logo_type = logo, logo_type
            changed.append("logo")
        elif remove_logo and profile.logo is not None:
            profile.logo, profile.logo_type = None, ""
            changed.append("logo removed")
        profile.updated_at = clock.utcnow()
        profile.updated_by_id = actor.user_id
        audit.record(
            actor,
            "business.profile_updated",
            detail=", ".join(name.replace("_", " ") for name in changed) or "no change",
        )


# --- How to pay ------------------------------------------------------------------------------

INSTRUCTIONS_ID = 1
MAX_INSTRUCTIONS_TEXT = 2000


def payment_instructions() -> PaymentInstructions | None:
    """How clients pay, as the owner saved it (None until first saved)."""
    return db.session.get(PaymentInstructions, INSTRUCTIONS_ID)


def _clean_text(value: str, label: str, field: str) -> str:
    text = "\n".join(line.rstrip() for line in (value or "").strip().splitlines())
    if len(text) > MAX_INSTRUCTIONS_TEXT:
        raise InvalidInput(f"{label} may have at most 2,000 characters.", field)
    return text


def save_payment_instructions(
    actor: Actor,
    bank_accounts: str,
    e_wallets: str,
    notes: str,
    qr_image: bytes | None = None,
    remove_qr: bool = False,
) -> None:
    """Save how clients pay (bank accounts, e-wallet numbers, free text, a QR image).  The QR
    image is accepted by its content (PNG or JPEG under 1 MB) and re-encoded without metadata."""
    texts = {
        "bank_accounts": _clean_text(bank_accounts, "Bank accounts", "bank_accounts"),
        "e_wallets": _clean_text(e_wallets, "E-wallets", "e_wallets"),
        "notes": _clean_text(notes, "Other instructions", "notes"),
    }
    qr = None
    if qr_image is not None:
        try:
            qr = check_qr_image(qr_image)
        except UploadRefused as error:
            raise InvalidInput(str(error), "qr_image") from None
    with write_transaction():
        instructions = db.session.get(PaymentInstructions, INSTRUCTIONS_ID, with_for_update=True)
        if instructions is None:
            instructions = PaymentInstructions(id=INSTRUCTIONS_ID, qr_type="")
            db.session.add(instructions)
        changed = [name for name, value in texts.items() if getattr(instructions, name, None) != value]
        for name, value in texts.items():
            setattr(instructions, name, value)
        if qr is not None:
            instructions.qr_type, instructions.qr_image = qr
            changed.append("QR image")
        elif remove_qr and instructions.qr_image is not None:
            instructions.qr_image, instructions.qr_type = None, ""
            changed.append("QR image removed")
        instructions.updated_at = clock.utcnow()
        instructions.updated_by_id = actor.user_id
        audit.record(
            actor,
            "business.payment_instructions_updated",
            detail=", ".join(name.replace("_", " ") for name in changed) or "no change",
        )


def checked_proof(data: bytes | None, filename: str = "") -> CheckedFile | None:
    """A proof of payment as it will be stored (see ais.billing.uploads), None when none was
    attached; a file that is not an acceptable image or PDF is InvalidInput on the ``proof`` field."""
    if data is None:
        return None
    try:
        return check_proof(data, filename)
    except UploadRefused as error:
        raise InvalidInput(str(error), "proof") from None


def payment_proof(payment_id: int, client_id: int | None = None) -> PaymentProof | None:
    """The proof attached to a payment; with ``client_id``, only if the payment is that client's
    (an owner passes None).  None when there is none or it is not theirs (never told apart)."""
    query = select(PaymentProof).join(Payment, Payment.id == PaymentProof.payment_id)
    query = query.where(PaymentProof.payment_id == payment_id)
    if client_id is not None:
        query = query.where(Payment.client_id == client_id)
    return db.session.scalar(query)


def _require_complete_profile() -> BusinessProfile:
    profile = business_profile()
    problems = profile_problems(profile)
    if problems:
        raise ProfileIncomplete(
            "Complete the business profile (Settings → Business profile) before issuing: " + ", ".join(problems) + "."
        )
    assert profile is not None
    return profile


@dataclass(frozen=True)
class Pricing:
    """How lines are priced: the seller's VAT standing when the draft was saved."""

    vat_registered: bool
    vat_rate: Decimal | None
    prices_include_vat: bool

    @classmethod
    def of(cls, profile: BusinessProfile | None) -> Pricing:
        if profile is None or not profile.vat_registered:
            return cls(False, None, False)
        return cls(True, profile.vat_rate, profile.prices_include_vat)


def current_pricing() -> Pricing:
    """How a line saved now is priced (the profile's VAT registration, rate and price entry)."""
    return Pricing.of(business_profile())


# --- Invoices -----------------------------------------------------------------------------


def lock_invoice(invoice_id: int) -> Invoice:
    """Load the invoice and hold its row lock until the transaction ends."""
    invoice = db.session.scalar(
        select(Invoice).where(Invoice.id == invoice_id).with_for_update().execution_options(populate_existing=True)
    )
    if invoice is None:
        raise NotFound("No such invoice.")
    books.track(invoice)  # monthly totals follow whatever this transaction does to the invoice
    return invoice


def _validate_invoice(data: InvoiceInput, pricing: Pricing) -> list[tuple[LineInput, str | None, Decimal, Decimal]]:
    """Check an invoice's input and return each line with its VAT treatment and its net and VAT,
    each rounded half-up to the centavo (rules.vat_line_totals)."""
    if not data.lines:
        raise InvalidInput("Add at least one line.", "lines")
    if len(data.lines) > MAX_LINES:
        raise InvalidInput(f"An invoice can have at most {MAX_LINES} lines.", "lines")
    priced = []
    for index, line in enumerate(data.lines):
        if not line.description.strip():
            raise InvalidInput(f"Line {index + 1}: enter a description.", "lines")
        if line.quantity <= 0:
            raise InvalidInput(f"Line {index + 1}: the quantity must be above zero.", "lines")
        if line.unit_price < 0:
            raise InvalidInput(f"Line {index + 1}: the unit price cannot be negative.", "lines")
        treatment: str | None = None
        if pricing.vat_registered:
            treatment = line.vat or rules.VATABLE
            if treatment not in rules.VAT_TREATMENTS:
                raise InvalidInput(f"Line {index + 1}: choose VATable, VAT-exempt or zero-rated.", "lines")
        net, tax = rules.vat_line_totals(
            line.quantity, line.unit_price, treatment, pricing.vat_rate or Decimal(0), pricing.prices_include_vat
        )
        priced.append((line, treatment, net, tax))
    total = sum((net + tax for _, _, net, tax in priced), Decimal("0.00"))
    if total <= 0:
        raise InvalidInput("The invoice total must be above zero.", "lines")
    if total > money.MAX_AMOUNT:
        raise InvalidInput("The invoice total is too large.", "lines")
    if data.due_date < data.issue_date:
        raise InvalidInput("The due date cannot be before the issue date.", "due_date")
    if data.issue_date > clock.today() + MAX_DRAFT_AHEAD:
        raise InvalidInput(
            f"The issue date is more than {MAX_DRAFT_AHEAD.days} days away: check the year.", "issue_date"
        )
    if data.payment_type == FULL_PAYMENT:
        pass
    elif data.payment_type == INSTALLMENT:
        if not 2 <= data.installment_count <= MAX_INSTALLMENTS:
            raise InvalidInput(f"An installment plan has 2 to {MAX_INSTALLMENTS} installments.", "installment_count")
        if data.frequency not in rules.FREQUENCIES:
            raise InvalidInput("Choose weekly, biweekly or monthly.", "frequency")
        if total / data.installment_count < Decimal("0.01"):
            raise InvalidInput("Each installment must be at least 0.01.", "installment_count")
        _require_schedule_dates(data.due_date, data.installment_count, data.frequency, "due_date")
    else:
        raise InvalidInput("Choose full payment or an installment plan.", "payment_type")
    return priced


def _require_schedule_dates(first_due: date, count: int, frequency: str, field: str) -> None:
    """A schedule whose dates the calendar cannot hold is refused before anything is written."""
    try:
        rules.due_dates(first_due, count, frequency)
    except rules.ScheduleOutOfRange as error:
        raise InvalidInput(str(error), field) from None


def _write_draft(invoice: Invoice, data: InvoiceInput, pricing: Pricing, priced) -> None:
    invoice.client_id = data.client_id
    invoice.description = data.description.strip()
    invoice.issue_date = data.issue_date
    invoice.due_date = data.due_date
    invoice.payment_type = data.payment_type
    if data.payment_type == FULL_PAYMENT:
        invoice.installment_count, invoice.frequency = 1, None
    else:
        invoice.installment_count, invoice.frequency = data.installment_count, data.frequency
    invoice.lines.clear()
    for position, (line, treatment, net, tax) in enumerate(priced, start=1):
        invoice.lines.append(
            InvoiceLine(
                position=position,
                description=line.description.strip(),
                quantity=line.quantity,
                unit_price=line.unit_price,
                vat_treatment=treatment,
                tax_rate=pricing.vat_rate if treatment == rules.VATABLE else None,
                net_amount=net,
                tax_amount=tax,
            )
        )
    summary = rules.vat_summary((treatment, net, tax) for _, treatment, net, tax in priced)
    invoice.amount = summary.total
    invoice.seller_vat_registered = pricing.vat_registered
    invoice.prices_include_vat = pricing.prices_include_vat
    invoice.vat_rate = pricing.vat_rate
    invoice.vatable_sales = summary.vatable
    invoice.vat_amount = summary.vat
    invoice.exempt_sales = summary.exempt
    invoice.zero_rated_sales = summary.zero_rated


def _require_active_client(client_id: int) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        raise InvalidInput("Choose a client.", "client_id")
    if client.archived_at is not None:
        raise InvalidInput("This client is archived; restore them first.", "client_id")
    return client


def save_draft(actor: Actor, data: InvoiceInput, invoice_id: int | None = None) -> int:
    """Create or edit a draft invoice.  Drafts have no number and are invisible to the client.
    Its lines are priced with the business profile's VAT standing as it is now."""
    pricing = Pricing.of(business_profile())
    priced = _validate_invoice(data, pricing)
    with write_transaction():
        _require_active_client(data.client_id)
        if invoice_id is None:
            invoice = Invoice(currency=_currency(), paid_amount=Decimal("0.00"), held_amount=Decimal("0.00"))
            db.session.add(invoice)
            action = "invoice.draft_created"
        else:
            invoice = lock_invoice(invoice_id)
            if not invoice.is_draft:
                raise InvoiceNotEditable("This invoice is issued: void it and issue a new one to change it.")
            action = "invoice.draft_updated"
        _write_draft(invoice, data, pricing, priced)
        db.session.flush()
        audit.record(actor, action, client_id=invoice.client_id, invoice_id=invoice.id, amount_after=invoice.amount)
        return invoice.id


def delete_draft(actor: Actor, invoice_id: int) -> None:
    """Delete a draft (it has no number and no payments; issued invoices are voided instead)."""
    with write_transaction():
        invoice = lock_invoice(invoice_id)
        if not invoice.is_draft:
            raise InvoiceNotEditable("Issued invoices are voided, not deleted.")
        audit.record(
            actor,
            "invoice.draft_deleted",
            client_id=invoice.client_id,
            amount_before=invoice.amount,
            detail=f"draft #{invoice.id}",
        )
        # The draft's earlier entries stay in the trail; only their link to the deleted row goes
        # (otherwise the foreign key refuses the delete).  The entry above names the draft.
        db.session.execute(
            update(AuditEntry)
            .where(AuditEntry.invoice_id == invoice.id)
            .values(invoice_id=None)
            .execution_options(synchronize_session=False)
        )
        db.session.delete(invoice)


def _currency() -> str:
    from flask import current_app

    return current_app.config["AIS_CURRENCY"]


def _next_number(counter_model, year: int) -> int:
    """The next number of the year from a counter row locked in this transaction: no gaps, no repeats."""
    dialect = db.engine.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(counter_model).values(year=year, last_number=0).on_conflict_do_nothing())
    counter = db.session.scalars(  # (the row exists: inserted just above if it was missing)
        select(counter_model)
        .where(counter_model.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    counter.last_number += 1
    return counter.last_number


def _next_invoice_number(year: int) -> str:
    return rules.format_invoice_number(year, _next_number(InvoiceCounter, year))


def _issue(actor: Actor, invoice: Invoice) -> str:
    if not invoice.is_draft:
        raise InvalidTransition("This invoice is already issued.")
    if invoice.issue_date > clock.today():
        # An issued invoice counts as owed at once and its date is the date of the sale: a later
        # date waits as a draft (issue it on the day, or change its date to today).
        raise InvalidInput(
            f"This invoice is dated {format_day(invoice.issue_date)}, after today: keep it as a draft "
            "and issue it on that day, or date it today.",
            "issue_date",
        )
    client = _require_active_client(invoice.client_id)
    profile = _require_complete_profile()
    pricing = Pricing.of(profile)
    if pricing != Pricing(invoice.seller_vat_registered, invoice.vat_rate, invoice.prices_include_vat):
        raise InvalidTransition(
            "The business profile's VAT settings changed since this draft was saved: "
            "open the draft and save it again to price it with them."
        )
    invoice.invoice_no = _next_invoice_number(invoice.issue_date.year)
    invoice.issued_at = clock.utcnow()
    invoice.seller_name, invoice.seller_trade_name = profile.registered_name, profile.trade_name
    invoice.seller_tin, invoice.seller_address = profile.tin, profile.address
    invoice.buyer_name = (client.company or client.name)[:200]
    invoice.buyer_tin, invoice.buyer_address = client.tax_id, client.address
    schedule = rules.build_schedule(
        invoice.amount, invoice.installment_count, invoice.due_date, invoice.frequency or rules.MONTHLY
    )
    for item in schedule:
        invoice.installments.append(
            Installment(number=item.number, due_date=item.due_date, amount=item.amount, paid_amount=Decimal("0.00"))
        )
    invoice.next_due_date = schedule[0].due_date
    db.session.flush()
    ledger.invoice_issued(invoice)
    audit.record(
        actor,
        "invoice.issued",
        client_id=invoice.client_id,
        invoice_id=invoice.id,
        amount_after=invoice.amount,
        detail=invoice.invoice_no,
    )
    notices.invoice_issued(invoice, client)
    return invoice.invoice_no


def issue_invoice(actor: Actor, invoice_id: int) -> str:
    """Issue a draft: it gets its number, its lines and amount are fixed, its schedule is made."""
    with write_transaction():
        invoice = lock_invoice(invoice_id)
        return _issue(actor, invoice)


def create_invoice(actor: Actor, data: InvoiceInput, issue: bool = True) -> int:
    """Create an invoice and (by default) issue it, in one transaction."""
    pricing = Pricing.of(business_profile())
    priced = _validate_invoice(data, pricing)
    with write_transaction():
        _require_active_client(data.client_id)
        invoice = Invoice(currency=_currency(), paid_amount=Decimal("0.00"), held_amount=Decimal("0.00"))
        db.session.add(invoice)
        _write_draft(invoice, data, pricing, priced)
        db.session.flush()
        books.track(invoice)
        audit.record(
            actor,
            "invoice.draft_created",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            amount_after=invoice.amount,
        )
        if issue:
            _issue(actor, invoice)
        return invoice.id


def _creditable(invoice: Invoice | InvoiceView, customer_credits: Decimal) -> Decimal:
    if invoice.is_draft or invoice.is_void:
        return Decimal("0.00")
    # Late fees are not sales: they are waived (ais.billing.late_fees), never credited.
    late_fees = getattr(invoice, "late_fee_amount", None) or Decimal("0.00")
    return max(invoice.amount - invoice.held_amount - customer_credits - late_fees, Decimal("0.00"))


def creditable(invoice: Invoice | InvoiceView, notes: Sequence | None = None) -> Decimal:
    """How much a credit note may still take off the invoice: what it bills, less payments awaiting
    confirmation and earlier customer credits.  ``notes``: the invoice's credit notes if already
    read (rows with ``customer_credit``, as reads.read_credit_notes gives them)."""
    if notes is None:
        customer_credits = db.session.scalar(
            select(func.coalesce(func.sum(CreditNote.customer_credit), 0)).where(CreditNote.invoice_id == invoice.id)
        )
    else:
        customer_credits = sum((note.customer_credit for note in notes), Decimal("0.00"))
    return _creditable(invoice, Decimal(customer_credits or 0))


def credit_invoice(actor: Actor, invoice_id: int, amount, reason: str) -> int:
    """Issue a credit note (``CN-YYYY-NNNN``, dated today) against an issued invoice.

    Rule: the credit is above zero and at most what the invoice still bills (its amount, less
    payments awaiting confirmation and earlier customer credits), else ``CreditRefused``.  The
    part within the unpaid balance (amount - confirmed - awaiting) lowers the invoice's amount and
    its unpaid installments shrink from the last backwards (rules.shrink_from_last; one left with
    nothing is removed).  The part beyond it, where confirmed payments exceed the lowered amount,
    is a customer credit: kept on the note and flagged as an overpayment for the owner to refund
    or apply.  The credit is split over the VAT treatments in proportion to what the invoice had
    left (rules.split_credit).  Audited; the client is emailed with the PDF."""
    try:
        amount = money.parse_amount(amount)
    except money.InvalidAmount as error:
        raise InvalidInput(str(error), "amount") from None
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give the reason for the credit (it is printed on the credit note).", "reason")
    with write_transaction():
        invoice = lock_invoice(invoice_id)
        if invoice.is_draft:
            raise CreditRefused("A draft is not credited: edit it or delete it.")
        if invoice.is_void:
            raise CreditRefused("This invoice is void: there is nothing to credit.")
        earlier = db.session.execute(
            select(
                func.coalesce(func.sum(CreditNote.vatable_amount), 0),
                func.coalesce(func.sum(CreditNote.vat_amount), 0),
                func.coalesce(func.sum(CreditNote.exempt_amount), 0),
                func.coalesce(func.sum(CreditNote.zero_rated_amount), 0),
                func.coalesce(func.sum(CreditNote.customer_credit), 0),
            ).where(CreditNote.invoice_id == invoice.id)
        ).one()
        earlier_customer_credit = Decimal(earlier[4])
        creditable = _creditable(invoice, earlier_customer_credit)
        if amount > creditable:
            held = ""
            if invoice.held_amount > 0:
                held = f" ({format_money(invoice.held_amount, invoice.currency)} is awaiting confirmation)"
            raise CreditRefused(
                f"{format_money(amount, invoice.currency)} exceeds the {format_money(creditable, invoice.currency)} "
                f"this invoice still bills{held}.",
                "amount",
            )
        unpaid = invoice.amount - invoice.paid_amount - invoice.held_amount
        applied = min(amount, unpaid)
        customer_credit = amount - applied
        amount_before = invoice.amount
        original = (invoice.vatable_sales, invoice.vat_amount, invoice.exempt_sales, invoice.zero_rated_sales)
        left = [Decimal(o) - Decimal(e) for o, e in zip(original, earlier[:4], strict=True)]
        # (what is left of a non-VAT seller's sales: the rest of what the invoice still bills)
        left.append(invoice.amount - invoice.late_fee_amount - earlier_customer_credit - sum(left, Decimal("0.00")))
        vatable, vat, exempt, zero_rated, _ = rules.split_credit(amount, left)

        if applied > 0:
            # The lock is held: the installments' paid amounts are the allocation's, so what is unpaid is exact.
            new_amounts = rules.shrink_from_last(_installment_states(invoice), applied)
            for installment in list(invoice.installments):
                installment.amount = new_amounts[installment.number]
                if installment.amount == 0:
                    invoice.installments.remove(installment)
            invoice.amount -= applied
            invoice.credited_amount += applied
        if invoice.installments:
            invoice.installment_count = len(invoice.installments)
        today = clock.today()
        note = CreditNote(
            credit_no=rules.format_credit_note_number(today.year, _next_number(CreditNoteCounter, today.year)),
            invoice_id=invoice.id,
            client_id=invoice.client_id,
            issue_date=today,
            amount=amount,
            reason=reason,
            vatable_amount=vatable,
            vat_amount=vat,
            exempt_amount=exempt,
            zero_rated_amount=zero_rated,
            customer_credit=customer_credit,
            created_by_id=actor.user_id,
        )
        db.session.add(note)
        db.session.flush()
        ledger.credit_note_issued(note)
        if customer_credit > 0:
            db.session.add(
                Overpayment(
                    invoice_id=invoice.id,
                    client_id=invoice.client_id,
                    amount=customer_credit,
                    currency=invoice.currency,
                    provider="credit_note",
                    provider_reference=note.credit_no,
                    reason=f"Customer credit from {note.credit_no}: payments exceed the invoice's lowered amount.",
                )
            )
        reallocate(invoice)
        audit.record(
            actor,
            "invoice.credited",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            amount_before=amount_before,
            amount_after=invoice.amount,
            detail=f"{note.credit_no} {format_money(amount, invoice.currency)}"
            + (f" ({format_money(customer_credit, invoice.currency)} customer credit)" if customer_credit else "")
            + f": {reason}",
        )
        notices.credit_note_issued(note, invoice)
        return note.id


def check_replan_input(count: int, frequency: str, first_due: date) -> None:
    """The checks of a re-plan's input that need no invoice (InvalidInput naming the field)."""
    if not 1 <= count <= MAX_INSTALLMENTS:
        raise InvalidInput(f"Choose 1 to {MAX_INSTALLMENTS} installments.", "installment_count")
    if frequency not in rules.FREQUENCIES:
        raise InvalidInput("Choose weekly, biweekly or monthly.", "frequency")
    _require_schedule_dates(first_due, count, frequency, "first_due")


def replan_schedule(
    invoice: Invoice | InvoiceView, count: int, frequency: str, first_due: date
) -> list[rules.ScheduledInstallment]:
    """The schedule a re-plan would give the invoice now (kept installments, then the new ones):
    the rule ``replan_invoice`` applies, for previews.  Raises InvalidInput as the re-plan would."""
    states = _installment_states(invoice)
    unpaid = sum((s.unpaid for s in states), Decimal("0.00"))
    if unpaid / count < Decimal("0.01"):
        raise InvalidInput("Each installment must be at least 0.01.", "installment_count")
    try:
        return rules.replan(states, count, first_due, frequency)
    except rules.ScheduleOutOfOrder as error:
        raise InvalidInput(
            f"The new installments cannot start before {format_day(error.kept_due)}: installment "
            f"{error.kept_number}, due then, has payments and is kept, and a schedule stays in due-date order.",
            "first_due",
        ) from None


def replan_invoice(actor: Actor, invoice_id: int, count: int, frequency: str, first_due: date) -> None:
    """Spread the unpaid balance over a new schedule; installments already paid stay as they were.

    The schedule stays in due-date order (rules.replan): the new installments are numbered after the
    kept ones and may not start before the last kept one's due date (refused with InvalidInput)."""
    check_replan_input(count, frequency, first_due)
    with write_transaction():
        invoice = lock_invoice(invoice_id)
        replan_locked(actor, invoice, count, frequency, first_due)


def replan_locked(
    actor: Actor, invoice: Invoice, count: int, frequency: str, first_due: date, notify: bool = True
) -> None:
    """The re-plan of an invoice locked in the current transaction (``replan_invoice``, and an
    approved plan proposal); the input already passed ``check_replan_input``."""
    require_open(invoice, PaymentRefused)
    if invoice.payment_type != INSTALLMENT:
        raise InvalidTransition("Only installment plans can be re-planned.")
    if first_due < invoice.issue_date:
        raise InvalidInput("The first new due date cannot be before the issue date.", "first_due")
    states = _installment_states(invoice)
    unpaid = sum((s.unpaid for s in states), Decimal("0.00"))
    new_schedule = replan_schedule(invoice, count, frequency, first_due)
    new_by_number = {item.number: item for item in new_schedule}
    # Installments with money on them stay (cut to their paid part); the unpaid ones go.
    for inst in list(invoice.installments):
        if inst.paid_amount > 0:
            inst.amount = new_by_number.pop(inst.number).amount
        else:
            invoice.installments.remove(inst)
    db.session.flush()  # delete before insert: the new ones may reuse the numbers
    for item in new_by_number.values():
        invoice.installments.append(
            Installment(number=item.number, due_date=item.due_date, amount=item.amount, paid_amount=Decimal("0.00"))
        )
    invoice.installment_count = len(new_schedule)
    invoice.frequency = frequency
    db.session.flush()
    reallocate(invoice)
    audit.record(
        actor,
        "invoice.replanned",
        client_id=invoice.client_id,
        invoice_id=invoice.id,
        amount_before=unpaid,
        amount_after=unpaid,
        detail=f"{count} {frequency} installments from {first_due.isoformat()}",
    )
    if notify:
        notices.invoice_replanned(invoice, invoice.client)


def void_invoice(actor: Actor, invoice_id: int, reason: str) -> None:
    """Cancel an issued invoice.  Its confirmed payments must be voided first (money is never
    silently dropped); payments still awaiting confirmation are rejected with the same reason."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give a reason for voiding the invoice.", "reason")
    with write_transaction():
        invoice = lock_invoice(invoice_id)
        if invoice.is_draft:
            raise InvalidTransition("Drafts are deleted, not voided.")
        if invoice.is_void:
            raise InvalidTransition("This invoice is already void.")
        if invoice.paid_amount > 0:
            raise InvalidTransition("This invoice has confirmed payments: void or refund them first.")
        for payment in _payments(invoice.id, REPORTED):
            transition(payment, REJECTED, f"Invoice voided: {reason}")
            notices.payment_rejected(payment, invoice)
        invoice.voided_at = clock.utcnow()
        invoice.void_reason = reason
        ledger.invoice_voided(invoice, clock.today())
        ledger.late_fees_voided(invoice, clock.today())
        reallocate(invoice)
        audit.record(
            actor,
            "invoice.voided",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            amount_before=invoice.amount,
            detail=reason,
        )
        notices.invoice_voided(invoice)


# --- Payments -----------------------------------------------------------------------------


def require_open(invoice: Invoice, error=PaymentRefused) -> None:
    if invoice.is_draft:
        raise error("This invoice has not been issued yet.")
    if invoice.is_void:
        raise error("This invoice is void.")
    if invoice.paid_amount >= invoice.amount:
        raise error("This invoice is already paid in full.")


def open_room(invoice: Invoice | InvoiceView) -> Decimal:
    """What may still be paid: the amount less confirmed payments and the room held by pending ones."""
    return invoice.amount - invoice.paid_amount - invoice.held_amount


def _check_payment(invoice: Invoice, amount, paid_on: date, method: str) -> Decimal:
    try:
        amount = money.parse_amount(amount)
    except money.InvalidAmount as error:
        raise InvalidInput(str(error), "amount") from None
    if not isinstance(paid_on, date):
        raise InvalidInput("Enter the date of the payment.", "date")
    if paid_on > clock.today():
        raise InvalidInput("The payment date cannot be in the future.", "date")
    if paid_on < invoice.issue_date:
        raise InvalidInput("The payment date cannot be before the invoice was issued.", "date")
    if methods.canonical(method) is None:
        raise InvalidInput("Choose how it was paid.", "method")
    if methods.canonical(method) == methods.CUSTOMER_CREDIT:
        # (only ais.billing.credits records it: a credit applied comes out of a customer credit)
        raise InvalidInput("Apply a customer credit from the client's credits instead.", "method")
    require_open(invoice)
    room = open_room(invoice)
    if amount > room:
        held = ""
        if invoice.held_amount > 0:
            held = f" ({format_money(invoice.held_amount, invoice.currency)} is awaiting confirmation)"
        raise PaymentRefused(
            f"{format_money(amount, invoice.currency)} exceeds the open balance of "
            f"{format_money(room, invoice.currency)}{held}.",
            "amount",
        )
    return amount


def _existing_submission(submission_key: str | None) -> int | None:
    if not submission_key:
        return None
    return db.session.scalar(select(Payment.id).where(Payment.submission_key == submission_key))


def add_payment(
    actor,
    invoice,
    *,
    amount,
    paid_on,
    method,
    reference,
    state,
    submission_key,
    provider="manual",
    provider_reference=None,
) -> Payment:
    payment = Payment(
        invoice_id=invoice.id,
        client_id=invoice.client_id,
        amount=amount,
        method=methods.canonical(method) or methods.OTHER,
        date=paid_on,
        reference=(reference or "").strip()[:120],
        state=state,
        state_changed_at=clock.utcnow(),
        recorded_by_id=actor.user_id,
        submission_key=submission_key or None,
        provider=provider,
        provider_reference=provider_reference,
    )
    db.session.add(payment)
    db.session.flush()
    return payment


def _payment_with_key(submission_key, record) -> int:
    """Run ``record``; if the same form was already posted, return the first payment instead."""
    existing = _existing_submission(submission_key)
    if existing is not None:
        return existing
    try:
        return record()
    except IntegrityError:
        # Two posts of the same form raced: the other one won; show its result.
        db.session.rollback()
        existing = _existing_submission(submission_key)
        if existing is None:
            raise
        return existing


def record_payment(
    actor: Actor,
    invoice_id: int,
    amount,
    paid_on: date,
    method: str,
    reference: str = "",
    submission_key: str | None = None,
) -> int:
    """The owner records money received: a confirmed payment, allocated to installments oldest first.
    Refused if it would take confirmed plus pending payments over the invoice amount."""

    def record() -> int:
        with write_transaction():
            invoice = lock_invoice(invoice_id)
            checked = _check_payment(invoice, amount, paid_on, method)
            paid_before = invoice.paid_amount
            payment = add_payment(
                actor,
                invoice,
                amount=checked,
                paid_on=paid_on,
                method=method,
                reference=reference,
                state=CONFIRMED,
                submission_key=submission_key,
            )
            ledger.payment_confirmed(payment)
            reallocate(invoice)
            audit.record(
                actor,
                "payment.recorded",
                client_id=invoice.client_id,
                invoice_id=invoice.id,
                payment_id=payment.id,
                amount_before=paid_before,
                amount_after=invoice.paid_amount,
                detail=f"{format_money(checked, invoice.currency)} by {payment.method}",
            )
            notices.payment_receipt(payment, invoice)
            return payment.id

    return _payment_with_key(submission_key, record)


def report_payment(
    actor: Actor,
    client_id: int,
    invoice_id: int,
    amount,
    paid_on: date,
    method: str,
    reference: str = "",
    submission_key: str | None = None,
    proof: bytes | None = None,
    proof_filename: str = "",
) -> int:
    """A client reports a payment they made: it holds its room under the cap until the owner
    confirms or rejects it.  Another client's invoice is NotFound (nothing is revealed).  A proof
    (the file's bytes) must be a PNG or JPEG, re-encoded here without its metadata, or a PDF, at
    most 5 MB (InvalidInput on ``proof`` otherwise); it is stored with the payment in the same
    transaction: both are written or neither."""
    checked_file = checked_proof(proof, proof_filename)

    def record() -> int:
        with write_transaction():
            invoice = lock_invoice(invoice_id)
            if invoice.client_id != client_id or invoice.is_draft:
                raise NotFound("No such invoice.")
            checked = _check_payment(invoice, amount, paid_on, method)
            held_before = invoice.held_amount
            payment = add_payment(
                actor,
                invoice,
                amount=checked,
                paid_on=paid_on,
                method=method,
                reference=reference,
                state=REPORTED,
                submission_key=submission_key,
            )
            if checked_file is not None:
                db.session.add(
                    PaymentProof(
                        payment_id=payment.id,
                        content_type=checked_file.content_type,
                        filename=checked_file.filename,
                        data=checked_file.data,
                        size=len(checked_file.data),
                    )
                )
            reallocate(invoice)
            audit.record(
                actor,
                "payment.reported",
                client_id=invoice.client_id,
                invoice_id=invoice.id,
                payment_id=payment.id,
                amount_before=held_before,
                amount_after=invoice.held_amount,
                detail=f"{format_money(checked, invoice.currency)} by {payment.method}"
                + (f", proof {checked_file.filename}" if checked_file is not None else ""),
            )
            notices.payment_reported(payment, invoice)
            return payment.id

    return _payment_with_key(submission_key, record)


def attach_proof(actor: Actor, client_id: int, payment_id: int, proof: bytes | None, proof_filename: str = "") -> None:
    """A client attaches a proof to a payment they reported that still awaits confirmation and has
    none: checked and stored as ``report_payment`` does (InvalidInput on ``proof``).  Another
    client's payment, or none, is NotFound; a payment confirmed, rejected or voided, or one with a
    proof already, is InvalidTransition (a proof, once sent, is not replaced)."""
    if proof is None:
        raise InvalidInput("Choose the file to attach: a photo or screenshot (PNG or JPEG), or a PDF.", "proof")
    checked_file = checked_proof(proof, proof_filename)
    assert checked_file is not None
    if db.session.scalar(select(Payment.client_id).where(Payment.id == payment_id)) != client_id:
        raise NotFound("No such payment.")
    with write_transaction():
        payment, invoice = _lock_payment(payment_id)
        if payment.state != REPORTED:
            raise InvalidTransition("Only a payment awaiting confirmation can take a proof.")
        if db.session.scalar(select(PaymentProof.id).where(PaymentProof.payment_id == payment.id)) is not None:
            raise InvalidTransition("This payment already has a proof.")
        db.session.add(
            PaymentProof(
                payment_id=payment.id,
                content_type=checked_file.content_type,
                filename=checked_file.filename,
                data=checked_file.data,
                size=len(checked_file.data),
            )
        )
        audit.record(
            actor,
            "payment.proof_added",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            payment_id=payment.id,
            detail=f"proof {checked_file.filename} for {format_money(payment.amount, invoice.currency)}",
        )


def _lock_payment(payment_id: int) -> tuple[Payment, Invoice]:
    invoice_id = db.session.scalar(select(Payment.invoice_id).where(Payment.id == payment_id))
    if invoice_id is None:
        raise NotFound("No such payment.")
    invoice = lock_invoice(invoice_id)  # the invoice's lock guards its payments
    payment = db.session.get_one(Payment, payment_id, populate_existing=True)
    return payment, invoice


ALLOWED_TRANSITIONS = {
    (REPORTED, CONFIRMED),
    (REPORTED, REJECTED),
    (CONFIRMED, VOIDED),
}


def transition(payment: Payment, new_state: str, reason: str = "") -> None:
    if (payment.state, new_state) not in ALLOWED_TRANSITIONS:
        raise InvalidTransition(f"A {payment.state} payment cannot be {new_state}.")
    payment.state = new_state
    payment.state_reason = reason
    payment.state_changed_at = clock.utcnow()


def confirm_payment(actor: Actor, payment_id: int) -> None:
    """The owner confirms a reported payment: it now counts as paid and is allocated."""
    with write_transaction():
        payment, invoice = _lock_payment(payment_id)
        if invoice.is_void:
            raise InvalidTransition("The invoice is void.")
        paid_before = invoice.paid_amount
        transition(payment, CONFIRMED)
        ledger.payment_confirmed(payment)
        reallocate(invoice)
        audit.record(
            actor,
            "payment.confirmed",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            payment_id=payment.id,
            amount_before=paid_before,
            amount_after=invoice.paid_amount,
        )
        notices.payment_receipt(payment, invoice)


def reject_payment(actor: Actor, payment_id: int, reason: str) -> None:
    """The owner rejects a reported payment (with a reason the client is told); its room is released."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give the client a reason.", "reason")
    with write_transaction():
        payment, invoice = _lock_payment(payment_id)
        held_before = invoice.held_amount
        transition(payment, REJECTED, reason)
        reallocate(invoice)
        audit.record(
            actor,
            "payment.rejected",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            payment_id=payment.id,
            amount_before=held_before,
            amount_after=invoice.held_amount,
            detail=reason,
        )
        notices.payment_rejected(payment, invoice)


def void_payment(actor: Actor, payment_id: int, reason: str) -> None:
    """The owner voids a confirmed payment (kept, never deleted); the allocation is recomputed."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give a reason for voiding the payment.", "reason")
    with write_transaction():
        payment, invoice = _lock_payment(payment_id)
        paid_before = invoice.paid_amount
        transition(payment, VOIDED, reason)
        if payment.method == methods.CUSTOMER_CREDIT:
            _give_back_credit(payment)
        ledger.payment_voided(payment, clock.today())
        reallocate(invoice)
        audit.record(
            actor,
            "payment.voided",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            payment_id=payment.id,
            amount_before=paid_before,
            amount_after=invoice.paid_amount,
            detail=reason,
        )
        notices.payment_voided(payment, invoice)


def _give_back_credit(payment: Payment) -> None:
    """A voided application of a customer credit: the credit is owed to the client again (reopened
    if it was settled by applications), with its row locked after the invoice's.  Refused once the
    credit was refunded (the money left; it cannot be owed twice)."""
    application = db.session.scalar(select(CreditApplication).where(CreditApplication.payment_id == payment.id))
    if application is None:
        return
    credit = db.session.get_one(Overpayment, application.overpayment_id, populate_existing=True, with_for_update=True)
    if credit.refunded_amount > 0 or (
        credit.resolved_at is not None and credit.resolution.startswith(ledger.REFUNDED_PREFIX)
    ):
        raise InvalidTransition(
            f"This payment applied customer credit {credit.provider_reference}, which has since been refunded: "
            "it cannot be given back."
        )
    credit.applied_amount -= application.amount
    if credit.resolved_at is not None:
        credit.resolved_at = None
        credit.resolution = ""


# --- Allocation and running totals ------------------------------------------------------------


def _payments(invoice_id: int, *states: str) -> list[Payment]:
    return list(
        db.session.scalars(
            select(Payment)
            .where(Payment.invoice_id == invoice_id, Payment.state.in_(states))
            .order_by(Payment.date, Payment.id)
        )
    )


def _installment_states(invoice: Invoice | InvoiceView) -> list[rules.InstallmentState]:
    return [
        rules.InstallmentState(number=i.number, due_date=i.due_date, amount=i.amount, paid=i.paid_amount)
        for i in invoice.installments
    ]


def reallocate(invoice: Invoice) -> ReallocationChange:
    """Recompute the invoice's allocation and running totals from its payments.

    Confirmed payments pay installments oldest first in (date, id) order; each payment's
    installment_number is the installment that got its first cent.  Reported payments hold
    room (held_amount).  Called with the invoice locked.
    """
    change = ReallocationChange(invoice_no=invoice.invoice_no or f"draft #{invoice.id}")
    all_payments = list(
        db.session.scalars(select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.date, Payment.id))
    )
    confirmed = [p for p in all_payments if p.state == CONFIRMED]
    installments = list(invoice.installments)
    by_number = {i.number: i for i in installments}
    allocations = rules.allocate(
        [rules.PaymentIn(id=p.id, date=p.date, amount=p.amount) for p in confirmed],
        [rules.InstallmentIn(number=i.number, amount=i.amount) for i in installments],
    )
    wanted = {(a.payment_id, by_number[a.installment_number].id): a.amount for a in allocations}
    payment_ids = [p.id for p in all_payments]
    existing = {}
    if payment_ids:
        for row in db.session.execute(
            select(Allocation.payment_id, Allocation.installment_id, Allocation.amount).where(
                Allocation.payment_id.in_(payment_ids)
            )
        ):
            existing[(row.payment_id, row.installment_id)] = row.amount
    if existing != wanted:
        change.allocations_changed = True
        if payment_ids:
            db.session.execute(delete(Allocation).where(Allocation.payment_id.in_(payment_ids)))
        db.session.add_all(
            Allocation(payment_id=pid, installment_id=iid, amount=amount) for (pid, iid), amount in wanted.items()
        )

    first_numbers = rules.first_installment_numbers(allocations)
    for payment in all_payments:
        number = first_numbers.get(payment.id) if payment.state == CONFIRMED else None
        if payment.installment_number != number:
            change.payment_numbers[payment.id] = (payment.installment_number, number)
            payment.installment_number = number

    paid_by_number = rules.installment_paid_amounts(allocations)
    for inst in installments:
        paid = paid_by_number.get(inst.number, Decimal("0.00"))
        if inst.paid_amount != paid:
            inst.paid_amount = paid
    invoice.paid_amount = sum((p.amount for p in confirmed), Decimal("0.00"))
    invoice.held_amount = sum((p.amount for p in all_payments if p.state == REPORTED), Decimal("0.00"))
    # Online payments in progress (ais.payments) hold their room like reported payments.
    invoice.held_amount += sum(
        db.session.scalars(
            select(CheckoutSession.amount).where(
                CheckoutSession.invoice_id == invoice.id, CheckoutSession.status.in_(CHECKOUT_HOLDING)
            )
        ),
        Decimal("0.00"),
    )
    unpaid_dates = [i.due_date for i in installments if i.paid_amount < i.amount]
    invoice.next_due_date = min(unpaid_dates) if unpaid_dates and not invoice.is_void else None
    db.session.flush()
    return change


class _DryRun(Exception):
    """Raised inside a transaction to roll it back on purpose."""


def reallocate_all(dry_run: bool = False) -> list[ReallocationChange]:
    """Recompute allocations and installment numbers for every issued invoice (the backfill).

    Each invoice is its own transaction with its row locked; a dry run rolls every one back.
    Running it twice changes nothing the second time.
    """
    changes = []
    invoice_ids = list(
        db.session.scalars(select(Invoice.id).where(Invoice.issued_at.is_not(None)).order_by(Invoice.id))
    )
    for invoice_id in invoice_ids:
        try:
            with write_transaction():
                change = reallocate(lock_invoice(invoice_id))
                if change.changed:
                    changes.append(change)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
    return changes


def fill_vat_from_lines(dry_run: bool = False) -> list[str]:
    """Give the invoices the previous release (0.8) wrote their VAT summary, as migration 0010
    did for the invoices there were: a line with a tax rate above zero and no VAT treatment (only
    0.8 writes one: this release sets a rate on VATable lines only) becomes VATable, and the
    invoice's sums are its lines' sums.  Each invoice is its own transaction with its row locked;
    returns the invoices changed (numbers, or "draft <id>").  Running it twice changes nothing."""
    invoice_ids = list(
        db.session.scalars(
            select(InvoiceLine.invoice_id)
            .where(InvoiceLine.vat_treatment.is_(None), InvoiceLine.tax_rate > 0)
            .distinct()
            .order_by(InvoiceLine.invoice_id)
        )
    )
    changed = []
    for invoice_id in invoice_ids:
        try:
            with write_transaction():
                invoice = lock_invoice(invoice_id)
                for line in invoice.lines:
                    if line.vat_treatment is None and line.tax_rate is not None and line.tax_rate > 0:
                        line.vat_treatment = rules.VATABLE
                summary = rules.vat_summary(
                    (line.vat_treatment, line.net_amount, line.tax_amount) for line in invoice.lines
                )
                invoice.vatable_sales, invoice.vat_amount = summary.vatable, summary.vat
                invoice.exempt_sales, invoice.zero_rated_sales = summary.exempt, summary.zero_rated
                invoice.seller_vat_registered = True
                db.session.flush()
                changed.append(invoice.invoice_no or f"draft {invoice.id}")
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
    return changed


def installment_states(invoice: Invoice | InvoiceView) -> list[rules.InstallmentState]:
    """The invoice's installments as rule values (for pages: amount due now, statuses)."""
    return _installment_states(invoice)


@dataclass(frozen=True)
class ShownInstallment:
    """One installment as an invoice's page shows it: its status and its due date and amounts
    already formatted (the ``day`` and ``money`` filters' own functions)."""

    number: int
    due_date: date
    status: str
    due: str
    amount: str
    paid: str
    unpaid: str


def schedule_rows(invoice: Invoice | InvoiceView, today: date) -> list[ShownInstallment]:
    """The invoice's schedule for its page (back office and portal), each distinct date and amount
    formatted once: installments mostly share their amount (and paid: nothing or all of it)."""
    from functools import cache

    currency = invoice.currency
    money = cache(lambda amount: format_money(amount, currency))
    states = _installment_states(invoice)
    installments: Sequence[Installment | InstallmentRow] = invoice.installments
    return [
        ShownInstallment(
            number=inst.number,
            due_date=inst.due_date,
            status=rules.VOID if invoice.is_void else rules.installment_status(state, today),
            due=format_day(inst.due_date),
            amount=money(inst.amount),
            paid=money(inst.paid_amount),
            unpaid=money(inst.unpaid),
        )
        for inst, state in zip(installments, states, strict=False)
    ]


def owed_on(invoice: Invoice | InvoiceView, today: date) -> rules.Owed:
    """What is owed on the invoice on ``today`` (rules.owed): the one source of "overdue", "due
    today", "awaiting confirmation", "balance" and the suggested payment for pages and emails.
    Drafts and void invoices owe nothing.  ``invoice`` is an Invoice or a read view of one."""
    if invoice.is_draft or invoice.is_void:
        return rules.owed([], today)
    return rules.owed(_installment_states(invoice), today, invoice.held_amount)


def payoff_quote(invoice: Invoice | InvoiceView) -> rules.PayoffQuote:
    """What would settle the invoice today (rules.payoff_quote): its unpaid balance, with the
    money awaiting confirmation beside it.  Drafts and void invoices owe nothing.  The one source
    of the "To settle this invoice today" figure on the owner's and the client's invoice pages and
    of the "Settle the invoice" choices of the payment forms."""
    if invoice.is_draft or invoice.is_void:
        return rules.payoff_quote([])
    return rules.payoff_quote(_installment_states(invoice), invoice.held_amount)


def status_of(invoice: Invoice | InvoiceView, today: date | None = None) -> str:
    """The invoice's derived status (never stored)."""
    return rules.invoice_status(
        amount=invoice.amount,
        paid=invoice.paid_amount,
        earliest_unpaid_due=invoice.next_due_date,
        today=today or clock.today(),
        voided=invoice.is_void,
        issued=not invoice.is_draft,
    )
