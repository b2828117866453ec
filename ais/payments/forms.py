"""The online-payment forms.  Money is a StringField parsed by the service with money.parse_amount."""

from __future__ import annotations

from wtforms import HiddenField, RadioField, SelectChoice, StringField
from wtforms.validators import Length

from ..forms import AppForm
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


class ResolveOverpaymentForm(AppForm):
    note = StringField(
        "How was it settled?",
        validators=[Length(max=500)],
        render_kw={"maxlength": 500, "placeholder": "Refunded in Stripe / credited to INV-…"},
    )
