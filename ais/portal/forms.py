"""The portal's one form: a client reports a payment they made.

It declares exactly the fields the view reads (invoice_id, amount, method, date, reference, proof,
submission_key, and the CSRF token); anything else a request carries (state, client_id, ...) is
never looked at.  Money is a StringField parsed with ``money.parse_amount`` (never a float); the
parsed value is kept on ``form.amount_value`` so the view passes plain values to the service.
"""

from __future__ import annotations

import uuid

from wtforms import DateField, FileField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length

from .. import params
from ..billing import methods
from ..billing.forms import PaymentChecks
from ..billing.uploads import MAX_PROOF_BYTES
from ..forms import AppForm

PAYMENT_METHODS = methods.CLIENT_METHODS
DATE_MESSAGE = "Enter the date you paid, like 2026-03-31."
METHOD_MESSAGE = "Choose how you paid."
PROOF_HELP = "A photo or screenshot of the transfer slip (PNG or JPEG), or a PDF, at most 5 MB."
PROOF_TYPES = "image/png,image/jpeg,application/pdf"


def new_submission_key() -> str:
    """A one-time key for one rendering of the form: sending the same form twice records one payment."""
    return uuid.uuid4().hex


class ReportPaymentForm(PaymentChecks, AppForm):
    invoice_id = HiddenField()
    amount = StringField("Amount you paid", render_kw={"inputmode": "decimal", "autocomplete": "off"})
    method = SelectField(
        "How you paid",
        choices=[SelectChoice("", "Choose…")] + [SelectChoice(m, m) for m in PAYMENT_METHODS],
        validate_choice=False,
    )
    date = DateField("Date you paid", validators=[InputRequired(DATE_MESSAGE), params.calendar_day])
    reference = StringField(
        "Reference (optional)",
        validators=[Length(max=120)],
        render_kw={"maxlength": 120, "autocomplete": "off", "placeholder": "Transfer, deposit or check number"},
    )
    proof = FileField(
        "Proof of payment (optional)",
        description=PROOF_HELP,
        render_kw={"accept": PROOF_TYPES},
    )
    submission_key = HiddenField()

    method_choices = tuple(PAYMENT_METHODS)
    method_message = METHOD_MESSAGE


class AttachProofForm(AppForm):
    """A proof for a payment the client reported without one (the payment is in the address)."""

    proof = FileField("Proof of payment", description=PROOF_HELP, render_kw={"accept": PROOF_TYPES})


def proof_upload(form: ReportPaymentForm | AttachProofForm) -> tuple[bytes | None, str]:
    """The attached proof's bytes (read up to just over the limit) and the name it was sent
    under, or (None, "") if no file was chosen."""
    upload = form.proof.data
    if upload is None or not getattr(upload, "filename", ""):
        return None, ""
    return upload.stream.read(MAX_PROOF_BYTES + 1), upload.filename
