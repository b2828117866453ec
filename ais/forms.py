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

from .escaping import text



def _attribute_value(value) -> str:
    """An attribute's value escaped as WTForms escapes it (a quote left in Markup becomes &quot;)."""
    escaped = text(value)
    return escaped.replace('"', "&quot;") if '"' in escaped else escaped


def html_params(**kwargs) -> str:
    """``wtforms.widgets.html_params``: the same attributes, in the same order, escaped the same way."""
    params = []
    for key, value in sorted(kwargs.items()):
        key = text(clean_key(key))
        if value is True:
            params.append(key)
        elif value is not False:
            params.append(f'{key}="{_attribute_value(value)}"')
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


def _number_input(widget, field, kwargs: dict) -> Markup:
    for attr in ("step", "min", "max"):  # the widget's own bounds, as NumberInput adds them
        value = getattr(widget, attr, None)
        if value is not None:
            kwargs.setdefault(attr, value)
    return _input(widget, field, kwargs)


def _select(widget, field, kwargs: dict) -> Markup:
    kwargs.setdefault("id", field.id)
    _validation_attrs(widget, field, kwargs, call=False)
    html = [f"<select {html_params(name=field.name, **kwargs)}>"]
    for choice in field._iter_choices_normalized():
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        label = text(choice.label or choice.value)
        if not choice.render_kw:  # the usual option: html_params' output written out ("selected" sorts first)
            selected = "selected " if choice.selected else ""
            html.append(f'<option {selected}value="{_attribute_value(value)}">{label}</option>')
            continue
        options = {"value": value, **choice.render_kw}
        if choice.selected:
            options["selected"] = True
        html.append(f"<option {html_params(**options)}>{label}</option>")
    html.append("</select>")
    # Attributes escaped by html_params, labels by escape() (as WTForms' Select does).
    return Markup("".join(html))  # nosec B704


_FAST = {
    widgets.TextInput: _input, widgets.SearchInput: _input, widgets.EmailInput: _input,
    widgets.TelInput: _input, widgets.URLInput: _input, widgets.HiddenInput: _input,
    widgets.DateInput: _date_input, widgets.NumberInput: _number_input,
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


# --- A labelled field, as the pages show it ------------------------------------------------------



def render_labelled_field(field, **attrs) -> Markup:
    """The template global ``render_field(field, **attrs)``: a labelled input with its help text
    and errors (Bootstrap's markup), for every form of the app.

    Extra keyword arguments become attributes of the input (``class_`` is added to the default
    class).  Special keywords: ``label`` (text instead of the field's label), ``help`` (help text
    under the input), ``hide_label`` (the label for screen readers only), ``prefix`` / ``suffix``
    (input-group text, e.g. a currency sign), ``wrapper_class`` (of the surrounding div, default
    "mb-3").  The input says which texts describe it (``aria-describedby``), whether it is invalid
    and whether it is required.

    It was a Jinja macro; as Python it costs a fifth (filter bars show five on every list page).
    tests/unit/test_forms_rendering.py checks its output against that macro's for every field of
    every form, with and without errors, help, prefixes and extra attributes.
    """
    label_text = attrs.pop("label", None)
    help_text = attrs.pop("help", None) or field.description
    hide_label = attrs.pop("hide_label", False)
    prefix = attrs.pop("prefix", None)
    suffix = attrs.pop("suffix", None)
    wrapper_class = attrs.pop("wrapper_class", "mb-3")
    extra_class = attrs.pop("class_", "")
    kind = field.type
    if kind in ("HiddenField", "CSRFTokenField"):
        return field(**attrs)
    errors = [error for error in field.errors if isinstance(error, str)] if field.errors else []
    error_id, help_id = f"{field.id}-error", f"{field.id}-help"
    described = " ".join(([help_id] if help_text else []) + ([error_id] if errors else []))
    required = field.flags.required
    input_attrs = dict(attrs)
    if described:
        input_attrs["aria-describedby"] = described
    if errors:
        input_attrs["aria-invalid"] = "true"
    if required:
        input_attrs["required"] = True
    label = escape(label_text or field.label.text)
    invalid = " is-invalid" if errors else ""
    help_html = f'<div class="form-text" id="{escape(help_id)}">{escape(help_text)}</div>' if help_text else ""
    error_text = escape(" ").join(escape(error) for error in errors)

    if kind == "BooleanField":
        control = field(class_=f"form-check-input {extra_class}{invalid}".strip(), **input_attrs)
        error_html = (f'<div class="invalid-feedback d-block" id="{escape(error_id)}">{error_text}</div>'
                      if errors else "")
        html = (f'<div class="{escape(wrapper_class)} form-check">{control}'
                f'<label class="form-check-label" for="{escape(field.id)}">{label}</label>{help_html}{error_html}</div>')
    elif kind == "RadioField":
        options = "".join(
            f'<div class="form-check form-check-inline">{option(class_="form-check-input" + invalid, **attrs)}'
            f'<label class="form-check-label" for="{escape(option.id)}">{escape(option.label.text)}</label></div>'
            for option in field)
        error_html = (f'<div class="invalid-feedback d-block" id="{escape(error_id)}">{error_text}</div>'
                      if errors else "")
        html = (f'<fieldset class="{escape(wrapper_class)}"'
                + (f' aria-describedby="{escape(described)}"' if described else "")
                + f'><legend class="form-label fs-6{" visually-hidden" if hide_label else ""}">{label}</legend>'
                + f"{options}{help_html}{error_html}</fieldset>")
    else:
        base_class = "form-select" if kind in ("SelectField", "SelectMultipleField", "QuerySelectField") else "form-control"
        control = field(class_=f"{base_class} {extra_class}{invalid}".strip(), **input_attrs)
        grouped = prefix or suffix
        error_html = (f'<div class="invalid-feedback{"" if grouped else " d-block"}" id="{escape(error_id)}">'
                      f"{error_text}</div>" if errors else "")
        html = "".join((
            f'<div class="{escape(wrapper_class)}">',
            f'<label class="form-label{" visually-hidden" if hide_label else ""}" for="{escape(field.id)}">{label}',
            ' <span class="text-danger" aria-hidden="true">*</span>' if required else "",
            "</label>",
            f'<div class="input-group{" has-validation" if errors else ""}">' if grouped else "",
            f'<span class="input-group-text">{escape(prefix)}</span>' if prefix else "",
            control,
            f'<span class="input-group-text">{escape(suffix)}</span>' if suffix else "",
            error_html,
            "</div>" if grouped else "",
            help_html,
            "</div>",
        ))
    # Every text and attribute value above is escaped (escape()), the controls are WTForms' Markup.
    return Markup(html)  # nosec B704
