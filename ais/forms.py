"""The forms' base classes (Flask-WTF).  Fields render through WTForms' own widgets; the
labelled layout around them is the ``render_field`` macro in templates/_macros.html.

No value longer than its field's limit is ever shown back: a form that fails validation is
rendered again with what the person typed, so a field sent longer than its limit (its ``Length``
validator's maximum, else its ``maxlength``, else ``DEFAULT_FIELD_LIMIT``) is emptied as the
form reads it, and validation reports the limit.  The request limits (ais.web) bound the whole body;
this bounds what a page echoes.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import Field, FieldList, Form, FormField
from wtforms.validators import Length, StopValidation

# A field with no limit of its own (an amount, a date, a code, an id) is one line of text: no
# value of the app's is longer than an email address.
DEFAULT_FIELD_LIMIT = 254


def field_limit(field: Field) -> int:
    """The longest value ``field`` may hold (and so be shown back with)."""
    for validator in field.validators or ():
        if isinstance(validator, Length) and validator.max is not None and validator.max >= 0:
            return validator.max
    maxlength = (field.render_kw or {}).get("maxlength")
    return int(maxlength) if isinstance(maxlength, int) else DEFAULT_FIELD_LIMIT


def leaf_fields(fields: Iterable[Field]) -> Iterable[Field]:
    """The fields that hold values, sub-forms and lists of entries opened up."""
    for field in fields:
        if isinstance(field, FormField):
            yield from leaf_fields(field.form)
        elif isinstance(field, FieldList):
            yield from leaf_fields(field.entries)
        else:
            yield field


def refuse_overlong_values(form: Form) -> None:
    """Empty every field of ``form`` (sub-forms included) sent longer than its limit, so that the
    value is neither used nor rendered back; validating the form then reports the limit."""
    for field in leaf_fields(form):
        limit = field_limit(field)
        if any(isinstance(value, str) and len(value) > limit for value in field.raw_data or ()):
            field.raw_data = []
            field.data = None
            # Before any validator (a "required" one would otherwise report the emptied field):
            # this error alone, in the Length validator's words, and no further checks.
            field.pre_validate = _refusal(f"Field cannot be longer than {limit} characters.")


def _refusal(message: str):
    def pre_validate(form) -> None:
        raise StopValidation(message)

    return pre_validate


class AppForm(FlaskForm):
    """Every form of the app, with a CSRF token."""

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        super().process(formdata, obj, data=data, extra_filters=extra_filters, **kwargs)
        refuse_overlong_values(self)


class SubForm(Form):
    """A form nested in another (no CSRF token of its own)."""
