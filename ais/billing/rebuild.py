"""The bulk rebuild of the ledger (``flask --app ais ledger rebuild``): the whole history of the
books posted in event order with the posting rules of ais.billing.ledger, written a batch at a
time with bulk inserts instead of an entry at a time through the ORM (docs/ACCOUNTING.md, "Large
books").

It gives the ledger the service layer would have posted event by event: the same entries and
lines in the same order, numbered 1..n per journal in that order, each reversal referencing the
entry it reverses, the running balances per account and month, and the journal counters.  The
caller (ais.accounting.commands.rebuild_ledger) owns the transaction, the refusals and the
erasing; this module only writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text

from .. import clock
from ..extensions import db
from ..models import (
    AccountBalance,
    AccountDayBalance,
    ClientAccount,
    ClientDayBalance,
    CreditNote,
    Invoice,
    JournalCounter,
    JournalEntry,
    JournalLine,
    LateFee,
    MethodAccount,
    Overpayment,
    Payment,
)
from . import ledger, methods
from .ledger import Event, Line, Posting

BATCH = 5_000  # events whose rows one query per kind reads, and whose entries one insert writes
ZERO = Decimal("0.00")


@dataclass
class _Standing:
    """An entry still standing (not reversed) of a source that a later event reverses."""

    entry_id: int
    journal: str
    lines: list[Line]


class _Writer:
    """Numbers, writes and sums the entries of the history, a batch at a time."""

    def __init__(self, events: list[Event], open_from: date | None) -> None:
        self.roles = ledger.role_accounts()
        self.methods = dict(db.session.execute(select(MethodAccount.method, MethodAccount.account_id)).all())
        self.open_from = open_from
        self.today = clock.today()
        self.created_at = datetime.now(UTC)
        self.next_id = (db.session.scalar(select(func.max(JournalEntry.id))) or 0) + 1
        self.numbers: dict[str, int] = defaultdict(int)
        self.months: dict[tuple[int, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        self.days: dict[tuple[int, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        self.client_days: dict[tuple[int, int, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        # Only the entries of a source that a later event reverses are kept in memory.
        self.reversed_later = _reversed_sources(events)
        self.standing: dict[tuple[str, int], list[_Standing]] = defaultdict(list)
        self.entries: list[dict] = []
        self.lines: list[dict] = []
        self.posted = 0

    def post(self, posting: Posting, day: date, source_type: str, source_id: int, reverses_id=None) -> int | None:
        """What ledger.post does, without the database: the kept lines, the number, the period."""
        lines = ledger.kept_lines(source_type, source_id, posting.lines)
        if not lines:
            return None
        self.numbers[posting.journal] += 1
        day, memo, corrects_period = ledger.posting_day(day, posting.memo, self.open_from, self.today)
        entry_id = self.next_id
        self.next_id += 1
        self.entries.append(
            {
                "id": entry_id,
                "journal": posting.journal,
                "number": self.numbers[posting.journal],
                "date": day,
                "memo": memo,
                "source_type": source_type,
                "source_id": source_id,
                "reverses_id": reverses_id,
                "corrects_period": corrects_period,
                "created_at": self.created_at,
            }
        )
        month = day.replace(day=1)
        for line in lines:
            self.lines.append(
                {
                    "entry_id": entry_id,
                    "account_id": line.account_id,
                    "debit": line.debit,
                    "credit": line.credit,
                    "client_id": line.client_id,
                    "date": day,
                }
            )
            for sums in (self.months[(line.account_id, month)], self.days[(line.account_id, day)]):
                sums[0] += line.debit
                sums[1] += line.credit
            if line.client_id is not None:
                sums = self.client_days[(line.account_id, line.client_id, day)]
                sums[0] += line.debit
                sums[1] += line.credit
        if reverses_id is None and (source_type, source_id) in self.reversed_later:
            self.standing[(source_type, source_id)].append(_Standing(entry_id, posting.journal, lines))
        self.posted += 1
        return entry_id

    def reverse(self, source_type: str, source_id: int, day: date, memo: str, money_account: int | None = None):
        """What ledger.reverse does: each standing entry of the source reversed, oldest first."""
        for original in self.standing.pop((source_type, source_id), []):
            reversal = Posting(original.journal, memo, ledger.reversal_lines(original.lines, money_account))
            self.post(reversal, day, source_type, source_id, reverses_id=original.entry_id)

    def method_account(self, method: str) -> int:
        return ledger.account_for_method(self.methods, method)

    def flush(self) -> None:
        """Write the batch's entries, then their lines (bulk executemany)."""
        if self.entries:
            db.session.execute(insert(_table(JournalEntry)), self.entries)
        if self.lines:
            db.session.execute(insert(_table(JournalLine)), self.lines)
        self.entries, self.lines = [], []

    def finish(self) -> None:
        """The running balances per account and month and per day, the clients of each account
        (``client_accounts``), the journal counters and, on PostgreSQL, the entries' id sequence
        past the ids given here."""
        self.flush()
        if self.months:
            db.session.execute(
                insert(_table(AccountBalance)),
                [
                    {"account_id": account_id, "month": month, "debit": debit, "credit": credit}
                    for (account_id, month), (debit, credit) in sorted(self.months.items())
                ],
            )
        _insert_running(AccountDayBalance, ("account_id",), self.days)
        _insert_running(ClientDayBalance, ("account_id", "client_id"), self.client_days)
        _insert_client_accounts(sorted({(account_id, client_id) for account_id, client_id, _ in self.client_days}))
        for journal, last_number in sorted(self.numbers.items()):
            db.session.execute(insert(JournalCounter).values(journal=journal, last_number=last_number))
        if db.engine.dialect.name == "postgresql":
            db.session.execute(
                text("SELECT setval(pg_get_serial_sequence('journal_entries', 'id'), :last, true)"),
                {"last": max(self.next_id - 1, 1)},
            )
            # Fresh statistics for the tables just filled, so the reports' plans fit them from the
            # first request (ANALYZE samples; it runs inside the transaction, unlike VACUUM).
            db.session.execute(
                text(
                    "ANALYZE journal_entries, journal_lines, account_balances, account_day_balances, "
                    "client_day_balances, client_accounts"
                )
            )


def _table(model) -> Table:
    """A model's table, for Core's executemany (the ORM's bulk insert would fetch each new id)."""
    return cast(Table, model.__table__)


def _insert_running(model, keys: tuple[str, ...], days: dict[tuple, list[Decimal]]) -> None:
    """The running balances per day (model: AccountDayBalance or ClientDayBalance) from the day
    sums of ``days`` (keyed by ``keys`` then the day): each row the totals through its day."""
    rows: list[dict] = []
    running: dict[tuple, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for key in sorted(days):
        owner, day = key[:-1], key[-1]
        total = running[owner]
        total[0] += days[key][0]
        total[1] += days[key][1]
        rows.append({**dict(zip(keys, owner, strict=True)), "day": day, "debit": total[0], "credit": total[1]})
        if len(rows) >= BATCH:
            db.session.execute(insert(_table(model)), rows)
            rows = []
    if rows:
        db.session.execute(insert(_table(model)), rows)


def _insert_client_accounts(pairs: list[tuple[int, int]]) -> None:
    """A row of ``client_accounts`` per (account, client) with running balances per day."""
    for start in range(0, len(pairs), BATCH):
        db.session.execute(
            insert(_table(ClientAccount)),
            [{"account_id": account, "client_id": client} for account, client in pairs[start : start + BATCH]],
        )


def _reversed_sources(events: list[Event]) -> set[tuple[str, int]]:
    """The sources whose entries a later event of the history reverses."""
    sources: set[tuple[str, int]] = set()
    voided_invoices = []
    for event in events:
        if event.kind == ledger.VOID_RECEIPT:
            sources.add((ledger.PAYMENT, event.source_id))
        elif event.kind == ledger.REFUND_OVERPAID:
            sources.add((ledger.OVERPAYMENT, event.source_id))
        elif event.kind in (ledger.WAIVE_LATE_FEE, ledger.VOID_LATE_FEE):
            sources.add((ledger.LATE_FEE, event.source_id))
        elif event.kind == ledger.VOID_INVOICE:
            sources.add((ledger.INVOICE, event.source_id))
            voided_invoices.append(event.source_id)
    for chunk in _chunks(voided_invoices):
        for note_id in db.session.scalars(select(CreditNote.id).where(CreditNote.invoice_id.in_(chunk))):
            sources.add((ledger.CREDIT_NOTE, note_id))
    return sources


def _chunks(ids: list[int], size: int = BATCH) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _rows_by_id(columns: tuple, ids: Iterable[int]) -> dict[int, Any]:
    """The rows of ``columns`` (the first is the id) for ``ids``, by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {row[0]: row for row in db.session.execute(select(*columns).where(columns[0].in_(wanted)))}


class _Batch:
    """What one batch of events needs from the books, read with one query per kind of row."""

    def __init__(self, events: list[Event]) -> None:
        ids: dict[int, list[int]] = defaultdict(list)
        for event in events:
            ids[event.kind].append(event.source_id)
        invoice_ids = ids[ledger.ISSUE] + ids[ledger.VOID_INVOICE]
        payment_ids = ids[ledger.RECEIPT] + ids[ledger.VOID_RECEIPT]
        overpayment_ids = ids[ledger.OVERPAID] + ids[ledger.REFUND_OVERPAID] + ids[ledger.REFUND_CREDIT]
        fee_ids = ids[ledger.CHARGE_LATE_FEE] + ids[ledger.WAIVE_LATE_FEE]
        self.invoices = _rows_by_id(
            (
                Invoice.id,
                Invoice.invoice_no,
                Invoice.client_id,
                Invoice.amount,
                Invoice.credited_amount,
                Invoice.late_fee_amount,
                Invoice.vatable_sales,
                Invoice.vat_amount,
                Invoice.exempt_sales,
                Invoice.zero_rated_sales,
            ),
            invoice_ids,
        )
        self.notes = _rows_by_id(
            (
                CreditNote.id,
                CreditNote.credit_no,
                CreditNote.client_id,
                CreditNote.amount,
                CreditNote.vat_amount,
                CreditNote.customer_credit,
            ),
            ids[ledger.CREDIT],
        )
        self.payments = _rows_by_id(
            (Payment.id, Payment.method, Payment.reference, Payment.amount, Payment.client_id, Payment.state_reason),
            payment_ids,
        )
        self.overpayments = _rows_by_id(
            (
                Overpayment.id,
                Overpayment.provider_reference,
                Overpayment.provider,
                Overpayment.amount,
                Overpayment.client_id,
                Overpayment.refund_method,
                Overpayment.refunded_amount,
            ),
            overpayment_ids,
        )
        self.fees = _rows_by_id(
            (LateFee.id, LateFee.installment_number, LateFee.client_id, LateFee.amount, LateFee.waive_reason), fee_ids
        )
        self.notes_of_invoice: dict[int, list[int]] = defaultdict(list)
        if ids[ledger.VOID_INVOICE]:
            for note_id, invoice_id in db.session.execute(
                select(CreditNote.id, CreditNote.invoice_id)
                .where(CreditNote.invoice_id.in_(sorted(set(ids[ledger.VOID_INVOICE]))))
                .order_by(CreditNote.id)
            ):
                self.notes_of_invoice[invoice_id].append(note_id)
        # The method of flagged money: that of the first payment with its provider reference.
        self.paid_with: dict[str | None, str] = {}
        references = sorted({row.provider_reference for row in self.overpayments.values()})
        if references:
            for reference, method in db.session.execute(
                select(Payment.provider_reference, Payment.method)
                .where(Payment.provider_reference.in_(references))
                .order_by(Payment.id.desc())
            ):
                self.paid_with[reference] = method  # the lowest id is written last


# What each kind of event of the history posts: ledger.post_event's work, from the batch's rows and
# with the same pure posting rules.  A new kind of event needs its function here (and its rows in
# _Batch, its reversed sources in _reversed_sources when a later event reverses it).


def _invoice_issued(writer: _Writer, batch: _Batch, event: Event) -> None:
    invoice = batch.invoices[event.source_id]
    posting = ledger.invoice_issued_posting(
        writer.roles,
        invoice.invoice_no,
        invoice.client_id,
        ledger.invoice_billed(invoice.amount, invoice.credited_amount, invoice.late_fee_amount),
        invoice.vatable_sales or ZERO,
        invoice.vat_amount or ZERO,
        invoice.exempt_sales or ZERO,
        invoice.zero_rated_sales or ZERO,
    )
    writer.post(posting, event.day, ledger.INVOICE, event.source_id)


def _credit_note_issued(writer: _Writer, batch: _Batch, event: Event) -> None:
    note = batch.notes[event.source_id]
    posting = ledger.credit_note_posting(
        writer.roles, note.credit_no, note.client_id, note.amount, note.vat_amount, note.customer_credit
    )
    writer.post(posting, event.day, ledger.CREDIT_NOTE, event.source_id)


def _payment_confirmed(writer: _Writer, batch: _Batch, event: Event) -> None:
    payment = batch.payments[event.source_id]
    if payment.method == methods.CUSTOMER_CREDIT:
        posting = ledger.credit_applied_posting(
            writer.roles, payment.id, payment.reference, payment.amount, payment.client_id
        )
    else:
        posting = ledger.payment_confirmed_posting(
            writer.roles,
            payment.id,
            payment.method,
            writer.method_account(payment.method),
            payment.amount,
            payment.client_id,
        )
    writer.post(posting, event.day, ledger.PAYMENT, event.source_id)


def _overpayment_flagged(writer: _Writer, batch: _Batch, event: Event) -> None:
    overpayment = batch.overpayments[event.source_id]
    method = ledger.overpayment_method(batch.paid_with.get(overpayment.provider_reference), overpayment.provider)
    posting = ledger.overpayment_posting(
        writer.roles,
        overpayment.provider_reference,
        writer.method_account(method),
        overpayment.amount,
        overpayment.client_id,
    )
    writer.post(posting, event.day, ledger.OVERPAYMENT, event.source_id)


def _payment_voided(writer: _Writer, batch: _Batch, event: Event) -> None:
    payment = batch.payments[event.source_id]
    memo = ledger.payment_voided_memo(payment.id, payment.state_reason)
    # A customer credit's application is reversed line for line (the credit is owed again).
    money_account = None if payment.method == methods.CUSTOMER_CREDIT else writer.method_account(payment.method)
    writer.reverse(ledger.PAYMENT, event.source_id, event.day, memo, money_account)


def _overpayment_refunded(writer: _Writer, batch: _Batch, event: Event) -> None:
    memo = ledger.overpayment_refunded_memo(batch.overpayments[event.source_id].provider_reference)
    writer.reverse(ledger.OVERPAYMENT, event.source_id, event.day, memo)


def _credit_refunded(writer: _Writer, batch: _Batch, event: Event) -> None:
    overpayment = batch.overpayments[event.source_id]
    method = overpayment.refund_method or methods.OTHER
    posting = ledger.credit_refunded_posting(
        writer.roles,
        overpayment.provider_reference,
        method,
        writer.method_account(method),
        overpayment.refunded_amount,
        overpayment.client_id,
    )
    writer.post(posting, event.day, ledger.OVERPAYMENT, event.source_id)


def _invoice_voided(writer: _Writer, batch: _Batch, event: Event) -> None:
    memo = ledger.invoice_voided_memo(batch.invoices[event.source_id].invoice_no)
    writer.reverse(ledger.INVOICE, event.source_id, event.day, memo)
    for note_id in batch.notes_of_invoice[event.source_id]:
        writer.reverse(ledger.CREDIT_NOTE, note_id, event.day, memo)


def _late_fee_charged(writer: _Writer, batch: _Batch, event: Event) -> None:
    fee = batch.fees[event.source_id]
    posting = ledger.late_fee_posting(writer.roles, fee.id, fee.installment_number, fee.client_id, fee.amount)
    writer.post(posting, event.day, ledger.LATE_FEE, event.source_id)


def _late_fee_waived(writer: _Writer, batch: _Batch, event: Event) -> None:
    memo = ledger.late_fee_waived_memo(event.source_id, batch.fees[event.source_id].waive_reason)
    writer.reverse(ledger.LATE_FEE, event.source_id, event.day, memo)


def _late_fee_voided(writer: _Writer, batch: _Batch, event: Event) -> None:
    writer.reverse(ledger.LATE_FEE, event.source_id, event.day, ledger.LATE_FEES_VOIDED_MEMO)


POSTINGS: dict[int, Callable[[_Writer, _Batch, Event], None]] = {
    ledger.ISSUE: _invoice_issued,
    ledger.CREDIT: _credit_note_issued,
    ledger.RECEIPT: _payment_confirmed,
    ledger.OVERPAID: _overpayment_flagged,
    ledger.VOID_RECEIPT: _payment_voided,
    ledger.REFUND_OVERPAID: _overpayment_refunded,
    ledger.VOID_INVOICE: _invoice_voided,
    ledger.CHARGE_LATE_FEE: _late_fee_charged,
    ledger.WAIVE_LATE_FEE: _late_fee_waived,
    ledger.VOID_LATE_FEE: _late_fee_voided,
    ledger.REFUND_CREDIT: _credit_refunded,
}


def _post(writer: _Writer, batch: _Batch, event: Event) -> None:
    """What one event of the history posts; an event of a kind with no function here is a bug (the
    rebuild would silently leave its entries out), so it stops the rebuild."""
    posting = POSTINGS.get(event.kind)
    if posting is None:
        raise ledger.LedgerError(f"the bulk rebuild has no posting for events of kind {event.kind}")
    posting(writer, batch, event)


def post_history(
    events: list[Event], open_from: date | None = None, progress: Callable[[int], object] | None = None
) -> int:
    """Post ``events`` (ledger.history(), in order) to an empty ledger in bulk, in the caller's
    transaction; ``open_from``: the first open day (None: no month is closed).  ``progress`` is
    told how many events each batch posted.  Returns the number of entries written."""
    writer = _Writer(events, open_from)
    for start in range(0, len(events), BATCH):
        chunk = events[start : start + BATCH]
        batch = _Batch(chunk)
        for event in chunk:
            _post(writer, batch, event)
        writer.flush()
        if progress is not None:
            progress(len(chunk))
    writer.finish()
    return writer.posted
