"""The statement of account of one client for a period.

* **Opening balance**: the client's issued, non-void invoices dated before the period less their
  confirmed payments dated before it.
* **Lines**, in date order (on one day, invoices and late fees before payments, then by id): each
  invoice issued in the period (a charge: what its lines bill less its credit notes, without its
  late fees), each late fee charged in it and not waived (a charge of its own, on its day) and each
  confirmed payment dated in it (a payment), with the running balance after each.
* **Closing balance**: the opening balance plus the charges less the payments.  It equals the
  aging report's total for the client as of the period's last day (ais.billing.aging): every
  confirmed payment is allocated in full to installments of its invoice, so what the client owed
  on that day is what their invoices came to less what they had paid by then.
* **Aging of what is open** on the last day: ``aging.client_open_items``, the aging report's own
  statement, so the statement and the report cannot disagree.

As everywhere in the books, void invoices are left out (with any payment ever made on them, which
was voided first), and payments awaiting confirmation or rejected do not count.  Reads a bounded
number of statements, each a range of the client's own rows (``ix_invoices_client_issue``,
``ix_payments_client_date_id``).

**Monthly statements** (``flask --app ais statements --period YYYY-MM [--email]``, ais.collections):
every active client (not archived) with something to state gets the month's statement.  A client
has *something to state* when the month has an invoice or a payment of theirs, or their opening
balance is not zero (they owe, or are owed, something carried in); a client whose month is empty
and whose balance is zero gets nothing.  With ``--email`` (and the owner's setting on), one email
per client and month, through the outbox with the PDF attached: the unique key of
``monthly_statements`` (client, month) makes "once" a constraint, however many runs overlap.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property

from sqlalchemy import Date, Integer, String, bindparam, func, literal, select, type_coerce, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import audit, clock
from ..audit import Actor
from ..database import write_transaction
from ..db_types import Money
from ..extensions import db
from ..formatting import format_day, format_money
from ..models import CONFIRMED, Client, Invoice, LateFee, MonthlyStatement, Payment, Setting
from . import aging, notices
from .rules import add_months

ZERO = Decimal("0.00")
INVOICE, PAYMENT, LATE_FEE = "invoice", "payment", "late_fee"
CLIENT_ID = bindparam("client_id", type_=Integer)
START = bindparam("start", type_=Date)
END = bindparam("end", type_=Date)


@dataclass(frozen=True)
class Entry:
    """An invoice or a payment on the statement (before the running balance is worked out)."""

    day: dt.date
    kind: str  # INVOICE, LATE_FEE or PAYMENT
    invoice_id: int
    invoice_no: str
    detail: str  # the invoice's description, or the payment's method and reference
    amount: Decimal


@dataclass(frozen=True)
class StatementLine:
    day: dt.date
    kind: str
    invoice_id: int
    invoice_no: str
    detail: str
    charge: Decimal | None
    payment: Decimal | None
    balance: Decimal


@dataclass(frozen=True)
class Statement:
    client_id: int
    client_name: str
    client_company: str
    client_address: str
    start: dt.date
    end: dt.date
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal
    open_items: list[aging.OpenItem]
    aging: aging.Aging

    @property
    def charges(self) -> Decimal:
        return sum((line.charge or ZERO for line in self.lines), ZERO)

    @property
    def payments(self) -> Decimal:
        return sum((line.payment or ZERO for line in self.lines), ZERO)

    @cached_property
    def shown(self) -> ShownStatement:
        """The statement's dates and amounts as text (shown_statement), worked out once per statement."""
        return shown_statement(self)


@dataclass(frozen=True)
class ShownLine:
    """A statement line as the page and the PDF print it: dates and amounts already formatted."""

    day: str
    kind: str
    invoice_id: int
    invoice_no: str
    detail: str
    charge: str
    payment: str
    balance: str


@dataclass(frozen=True)
class ShownOpenItem:
    invoice_no: str
    installment_number: int
    installment_count: int
    due: str
    days_past_due: int
    open: str


@dataclass(frozen=True)
class ShownStatement:
    start: str
    end: str
    opening: str
    charges: str
    payments: str
    closing: str
    lines: list[ShownLine]
    open_items: list[ShownOpenItem]


def shown_statement(statement: Statement) -> ShownStatement:
    """The statement's figures formatted (ais.formatting: the ``money`` and ``day`` filters' own
    functions), each distinct date and amount once: a statement repeats them (the same instalment
    amounts, payment days), and Babel's formatting is most of the page's cost."""
    money = cache(format_money)
    day = cache(format_day)
    return ShownStatement(
        start=day(statement.start),
        end=day(statement.end),
        opening=money(statement.opening),
        charges=money(statement.charges),
        payments=money(statement.payments),
        closing=money(statement.closing),
        lines=[
            ShownLine(
                day=day(line.day),
                kind=line.kind,
                invoice_id=line.invoice_id,
                invoice_no=line.invoice_no,
                detail=line.detail,
                charge=money(line.charge),
                payment=money(line.payment),
                balance=money(line.balance),
            )
            for line in statement.lines
        ],
        open_items=[
            ShownOpenItem(
                invoice_no=item.invoice_no,
                installment_number=item.installment_number,
                installment_count=item.installment_count,
                due=day(item.due_date),
                days_past_due=item.days_past_due,
                open=money(item.open_amount),
            )
            for item in statement.open_items
        ],
    )


def running_lines(opening: Decimal, entries: list[Entry]) -> list[StatementLine]:
    """The entries with the balance after each.

    Rule: an invoice or a late fee adds its amount, a payment takes its amount off; the entries are
    taken in the order given (date order: see the module's docstring).
    """
    balance = opening
    result = []
    for entry in entries:
        balance = balance - entry.amount if entry.kind == PAYMENT else balance + entry.amount
        result.append(
            StatementLine(
                day=entry.day,
                kind=entry.kind,
                invoice_id=entry.invoice_id,
                invoice_no=entry.invoice_no,
                detail=entry.detail,
                charge=None if entry.kind == PAYMENT else entry.amount,
                payment=entry.amount if entry.kind == PAYMENT else None,
                balance=balance,
            )
        )
    return result


def _counted_invoices():
    return (Invoice.client_id == CLIENT_ID, Invoice.issued_at.is_not(None), Invoice.voided_at.is_(None))


_INVOICED_BEFORE = select(func.sum(Invoice.amount - Invoice.late_fee_amount)).where(
    *_counted_invoices(), Invoice.issue_date < START
)
_FEES_BEFORE = (
    select(func.sum(LateFee.amount))
    .join(Invoice, Invoice.id == LateFee.invoice_id)
    .where(LateFee.client_id == CLIENT_ID, LateFee.waived_on.is_(None), LateFee.charged_on < START)
    .where(*_counted_invoices())
)
_PAID_BEFORE = (
    select(func.sum(Payment.amount))
    .join(Invoice, Invoice.id == Payment.invoice_id)
    .where(Payment.client_id == CLIENT_ID, Payment.state == CONFIRMED, Payment.date < START)
    .where(*_counted_invoices())
)
# The client and their opening balance in one round trip (no row: no such client).
_CLIENT_AND_OPENING = select(
    Client.name,
    Client.company,
    Client.address,
    type_coerce(
        func.coalesce(_INVOICED_BEFORE.scalar_subquery(), 0)
        + func.coalesce(_FEES_BEFORE.scalar_subquery(), 0)
        - func.coalesce(_PAID_BEFORE.scalar_subquery(), 0),
        Money(),
    ).label("opening"),
).where(Client.id == CLIENT_ID)

_invoices_in_period = select(
    Invoice.issue_date.label("day"),
    literal(0).label("order_in_day"),
    Invoice.id.label("row_id"),
    literal(INVOICE, String).label("kind"),
    Invoice.id.label("invoice_id"),
    Invoice.invoice_no,
    Invoice.description.label("detail"),
    type_coerce(Invoice.amount - Invoice.late_fee_amount, Money()).label("amount"),
).where(*_counted_invoices(), Invoice.issue_date >= START, Invoice.issue_date <= END)
_fees_in_period = (
    select(
        LateFee.charged_on.label("day"),
        literal(0).label("order_in_day"),
        LateFee.id.label("row_id"),
        literal(LATE_FEE, String).label("kind"),
        LateFee.invoice_id,
        Invoice.invoice_no,
        LateFee.rule.label("detail"),
        LateFee.amount,
    )
    .join(Invoice, Invoice.id == LateFee.invoice_id)
    .where(
        LateFee.client_id == CLIENT_ID,
        LateFee.waived_on.is_(None),
        LateFee.charged_on >= START,
        LateFee.charged_on <= END,
    )
    .where(*_counted_invoices())
)
_payments_in_period = (
    select(
        Payment.date.label("day"),
        literal(1).label("order_in_day"),
        Payment.id.label("row_id"),
        literal(PAYMENT, String).label("kind"),
        Payment.invoice_id,
        Invoice.invoice_no,
        (Payment.method + literal(" ") + Payment.reference).label("detail"),
        Payment.amount,
    )
    .join(Invoice, Invoice.id == Payment.invoice_id)
    .where(Payment.client_id == CLIENT_ID, Payment.state == CONFIRMED, Payment.date >= START, Payment.date <= END)
    .where(*_counted_invoices())
)
_ENTRIES_UNION = union_all(_invoices_in_period, _fees_in_period, _payments_in_period).subquery("entries")
_ENTRIES = select(_ENTRIES_UNION).order_by(_ENTRIES_UNION.c.day, _ENTRIES_UNION.c.order_in_day, _ENTRIES_UNION.c.row_id)


def closing_balances(day: dt.date) -> dict[int, Decimal]:
    """Every client's statement closing balance on ``day`` (what a statement ending that day
    closes with): their issued, non-void invoices dated up to it, plus the late fees charged up to
    it and not waived, less their confirmed payments dated up to it; the terms of the opening balance,
    summed per client in three statements (``flask check``)."""
    balances: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
    counted = (Invoice.issued_at.is_not(None), Invoice.voided_at.is_(None))
    for client_id, amount in db.session.execute(
        select(Invoice.client_id, func.sum(Invoice.amount - Invoice.late_fee_amount))
        .where(*counted, Invoice.issue_date <= day)
        .group_by(Invoice.client_id)
    ):
        balances[client_id] += amount
    for client_id, amount in db.session.execute(
        select(LateFee.client_id, func.sum(LateFee.amount))
        .join(Invoice, Invoice.id == LateFee.invoice_id)
        .where(*counted, LateFee.waived_on.is_(None), LateFee.charged_on <= day)
        .group_by(LateFee.client_id)
    ):
        balances[client_id] += amount
    for client_id, amount in db.session.execute(
        select(Payment.client_id, func.sum(Payment.amount))
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(*counted, Payment.state == CONFIRMED, Payment.date <= day)
        .group_by(Payment.client_id)
    ):
        balances[client_id] -= amount
    return {client_id: Decimal(balance).quantize(Decimal("0.01")) for client_id, balance in balances.items()}


def statement_of_account(client_id: int, start: dt.date, end: dt.date) -> Statement | None:
    """The client's statement for ``start``..``end`` (both included); None if there is no such
    client.  Three statements whatever the size of the books."""
    params = {"client_id": client_id, "start": start, "end": end}
    client = db.session.execute(_CLIENT_AND_OPENING, params).one_or_none()
    if client is None:
        return None
    opening = client.opening
    entries = [
        Entry(
            day=row.day,
            kind=row.kind,
            invoice_id=row.invoice_id,
            invoice_no=row.invoice_no,
            detail=(row.detail or "").strip(),
            amount=row.amount,
        )
        for row in db.session.execute(_ENTRIES, params)
    ]
    lines = running_lines(opening, entries)
    open_items = aging.client_open_items(client_id, end)
    return Statement(
        client_id=client_id,
        client_name=client.name,
        client_company=client.company or "",
        client_address=client.address or "",
        start=start,
        end=end,
        opening=opening,
        lines=lines,
        closing=lines[-1].balance if lines else opening,
        open_items=open_items,
        aging=aging.Aging.of(open_items),
    )


# --- Monthly statements -------------------------------------------------------------------------

SETTING_KEY = "monthly_statements"  # "on" or "off" (the default: nothing is emailed until the owner says)


class InvalidPeriod(ValueError):
    """A month that cannot be read; ``str(error)`` says how to write one."""


def month_period(text: str) -> tuple[dt.date, dt.date]:
    """The first and last day of the month ``YYYY-MM`` (e.g. 2026-02 -> 1 to 28 February 2026)."""
    text = (text or "").strip()
    year, dash, month = text.partition("-")
    if not (
        dash and len(year) == 4 and len(month) == 2 and (year + month).isascii() and (year + month).isdigit()
    ) or not (1 <= int(month) <= 12 and 2000 <= int(year) <= 2999):
        raise InvalidPeriod(f"“{text[:20]}” is not a month: use YYYY-MM, e.g. 2026-02.")
    start = dt.date(int(year), int(month), 1)
    return start, add_months(start, 1) - dt.timedelta(days=1)


def last_month(today: dt.date) -> str:
    """The month before ``today``'s, as YYYY-MM: the last complete month."""
    return add_months(today.replace(day=1), -1).strftime("%Y-%m")


def monthly_statements_enabled() -> bool:
    """Whether the owner turned monthly statement emails on."""
    return db.session.scalar(select(Setting.value).where(Setting.key == SETTING_KEY)) == "on"


def set_monthly_statements(actor: Actor, enabled: bool) -> None:
    """The owner turns the monthly statement emails on or off (audited)."""
    with write_transaction():
        setting = db.session.get(Setting, SETTING_KEY, with_for_update=True)
        if setting is None:
            setting = Setting(key=SETTING_KEY)
            db.session.add(setting)
        setting.value = "on" if enabled else "off"
        setting.updated_at = clock.utcnow()
        setting.updated_by_id = actor.user_id
        audit.record(actor, "statements.monthly_on" if enabled else "statements.monthly_off")


def has_something_to_state(statement: Statement) -> bool:
    """The rule of the monthly batch: an invoice or a payment in the period, or a balance carried in."""
    return bool(statement.lines) or statement.opening != ZERO


def clients_to_state(end: dt.date) -> list[int]:
    """Active clients with an issued, non-void invoice dated on or before ``end``, by id: whoever
    else there is has nothing to state (no invoice, so no payment and no balance).  One query."""
    has_invoice = (
        select(Invoice.id)
        .where(
            Invoice.client_id == Client.id,
            Invoice.issued_at.is_not(None),
            Invoice.voided_at.is_(None),
            Invoice.issue_date <= end,
        )
        .exists()
    )
    query = select(Client.id).where(Client.archived_at.is_(None), has_invoice).order_by(Client.id)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class QueuedStatement:
    client_id: int
    to_address: str
    closing: Decimal


def _claim(client_id: int, period: dt.date, to_address: str, closing: Decimal) -> int | None:
    """Write the (client, month) row; its id, or None if another run wrote it first."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(MonthlyStatement)
        .values(client_id=client_id, period=period, to_address=to_address, closing=closing, created_at=clock.utcnow())
        .on_conflict_do_nothing(index_elements=["client_id", "period"])
        .returning(MonthlyStatement.id)
    )
    return db.session.execute(statement).scalar()


class _DryRun(Exception):
    """Raised inside a transaction to roll it back on purpose."""


def email_monthly_statement(
    client_id: int, start: dt.date, end: dt.date, dry_run: bool = False
) -> QueuedStatement | None:
    """Queue the client's statement for the month ``start``..``end`` in the outbox (PDF attached),
    in its own transaction; None when the client is archived, has nothing to state, or was already
    sent this month's statement (by this run or another one, even one running at the same time).
    A dry run writes nothing and says what would be queued."""
    queued = None
    try:
        with write_transaction():
            client = db.session.get(Client, client_id, with_for_update=True)
            if client is None or client.archived_at is not None:
                return None
            found = statement_of_account(client_id, start, end)
            if found is None or not has_something_to_state(found):
                return None
            if dry_run:
                done = db.session.scalar(
                    select(MonthlyStatement.id).where(
                        MonthlyStatement.client_id == client_id, MonthlyStatement.period == start
                    )
                )
                queued = None if done else QueuedStatement(client_id, client.email, found.closing)
                raise _DryRun
            row_id = _claim(client_id, start, client.email, found.closing)
            if row_id is None:
                return None  # another run got there first
            notices.monthly_statement(row_id, client, found)
            return QueuedStatement(client_id, client.email, found.closing)
    except _DryRun:
        return queued
