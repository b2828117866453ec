"""CSV exports.  Every cell that a spreadsheet would read as a formula (it begins with =, +, -, @,
a tab or a carriage return) is neutralised with a leading apostrophe (OWASP's advice), so that a
client named "=HYPERLINK(...)" stays text when the owner opens the file.  Numbers given as Decimal
or int are no text anyone typed: they are written as numbers, a negative one included."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal

from ..billing import aging, promises

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell as text, with a leading apostrophe if a spreadsheet would take it for a formula.
    A Decimal or an int is written as the number it is (a negative amount stays a number)."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Each row as one CSV line (streamed), every cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def aging_rows(
    as_of: dt.date,
    rows: Iterable[aging.ClientAging],
    totals: aging.Aging,
    shown_promises: Mapping[int, promises.Promise] | None = None,
) -> Iterator[list[object]]:
    """The aging report as CSV rows: a header, one row per client, the totals.  Amounts are plain
    numbers with two decimals (a spreadsheet sums them).  The last three columns are the promise
    to pay the report shows beside the client on ``as_of`` (amount, date, state), empty when none."""
    shown_promises = shown_promises or {}
    yield ["As of", as_of.isoformat()]
    yield [
        "Client ID",
        "Client",
        *(aging.BUCKET_LABELS[b] for b in aging.BUCKETS),
        "Total",
        "Promised amount",
        "Promised by",
        "Promise state",
    ]
    for row in rows:
        promise = shown_promises.get(row.client_id)
        yield [
            row.client_id,
            row.client_name,
            *(f"{amount:.2f}" for _, amount in row.aging.buckets),
            f"{row.aging.total:.2f}",
            *((f"{promise.amount:.2f}", promise.promised_by.isoformat(), promise.label) if promise else ("", "", "")),
        ]
    yield ["", "Total", *(f"{amount:.2f}" for _, amount in totals.buckets), f"{totals.total:.2f}", "", "", ""]
