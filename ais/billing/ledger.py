"""The double-entry ledger: balanced, append-only entries posted by the service layer in the
transaction of the event they record (docs/ACCOUNTING.md).

Each posting rule reads what the event stored (an invoice's VAT summary, a credit note's split, a
payment's amount and method) and never recomputes it.  A correction is a new entry that reverses
the original, line for line; nothing here updates or deletes an entry or a line.  Every line also
adds to its account's running balance of the month (``account_balances``), so reports read a row
per account and month instead of every line.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..database import BEFORE_COMMIT
from ..extensions import db
from ..models import (
    CASH_RECEIPTS_JOURNAL,
    GENERAL_JOURNAL,
    SALES_JOURNAL,
    Account,
    AccountBalance,
    ClosedPeriod,
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
from . import chart, methods

ZERO = Decimal("0.00")

# What an entry records (journal_entries.source_type).
INVOICE = "invoice"
PAYMENT = "payment"
CREDIT_NOTE = "credit_note"
OVERPAYMENT = "overpayment"
LATE_FEE = "late_fee"


class LedgerError(Exception):
    """An entry that cannot be posted (unbalanced, or no account for a role): a bug, never input."""


@dataclass(frozen=True)
class Line:
    account_id: int
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    client_id: int | None = None


def _insert():
    return pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert


def ensure_chart() -> None:
    """Add the accounts of the standard chart (and the method settings) a database lacks."""
    insert = _insert()
    for code, name, kind, role in chart.CHART:
        db.session.execute(
            insert(Account).values(code=code, name=name, type=kind, active=True, role=role).on_conflict_do_nothing()
        )
    by_role = _by_role()
    for method, role in chart.METHOD_ROLES.items():
        db.session.execute(
            insert(MethodAccount).values(method=method, account_id=by_role[role]).on_conflict_do_nothing()
        )


def role_accounts() -> dict[str, int]:
    """Account id by role (receivable, sales, ...), the standard chart added if missing."""
    accounts = _by_role()
    if "receivable" not in accounts:
        ensure_chart()
        accounts = _by_role()
    return accounts


def _by_role() -> dict[str, int]:
    rows = db.session.execute(select(Account.role, Account.id).where(Account.role.is_not(None)))
    return {role: account_id for role, account_id in rows if role is not None}


def method_account(method: str) -> int:
    """The account a payment method's money posts to (the method_accounts setting; Other's if unset)."""
    role_accounts()  # (seeds a database that has no chart yet)
    found = db.session.scalar(select(MethodAccount.account_id).where(MethodAccount.method == method))
    if found is None:
        found = db.session.scalar(select(MethodAccount.account_id).where(MethodAccount.method == "Other"))
    if found is None:
        raise LedgerError(f"no account for the payment method {method!r}")
    return found


def _next_number(journal: str) -> int:
    """The next entry number of a journal from its counter row locked in this transaction."""
    db.session.execute(_insert()(JournalCounter).values(journal=journal, last_number=0).on_conflict_do_nothing())
    counter = db.session.scalars(
        select(JournalCounter)
        .where(JournalCounter.journal == journal)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    counter.last_number += 1
    return counter.last_number


class _BalanceChanges:
    """What this transaction's entries add to each account's month, written just before commit
    (ais.database.write_transaction runs it): every transaction then locks the running-balance
    rows last and in one order, after the journal counters and the monthly totals, so two
    transactions never wait for each other in a circle.  Registered as a before-commit callback, it
    is dropped with them when the transaction rolls back."""

    def __init__(self) -> None:
        self.sums: dict[tuple[int, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])

    def __call__(self) -> None:
        table = AccountBalance.__table__
        for account_id, month in sorted(self.sums):
            debit, credit = self.sums[(account_id, month)]
            statement = _insert()(table).values(account_id=account_id, month=month, debit=debit, credit=credit)
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.account_id, table.c.month],
                set_={
                    "debit": table.c.debit + statement.excluded.debit,
                    "credit": table.c.credit + statement.excluded.credit,
                },
            )
            db.session.execute(statement)
        self.sums.clear()


def _add_to_balances(day: date, lines: list[Line]) -> None:
    callbacks = db.session.info.setdefault(BEFORE_COMMIT, [])
    changes = next((callback for callback in callbacks if isinstance(callback, _BalanceChanges)), None)
    if changes is None:
        changes = _BalanceChanges()
        callbacks.append(changes)  # after the monthly totals' callback, if any: the lock order
    month = day.replace(day=1)
    for line in lines:
        changes.sums[(line.account_id, month)][0] += line.debit
        changes.sums[(line.account_id, month)][1] += line.credit


PERIODS_OPEN_FROM = "ais_ledger_open_from"  # session.info: the rebuild's known answer (no closed period)


def first_open_day() -> date | None:
    """The first day of the first month after the last closed one; None when no month is closed.
    Months close in order (ais.accounting.periods), so every day before it is in a closed period."""
    if PERIODS_OPEN_FROM in db.session.info:
        return db.session.info[PERIODS_OPEN_FROM]
    from sqlalchemy import func

    last = db.session.scalar(select(func.max(ClosedPeriod.month)))
    if last is None:
        return None
    return date(last.year + last.month // 12, last.month % 12 + 1, 1)


def post(
    journal: str,
    day: date,
    memo: str,
    source_type: str,
    source_id: int,
    lines: list[Line],
    reverses_id: int | None = None,
) -> JournalEntry | None:
    """Post one entry: its lines (zero lines dropped) must balance.  Nothing is posted when every
    line is zero (an invoice credited to nothing bills nothing).

    Nothing posts into a closed period: an entry dated in a closed month is posted dated today (in
    the open period) and names the month it corrects (``corrects_period``, and its memo).  The
    period is read after the journal's counter is locked, and closing a month locks the counters
    first, so an entry and a closing never cross."""
    lines = [line for line in lines if line.debit or line.credit]
    if not lines:
        return None
    for line in lines:
        if line.debit < 0 or line.credit < 0:
            raise LedgerError(f"negative amount in an entry for {source_type} {source_id}")
    debits = sum((line.debit for line in lines), ZERO)
    credits = sum((line.credit for line in lines), ZERO)
    if debits != credits:
        raise LedgerError(f"entry for {source_type} {source_id} does not balance: {debits} != {credits}")
    number = _next_number(journal)
    corrects_period = None
    open_from = first_open_day()
    if open_from is not None and day < open_from:
        from .. import clock

        corrects_period = day.replace(day=1)
        day = max(clock.today(), open_from)
        memo = f"{memo[: 255 - 30]} (corrects {corrects_period:%Y-%m})"
    entry = JournalEntry(
        journal=journal,
        number=number,
        date=day,
        memo=memo[:255],
        source_type=source_type,
        source_id=source_id,
        reverses_id=reverses_id,
        corrects_period=corrects_period,
    )
    db.session.add(entry)
    db.session.flush()
    db.session.add_all(
        JournalLine(
            entry_id=entry.id,
            account_id=line.account_id,
            debit=line.debit,
            credit=line.credit,
            client_id=line.client_id,
        )
        for line in lines
    )
    db.session.flush()
    _add_to_balances(day, lines)
    return entry


def _unreversed(source_type: str, source_id: int) -> list[JournalEntry]:
    """The entries of a source that are neither reversals nor reversed, oldest first."""
    reversed_ids = select(JournalEntry.reverses_id).where(
        JournalEntry.source_type == source_type,
        JournalEntry.source_id == source_id,
        JournalEntry.reverses_id.is_not(None),
    )
    return list(
        db.session.scalars(
            select(JournalEntry)
            .where(
                JournalEntry.source_type == source_type,
                JournalEntry.source_id == source_id,
                JournalEntry.reverses_id.is_(None),
                JournalEntry.id.not_in(reversed_ids),
            )
            .order_by(JournalEntry.id)
        )
    )


def reverse(
    source_type: str, source_id: int, day: date, memo: str, money_account: int | None = None
) -> list[JournalEntry]:
    """Post the reversal of each standing entry of a source (debits become credits), each
    referencing the entry it reverses, in the journal of the original.  ``money_account``: the
    account the money side (the lines with no client) is reversed out of, when the money has
    moved since (a payment method pointed at another account, ais.billing.accounts)."""
    reversals = []
    for original in _unreversed(source_type, source_id):
        lines = [
            Line(
                money_account if money_account is not None and line.client_id is None else line.account_id,
                debit=line.credit,
                credit=line.debit,
                client_id=line.client_id,
            )
            for line in original.lines
        ]
        entry = post(original.journal, day, memo, source_type, source_id, lines, reverses_id=original.id)
        if entry is not None:
            reversals.append(entry)
    return reversals


def has_entry(source_type: str, source_id: int) -> bool:
    return (
        db.session.scalar(
            select(JournalEntry.id).where(JournalEntry.source_type == source_type, JournalEntry.source_id == source_id)
        )
        is not None
    )


# --- The posting rules ----------------------------------------------------------------------


def invoice_issued(invoice: Invoice, day: date | None = None) -> None:
    """Dr receivable (the invoice's amount) / Cr sales by VAT treatment and Cr output VAT, from the
    invoice's stored VAT summary; a non-VAT seller's sales (the rest of the amount) go to sales.
    The amount posted is what the lines bill (amount + credited_amount - late_fee_amount: at
    issue, the amount; late fees post on their own)."""
    roles = role_accounts()
    billed = invoice.amount + invoice.credited_amount - (invoice.late_fee_amount or ZERO)
    vatable, vat = invoice.vatable_sales or ZERO, invoice.vat_amount or ZERO
    exempt, zero_rated = invoice.exempt_sales or ZERO, invoice.zero_rated_sales or ZERO
    other_sales = billed - vatable - vat - exempt - zero_rated
    post(
        SALES_JOURNAL,
        day or invoice.issue_date,
        f"Invoice {invoice.invoice_no}",
        INVOICE,
        invoice.id,
        [
            Line(roles["receivable"], debit=billed, client_id=invoice.client_id),
            Line(roles["sales"], credit=vatable + other_sales),
            Line(roles["exempt_sales"], credit=exempt),
            Line(roles["zero_rated_sales"], credit=zero_rated),
            Line(roles["output_vat"], credit=vat),
        ],
    )


def invoice_voided(invoice: Invoice, day: date) -> None:
    """Reverse the invoice's sale and its credit notes: a void invoice bills nothing."""
    memo = f"Invoice {invoice.invoice_no} voided"
    reverse(INVOICE, invoice.id, day, memo)
    note_ids = db.session.scalars(select(CreditNote.id).where(CreditNote.invoice_id == invoice.id))
    for note_id in list(note_ids):
        reverse(CREDIT_NOTE, note_id, day, memo)


def payment_confirmed(payment: Payment) -> None:
    """Dr the account of the payment's method / Cr receivable, on the payment's date.  A customer
    credit applied to the invoice (method "Customer credit") moves no money: Dr customer credits /
    Cr receivable, in the general journal."""
    roles = role_accounts()
    if payment.method == methods.CUSTOMER_CREDIT:
        post(
            GENERAL_JOURNAL,
            payment.date,
            f"Payment {payment.id} by customer credit {payment.reference}".strip(),
            PAYMENT,
            payment.id,
            [
                Line(roles["customer_credit"], debit=payment.amount, client_id=payment.client_id),
                Line(roles["receivable"], credit=payment.amount, client_id=payment.client_id),
            ],
        )
        return
    post(
        CASH_RECEIPTS_JOURNAL,
        payment.date,
        f"Payment {payment.id} by {payment.method}",
        PAYMENT,
        payment.id,
        [
            Line(method_account(payment.method), debit=payment.amount),
            Line(roles["receivable"], credit=payment.amount, client_id=payment.client_id),
        ],
    )


def payment_voided(payment: Payment, day: date) -> None:
    """Reverse the payment's receipt (a void or a refund), dated the day it happened, out of the
    account its method posts to now (where its money is: a method's money moves with it).  A
    customer credit's application is reversed line for line: the credit is owed to the client again."""
    credit = payment.method == methods.CUSTOMER_CREDIT
    reverse(
        PAYMENT,
        payment.id,
        day,
        f"Payment {payment.id} voided: {payment.state_reason or ''}",
        money_account=None if credit else method_account(payment.method),
    )


def credit_note_issued(note: CreditNote) -> None:
    """Dr sales returns (the note's net split) and Dr output VAT (its VAT) / Cr receivable (the part
    that lowered the invoice) and Cr customer credits (its customer credit), from the note's stored
    split."""
    roles = role_accounts()
    vat = note.vat_amount
    post(
        GENERAL_JOURNAL,
        note.issue_date,
        f"Credit note {note.credit_no}",
        CREDIT_NOTE,
        note.id,
        [
            Line(roles["sales_returns"], debit=note.amount - vat),
            Line(roles["output_vat"], debit=vat),
            Line(roles["receivable"], credit=note.amount - note.customer_credit, client_id=note.client_id),
            Line(roles["customer_credit"], credit=note.customer_credit, client_id=note.client_id),
        ],
    )


def overpayment_flagged(overpayment: Overpayment, method: str, day: date) -> None:
    """Money received that could not be applied: Dr the method's account / Cr customer credits."""
    roles = role_accounts()
    post(
        CASH_RECEIPTS_JOURNAL,
        day,
        f"Overpayment {overpayment.provider_reference}",
        OVERPAYMENT,
        overpayment.id,
        [
            Line(method_account(method), debit=overpayment.amount),
            Line(roles["customer_credit"], credit=overpayment.amount, client_id=overpayment.client_id),
        ],
    )


def overpayment_refunded(overpayment: Overpayment, day: date) -> None:
    """A flagged overpayment refunded through the provider: its receipt is reversed."""
    reverse(OVERPAYMENT, overpayment.id, day, f"Overpayment {overpayment.provider_reference} refunded")


def credit_refunded(overpayment: Overpayment, day: date) -> None:
    """A customer credit the owner refunded by hand: Dr customer credits / Cr the account of the
    method it was paid out by (``refund_method``), for the amount refunded (``refunded_amount``)."""
    roles = role_accounts()
    post(
        GENERAL_JOURNAL,
        day,
        f"Customer credit {overpayment.provider_reference} refunded by {overpayment.refund_method}",
        OVERPAYMENT,
        overpayment.id,
        [
            Line(roles["customer_credit"], debit=overpayment.refunded_amount, client_id=overpayment.client_id),
            Line(method_account(overpayment.refund_method or methods.OTHER), credit=overpayment.refunded_amount),
        ],
    )


def late_fee_charged(fee: LateFee) -> None:
    """Dr receivable (per client) / Cr late-fee income, on the day the fee is charged."""
    roles = role_accounts()
    post(
        GENERAL_JOURNAL,
        fee.charged_on,
        f"Late fee {fee.id} on installment {fee.installment_number}",
        LATE_FEE,
        fee.id,
        [
            Line(roles["receivable"], debit=fee.amount, client_id=fee.client_id),
            Line(roles["late_fee_income"], credit=fee.amount),
        ],
    )


def late_fee_waived(fee: LateFee, day: date) -> None:
    """A waived late fee: its charge is reversed, dated the day it was waived."""
    reverse(LATE_FEE, fee.id, day, f"Late fee {fee.id} waived: {fee.waive_reason}")


def late_fees_voided(invoice: Invoice, day: date) -> None:
    """An invoice voided: the charges of its late fees still standing are reversed with it."""
    fee_ids = db.session.scalars(
        select(LateFee.id).where(LateFee.invoice_id == invoice.id, LateFee.waived_on.is_(None)).order_by(LateFee.id)
    )
    for fee_id in list(fee_ids):
        reverse(LATE_FEE, fee_id, day, f"Invoice {invoice.invoice_no} voided")


# --- Rebuilding the ledger from the books ---------------------------------------------------------

ISSUE, CREDIT, RECEIPT, OVERPAID, VOID_RECEIPT, REFUND_OVERPAID, VOID_INVOICE = range(7)
CHARGE_LATE_FEE, WAIVE_LATE_FEE, VOID_LATE_FEE = 7, 8, 9
REFUND_CREDIT = 10  # a customer credit refunded by hand (the owner names the method)
REFUNDED_PREFIX = "Refunded in "  # an overpayment resolved by a provider's refund (payments.services)


@dataclass(frozen=True, order=True)
class Event:
    """One money event of the books' history, in the order the rebuild posts it."""

    day: date
    kind: int
    source_id: int


def _local_day(moment) -> date:
    from .. import clock

    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(clock.business_timezone()).date()


def history() -> list[Event]:
    """Every event that posts, from the stored rows, in date order (originals before reversals
    on the same day)."""
    events = [
        Event(day, ISSUE, invoice_id)
        for invoice_id, day in db.session.execute(
            select(Invoice.id, Invoice.issue_date).where(Invoice.issued_at.is_not(None))
        )
    ]
    events += [
        Event(_local_day(voided_at), VOID_INVOICE, invoice_id)
        for invoice_id, voided_at in db.session.execute(
            select(Invoice.id, Invoice.voided_at).where(Invoice.issued_at.is_not(None), Invoice.voided_at.is_not(None))
        )
    ]
    events += [
        Event(day, CREDIT, note_id) for note_id, day in db.session.execute(select(CreditNote.id, CreditNote.issue_date))
    ]
    for payment_id, day, state, changed_at in db.session.execute(
        select(Payment.id, Payment.date, Payment.state, Payment.state_changed_at).where(
            Payment.state.in_(("confirmed", "voided"))
        )
    ):
        events.append(Event(day, RECEIPT, payment_id))
        if state == "voided":
            events.append(Event(max(day, _local_day(changed_at)) if changed_at else day, VOID_RECEIPT, payment_id))
    for overpayment_id, provider, created_at, resolved_at, resolution, refund_method in db.session.execute(
        select(
            Overpayment.id,
            Overpayment.provider,
            Overpayment.created_at,
            Overpayment.resolved_at,
            Overpayment.resolution,
            Overpayment.refund_method,
        )
    ):
        flagged_on = _local_day(created_at)
        if provider != "credit_note":  # (a credit note's credit is posted by the note)
            events.append(Event(flagged_on, OVERPAID, overpayment_id))
        if resolved_at is None:
            continue
        if refund_method is not None:
            events.append(Event(max(flagged_on, _local_day(resolved_at)), REFUND_CREDIT, overpayment_id))
        elif provider != "credit_note" and (resolution or "").startswith(REFUNDED_PREFIX):
            events.append(Event(max(flagged_on, _local_day(resolved_at)), REFUND_OVERPAID, overpayment_id))
    for fee_id, charged_on, waived_on, voided_at in db.session.execute(
        select(LateFee.id, LateFee.charged_on, LateFee.waived_on, Invoice.voided_at).join(
            Invoice, Invoice.id == LateFee.invoice_id
        )
    ):
        events.append(Event(charged_on, CHARGE_LATE_FEE, fee_id))
        if waived_on is not None:
            events.append(Event(max(charged_on, waived_on), WAIVE_LATE_FEE, fee_id))
        elif voided_at is not None:
            events.append(Event(max(charged_on, _local_day(voided_at)), VOID_LATE_FEE, fee_id))
    return sorted(events)


def overpayment_method(overpayment: Overpayment) -> str:
    """The method of the money flagged (not stored on the row): that of a payment of the same
    provider reference, else the card for Stripe, else PayMongo's catch-all."""
    paid_with = db.session.scalar(
        select(Payment.method).where(Payment.provider_reference == overpayment.provider_reference)
    )
    if paid_with:
        return paid_with
    return methods.CARD if overpayment.provider == "stripe" else methods.ONLINE_OTHER


def post_event(event: Event) -> None:
    """Post what one event of the history posted when it happened."""
    if event.kind == ISSUE:
        invoice_issued(db.session.get_one(Invoice, event.source_id))
    elif event.kind == CREDIT:
        credit_note_issued(db.session.get_one(CreditNote, event.source_id))
    elif event.kind == RECEIPT:
        payment_confirmed(db.session.get_one(Payment, event.source_id))
    elif event.kind == OVERPAID:
        overpayment = db.session.get_one(Overpayment, event.source_id)
        overpayment_flagged(overpayment, overpayment_method(overpayment), event.day)
    elif event.kind == VOID_RECEIPT:
        payment_voided(db.session.get_one(Payment, event.source_id), event.day)
    elif event.kind == REFUND_OVERPAID:
        overpayment_refunded(db.session.get_one(Overpayment, event.source_id), event.day)
    elif event.kind == VOID_INVOICE:
        invoice_voided(db.session.get_one(Invoice, event.source_id), event.day)
    elif event.kind == CHARGE_LATE_FEE:
        late_fee_charged(db.session.get_one(LateFee, event.source_id))
    elif event.kind == WAIVE_LATE_FEE:
        late_fee_waived(db.session.get_one(LateFee, event.source_id), event.day)
    elif event.kind == VOID_LATE_FEE:
        reverse(LATE_FEE, event.source_id, event.day, "Invoice voided")
    elif event.kind == REFUND_CREDIT:
        credit_refunded(db.session.get_one(Overpayment, event.source_id), event.day)


def entry_count() -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(JournalEntry)) or 0


def erase() -> None:
    """Delete every entry, line, running balance and counter: only for ``ledger rebuild --force``
    (on PostgreSQL the append-only trigger lets this one transaction through)."""
    from sqlalchemy import delete, text

    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL ais.ledger_maintenance = 'on'"))
    db.session.execute(delete(JournalLine))
    db.session.execute(delete(JournalEntry))
    db.session.execute(delete(AccountBalance))
    db.session.execute(delete(JournalCounter))


# --- Reading the ledger ------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialBalanceRow:
    account_id: int
    code: str
    name: str
    type: str
    debit: Decimal  # the balance, on its side
    credit: Decimal


@dataclass(frozen=True)
class TrialBalance:
    as_of: date
    rows: list[TrialBalanceRow]
    total_debit: Decimal
    total_credit: Decimal


def trial_balance(as_of: date) -> TrialBalance:
    """Each account's balance at the end of ``as_of``: the running balances of the months before
    its month, plus the lines of its month up to that day (two aggregate queries, bounded by the
    number of accounts and one month's lines)."""
    from sqlalchemy import func

    month = as_of.replace(day=1)
    sums: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for account_id, debit, credit in db.session.execute(
        select(AccountBalance.account_id, func.sum(AccountBalance.debit), func.sum(AccountBalance.credit))
        .where(AccountBalance.month < month)
        .group_by(AccountBalance.account_id)
    ):
        sums[account_id] += Decimal(debit) - Decimal(credit)
    for account_id, debit, credit in db.session.execute(
        select(JournalLine.account_id, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.date >= month, JournalEntry.date <= as_of)
        .group_by(JournalLine.account_id)
    ):
        sums[account_id] += Decimal(debit) - Decimal(credit)
    rows = []
    for account_id, code, name, kind in db.session.execute(
        select(Account.id, Account.code, Account.name, Account.type).order_by(Account.code)
    ):
        net = sums.get(account_id, ZERO)
        if net:
            rows.append(TrialBalanceRow(account_id, code, name, kind, max(net, ZERO), max(-net, ZERO)))
    return TrialBalance(
        as_of,
        rows,
        sum((row.debit for row in rows), ZERO),
        sum((row.credit for row in rows), ZERO),
    )
