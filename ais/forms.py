"""The forms' base classes: Flask-WTF forms whose plain inputs and selects render faster.

WTForms builds every attribute of every input with ``Markup.format`` and looks up a select's option
renderer by inspecting its signature, for each field on each page: on the portal's payment form and
the owner's filter bars that was a quarter of the page's rendering.  ``Meta.render_field`` (WTForms'
hook for exactly this) renders the common widgets (text, search, email, tel, URL, hidden and date
inputs; single selects without groups) with the same output built with plain string joins; any
other widget renders as usual.  ``tests/unit/test_forms_rendering.py`` checks the output equals
WTForms' own for every field of every form of the app.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import Form, widgets
from wtforms.widgets.core import clean_key

_QUOTE, _ENTITY = Markup('"'), Markup("&quot;")


def html_params(**kwargs) -> str:
    """``wtforms.widgets.html_params``: the same attributes, in the same order, escaped the same way."""
    params = []
    for key, value in sorted(kwargs.items()):
        key = escape(clean_key(key))
        if value is True:
            params.append(key)
        elif value is not False:
            params.append(f'{key}="{escape(value).replace(_QUOTE, _ENTITY)}"')
    return " ".join(params)


def _validation_attrs(widget, field, kwargs: dict, call: bool) -> None:
    # WTForms walks dir(flags); the flags a field has are its instance attributes.
    flags = getattr(getattr(field, "flags", None), "__dict__", {})
    for name in widget.validation_attrs:
        if name in flags and name not in kwargs:
            value = flags[name]
            kwargs[name] = value() if call and callable(value) else value


def _input(widget, field, kwargs: dict) -> Markup:
    kwargs.setdefault("id", field.id)
    kwargs.setdefault("type", widget.input_type)
    if "value" not in kwargs:
        kwargs["value"] = field._value()
    _validation_attrs(widget, field, kwargs, call=True)
    # Every attribute name and value is escaped by html_params (as WTForms' Input does).
    return Markup(f"<input {html_params(name=field.name, **kwargs)}>")  # nosec B704


def _date_input(widget, field, kwargs: dict) -> Markup:
    date_format = getattr(field, "format", None)
    if date_format is not None:
        date_format = date_format[0] if isinstance(date_format, list) else date_format
        flags = getattr(field, "flags", {})
        for attr in ("min", "max"):
            value = kwargs.get(attr, getattr(flags, attr, None))
            if callable(value):
                value = value()
            if hasattr(value, "strftime"):
                kwargs[attr] = value.strftime(date_format)
    return _input(widget, field, kwargs)


def _select(widget, field, kwargs: dict) -> Markup:
    kwargs.setdefault("id", field.id)
    _validation_attrs(widget, field, kwargs, call=False)
    html = [f"<select {html_params(name=field.name, **kwargs)}>"]
    for choice in field._iter_choices_normalized():
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        options = {"value": value, **(choice.render_kw or {})}
        if choice.selected:
            options["selected"] = True
        html.append(f"<option {html_params(**options)}>{escape(choice.label or choice.value)}</option>")
    html.append("</select>")
    # Attributes escaped by html_params, labels by escape() (as WTForms' Select does).
    return Markup("".join(html))  # nosec B704


_FAST = {
    widgets.TextInput: _input, widgets.SearchInput: _input, widgets.EmailInput: _input,
    widgets.TelInput: _input, widgets.URLInput: _input, widgets.HiddenInput: _input,
    widgets.DateInput: _date_input,
}


def render_fast(field, render_kw: dict):
    """Render ``field`` as ``field.widget(field, **render_kw)`` would, faster where it can."""
    widget = field.widget
    kind = type(widget)
    if getattr(field, "_datalist", None) is None:
        if kind in _FAST:
            return _FAST[kind](widget, field, dict(render_kw))
        if kind is widgets.Select and not widget.multiple and not field.has_groups():
            return _select(widget, field, dict(render_kw))
    return widget(field, **render_kw)


class _FastRendering:
    def render_field(self, field, render_kw):
        other_kw = getattr(field, "render_kw", None)
        if other_kw is not None:
            render_kw = dict(other_kw, **render_kw)
        return render_fast(field, render_kw)


class AppForm(FlaskForm):
    """Every form of the app with a CSRF token (Flask-WTF)."""

    class Meta(_FastRendering):
        pass


class SubForm(Form):
    """A form nested in another (no CSRF token of its own)."""

    class Meta(_FastRendering):
        pass
