"""Billing rules for AIS: line totals, installment schedules, payment allocation,
amounts due and statuses.

Pure functions over plain values (Decimal, date, frozen dataclasses) so that the
rules can be tested exhaustively without a database or a web request.  Money is
always a ``Decimal`` with two places; internally sums are worked in whole cents
(ints) where splitting or allocating is involved, because integer arithmetic
cannot lose or invent a cent.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext

from .money import from_minor_units, round_half_up, to_minor_units

__all__ = [
    "WEEKLY",
    "BIWEEKLY",
    "MONTHLY",
    "FREQUENCIES",
    "PAID",
    "OVERDUE",
    "PARTIAL",
    "PENDING",
    "VOID",
    "DRAFT",
    "ScheduledInstallment",
    "PaymentIn",
    "InstallmentIn",
    "Allocation",
    "OverAllocation",
    "ScheduleOutOfRange",
    "InstallmentState",
    "line_totals",
    "VATABLE",
    "VAT_EXEMPT",
    "ZERO_RATED",
    "VAT_TREATMENTS",
    "VatSummary",
    "vat_line_totals",
    "vat_summary",
    "split_amount",
    "add_months",
    "due_dates",
    "build_schedule",
    "allocate",
    "first_installment_numbers",
    "installment_paid_amounts",
    "amount_due_now",
    "installments_due_now",
    "next_unpaid",
    "DUE_NOW_LABEL",
    "NEXT_INSTALLMENT_LABEL",
    "NextInstallment",
    "Owed",
    "owed",
    "uncovered",
    "PayoffQuote",
    "payoff_quote",
    "invoice_status",
    "installment_status",
    "replan",
    "ScheduleOutOfOrder",
    "earliest_replan_start",
    "format_invoice_number",
    "format_credit_note_number",
    "shrink_from_last",
    "split_credit",
    "FLAT",
    "PERCENT",
    "late_fee_base",
    "late_fee",
    "late_fee_is_due",
    "applicable_credit",
    "credit_application_refusal",
]

WEEKLY, BIWEEKLY, MONTHLY = "weekly", "biweekly", "monthly"
FREQUENCIES = (WEEKLY, BIWEEKLY, MONTHLY)

PAID, OVERDUE, PARTIAL, PENDING, VOID, DRAFT = "paid", "overdue", "partial", "pending", "void", "draft"

ZERO = Decimal("0.00")

_DAYS_BETWEEN = {WEEKLY: 7, BIWEEKLY: 14}

# Wide enough that multiplying any two bounded inputs is exact, so the only
# rounding in a line total is the explicit round_half_up.
_EXACT_PRECISION = 200


def _require_decimal(value: object, name: str) -> Decimal:
    # Floats would carry binary noise into money; bools are ints by accident.
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number")
    return value


def _require_count(count: object, name: str = "count") -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"{name} must be an int")
    if count < 1:
        raise ValueError(f"{name} must be at least 1")
    return count


def _require_frequency(frequency: str) -> str:
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}")
    return frequency


# --------------------------------------------------------------------------
# Invoice lines
# --------------------------------------------------------------------------


def line_totals(quantity: Decimal, unit_price: Decimal, tax_rate_percent: Decimal | None) -> tuple[Decimal, Decimal]:
    """Return ``(net, tax)`` for one invoice line, each rounded half-up to cents.

    Rule: net = round_half_up(quantity x unit_price); tax =
    round_half_up(net x rate / 100), or 0.00 when the line has no tax rate.
    Tax is computed on the *rounded* net, so the tax printed on the invoice can
    always be re-derived from the net printed beside it.
    """
    quantity = _require_decimal(quantity, "quantity")
    unit_price = _require_decimal(unit_price, "unit_price")
    with localcontext() as context:
        context.prec = _EXACT_PRECISION
        net = round_half_up(quantity * unit_price)
        if tax_rate_percent is None:
            return net, ZERO
        rate = _require_decimal(tax_rate_percent, "tax_rate_percent")
        tax = round_half_up((net * rate).scaleb(-2))
    return net, tax


# --------------------------------------------------------------------------
# VAT (Philippines: 12 % on VATable sales; VAT-exempt and zero-rated sales carry none)
# --------------------------------------------------------------------------

VATABLE, VAT_EXEMPT, ZERO_RATED = "vatable", "exempt", "zero_rated"
VAT_TREATMENTS = (VATABLE, VAT_EXEMPT, ZERO_RATED)


def vat_line_totals(
    quantity: Decimal,
    unit_price: Decimal,
    treatment: str | None,
    rate_percent: Decimal,
    prices_include_vat: bool,
) -> tuple[Decimal, Decimal]:
    """Return ``(net, vat)`` for one line of a sales invoice, each to the centavo.

    Rule: amount = round_half_up(quantity x unit price).  A VATable line's VAT is
    round_half_up(amount x rate / (100 + rate)) when prices include VAT (12/112 at 12 %), and
    its net is amount - VAT, so net + VAT is exactly the price the buyer sees; when prices
    exclude VAT, net = amount and VAT = round_half_up(net x rate / 100).  VAT-exempt and
    zero-rated lines, and every line of a seller who is not VAT-registered (``treatment`` None),
    carry no VAT: net = amount.  Rounding is per line; an invoice's totals are sums of lines.
    """
    quantity = _require_decimal(quantity, "quantity")
    unit_price = _require_decimal(unit_price, "unit_price")
    if treatment is not None and treatment not in VAT_TREATMENTS:
        raise ValueError(f"treatment must be one of {', '.join(VAT_TREATMENTS)} or None")
    with localcontext() as context:
        context.prec = _EXACT_PRECISION
        amount = round_half_up(quantity * unit_price)
        if treatment != VATABLE:
            return amount, ZERO
        rate = _require_decimal(rate_percent, "rate_percent")
        if not 0 <= rate <= 100:
            raise ValueError("rate_percent must be between 0 and 100")
        if prices_include_vat:
            vat = round_half_up(amount * rate / (100 + rate))
            return amount - vat, vat
        return amount, round_half_up((amount * rate).scaleb(-2))


@dataclass(frozen=True)
class VatSummary:
    """An invoice's sales by VAT treatment; ``total`` is what the buyer owes."""

    vatable: Decimal
    vat: Decimal
    exempt: Decimal
    zero_rated: Decimal
    non_vat: Decimal  # sales of a seller who is not VAT-registered

    @property
    def total(self) -> Decimal:
        return self.vatable + self.vat + self.exempt + self.zero_rated + self.non_vat


def vat_summary(lines: Iterable[tuple[str | None, Decimal, Decimal]]) -> VatSummary:
    """Sum ``(treatment, net, vat)`` lines into the invoice's VAT summary (no rounding: sums of
    rounded lines), so VATable + VAT + exempt + zero-rated (+ non-VAT) sales = the total."""
    sums = {VATABLE: ZERO, VAT_EXEMPT: ZERO, ZERO_RATED: ZERO, None: ZERO}
    vat = ZERO
    for treatment, net, line_vat in lines:
        sums[treatment] += net
        vat += line_vat
    return VatSummary(
        vatable=sums[VATABLE], vat=vat, exempt=sums[VAT_EXEMPT], zero_rated=sums[ZERO_RATED], non_vat=sums[None]
    )


# --------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------


def split_amount(amount: Decimal, count: int) -> list[Decimal]:
    """Split ``amount`` into ``count`` installments that add up to it exactly.

    Rule: every part is amount/count rounded *down* to the cent, and the
    leftover cents (fewer than ``count``) all go on the last part, so the
    earlier installments are equal and the sum is exact.  The amount must be
    positive with at most two decimals, and each part must be at least 0.01;
    anything else raises ``ValueError``.
    """
    amount = _require_decimal(amount, "amount")
    count = _require_count(count)
    if amount <= 0:
        raise ValueError("amount must be greater than zero")
    cents = to_minor_units(amount)  # raises ValueError on a fraction of a cent
    if cents < count:
        raise ValueError(f"{amount} cannot be split into {count} installments: each installment must be at least 0.01")
    part, leftover = divmod(cents, count)
    parts = [part] * count
    parts[-1] += leftover
    return [from_minor_units(p) for p in parts]


def add_months(anchor: date, months: int) -> date:
    """Return the date ``months`` calendar months after ``anchor``.

    Rule: same day of the month as the anchor, clamped to the length of the
    target month (31 Jan + 1 -> 28 or 29 Feb; 31 Jan + 2 -> 31 Mar).  Callers
    always count from the original anchor rather than from the previous
    result, so a short month never drags later dates earlier.
    """
    if isinstance(months, bool) or not isinstance(months, int):
        raise TypeError("months must be an int")
    year, month_index = divmod(anchor.year * 12 + (anchor.month - 1) + months, 12)
    month = month_index + 1
    if not 1 <= year <= 9999:
        raise ValueError("date out of range")
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


class ScheduleOutOfRange(ValueError):
    """The schedule would need a date the calendar cannot hold (after 9999-12-31)."""


def due_dates(first_due: date, count: int, frequency: str) -> list[date]:
    """Return ``count`` due dates starting on ``first_due``.

    Rule: weekly dates are 7 days apart, biweekly 14 days; monthly dates are
    ``add_months(first_due, k)`` for k = 0, 1, ..., so each keeps the first
    date's day of the month where the month allows (no drift after February).
    A schedule that would run past the last representable date is refused
    with :class:`ScheduleOutOfRange`, never cut short.
    """
    count = _require_count(count)
    frequency = _require_frequency(frequency)
    try:
        if frequency == MONTHLY:
            return [add_months(first_due, k) for k in range(count)]
        step = timedelta(days=_DAYS_BETWEEN[frequency])
        return [first_due + step * k for k in range(count)]
    except (OverflowError, ValueError):
        raise ScheduleOutOfRange(
            "The schedule would run past the last date the calendar holds; choose an earlier first due date."
        ) from None


@dataclass(frozen=True)
class ScheduledInstallment:
    """One installment of a planned schedule."""

    number: int
    due_date: date
    amount: Decimal


def build_schedule(
    amount: Decimal,
    count: int,
    first_due: date,
    frequency: str,
    first_number: int = 1,
) -> list[ScheduledInstallment]:
    """Plan ``count`` installments for ``amount``.

    Rule: amounts from :func:`split_amount` (equal parts, leftover cents on the
    last), dates from :func:`due_dates`, numbers ``first_number`` up to
    ``first_number + count - 1``.
    """
    amounts = split_amount(amount, count)
    dates = due_dates(first_due, count, frequency)
    return [ScheduledInstallment(number=first_number + k, due_date=dates[k], amount=amounts[k]) for k in range(count)]


# --------------------------------------------------------------------------
# Allocation of payments to installments
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentIn:
    """A confirmed payment, as allocation needs to see it."""

    id: int
    date: date
    amount: Decimal


@dataclass(frozen=True)
class InstallmentIn:
    """An installment, as allocation needs to see it."""

    number: int
    amount: Decimal
    due_date: date | None = None


@dataclass(frozen=True)
class Allocation:
    """The part of one payment that went to one installment."""

    payment_id: int
    installment_number: int
    amount: Decimal


class OverAllocation(ValueError):
    """Payments add up to more than the installments; callers must prevent it."""


def allocate(payments: Iterable[PaymentIn], installments: Iterable[InstallmentIn]) -> list[Allocation]:
    """Spread payments over installments, oldest payment into lowest installment.

    Rule: payments are taken in (date, id) order and fill installments in
    number order, each installment completely before the next; a payment may
    span several installments.  No installment ever receives more than its
    amount, and no zero-amount allocation is produced.  If the payments add up
    to more than the installments, :class:`OverAllocation` is raised instead of
    inventing somewhere for the excess to go.  The result is deterministic, so
    recomputing it from the same inputs always gives the same answer.
    """
    payment_list = sorted(payments, key=lambda p: (p.date, p.id))
    installment_list = sorted(installments, key=lambda i: i.number)

    if len({p.id for p in payment_list}) != len(payment_list):
        raise ValueError("payment ids must be unique")
    if len({i.number for i in installment_list}) != len(installment_list):
        raise ValueError("installment numbers must be unique")

    payment_cents = []
    for payment in payment_list:
        cents = to_minor_units(_require_decimal(payment.amount, "payment amount"))
        if cents < 0:
            raise ValueError("a payment amount cannot be negative")
        payment_cents.append(cents)
    room = []
    for installment in installment_list:
        cents = to_minor_units(_require_decimal(installment.amount, "installment amount"))
        if cents < 0:
            raise ValueError("an installment amount cannot be negative")
        room.append(cents)

    if sum(payment_cents) > sum(room):
        raise OverAllocation(
            f"payments total {from_minor_units(sum(payment_cents))} but the "
            f"installments only total {from_minor_units(sum(room))}"
        )

    allocations: list[Allocation] = []
    slot = 0
    for payment, remaining in zip(payment_list, payment_cents, strict=False):
        while remaining > 0:
            # Cannot run past the end: the total check above guarantees room.
            while room[slot] == 0:
                slot += 1
            piece = min(remaining, room[slot])
            allocations.append(
                Allocation(
                    payment_id=payment.id,
                    installment_number=installment_list[slot].number,
                    amount=from_minor_units(piece),
                )
            )
            room[slot] -= piece
            remaining -= piece
    return allocations


def first_installment_numbers(allocations: Iterable[Allocation]) -> dict[int, int]:
    """Map each payment id to the installment that received its first cent.

    Rule: relies on ``allocations`` being in the order :func:`allocate`
    returns them, where a payment's pieces run from its lowest installment up.
    """
    first: dict[int, int] = {}
    for allocation in allocations:
        first.setdefault(allocation.payment_id, allocation.installment_number)
    return first


def installment_paid_amounts(allocations: Iterable[Allocation]) -> dict[int, Decimal]:
    """Map each installment number to the total allocated to it.

    Rule: installments that received nothing are absent (treat them as 0.00).
    """
    paid: dict[int, Decimal] = {}
    for allocation in allocations:
        paid[allocation.installment_number] = paid.get(allocation.installment_number, ZERO) + allocation.amount
    return paid


# --------------------------------------------------------------------------
# Balances and statuses
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallmentState:
    """An installment with what has been paid on it so far.

    Rule: ``0 <= paid <= amount``; allocation never overpays an installment,
    so anything else is corrupt data and is refused on construction.
    """

    number: int
    due_date: date
    amount: Decimal
    paid: Decimal

    def __post_init__(self) -> None:
        amount = _require_decimal(self.amount, "amount")
        paid = _require_decimal(self.paid, "paid")
        if amount < 0:
            raise ValueError("an installment amount cannot be negative")
        if not ZERO <= paid <= amount:
            raise ValueError(f"installment {self.number}: paid {paid} is outside 0..{amount}")

    @property
    def unpaid(self) -> Decimal:
        """What is still owed on this installment (amount - paid)."""
        return self.amount - self.paid


def installments_due_now(installments: Sequence[InstallmentState], today: date) -> list[InstallmentState]:
    """Return the installments a person should pay now, earliest first.

    Rule: every installment with something unpaid that is due on or before
    ``today``; if there is none, the single next unpaid installment (earliest
    due date after today, lowest number on a tie), so that a client who is up
    to date is still shown what to pay next; nothing if everything is paid.
    """
    unpaid = sorted((i for i in installments if i.unpaid > 0), key=lambda i: (i.due_date, i.number))
    due = [i for i in unpaid if i.due_date <= today]
    if due:
        return due
    return unpaid[:1]


def amount_due_now(installments: Sequence[InstallmentState], today: date) -> Decimal:
    """Return how much a person should pay now.

    Rule: the unpaid part of every installment due on or before ``today``; if
    that is zero, the unpaid part of the next unpaid installment; 0.00 when
    everything is paid.  Always the sum over :func:`installments_due_now`.
    """
    return sum((i.unpaid for i in installments_due_now(installments, today)), ZERO)


DUE_NOW_LABEL = "Due now"
NEXT_INSTALLMENT_LABEL = "Next installment"


@dataclass(frozen=True)
class NextInstallment:
    """The first installment due after today that money already reported does not cover."""

    number: int
    due_date: date
    amount: Decimal  # its unpaid part, less what reported payments will cover of it


@dataclass(frozen=True)
class Owed:
    """What a client owes on one invoice, in the words every page and email uses.

    ``overdue``: unpaid, due before today.  ``due_today``: unpaid, due today.
    ``awaiting_confirmation``: reported (or card) payments not yet confirmed.
    ``balance``: everything unpaid (confirmed payments only).  ``pay_now``: overdue +
    due today - awaiting confirmation, never below 0.  ``suggested``: what the client is
    asked to pay, with ``suggested_label`` saying what it is ("Due now" or "Next
    installment", never "due now" for a future installment; "" when nothing is asked).
    """

    overdue: Decimal
    due_today: Decimal
    awaiting_confirmation: Decimal
    balance: Decimal
    pay_now: Decimal
    next_installment: NextInstallment | None
    suggested: Decimal
    suggested_label: str

    @property
    def to_pay(self) -> Decimal:
        """The balance less what is awaiting confirmation (what is left to send)."""
        return max(self.balance - self.awaiting_confirmation, ZERO)


def owed(installments: Sequence[InstallmentState], today: date, awaiting: Decimal = ZERO) -> Owed:
    """Return what is owed on one invoice on ``today`` (see :class:`Owed`).

    Rule: money awaiting confirmation is counted as paying the unpaid installments in
    due-date order (as the allocation will once it is confirmed), so it reduces what the
    client is asked to pay.  The suggested payment is overdue + due today - awaiting
    (floored at 0), labelled "Due now"; if that is 0 and something is still uncovered, it is
    the next installment's uncovered part, labelled "Next installment"; otherwise 0 and "".
    """
    awaiting = _require_decimal(awaiting, "awaiting")
    unpaid = sorted((i for i in installments if i.unpaid > 0), key=lambda i: (i.due_date, i.number))
    overdue = sum((i.unpaid for i in unpaid if i.due_date < today), ZERO)
    due_today = sum((i.unpaid for i in unpaid if i.due_date == today), ZERO)
    balance = sum((i.unpaid for i in unpaid), ZERO)
    pay_now = max(overdue + due_today - awaiting, ZERO)
    following = None
    running = ZERO
    for inst in unpaid:
        running += inst.unpaid  # unpaid up to and including this one, in due-date order
        if inst.due_date > today and running > awaiting:
            following = NextInstallment(inst.number, inst.due_date, min(inst.unpaid, running - awaiting))
            break
    if pay_now > 0:
        suggested, label = pay_now, DUE_NOW_LABEL
    elif following is not None:
        suggested, label = following.amount, NEXT_INSTALLMENT_LABEL
    else:
        suggested, label = ZERO, ""
    return Owed(
        overdue=overdue,
        due_today=due_today,
        awaiting_confirmation=awaiting,
        balance=balance,
        pay_now=pay_now,
        next_installment=following,
        suggested=suggested,
        suggested_label=label,
    )


def uncovered(installments: Sequence[InstallmentState], awaiting: Decimal = ZERO) -> dict[int, Decimal]:
    """Map each installment number to the part of it neither paid nor covered by money awaiting
    confirmation.

    Rule: as in :func:`owed`, money awaiting confirmation counts as paying the unpaid installments
    in due-date order (lowest number on a tie); an installment fully paid or fully covered maps to
    0.00.  A reminder is sent for an installment only while this is above 0.
    """
    awaiting = _require_decimal(awaiting, "awaiting")
    left = max(awaiting, ZERO)
    result: dict[int, Decimal] = {}
    for inst in sorted(installments, key=lambda i: (i.due_date, i.number)):
        covered = min(inst.unpaid, left)
        left -= covered
        result[inst.number] = inst.unpaid - covered
    return result


@dataclass(frozen=True)
class PayoffQuote:
    """What settles an invoice on one day.

    ``balance``: every installment's unpaid part (the invoice's amount, already lowered by its
    credit notes, less its confirmed payments): paying it settles the invoice.
    ``awaiting_confirmation``: reported payments and card payments in progress, which count once
    confirmed.  ``to_send``: what is left to pay once those are confirmed.
    """

    balance: Decimal
    awaiting_confirmation: Decimal

    @property
    def to_send(self) -> Decimal:
        return max(self.balance - self.awaiting_confirmation, ZERO)


def payoff_quote(installments: Sequence[InstallmentState], awaiting: Decimal = ZERO) -> PayoffQuote:
    """The early payoff quote: what would settle the invoice today.

    Rule: the sum of the installments' unpaid parts, whatever their due dates (paying early costs
    nothing more and earns no discount); money awaiting confirmation is shown beside it, never
    taken off it, since it may yet be rejected.  Awaiting is floored at 0 and capped at the
    balance (it can never pay more than is unpaid).
    """
    awaiting = _require_decimal(awaiting, "awaiting")
    balance = sum((i.unpaid for i in installments), ZERO)
    return PayoffQuote(balance=balance, awaiting_confirmation=min(max(awaiting, ZERO), balance))


def next_unpaid(installments: Sequence[InstallmentState]) -> InstallmentState | None:
    """Return the lowest-numbered installment with something unpaid, or None."""
    unpaid = [i for i in installments if i.unpaid > 0]
    return min(unpaid, key=lambda i: i.number) if unpaid else None


def invoice_status(
    *,
    amount: Decimal,
    paid: Decimal,
    earliest_unpaid_due: date | None,
    today: date,
    voided: bool = False,
    issued: bool = True,
) -> str:
    """Derive an invoice's status; it is never stored.

    Rule, first match wins: ``draft`` if not issued; ``void`` if voided;
    ``paid`` if paid >= amount; ``overdue`` if some unpaid installment was due
    before today (due *on* today is not yet overdue); ``partial`` if anything
    has been paid; otherwise ``pending``.
    """
    if not issued:
        return DRAFT
    if voided:
        return VOID
    if paid >= amount:
        return PAID
    if earliest_unpaid_due is not None and earliest_unpaid_due < today:
        return OVERDUE
    if paid > 0:
        return PARTIAL
    return PENDING


def installment_status(inst: InstallmentState, today: date) -> str:
    """Derive one installment's status.

    Rule, first match wins: ``paid`` if nothing is unpaid; ``overdue`` if its
    due date is before today (due on today is not overdue); ``partial`` if
    something has been paid; otherwise ``pending``.
    """
    if inst.paid >= inst.amount:
        return PAID
    if inst.due_date < today:
        return OVERDUE
    if inst.paid > 0:
        return PARTIAL
    return PENDING


# --------------------------------------------------------------------------
# Re-planning
# --------------------------------------------------------------------------


class ScheduleOutOfOrder(ValueError):
    """A re-plan would date a new installment before one it keeps (see :func:`replan`)."""

    def __init__(self, kept_number: int, kept_due: date):
        super().__init__(
            f"the new installments cannot start before {kept_due.isoformat()}, "
            f"the due date of installment {kept_number}, which is kept"
        )
        self.kept_number = kept_number
        self.kept_due = kept_due


def earliest_replan_start(installments: Sequence[InstallmentState]) -> date | None:
    """The earliest first due date a re-plan may use: the latest due date among the installments
    it keeps (those with money on them), or None when it keeps none."""
    kept = [i.due_date for i in installments if i.paid > 0]
    return max(kept) if kept else None


def replan(
    installments: Sequence[InstallmentState],
    count: int,
    first_due: date,
    frequency: str,
) -> list[ScheduledInstallment]:
    """Return the complete new schedule after spreading the unpaid balance anew.

    Rule: an installment fully paid is kept unchanged; one partly paid is kept
    with its amount cut to what was paid (due date unchanged), so no payment
    ever has to move; one with nothing paid is dropped.  The total unpaid
    balance is split over ``count`` new installments (see
    :func:`build_schedule`) numbered after the highest kept number (from 1 if
    none is kept) and dated by :func:`due_dates` from ``first_due``.  The new
    schedule's total equals the old total exactly.  Raises ``ValueError`` if
    nothing is unpaid.

    Schedules stay in due-date order: numbers run in due-date order, so the new
    installments (numbered after the kept ones) may not start before the last
    kept installment's due date; an earlier ``first_due`` raises
    :class:`ScheduleOutOfOrder`.
    """
    ordered = sorted(installments, key=lambda i: i.number)
    unpaid = sum((i.unpaid for i in ordered), ZERO)
    if unpaid <= 0:
        raise ValueError("nothing is unpaid, so there is nothing to re-plan")
    kept = [
        ScheduledInstallment(
            number=i.number,
            due_date=i.due_date,
            amount=i.amount if i.paid >= i.amount else i.paid,
        )
        for i in ordered
        if i.paid > 0 or i.paid >= i.amount
    ]
    if kept and first_due < max(k.due_date for k in kept):
        raise ScheduleOutOfOrder(kept[-1].number, max(k.due_date for k in kept))
    first_number = kept[-1].number + 1 if kept else 1
    return kept + build_schedule(unpaid, count, first_due, frequency, first_number)


# --------------------------------------------------------------------------
# Invoice numbers
# --------------------------------------------------------------------------


def format_invoice_number(year: int, seq: int) -> str:
    """Format an invoice number like ``INV-2026-0001``.

    Rule: the sequence is zero-padded to at least four digits and simply grows
    past 9999 (``INV-2026-10000``); numbering restarts each year, so the year
    is part of the number.
    """
    for name, value in (("year", year), ("seq", seq)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int")
    if not 1 <= year <= 9999:
        raise ValueError("year must be between 1 and 9999")
    if seq < 1:
        raise ValueError("seq must be at least 1")
    return f"INV-{year:04d}-{seq:04d}"


def format_credit_note_number(year: int, seq: int) -> str:
    """Format a credit note number like ``CN-2026-0001`` (the same rule as invoice numbers)."""
    return "CN" + format_invoice_number(year, seq)[3:]


# --------------------------------------------------------------------------
# Credit notes
# --------------------------------------------------------------------------


def shrink_from_last(installments: Sequence[InstallmentState], credit: Decimal) -> dict[int, Decimal]:
    """The installments' amounts after ``credit`` is taken off their unpaid parts, the last
    installment first and then backwards (a credit note lowers what is still to come).

    Returns {number: new amount}; 0.00 means the installment goes (nothing was paid on it).  An
    installment never drops below what was paid on it.  ``credit`` must be above zero and at most
    the unpaid total, else ``ValueError``.
    """
    credit = _require_decimal(credit, "credit")
    ordered = sorted(installments, key=lambda i: (i.due_date, i.number))
    unpaid = sum((i.unpaid for i in ordered), ZERO)
    if credit <= 0 or credit != credit.quantize(Decimal("0.01")):
        raise ValueError("credit must be above zero, in whole cents")
    if credit > unpaid:
        raise ValueError("credit exceeds the unpaid total")
    left = credit
    result = {i.number: i.amount for i in ordered}
    for inst in reversed(ordered):
        if left <= 0:
            break
        take = min(inst.unpaid, left)
        result[inst.number] = inst.amount - take
        left -= take
    return result


def split_credit(credit: Decimal, buckets: Sequence[Decimal]) -> list[Decimal]:
    """Split ``credit`` over ``buckets`` (what is left of the invoice's VATable sales, VAT, exempt,
    zero-rated and non-VAT sales) in proportion, to the cent, by largest remainder: the parts add
    up to ``credit`` exactly and none exceeds its bucket.  ``credit`` at most the buckets' sum."""
    credit = _require_decimal(credit, "credit")
    cents = [to_minor_units(_require_decimal(b, "bucket")) for b in buckets]
    total = sum(cents)
    want = to_minor_units(credit)
    if want < 0 or want > total or any(c < 0 for c in cents):
        raise ValueError("credit must be between zero and the sum of the buckets")
    if total == 0:
        return [ZERO for _ in buckets]
    floors = [want * c // total for c in cents]
    remainders = sorted(range(len(cents)), key=lambda k: (-(want * cents[k] % total), k))
    for k in remainders[: want - sum(floors)]:
        floors[k] += 1
    return [from_minor_units(n) for n in floors]


# --- Late fees -----------------------------------------------------------------------------------

FLAT, PERCENT = "flat", "percent"


def late_fee_base(installment_unpaid: Decimal, principal_open: Decimal) -> Decimal:
    """What a late fee is computed on: the overdue installment's unpaid part, but never more than
    what the invoice still owes apart from its fees (``principal_open`` = amount - fees - paid), so
    that a fee is never computed on a fee, even after a re-plan spread a fee over new installments.
    """
    unpaid = _require_decimal(installment_unpaid, "installment_unpaid")
    principal = _require_decimal(principal_open, "principal_open")
    return max(min(unpaid, principal), ZERO)


def late_fee(kind: str, value: Decimal, base: Decimal) -> Decimal:
    """The fee on an overdue installment whose unpaid part (``late_fee_base``) is ``base``.

    Rule: nothing when nothing is unpaid; a flat fee is ``value``; a percentage fee is ``value``
    percent of ``base`` rounded half-up to the centavo (0.00 when that rounds to nothing).  Never
    negative; exact (Decimal, no float).
    """
    value = _require_decimal(value, "value")
    base = _require_decimal(base, "base")
    if value < 0:
        raise ValueError("a late fee's setting cannot be negative")
    if base <= 0:
        return ZERO
    if kind == FLAT:
        return value.quantize(Decimal("0.01"))
    if kind == PERCENT:
        with localcontext() as context:
            context.prec = _EXACT_PRECISION
            return round_half_up(base * value / Decimal(100))
    raise ValueError(f"unknown late fee kind {kind!r}")


def late_fee_is_due(due_date: date, grace_days: int, today: date) -> bool:
    """An installment unpaid after ``grace_days`` whole days past its due date may be charged:
    due 1 March with 5 days' grace is charged from 7 March (1 March + 5 days is still grace)."""
    return today > due_date + timedelta(days=_require_count(grace_days, "grace_days") if grace_days else 0)


def applicable_credit(remaining_credit: Decimal, open_balance: Decimal) -> Decimal:
    """The most of a customer credit one invoice may take: what is left of the credit, up to the
    invoice's open balance (never below zero).  It is also the amount the form suggests."""
    remaining_credit = _require_decimal(remaining_credit, "remaining_credit")
    open_balance = _require_decimal(open_balance, "open_balance")
    return max(min(remaining_credit, open_balance), ZERO)


def credit_application_refusal(amount: Decimal, remaining_credit: Decimal, open_balance: Decimal) -> str | None:
    """Why ``amount`` of a customer credit may not go on an invoice, or None when it may.

    Rule: the amount is above zero, at most what is left of the credit and at most the invoice's
    open balance; so after it neither the credit nor the open balance is below zero.  Partial
    applications are allowed (the rest of the credit stays open)."""
    amount = _require_decimal(amount, "amount")
    if amount <= 0:
        return "not_positive"
    if amount > _require_decimal(remaining_credit, "remaining_credit"):
        return "exceeds_credit"
    if amount > _require_decimal(open_balance, "open_balance"):
        return "exceeds_open_balance"
    return None
