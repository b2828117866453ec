"""Render a document template to PDF with WeasyPrint.

The stylesheet, the fonts (DejaVu, from Debian's fonts-dejavu-core, found through fontconfig)
and the fetcher are made once per process; each document is then only laid out.  The fetcher
accepts ``data:`` URIs alone (the logo is embedded as one): nothing is read from the network or
the disk because a person typed its address into a profile or a line.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from flask import Response, render_template
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from ..billing import aging, services
from . import content

PAGE_SIZES = {"a4": "A4", "letter": "letter"}
STYLESHEET = Path(__file__).with_name("document.css")


class LocalOnlyFetcher(URLFetcher):
    """Fetches ``data:`` URIs only; any other address is refused (WeasyPrint leaves it out)."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"data"}, allow_redirects=False)


@cache
def _resources() -> tuple[FontConfiguration, LocalOnlyFetcher, CSS]:
    fonts = FontConfiguration()
    fetcher = LocalOnlyFetcher()
    css = CSS(string=STYLESHEET.read_text(encoding="utf-8"), font_config=fonts, url_fetcher=fetcher)
    return fonts, fetcher, css


@cache
def _page_css(size: str) -> CSS:
    fonts, fetcher, _ = _resources()
    return CSS(string=f"@page {{ size: {PAGE_SIZES[size]}; }}", font_config=fonts, url_fetcher=fetcher)


def page_size(value: str | None) -> str:
    """``a4`` (the default in the Philippines) or ``letter``, from a query argument."""
    value = (value or "").lower()
    return value if value in PAGE_SIZES else "a4"


def render_pdf(template: str, size: str = "a4", **context) -> bytes:
    """The template rendered with ``context`` as a PDF of the given page size."""
    fonts, fetcher, css = _resources()
    html = render_template(template, page_size=size, **context)
    document = HTML(string=html, url_fetcher=fetcher, base_url="data:,")
    return document.write_pdf(stylesheets=[css, _page_css(page_size(size))], font_config=fonts)


def pdf_response(data: bytes, filename: str) -> Response:
    """The PDF shown in the browser (with its file name for "save"); never cached by the way."""
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def invoice_pdf(invoice_id: int, client_id: int | None, size: str | None) -> Response | None:
    """The sales invoice as a PDF response; None when there is no such issued invoice (for this
    client, when one is given): the caller answers 404, as for the invoice's page."""
    document = content.invoice_document(invoice_id, client_id)
    if document is None:
        return None
    return pdf_response(invoice_pdf_bytes(document, size), document.filename)


def invoice_pdf_bytes(document: content.InvoiceDocument, size: str | None = None) -> bytes:
    instructions = services.payment_instructions()
    return render_pdf(
        "documents/invoice.html",
        page_size(size),
        document=document,
        seller=document.seller,
        buyer=document.buyer,
        instructions=instructions,
        qr_url=content.payment_qr_data_uri(instructions),
    )


def receipt_pdf(payment_id: int, client_id: int | None, size: str | None) -> Response | None:
    """The acknowledgement receipt of a confirmed payment as a PDF response, or None (404)."""
    document = content.receipt_document(payment_id, client_id)
    if document is None:
        return None
    return pdf_response(receipt_pdf_bytes(document, size), document.filename)


def receipt_pdf_bytes(document: content.ReceiptDocument, size: str | None = None) -> bytes:
    return render_pdf(
        "documents/receipt.html", page_size(size), document=document, seller=document.seller, buyer=document.buyer
    )


def credit_note_pdf(note_id: int, client_id: int | None, size: str | None) -> Response | None:
    """The credit note as a PDF response, or None (404)."""
    document = content.credit_note_document(note_id, client_id)
    if document is None:
        return None
    return pdf_response(credit_note_pdf_bytes(document, size), document.filename)


def credit_note_pdf_bytes(document: content.CreditNoteDocument, size: str | None = None) -> bytes:
    return render_pdf(
        "documents/credit_note.html", page_size(size), document=document, seller=document.seller, buyer=document.buyer
    )


def statement_pdf(client_id: int, start: dt.date, end: dt.date, size: str | None) -> Response | None:
    """The client's statement of account as a PDF response, or None (404)."""
    document = content.statement_document(client_id, start, end)
    if document is None:
        return None
    return pdf_response(statement_pdf_bytes(document, size), document.filename)


def statement_pdf_bytes(document: content.StatementDocument, size: str | None = None) -> bytes:
    """The statement laid out from the pages' own partial (collections/_statement.html)."""
    return render_pdf(
        "documents/statement.html",
        page_size(size),
        document=document,
        statement=document.statement,
        seller=document.seller,
        buyer=document.buyer,
        labels=aging.BUCKET_LABELS,
        in_document=True,
    )
