"""Sign-in and account forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from .. import emails
from ..forms import AppForm

# Longer input is never a valid password (the policy stops at 256): don't spend argon2 on it.
PASSWORD_INPUT_MAX = 1024


class LoginForm(AppForm):
    username = StringField("Username or email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=PASSWORD_INPUT_MAX)])
    submit = SubmitField("Sign in")


class SecondFactorForm(AppForm):
    code = StringField(
        "Code",
        validators=[DataRequired(), Length(max=40)],
        description="The 6-digit code from your authenticator app, or one of your recovery codes.",
    )
    submit = SubmitField("Verify")


class SetPasswordForm(AppForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=PASSWORD_INPUT_MAX)],
        description="At least 10 characters. A few unrelated words make a strong, memorable password.",
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords are not the same.")],
    )
    submit = SubmitField("Save password")


class ChangePasswordForm(AppForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=PASSWORD_INPUT_MAX)])
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=PASSWORD_INPUT_MAX)],
        description="At least 10 characters. Your other signed-in devices will be signed out.",
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new_password", message="The two passwords are not the same.")],
    )
    submit = SubmitField("Change password")


def one_email_address(form, field) -> None:
    """Only a well-formed address can be asked about (it says nothing about accounts)."""
    if not emails.is_single_address(field.data or ""):
        raise ValidationError("Enter a valid email address, like ann@example.com.")


class ForgotPasswordForm(AppForm):
    email = StringField("Email address", validators=[DataRequired(), Length(max=254), one_email_address])
    submit = SubmitField("Send me a link")


class CodeForm(AppForm):
    """A 2FA code to confirm an action (enable, disable, new recovery codes)."""

    code = StringField("Code from your authenticator app", validators=[DataRequired(), Length(max=40)])
    submit = SubmitField("Confirm")


class EmptyForm(AppForm):
    """Just the CSRF token (buttons that post)."""
