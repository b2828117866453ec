"""The double-entry ledger: balanced, append-only entries posted by the service layer in the
transaction of the event they record (docs/ACCOUNTING.md).

Each posting rule reads what the event stored (an invoice's VAT summary, a credit note's split, a
payment's amount and method) and never recomputes it.  A correction is a new entry that reverses
the original, line for line; nothing here updates or deletes an entry or a line.  Every line also
adds to its account's running balance of the month (``account_balances``) and of the day
(``account_day_balances``, and per client ``client_day_balances``, whose clients per account
``client_accounts`` lists), so reports read a balance as of any day with one index lookup instead
of the lines.

The posting rules are pure functions, one per event (``*_posting``: plain values in, a Posting
out); the service layer's functions below them post what they give, and the bulk rebuild
(ais.billing.rebuild) writes what they give for the whole history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select, text, update
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
    AccountDayBalance,
    ClientAccount,
    ClientDayBalance,
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


@dataclass(frozen=True)
class Posting:
    """What a posting rule gives: the journal, the memo and the lines of one entry (its date and
    source are the event's)."""

    journal: str
    memo: str
    lines: list[Line]


def kept_lines(source_type: str, source_id: int, lines: list[Line]) -> list[Line]:
    """The lines an entry keeps (zero lines dropped), checked: no negative amount, debits equal
    credits.  Empty when every line is zero (the entry is then not posted)."""
    lines = [line for line in lines if line.debit or line.credit]
    for line in lines:
        if line.debit < 0 or line.credit < 0:
            raise LedgerError(f"negative amount in an entry for {source_type} {source_id}")
    debits = sum((line.debit for line in lines), ZERO)
    credits = sum((line.credit for line in lines), ZERO)
    if debits != credits:
        raise LedgerError(f"entry for {source_type} {source_id} does not balance: {debits} != {credits}")
    return lines


def posting_day(day: date, memo: str, open_from: date | None, today: date) -> tuple[date, str, date | None]:
    """Where an entry dated ``day`` is posted: (date, memo, the closed month it corrects or None).
    Nothing posts into a closed period: an entry dated before ``open_from`` (the first open day)
    is dated today (at the earliest the first open day) and its memo names the month it corrects."""
    if open_from is None or day >= open_from:
        return day, memo[:255], None
    corrects_period = day.replace(day=1)
    return max(today, open_from), f"{memo[: 255 - 30]} (corrects {corrects_period:%Y-%m})"[:255], corrects_period


def reversal_lines(lines: list[Line], money_account: int | None = None) -> list[Line]:
    """The lines that reverse ``lines`` (debits become credits).  ``money_account``: the account
    the money side (the lines with no client) is reversed out of, when the money has moved since
    (a payment method pointed at another account, ais.billing.accounts)."""
    return [
        Line(
            money_account if money_account is not None and line.client_id is None else line.account_id,
            debit=line.credit,
            credit=line.debit,
            client_id=line.client_id,
        )
        for line in lines
    ]


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
    settings = dict(
        db.session.execute(
            select(MethodAccount.method, MethodAccount.account_id).where(MethodAccount.method.in_((method, "Other")))
        ).all()
    )
    return account_for_method(settings, method)


def account_for_method(settings: Mapping[str, int], method: str) -> int:
    """The account of a payment method in the method_accounts setting (Other's when it has none)."""
    found = settings.get(method, settings.get("Other"))
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
    """What this transaction's entries add to each account's month and to the running balances per
    account and day (and per client and day), written just before commit
    (ais.database.write_transaction runs it): every transaction then locks the running-balance
    rows last and in one order, after the journal counters and the monthly totals, so two
    transactions never wait for each other in a circle.  Registered as a before-commit callback, it
    is dropped with them when the transaction rolls back.  A client's first running balance in an
    account also adds the pair to ``client_accounts``, under the same per-account lock."""

    def __init__(self) -> None:
        self.sums: dict[tuple[int, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        self.days: dict[tuple[int, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        self.client_days: dict[tuple[int, int, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])

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
        # A day's row holds the totals through that day, so an entry adds to its day's row and to
        # every later one: one transaction at a time per account (a lock per account, taken in
        # account order), or a row added meanwhile for a later day would miss this entry.
        if db.engine.dialect.name == "postgresql":
            for account_id in sorted({account_id for account_id, _ in self.days}):
                db.session.execute(
                    text("SELECT pg_advisory_xact_lock(:space, :account_id)"),
                    {"space": RUNNING_BALANCE_LOCKS, "account_id": account_id},
                )
        for (account_id, day), (debit, credit) in sorted(self.days.items()):
            _add_from_day(AccountDayBalance, {"account_id": account_id}, day, debit, credit)
        for (account_id, client_id, day), (debit, credit) in sorted(self.client_days.items()):
            keys = {"account_id": account_id, "client_id": client_id}
            if _add_from_day(ClientDayBalance, keys, day, debit, credit):
                # No running balance of the client before this day: perhaps their first line in the
                # account.  Only then, so a usual payment (the client has earlier rows) costs nothing more.
                db.session.execute(_insert()(ClientAccount).values(**keys).on_conflict_do_nothing())
        self.sums.clear()
        self.days.clear()
        self.client_days.clear()


RUNNING_BALANCE_LOCKS = 22  # the advisory-lock space of the running balances per day (one lock per account)


def _add_from_day(model, keys: dict[str, int], day: date, debit: Decimal, credit: Decimal) -> bool:
    """Add a day's debits and credits to the running balance of ``keys`` (an account, or an account
    and a client) on ``day`` and every later day: the day's row is first made, from the last row
    before it, if the day had none.  True when ``keys`` had no row before ``day``."""
    where = [getattr(model, name) == value for name, value in keys.items()]
    before = db.session.execute(
        select(model.debit, model.credit).where(*where, model.day < day).order_by(model.day.desc()).limit(1)
    ).first()
    db.session.execute(
        _insert()(model)
        .values(**keys, day=day, debit=before[0] if before else ZERO, credit=before[1] if before else ZERO)
        .on_conflict_do_nothing()
    )
    db.session.execute(
        update(model)
        .where(*where, model.day >= day)
        .values(debit=model.debit + debit, credit=model.credit + credit)
        .execution_options(synchronize_session=False)
    )
    return before is None


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
        changes.days[(line.account_id, day)][0] += line.debit
        changes.days[(line.account_id, day)][1] += line.credit
        if line.client_id is not None:
            changes.client_days[(line.account_id, line.client_id, day)][0] += line.debit
            changes.client_days[(line.account_id, line.client_id, day)][1] += line.credit


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
    lines = kept_lines(source_type, source_id, lines)
    if not lines:
        return None
    number = _next_number(journal)
    from .. import clock

    day, memo, corrects_period = posting_day(day, memo, first_open_day(), clock.today())
    entry = JournalEntry(
        journal=journal,
        number=number,
        date=day,
        memo=memo,
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
            date=day,
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
        lines = reversal_lines(
            [Line(line.account_id, line.debit, line.credit, line.client_id) for line in original.lines], money_account
        )
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
#
# One pure function per event: plain values in (the account ids by role, what the event stored),
# a Posting out.  The service layer posts them in the event's transaction (the functions below
# the rules); `ledger rebuild` (ais.billing.rebuild) computes the same postings for the whole
# history and writes them in bulk, so both give the same ledger.


def invoice_issued_posting(
    roles: Mapping[str, int],
    invoice_no: str | None,
    client_id: int,
    billed: Decimal,
    vatable: Decimal,
    vat: Decimal,
    exempt: Decimal,
    zero_rated: Decimal,
) -> Posting:
    """Dr receivable (what the invoice's lines bill) / Cr sales by VAT treatment and Cr output VAT,
    from the invoice's stored VAT summary; a non-VAT seller's sales (the rest) go to sales."""
    other_sales = billed - vatable - vat - exempt - zero_rated
    return Posting(
        SALES_JOURNAL,
        f"Invoice {invoice_no}",
        [
            Line(roles["receivable"], debit=billed, client_id=client_id),
            Line(roles["sales"], credit=vatable + other_sales),
            Line(roles["exempt_sales"], credit=exempt),
            Line(roles["zero_rated_sales"], credit=zero_rated),
            Line(roles["output_vat"], credit=vat),
        ],
    )


def invoice_billed(amount: Decimal, credited_amount: Decimal, late_fee_amount: Decimal | None) -> Decimal:
    """What an invoice's lines bill (amount + credited_amount - late_fee_amount: at issue, the
    amount; late fees post on their own)."""
    return amount + credited_amount - (late_fee_amount or ZERO)


def invoice_voided_memo(invoice_no: str | None) -> str:
    return f"Invoice {invoice_no} voided"


def payment_confirmed_posting(
    roles: Mapping[str, int], payment_id: int, method: str, money_account: int, amount: Decimal, client_id: int
) -> Posting:
    """Dr the account of the payment's method / Cr receivable."""
    return Posting(
        CASH_RECEIPTS_JOURNAL,
        f"Payment {payment_id} by {method}",
        [
            Line(money_account, debit=amount),
            Line(roles["receivable"], credit=amount, client_id=client_id),
        ],
    )


def credit_applied_posting(
    roles: Mapping[str, int], payment_id: int, reference: str | None, amount: Decimal, client_id: int
) -> Posting:
    """A customer credit applied to an invoice (a payment by "Customer credit"): no money moves, so
    Dr customer credits / Cr receivable, both per client, in the general journal."""
    return Posting(
        GENERAL_JOURNAL,
        f"Payment {payment_id} by customer credit {reference or ''}".strip(),
        [
            Line(roles["customer_credit"], debit=amount, client_id=client_id),
            Line(roles["receivable"], credit=amount, client_id=client_id),
        ],
    )


def payment_voided_memo(payment_id: int, reason: str | None) -> str:
    return f"Payment {payment_id} voided: {reason or ''}"


def credit_note_posting(
    roles: Mapping[str, int],
    credit_no: str,
    client_id: int,
    amount: Decimal,
    vat: Decimal,
    customer_credit: Decimal,
) -> Posting:
    """Dr sales returns (the note's net) and Dr output VAT (its VAT) / Cr receivable (the part that
    lowered the invoice) and Cr customer credits (its customer credit), from the note's stored split."""
    return Posting(
        GENERAL_JOURNAL,
        f"Credit note {credit_no}",
        [
            Line(roles["sales_returns"], debit=amount - vat),
            Line(roles["output_vat"], debit=vat),
            Line(roles["receivable"], credit=amount - customer_credit, client_id=client_id),
            Line(roles["customer_credit"], credit=customer_credit, client_id=client_id),
        ],
    )


def overpayment_posting(
    roles: Mapping[str, int], provider_reference: str, money_account: int, amount: Decimal, client_id: int | None
) -> Posting:
    """Money received that could not be applied: Dr the method's account / Cr customer credits."""
    return Posting(
        CASH_RECEIPTS_JOURNAL,
        f"Overpayment {provider_reference}",
        [
            Line(money_account, debit=amount),
            Line(roles["customer_credit"], credit=amount, client_id=client_id),
        ],
    )


def overpayment_refunded_memo(provider_reference: str) -> str:
    return f"Overpayment {provider_reference} refunded"


def credit_refunded_posting(
    roles: Mapping[str, int],
    provider_reference: str,
    method: str,
    money_account: int,
    amount: Decimal,
    client_id: int | None,
) -> Posting:
    """A customer credit refunded by hand: Dr customer credits / Cr the account of the method it was
    paid out by, for the amount refunded."""
    return Posting(
        GENERAL_JOURNAL,
        f"Customer credit {provider_reference} refunded by {method}",
        [
            Line(roles["customer_credit"], debit=amount, client_id=client_id),
            Line(money_account, credit=amount),
        ],
    )


def late_fee_posting(
    roles: Mapping[str, int], fee_id: int, installment_number: int, client_id: int, amount: Decimal
) -> Posting:
    """Dr receivable (per client) / Cr late-fee income."""
    return Posting(
        GENERAL_JOURNAL,
        f"Late fee {fee_id} on installment {installment_number}",
        [
            Line(roles["receivable"], debit=amount, client_id=client_id),
            Line(roles["late_fee_income"], credit=amount),
        ],
    )


def late_fee_waived_memo(fee_id: int, reason: str | None) -> str:
    return f"Late fee {fee_id} waived: {reason}"


def _post_posting(posting: Posting, day: date, source_type: str, source_id: int) -> None:
    post(posting.journal, day, posting.memo, source_type, source_id, posting.lines)


# --- Posting in the service layer's transaction ---------------------------------------------


def invoice_issued(invoice: Invoice, day: date | None = None) -> None:
    """The invoice's sale (invoice_issued_posting), on its issue date."""
    posting = invoice_issued_posting(
        role_accounts(),
        invoice.invoice_no,
        invoice.client_id,
        invoice_billed(invoice.amount, invoice.credited_amount, invoice.late_fee_amount),
        invoice.vatable_sales or ZERO,
        invoice.vat_amount or ZERO,
        invoice.exempt_sales or ZERO,
        invoice.zero_rated_sales or ZERO,
    )
    _post_posting(posting, day or invoice.issue_date, INVOICE, invoice.id)


def invoice_voided(invoice: Invoice, day: date) -> None:
    """Reverse the invoice's sale and its credit notes: a void invoice bills nothing."""
    memo = invoice_voided_memo(invoice.invoice_no)
    reverse(INVOICE, invoice.id, day, memo)
    note_ids = db.session.scalars(
        select(CreditNote.id).where(CreditNote.invoice_id == invoice.id).order_by(CreditNote.id)
    )
    for note_id in list(note_ids):
        reverse(CREDIT_NOTE, note_id, day, memo)


def payment_confirmed(payment: Payment) -> None:
    """The payment's receipt (payment_confirmed_posting, or credit_applied_posting for a customer
    credit applied to the invoice, which moves no money), on the payment's date."""
    if payment.method == methods.CUSTOMER_CREDIT:
        posting = credit_applied_posting(
            role_accounts(), payment.id, payment.reference, payment.amount, payment.client_id
        )
        _post_posting(posting, payment.date, PAYMENT, payment.id)
        return
    posting = payment_confirmed_posting(
        role_accounts(),
        payment.id,
        payment.method,
        method_account(payment.method),
        payment.amount,
        payment.client_id,
    )
    _post_posting(posting, payment.date, PAYMENT, payment.id)


def payment_voided(payment: Payment, day: date) -> None:
    """Reverse the payment's receipt (a void or a refund), dated the day it happened, out of the
    account its method posts to now (where its money is: a method's money moves with it).  A
    customer credit's application is reversed line for line: the credit is owed to the client again."""
    credit = payment.method == methods.CUSTOMER_CREDIT
    reverse(
        PAYMENT,
        payment.id,
        day,
        payment_voided_memo(payment.id, payment.state_reason),
        money_account=None if credit else method_account(payment.method),
    )


def credit_note_issued(note: CreditNote) -> None:
    """The credit note (credit_note_posting), on its issue date."""
    posting = credit_note_posting(
        role_accounts(), note.credit_no, note.client_id, note.amount, note.vat_amount, note.customer_credit
    )
    _post_posting(posting, note.issue_date, CREDIT_NOTE, note.id)


def overpayment_flagged(overpayment: Overpayment, method: str, day: date) -> None:
    """Money received that could not be applied (overpayment_posting)."""
    posting = overpayment_posting(
        role_accounts(),
        overpayment.provider_reference,
        method_account(method),
        overpayment.amount,
        overpayment.client_id,
    )
    _post_posting(posting, day, OVERPAYMENT, overpayment.id)


def overpayment_refunded(overpayment: Overpayment, day: date) -> None:
    """A flagged overpayment refunded through the provider: its receipt is reversed."""
    reverse(OVERPAYMENT, overpayment.id, day, overpayment_refunded_memo(overpayment.provider_reference))


def credit_refunded(overpayment: Overpayment, day: date) -> None:
    """A customer credit the owner refunded by hand (credit_refunded_posting), dated the day."""
    method = overpayment.refund_method or methods.OTHER
    posting = credit_refunded_posting(
        role_accounts(),
        overpayment.provider_reference,
        method,
        method_account(method),
        overpayment.refunded_amount,
        overpayment.client_id,
    )
    _post_posting(posting, day, OVERPAYMENT, overpayment.id)


def late_fee_charged(fee: LateFee) -> None:
    """The late fee's charge (late_fee_posting), on the day it is charged."""
    posting = late_fee_posting(role_accounts(), fee.id, fee.installment_number, fee.client_id, fee.amount)
    _post_posting(posting, fee.charged_on, LATE_FEE, fee.id)


def late_fee_waived(fee: LateFee, day: date) -> None:
    """A waived late fee: its charge is reversed, dated the day it was waived."""
    reverse(LATE_FEE, fee.id, day, late_fee_waived_memo(fee.id, fee.waive_reason))


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
LATE_FEES_VOIDED_MEMO = "Invoice voided"  # a late fee's charge reversed by the rebuild with its invoice's void
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


def flagged_method(overpayment: Overpayment) -> str:
    """The method of the money flagged (not stored on the row): that of a payment of the same
    provider reference, else the card for Stripe, else PayMongo's catch-all."""
    paid_with = db.session.scalar(
        select(Payment.method)
        .where(Payment.provider_reference == overpayment.provider_reference)
        .order_by(Payment.id)
        .limit(1)
    )
    return overpayment_method(paid_with, overpayment.provider)


def overpayment_method(paid_with: str | None, provider: str) -> str:
    """The method of flagged money: the method of a payment with its provider reference, else the
    card for Stripe, else PayMongo's catch-all."""
    if paid_with:
        return paid_with
    return methods.CARD if provider == "stripe" else methods.ONLINE_OTHER


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
        overpayment_flagged(overpayment, flagged_method(overpayment), event.day)
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
        reverse(LATE_FEE, event.source_id, event.day, LATE_FEES_VOIDED_MEMO)
    elif event.kind == REFUND_CREDIT:
        credit_refunded(db.session.get_one(Overpayment, event.source_id), event.day)


def entry_count() -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(JournalEntry)) or 0


def erase() -> None:
    """Delete every entry, line, running balance and counter: only for ``ledger rebuild``, in its
    transaction (on PostgreSQL a TRUNCATE, which the append-only trigger, a row trigger on UPDATE
    and DELETE, does not see; it locks the ledger's tables until the rebuild commits)."""
    from sqlalchemy import delete

    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text(
                "TRUNCATE journal_lines, journal_entries, account_balances, account_day_balances, "
                "client_day_balances, client_accounts, journal_counters"
            )
        )
        return
    for model in (
        JournalLine,
        JournalEntry,
        AccountBalance,
        AccountDayBalance,
        ClientDayBalance,
        ClientAccount,
        JournalCounter,
    ):
        db.session.execute(delete(model))


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


def totals_through(day: date, account_id: int | None = None) -> dict[int, tuple[Decimal, Decimal]]:
    """Each account's (debits, credits) from the beginning through the end of ``day`` (one account
    when ``account_id`` is given): for each account, its last running balance per day on or before
    ``day`` (one query, an index lookup per account, whatever the size of the books)."""
    from sqlalchemy import and_, func
    from sqlalchemy.orm import aliased

    latest = aliased(AccountDayBalance)
    last_day = (
        select(func.max(latest.day))
        .where(latest.account_id == Account.id, latest.day <= day)
        .correlate(Account)
        .scalar_subquery()
    )
    statement = select(Account.id, AccountDayBalance.debit, AccountDayBalance.credit).join(
        AccountDayBalance, and_(AccountDayBalance.account_id == Account.id, AccountDayBalance.day == last_day)
    )
    if account_id is not None:
        statement = statement.where(Account.id == account_id)
    return {
        row_account: (Decimal(debit), Decimal(credit)) for row_account, debit, credit in db.session.execute(statement)
    }


def trial_balance(as_of: date) -> TrialBalance:
    """Each account's balance at the end of ``as_of``: its running balance per day on or before
    that day (totals_through: two queries whatever the size of the books)."""
    sums = {account_id: debit - credit for account_id, (debit, credit) in totals_through(as_of).items()}
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
