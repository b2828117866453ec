"""The accounting pages' forms."""

from __future__ import annotations

from datetime import date

from wtforms import HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

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
        "Reason",
        validators=[DataRequired("Say why the month is reopened."), Length(max=500)],
        render_kw={"maxlength": 500},
    )


ACCOUNT_TYPES = [
    SelectChoice("asset", "Asset"),
    SelectChoice("liability", "Liability"),
    SelectChoice("equity", "Equity"),
    SelectChoice("income", "Income"),
    SelectChoice("expense", "Expense"),
]


class AccountForm(AppForm):
    """Add an account to the chart."""

    code = StringField("Code", validators=[DataRequired("Give the account a code."), Length(max=20)])
    name = StringField("Name", validators=[DataRequired("Give the account a name."), Length(max=120)])
    type = SelectField("Type", choices=ACCOUNT_TYPES, validators=[DataRequired("Choose the account's type.")])


class RenameAccountForm(AppForm):
    name = StringField("New name", validators=[DataRequired("Give the account a name."), Length(max=120)])


class ActionForm(AppForm):
    """A button that changes something (deactivate, reactivate): its CSRF token only."""


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def posting_accounts_form(settings, method_names, treatments) -> AppForm:
    """A select of active asset accounts per payment method and of income accounts per tax
    treatment, named ``method-<n>`` and ``treatment-<role>``, with the current settings."""

    class PostingAccountsForm(AppForm):
        pass

    for number, method in enumerate(method_names):
        field = SelectField(
            method,
            coerce=int,
            choices=_choices(settings.asset_choices),
            validators=[InputRequired(f"Choose {method}'s account.")],
        )
        setattr(PostingAccountsForm, f"method-{number}", field)
    for role, label in treatments.items():
        field = SelectField(
            label,
            coerce=int,
            choices=_choices(settings.income_choices),
            validators=[InputRequired(f"Choose {label}'s account.")],
        )
        setattr(PostingAccountsForm, f"treatment-{role}", field)
    data = {f"method-{number}": settings.methods.get(method) for number, method in enumerate(method_names)}
    data.update({f"treatment-{role}": settings.treatments.get(role) for role in treatments})
    return PostingAccountsForm(data=data)
