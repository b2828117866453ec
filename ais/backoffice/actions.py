"""The actions on one payment, as the owner's lists show them beside each row: Confirm and
Reject (with a reason the client sees) for a reported payment, Void (with a reason) for a
confirmed one.

A template global rather than a Jinja macro: the payment lists, the confirmation queue, the
dashboard and the invoice page show these forms on every row, and as a macro they were a fifth
of those pages' CPU time.  tests/unit/test_payment_actions.py checks the HTML against the macro's
for every state, with and without an error.
"""
from __future__ import annotations

from flask import g
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from ..formatting import format_day, format_money
from ..urls import id_url


def _hidden_fields(back: str) -> str:
    """The CSRF token and the way back, the same for every row of a page: built once per request."""
    built = g.setdefault("payment_action_fields", {})
    html = built.get(back)
    if html is None:
        html = built[back] = (f'<input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">'
                              f'<input type="hidden" name="next" value="{escape(back)}">')
    return html


def _reason_input(kind: str, payment_id: int, label: str, error) -> str:
    """The reason's label, input and error (``kind``: reject or void)."""
    field_id, error_id = f"{kind}-reason-{payment_id}", f"{kind}-error-{payment_id}"
    invalid = (" is-invalid", f' aria-invalid="true" aria-describedby="{error_id}"') if error else ("", "")
    return "".join((
        f'<label class="form-label small mb-1" for="{field_id}">{label}</label>',
        f'<input class="form-control form-control-sm{invalid[0]}" id="{field_id}" name="reason" maxlength="500" required'
        f"{invalid[1]}>",
        f'<div class="invalid-feedback d-block" id="{error_id}">{escape(error)}</div>' if error else "",
    ))


def payment_actions(payment, currency: str, back: str, error=None, allow_void: bool = True) -> Markup:
    """The forms for one payment (a row with ``id``, ``state``, ``amount``, ``date``).

    ``back``: where to come back to after the action; ``error``: the message of a refused action
    on this payment, shown under its reason (the disclosure opened)."""
    payment_id = int(payment.id)  # an int in every id and URL below
    opened = " open" if error else ""
    if payment.state == "reported":
        html = "".join((
            '<div class="payment-actions d-flex flex-wrap justify-content-end align-items-start gap-2">',
            f'<form method="post" action="{escape(id_url("backoffice.payment_confirm", payment_id=payment_id))}">',
            _hidden_fields(back),
            '<button type="submit" class="btn btn-sm btn-success">Confirm<span class="visually-hidden"> payment of '
            f"{escape(format_money(payment.amount, currency))} from {escape(format_day(payment.date))}</span></button>",
            "</form>",
            f'<details class="reason-disclosure"{opened}>',
            '<summary class="btn btn-sm btn-outline-danger">Reject…</summary>',
            f'<form method="post" action="{escape(id_url("backoffice.payment_reject", payment_id=payment_id))}" '
            'class="reason-form mt-2">',
            _hidden_fields(back),
            _reason_input("reject", payment_id, "Reason (the client sees it)", error),
            '<button type="submit" class="btn btn-sm btn-danger mt-2">Reject payment</button>',
            "</form></details></div>",
        ))
    elif payment.state == "confirmed" and allow_void:
        html = "".join((
            f'<details class="reason-disclosure payment-actions"{opened}>',
            '<summary class="btn btn-sm btn-outline-secondary">Void…</summary>',
            f'<form method="post" action="{escape(id_url("backoffice.payment_void", payment_id=payment_id))}" '
            'class="reason-form mt-2" data-confirm="Void this payment? The invoice\'s balance goes back up.">',
            _hidden_fields(back),
            _reason_input("void", payment_id, "Reason for voiding", error),
            '<button type="submit" class="btn btn-sm btn-danger mt-2">Void payment</button>',
            "</form></details>",
        ))
    elif error:
        html = f'<div class="text-danger small" role="alert">{escape(error)}</div>'
    else:
        html = ""
    # Every value above is escaped (escape()) or an int; the rest is this module's own markup.
    return Markup(html)  # nosec B704
