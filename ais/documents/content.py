"""What each document shows, read from the stored rows (for the owner, or scoped to one client)."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from ..billing import reads, services, statements
from ..billing.reads import InvoiceView
from ..extensions import db
from ..models import CONFIRMED, Client, CreditNote, Payment


@dataclass(frozen=True)
class Seller:
    registered_name: str
    trade_name: str
    tin: str
    address: str
    vat_registered: bool
    footer_lines: tuple[str, ...]
    logo_data_uri: str  # a data: URI (the PDF renderer fetches nothing), or ""


@dataclass(frozen=True)
class Buyer:
    name: str
    attention: str  # the person, when the buyer is a company
    tin: str
    address: str


@dataclass(frozen=True)
class InvoiceDocument:
    invoice: InvoiceView
    seller: Seller
    buyer: Buyer

    @property
    def filename(self) -> str:
        return f"{self.invoice.invoice_no}.pdf"


@dataclass(frozen=True)
class ReceiptDocument:
    number: str
    payment_id: int
    date: dt.date
    amount: Decimal
    method: str
    reference: str
    installment_number: int | None
    balance_after: Decimal  # the invoice's balance once this and every earlier payment are counted
    invoice: InvoiceView
    seller: Seller
    buyer: Buyer

    @property
    def filename(self) -> str:
        return f"{self.number}.pdf"


@dataclass(frozen=True)
class CreditNoteDocument:
    note: CreditNote
    invoice: InvoiceView  # as it is now (after this and any later credit)
    original_amount: Decimal  # the invoice's amount before this credit note
    seller: Seller
    buyer: Buyer

    @property
    def filename(self) -> str:
        return f"{self.note.credit_no}.pdf"


@dataclass(frozen=True)
class StatementDocument:
    statement: statements.Statement
    seller: Seller
    buyer: Buyer

    @property
    def filename(self) -> str:
        start, end = self.statement.start, self.statement.end
        return f"statement-{start.isoformat()}-to-{end.isoformat()}.pdf"


def receipt_number(payment_id: int) -> str:
    """Acknowledgement receipts are numbered by their payment: AR-000042."""
    return f"AR-{payment_id:06d}"


def payment_qr_data_uri(instructions) -> str:
    """The payment QR code inline (a PDF fetches nothing), or "" when there is none."""
    if instructions is None or not instructions.qr_image:
        return ""
    return f"data:{instructions.qr_type};base64,{base64.b64encode(instructions.qr_image).decode('ascii')}"


def _seller(invoice: InvoiceView) -> Seller:
    """The seller as the invoice was issued (its copy), the profile filling what older invoices lack;
    the footer and the logo are the profile's."""
    profile = services.business_profile()
    logo = _logo(profile)
    return Seller(
        registered_name=invoice.seller_name or (profile.registered_name if profile else ""),
        trade_name=invoice.seller_trade_name or (profile.trade_name if profile else ""),
        tin=invoice.seller_tin or (profile.tin if profile else ""),
        address=invoice.seller_address or (profile.address if profile else ""),
        vat_registered=invoice.seller_vat_registered,
        footer_lines=tuple(line for line in (profile.footer if profile else "").splitlines() if line.strip()),
        logo_data_uri=logo,
    )


def _logo(profile) -> str:
    if profile is None or not profile.logo:
        return ""
    return f"data:{profile.logo_type};base64,{base64.b64encode(profile.logo).decode('ascii')}"


def _profile_seller() -> Seller:
    """The seller as the business profile says now (a statement is today's document)."""
    profile = services.business_profile()
    return Seller(
        registered_name=profile.registered_name if profile else "",
        trade_name=profile.trade_name if profile else "",
        tin=profile.tin if profile else "",
        address=profile.address if profile else "",
        vat_registered=bool(profile and profile.vat_registered),
        footer_lines=tuple(line for line in (profile.footer if profile else "").splitlines() if line.strip()),
        logo_data_uri=_logo(profile),
    )


def _buyer(invoice: InvoiceView) -> Buyer:
    client = db.session.get(Client, invoice.client_id)
    assert client is not None
    name = invoice.buyer_name or client.company or client.name
    return Buyer(
        name=name,
        attention=client.name if client.name != name else "",
        tin=invoice.buyer_tin if invoice.buyer_name else client.tax_id,
        address=invoice.buyer_address if invoice.buyer_name else client.address,
    )


def invoice_document(invoice_id: int, client_id: int | None = None) -> InvoiceDocument | None:
    """The issued invoice as its PDF shows it; None for a draft, an unknown invoice, or (with
    ``client_id``) another client's."""
    invoice = reads.read_invoice(invoice_id, client_id)
    if invoice is None or invoice.is_draft:
        return None
    return InvoiceDocument(invoice=invoice, seller=_seller(invoice), buyer=_buyer(invoice))


def receipt_document(payment_id: int, client_id: int | None = None) -> ReceiptDocument | None:
    """The acknowledgement receipt of a confirmed payment; None for any other payment, an unknown
    one, or (with ``client_id``) another client's."""
    query = select(Payment).where(Payment.id == payment_id, Payment.state == CONFIRMED)
    if client_id is not None:
        query = query.where(Payment.client_id == client_id)
    payment = db.session.scalar(query)
    if payment is None:
        return None
    invoice = reads.read_invoice(payment.invoice_id, client_id)
    if invoice is None or invoice.is_draft:
        return None
    paid_up_to = sum(
        (
            row.amount
            for row in reads.read_invoice_payments(payment.invoice_id, client_id)
            if row.state == CONFIRMED and (row.date, row.id) <= (payment.date, payment.id)
        ),
        Decimal("0.00"),
    )
    return ReceiptDocument(
        number=receipt_number(payment.id),
        payment_id=payment.id,
        date=payment.date,
        amount=payment.amount,
        method=payment.method,
        reference=payment.reference,
        installment_number=payment.installment_number,
        balance_after=invoice.amount - paid_up_to,
        invoice=invoice,
        seller=_seller(invoice),
        buyer=_buyer(invoice),
    )


def credit_note_document(note_id: int, client_id: int | None = None) -> CreditNoteDocument | None:
    """The credit note as its PDF shows it; None if unknown or (with ``client_id``) another client's."""
    query = select(CreditNote).where(CreditNote.id == note_id)
    if client_id is not None:
        query = query.where(CreditNote.client_id == client_id)
    note = db.session.scalar(query)
    if note is None:
        return None
    invoice = reads.read_invoice(note.invoice_id, client_id)
    if invoice is None:
        return None
    credited_since = sum(
        (
            row.amount - row.customer_credit
            for row in reads.read_credit_notes(note.invoice_id, client_id)
            if row.id >= note.id
        ),
        Decimal("0.00"),
    )
    return CreditNoteDocument(
        note=note,
        invoice=invoice,
        original_amount=invoice.amount + credited_since,
        seller=_seller(invoice),
        buyer=_buyer(invoice),
    )


def statement_document(client_id: int, start: dt.date, end: dt.date) -> StatementDocument | None:
    """The client's statement of account for ``start``..``end`` (statements.statement_of_account,
    the pages' own figures); None for an unknown client."""
    statement = statements.statement_of_account(client_id, start, end)
    client = db.session.get(Client, client_id)
    if statement is None or client is None:
        return None
    name = client.company or client.name
    buyer = Buyer(
        name=name, attention=client.name if client.name != name else "", tin=client.tax_id, address=client.address
    )
    return StatementDocument(statement=statement, seller=_profile_seller(), buyer=buyer)
