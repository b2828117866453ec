"""The figures of one rendered report, each distinct value formatted once.

A ledger page shows dozens of amounts and dates, many of them repeated (the same day on every
line of a day, 0.00 in a column that is mostly empty, an amount debited to cash and credited to
receivable); Babel formats each in ~10 µs.  A ``Cells`` lives for one render (the views pass a new
one as ``cells``): it formats with ais.formatting, as the ``money`` and ``day`` filters do, and
keeps what it has formatted, so the page pays Babel once per distinct value.  Plain strings: the
template escapes them as it would the filters' output.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..formatting import format_day, format_money


@dataclass(frozen=True)
class Line:
    """A report's row as its table shows it: ``row`` as read, ``day`` its date and ``money`` its
    amounts by column name, formatted.  A table's loop reads these strings rather than calling the
    formatter for each cell, by subscript (``line.money['debit']``): Jinja's dotted lookup on a
    dict tries the attribute first and pays for the AttributeError (~1 µs a cell)."""

    row: Any
    day: str
    money: dict[str, str]


class Cells:
    """``money`` and ``day`` as the filters print them, and ``balance``: a running balance on its
    side (1,000.00 Dr, 250.00 Cr, 0.00)."""

    def __init__(self) -> None:
        self._money: dict[str, str] = {}
        self._days: dict[dt.date, str] = {}

    def money(self, amount: Decimal | None) -> str:
        if amount is None:
            return ""
        key = str(amount)  # (not the Decimal: -0.00 == 0.00, but Babel prints "-₱0.00")
        found = self._money.get(key)
        if found is None:
            found = self._money[key] = format_money(amount)
        return found

    def day(self, value: dt.date | None) -> str:
        if value is None:
            return ""
        found = self._days.get(value)
        if found is None:
            found = self._days[value] = format_day(value)
        return found

    def balance(self, amount: Decimal) -> str:
        if amount > 0:
            return self.money(amount) + " Dr"
        if amount < 0:
            return self.money(-amount) + " Cr"
        return self.money(amount)

    def lines(self, rows: Iterable[Any], *columns: str) -> list[Line]:
        """Each row with its ``date`` and the amounts ``columns`` formatted (as ``day`` and ``money``)."""
        return [
            Line(row, self.day(row.date), {name: self.money(getattr(row, name)) for name in columns}) for row in rows
        ]

    def ledger_lines(self, rows: Iterable[Any]) -> list[Line]:
        """Lines of a ledger: ``debit`` and ``credit`` blank when zero, ``balance`` on its side."""
        return [
            Line(
                row,
                self.day(row.date),
                {
                    "debit": self.money(row.debit) if row.debit else "",
                    "credit": self.money(row.credit) if row.credit else "",
                    "balance": self.balance(row.balance),
                },
            )
            for row in rows
        ]
