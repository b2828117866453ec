"""The forms' base classes (Flask-WTF).  Fields render through WTForms' own widgets; the
labelled layout around them is the ``render_field`` macro in templates/_macros.html."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Form


class AppForm(FlaskForm):
    """Every form of the app, with a CSRF token."""


class SubForm(Form):
    """A form nested in another (no CSRF token of its own)."""
