"""The owner's forms.  They parse what was typed; the service layer decides what is allowed.

Money is a StringField parsed with ``money.parse_amount`` (never a FloatField); quantities, unit
prices and tax rates are parsed with ``money.parse_decimal``.  A parsed value is kept on the form
(``form.amount_value``, ``line.parsed``) so that the view passes plain values to one service call.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FileField,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from .. import params
from ..billing import methods, money, rules
from ..billing.forms import PaymentChecks
from ..billing.logo import MAX_LOGO_BYTES
from ..billing.promises import MAX_NOTE
from ..billing.services import MAX_INSTALLMENTS, MAX_LINES, LineInput, ProfileInput
from ..billing.uploads import MAX_QR_BYTES
from ..forms import AppForm, SubForm
from ..models import FULL_PAYMENT, INSTALLMENT, PAYMENT_STATES

PAYMENT_METHODS = methods.OWNER_METHODS
FREQUENCY_CHOICES = ((rules.WEEKLY, "Weekly"), (rules.BIWEEKLY, "Every two weeks"), (rules.MONTHLY, "Monthly"))
INVOICE_STATUSES = (
    ("", "Any status"),
    (rules.DRAFT, "Draft"),
    (rules.PENDING, "Pending"),
    (rules.PARTIAL, "Partly paid"),
    (rules.OVERDUE, "Overdue"),
    (rules.PAID, "Paid"),
    (rules.VOID, "Void"),
)
# One choice says both the column and the direction ("-" before the key: descending), so the form
# never shows a sort beside an order that contradicts it.  The column headers' links say the same
# with ?sort=<key>&dir=asc|desc.
INVOICE_SORTS = (
    ("", "Latest issued first"),
    ("number", "Number, lowest first"),
    ("-number", "Number, highest first"),
    ("client", "Client, A to Z"),
    ("-client", "Client, Z to A"),
    ("issue_date", "Issue date, oldest first"),
    ("-issue_date", "Issue date, newest first"),
    ("due", "Next due date, soonest first"),
    ("-due", "Next due date, latest first"),
    ("amount", "Amount, smallest first"),
    ("-amount", "Amount, largest first"),
    ("balance", "Balance, smallest first"),
    ("-balance", "Balance, largest first"),
)
PAYMENT_STATE_LABELS = {
    "reported": "Awaiting confirmation",
    "confirmed": "Confirmed",
    "rejected": "Rejected",
    "voided": "Voided",
}

MAX_QUANTITY = Decimal("999999999.999")
VAT_CHOICES = ((rules.VATABLE, "VATable"), (rules.VAT_EXEMPT, "VAT-exempt"), (rules.ZERO_RATED, "Zero-rated"))
DATE_MESSAGE = "Enter a date, like 2026-03-31."


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def int_or_none(value) -> int | None:
    """Coerce a select's value to an id; '' or junk is None (the form then asks for a choice)."""
    if value is None or isinstance(value, int):
        return value
    return params.parse_id(value)


def new_submission_key() -> str:
    return uuid.uuid4().hex


# A text search for one client (name or email), not a <select> of every client: the page stays
# the same size however many clients there are.  static/js/client-picker.js adds suggestions.
CLIENT_SEARCH = {
    "type": "search",
    "placeholder": "Name or email",
    "autocomplete": "off",
    "maxlength": 100,
    "data-client-search": "",
}


class NoCsrfForm(AppForm):
    """GET forms (filters, the preview): nothing changes, so no token."""

    class Meta:
        csrf = False


# --- Clients ------------------------------------------------------------------------------------


class ClientForm(AppForm):
    name = StringField("Name", validators=[Length(max=200)], render_kw={"autocomplete": "name", "maxlength": 200})
    email = StringField(
        "Email",
        validators=[Length(max=254)],
        render_kw={"type": "email", "autocomplete": "email", "maxlength": 254},
        description="Also the client's sign-in name for the portal.",
    )
    company = StringField(
        "Company", validators=[Length(max=200)], render_kw={"autocomplete": "organization", "maxlength": 200}
    )
    phone = StringField("Phone", validators=[Length(max=50)], render_kw={"autocomplete": "tel", "maxlength": 50})
    tax_id = StringField(
        "TIN",
        validators=[Length(max=50)],
        render_kw={"maxlength": 50, "inputmode": "numeric"},
        description="9 digits, with the branch code if any: 123-456-789-00000. Printed on invoices.",
    )
    address = TextAreaField("Address", validators=[Length(max=2000)], render_kw={"rows": 3})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Required in the page (the service layer gives the message if it is still missing).
        self.name.flags.required = True
        self.email.flags.required = True


class ClientFilterForm(NoCsrfForm):
    q = StringField("Search", render_kw={"placeholder": "Name, email or company", "type": "search"})
    archived = BooleanField("Show archived clients")


# --- The business profile -----------------------------------------------------------------------


class BusinessProfileForm(AppForm):
    registered_name = StringField(
        "Registered name",
        validators=[Length(max=200)],
        render_kw={"maxlength": 200, "autocomplete": "organization"},
        description="As on the BIR certificate of registration.",
    )
    trade_name = StringField("Trade name", validators=[Length(max=200)], render_kw={"maxlength": 200})
    tin = StringField(
        "TIN with branch code",
        validators=[Length(max=30)],
        render_kw={"maxlength": 30, "inputmode": "numeric", "placeholder": "123-456-789-00000"},
        description="9 digits and the 5-digit branch code (00000 for the head office).",
    )
    address = TextAreaField("Registered address", validators=[Length(max=2000)], render_kw={"rows": 3})
    vat_registered = RadioField(
        "VAT registration",
        choices=options([("yes", "VAT-registered"), ("no", "Not VAT-registered")]),
        validate_choice=False,
    )
    vat_rate = StringField(
        "VAT rate (%)", default="12", render_kw={"inputmode": "decimal"}, description="12% in the Philippines."
    )
    prices_include_vat = RadioField(
        "Unit prices are entered",
        choices=options([("inclusive", "VAT-inclusive"), ("exclusive", "VAT-exclusive")]),
        default="exclusive",
        validate_choice=False,
    )
    footer = TextAreaField(
        "Invoice footer",
        validators=[Length(max=2000)],
        render_kw={"rows": 4},
        description="One item a line: the acknowledgement or accreditation certificate number and date, "
        "the series range, the software provider.",
    )
    logo = FileField(
        "Logo",
        description="PNG, JPEG or SVG, under 300 KB.",
        render_kw={"accept": "image/png,image/jpeg,image/svg+xml"},
    )
    remove_logo = BooleanField("Remove the logo")

    def profile_input(self) -> ProfileInput:
        """What was typed, as plain values (the service checks them)."""
        # (the stored rate, a Decimal, when the field was not sent or was emptied for its length)
        rate_text = str(self.vat_rate.data if self.vat_rate.data is not None else "").strip().rstrip("%").strip()
        try:
            rate = money.parse_decimal(rate_text or "12", places=2, maximum=100, field="VAT rate")
        except money.InvalidAmount:
            rate = Decimal("-1")  # refused by the service, next to the field
        registered = {"yes": True, "no": False}.get(self.vat_registered.data or "")
        return ProfileInput(
            registered_name=self.registered_name.data or "",
            trade_name=self.trade_name.data or "",
            tin=self.tin.data or "",
            address=self.address.data or "",
            vat_registered=registered,
            vat_rate=rate,
            prices_include_vat=self.prices_include_vat.data == "inclusive",
            footer=self.footer.data or "",
        )

    def logo_bytes(self) -> bytes | None:
        """The uploaded file's bytes (read up to just over the limit), or None if none was chosen."""
        upload = self.logo.data
        if upload is None or not getattr(upload, "filename", ""):
            return None
        return upload.stream.read(MAX_LOGO_BYTES + 1)


class PaymentInstructionsForm(AppForm):
    """How clients pay: shown on the portal's invoice pages and printed on the sales invoice."""

    bank_accounts = TextAreaField(
        "Bank accounts",
        validators=[Length(max=2000)],
        render_kw={"rows": 4},
        description="One account a line: bank, account name, account number.",
    )
    e_wallets = TextAreaField(
        "E-wallets",
        validators=[Length(max=2000)],
        render_kw={"rows": 3},
        description="One a line, e.g. GCash 0917 123 4567 (Juan Dela Cruz), Maya 0918 765 4321.",
    )
    notes = TextAreaField(
        "Other instructions",
        validators=[Length(max=2000)],
        render_kw={"rows": 3},
        description="Anything else a client should know, e.g. write the invoice number as the reference.",
    )
    qr_image = FileField(
        "QR code",
        description="A PNG or JPEG of your QR Ph, GCash or Maya code, at most 1 MB.",
        render_kw={"accept": "image/png,image/jpeg"},
    )
    remove_qr = BooleanField("Remove the QR code")

    def qr_bytes(self) -> bytes | None:
        """The uploaded file's bytes (read up to just over the limit), or None if none was chosen."""
        upload = self.qr_image.data
        if upload is None or not getattr(upload, "filename", ""):
            return None
        return upload.stream.read(MAX_QR_BYTES + 1)


# --- Invoices -----------------------------------------------------------------------------------


class LineForm(SubForm):
    """One invoice line (a sub-form: no CSRF token of its own)."""

    description = StringField("Description", render_kw={"maxlength": 500})
    quantity = StringField("Quantity", render_kw={"inputmode": "decimal"})
    unit_price = StringField("Unit price", render_kw={"inputmode": "decimal"})
    # The line's VAT treatment (a VAT-registered seller's form shows it; otherwise it is ignored).
    vat = SelectField("VAT", choices=options(VAT_CHOICES), default=rules.VATABLE, validate_choice=False)

    parsed: LineInput | None = None

    def is_blank(self) -> bool:
        return not any((f.data or "").strip() for f in (self.description, self.quantity, self.unit_price))

    def parse(self) -> LineInput | None:
        """The line as a LineInput, or None with the errors set on its fields."""
        self.parsed = None
        ok = True
        description = (self.description.data or "").strip()
        if not description:
            self.description.errors = ["Enter a description."]
            ok = False
        values: dict[str, Decimal] = {}
        specs: tuple[tuple[str, dict[str, Any]], ...] = (
            ("quantity", dict(places=3, maximum=MAX_QUANTITY, field="quantity")),
            ("unit_price", dict(places=4, maximum=money.MAX_AMOUNT, allow_zero=True, field="unit price")),
        )
        for name, spec in specs:
            field = getattr(self, name)
            try:
                values[name] = money.parse_decimal(field.data or "", **spec)
            except money.InvalidAmount as error:
                field.errors = [str(error)]
                ok = False
        vat = self.vat.data or rules.VATABLE
        if vat not in rules.VAT_TREATMENTS:
            self.vat.errors = ["Choose VATable, VAT-exempt or zero-rated."]
            ok = False
        if not ok:
            return None
        self.parsed = LineInput(
            description=description, quantity=values["quantity"], unit_price=values["unit_price"], vat=vat
        )
        return self.parsed


class InvoiceForm(AppForm):
    client_id = SelectField("Client", coerce=int_or_none, validate_choice=False)
    description = TextAreaField(
        "Description",
        validators=[Length(max=2000)],
        render_kw={"rows": 2},
        description="Shown to the client on the invoice (optional).",
    )
    issue_date = DateField("Issue date", validators=[InputRequired(DATE_MESSAGE), params.calendar_day])
    lines = FieldList(FormField(LineForm), min_entries=3, max_entries=MAX_LINES)
    payment_type = RadioField(
        "Payment",
        choices=options([(FULL_PAYMENT, "Full payment"), (INSTALLMENT, "Installment plan")]),
        default=FULL_PAYMENT,
    )
    due_date = DateField(
        "Due date (or first installment date)", validators=[InputRequired(DATE_MESSAGE), params.calendar_day]
    )
    installment_count = IntegerField(
        "Number of installments",
        default=3,
        validators=[Optional()],
        render_kw={"min": 2, "max": MAX_INSTALLMENTS, "inputmode": "numeric"},
    )
    frequency = SelectField("Frequency", choices=options(FREQUENCY_CHOICES), default=rules.MONTHLY)

    line_inputs: list[LineInput]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.client_id.flags.required = True

    def parse_lines(self) -> bool:
        """Parse every non-blank line; False (with errors on the lines) if any is wrong or none is given."""
        self.line_inputs = []
        ok = True
        for entry in self.lines.entries:
            line = entry.form
            if line.is_blank():
                continue
            parsed = line.parse()
            if parsed is None:
                ok = False
            else:
                self.line_inputs.append(parsed)
        if ok and not self.line_inputs:
            self.lines.errors = ["Add at least one line."]
            ok = False
        return ok

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        if self.payment_type.data == INSTALLMENT:
            count = self.installment_count.data
            if self.installment_count.errors:
                self.installment_count.errors = [f"Enter a whole number of installments (2 to {MAX_INSTALLMENTS})."]
            elif count is None:
                self.installment_count.errors = [f"Enter the number of installments (2 to {MAX_INSTALLMENTS})."]
            elif not 2 <= count <= MAX_INSTALLMENTS:
                self.installment_count.errors = [f"An installment plan has 2 to {MAX_INSTALLMENTS} installments."]
        else:
            # Not used for a full payment: a stray value (e.g. "abc") must not block saving.
            self.installment_count.errors = []
        lines_ok = self.parse_lines()
        return lines_ok and not any(field.errors for field in self if field.name != "lines")

    def validate_client_id(self, field):
        if field.data is None:
            raise ValidationError("Choose a client.")

    def line_errors(self) -> list[str]:
        """Errors about the lines as a whole (not one field)."""
        return [e for e in self.lines.errors if isinstance(e, str)]


class InvoicePreviewForm(InvoiceForm):
    class Meta:
        csrf = False


class InvoiceFilterForm(NoCsrfForm):
    q = StringField("Invoice number", render_kw={"placeholder": "INV-2026-0001", "type": "search"})
    status = SelectField("Status", choices=options(INVOICE_STATUSES), default="")
    client = HiddenField()  # a chosen client's id (links from a client's page, the search's pick)
    client_q = StringField("Client", validators=[Length(max=100)], render_kw=CLIENT_SEARCH)
    date_from = DateField("Issued from", validators=[Optional(), params.calendar_day])
    date_to = DateField("Issued to", validators=[Optional(), params.calendar_day])
    sort = SelectField("Sort by", choices=options(INVOICE_SORTS), default="")


# --- Payments -----------------------------------------------------------------------------------


class PaymentForm(PaymentChecks, AppForm):
    amount = StringField("Amount", render_kw={"inputmode": "decimal", "autocomplete": "off"})
    date = DateField("Date received", validators=[InputRequired(DATE_MESSAGE), params.calendar_day])
    method = SelectField(
        "Method", choices=options([("", "Choose…")] + [(m, m) for m in PAYMENT_METHODS]), validate_choice=False
    )
    reference = StringField(
        "Reference",
        validators=[Length(max=120)],
        render_kw={"maxlength": 120, "placeholder": "Receipt, transfer or check number"},
    )
    submission_key = HiddenField()

    method_choices = tuple(PAYMENT_METHODS)


class PaymentFilterForm(NoCsrfForm):
    state = SelectField(
        "State",
        choices=options([("", "Any state")] + [(s, PAYMENT_STATE_LABELS[s]) for s in PAYMENT_STATES]),
        default="",
    )
    client = HiddenField()  # a chosen client's id (links from a client's page, the search's pick)
    client_q = StringField("Client", validators=[Length(max=100)], render_kw=CLIENT_SEARCH)
    method = SelectField("Method", coerce=str, validate_choice=False)
    date_from = DateField("From", validators=[Optional(), params.calendar_day])
    date_to = DateField("To", validators=[Optional(), params.calendar_day])


class ReplanForm(AppForm):
    installment_count = IntegerField(
        "Number of installments",
        default=3,
        validators=[
            InputRequired("Enter the number of installments."),
            NumberRange(1, MAX_INSTALLMENTS, f"Choose 1 to {MAX_INSTALLMENTS} installments."),
        ],
        render_kw={"min": 1, "max": MAX_INSTALLMENTS, "inputmode": "numeric"},
    )
    frequency = SelectField("Frequency", choices=options(FREQUENCY_CHOICES), default=rules.MONTHLY)
    first_due = DateField("First new due date", validators=[InputRequired(DATE_MESSAGE), params.calendar_day])


class ReasonForm(AppForm):
    """Void an invoice, reject or void a payment: a reason is always required."""

    reason = StringField("Reason", validators=[Length(max=500)], render_kw={"maxlength": 500})
    next = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.flags.required = True


class CreditNoteForm(AppForm):
    """Credit part or all of what is still unpaid on an issued invoice, with a reason."""

    # Ids of their own: the payment and void forms on the same page have an amount and a reason.
    amount = StringField(
        "Amount to credit", id="credit-amount", render_kw={"inputmode": "decimal", "autocomplete": "off"}
    )
    reason = StringField(
        "Reason for the credit",
        id="credit-reason",
        validators=[Length(max=500)],
        render_kw={"maxlength": 500, "placeholder": "Returned goods, discount agreed, price error…"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.amount.flags.required = True
        self.reason.flags.required = True


class PortalAccessForm(AppForm):
    action = HiddenField()


class PromiseForm(AppForm):
    """A promise to pay (the client's page): the amount is text, parsed once by the service."""

    amount = StringField(
        "Amount promised",
        validators=[InputRequired("Enter the amount the client promised, like 1500.00."), Length(max=40)],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "maxlength": 40},
    )
    promised_by = DateField("Promised by", validators=[InputRequired(DATE_MESSAGE), params.calendar_day])
    note = TextAreaField(
        "Note",
        validators=[Length(max=MAX_NOTE)],
        description="For you only: what was said, and how. The client does not see it.",
        render_kw={"rows": 2, "maxlength": MAX_NOTE},
    )


class CancelPromiseForm(AppForm):
    """Only the CSRF token: the button cancels the client's open promise to pay."""
