"""The collections forms: the owner's schedule of reminders, a client's choice of reminders."""

from __future__ import annotations

from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from ..forms import AppForm
from ..params import calendar_day


class ReminderScheduleForm(AppForm):
    enabled = BooleanField("Send reminders", description="Off: no reminder goes to any client.")
    before_days = StringField(
        "Days before the due date",
        validators=[Length(max=4)],
        description="Leave empty for no reminder before the due date.",
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 4},
    )
    on_due_date = BooleanField("On the due date")
    overdue_days = StringField(
        "Overdue notices, days after the due date",
        validators=[Length(max=60)],
        description="Whole days separated by commas, like 1, 7, 14, 30. Leave empty for none.",
        render_kw={"autocomplete": "off", "maxlength": 60},
    )


class MonthlyStatementsForm(AppForm):
    enabled = BooleanField(
        "Email monthly statements",
        description="On: each month, every client with something to state is emailed last month's statement as PDF.",
    )


class CourtesyRemindersForm(AppForm):
    wanted = BooleanField("Remind me before and on due dates")


class CalendarResetForm(AppForm):
    """Only the CSRF token: the button makes a new calendar address."""


class LateFeePolicyForm(AppForm):
    enabled = BooleanField("Charge late fees", description="Off: no late fee is charged to any client.")
    kind = RadioField(
        "The fee",
        choices=[
            SelectChoice("flat", "A flat amount"),
            SelectChoice("percent", "A percentage of the installment's unpaid part"),
        ],
        default="flat",
        validate_choice=True,
    )
    value = StringField(
        "Amount or percentage",
        validators=[Length(max=12)],
        description="A flat amount in pesos (e.g. 150.00), or a percentage (e.g. 2.5 for 2.5%).",
        render_kw={"inputmode": "decimal", "autocomplete": "off", "maxlength": 12},
    )
    grace_days = StringField(
        "Grace days",
        validators=[Length(max=3)],
        description="Whole days after the due date before the fee is charged (0 for none).",
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 3},
    )


class WaiveFeeForm(AppForm):
    reason = StringField("Reason", validators=[Length(max=500)], render_kw={"maxlength": 500})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.flags.required = True


class ProposalLimitsForm(AppForm):
    enabled = BooleanField("Clients may propose a new plan")
    max_installments = StringField(
        "Most installments a client may propose",
        validators=[Length(max=3)],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 3},
    )
    latest_first_days = StringField(
        "Latest first due date, in days from the day they propose",
        validators=[Length(max=3)],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 3},
    )


class DeclineProposalForm(WaiveFeeForm):
    """The reason the client is told."""


class ApproveProposalForm(AppForm):
    """Only the CSRF token: the button approves."""


class ProposePlanForm(AppForm):
    installment_count = IntegerField(
        "Number of installments",
        validators=[InputRequired("Enter the number of installments."), NumberRange(1, 120, "Choose 1 to 120.")],
        render_kw={"min": 1, "inputmode": "numeric"},
    )
    first_due = DateField("First due date", validators=[InputRequired("Enter a date, like 2026-04-15."), calendar_day])
