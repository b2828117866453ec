"""The actions on one payment, as the owner's lists show them beside each row: Confirm and
Reject (with a reason the client sees) for a reported payment, Void (with a reason) for a
confirmed one.

A template global rather than a Jinja macro: the payment lists, the confirmation queue, the
dashboard and the invoice page show these forms on every row, and as a macro they were a fifth
of those pages' CPU time.  A page's rows differ only in the payment's id, amount and date, so the
HTML of each state is built once per page as a format string and a row fills it in.
tests/unit/test_payment_actions.py checks the HTML against the macro's for every state, with and
without an error.
"""
from __future__ import annotations

from flask import g
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from ..escaping import text
from ..formatting import format_day, format_money
from ..urls import id_url, id_url_format

CONFIRM, REJECT, VOID = "backoffice.payment_confirm", "backoffice.payment_reject", "backoffice.payment_void"


def _reason_input(kind: str, payment_id: str, label: str, error: str) -> str:
    """The reason's label, input and (escaped) error; ``kind``: reject or void."""
    field_id, error_id = f"{kind}-reason-{payment_id}", f"{kind}-error-{payment_id}"
    invalid = (" is-invalid", f' aria-invalid="true" aria-describedby="{error_id}"') if error else ("", "")
    return "".join((
        f'<label class="form-label small mb-1" for="{field_id}">{label}</label>',
        f'<input class="form-control form-control-sm{invalid[0]}" id="{field_id}" name="reason" maxlength="500" required'
        f"{invalid[1]}>",
        f'<div class="invalid-feedback d-block" id="{error_id}">{error}</div>' if error else "",
    ))


def _actions_html(state: str, *, hidden: str, urls: dict, payment_id: str, amount: str, day: str,
                  error: str = "", allow_void: bool = True) -> str:
    """The HTML for one payment from parts already escaped (or format fields, see ``_page_formats``)."""
    opened = " open" if error else ""
    if state == "reported":
        return "".join((
            '<div class="payment-actions d-flex flex-wrap justify-content-end align-items-start gap-2">',
            f'<form method="post" action="{urls[CONFIRM]}">',
            hidden,
            '<button type="submit" class="btn btn-sm btn-success">Confirm<span class="visually-hidden"> payment of '
            f"{amount} from {day}</span></button>",
            "</form>",
            f'<details class="reason-disclosure"{opened}>',
            '<summary class="btn btn-sm btn-outline-danger">Reject…</summary>',
            f'<form method="post" action="{urls[REJECT]}" class="reason-form mt-2">',
            hidden,
            _reason_input("reject", payment_id, "Reason (the client sees it)", error),
            '<button type="submit" class="btn btn-sm btn-danger mt-2">Reject payment</button>',
            "</form></details></div>",
        ))
    if state == "confirmed" and allow_void:
        return "".join((
            f'<details class="reason-disclosure payment-actions"{opened}>',
            '<summary class="btn btn-sm btn-outline-secondary">Void…</summary>',
            f'<form method="post" action="{urls[VOID]}" class="reason-form mt-2" '
            'data-confirm="Void this payment? The invoice\'s balance goes back up.">',
            hidden,
            _reason_input("void", payment_id, "Reason for voiding", error),
            '<button type="submit" class="btn btn-sm btn-danger mt-2">Void payment</button>',
            "</form></details>",
        ))
    if error:
        return f'<div class="text-danger small" role="alert">{error}</div>'
    return ""


def _hidden_fields(back: str) -> str:
    return (f'<input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">'
            f'<input type="hidden" name="next" value="{escape(back)}">')


def _page_formats(back: str) -> dict | None:
    """Per request and way back: each state's HTML as a format string with the fields
    ``{payment_id}``, ``{amount}`` and ``{day}`` (None if a route's URL cannot be formatted)."""
    built = g.setdefault("payment_action_formats", {})
    if back not in built:
        urls = {endpoint: id_url_format(endpoint) for endpoint in (CONFIRM, REJECT, VOID)}
        if None in urls.values():
            built[back] = None
        else:
            urls = {endpoint: str(escape(url)) for endpoint, url in urls.items()}
            hidden = _hidden_fields(back).replace("{", "{{").replace("}", "}}")
            built[back] = {
                (state, allow_void): _actions_html(state, hidden=hidden, urls=urls, payment_id="{payment_id}",
                                                   amount="{amount}", day="{day}", allow_void=allow_void)
                for state in ("reported", "confirmed") for allow_void in (True, False)
            }
    return built[back]


def row_actions(back: str):
    """For a page's rows: a function ``(payment_id, state, amount, day) -> str`` giving what
    ``payment_actions`` gives for a payment without an error, from the amount and date already
    formatted and escaped by the row (which shows them too)."""
    formats = _page_formats(back)

    def actions(payment_id: int, state: str, amount: str, day: str) -> str:
        if state not in ("reported", "confirmed"):
            return ""
        if formats is None:
            urls = {endpoint: str(escape(id_url(endpoint, payment_id=int(payment_id))))
                    for endpoint in (CONFIRM, REJECT, VOID)}
            return _actions_html(state, hidden=_hidden_fields(back), urls=urls, payment_id=str(int(payment_id)),
                                 amount=amount, day=day)
        return formats[(state, True)].format(payment_id=int(payment_id), amount=amount, day=day)

    return actions


def payment_actions(payment, currency: str, back: str, error=None, allow_void: bool = True) -> Markup:
    """The forms for one payment (a row with ``id``, ``state``, ``amount``, ``date``).

    ``back``: where to come back to after the action; ``error``: the message of a refused action
    on this payment, shown under its reason (the disclosure opened)."""
    payment_id = int(payment.id)  # an int in every id and URL below
    state = payment.state
    if state not in ("reported", "confirmed"):
        # Rejected and voided payments have no action; a refusal on one is still shown.
        if error:
            return Markup('<div class="text-danger small" role="alert">{}</div>').format(error)  # escapes error
        return Markup("")
    amount, day = text(format_money(payment.amount, currency)), text(format_day(payment.date))
    formats = None if error else _page_formats(back)
    if formats is not None:
        html = formats[(state, allow_void)].format(payment_id=payment_id, amount=amount, day=day)
    else:
        urls = {endpoint: str(escape(id_url(endpoint, payment_id=payment_id))) for endpoint in (CONFIRM, REJECT, VOID)}
        html = _actions_html(state, hidden=_hidden_fields(back), urls=urls, payment_id=str(payment_id),
                             amount=amount, day=day, error=str(escape(error)) if error else "", allow_void=allow_void)
    # Every value in the HTML is escaped (escape()) or an int; the rest is this module's own markup.
    return Markup(html)  # nosec B704
