"""``flask check``: verify that the books agree with themselves.

Every invariant the service layer maintains is checked here against the stored rows, with a
handful of set-based queries (aggregates compared in SQL, so only problems come back) and
one streamed pass over confirmed payments that recomputes their allocation with the pure
rules.  The work does not grow with a query per invoice, so it stays quick on large books.

``find_problems()`` returns one sentence per problem, each naming the invoice.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import groupby

from sqlalchemy import and_, case, func, literal, null, or_, select, type_coerce, union_all

from .. import clock
from ..db_types import Money, month_start
from ..extensions import db
from ..models import (
    CHECKOUT_HOLDING,
    CONFIRMED,
    REPORTED,
    Account,
    AccountBalance,
    AccountDayBalance,
    Allocation,
    BalanceDueDay,
    BalanceDueMonth,
    CheckoutSession,
    ClientAccount,
    ClientDayBalance,
    ClientDueDayTotal,
    ClientOpenChange,
    ClosedPeriod,
    CreditApplication,
    CreditNote,
    CreditNoteCounter,
    DueDayBalance,
    DueDayTotal,
    DueMonthBalance,
    Installment,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    JournalCounter,
    JournalEntry,
    JournalLine,
    MethodAccount,
    MonthlyTotal,
    Overpayment,
    OwingClientCount,
    Payment,
)
from . import aging, books, methods, rules, statements

ZERO = Decimal("0.00")
STREAM_BATCH = 2000
NUMBER_RE = re.compile(r"INV-(\d{4})-(\d{4,})")


@dataclass(frozen=True)
class Counts:
    invoices: int
    payments: int


def counts() -> Counts:
    return Counts(
        invoices=db.session.scalar(select(func.count()).select_from(Invoice)) or 0,
        payments=db.session.scalar(select(func.count()).select_from(Payment)) or 0,
    )


def _label(invoice_no: str | None, invoice_id: int) -> str:
    return invoice_no or f"draft #{invoice_id}"


def _amount(value) -> str:
    return "nothing" if value is None else f"{value:,.2f}"


def _zero(column):
    return func.coalesce(column, 0)


def _stream(statement) -> Iterator:
    return db.session.execute(statement.execution_options(yield_per=STREAM_BATCH))


def find_problems() -> list[str]:
    """Every invariant violation in the books, one sentence each (empty when all is well)."""
    problems: list[str] = []
    for check in (
        _check_schedules,
        _check_vat_summaries,
        _check_credit_notes,
        _check_late_fees,
        _check_invoice_totals,
        _check_payment_allocations,
        _check_allocation_targets,
        _check_installment_totals,
        _check_next_due_dates,
        _check_allocation_order,
        _check_invoice_numbers,
        _check_monthly_totals,
        _check_due_day_totals,
        _check_client_due_day_totals,
        _check_due_day_balances,
        _check_client_open_changes,
        _check_owing_client_counts,
        _check_aging,
        *LEDGER_CHECKS,
    ):
        problems.extend(check())
    db.session.rollback()  # reads only; end the transaction
    return problems


# --- Schedules ---------------------------------------------------------------------------------


def _check_schedules() -> list[str]:
    """Issued invoices: installments numbered 1..installment_count adding up to the amount.
    Drafts: no installments."""
    inst = (
        select(
            Installment.invoice_id,
            func.sum(Installment.amount).label("total"),
            func.count().label("n"),
            func.min(Installment.number).label("lo"),
            func.max(Installment.number).label("hi"),
        )
        .group_by(Installment.invoice_id)
        .subquery()
    )
    issued = Invoice.issued_at.is_not(None)
    rows = db.session.execute(
        select(
            Invoice.id,
            Invoice.invoice_no,
            Invoice.amount,
            Invoice.installment_count,
            inst.c.total,
            inst.c.n,
            inst.c.lo,
            inst.c.hi,
        )
        .outerjoin(inst, inst.c.invoice_id == Invoice.id)
        .where(
            or_(
                # Credited in full with nothing paid: no installments left.
                and_(issued, Invoice.amount == 0, inst.c.n.is_not(None)),
                and_(
                    issued,
                    Invoice.amount > 0,
                    or_(
                        inst.c.n.is_(None),
                        inst.c.total != Invoice.amount,
                        inst.c.n != Invoice.installment_count,
                        inst.c.lo != 1,
                        inst.c.hi != inst.c.n,
                    ),
                ),
                and_(~issued, inst.c.n.is_not(None)),
            )
        )
        .order_by(Invoice.id)
    )
    problems = []
    for row in rows:
        label = _label(row.invoice_no, row.id)
        if row.invoice_no is None:
            problems.append(f"{label}: a draft has {row.n} installment(s); drafts have none.")
            continue
        if row.amount == 0:
            problems.append(f"{label}: credited in full but still has {row.n} installment(s).")
            continue
        if row.n is None:
            problems.append(f"{label}: issued but has no installments.")
            continue
        if row.total != row.amount:
            problems.append(
                f"{label}: installments add up to {_amount(row.total)}, not the invoice amount {_amount(row.amount)}."
            )
        if row.n != row.installment_count:
            problems.append(f"{label}: {row.n} installment(s) but installment_count is {row.installment_count}.")
        if row.lo != 1 or row.hi != row.n:
            problems.append(f"{label}: installments are numbered {row.lo} to {row.hi}, not 1 to {row.n}.")
    return problems


# --- Invoice running totals and the cap ---------------------------------------------------------


def _check_invoice_totals() -> list[str]:
    """paid_amount = confirmed payments, held_amount = reported ones and open checkouts, their sum within the amount;
    drafts have no payments; void invoices have no confirmed or reported payments."""
    pay = (
        select(
            Payment.invoice_id,
            func.sum(case((Payment.state == CONFIRMED, Payment.amount), else_=0)).label("confirmed"),
            func.sum(case((Payment.state == REPORTED, Payment.amount), else_=0)).label("reported"),
            func.count().label("n"),
        )
        .group_by(Payment.invoice_id)
        .subquery()
    )
    # Online payments in progress hold room like reported payments (ais.payments).
    checkout = (
        select(CheckoutSession.invoice_id, func.sum(CheckoutSession.amount).label("holding"))
        .where(CheckoutSession.status.in_(CHECKOUT_HOLDING))
        .group_by(CheckoutSession.invoice_id)
        .subquery()
    )
    confirmed, reported = _zero(pay.c.confirmed), _zero(pay.c.reported)
    holding = _zero(checkout.c.holding)
    draft = Invoice.issued_at.is_(None)
    rows = db.session.execute(
        select(
            Invoice.id,
            Invoice.invoice_no,
            Invoice.amount,
            Invoice.paid_amount,
            Invoice.held_amount,
            Invoice.voided_at,
            pay.c.confirmed,
            pay.c.reported,
            pay.c.n,
            checkout.c.holding,
        )
        .outerjoin(pay, pay.c.invoice_id == Invoice.id)
        .outerjoin(checkout, checkout.c.invoice_id == Invoice.id)
        .where(
            or_(
                Invoice.paid_amount != confirmed,
                Invoice.held_amount != reported + holding,
                confirmed + reported > Invoice.amount,
                and_(draft, pay.c.n.is_not(None)),
                and_(Invoice.voided_at.is_not(None), confirmed + reported > 0),
            )
        )
        .order_by(Invoice.id)
    )
    problems = []
    for row in rows:
        label = _label(row.invoice_no, row.id)
        confirmed_sum = row.confirmed if row.confirmed is not None else ZERO
        reported_sum = row.reported if row.reported is not None else ZERO
        holding_sum = row.holding if row.holding is not None else ZERO
        if row.invoice_no is None and row.n:
            problems.append(f"{label}: a draft has {row.n} payment(s); drafts have none.")
        if row.paid_amount != confirmed_sum:
            problems.append(
                f"{label}: paid_amount is {_amount(row.paid_amount)} but its confirmed payments add up to "
                f"{_amount(confirmed_sum)}."
            )
        if row.held_amount != reported_sum + holding_sum:
            problems.append(
                f"{label}: held_amount is {_amount(row.held_amount)} but its reported payments and open "
                f"online checkouts add up to {_amount(reported_sum + holding_sum)}."
            )
        if confirmed_sum + reported_sum > row.amount:
            problems.append(
                f"{label}: confirmed ({_amount(confirmed_sum)}) and reported ({_amount(reported_sum)}) payments "
                f"exceed the invoice amount {_amount(row.amount)}."
            )
        if row.voided_at is not None and confirmed_sum + reported_sum > 0:
            problems.append(f"{label}: the invoice is void but has confirmed or reported payments.")
    return problems


# --- Allocations ----------------------------------------------------------------------------------


def _check_payment_allocations() -> list[str]:
    """A confirmed payment's allocations add up to it; any other payment has no allocations and
    names no installment (confirmed payments' numbers are checked by the allocation-order pass).
    A payment's client is its invoice's client."""
    alloc = (
        select(Allocation.payment_id, func.sum(Allocation.amount).label("total"))
        .group_by(Allocation.payment_id)
        .subquery()
    )
    is_confirmed = Payment.state == CONFIRMED
    rows = db.session.execute(
        select(
            Payment.id,
            Payment.state,
            Payment.amount,
            Payment.installment_number,
            Payment.client_id,
            Invoice.client_id.label("invoice_client_id"),
            Invoice.id.label("invoice_id"),
            Invoice.invoice_no,
            alloc.c.total,
        )
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .outerjoin(alloc, alloc.c.payment_id == Payment.id)
        .where(
            or_(
                and_(is_confirmed, or_(alloc.c.total.is_(None), alloc.c.total != Payment.amount)),
                and_(~is_confirmed, alloc.c.total.is_not(None)),
                and_(~is_confirmed, Payment.installment_number.is_not(None)),
                Payment.client_id != Invoice.client_id,
            )
        )
        .order_by(Payment.invoice_id, Payment.id)
    )
    problems = []
    for row in rows:
        label = _label(row.invoice_no, row.invoice_id)
        if row.state == CONFIRMED:
            total = row.total if row.total is not None else ZERO
            if total != row.amount:
                problems.append(
                    f"{label}: payment {row.id} of {_amount(row.amount)} has allocations adding up to {_amount(total)}."
                )
        else:
            if row.total is not None:
                problems.append(f"{label}: {row.state} payment {row.id} has allocations ({_amount(row.total)}).")
            if row.installment_number is not None:
                problems.append(
                    f"{label}: {row.state} payment {row.id} names installment {row.installment_number}; "
                    "only confirmed payments do."
                )
        if row.client_id != row.invoice_client_id:
            problems.append(f"{label}: payment {row.id} belongs to client {row.client_id}, not the invoice's client.")
    return problems


def _check_allocation_targets() -> list[str]:
    """An allocation pays an installment of its own payment's invoice."""
    rows = db.session.execute(
        select(Allocation.id, Allocation.payment_id, Invoice.id.label("invoice_id"), Invoice.invoice_no)
        .join(Payment, Payment.id == Allocation.payment_id)
        .join(Installment, Installment.id == Allocation.installment_id)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Installment.invoice_id != Payment.invoice_id)
        .order_by(Allocation.id)
    )
    return [
        f"{_label(row.invoice_no, row.invoice_id)}: payment {row.payment_id} is allocated to another invoice's "
        f"installment (allocation {row.id})."
        for row in rows
    ]


def _check_vat_summaries() -> list[str]:
    """An invoice's amount and stored VAT summary are the sums of its lines: amount = net + VAT of
    every line; vatable, exempt and zero-rated sales = the net of the lines so treated; VAT = the
    lines' VAT; a seller who was not VAT-registered has no treated lines and no VAT."""

    def net_of(treatment: str):
        return func.sum(case((InvoiceLine.vat_treatment == treatment, InvoiceLine.net_amount), else_=0))

    sums = (
        select(
            InvoiceLine.invoice_id,
            func.sum(InvoiceLine.net_amount + InvoiceLine.tax_amount).label("total"),
            func.sum(InvoiceLine.tax_amount).label("vat"),
            net_of(rules.VATABLE).label("vatable"),
            net_of(rules.VAT_EXEMPT).label("exempt"),
            net_of(rules.ZERO_RATED).label("zero_rated"),
            func.sum(case((InvoiceLine.vat_treatment.is_not(None), 1), else_=0)).label("treated"),
        )
        .group_by(InvoiceLine.invoice_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Invoice.id,
            Invoice.invoice_no,
            (Invoice.amount + Invoice.credited_amount - Invoice.late_fee_amount).label("invoiced"),
            Invoice.vat_amount,
            Invoice.vatable_sales,
            Invoice.exempt_sales,
            Invoice.zero_rated_sales,
            Invoice.seller_vat_registered,
            sums.c.total,
            sums.c.vat,
            sums.c.vatable,
            sums.c.exempt,
            sums.c.zero_rated,
            sums.c.treated,
        )
        .outerjoin(sums, sums.c.invoice_id == Invoice.id)
        .where(
            or_(
                Invoice.amount + Invoice.credited_amount - Invoice.late_fee_amount != _zero(sums.c.total),
                Invoice.vat_amount != _zero(sums.c.vat),
                Invoice.vatable_sales != _zero(sums.c.vatable),
                Invoice.exempt_sales != _zero(sums.c.exempt),
                Invoice.zero_rated_sales != _zero(sums.c.zero_rated),
                and_(Invoice.seller_vat_registered.is_(False), _zero(sums.c.treated) > 0),
            )
        )
        .order_by(Invoice.id)
    )
    problems = []
    for row in rows:
        label = _label(row.invoice_no, row.id)
        for name, stored, computed in (
            ("amount (with its credit notes, less its late fees)", row.invoiced, row.total),
            ("VAT", row.vat_amount, row.vat),
            ("VATable sales", row.vatable_sales, row.vatable),
            ("VAT-exempt sales", row.exempt_sales, row.exempt),
            ("zero-rated sales", row.zero_rated_sales, row.zero_rated),
        ):
            computed = computed if computed is not None else ZERO
            if stored != computed:
                problems.append(f"{label}: {name} is {_amount(stored)} but its lines add up to {_amount(computed)}.")
        if not row.seller_vat_registered and (row.treated or 0) > 0:
            problems.append(f"{label}: the seller was not VAT-registered but lines have a VAT treatment.")
    return problems


def _check_late_fees() -> list[str]:
    """An invoice's late_fee_amount is the sum of its late fees not waived; a fee belongs to its
    invoice's client; a fee installment belongs to the fee's invoice."""
    from ..models import Installment, LateFee

    sums = (
        select(LateFee.invoice_id, func.sum(LateFee.amount).label("total"))
        .where(LateFee.waived_on.is_(None))
        .group_by(LateFee.invoice_id)
        .subquery()
    )
    problems = []
    for row in db.session.execute(
        select(Invoice.id, Invoice.invoice_no, Invoice.late_fee_amount, sums.c.total)
        .outerjoin(sums, sums.c.invoice_id == Invoice.id)
        .where(Invoice.late_fee_amount != _zero(sums.c.total))
        .order_by(Invoice.id)
    ):
        problems.append(
            f"{_label(row.invoice_no, row.id)}: late_fee_amount is {_amount(row.late_fee_amount)} but its late "
            f"fees not waived add up to {_amount(row.total or ZERO)}."
        )
    for fee_id, invoice_no, invoice_id in db.session.execute(
        select(LateFee.id, Invoice.invoice_no, Invoice.id)
        .join(Invoice, Invoice.id == LateFee.invoice_id)
        .outerjoin(Installment, Installment.id == LateFee.fee_installment_id)
        .where(
            or_(
                LateFee.client_id != Invoice.client_id,
                and_(LateFee.fee_installment_id.is_not(None), Installment.invoice_id != LateFee.invoice_id),
            )
        )
    ):
        problems.append(f"{_label(invoice_no, invoice_id)}: late fee {fee_id} does not match its invoice.")
    return problems


CREDIT_NUMBER_RE = re.compile(r"CN-(\d{4})-(\d{4,})")


def _check_credit_notes() -> list[str]:
    """An invoice's credited_amount is the sum of its credit notes, which belong to its client and
    to an issued invoice; each note's VAT split is within it; numbers CN-YYYY-NNNN run 1..counter
    per year of the note without gaps."""
    sums = (
        select(CreditNote.invoice_id, func.sum(CreditNote.amount - CreditNote.customer_credit).label("total"))
        .group_by(CreditNote.invoice_id)
        .subquery()
    )
    problems = []
    for row in db.session.execute(
        select(Invoice.id, Invoice.invoice_no, Invoice.credited_amount, sums.c.total)
        .outerjoin(sums, sums.c.invoice_id == Invoice.id)
        .where(Invoice.credited_amount != _zero(sums.c.total))
        .order_by(Invoice.id)
    ):
        problems.append(
            f"{_label(row.invoice_no, row.id)}: credited_amount is {_amount(row.credited_amount)} but its credit "
            f"notes (less customer credits) add up to {_amount(row.total or ZERO)}."
        )
    # A customer credit is flagged as an overpayment of its amount, referenced by the note's number.
    for credit_no, expected, flagged in db.session.execute(
        select(CreditNote.credit_no, CreditNote.customer_credit, Overpayment.amount)
        .outerjoin(Overpayment, Overpayment.provider_reference == CreditNote.credit_no)
        .where(or_(CreditNote.customer_credit > 0, Overpayment.id.is_not(None)))
        .order_by(CreditNote.credit_no)
    ):
        if flagged != expected:
            problems.append(
                f"{credit_no}: customer credit {_amount(expected)} but {_amount(flagged)} flagged as an overpayment."
            )
    numbers: dict[int, list[int]] = defaultdict(list)
    for note in db.session.execute(
        select(
            CreditNote.credit_no,
            CreditNote.issue_date,
            CreditNote.client_id,
            CreditNote.amount,
            CreditNote.vatable_amount + CreditNote.vat_amount + CreditNote.exempt_amount + CreditNote.zero_rated_amount,
            Invoice.client_id.label("invoice_client"),
            Invoice.issued_at,
        )
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .order_by(CreditNote.credit_no)
    ):
        credit_no, issued_on, client_id, amount, split, invoice_client, issued_at = note
        if client_id != invoice_client or issued_at is None:
            problems.append(f"{credit_no}: not on an issued invoice of its own client.")
        if split > amount:
            problems.append(f"{credit_no}: its VAT split ({_amount(split)}) exceeds it ({_amount(amount)}).")
        match = CREDIT_NUMBER_RE.fullmatch(credit_no)
        if match is None or int(match.group(1)) != issued_on.year:
            problems.append(f"{credit_no}: not a number of the form CN-YYYY-NNNN of the year it was issued.")
            continue
        numbers[issued_on.year].append(int(match.group(2)))
    counters = {
        year: last for year, last in db.session.execute(select(CreditNoteCounter.year, CreditNoteCounter.last_number))
    }
    for year in sorted(set(numbers) | set(counters)):
        used, last = sorted(numbers.get(year, [])), counters.get(year, 0)
        if used != list(range(1, last + 1)):
            problems.append(f"CN-{year:04d}: credit notes are numbered {_ranges(used) or 'none'}, not 1 to {last}.")
    return problems


def _check_installment_totals() -> list[str]:
    """Installment.paid_amount equals its allocations, which never exceed the installment."""
    alloc = (
        select(Allocation.installment_id, func.sum(Allocation.amount).label("total"))
        .group_by(Allocation.installment_id)
        .subquery()
    )
    allocated = _zero(alloc.c.total)
    rows = db.session.execute(
        select(
            Installment.number,
            Installment.amount,
            Installment.paid_amount,
            Invoice.id.label("invoice_id"),
            Invoice.invoice_no,
            alloc.c.total,
        )
        .join(Invoice, Invoice.id == Installment.invoice_id)
        .outerjoin(alloc, alloc.c.installment_id == Installment.id)
        .where(or_(Installment.paid_amount != allocated, allocated > Installment.amount))
        .order_by(Installment.invoice_id, Installment.number)
    )
    problems = []
    for row in rows:
        label = _label(row.invoice_no, row.invoice_id)
        total = row.total if row.total is not None else ZERO
        if row.paid_amount != total:
            problems.append(
                f"{label}: installment {row.number} has paid_amount {_amount(row.paid_amount)} but allocations of "
                f"{_amount(total)}."
            )
        if total > row.amount:
            problems.append(
                f"{label}: installment {row.number} of {_amount(row.amount)} is allocated {_amount(total)}."
            )
    return problems


def _check_next_due_dates() -> list[str]:
    """next_due_date is the earliest due date of an installment not fully paid; none when void."""
    earliest = (
        select(Installment.invoice_id, func.min(Installment.due_date).label("due"))
        .where(Installment.paid_amount < Installment.amount)
        .group_by(Installment.invoice_id)
        .subquery()
    )
    expected = case((Invoice.voided_at.is_(None), earliest.c.due))
    rows = db.session.execute(
        select(Invoice.id, Invoice.invoice_no, Invoice.next_due_date, expected.label("expected"))
        .outerjoin(earliest, earliest.c.invoice_id == Invoice.id)
        .where(Invoice.next_due_date.is_distinct_from(expected))
        .order_by(Invoice.id)
    )
    return [
        f"{_label(row.invoice_no, row.id)}: next_due_date is {row.next_due_date or 'empty'} but should be "
        f"{row.expected or 'empty'}."
        for row in rows
    ]


# --- Allocation order (streamed) ------------------------------------------------------------------


class _Grouped:
    """Rows ordered by invoice_id, taken one invoice at a time (skipping invoices not asked for)."""

    def __init__(self, rows):
        self._groups = groupby(rows, key=lambda row: row.invoice_id)
        self._current = next(self._groups, None)

    def take(self, invoice_id: int) -> list:
        while self._current is not None and self._current[0] < invoice_id:
            self._current = next(self._groups, None)
        if self._current is not None and self._current[0] == invoice_id:
            rows = list(self._current[1])
            self._current = next(self._groups, None)
            return rows
        return []


def _check_allocation_order() -> list[str]:
    """Recompute each invoice's allocation with the pure rules (oldest payment into the lowest
    installment) and compare it with the stored allocations and installment numbers."""
    payments = _stream(
        select(
            Payment.invoice_id, Payment.id, Payment.date, Payment.amount, Payment.installment_number, Invoice.invoice_no
        )
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Payment.state == CONFIRMED)
        .order_by(Payment.invoice_id, Payment.date, Payment.id)
    )
    installments = _Grouped(
        _stream(
            select(Installment.invoice_id, Installment.number, Installment.amount)
            .where(
                select(Payment.id)
                .where(Payment.invoice_id == Installment.invoice_id, Payment.state == CONFIRMED)
                .exists()
            )
            .order_by(Installment.invoice_id, Installment.number)
        )
    )
    allocations = _Grouped(
        _stream(
            select(Payment.invoice_id, Allocation.payment_id, Installment.number, Allocation.amount)
            .join(Payment, Payment.id == Allocation.payment_id)
            .join(Installment, Installment.id == Allocation.installment_id)
            .order_by(Payment.invoice_id)
        )
    )
    problems = []
    for invoice_id, group in groupby(payments, key=lambda row: row.invoice_id):
        rows = list(group)
        label = _label(rows[0].invoice_no, invoice_id)
        stored = {(a.payment_id, a.number): a.amount for a in allocations.take(invoice_id)}
        try:
            wanted = rules.allocate(
                [rules.PaymentIn(id=p.id, date=p.date, amount=p.amount) for p in rows],
                [rules.InstallmentIn(number=i.number, amount=i.amount) for i in installments.take(invoice_id)],
            )
        except rules.OverAllocation:
            problems.append(f"{label}: confirmed payments add up to more than the installments.")
            continue
        first = rules.first_installment_numbers(wanted)
        for payment in rows:
            if payment.installment_number != first.get(payment.id):
                problems.append(
                    f"{label}: payment {payment.id} names installment {payment.installment_number or 'none'} but "
                    f"oldest-first allocation gives {first.get(payment.id) or 'none'}."
                )
        if stored != {(a.payment_id, a.installment_number): a.amount for a in wanted}:
            problems.append(f"{label}: the stored allocations differ from oldest-first allocation of its payments.")
    return problems


# --- Invoice numbers ---------------------------------------------------------------------------


def _ranges(numbers: list[int]) -> str:
    parts, start = [], None
    for index, number in enumerate(numbers):
        if start is None:
            start = number
        if index + 1 == len(numbers) or numbers[index + 1] != number + 1:
            parts.append(str(start) if start == number else f"{start}-{number}")
            start = None
    if len(parts) > 10:
        parts = parts[:10] + [f"and {len(parts) - 10} more"]
    return ", ".join(parts)


def _check_invoice_numbers() -> list[str]:
    """Numbers are INV-YYYY-NNNN of the issue year, unique, and run 1..counter per year without gaps."""
    problems = []
    seen: dict[int, set[int]] = defaultdict(set)
    previous = None
    rows = _stream(
        select(Invoice.id, Invoice.invoice_no, Invoice.issue_date)
        .where(Invoice.invoice_no.is_not(None))
        .order_by(Invoice.invoice_no, Invoice.id)
    )
    for row in rows:
        if row.invoice_no == previous:
            problems.append(f"{row.invoice_no}: the number is used by more than one invoice.")
            continue
        previous = row.invoice_no
        match = NUMBER_RE.fullmatch(row.invoice_no)
        if match is None or row.invoice_no != rules.format_invoice_number(int(match[1]), max(int(match[2]), 1)):
            problems.append(f"{row.invoice_no}: not a number of the form INV-YYYY-NNNN.")
            continue
        year, number = int(match[1]), int(match[2])
        if year != row.issue_date.year:
            problems.append(f"{row.invoice_no}: numbered in {year} but issued on {row.issue_date.isoformat()}.")
        seen[year].add(number)

    counters = {
        row.year: row.last_number for row in db.session.execute(select(InvoiceCounter.year, InvoiceCounter.last_number))
    }
    for year in sorted(set(seen) | set(counters)):
        last = counters.get(year)
        numbers = seen.get(year, set())
        if last is None:
            problems.append(f"INV-{year:04d}: invoices are numbered in {year} but there is no counter for the year.")
            last = max(numbers)
        missing = sorted(set(range(1, last + 1)) - numbers)
        if missing:
            problems.append(
                f"INV-{year:04d}: numbers missing (gaps) in {year}: {_ranges(missing)} (counter at {last})."
            )
        beyond = sorted(n for n in numbers if n > last)
        if beyond:
            problems.append(f"INV-{year:04d}: numbers beyond the counter ({last}) in {year}: {_ranges(beyond)}.")
    return problems


# --- Running totals (monthly_totals, due_day_totals, client_due_day_totals, due_day_balances and the rest)

MONTHLY_NAMES = books.MONTHLY_COLUMNS
DAILY_NAMES = books.DAILY_COLUMNS
CLIENT_NAMES = books.CLIENT_COLUMNS
SHOWN_MISMATCHES = 20  # a wrong total usually repeats over many rows: the first ones say enough


def _month(day) -> date:
    return day.replace(day=1)


def _compare(label: str, fmt, names, expected: dict, stored: dict) -> list[str]:
    """One sentence per row whose stored values differ from the recomputed ones (the first few);
    ``fmt`` formats a row's key: a format spec, or a function for a key of several columns."""
    empty = [0] * len(names)
    problems = []
    for key in sorted(set(expected) | set(stored)):
        want = expected.get(key, empty)
        have = stored.get(key, empty)
        wrong = [f"{name} {have[i]} (should be {want[i]})" for i, name in enumerate(names) if have[i] != want[i]]
        if wrong:
            shown = fmt(key) if callable(fmt) else format(key, fmt)
            problems.append(f"{label} {shown}: {', '.join(wrong)}.")
    if len(problems) > SHOWN_MISMATCHES:
        more = len(problems) - SHOWN_MISMATCHES
        problems = problems[:SHOWN_MISMATCHES] + [f"{label}: {more} more rows disagree with the books."]
    return problems


def _check_monthly_totals() -> list[str]:
    """monthly_totals equal their recomputation from the invoices, installments and payments
    (books.recomputed_months)."""
    expected = books.recomputed_months()
    stored = {
        row.month: [getattr(row, name) for name in MONTHLY_NAMES]
        for row in db.session.execute(select(MonthlyTotal.month, *(getattr(MonthlyTotal, n) for n in MONTHLY_NAMES)))
    }
    return _compare("Monthly totals", "%Y-%m", MONTHLY_NAMES, expected, stored)


def _check_due_day_totals() -> list[str]:
    """due_day_totals equal their recomputation from the installments and payments
    (books.recomputed_days): unpaid installments of open invoices per due day, confirmed payments
    per payment day."""
    expected = books.recomputed_days()
    stored = {
        row.day: [row.unpaid_due, row.unpaid_count, row.collected]
        for row in db.session.execute(
            select(DueDayTotal.day, DueDayTotal.unpaid_due, DueDayTotal.unpaid_count, DueDayTotal.collected)
        )
    }
    return _compare("Due-day totals", "%Y-%m-%d", DAILY_NAMES, expected, stored)


def _check_client_due_day_totals() -> list[str]:
    """client_due_day_totals equal their recomputation from the installments
    (books.recomputed_client_due_days): the unpaid part and count of each client's installments of
    open invoices per due day.  Stored rows of zeros (what was due that day is paid) agree with
    the recomputation, which leaves them out, and are not read."""
    expected = books.recomputed_client_due_days()
    table = ClientDueDayTotal
    stored = {
        (row.client_id, row.due_day): [row.unpaid_due, row.unpaid_count]
        for row in db.session.execute(
            select(table.client_id, table.due_day, table.unpaid_due, table.unpaid_count).where(
                or_(table.unpaid_due != ZERO, table.unpaid_count != 0)
            )
        )
    }

    def describe(key) -> str:
        client_id, due_day = key
        return f"{client_id}, due {due_day:%Y-%m-%d}"

    return _compare("Open totals of client", describe, CLIENT_NAMES, expected, stored)


def _check_due_day_balances() -> list[str]:
    """due_day_balances and due_month_balances equal their recomputation from the installments,
    late fees and allocations (books.opened_and_paid_by_day, summed per due month for the months):
    each stored row holds what was open at the end of its day of the installments due on its due
    day (or in its due month), and every day that changed that amount has its row (a row for a day
    without a change, left by a change later undone, is right if it holds the same amount); every
    due day (month) with a row is listed in balance_due_days (balance_due_months).
    Computed in SQL (window sums over the changes and the stored rows together), only the rows that
    differ come back."""
    changes = books.opened_and_paid_by_day().subquery("changes")
    month = month_start(changes.c.due_day)
    month_changes = (
        select(month.label("due_day"), changes.c.day, type_coerce(func.sum(changes.c.change), Money()).label("change"))
        .group_by(month, changes.c.day)
        .subquery("month_changes")
    )
    return _check_running_balances(
        changes, DueDayBalance.__table__, "due_day", BalanceDueDay.__table__, "the installments due {:%Y-%m-%d}"
    ) + _check_running_balances(
        month_changes,
        DueMonthBalance.__table__,
        "due_month",
        BalanceDueMonth.__table__,
        "the installments due in {:%B %Y}",
    )


def _check_running_balances(changes, stored_table, key: str, listed_table, label: str) -> list[str]:
    """Running balances per (key, day) in ``stored_table`` against ``changes`` (key as ``due_day``,
    day, change); every key listed in ``listed_table``.  ``label`` names a key's installments."""
    stored_key = stored_table.c[key]
    both = union_all(
        select(changes.c.due_day, changes.c.day, changes.c.change, type_coerce(null(), Money()).label("stored")),
        select(stored_key, stored_table.c.day, literal(ZERO, Money()), stored_table.c.open),
    ).subquery("both")
    per_day = (
        select(
            both.c.due_day,
            both.c.day,
            type_coerce(func.sum(both.c.change), Money()).label("change"),
            type_coerce(func.max(both.c.stored), Money()).label("stored"),
            func.count(both.c.stored).label("rows"),
        )
        .group_by(both.c.due_day, both.c.day)
        .subquery("per_day")
    )
    running = select(
        per_day,
        type_coerce(
            func.sum(per_day.c.change).over(partition_by=per_day.c.due_day, order_by=per_day.c.day), Money()
        ).label("should"),
    ).subquery("running")
    differing = db.session.execute(
        select(running.c.due_day, running.c.day, running.c.stored, running.c.should, running.c.rows)
        .where(
            or_(
                and_(running.c.rows == 0, running.c.change != 0),
                and_(running.c.rows > 0, running.c.stored != running.c.should),
            )
        )
        .order_by(running.c.due_day, running.c.day)
    ).all()
    problems = [
        f"Open balance of {label.format(due)}, on {day:%Y-%m-%d}: "
        + (f"{_amount(stored)}" if rows else "no row")
        + f" (should be {_amount(should)})."
        for due, day, stored, should, rows in differing[:SHOWN_MISMATCHES]
    ]
    if len(differing) > SHOWN_MISMATCHES:
        more = len(differing) - SHOWN_MISMATCHES
        problems.append(f"Open balances per {key.replace('_', ' ')}: {more} more rows disagree with the books.")
    # The aging report reads the keys from their list: one missing would drop its balances.
    listed_key = listed_table.c[key]
    unlisted = db.session.scalars(
        select(stored_key)
        .where(~select(listed_key).where(listed_key == stored_key).exists())
        .group_by(stored_key)
        .order_by(stored_key)
        .limit(SHOWN_MISMATCHES)
    ).all()
    problems.extend(f"Open balances of {label.format(due)}: missing from {listed_table.name}." for due in unlisted)
    return problems


def _check_client_open_changes() -> list[str]:
    """client_open_changes equal their recomputation from the installments, late fees and
    allocations (books.client_opened_and_paid).  Computed in SQL (the recomputed changes less the
    stored ones, summed per key): only the keys that differ come back; a stored row of zero (a
    change later undone) agrees with a key the recomputation leaves out."""
    expected = books.client_opened_and_paid().subquery("expected")
    table = ClientOpenChange
    both = union_all(
        select(
            expected.c.client_id,
            expected.c.day,
            expected.c.due_day,
            expected.c.change.label("difference"),
            expected.c.change.label("should"),
        ),
        select(table.client_id, table.day, table.due_day, -table.change, literal(ZERO, Money())),
    ).subquery("both")
    key = (both.c.client_id, both.c.day, both.c.due_day)
    differing = db.session.execute(
        select(
            *key,
            type_coerce(func.sum(both.c.difference), Money()),
            type_coerce(func.sum(both.c.should), Money()),
        )
        .group_by(*key)
        .having(func.sum(both.c.difference) != ZERO)
        .order_by(*key)
        .limit(SHOWN_MISMATCHES + 1)
    ).all()
    problems = [
        f"Change to the installments of client {client_id} due {due_day:%Y-%m-%d}, on {day:%Y-%m-%d}: "
        f"{_amount(should - difference)} (should be {_amount(should)})."
        for client_id, day, due_day, difference, should in differing[:SHOWN_MISMATCHES]
    ]
    if len(differing) > SHOWN_MISMATCHES:
        problems.append("Changes per client, day and due day: more rows disagree with the books.")
    return problems


def _check_owing_client_counts() -> list[str]:
    """owing_client_counts equal their recomputation (books.owing_counts) from the recomputed
    client changes: the number of clients owing at the end of each day.  A stored row for a day
    on which the number did not change (left by a change later undone) is right if it holds the
    number of the day before."""
    changes = books.client_opened_and_paid().subquery("changes")
    expected = books.owing_counts(
        db.session.execute(
            select(changes.c.client_id, changes.c.day, func.sum(changes.c.change)).group_by(
                changes.c.client_id, changes.c.day
            )
        )
    )
    stored = dict(db.session.execute(select(OwingClientCount.day, OwingClientCount.owing)).all())
    problems = []
    should = have = 0
    for day in sorted(set(expected) | set(stored)):
        should, have = expected.get(day, should), stored.get(day, have)
        if should != have:
            problems.append(f"Clients owing at the end of {day:%Y-%m-%d}: {have} (should be {should}).")
    if len(problems) > SHOWN_MISMATCHES:
        more = len(problems) - SHOWN_MISMATCHES
        problems = problems[:SHOWN_MISMATCHES] + [f"Clients owing per day: {more} more days disagree with the books."]
    return problems


def totals_drift() -> list[str]:
    """Where the running totals (monthly_totals, due_day_totals, client_due_day_totals,
    due_day_balances, due_month_balances, client_open_changes, owing_client_counts) disagree with
    the books."""
    return (
        _check_monthly_totals()
        + _check_due_day_totals()
        + _check_client_due_day_totals()
        + _check_due_day_balances()
        + _check_client_open_changes()
        + _check_owing_client_counts()
    )


# --- Aging ----------------------------------------------------------------------------------------


def _check_aging() -> list[str]:
    """Statements, aging report and forecast agree, as of today.

    * Per client: the aging of their open installments (ais.billing.aging, from the allocations;
      the statement's aging and the report's drill-down read the same) equals their statement's
      closing balance (``statements.closing_balances``: invoices and late fees less payments).
    * In total, per bucket: the report's totals, read from the running open balances per due day
      (``aging.aging_totals``), equal the sum of every client's aging.
    * The forecast's overdue figure (``monthly_totals`` before this month, ``due_day_totals`` of
      this month before today) equals the report's past-due buckets.
    """
    today = clock.today()
    day = today.isoformat()
    clients = list(aging.all_client_agings(today))
    aged = {row.client_id: row.aging.total for row in clients}
    closing = statements.closing_balances(today)
    problems = []
    for client_id in sorted(set(aged) | {c for c, balance in closing.items() if balance}):
        got, owed = aged.get(client_id, ZERO), closing.get(client_id, ZERO)
        if got != owed:
            problems.append(
                f"Aging of client {client_id} on {day}: {_amount(got)} (statement closing balance {_amount(owed)})."
            )
    exact = aging.Aging(*(sum((getattr(row.aging, name) for row in clients), ZERO) for name in AGING_FIELDS))
    report = aging.aging_totals(today)
    for name, label in zip(AGING_FIELDS, aging.BUCKETS, strict=True):
        if getattr(report, name) != getattr(exact, name):
            problems.append(
                f"Aging report totals on {day}, {aging.BUCKET_LABELS[label]}: {_amount(getattr(report, name))} "
                f"(the clients' installments say {_amount(getattr(exact, name))})."
            )
    this_month = today.replace(day=1)
    before_month = select(type_coerce(_zero(func.sum(MonthlyTotal.unpaid_due)), Money())).where(
        MonthlyTotal.month < this_month
    )
    this_month_before_today = select(type_coerce(_zero(func.sum(DueDayTotal.unpaid_due)), Money())).where(
        DueDayTotal.day >= this_month, DueDayTotal.day < today
    )
    forecast_overdue = (db.session.scalar(before_month) or ZERO) + (db.session.scalar(this_month_before_today) or ZERO)
    past_due = exact.total - exact.current
    if forecast_overdue != past_due:
        problems.append(
            f"Forecast overdue on {day}: {_amount(forecast_overdue)} "
            f"(the aging report's past-due buckets say {_amount(past_due)})."
        )
    return problems


AGING_FIELDS = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")


# --- The ledger (docs/ACCOUNTING.md) ------------------------------------------------------------


def _check_ledger_entries() -> list[str]:
    """Every entry balances, and each journal's numbers run 1..n without gaps."""
    problems = []
    unbalanced = db.session.execute(
        select(JournalEntry.journal, JournalEntry.number, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .group_by(JournalEntry.id, JournalEntry.journal, JournalEntry.number)
        .having(func.sum(JournalLine.debit) != func.sum(JournalLine.credit))
    )
    for journal, number, debit, credit in unbalanced:
        problems.append(
            f"Journal entry {journal} #{number} does not balance: debits {_amount(debit)}, credits {_amount(credit)}."
        )
    numbering = db.session.execute(
        select(JournalEntry.journal, func.count(), func.max(JournalEntry.number)).group_by(JournalEntry.journal)
    )
    counters = dict(db.session.execute(select(JournalCounter.journal, JournalCounter.last_number)).all())
    for journal, count, highest in numbering:
        if count != highest or counters.get(journal) != highest:
            problems.append(
                f"The {journal} journal's entries are not numbered 1..{count} without gaps "
                f"(highest {highest}, counter {counters.get(journal)})."
            )
    return problems


def _account_labels() -> dict[int, str]:
    return {
        account_id: f"{code} {name}"
        for account_id, code, name in db.session.execute(select(Account.id, Account.code, Account.name))
    }


def _check_account_balances() -> list[str]:
    """The running balances per account and month equal the lines posted in that month."""
    from_lines: dict[tuple[int, date], list] = defaultdict(lambda: [ZERO, ZERO])
    rows = db.session.execute(
        select(JournalLine.account_id, JournalEntry.date, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .group_by(JournalLine.account_id, JournalEntry.date)
    )
    for account_id, day, debit, credit in rows:
        key = (account_id, _month(day))
        from_lines[key][0] += Decimal(debit)
        from_lines[key][1] += Decimal(credit)
    stored = {
        (account_id, month): [debit, credit]
        for account_id, month, debit, credit in db.session.execute(
            select(AccountBalance.account_id, AccountBalance.month, AccountBalance.debit, AccountBalance.credit)
        )
    }
    labels = _account_labels()
    problems = []
    for key in sorted(set(from_lines) | set(stored)):
        expected = from_lines.get(key, [ZERO, ZERO])
        found = stored.get(key, [ZERO, ZERO])
        if expected != found:
            account_id, month = key
            problems.append(
                f"Account {labels.get(account_id, account_id)}, {month:%Y-%m}: running balance says debits "
                f"{_amount(found[0])} / credits {_amount(found[1])}, "
                f"its lines {_amount(expected[0])} / {_amount(expected[1])}."
            )
    return problems


def _check_day_balances() -> list[str]:
    """The running balances per account and day (and per client and day) equal the sums of the
    lines up to that day, each day with lines has its row and no row is for a day without lines:
    computed in SQL (window sums), only the rows that differ come back."""
    problems = []
    labels = _account_labels()
    for model, keys in ((AccountDayBalance, ("account_id",)), (ClientDayBalance, ("account_id", "client_id"))):
        line_owner = [getattr(JournalLine, name) for name in keys]
        days = (
            select(
                *line_owner,
                JournalLine.date.label("day"),
                func.sum(JournalLine.debit).label("debit"),
                func.sum(JournalLine.credit).label("credit"),
            )
            .where(*(column.is_not(None) for column in line_owner))
            .group_by(*line_owner, JournalLine.date)
            .subquery("days")
        )
        owner = [days.c[name] for name in keys]
        running = select(
            *owner,
            days.c.day,
            func.sum(days.c.debit).over(partition_by=owner, order_by=days.c.day).label("debit"),
            func.sum(days.c.credit).over(partition_by=owner, order_by=days.c.day).label("credit"),
        ).subquery("running")
        same_day = and_(*(getattr(model, name) == running.c[name] for name in keys), model.day == running.c.day)
        differing = db.session.execute(
            select(
                *(running.c[name] for name in keys),
                running.c.day,
                model.debit,
                model.credit,
                running.c.debit,
                running.c.credit,
            )
            .outerjoin(model, same_day)
            .where(or_(model.day.is_(None), model.debit != running.c.debit, model.credit != running.c.credit))
        ).all()
        has_lines = (
            select(JournalLine.id)
            .where(
                *(getattr(JournalLine, name) == getattr(model, name) for name in keys), JournalLine.date == model.day
            )
            .exists()
        )
        without_lines = db.session.execute(
            select(*(getattr(model, name) for name in keys), model.day, model.debit, model.credit).where(~has_lines)
        ).all()
        for row in differing:
            *whose_key, day, found_debit, found_credit, debit, credit = row
            problems.append(
                f"Account {_whose(labels, whose_key)}, {day:%Y-%m-%d}: the running balance of the day says "
                + (
                    f"debits {_amount(found_debit)} / credits {_amount(found_credit)}"
                    if found_debit is not None
                    else "nothing"
                )
                + f", the lines up to that day {_amount(debit)} / {_amount(credit)}."
            )
        for *whose_key, day, found_debit, found_credit in without_lines:
            problems.append(
                f"Account {_whose(labels, whose_key)}, {day:%Y-%m-%d}: a running balance of the day "
                f"(debits {_amount(found_debit)} / credits {_amount(found_credit)}) for a day without lines."
            )
    return problems


def _check_client_accounts() -> list[str]:
    """``client_accounts`` holds exactly the (account, client) pairs that have running balances per
    day: the receivables sub-ledger lists and counts its clients from it."""
    pairs = select(ClientDayBalance.account_id, ClientDayBalance.client_id).distinct().subquery("pairs")
    listed = and_(ClientAccount.account_id == pairs.c.account_id, ClientAccount.client_id == pairs.c.client_id)
    missing = db.session.execute(
        select(pairs.c.account_id, pairs.c.client_id)
        .outerjoin(ClientAccount, listed)
        .where(ClientAccount.client_id.is_(None))
        .order_by(pairs.c.account_id, pairs.c.client_id)
    ).all()
    has_balances = (
        select(ClientDayBalance.day)
        .where(
            ClientDayBalance.account_id == ClientAccount.account_id,
            ClientDayBalance.client_id == ClientAccount.client_id,
        )
        .exists()
    )
    extra = db.session.execute(
        select(ClientAccount.account_id, ClientAccount.client_id)
        .where(~has_balances)
        .order_by(ClientAccount.account_id, ClientAccount.client_id)
    ).all()
    if not missing and not extra:
        return []
    labels = _account_labels()
    return [
        f"Account {_whose(labels, list(key))}: running balances per day, but the client is not among the "
        "account's clients (client_accounts); the receivables sub-ledger leaves them out."
        for key in missing
    ] + [
        f"Account {_whose(labels, list(key))}: among the account's clients (client_accounts), but with no "
        "running balance per day."
        for key in extra
    ]


def _whose(labels: dict[int, str], key: list) -> str:
    return f"{labels.get(key[0], key[0])}" + (f", client {key[1]}" if len(key) > 1 else "")


def _check_line_dates() -> list[str]:
    """Each line carries its entry's date (the general ledger reads lines by it)."""
    wrong = db.session.scalar(
        select(func.count())
        .select_from(JournalLine)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.date != JournalEntry.date)
    )
    return [f"{wrong} journal lines do not carry the date of their entry."] if wrong else []


def _role_balance_by_client(role: str) -> dict[int | None, Decimal]:
    """Debits less credits on the account of a role, per client."""
    statement = (
        select(
            JournalLine.client_id,
            func.coalesce(func.sum(JournalLine.debit), 0) - func.coalesce(func.sum(JournalLine.credit), 0),
        )
        .join(Account, Account.id == JournalLine.account_id)
        .where(Account.role == role)
        .group_by(JournalLine.client_id)
    )
    return {client_id: Decimal(value) for client_id, value in db.session.execute(statement)}


def _role_balance(role: str) -> Decimal:
    """Debits less credits on the account of a role."""
    return sum(_role_balance_by_client(role).values(), ZERO)


def _check_receivable() -> list[str]:
    """The receivable control account equals the open balances of issued, non-void invoices,
    per client and in total."""
    open_balances: dict[int | None, Decimal] = {
        client_id: Decimal(value)
        for client_id, value in db.session.execute(
            select(Invoice.client_id, func.sum(Invoice.amount - Invoice.paid_amount))
            .where(Invoice.issued_at.is_not(None), Invoice.voided_at.is_(None))
            .group_by(Invoice.client_id)
        )
    }
    ledger = _role_balance_by_client("receivable")
    problems = []
    for client_id in sorted(set(open_balances) | set(ledger), key=lambda key: (key is None, key or 0)):
        expected, found = open_balances.get(client_id, ZERO), ledger.get(client_id, ZERO)
        if expected != found:
            problems.append(
                f"Accounts receivable of client {client_id}: the ledger says {_amount(found)}, "
                f"the open invoices {_amount(expected)}."
            )
    total_expected = sum(open_balances.values(), ZERO)
    total_found = sum(ledger.values(), ZERO)
    if total_expected != total_found:
        problems.append(
            f"Accounts receivable: the ledger says {_amount(total_found)}, the open invoices {_amount(total_expected)}."
        )
    return problems


def _check_method_accounts() -> list[str]:
    """Each payment method's account holds its confirmed payments (besides the overpayments posted
    to it that were not refunded)."""
    expected: dict[int, Decimal] = defaultdict(lambda: ZERO)
    rows = db.session.execute(
        select(MethodAccount.account_id, func.sum(Payment.amount))
        .join(MethodAccount, MethodAccount.method == Payment.method)
        .where(Payment.state == CONFIRMED)
        .group_by(MethodAccount.account_id)
    )
    for account_id, total in rows:
        expected[account_id] += Decimal(total)
    unmapped = db.session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(
            Payment.state == CONFIRMED,
            Payment.method.not_in(select(MethodAccount.method)),
            Payment.method != methods.CUSTOMER_CREDIT,  # (posts from customer credits, no method account)
        )
    )
    method_ids = set(db.session.scalars(select(MethodAccount.account_id)))
    overpaid = db.session.execute(
        select(JournalLine.account_id, func.sum(JournalLine.debit) - func.sum(JournalLine.credit))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.source_type == "overpayment")
        .group_by(JournalLine.account_id)
    )
    for account_id, net in overpaid:
        if account_id in method_ids:
            expected[account_id] += Decimal(net)
    found = {
        account_id: Decimal(net)
        for account_id, net in db.session.execute(
            select(JournalLine.account_id, func.sum(JournalLine.debit) - func.sum(JournalLine.credit))
            .where(JournalLine.account_id.in_(select(MethodAccount.account_id)))
            .group_by(JournalLine.account_id)
        )
    }
    labels = _account_labels()
    problems = []
    if unmapped:
        problems.append(f"{unmapped} confirmed payments have a method no account is set for.")
    for account_id in sorted(set(expected) | set(found)):
        if expected.get(account_id, ZERO) != found.get(account_id, ZERO):
            problems.append(
                f"Account {labels.get(account_id, account_id)}: "
                f"the ledger says {_amount(found.get(account_id, ZERO))}, "
                f"the confirmed payments by its methods {_amount(expected.get(account_id, ZERO))}."
            )
    return problems


def _check_customer_credits() -> list[str]:
    """Each customer credit's applied_amount is the sum of its confirmed applications (payments by
    "Customer credit" of the same amount and client), what it applied and refunded is within it,
    and an open one has something left; the customer credits account holds, per client, what the
    credits gave (a flagged overpayment, a credit note's credit on a live invoice) less what was
    applied and refunded by hand (a refund through the provider reverses the whole receipt)."""
    problems = []
    applied = (
        select(CreditApplication.overpayment_id, func.sum(CreditApplication.amount).label("total"))
        .join(Payment, Payment.id == CreditApplication.payment_id)
        .where(Payment.state == CONFIRMED)
        .group_by(CreditApplication.overpayment_id)
        .subquery()
    )
    for row in db.session.execute(
        select(
            Overpayment.provider_reference,
            Overpayment.amount,
            Overpayment.applied_amount,
            Overpayment.refunded_amount,
            Overpayment.resolved_at,
            applied.c.total,
        )
        .outerjoin(applied, applied.c.overpayment_id == Overpayment.id)
        .where(
            or_(
                Overpayment.applied_amount != _zero(applied.c.total),
                Overpayment.applied_amount + Overpayment.refunded_amount > Overpayment.amount,
                Overpayment.applied_amount < 0,
                Overpayment.refunded_amount < 0,
                and_(
                    Overpayment.resolved_at.is_(None),
                    Overpayment.applied_amount + Overpayment.refunded_amount >= Overpayment.amount,
                ),
            )
        )
        .order_by(Overpayment.id)
    ):
        reference, amount, applied_amount, refunded, resolved_at, total = row
        if applied_amount != (total or ZERO):
            problems.append(
                f"Customer credit {reference}: applied_amount is {_amount(applied_amount)} but its confirmed "
                f"applications add up to {_amount(total or ZERO)}."
            )
        if applied_amount < 0 or refunded < 0 or applied_amount + refunded > amount:
            problems.append(
                f"Customer credit {reference}: {_amount(applied_amount)} applied and {_amount(refunded)} refunded "
                f"of {_amount(amount)}."
            )
        elif resolved_at is None and applied_amount + refunded >= amount:
            problems.append(f"Customer credit {reference}: open with nothing left.")
    for reference, payment_id in db.session.execute(
        select(Overpayment.provider_reference, Payment.id)
        .select_from(CreditApplication)
        .join(Overpayment, Overpayment.id == CreditApplication.overpayment_id)
        .join(Payment, Payment.id == CreditApplication.payment_id)
        .where(
            or_(
                Payment.amount != CreditApplication.amount,
                Payment.method != methods.CUSTOMER_CREDIT,
                Payment.client_id != Overpayment.client_id,
            )
        )
        .order_by(CreditApplication.id)
    ):
        problems.append(
            f"Customer credit {reference}: payment {payment_id} differs from its application "
            "(amount, method or client)."
        )
    provider_refunded = and_(
        Overpayment.provider != "credit_note",
        Overpayment.refund_method.is_(None),
        Overpayment.resolved_at.is_not(None),
        Overpayment.resolution.startswith("Refunded in "),
    )
    credit_note_reversed = and_(Overpayment.provider == "credit_note", Invoice.voided_at.is_not(None))
    given = case((or_(provider_refunded, credit_note_reversed), 0), else_=Overpayment.amount)
    expected: dict[int | None, Decimal] = {
        client_id: Decimal(total)
        for client_id, total in db.session.execute(
            select(
                Overpayment.client_id,
                func.sum(type_coerce(given, Money()) - Overpayment.applied_amount - Overpayment.refunded_amount),
            )
            .outerjoin(Invoice, Invoice.id == Overpayment.invoice_id)
            .group_by(Overpayment.client_id)
        )
    }
    found = {client_id: -net for client_id, net in _role_balance_by_client("customer_credit").items()}
    for client_id in sorted(set(expected) | set(found), key=lambda key: (key is None, key or 0)):
        if expected.get(client_id, ZERO) != found.get(client_id, ZERO):
            problems.append(
                f"Customer credits of client {client_id}: the ledger says {_amount(found.get(client_id, ZERO))}, "
                f"the credits less what was applied and refunded {_amount(expected.get(client_id, ZERO))}."
            )
    return problems


def _check_output_vat() -> list[str]:
    """Output VAT equals the VAT of issued, non-void invoices less their credit notes' VAT."""
    live = and_(Invoice.issued_at.is_not(None), Invoice.voided_at.is_(None))
    invoiced = Decimal(db.session.scalar(select(func.coalesce(func.sum(Invoice.vat_amount), 0)).where(live)) or 0)
    credited = Decimal(
        db.session.scalar(
            select(func.coalesce(func.sum(CreditNote.vat_amount), 0))
            .join(Invoice, Invoice.id == CreditNote.invoice_id)
            .where(live)
        )
        or 0
    )
    found = -_role_balance("output_vat")
    if found != invoiced - credited:
        return [
            f"Output VAT: the ledger says {_amount(found)}, the invoices' VAT less their credit notes' "
            f"{_amount(invoiced - credited)}."
        ]
    return []


def _check_closed_periods() -> list[str]:
    """Nothing was posted into a month after it was closed (one count per closed month)."""
    problems = []
    for month, closed_at in db.session.execute(select(ClosedPeriod.month, ClosedPeriod.closed_at)).all():
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        late = db.session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.date >= month, JournalEntry.date < following, JournalEntry.created_at > closed_at)
        )
        if late:
            problems.append(f"{late} entries were posted into {month:%Y-%m} after it was closed.")
    return problems


LEDGER_CHECKS = (
    _check_ledger_entries,
    _check_closed_periods,
    _check_account_balances,
    _check_line_dates,
    _check_day_balances,
    _check_client_accounts,
    _check_receivable,
    _check_method_accounts,
    _check_customer_credits,
    _check_output_vat,
)
