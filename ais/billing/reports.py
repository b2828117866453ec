"""The ledger's reports: general ledger, journals, income statement, balance sheet, the
receivables sub-ledger and the books a Philippine bookkeeper keeps (docs/ACCOUNTING.md, "Reports").

Every figure comes from the ledger (``journal_entries``, ``journal_lines``) and its running
balances per account and month (``account_balances``).  A balance or a period's movement reads the
running balances of the whole months it covers and the lines of at most two partial months, so
its cost does not grow with the history of the books; a list reads one page of rows.  The running
balance shown on page N of a general ledger starts from the balance before that page's first line:
the running balances of the months before that line's month plus one bounded SUM of that month's
earlier lines.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import (
    CASH_RECEIPTS_JOURNAL,
    GENERAL_JOURNAL,
    JOURNALS,
    SALES_JOURNAL,
    Account,
    AccountDayBalance,
    Client,
    ClientAccount,
    ClientDayBalance,
    CreditNote,
    Invoice,
    JournalEntry,
    JournalLine,
    Overpayment,
    Payment,
)
from ..pagination import check_not_past_end
from . import ledger
from .rules import add_months

ZERO = Decimal("0.00")
JOURNAL_NAMES = {SALES_JOURNAL: "Sales", CASH_RECEIPTS_JOURNAL: "Cash receipts", GENERAL_JOURNAL: "General"}
JOURNAL_CODES = {SALES_JOURNAL: "SJ", CASH_RECEIPTS_JOURNAL: "CR", GENERAL_JOURNAL: "GJ"}
CAP = 1_000  # a list's rows are counted up to here ("of 1,000+"), as the owner's other lists (ais/pagination.py)
PDF_MAX_ROWS = 2_000  # a printed report of more rows is refused: narrow the period or take the CSV
CSV_BATCH = 1_000  # rows whose lines (or balances) one query reads while a CSV is written


def _constant(value: Any, type_: Any = None) -> sa.BindParameter:
    """A constant written into a statement's text, as the pages' values are (see START)."""
    return sa.bindparam(None, value, type_=type_ or sa.String(), literal_execute=True)


# The journals, the entries' sources and the roles the statements compare with.
_SALES, _GENERAL, _CASH_RECEIPTS = (_constant(name) for name in (SALES_JOURNAL, GENERAL_JOURNAL, CASH_RECEIPTS_JOURNAL))
_INVOICE, _CREDIT_NOTE = _constant(ledger.INVOICE), _constant(ledger.CREDIT_NOTE)
_PAYMENT, _OVERPAYMENT = _constant(ledger.PAYMENT), _constant(ledger.OVERPAYMENT)
_RECEIVABLE = _constant("receivable")
_EMPTY = _constant("")
_ZERO_INT, _ONE = _constant(0, sa.Integer()), _constant(1, sa.Integer())


# --- Balances from the running totals --------------------------------------------------------


@dataclass
class Movement:
    """Debits and credits posted to one account."""

    debit: Decimal = ZERO
    credit: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        """Debits less credits (a credit balance is negative)."""
        return self.debit - self.credit


def month_end(day: dt.date) -> dt.date:
    return add_months(day.replace(day=1), 1) - dt.timedelta(days=1)


def movements(start: dt.date | None, end: dt.date, account_id: int | None = None) -> dict[int, Movement]:
    """Debits and credits per account posted from ``start`` (None: the beginning) to ``end``, both
    included: the running balances per day through ``end`` less those through the day before
    ``start`` (ledger.totals_through: an index lookup per account each, whatever the size of the
    books)."""
    result: dict[int, Movement] = defaultdict(Movement)
    for row_account, (debit, credit) in ledger.totals_through(end, account_id).items():
        result[row_account].debit += debit
        result[row_account].credit += credit
    if start is not None and start > dt.date.min:
        for row_account, (debit, credit) in ledger.totals_through(start - dt.timedelta(days=1), account_id).items():
            result[row_account].debit -= debit
            result[row_account].credit -= credit
    return result


def balance_before(day: dt.date, account_id: int) -> Decimal:
    """Debits less credits of one account posted before ``day``."""
    if day <= dt.date(1900, 1, 1):
        return ZERO
    debit, credit = ledger.totals_through(day - dt.timedelta(days=1), account_id).get(account_id, (ZERO, ZERO))
    return debit - credit


@dataclass(frozen=True)
class AccountRow:
    id: int
    code: str
    name: str
    type: str
    role: str | None


def accounts() -> list[AccountRow]:
    """The chart, by code."""
    return [
        AccountRow(*row)
        for row in db.session.execute(
            select(Account.id, Account.code, Account.name, Account.type, Account.role).order_by(Account.code)
        )
    ]


def account(account_id: int) -> AccountRow | None:
    row = db.session.execute(
        select(Account.id, Account.code, Account.name, Account.type, Account.role).where(Account.id == account_id)
    ).first()
    return AccountRow(*row) if row else None


# --- Income statement and balance sheet ------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    account: AccountRow
    amount: Decimal  # on the section's side: income and liabilities as credits, the rest as debits


@dataclass(frozen=True)
class IncomeStatement:
    start: dt.date
    end: dt.date
    income: list[StatementLine]
    returns: list[StatementLine]  # contra-income (sales returns and allowances)
    expenses: list[StatementLine]
    total_income: Decimal
    total_returns: Decimal
    net_sales: Decimal  # income less returns
    total_expenses: Decimal
    net_income: Decimal


def _is_contra_income(row: AccountRow) -> bool:
    return row.type == "income" and row.role == "sales_returns"


def income_statement(start: dt.date, end: dt.date) -> IncomeStatement:
    """Income less sales returns less expenses of a period: each account's running balances per
    day through ``end`` less those through the day before ``start`` (_chart_with_totals), one query
    whatever the size of the books."""
    before = start - dt.timedelta(days=1) if start > dt.date.min else None
    income, returns, expenses = [], [], []
    for row, through, earlier in _chart_with_totals(end, before):
        movement = Movement(through.debit - earlier.debit, through.credit - earlier.credit)
        if not (movement.debit or movement.credit):
            continue
        if _is_contra_income(row):
            returns.append(StatementLine(row, movement.net))
        elif row.type == "income":
            income.append(StatementLine(row, -movement.net))
        elif row.type == "expense":
            expenses.append(StatementLine(row, movement.net))
    total_income = sum((line.amount for line in income), ZERO)
    total_returns = sum((line.amount for line in returns), ZERO)
    total_expenses = sum((line.amount for line in expenses), ZERO)
    return IncomeStatement(
        start,
        end,
        income,
        returns,
        expenses,
        total_income,
        total_returns,
        total_income - total_returns,
        total_expenses,
        total_income - total_returns - total_expenses,
    )


@dataclass(frozen=True)
class BalanceSheet:
    as_of: dt.date
    assets: list[StatementLine]
    liabilities: list[StatementLine]
    equity: list[StatementLine]
    retained_earnings: Decimal  # net income of the years before as_of's year
    current_earnings: Decimal  # net income from 1 January of as_of's year to as_of
    total_assets: Decimal
    total_liabilities: Decimal
    total_equity: Decimal  # equity accounts and both earnings

    @property
    def difference(self) -> Decimal:
        """Assets less liabilities and equity: zero when the books balance."""
        return self.total_assets - self.total_liabilities - self.total_equity


def _chart_with_totals(through: dt.date, earlier: dt.date | None) -> list[tuple[AccountRow, Movement, Movement]]:
    """The chart by code, each account with its debits and credits through the end of ``through``
    and of ``earlier`` (None: nothing): one statement, an index lookup per account and day in the
    running balances per day (as ledger.totals_through)."""
    rows = db.session.execute(
        _chart_totals_statement(False, earlier is not None), {"through": through, "before": earlier}
    )
    return [
        (
            AccountRow(*row[:5]),
            Movement(_amount(row[5]), _amount(row[6])),
            Movement(_amount(row[7]), _amount(row[8])),
        )
        for row in rows
    ]


def balance_sheet(as_of: dt.date) -> BalanceSheet:
    """Assets, liabilities and equity at the end of ``as_of``.  Income and expense accounts are
    not closed into equity by entries: their balance up to 31 December of the year before is the
    retained earnings, and from 1 January to ``as_of`` the current year's earnings, so assets =
    liabilities + equity.  One query whatever the size of the books."""
    year_start = dt.date(as_of.year, 1, 1)
    before_year = year_start - dt.timedelta(days=1) if year_start.year > 1900 else None
    assets, liabilities, equity = [], [], []
    earnings_total = ZERO
    earnings_before = ZERO
    for row, movement, movement_before_year in _chart_with_totals(as_of, before_year):
        if row.type in ("income", "expense"):
            earnings_total -= movement.net
            earnings_before -= movement_before_year.net
            continue
        if not movement.net:
            continue
        if row.type == "asset":
            assets.append(StatementLine(row, movement.net))
        elif row.type == "liability":
            liabilities.append(StatementLine(row, -movement.net))
        else:
            equity.append(StatementLine(row, -movement.net))
    total_assets = sum((line.amount for line in assets), ZERO)
    total_liabilities = sum((line.amount for line in liabilities), ZERO)
    total_equity = sum((line.amount for line in equity), ZERO) + earnings_total
    return BalanceSheet(
        as_of,
        assets,
        liabilities,
        equity,
        earnings_before,
        earnings_total - earnings_before,
        total_assets,
        total_liabilities,
        total_equity,
    )


# --- General ledger ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerLine:
    date: dt.date
    journal: str
    number: int
    memo: str
    source_type: str
    source_id: int
    debit: Decimal
    credit: Decimal
    balance: Decimal  # debits less credits of the account up to and including this line
    client_name: str | None = None

    @property
    def entry_ref(self) -> str:
        return f"{JOURNAL_CODES.get(self.journal, self.journal)}-{self.number}"


@dataclass(frozen=True)
class GeneralLedger:
    account: AccountRow
    start: dt.date
    end: dt.date
    opening: Decimal  # debits less credits before start
    debits: Decimal  # of the period
    credits: Decimal
    closing: Decimal
    lines: list[LedgerLine]  # one page (or every line, for the CSV and the PDF)
    page_opening: Decimal  # the balance before the first line shown
    page: int = 1
    per_page: int = 0
    total: int = 0  # lines of the period (counted up to CAP for a page)
    total_capped: bool = False


def _ledger_lines_select(account_id: Any, start: Day, end: Day) -> sa.Select:
    return (
        select(
            JournalLine.date,
            JournalEntry.journal,
            JournalEntry.number,
            JournalEntry.memo,
            JournalEntry.source_type,
            JournalEntry.source_id,
            JournalLine.debit,
            JournalLine.credit,
            JournalLine.entry_id,
            JournalLine.id.label("line_id"),
            Client.name.label("client_name"),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .outerjoin(Client, Client.id == JournalLine.client_id)
        .where(JournalLine.account_id == account_id, JournalLine.date.between(start, end))
        .order_by(JournalLine.date, JournalLine.entry_id, JournalLine.id)  # ix_journal_lines_account_date
    )


def _running(rows, opening: Decimal) -> list[LedgerLine]:
    balance = opening
    lines = []
    for row in rows:
        balance += Decimal(row.debit) - Decimal(row.credit)
        lines.append(
            LedgerLine(
                row.date,
                row.journal,
                row.number,
                row.memo,
                row.source_type,
                row.source_id,
                Decimal(row.debit),
                Decimal(row.credit),
                balance,
                row.client_name,
            )
        )
    return lines


def _earlier_that_day(day: dt.date, entry_id: int, line_id: int, *conditions) -> Decimal:
    """Debits less credits of the lines matching ``conditions`` on ``day`` that come before one
    line (ordered by entry, then line): bounded by one day's lines of the account."""
    debit, credit = db.session.execute(
        select(
            func.coalesce(func.sum(JournalLine.debit), _ZERO_INT),
            func.coalesce(func.sum(JournalLine.credit), _ZERO_INT),
        ).where(
            *conditions,
            JournalLine.date == day,
            or_(JournalLine.entry_id < entry_id, and_(JournalLine.entry_id == entry_id, JournalLine.id < line_id)),
        )
    ).one()
    return Decimal(debit) - Decimal(credit)


def _balance_before_line(account_id: int, day: dt.date, entry_id: int, line_id: int) -> Decimal:
    """Debits less credits of the account before one of its lines (ordered by date, entry, line):
    its running balance through the day before, plus its lines of that day that come before it."""
    return balance_before(day, account_id) + _earlier_that_day(
        day, entry_id, line_id, JournalLine.account_id == account_id
    )


def _amount(value) -> Decimal:
    """A running total read (None: no running balance yet, 0.00)."""
    return ZERO if value is None else Decimal(value)


def _latest_total(column, day: Day):
    """One account's debits (or credits) through the end of ``day``: its last running balance per
    day on or before it (correlated to ``Account``; an index lookup)."""
    return (
        select(column)
        .where(AccountDayBalance.account_id == Account.id, AccountDayBalance.day <= day)
        .order_by(AccountDayBalance.day.desc())
        .limit(_ONE)
        .correlate(Account)
        .scalar_subquery()
    )


@functools.cache
def _chart_totals_statement(one_account: bool, with_before: bool) -> sa.Select:
    """The chart (by code) or one account (ACCOUNT), each with its debits and credits through the
    end of THROUGH and of BEFORE (when ``with_before``; NULL otherwise)."""
    none = sa.null()
    statement = select(
        Account.id,
        Account.code,
        Account.name,
        Account.type,
        Account.role,
        _latest_total(AccountDayBalance.debit, THROUGH),
        _latest_total(AccountDayBalance.credit, THROUGH),
        _latest_total(AccountDayBalance.debit, BEFORE) if with_before else none,
        _latest_total(AccountDayBalance.credit, BEFORE) if with_before else none,
    )
    return statement.where(Account.id == ACCOUNT) if one_account else statement.order_by(Account.code)


def _account_with_totals(account_id: int, start: dt.date, end: dt.date) -> tuple[AccountRow, Decimal, Movement] | None:
    """An account, its balance before ``start`` (balance_before) and its movement from ``start`` to
    ``end`` (movements) in one statement: four index lookups in its running balances per day."""
    before = start - dt.timedelta(days=1) if start > dt.date.min else None
    row = db.session.execute(
        _chart_totals_statement(True, before is not None),
        {"account_id": account_id, "through": end, "before": before},
    ).first()
    if row is None:
        return None
    debit_through, credit_through, debit_before, credit_before = (_amount(value) for value in row[5:])
    opening = debit_before - credit_before if start > dt.date(1900, 1, 1) else ZERO
    moved = Movement(debit_through - debit_before, credit_through - credit_before)
    return AccountRow(*row[:5]), opening, moved


@functools.cache
def _ledger_lines_statements() -> PageStatements:
    counted = select(JournalLine.id).where(JournalLine.account_id == ACCOUNT, JournalLine.date.between(START, END))
    return _page_statements(_ledger_lines_select(ACCOUNT, START, END), counted)


def general_ledger(
    account_id: int, start: dt.date, end: dt.date, page: int | None = 1, per_page: int = 50
) -> GeneralLedger | None:
    """One account's opening balance at ``start``, its lines from ``start`` to ``end`` with the
    running balance, and its closing balance; ``page`` None: every line (at most PDF_MAX_ROWS + 1
    rows are read when ``per_page`` says so).  None when there is no such account."""
    known = _account_with_totals(account_id, start, end)
    if known is None:
        return None
    found, opening, moved = known
    closing = opening + moved.net
    statement = _ledger_lines_select(account_id, start, end)
    if page is None:
        rows = db.session.execute(statement.limit(per_page) if per_page else statement).all()
        return GeneralLedger(
            found, start, end, opening, moved.debit, moved.credit, closing, _running(rows, opening), opening
        )
    rows, counted = _page_rows(
        _ledger_lines_statements(), {"account_id": account_id, "start": start, "end": end}, page, per_page
    )
    if rows:
        first = rows[0]
        page_opening = (
            opening if page == 1 else _balance_before_line(account_id, first.date, first.entry_id, first.line_id)
        )
    else:
        page_opening = closing
    return GeneralLedger(
        found,
        start,
        end,
        opening,
        moved.debit,
        moved.credit,
        closing,
        _running(rows, page_opening),
        page_opening,
        page,
        per_page,
        min(counted, CAP),
        counted > CAP,
    )


def general_ledger_csv_lines(account_id: int, start: dt.date, end: dt.date) -> Iterator[LedgerLine]:
    """Every line of the period with its running balance."""
    balance = balance_before(start, account_id)
    result = db.session.execute(_ledger_lines_select(account_id, start, end))
    for partition in result.partitions(CSV_BATCH):
        lines = _running(partition, balance)
        yield from lines
        if lines:
            balance = lines[-1].balance


# --- Journals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryLine:
    code: str
    account_name: str
    debit: Decimal
    credit: Decimal
    client_name: str | None


@dataclass(frozen=True)
class Entry:
    id: int
    date: dt.date
    journal: str
    number: int
    memo: str
    source_type: str
    source_id: int
    reverses_id: int | None
    lines: list[EntryLine] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{JOURNAL_CODES.get(self.journal, self.journal)}-{self.number}"

    @property
    def debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)


@dataclass(frozen=True)
class Page:
    """One page of a report's rows, with the capped count of the period's rows."""

    items: list
    page: int
    per_page: int
    total: int
    total_capped: bool

    def __post_init__(self) -> None:
        check_not_past_end(self.page, self.pages, bool(self.items))

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page)) if self.per_page else 1

    # What the page links (_macros.html, page_links) read, as on flask_sqlalchemy's Pagination.
    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(
        self, *, left_edge: int = 2, left_current: int = 2, right_current: int = 4, right_edge: int = 2
    ) -> Iterator[int | None]:
        """The page numbers to link, None for a gap (as flask_sqlalchemy's Pagination does)."""
        pages_end = self.pages + 1
        if pages_end == 1:
            return
        left_end = min(1 + left_edge, pages_end)
        yield from range(1, left_end)
        if left_end == pages_end:
            return
        mid_start = max(left_end, self.page - left_current)
        mid_end = min(self.page + right_current + 1, pages_end)
        if mid_start - left_end > 0:
            yield None
        yield from range(mid_start, mid_end)
        if mid_end == pages_end:
            return
        right_start = max(mid_end, pages_end - right_edge)
        if right_start - mid_end > 0:
            yield None
        yield from range(right_start, pages_end)


def _entries_select(journal: str | None, start: Day, end: Day) -> sa.Select:
    statement = select(
        JournalEntry.id,
        JournalEntry.date,
        JournalEntry.journal,
        JournalEntry.number,
        JournalEntry.memo,
        JournalEntry.source_type,
        JournalEntry.source_id,
        JournalEntry.reverses_id,
    ).where(JournalEntry.date.between(start, end))
    if journal is not None:
        statement = statement.where(JournalEntry.journal == _constant(journal))
    return statement.order_by(JournalEntry.date, JournalEntry.journal, JournalEntry.number)


# The pages' statements are built once (functools.cache): building and hashing a select of a dozen
# joins and columns costs more than running it (as ais.pagination).  Their values are written into
# their text at execution (``literal_execute``), as ais.billing.aging's are: a statement with no
# parameter is planned once per connection (psycopg prepares it), while one with parameters is
# planned afresh on each execution, and planning cost PostgreSQL more than running them.  The texts
# are few: one per period (or day, account, client) and page shown.
Day = Any  # a date, or the START / END parameter of a statement built once
START = sa.bindparam("start", type_=sa.Date, literal_execute=True)
END = sa.bindparam("end", type_=sa.Date, literal_execute=True)
ACCOUNT = sa.bindparam("account_id", type_=sa.Integer, literal_execute=True)
CLIENT = sa.bindparam("client_id", type_=sa.Integer, literal_execute=True)
BEFORE = sa.bindparam("before", type_=sa.Date, literal_execute=True)
THROUGH = sa.bindparam("through", type_=sa.Date, literal_execute=True)
IDS = sa.bindparam("ids", expanding=True, type_=sa.Integer, literal_execute=True)
_PAGE_LIMIT = sa.bindparam("page_limit", type_=sa.Integer, literal_execute=True)
_PAGE_OFFSET = sa.bindparam("page_offset", type_=sa.Integer, literal_execute=True)


@dataclass(frozen=True)
class PageStatements:
    """One page of a list with its row count capped at CAP + 1, and that count alone (for a page
    past the end, which has no row to carry it)."""

    page: sa.Select
    count: sa.Select


def _capped_count(counted_rows: sa.Select) -> sa.Select:
    """How many rows ``counted_rows`` has, counted up to CAP + 1 ("1,000+")."""
    return select(func.count()).select_from(
        counted_rows.order_by(None).limit(_constant(CAP + 1, sa.Integer())).subquery()
    )


def _page_statements(statement: sa.Select, counted_rows: sa.Select | None = None) -> PageStatements:
    """``statement`` paged (LIMIT and OFFSET written into the SQL as numbers, as ais.pagination
    does) with the capped count; ``counted_rows``: the same rows without the joins that only add
    columns, for the count."""
    capped = _capped_count(statement if counted_rows is None else counted_rows)
    return PageStatements(
        statement.add_columns(capped.scalar_subquery().label("capped_total")).limit(_PAGE_LIMIT).offset(_PAGE_OFFSET),
        capped,
    )


def _page_first_statements(in_order: sa.Select, rows_of, counted_rows: sa.Select) -> PageStatements:
    """One page of the rows ``in_order`` (a select of one model's columns, ordered), then
    ``rows_of(page)`` (``page``: that model aliased to the page) with the capped count: the joins
    and figures of ``rows_of`` are computed for the page's rows only, not for the rows it skips."""
    page = in_order.limit(_PAGE_LIMIT).offset(_PAGE_OFFSET).subquery("page")
    entity = in_order.column_descriptions[0]["entity"]
    capped = _capped_count(counted_rows)
    return PageStatements(
        rows_of(aliased(entity, page)).add_columns(capped.scalar_subquery().label("capped_total")), capped
    )


def _page_rows(statements: PageStatements, params: dict, page: int, per_page: int) -> tuple[list, int]:
    """One page of rows and the number of rows counted up to CAP + 1 (one query, two for a page
    past the end)."""
    rows = db.session.execute(
        statements.page, {**params, "page_limit": per_page, "page_offset": (page - 1) * per_page}
    ).all()
    counted = rows[0].capped_total if rows else (db.session.scalar(statements.count, params) or 0)
    return list(rows), counted


@functools.cache
def _entry_lines_statement() -> sa.Select:
    """The lines of the entries IDS, each entry's debits first."""
    return (
        select(JournalLine.entry_id, Account.code, Account.name, JournalLine.debit, JournalLine.credit, Client.name)
        .join(Account, Account.id == JournalLine.account_id)
        .outerjoin(Client, Client.id == JournalLine.client_id)
        .where(JournalLine.entry_id.in_(IDS))
        .order_by(JournalLine.entry_id, JournalLine.credit > _ZERO_INT, JournalLine.id)
    )


def _with_lines(rows) -> list[Entry]:
    """The entries of ``rows`` with their lines (one query for all of them)."""
    entries = [
        Entry(row.id, row.date, row.journal, row.number, row.memo, row.source_type, row.source_id, row.reverses_id)
        for row in rows
    ]
    if not entries:
        return entries
    by_id = {entry.id: entry for entry in entries}
    for entry_id, code, name, debit, credit, client_name in db.session.execute(
        _entry_lines_statement(), {"ids": list(by_id)}
    ):
        by_id[entry_id].lines.append(EntryLine(code, name, Decimal(debit), Decimal(credit), client_name))
    return entries


@functools.cache
def _journal_statements(journal: str | None) -> PageStatements:
    return _page_statements(_entries_select(journal, START, END))


def journal_page(journal: str | None, start: dt.date, end: dt.date, page: int, per_page: int = 25) -> Page:
    """A page of a journal's entries (every journal when None) in a period, with their lines."""
    rows, counted = _page_rows(_journal_statements(journal), {"start": start, "end": end}, page, per_page)
    return Page(_with_lines(rows), page, per_page, min(counted, CAP), counted > CAP)


def journal_entries(journal: str | None, start: dt.date, end: dt.date, limit: int | None = None) -> Iterator[Entry]:
    """Every entry of the period with its lines (CSV_BATCH entries at a time); at most ``limit``."""
    statement = _entries_select(journal, start, end)
    if limit is not None:
        statement = statement.limit(limit)
    for partition in db.session.execute(statement).partitions(CSV_BATCH):
        yield from _with_lines(partition)


# --- The sales journal --------------------------------------------------------------------------


@dataclass(frozen=True)
class SalesRow:
    date: dt.date
    ref: str  # the entry (SJ-12, GJ-3)
    document: str  # the invoice's or the credit note's number
    against: str  # a credit note's invoice
    customer: str
    tin: str
    vatable: Decimal
    exempt: Decimal
    zero_rated: Decimal
    other: Decimal  # a seller's sales that are not VAT-registered
    vat: Decimal
    gross: Decimal


SALES_COLUMNS = ("vatable", "exempt", "zero_rated", "other", "vat", "gross")


def _sales_select(start: Day, end: Day) -> sa.Select:
    """The sales journal's entries and the credit notes' (in the general journal), with the
    document each records and its buyer."""
    return _sales_rows(JournalEntry).where(_in_sales_journal(start, end))


def _sales_rows(entry: Any) -> sa.Select:
    """The rows of the entries ``entry`` (JournalEntry, or an alias of it to one page of them), with
    the document each records and its buyer, in the journal's order."""
    credited = aliased(Invoice)
    billed, credited_client = aliased(Client), aliased(Client)
    return (
        select(
            entry.date,
            entry.journal,
            entry.number,
            entry.source_type,
            entry.reverses_id,
            Invoice.invoice_no,
            Invoice.amount,
            Invoice.credited_amount,
            Invoice.late_fee_amount,
            Invoice.vatable_sales,
            Invoice.exempt_sales,
            Invoice.zero_rated_sales,
            Invoice.vat_amount,
            CreditNote.credit_no,
            CreditNote.amount.label("note_amount"),
            CreditNote.vatable_amount,
            CreditNote.exempt_amount,
            CreditNote.zero_rated_amount,
            CreditNote.vat_amount.label("note_vat"),
            credited.invoice_no.label("credited_no"),
            func.coalesce(
                func.nullif(Invoice.buyer_name, _EMPTY),
                func.nullif(credited.buyer_name, _EMPTY),
                billed.name,
                credited_client.name,
            ).label("customer"),
            func.coalesce(
                func.nullif(Invoice.buyer_tin, _EMPTY),
                func.nullif(credited.buyer_tin, _EMPTY),
                billed.tax_id,
                credited_client.tax_id,
            ).label("tin"),
        )
        .select_from(entry)
        .outerjoin(
            Invoice,
            and_(entry.source_type == _INVOICE, Invoice.id == entry.source_id),
        )
        .outerjoin(
            CreditNote,
            and_(entry.source_type == _CREDIT_NOTE, CreditNote.id == entry.source_id),
        )
        .outerjoin(credited, credited.id == CreditNote.invoice_id)
        # Two joins by primary key rather than one on COALESCE(...), which no index can serve.
        .outerjoin(billed, billed.id == Invoice.client_id)
        .outerjoin(credited_client, credited_client.id == CreditNote.client_id)
        .order_by(entry.date, entry.journal.desc(), entry.number)
    )


def _in_sales_journal(start: Day, end: Day):
    """The sales journal's entries and the credit notes' (in the general journal) of a period."""
    return and_(
        JournalEntry.date.between(start, end),
        or_(
            JournalEntry.journal == _SALES,
            and_(JournalEntry.journal == _GENERAL, JournalEntry.source_type == _CREDIT_NOTE),
        ),
    )


def _sales_entries(start: Day, end: Day) -> sa.Subquery:
    """The entries of the sales journal and the credit notes' of a period, as two ranges of the
    (journal, date, number) index rather than a scan of every journal's entries of the period
    (for the count)."""
    columns = (JournalEntry.id, JournalEntry.date, JournalEntry.journal, JournalEntry.number)
    in_period = JournalEntry.date.between(start, end)
    return sa.union_all(
        select(*columns).where(JournalEntry.journal == _SALES, in_period),
        select(*columns).where(JournalEntry.journal == _GENERAL, in_period, JournalEntry.source_type == _CREDIT_NOTE),
    ).subquery("sales_entries")


def _sales_row(row) -> SalesRow:
    """A sale as posted (the invoice's stored VAT summary), a credit note as a negative sale (its
    stored split); a reversal (a void) with the opposite sign of what it reverses."""
    ref = f"{JOURNAL_CODES[row.journal]}-{row.number}"
    if row.source_type == ledger.CREDIT_NOTE:
        sign = Decimal(1) if row.reverses_id else Decimal(-1)
        gross, vat = Decimal(row.note_amount), Decimal(row.note_vat)
        vatable, exempt = Decimal(row.vatable_amount), Decimal(row.exempt_amount)
        zero_rated = Decimal(row.zero_rated_amount)
        document, against = row.credit_no, row.credited_no or ""
    else:
        sign = Decimal(-1) if row.reverses_id else Decimal(1)
        # What the invoice's lines bill, as ledger.invoice_issued posted it (late fees post on their own).
        gross = Decimal(row.amount) + Decimal(row.credited_amount) - Decimal(row.late_fee_amount or 0)
        vat, vatable = Decimal(row.vat_amount or 0), Decimal(row.vatable_sales or 0)
        exempt, zero_rated = Decimal(row.exempt_sales or 0), Decimal(row.zero_rated_sales or 0)
        document, against = row.invoice_no or "", ""
    other = gross - vatable - exempt - zero_rated - vat

    def signed(amount: Decimal) -> Decimal:
        return sign * amount + ZERO  # (+ ZERO: never -0.00)

    return SalesRow(
        row.date,
        ref,
        document,
        against,
        row.customer or "",
        row.tin or "",
        signed(vatable),
        signed(exempt),
        signed(zero_rated),
        signed(other),
        signed(vat),
        signed(gross),
    )


@functools.cache
def _sales_statements() -> PageStatements:
    # The page's entries are chosen first (from the date index), so that only they are joined to
    # their documents and buyers.
    in_order = (
        select(
            JournalEntry.id,
            JournalEntry.date,
            JournalEntry.journal,
            JournalEntry.number,
            JournalEntry.source_type,
            JournalEntry.source_id,
            JournalEntry.reverses_id,
        )
        .where(_in_sales_journal(START, END))
        .order_by(JournalEntry.date, JournalEntry.journal.desc(), JournalEntry.number)
    )
    return _page_first_statements(in_order, _sales_rows, select(_sales_entries(START, END).c.id))


def sales_journal_page(start: dt.date, end: dt.date, page: int, per_page: int = 50) -> Page:
    """One page of the sales journal (its rows in date order from the date index, sorted within a
    day), the capped count from the two ranges of the (journal, date, number) index."""
    rows, counted = _page_rows(_sales_statements(), {"start": start, "end": end}, page, per_page)
    return Page([_sales_row(row) for row in rows], page, per_page, min(counted, CAP), counted > CAP)


def sales_journal_rows(start: dt.date, end: dt.date, limit: int | None = None) -> Iterator[SalesRow]:
    statement = _sales_select(start, end)
    if limit is not None:
        statement = statement.limit(limit)
    for row in db.session.execute(statement):
        yield _sales_row(row)


def sales_totals(rows: list[SalesRow]) -> dict[str, Decimal]:
    return {name: sum((getattr(row, name) for row in rows), ZERO) for name in SALES_COLUMNS}


# --- The cash receipts journal ------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptRow:
    date: dt.date
    ref: str
    reference: str  # the acknowledgement receipt (AR-...) and the payer's or provider's reference
    received_from: str
    account: str  # the cash-type account debited
    amount: Decimal  # debited to it (a reversal: negative)
    receivable: Decimal  # credited to accounts receivable
    customer_credit: Decimal  # credited to customer credits (online money not applied)


def _receipts_select(start: Day, end: Day) -> sa.Select:
    return _receipts_columns(JournalEntry).where(
        JournalEntry.journal == _CASH_RECEIPTS, JournalEntry.date.between(start, end)
    )


def _receipts_columns(entry: Any) -> sa.Select:
    """The entries ``entry`` (JournalEntry, or an alias of it to one page of them) with their
    payment's or overpayment's reference and payer, in the journal's order."""
    payer, flagged_for = aliased(Client), aliased(Client)
    return (
        select(
            entry.id,
            entry.date,
            entry.number,
            entry.source_type,
            entry.source_id,
            Payment.reference,
            Overpayment.provider_reference,
            func.coalesce(payer.name, flagged_for.name).label("client_name"),
        )
        .select_from(entry)
        .outerjoin(Payment, and_(entry.source_type == _PAYMENT, Payment.id == entry.source_id))
        .outerjoin(
            Overpayment,
            and_(entry.source_type == _OVERPAYMENT, Overpayment.id == entry.source_id),
        )
        # Two joins by primary key rather than one on COALESCE(...), which no index can serve.
        .outerjoin(payer, payer.id == Payment.client_id)
        .outerjoin(flagged_for, flagged_for.id == Overpayment.client_id)
        .order_by(entry.date, entry.number)  # ix_journal_entries_journal_date_number
    )


def _receipt_reference(row) -> str:
    if row.source_type == ledger.PAYMENT:
        return f"AR-{row.source_id:06d}" + (f" · {row.reference}" if row.reference else "")
    return row.provider_reference or ""


@functools.cache
def _receipt_lines_statement() -> sa.Select:
    return (
        select(JournalLine.entry_id, Account.role, Account.name, JournalLine.debit, JournalLine.credit)
        .join(Account, Account.id == JournalLine.account_id)
        .where(JournalLine.entry_id.in_(IDS))
        .order_by(JournalLine.id)
    )


def _receipt_rows(rows) -> list[ReceiptRow]:
    """The rows of a page of cash receipts, with the accounts of their lines and their roles (one
    query: the receivable and customer credit accounts are known by their role)."""
    if not rows:
        return []
    by_entry: dict[int, list] = defaultdict(list)
    for entry_id, role, name, debit, credit in db.session.execute(
        _receipt_lines_statement(), {"ids": [row.id for row in rows]}
    ):
        by_entry[entry_id].append((role, name, Decimal(debit), Decimal(credit)))
    result = []
    for row in rows:
        cash_name, amount, to_receivable, to_credit = "", ZERO, ZERO, ZERO
        for role, name, debit, credit in by_entry[row.id]:
            if role == "receivable":
                to_receivable += credit - debit
            elif role == "customer_credit":
                to_credit += credit - debit
            else:
                cash_name, amount = name, amount + debit - credit
        result.append(
            ReceiptRow(
                row.date,
                f"CR-{row.number}",
                _receipt_reference(row),
                row.client_name or "",
                cash_name,
                amount,
                to_receivable,
                to_credit,
            )
        )
    return result


@functools.cache
def _receipts_statements() -> PageStatements:
    receipts = select(JournalEntry.id).where(
        JournalEntry.journal == _CASH_RECEIPTS, JournalEntry.date.between(START, END)
    )
    return _page_statements(_receipts_select(START, END), receipts)


def cash_receipts_page(start: dt.date, end: dt.date, page: int, per_page: int = 50) -> Page:
    rows, counted = _page_rows(_receipts_statements(), {"start": start, "end": end}, page, per_page)
    return Page(_receipt_rows(rows), page, per_page, min(counted, CAP), counted > CAP)


def cash_receipts_rows(start: dt.date, end: dt.date, limit: int | None = None) -> Iterator[ReceiptRow]:
    statement = _receipts_select(start, end)
    if limit is not None:
        statement = statement.limit(limit)
    for partition in db.session.execute(statement).partitions(CSV_BATCH):
        yield from _receipt_rows(partition)


# --- The receivables sub-ledger -----------------------------------------------------------------


@dataclass(frozen=True)
class ClientBalance:
    client_id: int
    name: str
    balance: Decimal  # receivable debits less credits up to the day


@dataclass(frozen=True)
class Receivables:
    as_of: dt.date
    control: Decimal  # the receivable control account's balance (from the running balances)
    clients: Page  # of ClientBalance


def _has_receivable_balance(receivable: Any):
    """Whether a client has lines in the receivable account (``client_accounts``: a primary key lookup)."""
    return (
        select(ClientAccount.client_id)
        .where(ClientAccount.account_id == receivable, ClientAccount.client_id == Client.id)
        .exists()
    )


def _receivable_clients_select(receivable: Any) -> sa.Select:
    """The clients with lines in the receivable account, by name."""
    return (
        select(Client.id, Client.name)
        .where(_has_receivable_balance(receivable))
        .order_by(func.lower(Client.name), Client.id)
    )  # ix_clients_name_lower


def _client_totals(account_id: int, client_ids: list[int], day: dt.date) -> dict[int, Decimal]:
    """Debits less credits of each client on an account through the end of ``day``: the client's
    last running balance per day on or before it (an index lookup per client)."""
    if not client_ids:
        return {}
    return {
        client_id: Decimal(debit) - Decimal(credit)
        for client_id, debit, credit in db.session.execute(
            _clients_totals_statement(), {"account_id": account_id, "ids": client_ids, "through": day}
        )
    }


@functools.cache
def _clients_totals_statement() -> sa.Select:
    """Each client of IDS with their last running balance per day on ACCOUNT on or before THROUGH."""
    latest = aliased(ClientDayBalance)
    last_day = (
        select(func.max(latest.day))
        .where(latest.account_id == ACCOUNT, latest.client_id == Client.id, latest.day <= THROUGH)
        .correlate(Client)
        .scalar_subquery()
    )
    return (
        select(Client.id, ClientDayBalance.debit, ClientDayBalance.credit)
        .join(
            ClientDayBalance,
            and_(
                ClientDayBalance.account_id == ACCOUNT,
                ClientDayBalance.client_id == Client.id,
                ClientDayBalance.day == last_day,
            ),
        )
        .where(Client.id.in_(IDS))
    )


def _client_balances(receivable: int, client_ids: list[int], as_of: dt.date) -> dict[int, Decimal]:
    return _client_totals(receivable, client_ids, as_of)


def _client_total(column, client: Any, account: Any = ACCOUNT, through: Any = THROUGH) -> Any:
    """A client's debits (or credits) on ``account`` (default :account_id) through the end of
    ``through`` (default :through): their last running balance per day on or before it (correlated
    to ``client``; an index lookup)."""
    return (
        select(column)
        .where(
            ClientDayBalance.account_id == account,
            ClientDayBalance.client_id == client.id,
            ClientDayBalance.day <= through,
        )
        .order_by(ClientDayBalance.day.desc())
        .limit(_ONE)
        .correlate(client)
        .scalar_subquery()
    )


def _receivable_clients_with_totals(client: Any) -> sa.Select:
    return select(
        client.id,
        client.name,
        _client_total(ClientDayBalance.debit, client).label("debit"),
        _client_total(ClientDayBalance.credit, client).label("credit"),
    ).order_by(func.lower(client.name), client.id)


@functools.cache
def _receivable_clients_statements() -> PageStatements:
    """A page of the clients with lines in the receivable account (by name), each with their debits
    and credits through THROUGH, and the capped count: the account's rows of ``client_accounts``
    (an index-only scan of at most CAP + 1 entries, whatever the number of clients)."""
    counted_rows = select(ClientAccount.client_id).where(ClientAccount.account_id == ACCOUNT)
    return _page_first_statements(_receivable_clients_select(ACCOUNT), _receivable_clients_with_totals, counted_rows)


def receivables(as_of: dt.date, page: int, per_page: int = 50) -> Receivables:
    """The control account's balance at the end of ``as_of`` and one page of clients (by name)
    with their balance: each page reads its own clients' receivable lines only."""
    receivable, control = _receivable_and_control(as_of)
    rows, counted = _page_rows(
        _receivable_clients_statements(), {"account_id": receivable, "through": as_of}, page, per_page
    )
    items = [ClientBalance(row.id, row.name, _amount(row.debit) - _amount(row.credit)) for row in rows]
    return Receivables(as_of, control, Page(items, page, per_page, min(counted, CAP), counted > CAP))


def receivables_rows(as_of: dt.date) -> Iterator[ClientBalance]:
    """Every client with receivable lines and their balance, CSV_BATCH clients at a time."""
    receivable = ledger.role_accounts()["receivable"]
    for partition in db.session.execute(_receivable_clients_select(receivable)).partitions(CSV_BATCH):
        balances = _client_balances(receivable, [row.id for row in partition], as_of)
        for row in partition:
            yield ClientBalance(row.id, row.name, balances.get(row.id, ZERO))


@functools.cache
def _receivable_control_statement() -> sa.Select:
    return (
        select(
            Account.id,
            _latest_total(AccountDayBalance.debit, THROUGH),
            _latest_total(AccountDayBalance.credit, THROUGH),
        )
        .where(Account.role == _RECEIVABLE)
        .order_by(Account.id)
        .limit(_ONE)
    )


def _receivable_and_control(as_of: dt.date) -> tuple[int, Decimal]:
    """The receivable account and its balance at the end of ``as_of`` (its last running balance per
    day on or before it) in one statement; the chart is added first if it has no receivable account."""
    row = db.session.execute(_receivable_control_statement(), {"through": as_of}).first()
    if row is None:
        return ledger.role_accounts()["receivable"], ZERO
    return row[0], _amount(row[1]) - _amount(row[2])


def receivable_control(as_of: dt.date) -> Decimal:
    return _receivable_and_control(as_of)[1]


@dataclass(frozen=True)
class ClientLedger:
    client_id: int
    name: str
    start: dt.date
    end: dt.date
    opening: Decimal
    closing: Decimal
    lines: Page  # of LedgerLine
    page_opening: Decimal


def _client_lines_select(receivable: Any, client_id: Any, start: Day, end: Day) -> sa.Select:
    return (
        select(
            JournalLine.date,
            JournalEntry.journal,
            JournalEntry.number,
            JournalEntry.memo,
            JournalEntry.source_type,
            JournalEntry.source_id,
            JournalLine.debit,
            JournalLine.credit,
            JournalLine.entry_id,
            JournalLine.id.label("line_id"),
            sa.null().label("client_name"),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(
            JournalLine.account_id == receivable,
            JournalLine.client_id == client_id,
            JournalLine.date.between(start, end),
        )
        .order_by(JournalLine.date, JournalLine.entry_id, JournalLine.id)  # ix_journal_lines_account_client_date
    )


def _client_balance_through(receivable: int, client_id: int, day: dt.date) -> Decimal:
    return _client_totals(receivable, [client_id], day).get(client_id, ZERO)


@functools.cache
def _client_totals_statement() -> sa.Select:
    receivable = select(Account.id).where(Account.role == _RECEIVABLE).limit(_ONE).scalar_subquery()
    return select(
        Client.name,
        receivable,
        _client_total(ClientDayBalance.debit, Client, receivable, BEFORE),
        _client_total(ClientDayBalance.credit, Client, receivable, BEFORE),
        _client_total(ClientDayBalance.debit, Client, receivable, THROUGH),
        _client_total(ClientDayBalance.credit, Client, receivable, THROUGH),
    ).where(Client.id == CLIENT)


def _client_with_totals(client_id: int, before: dt.date, through: dt.date) -> tuple[str, int, Decimal, Decimal] | None:
    """A client's name, the receivable account and the client's receivable balance through the end
    of ``before`` and of ``through`` (as _client_totals: the last running balance per day on or
    before each, index lookups) in one statement; None when there is no such client."""
    row = db.session.execute(
        _client_totals_statement(), {"client_id": client_id, "before": before, "through": through}
    ).first()
    if row is None:
        return None
    if row[1] is None:  # no chart yet: role_accounts adds it (and there is no line to read)
        return row[0], ledger.role_accounts()["receivable"], ZERO, ZERO
    debit_before, credit_before, debit_through, credit_through = (_amount(value) for value in row[2:])
    return row[0], row[1], debit_before - credit_before, debit_through - credit_through


@functools.cache
def _client_lines_statements() -> PageStatements:
    return _page_statements(_client_lines_select(ACCOUNT, CLIENT, START, END))


def client_ledger(
    client_id: int, start: dt.date, end: dt.date, page: int | None, per_page: int = 50
) -> ClientLedger | None:
    """One client's receivable lines in a period with the running balance (read by the
    (account_id, client_id) index: bounded by that client's own lines); None for no such client.
    ``page`` None: every line of the period."""
    known = _client_with_totals(client_id, start - dt.timedelta(days=1), end)
    if known is None:
        return None
    name, receivable, opening, closing = known
    statement = _client_lines_select(receivable, client_id, start, end)
    if page is None:
        rows = db.session.execute(statement).all()
        lines = Page(_running(rows, opening), 1, 0, len(rows), False)
        return ClientLedger(client_id, name, start, end, opening, closing, lines, opening)
    params = {"account_id": receivable, "client_id": client_id, "start": start, "end": end}
    rows, counted = _page_rows(_client_lines_statements(), params, page, per_page)
    if not rows:
        page_opening = closing
    elif page == 1:
        page_opening = opening
    else:
        first = rows[0]
        page_opening = _client_balance_through(
            receivable, client_id, first.date - dt.timedelta(days=1)
        ) + _earlier_that_day(
            first.date,
            first.entry_id,
            first.line_id,
            JournalLine.account_id == receivable,
            JournalLine.client_id == client_id,
        )
    lines = Page(_running(rows, page_opening), page, per_page, min(counted, CAP), counted > CAP)
    return ClientLedger(client_id, name, start, end, opening, closing, lines, page_opening)


def journal_known(value: str | None) -> bool:
    return value is None or value in JOURNALS
