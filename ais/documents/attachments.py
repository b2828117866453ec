"""Documents the outbox attaches to email, rendered when the message is sent (not inside the
transaction that queued it, which holds the invoice's lock).

A queued message names its attachment (``OutboxMessage.attachment``, e.g. ``receipt:42``);
``ais.mail.delivery`` asks the renderer registered here for that kind.
"""

from __future__ import annotations

from flask import Flask

from ..billing import statements
from ..extensions import db
from ..models import MonthlyStatement
from . import content, pdf


def receipt_attachment(payment_id: int) -> tuple[str, bytes] | None:
    """The acknowledgement receipt of a confirmed payment (file name, PDF), or None if the payment
    is no longer confirmed (then the email goes without it)."""
    document = content.receipt_document(payment_id)
    if document is None:
        return None
    return document.filename, pdf.receipt_pdf_bytes(document)


def credit_note_attachment(note_id: int) -> tuple[str, bytes] | None:
    """The credit note (file name, PDF)."""
    document = content.credit_note_document(note_id)
    if document is None:
        return None
    return document.filename, pdf.credit_note_pdf_bytes(document)


def invoice_attachment(invoice_id: int) -> tuple[str, bytes] | None:
    """The sales invoice (file name, PDF)."""
    document = content.invoice_document(invoice_id)
    if document is None:
        return None
    return document.filename, pdf.invoice_pdf_bytes(document)


def statement_attachment(row_id: int) -> tuple[str, bytes] | None:
    """A monthly statement (``monthly_statements`` row): the client's statement of that month as
    the books say when the email is sent."""
    row = db.session.get(MonthlyStatement, row_id)
    if row is None:
        return None
    start, end = statements.month_period(row.period.strftime("%Y-%m"))
    document = content.statement_document(row.client_id, start, end)
    if document is None:
        return None
    return f"statement-{row.period.strftime('%Y-%m')}.pdf", pdf.statement_pdf_bytes(document)


def init_app(app: Flask) -> None:
    app.extensions["ais_attachments"] = {
        "invoice": invoice_attachment,
        "receipt": receipt_attachment,
        "credit_note": credit_note_attachment,
        "statement": statement_attachment,
    }
