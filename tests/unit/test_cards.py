"""stat_card (ais.cards) writes what the Jinja macro it replaced wrote, hostile text escaped."""
from __future__ import annotations

from pathlib import Path

import pytest
from markupsafe import Markup
from test_forms_rendering import _normalized

from ais.cards import stat_card

REFERENCE_MACRO = (Path(__file__).parent / "reference" / "stat_card_macro.html").read_text()


@pytest.mark.parametrize("label", ["Invoiced", 'Due <soon> & "later"'])
@pytest.mark.parametrize("value", ["₱1,234.50", Markup("<b>₱0.00</b>"), 12])
@pytest.mark.parametrize("note", [None, "", "3 installments past due", "<i>"])
@pytest.mark.parametrize("tone", [None, "", "good", 'x" onclick="y'])
@pytest.mark.parametrize("href", [None, "", "/invoices?status=overdue&page=2"])
def test_stat_card_equals_the_macro_it_replaced(app, label, value, note, tone, href):
    template = app.jinja_env.from_string(REFERENCE_MACRO + "{{ stat_card(label, value, note, tone, href=href) }}")
    expected = template.render(label=label, value=value, note=note, tone=tone, href=href)
    assert _normalized(stat_card(label, value, note, tone, href=href)) == _normalized(expected)


def test_a_card_escapes_what_it_shows():
    html = str(stat_card("<script>", "1 & 2", note='"n"', tone="bad", href='/x"y'))
    assert "<script>" not in html and "&lt;script&gt;" in html and "1 &amp; 2" in html
    assert 'href="/x&#34;y"' in html and 'class="card stat-card h-100 stat-bad"' in html
