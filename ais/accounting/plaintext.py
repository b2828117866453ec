"""The ledger as a Beancount file (``flask --app ais export-beancount``), so the books can be
audited with plain-text accounting tools no one here wrote (docs/ACCOUNTING.md, "Export").

* one ``open`` directive per account that has entries, dated its first entry;
* one transaction per journal entry: its date, its memo as the narration, the journal as a tag
  (``#cash-receipts``), the journal and number as a link (``^cash-receipts-12``), and metadata
  naming its source, the entry it reverses and the closed month it corrects; each line a posting in
  PHP (debits positive, credits negative), with the client of a sub-ledger line as metadata.

Entries are read in date order a batch at a time (a server-side cursor on PostgreSQL), so memory
does not grow with the books.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import IO

from sqlalchemy import func, select

from ..extensions import db
from ..models import Account, JournalEntry, JournalLine

CURRENCY = "PHP"
ROOTS = {"asset": "Assets", "liability": "Liabilities", "equity": "Equity", "income": "Income", "expense": "Expenses"}
BATCH = 2000


def component(name: str) -> str:
    """An account's name as one Beancount name component: ASCII words, each capitalised, joined by
    dashes ("Cash on hand" -> "Cash-On-Hand", "Owner's capital" -> "Owners-Capital")."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_name.replace("'", ""))
    return "-".join(word[0].upper() + word[1:] for word in words)


def account_names() -> dict[int, str]:
    """Each account's Beancount name: its type's root and its name (its code added when two names
    would be the same, or when the name has no letter or digit)."""
    rows = db.session.execute(select(Account.id, Account.code, Account.name, Account.type).order_by(Account.code)).all()
    names: dict[int, str] = {}
    taken: set[str] = set()
    for account_id, code, name, kind in rows:
        base = component(name)
        full = f"{ROOTS[kind]}:{base}" if base else f"{ROOTS[kind]}:{component(code) or account_id}"
        if full in taken:
            full = f"{full}-{component(code) or account_id}"
        taken.add(full)
        names[account_id] = full
    return names


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _tag(journal: str) -> str:
    return journal.replace("_", "-")


def entry_count(as_of: date | None = None) -> int:
    statement = select(func.count()).select_from(JournalEntry)
    if as_of is not None:
        statement = statement.where(JournalEntry.date <= as_of)
    return db.session.scalar(statement) or 0


def _lines(as_of: date | None) -> Iterator:
    statement = (
        select(
            JournalEntry.id,
            JournalEntry.journal,
            JournalEntry.number,
            JournalEntry.date,
            JournalEntry.memo,
            JournalEntry.source_type,
            JournalEntry.source_id,
            JournalEntry.reverses_id,
            JournalEntry.corrects_period,
            JournalLine.account_id,
            JournalLine.debit,
            JournalLine.credit,
            JournalLine.client_id,
        )
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .order_by(JournalEntry.date, JournalEntry.id, JournalLine.id)
    )
    if as_of is not None:
        statement = statement.where(JournalEntry.date <= as_of)
    yield from db.session.execute(statement.execution_options(yield_per=BATCH))


def write_beancount(out: IO, as_of: date | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Write the ledger (up to ``as_of``, all of it by default) to ``out``; the number of
    transactions written.  ``progress(n)`` is called after each batch of ``n`` transactions."""
    names = account_names()
    opened = select(JournalLine.account_id, func.min(JournalEntry.date)).join(
        JournalEntry, JournalEntry.id == JournalLine.entry_id
    )
    if as_of is not None:
        opened = opened.where(JournalEntry.date <= as_of)
    first_use: dict[int, date] = {
        account_id: day for account_id, day in db.session.execute(opened.group_by(JournalLine.account_id))
    }
    out.write(f'option "title" "AIS ledger{f" as of {as_of.isoformat()}" if as_of else ""}"\n')
    out.write(f'option "operating_currency" "{CURRENCY}"\n\n')
    accounts = {
        account_id: (code, name)
        for account_id, code, name in db.session.execute(select(Account.id, Account.code, Account.name))
    }
    for account_id, day in sorted(first_use.items(), key=lambda item: (item[1], names[item[0]])):
        code, name = accounts[account_id]
        out.write(f"{day.isoformat()} open {names[account_id]} {CURRENCY}\n")
        out.write(f"  code: {_quoted(code)}\n  name: {_quoted(name)}\n")
    out.write("\n")
    written = 0
    pending = 0
    current = None
    for row in _lines(as_of):
        if row.id != current:
            current = row.id
            written += 1
            pending += 1
            if progress is not None and pending >= BATCH:
                progress(pending)
                pending = 0
            journal = _tag(row.journal)
            out.write(f"\n{row.date.isoformat()} * {_quoted(row.memo)} #{journal} ^{journal}-{row.number}\n")
            out.write(f'  source: "{row.source_type}:{row.source_id}"\n')
            out.write(f"  entry-id: {row.id}\n")
            if row.reverses_id is not None:
                out.write(f"  reverses-entry-id: {row.reverses_id}\n")
            if row.corrects_period is not None:
                out.write(f'  corrects-period: "{row.corrects_period:%Y-%m}"\n')
        amount = Decimal(row.debit) - Decimal(row.credit)
        out.write(f"  {names[row.account_id]}  {amount:.2f} {CURRENCY}\n")
        if row.client_id is not None:
            out.write(f"    client-id: {row.client_id}\n")
    if progress is not None and pending:
        progress(pending)
    return written
