"""The online-payment forms.  Money is a StringField parsed by the service with money.parse_amount."""

from __future__ import annotations

from wtforms import HiddenField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import Length

from ..billing import methods
from ..forms import AppForm
from ..params import parse_id
from .services import CHOICES, CUSTOM, DUE, FULL

CHOICE_LABELS = {DUE: "Pay amount due now", FULL: "Settle the invoice", CUSTOM: "Other amount"}


class CheckoutForm(AppForm):
    invoice_id = HiddenField()
    choice = RadioField(
        "How much would you like to pay?",
        choices=[SelectChoice(c, CHOICE_LABELS[c]) for c in CHOICES],
        default=DUE,
        validate_choice=False,
    )
    amount = StringField(
        "Other amount",
        validators=[Length(max=40)],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "maxlength": 40},
    )


class CancelCheckoutForm(AppForm):
    invoice_id = HiddenField()


ARRIVAL_METHOD = ""  # the refund is paid out by the method the money arrived by (the service looks it up)


class ResolveOverpaymentForm(AppForm):
    note = StringField(
        "How was it refunded?",
        validators=[Length(max=500)],
        render_kw={"maxlength": 500, "placeholder": "Refunded in Stripe / sent back by GCash, ref …"},
    )
    # The account the refund is credited out of; the service refuses anything not a refund method.
    method = SelectField(
        "Paid back by",
        choices=[SelectChoice(ARRIVAL_METHOD, "The method it arrived by")]
        + [SelectChoice(m, m) for m in methods.REFUND_METHODS],
        default=ARRIVAL_METHOD,
        validate_choice=False,
    )


class ApplyCreditForm(AppForm):
    """Apply a customer credit to one of its client's open invoices (the choices set by the view)."""

    # Junk or an id out of range is 0: no such invoice, which the service refuses next to the field.
    invoice_id = SelectField("Invoice", coerce=lambda value: parse_id(value) or 0, validate_choice=False)
    amount = StringField(
        "Amount to apply",
        validators=[Length(max=40)],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "maxlength": 40},
    )
