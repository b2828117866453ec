"""ais.escaping.text escapes exactly as MarkupSafe's escape (Jinja's autoescaping) does."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup, escape

from ais import escaping


@given(st.text())
def test_text_equals_escape_for_any_string(value):
    assert escaping.text(value) == str(escape(value)) and type(escaping.text(value)) is str


@given(st.one_of(st.none(), st.integers(), st.decimals(allow_nan=False, allow_infinity=False), st.dates(),
                 st.booleans(), st.text().map(Markup)))
def test_text_equals_escape_for_other_values(value):
    assert escaping.text(value) == str(escape(value))


def test_markup_is_trusted_and_the_fallback_agrees():
    assert escaping.text(Markup("<b>x</b>")) == "<b>x</b>"
    for value in ('<a href="x">&\'', 7, Decimal("1.50"), dt.date(2026, 1, 2), None):
        assert escaping._text_slow(value) == escaping.text(value) == str(escape(value))
    assert escaping._escape_inner is not None  # the fast path is the one in use
