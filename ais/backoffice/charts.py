"""A bar chart's geometry, computed on the server (no JavaScript): the dashboard's template
draws it as SVG.  Pixel positions are plain ints; the money figures stay Decimal and are only
formatted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from babel.numbers import UnknownCurrencyFormatError, format_compact_currency

from ..formatting import app_locale, format_day, format_money

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
    amount: str = ""  # the value as money (formatted once, for the title and the figures' table)


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
    total_amount: str = ""  # the total as money (formatted once)


def nice_step(raw: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 and 10 times a power of ten that is at least ``raw``."""
    magnitude = Decimal(1).scaleb(raw.adjusted())
    for factor in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def compact_money(amount: Decimal, currency: str) -> str:
    """An axis label: ₱25K."""
    try:
        return format_compact_currency(amount, currency, locale=app_locale(), fraction_digits=1)
    except (UnknownCurrencyFormatError, KeyError):  # a locale without compact currency patterns
        return format_money(amount, currency)


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
        ticks.append(
            Tick(y=y, label=compact_money(value, currency) if highest > 0 else compact_money(Decimal(0), currency))
        )
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
        amount = format_money(value, currency)
        bars.append(
            Bar(
                x=x,
                y=baseline - height,
                width=bar_width,
                height=height,
                label_x=x + bar_width // 2,
                month_label=format_day(month, "MMM"),
                title=f"{label}: {amount}",
                value=value,
                month=month,
                is_current=(month.year, month.month) == (today.year, today.month),
                amount=amount,
            )
        )
    total = sum((value for _, value in series), Decimal("0.00"))
    total_amount = format_money(total, currency)
    if series:
        first, last = format_day(series[0][0], "MMM yyyy"), format_day(series[-1][0], "MMM yyyy")
        best = max(series, key=lambda item: item[1])
        description = f"Bar chart of confirmed payments per month from {first} to {last}; total {total_amount}"
        if best[1] > 0:
            description += f"; highest {format_day(best[0], 'MMM yyyy')} with {format_money(best[1], currency)}"
        description += "."
    else:
        description = "No data."
    return BarChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        baseline=baseline,
        bars=bars,
        ticks=ticks,
        total=total,
        description=description,
        total_amount=total_amount,
    )
