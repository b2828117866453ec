"""render_field (ais/templates/_macros.html) writes text, number and date inputs and plain selects
itself, in Jinja, and leaves other fields to their WTForms widget: what it writes must be the
element the widget would write (same attributes and values, same escaping, same options)."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from flask import render_template_string
from wtforms import DateField, Form, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

TEMPLATE = """{% from "_macros.html" import render_field %}{{ render_field(field, **extra) }}"""


class Elements(HTMLParser):
    """The input and select elements of a fragment: (tag, attributes), and each select's options."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.options: list[tuple[dict, str]] = []
        self._option: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("input", "select"):
            self.found.append((tag, dict(attrs)))
        elif tag == "option":
            self._option = dict(attrs)
            self.options.append((self._option, ""))

    def handle_data(self, data):
        if self._option is not None:
            attrs, text = self.options[-1]
            self.options[-1] = (attrs, text + data)

    def handle_endtag(self, tag):
        if tag == "option":
            self._option = None


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(str(html))
    return parser


class Sample(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    note = StringField("Note", validators=[Optional()], description="Shown on the receipt")
    count = IntegerField("Installments", validators=[DataRequired(), NumberRange(min=1, max=60)])
    first_due = DateField("First due date", validators=[DataRequired()])
    method = SelectField(
        "Method",
        choices=[SelectChoice("cash", "Cash"), SelectChoice("gcash", "GCash <e-wallet>"), SelectChoice('x"y', "Quote")],
    )


DATA = {
    "name": 'Dela Cruz & Sons "Trading" <b>',
    "note": "",
    "count": 12,
    "first_due": dt.date(2026, 12, 31),
    "method": 'x"y',
}


@pytest.mark.parametrize("name", ["name", "note", "count", "first_due", "method"])
@pytest.mark.parametrize(
    "extra",
    [{}, {"placeholder": "e.g. 1,000.00", "autocomplete": "off"}, {"inputmode": "numeric"}],
    ids=["plain", "placeholder", "inputmode"],
)
def test_render_field_writes_the_element_the_widget_would(app, name, extra):
    if name == "method":
        extra = {}  # a select takes none of these
    form = Sample(data=DATA)
    field = form[name]
    with app.test_request_context():
        written = parse(render_template_string(TEMPLATE, field=field, extra=extra))
        [(tag, attributes)] = written.found
        # The widget given the attributes render_field chose (its class, aria-describedby, required)
        # writes the same element.
        kwargs = {key: value for key, value in attributes.items() if key not in ("id", "name", "type", "value")}
        if "class" in kwargs:
            kwargs["class_"] = kwargs.pop("class")
        for flag in ("required",):
            if flag in kwargs:
                kwargs[flag] = True
        for flag in ("min", "max", "maxlength"):
            kwargs.pop(flag, None)  # the widget writes the validators' flags itself
        widget = parse(field(**kwargs))
    assert written.found == widget.found
    assert written.options == widget.options
    assert tag == ("select" if name == "method" else "input")


def test_values_are_escaped_once(app):
    form = Sample(data=DATA)
    with app.test_request_context():
        html = str(render_template_string(TEMPLATE, field=form["name"], extra={}))
    assert 'value="Dela Cruz &amp; Sons &#34;Trading&#34; &lt;b&gt;"' in html
    assert "<b>" not in html


def test_a_field_sent_back_with_errors_keeps_what_was_typed(app):
    form = Sample(formdata=None, data=DATA)
    form.count.raw_data = ["abc"]
    form.count.errors = ["Not a valid integer value."]
    with app.test_request_context():
        html = str(render_template_string(TEMPLATE, field=form["count"], extra={}))
    [(_, attributes)] = parse(html).found
    assert attributes["value"] == "abc"
    assert attributes["aria-invalid"] == "true"
    assert "is-invalid" in attributes["class"]
    assert "Not a valid integer value." in html


class Filters(Form):
    q = StringField("Search", validators=[Optional(), Length(max=100)])
    date_from = DateField("From", validators=[Optional()])
    page = IntegerField("Page", validators=[Optional()])
    status = SelectField(
        "Status",
        choices=[SelectChoice("", "All"), SelectChoice("open", "Open"), SelectChoice("paid", "Paid")],
        default="",
    )


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"q": "Dela Cruz <b>", "date_from": "2026-12-01", "page": "2", "status": "paid"},
        {"q": "", "date_from": ""},
        {"date_from": "2026-13-45", "page": "two", "status": "nope"},
    ],
    ids=["nothing-sent", "values", "empty-values", "invalid"],
)
@pytest.mark.parametrize("name", ["q", "date_from", "page", "status"])
def test_a_filter_bound_to_the_query_string_writes_the_element_the_widget_would(app, query, name):
    """A filter bar's form is bound to request.args: its fields have raw_data ([] when not sent)."""
    from werkzeug.datastructures import MultiDict

    form = Filters(formdata=MultiDict(query))
    form.validate()
    field = form[name]
    with app.test_request_context():
        written = parse(render_template_string(TEMPLATE, field=field, extra={}))
        [(_, attributes)] = written.found
        kwargs = {key: value for key, value in attributes.items() if key not in ("id", "name", "type", "value")}
        kwargs["class_"] = kwargs.pop("class")
        kwargs.pop("maxlength", None)
        widget = parse(field(**kwargs))
    assert written.found == widget.found
    assert written.options == widget.options
