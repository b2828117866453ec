"""ais.forms renders the common widgets itself (faster); the HTML must equal WTForms' own, for
every field of every form of the app, with and without data, errors, flags and extra attributes."""
import datetime as dt
import inspect
import re
from pathlib import Path

import pytest
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms.widgets import html_params as wtforms_html_params

from ais import forms as app_forms
from ais.auth import forms as auth_forms
from ais.backoffice import forms as backoffice_forms
from ais.payments import forms as payments_forms
from ais.portal import forms as portal_forms

FORM_CLASSES = sorted(
    {obj for module in (auth_forms, backoffice_forms, payments_forms, portal_forms)
     for obj in vars(module).values()
     if inspect.isclass(obj) and issubclass(obj, (app_forms.AppForm, app_forms.SubForm))
     and obj not in (app_forms.AppForm, app_forms.SubForm)},
    key=lambda cls: cls.__qualname__,
)

EXTRA = [
    {},
    {"class_": "form-control is-invalid", "aria_describedby": "x-help x-error", "aria_invalid": "true"},
    {"required": True, "disabled": False, "placeholder": 'Say "hi" & <bye>', "data_role": "search"},
    {"max": dt.date(2026, 11, 25), "min": dt.date(2020, 1, 1), "value": "<b>"},
]


def _fields(form):
    for field in form:
        if hasattr(field, "entries"):  # FieldList
            for entry in field.entries:
                yield from (_fields(entry.form) if hasattr(entry, "form") else [entry])
        elif hasattr(field, "form") and hasattr(field.form, "_fields"):  # FormField
            yield from _fields(field.form)
        else:
            yield field


@pytest.mark.parametrize("form_class", FORM_CLASSES, ids=lambda cls: cls.__qualname__)
@pytest.mark.parametrize("data", [None, {"amount": '12.5"', "method": "GCash", "q": "<x>", "status": "paid",
                                          "date": "2026-02-30", "reference": "a&b", "state": "reported"}])
def test_fast_rendering_equals_wtforms(app, form_class, data):
    with app.test_request_context("/"):
        form = form_class(formdata=MultiDict(data) if data else None, meta={"csrf": False})
        if data:
            form.validate()  # errors and processed values, as on a refused form
        for field in _fields(form):
            for extra in EXTRA:
                expected = field.widget(field, **dict(getattr(field, "render_kw", None) or {}, **extra))
                assert str(field(**extra)) == str(expected), (form_class.__qualname__, field.name, extra)


def test_the_common_widgets_take_the_fast_path(app, monkeypatch):
    """(Else the test above would compare WTForms with itself.)"""
    taken = []
    for kind, render in list(app_forms._FAST.items()):
        monkeypatch.setitem(app_forms._FAST, kind, lambda w, f, kw, render=render: taken.append(f.name) or render(w, f, kw))
    select = app_forms._select
    monkeypatch.setattr(app_forms, "_select", lambda w, f, kw: taken.append(f.name) or select(w, f, kw))
    with app.test_request_context("/"):
        form = portal_forms.ReportPaymentForm(meta={"csrf": False})
        for name in ("invoice_id", "amount", "method", "date", "reference", "submission_key"):
            form[name]()
        backoffice_forms.ReplanForm(meta={"csrf": False}).installment_count()  # IntegerField: a NumberInput
    assert taken == ["invoice_id", "amount", "method", "date", "reference", "submission_key", "installment_count"]


@pytest.mark.parametrize("chosen", [None, "b", 'q"uote', "True"])
def test_a_select_with_unusual_choices_equals_wtforms(app, chosen):
    """Quotes, markup, booleans and numbers as values, options with their own attributes."""
    from wtforms import SelectField
    from wtforms.fields.choices import SelectChoice

    class Unusual(app_forms.AppForm):
        pick = SelectField(choices=[SelectChoice("", "Any"), SelectChoice("b", "<b>B</b>"),
                                    SelectChoice('q"uote', Markup('<i>"Q"</i>')), SelectChoice(True, "Yes"),
                                    SelectChoice(7, "Seven"), SelectChoice("r", "R", {"data-x": 'y"z', "disabled": True})])

    with app.test_request_context("/"):
        form = Unusual(formdata=MultiDict({"pick": chosen}) if chosen is not None else None, meta={"csrf": False})
        for extra in EXTRA:
            assert str(form.pick(**extra)) == str(form.pick.widget(form.pick, **extra)), extra


@pytest.mark.parametrize("params", [
    {}, {"name": "a", "id": "b"}, {"checked": True, "readonly": False, "value": 'x"y<z>&'},
    {"data_attr": "user.name", "aria_labelledby": "n", "class_": "c", "for_": "f"}, {"value": 0}, {"value": None},
])
def test_html_params_equals_wtforms(params):
    assert app_forms.html_params(**params) == str(wtforms_html_params(**params))


# --- render_field: the labelled field (ais.forms.render_labelled_field) --------------------------

REFERENCE_MACRO = (Path(__file__).parent / "reference" / "render_field_macro.html").read_text()

FIELD_OPTIONS = [
    {},
    {"wrapper_class": "mb-0"},
    {"label": "Paid on", "help": 'Up to ₱1,000.00 & "more"', "class_": "w-auto"},
    {"hide_label": True, "prefix": "₱", "placeholder": "0.00"},
    {"suffix": "%", "help": "<b>not bold</b>", "data_role": "x", "max": "2026-11-25"},
    {"prefix": "$", "suffix": ".00", "wrapper_class": "col", "label": Markup("<i>Amount</i>")},
]


def _normalized(html) -> str:
    """The same HTML, whitespace between tags and runs of spaces aside (the macro's indentation)."""
    return re.sub(r"\s*([<>])\s*", r"\1", re.sub(r"\s+", " ", str(html))).strip()


@pytest.mark.parametrize("form_class", FORM_CLASSES, ids=lambda cls: cls.__qualname__)
@pytest.mark.parametrize("data", [None, {"amount": "-1", "method": "x", "q": "<x>", "status": "paid", "date": "2026-02-30",
                                          "reference": "a&b", "state": "reported", "password": "short",
                                          "frequency": "yearly", "payment_type": "other"}])
def test_render_field_equals_the_macro_it_replaced(app, form_class, data):
    template = app.jinja_env.from_string(REFERENCE_MACRO + "{{ render_field(field, **options) }}")
    with app.test_request_context("/"):
        form = form_class(formdata=MultiDict(data) if data else None, meta={"csrf": False})
        if data:
            form.validate()
        for field in _fields(form):
            for options in FIELD_OPTIONS:
                expected = template.render(field=field, options=dict(options))
                got = app_forms.render_labelled_field(field, **dict(options))
                assert _normalized(got) == _normalized(expected), (form_class.__qualname__, field.name, options)


def test_render_field_shows_errors_help_and_requirement(app):
    with app.test_request_context("/"):
        form = portal_forms.ReportPaymentForm(formdata=MultiDict({"amount": "abc"}), meta={"csrf": False})
        form.validate()
        html = str(app.jinja_env.from_string("{{ render_field(form.amount, help='Up to <b>1</b>') }}").render(form=form))
    assert 'aria-invalid="true"' in html and 'aria-describedby="amount-help amount-error"' in html
    assert re.search(r'<input [^>]*class="form-control[^"]* is-invalid"', html) and " required" in html, html
    assert '<div class="form-text" id="amount-help">Up to &lt;b&gt;1&lt;/b&gt;</div>' in html
    assert 'id="amount-error"' in html and '<span class="text-danger" aria-hidden="true">*</span>' in html
