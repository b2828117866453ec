"""The collections forms: the owner's schedule of reminders, a client's choice of reminders."""

from __future__ import annotations

from wtforms import BooleanField, StringField
from wtforms.validators import Length

from ..forms import AppForm


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
