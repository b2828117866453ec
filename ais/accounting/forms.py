"""The accounting pages' forms."""

from __future__ import annotations

from datetime import date

from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ..forms import AppForm


def _month(form, field) -> None:
    """A month as YYYY-MM (what the periods page sends); kept as its first day in ``field.month``."""
    text = (field.data or "").strip()
    try:
        field.month = date.fromisoformat(f"{text}-01") if len(text) == 7 else None
    except ValueError:
        field.month = None
    if field.month is None or not 1900 <= field.month.year <= 2999:
        raise ValidationError(f"“{text[:20]}” is not a month: use YYYY-MM, e.g. 2026-03.")


class CloseMonthForm(AppForm):
    """Close a month (and every open month before it)."""

    month = HiddenField(validators=[DataRequired("Choose the month to close."), _month])


class ReopenMonthForm(AppForm):
    """Reopen the last closed month: a reason is always required."""

    month = HiddenField(validators=[DataRequired("Choose the month to reopen."), _month])
    reason = StringField(
        "Reason", validators=[DataRequired("Say why the month is reopened."), Length(max=500)], render_kw={"maxlength": 500}
    )
