"""A bar chart drawn on the server as SVG geometry (no JavaScript, no inline styles).

Pixel positions are plain ints; the money figures stay Decimal and are only formatted.

``chart_svg`` and ``chart_table_rows`` write the chart's markup in Python rather than in the
dashboard's template: twelve bars and their ticks are some two hundred escaped numbers, which
in Jinja were a third of the dashboard's rendering.  tests/unit/test_charts.py checks the HTML
against the template fragment they replaced.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from babel.numbers import format_compact_currency
from flask import current_app
from markupsafe import Markup, escape

from ..formatting import format_day, format_money, money_text

WIDTH = 720
HEIGHT = 280
LEFT = 72  # room for the amount labels
RIGHT = 12
TOP = 16
BOTTOM = 36  # room for the month labels


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label_x: int
    month_label: str
    title: str
    value: Decimal
    month: dt.date
    is_current: bool


@dataclass(frozen=True)
class Tick:
    y: int
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right: int
    baseline: int
    bars: list[Bar]
    ticks: list[Tick]
    total: Decimal
    description: str


def nice_step(raw: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 and 10 times a power of ten that is at least ``raw``."""
    magnitude = Decimal(1).scaleb(raw.adjusted())
    for factor in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def compact_money(amount: Decimal, currency: str) -> str:
    return _compact_money(amount, currency, current_app.config["AIS_LOCALE"])


@lru_cache(maxsize=1024)
def _compact_money(amount: Decimal, currency: str, locale: str) -> str:
    # The axis shows round steps (0, 25K, 50K...): few distinct values, and Babel's compact
    # format reads the locale's patterns again on every call.
    try:
        return format_compact_currency(amount, currency, locale=locale, fraction_digits=1)
    except Exception:  # an unusual locale/currency pair: fall back to the full amount
        return money_text(amount, currency, locale)


def monthly_bar_chart(series: list[tuple[dt.date, Decimal]], currency: str, today: dt.date) -> BarChart:
    plot_height = HEIGHT - TOP - BOTTOM
    plot_width = WIDTH - LEFT - RIGHT
    baseline = TOP + plot_height
    highest = max((value for _, value in series), default=Decimal(0))
    if highest > 0:
        step = nice_step(highest / 4)
        count = int((highest / step).to_integral_value(rounding=ROUND_CEILING))
        top = step * count
    else:
        step, count, top = Decimal(1), 1, Decimal(0)
    ticks = []
    for k in range(count + 1):
        value = step * k if highest > 0 else Decimal(0)
        y = baseline - (int((Decimal(plot_height) * k / count).to_integral_value(ROUND_HALF_UP)))
        ticks.append(Tick(y=y, label=compact_money(value, currency) if highest > 0 else compact_money(Decimal(0), currency)))
        if highest <= 0:
            break
    slot = plot_width // max(len(series), 1)
    bar_width = max(int(slot * 0.62), 4)
    bars = []
    for index, (month, value) in enumerate(series):
        height = 0
        if top > 0 and value > 0:
            height = max(int((value * plot_height / top).to_integral_value(ROUND_HALF_UP)), 2)
        x = LEFT + index * slot + (slot - bar_width) // 2
        label = format_day(month, "MMM yyyy")
        bars.append(
            Bar(
                x=x, y=baseline - height, width=bar_width, height=height, label_x=x + bar_width // 2,
                month_label=format_day(month, "MMM"), title=f"{label}: {format_money(value, currency)}",
                value=value, month=month,
                is_current=(month.year, month.month) == (today.year, today.month),
            )
        )
    total = sum((value for _, value in series), Decimal("0.00"))
    if series:
        first, last = format_day(series[0][0], "MMM yyyy"), format_day(series[-1][0], "MMM yyyy")
        best = max(series, key=lambda item: item[1])
        description = (
            f"Bar chart of confirmed payments per month from {first} to {last}; "
            f"total {format_money(total, currency)}"
        )
        if best[1] > 0:
            description += f"; highest {format_day(best[0], 'MMM yyyy')} with {format_money(best[1], currency)}"
        description += "."
    else:
        description = "No data."
    return BarChart(width=WIDTH, height=HEIGHT, left=LEFT, right=WIDTH - RIGHT, baseline=baseline,
                    bars=bars, ticks=ticks, total=total, description=description)


def chart_svg(chart: BarChart) -> Markup:
    """The chart as an ``<svg>`` with a title per bar (its tooltip); the texts are escaped, the
    rest are ints and this module's own markup."""
    # A transparent full-height hit area per bar, so that the tooltip also works on short bars.
    hit_y, hit_height = (chart.baseline - 220, 220) if chart.baseline > 220 else (0, chart.baseline)
    parts = [f'<svg class="bar-chart" viewBox="0 0 {int(chart.width)} {int(chart.height)}" role="img" '
             f'aria-label="{escape(chart.description)}" preserveAspectRatio="xMidYMid meet">',
             '<g class="chart-grid" aria-hidden="true">']
    for index, tick in enumerate(chart.ticks):
        parts.append(
            f'<line x1="{int(chart.left)}" x2="{int(chart.right)}" y1="{int(tick.y)}" y2="{int(tick.y)}" '
            f'class="{"chart-axis" if index == 0 else "chart-gridline"}"></line>'
            f'<text x="{int(chart.left) - 8}" y="{int(tick.y) + 4}" text-anchor="end" class="chart-tick-label">'
            f"{escape(tick.label)}</text>")
    parts.append('</g><g class="chart-bars">')
    month_y = int(chart.baseline) + 22
    for index, bar in enumerate(chart.bars):
        shape = (f'<rect class="chart-bar-rect" x="{int(bar.x)}" y="{int(bar.y)}" width="{int(bar.width)}" '
                 f'height="{int(bar.height)}" rx="3"></rect>') if bar.height else ""
        parts.append(
            f'<g class="chart-bar{" is-current" if bar.is_current else ""}"><title>{escape(bar.title)}</title>'
            f'<rect class="chart-hit" x="{int(bar.x) - 4}" y="{hit_y}" width="{int(bar.width) + 8}" '
            f'height="{hit_height}" fill="transparent"></rect>{shape}'
            f'<text x="{int(bar.label_x)}" y="{month_y}" text-anchor="middle" '
            f'class="chart-month-label{" alt" if index % 2 else ""}" aria-hidden="true">{escape(bar.month_label)}</text>'
            "</g>")
    parts.append("</g></svg>")
    return Markup("".join(parts))  # nosec B704 - texts escaped above, numbers are ints


def chart_table_rows(chart: BarChart, currency: str) -> Markup:
    """The rows of the chart's table for screen readers: each month and what was collected."""
    return Markup("".join(  # nosec B704 - both cells escaped
        f'<tr><th scope="row">{escape(format_day(bar.month, "MMMM yyyy"))}</th>'
        f"<td>{escape(format_money(bar.value, currency))}</td></tr>"
        for bar in chart.bars))
