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
from ..billing.services import MAX_INSTALLMENTS, MAX_LINES, LineInput
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
    tax_id = StringField("Tax ID (TIN)", validators=[Length(max=50)], render_kw={"maxlength": 50})
    address = TextAreaField("Address", validators=[Length(max=2000)], render_kw={"rows": 3})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Required in the page (the service layer gives the message if it is still missing).
        self.name.flags.required = True
        self.email.flags.required = True


class ClientFilterForm(NoCsrfForm):
    q = StringField("Search", render_kw={"placeholder": "Name, email or company", "type": "search"})
    archived = BooleanField("Show archived clients")


# --- Invoices -----------------------------------------------------------------------------------


class LineForm(SubForm):
    """One invoice line (a sub-form: no CSRF token of its own)."""

    description = StringField("Description", render_kw={"maxlength": 500})
    quantity = StringField("Quantity", render_kw={"inputmode": "decimal"})
    unit_price = StringField("Unit price", render_kw={"inputmode": "decimal"})
    tax_rate = StringField("Tax %", render_kw={"inputmode": "decimal", "placeholder": "none"})

    parsed: LineInput | None = None

    def is_blank(self) -> bool:
        return not any(
            (f.data or "").strip() for f in (self.description, self.quantity, self.unit_price, self.tax_rate)
        )

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
        tax_text = (self.tax_rate.data or "").strip().rstrip("%").strip()
        tax_rate: Decimal | None = None
        if tax_text:
            try:
                tax_rate = money.parse_decimal(
                    tax_text, places=2, minimum=0, maximum=100, allow_zero=True, field="tax rate"
                )
            except money.InvalidAmount as error:
                self.tax_rate.errors = [str(error)]
                ok = False
        if not ok:
            return None
        self.parsed = LineInput(
            description=description, quantity=values["quantity"], unit_price=values["unit_price"], tax_rate=tax_rate
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


class PortalAccessForm(AppForm):
    action = HiddenField()
