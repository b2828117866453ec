"""The rows of the owner's longest lists, written in Python rather than in their templates.

A list page shows 25 or 50 rows of eight or nine cells; in Jinja each cell is an attribute lookup,
an escape and a filter or link call, and the rows were half of those pages' CPU time.  Here a
page's links are format strings built once (``row_link``), and each row is one f-string whose
every value is escaped.  Each function writes what the template's loop it replaced wrote: the
loops are kept under tests/unit/reference/ and tests/unit/test_rows.py compares them, for rows
of every kind, with hostile text.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import current_app
from markupsafe import Markup, escape

from ..badges import status_badge
from ..billing import services
from ..urls import id_url, id_url_format
from .actions import payment_actions


def row_link(endpoint: str, argument: str) -> Callable[[int], str]:
    """A function of an id giving ``id_url(endpoint, argument=id)``, escaped: one format string
    per page where the route allows it (see ais.urls)."""
    pattern = id_url_format(endpoint)
    if pattern is not None:
        pattern = str(escape(pattern))
        return lambda value: pattern.format(**{argument: int(value)})
    return lambda value: str(escape(id_url(endpoint, **{argument: int(value)})))


def _filters():
    """The templates' own ``money`` and ``day`` filters (bound to the app's settings)."""
    filters = current_app.jinja_env.filters
    return filters["money"], filters["day"]


def payment_rows(payments: Iterable, back: str) -> Markup:
    """The payment list's rows (and the confirmation queue's), with their actions; ``back``: the
    page the actions come back to."""
    money, day = _filters()
    client_link = row_link("backoffice.client_detail", "client_id")
    invoice_link = row_link("backoffice.invoice_detail", "invoice_id")
    rows = []
    for payment in payments:
        installment = (f' <span class="small text-body-secondary">· #{escape(payment.installment_number)}</span>'
                       if payment.installment_number else "")
        reason = (f'<div class="small text-body-secondary">{escape(payment.state_reason)}</div>'
                  if payment.state_reason else "")
        rows.append(
            f'<tr><td data-label="Date" class="text-nowrap">{escape(day(payment.date))}</td>'
            f'<td data-label="Client"><a href="{client_link(payment.client_id)}">{escape(payment.client_name)}</a></td>'
            f'<td data-label="Invoice"><a href="{invoice_link(payment.invoice_id)}">{escape(payment.invoice_no)}</a>'
            f"{installment}</td>"
            f'<td data-label="Amount" class="text-end money">{escape(money(payment.amount, payment.currency))}</td>'
            f'<td data-label="Method">{escape(payment.method)}</td>'
            f'<td data-label="Reference" class="text-break">{escape(payment.reference or "—")}</td>'
            f'<td data-label="State">{status_badge(payment.state)}{reason}</td>'
            f'<td class="text-end">{payment_actions(payment, payment.currency, back)}</td></tr>')
    return Markup("".join(rows))  # nosec B704 - every value escaped above (badges and actions are Markup)


def invoice_rows(invoices: Iterable, today) -> Markup:
    """The invoice list's rows: number, client, dates, status, amount and balance."""
    money, day = _filters()
    invoice_link = row_link("backoffice.invoice_detail", "invoice_id")
    client_link = row_link("backoffice.client_detail", "client_id")
    rows = []
    for invoice in invoices:
        status = services.status_of(invoice, today)
        if invoice.next_due_date and status not in ("paid", "void"):
            next_due = escape(day(invoice.next_due_date))
        elif status == "draft":
            next_due = escape(day(invoice.due_date))
        else:
            next_due = '<span class="text-body-secondary">—</span>'
        balance = 0 if status in ("void", "draft") else invoice.amount - invoice.paid_amount
        rows.append(
            f'<tr><td data-label="Number"><a class="fw-semibold" href="{invoice_link(invoice.id)}">'
            f'{escape(invoice.invoice_no or f"Draft #{invoice.id}")}</a></td>'
            f'<td data-label="Client"><a href="{client_link(invoice.client_id)}">{escape(invoice.client_name)}</a></td>'
            f'<td data-label="Issued" class="text-nowrap">{escape(day(invoice.issue_date))}</td>'
            f'<td data-label="Next due">{next_due}</td>'
            f'<td data-label="Status">{status_badge(status)}</td>'
            f'<td data-label="Amount" class="text-end money">{escape(money(invoice.amount, invoice.currency))}</td>'
            f'<td data-label="Balance" class="text-end money">{escape(money(balance, invoice.currency))}</td></tr>')
    return Markup("".join(rows))  # nosec B704 - every value escaped above (badges are Markup)
