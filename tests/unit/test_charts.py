"""The dashboard's chart (ais.backoffice.charts): its geometry, and the markup that chart_svg and
chart_table_rows write, which must equal what the template fragment they replaced wrote."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_forms_rendering import _normalized

from ais.backoffice.charts import chart_svg, chart_table_rows, monthly_bar_chart
from ais.billing.rules import add_months

REFERENCE = (Path(__file__).parent / "reference" / "chart_template.html").read_text()
FIRST = dt.date(2025, 12, 1)
TODAY = dt.date(2026, 11, 15)

amounts = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2, allow_nan=False, allow_infinity=False)


def series_of(values) -> list[tuple[dt.date, Decimal]]:
    return [(add_months(FIRST, k), value) for k, value in enumerate(values)]


def both(app, series, currency="PHP"):
    template = app.jinja_env.from_string(REFERENCE)
    with app.test_request_context("/"):
        chart = monthly_bar_chart(series, currency, TODAY)
        expected = template.render(chart=chart, currency=currency)
        got = f"{chart_svg(chart)}<tbody>{chart_table_rows(chart, currency)}</tbody>"
    return _normalized(got), _normalized(expected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # the app is only read
@given(values=st.lists(amounts, min_size=0, max_size=12))
def test_the_chart_equals_the_template_it_replaced(app, values):
    got, expected = both(app, series_of(values))
    assert got == expected


def test_a_chart_of_nothing_and_one_with_every_kind_of_bar(app):
    for values in ([], [Decimal("0.00")] * 12, [Decimal("0.01")] + [Decimal("0.00")] * 11,
                   [Decimal(n * 1000) for n in range(12)]):
        got, expected = both(app, series_of(values))
        assert got == expected


def test_texts_are_escaped(app):
    with app.test_request_context("/"):
        chart = monthly_bar_chart(series_of([Decimal("5.00")] * 12), "PHP", TODAY)
        hostile = chart.__class__(**{**chart.__dict__, "description": 'a "quoted" <b>&'})
        html = str(chart_svg(hostile))
    assert 'aria-label="a &#34;quoted&#34; &lt;b&gt;&amp;"' in html and "<b>" not in html


def test_the_current_month_is_marked_and_every_other_label_alternates(app):
    with app.test_request_context("/"):
        html = str(chart_svg(monthly_bar_chart(series_of([Decimal("1.00")] * 12), "PHP", TODAY)))
    assert html.count('class="chart-bar is-current"') == 1 and html.count("chart-month-label alt") == 6
    assert html.count('class="chart-bar-rect"') == 12
