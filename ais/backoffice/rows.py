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
from markupsafe import Markup

from ..badges import status_badge
from ..billing import services
from ..escaping import text
from ..urls import id_url, id_url_format
from .actions import payment_actions, row_actions


def row_link(endpoint: str, argument: str) -> Callable[[int], str]:
    """A function of an id giving ``id_url(endpoint, argument=id)``, escaped: one format string
    per page where the route allows it (see ais.urls)."""
    pattern = id_url_format(endpoint)
    if pattern is not None:
        pattern = text(pattern)
        return lambda value: pattern.format(**{argument: int(value)})
    return lambda value: text(id_url(endpoint, **{argument: int(value)}))


def client_and_invoice_links() -> tuple[Callable[[int], str], Callable[[int], str]]:
    """The links most rows carry: to a client's page and to an invoice's page (see ``row_link``)."""
    return row_link("backoffice.client_detail", "client_id"), row_link("backoffice.invoice_detail", "invoice_id")


def _filters():
    """The templates' own ``money`` and ``day`` filters (bound to the app's settings)."""
    filters = current_app.jinja_env.filters
    return filters["money"], filters["day"]


def payment_rows(payments: Iterable, back: str) -> Markup:
    """The payment list's rows (and the confirmation queue's), with their actions; ``back``: the
    page the actions come back to."""
    money, day = _filters()
    client_link, invoice_link = client_and_invoice_links()
    actions = row_actions(back)
    rows = []
    for payment in payments:
        installment = (f' <span class="small text-body-secondary">· #{text(payment.installment_number)}</span>'
                       if payment.installment_number else "")
        reason = (f'<div class="small text-body-secondary">{text(payment.state_reason)}</div>'
                  if payment.state_reason else "")
        amount, paid_on = text(money(payment.amount, payment.currency)), text(day(payment.date))
        rows.append(
            f'<tr><td data-label="Date" class="text-nowrap">{paid_on}</td>'
            f'<td data-label="Client"><a href="{client_link(payment.client_id)}">{text(payment.client_name)}</a></td>'
            f'<td data-label="Invoice"><a href="{invoice_link(payment.invoice_id)}">{text(payment.invoice_no)}</a>'
            f"{installment}</td>"
            f'<td data-label="Amount" class="text-end money">{amount}</td>'
            f'<td data-label="Method">{text(payment.method)}</td>'
            f'<td data-label="Reference" class="text-break">{text(payment.reference or "—")}</td>'
            f'<td data-label="State">{status_badge(payment.state)}{reason}</td>'
            f'<td class="text-end">{actions(payment.id, payment.state, amount, paid_on)}</td></tr>')
    return Markup("".join(rows))  # nosec B704 - every value escaped above (badges and actions are Markup)


def invoice_rows(invoices: Iterable, today) -> Markup:
    """The invoice list's rows: number, client, dates, status, amount and balance."""
    money, day = _filters()
    client_link, invoice_link = client_and_invoice_links()
    rows = []
    for invoice in invoices:
        status = services.status_of(invoice, today)
        if invoice.next_due_date and status not in ("paid", "void"):
            next_due = text(day(invoice.next_due_date))
        elif status == "draft":
            next_due = text(day(invoice.due_date))
        else:
            next_due = '<span class="text-body-secondary">—</span>'
        balance = 0 if status in ("void", "draft") else invoice.amount - invoice.paid_amount
        rows.append(
            f'<tr><td data-label="Number"><a class="fw-semibold" href="{invoice_link(invoice.id)}">'
            f'{text(invoice.invoice_no or f"Draft #{invoice.id}")}</a></td>'
            f'<td data-label="Client"><a href="{client_link(invoice.client_id)}">{text(invoice.client_name)}</a></td>'
            f'<td data-label="Issued" class="text-nowrap">{text(day(invoice.issue_date))}</td>'
            f'<td data-label="Next due">{next_due}</td>'
            f'<td data-label="Status">{status_badge(status)}</td>'
            f'<td data-label="Amount" class="text-end money">{text(money(invoice.amount, invoice.currency))}</td>'
            f'<td data-label="Balance" class="text-end money">{text(money(balance, invoice.currency))}</td></tr>')
    return Markup("".join(rows))  # nosec B704 - every value escaped above (badges are Markup)


# --- The dashboard's short lists ---------------------------------------------------------------


def waiting_rows(payments: Iterable, currency: str, back: str) -> Markup:
    """The dashboard's payments to confirm (the queue's head), each with Confirm and Reject."""
    money, day = _filters()
    client_link, invoice_link = client_and_invoice_links()
    actions = row_actions(back)
    rows = []
    for payment in payments:
        amount, paid_on = text(money(payment.amount, currency)), text(day(payment.date))
        reference = (f' <span class="text-body-secondary small">· {text(payment.reference)}</span>'
                     if payment.reference else "")
        rows.append(
            f'<tr><td data-label="Date" class="text-nowrap">{paid_on}</td>'
            f'<td data-label="Client"><a href="{client_link(payment.client_id)}">{text(payment.client_name)}</a></td>'
            f'<td data-label="Invoice"><a href="{invoice_link(payment.invoice_id)}">{text(payment.invoice_no)}</a></td>'
            f'<td data-label="Method">{text(payment.method)}{reference}</td>'
            f'<td data-label="Amount" class="text-end money">{amount}</td>'
            f'<td class="text-end">{actions(payment.id, payment.state, amount, paid_on)}</td></tr>')
    return Markup("".join(rows))  # nosec B704 - every value escaped above


def recent_items(payments: Iterable, currency: str) -> Markup:
    """The dashboard's most recent payments, as list items."""
    money, day = _filters()
    invoice_link = row_link("backoffice.invoice_detail", "invoice_id")
    return Markup("".join(  # nosec B704 - every value escaped (badges are Markup)
        '<li class="list-group-item d-flex justify-content-between align-items-start gap-2"><div class="min-w-0">'
        f'<a class="fw-semibold text-truncate d-block" href="{invoice_link(payment.invoice_id)}">'
        f"{text(payment.client_name)}</a>"
        f'<span class="small text-body-secondary">{text(day(payment.date))} · {text(payment.invoice_no)} · '
        f"{text(payment.method)}</span></div>"
        f'<div class="text-end flex-shrink-0"><div class="money fw-semibold">{text(money(payment.amount, currency))}'
        f"</div>{status_badge(payment.state)}</div></li>"
        for payment in payments))


def coming_due_rows(installments: Iterable, currency: str, today) -> Markup:
    """The dashboard's unpaid installments coming due, soonest first."""
    money, day = _filters()
    client_link, invoice_link = client_and_invoice_links()
    rows = []
    for inst in installments:
        due_today = ' <span class="badge text-bg-warning">Today</span>' if inst.due_date == today else ""
        rows.append(
            f'<tr><td data-label="Due" class="text-nowrap">{text(day(inst.due_date))}{due_today}</td>'
            f'<td data-label="Client"><a href="{client_link(inst.client_id)}">{text(inst.client_name)}</a></td>'
            f'<td data-label="Invoice"><a href="{invoice_link(inst.invoice_id)}">{text(inst.invoice_no)}</a></td>'
            f'<td data-label="Installment">{text(inst.number)} of {text(inst.installment_count)}</td>'
            f'<td data-label="Unpaid" class="text-end money">{text(money(inst.unpaid, currency))}</td></tr>')
    return Markup("".join(rows))  # nosec B704 - every value escaped above


# --- An invoice's page -------------------------------------------------------------------------


def schedule_rows(installment_rows: Iterable, currency: str) -> Markup:
    """The invoice's schedule: ``(installment, status)`` pairs, one row each."""
    money, day = _filters()
    return Markup("".join(  # nosec B704 - every value escaped (badges are Markup)
        f'<tr><td data-label="Installment">{text(inst.number)}</td>'
        f'<td data-label="Due" class="text-nowrap">{text(day(inst.due_date))}</td>'
        f'<td data-label="Amount" class="text-end money">{text(money(inst.amount, currency))}</td>'
        f'<td data-label="Paid" class="text-end money">{text(money(inst.paid_amount, currency))}</td>'
        f'<td data-label="Unpaid" class="text-end money">{text(money(inst.unpaid, currency))}</td>'
        f'<td data-label="Status">{status_badge(status)}</td></tr>'
        for inst, status in installment_rows))


def invoice_payment_rows(payments: Iterable, currency: str, back: str, errors: dict) -> Markup:
    """The payments on an invoice, oldest first, with their actions; ``errors``: a refused
    action's message by payment id, shown on that payment's row."""
    money, day = _filters()
    actions = row_actions(back)
    rows = []
    for payment in payments:
        amount, paid_on = text(money(payment.amount, currency)), text(day(payment.date))
        reference = (f'<div class="small text-body-secondary text-break">Ref. {text(payment.reference)}</div>'
                     if payment.reference else "")
        reason = (f'<div class="small text-body-secondary">{text(payment.state_reason)}</div>'
                  if payment.state_reason else "")
        error = errors.get(payment.id)
        forms = (payment_actions(payment, currency, back, error) if error
                 else actions(payment.id, payment.state, amount, paid_on))
        number = f"#{payment.installment_number}" if payment.installment_number else "—"
        rows.append(
            f'<tr><td data-label="Date" class="text-nowrap">{paid_on}</td>'
            f'<td data-label="Amount" class="text-end money">{amount}</td>'
            f'<td data-label="Method">{text(payment.method)}{reference}</td>'
            f'<td data-label="Installment">{text(number)}</td>'
            f'<td data-label="State">{status_badge(payment.state)}{reason}</td>'
            f'<td class="text-end">{forms}</td></tr>')
    return Markup("".join(rows))  # nosec B704 - every value escaped above (badges and actions are Markup)
