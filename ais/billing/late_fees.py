"""Late fees: an optional charge on an installment still unpaid after a grace period.

Off by default.  The owner's policy (``LateFeePolicy``, the ``settings`` row ``late_fees``) is a
flat amount or a percentage of the overdue installment's unpaid part, and a number of grace days.
``charge_late_fees(today)`` (``flask --app ais late-fees``) charges each installment at most once.

**The model: a fee is an installment of its own.**  Charging a fee writes a ``late_fees`` row (its
unique key, the installment charged for, makes "once per installment" a constraint however many
runs overlap) and adds to the invoice an installment of the fee's amount, due the day it is
charged; the invoice's ``amount`` and ``late_fee_amount`` grow by the fee.  So everything that
reads the schedule sees the fee with no special case: allocation (payments fill it in due-date
order like any installment), what is owed now (it is due today), the cap on payments, the aging,
the forecast, the reminders, the portal and the running totals; the receivable control account
(Dr receivable / Cr late-fee income, posted in the same transaction) keeps equal to the open
balances, which ``flask check`` proves.

**Never compounding**: a fee installment is never charged a fee, and a fee is computed on the
installment's unpaid part capped by what the invoice owes apart from its fees
(``rules.late_fee_base``): even after a re-plan spread a fee over new installments, no fee is
computed on a fee.  Money awaiting confirmation that covers the installment holds the fee back.

**Not charged**: a draft or void invoice, a paid installment, an archived client's invoices, an
installment due before the day the fees were turned on (``since``; turning them on does not
charge the past).

**Waiving** (``waive_late_fee``) reverses the fee's posting (Dr late-fee income / Cr receivable)
and takes the fee off the invoice: from its fee installment first, then from the last unpaid
installments backwards; the row stays, marked waived, and the client sees it so.  Refused when the
payments received and awaiting confirmation leave less than the fee unpaid.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import audit, clock
from ..audit import Actor
from ..database import write_transaction
from ..extensions import db
from ..formatting import format_money
from ..models import Client, Installment, Invoice, LateFee, Setting
from . import ledger, notices, rules, services
from .services import InvalidInput, NotFound

SETTING_KEY = "late_fees"
MAX_FLAT = Decimal("100000.00")
MAX_PERCENT = Decimal("25.00")
MAX_GRACE_DAYS = 365
MAX_REASON = 500
ZERO = Decimal("0.00")
_TEMPORARY_NUMBER = 1_000_000  # installments renumbered through here (numbers are unique per invoice)


class InvalidPolicy(ValueError):
    """The owner's late-fee setting cannot be used (the message says why)."""


class WaiveRefused(services.BillingError):
    """The fee cannot be waived (already waived, void invoice, or paid)."""


# --- The owner's policy --------------------------------------------------------------------------


@dataclass(frozen=True)
class LateFeePolicy:
    """Whether late fees are charged, how much (flat or a percentage of the unpaid part), after how
    many grace days, and since which due date (the day they were turned on)."""

    enabled: bool = False
    kind: str = rules.FLAT
    value: Decimal = ZERO
    grace_days: int = 0
    since: date | None = None

    def __post_init__(self) -> None:
        if self.kind not in (rules.FLAT, rules.PERCENT):
            raise InvalidPolicy("Choose a flat amount or a percentage.")
        if isinstance(self.value, float) or not isinstance(self.value, Decimal) or not self.value.is_finite():
            raise InvalidPolicy("The fee must be an exact amount.")
        if self.value != self.value.quantize(Decimal("0.01")) or self.value < 0:
            raise InvalidPolicy("Enter the fee with at most two decimals (centavos), not below zero.")
        if not 0 <= self.grace_days <= MAX_GRACE_DAYS:
            raise InvalidPolicy(f"Grace is 0 to {MAX_GRACE_DAYS} days.")
        if self.enabled:
            if self.value <= 0:
                raise InvalidPolicy("Enter a fee above zero, or turn late fees off.")
            if self.kind == rules.FLAT and self.value > MAX_FLAT:
                raise InvalidPolicy(f"A flat fee is at most {format_money(MAX_FLAT)}.")
            if self.kind == rules.PERCENT and self.value > MAX_PERCENT:
                raise InvalidPolicy(f"A percentage fee is at most {MAX_PERCENT}%.")

    def fee_on(self, base: Decimal) -> Decimal:
        return rules.late_fee(self.kind, self.value, base)

    def rule_text(self, base: Decimal, currency: str | None = None) -> str:
        if self.kind == rules.FLAT:
            return f"Flat fee, on the unpaid {format_money(base, currency)}"
        return f"{self.value}% of the unpaid {format_money(base, currency)}"

    def to_text(self) -> str:
        return json.dumps(
            {
                "enabled": self.enabled,
                "kind": self.kind,
                "value": str(self.value),
                "grace_days": self.grace_days,
                "since": self.since.isoformat() if self.since else None,
            }
        )

    @classmethod
    def from_text(cls, text: str | None) -> LateFeePolicy:
        """The stored policy; off if there is none (or it cannot be read)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(
                enabled=bool(data["enabled"]),
                kind=str(data["kind"]),
                value=Decimal(str(data["value"])),
                grace_days=int(data["grace_days"]),
                since=date.fromisoformat(data["since"]) if data.get("since") else None,
            )
        except (ValueError, KeyError, TypeError, InvalidOperation, InvalidPolicy):
            return cls()


def describe(policy: LateFeePolicy) -> str:
    """The policy in words, for the audit trail and the settings page."""
    if not policy.enabled:
        return "Late fees are off."
    amount = format_money(policy.value) if policy.kind == rules.FLAT else f"{policy.value}% of the unpaid part"
    grace = f"{policy.grace_days} day(s)" if policy.grace_days else "no grace days"
    since = f", for installments due from {policy.since.isoformat()}" if policy.since else ""
    return f"Late fees: {amount}, once per installment still unpaid after {grace}{since}."


def late_fee_policy() -> LateFeePolicy:
    return LateFeePolicy.from_text(db.session.scalar(select(Setting.value).where(Setting.key == SETTING_KEY)))


def set_late_fee_policy(actor: Actor, policy: LateFeePolicy) -> LateFeePolicy:
    """The owner sets or turns off late fees (audited).  Turning them on dates ``since`` today:
    installments due before then are never charged."""
    with write_transaction():
        setting = db.session.get(Setting, SETTING_KEY, with_for_update=True)
        before = LateFeePolicy.from_text(setting.value if setting else None)
        since = None
        if policy.enabled:
            since = before.since if before.enabled and before.since else clock.today()
        policy = LateFeePolicy(policy.enabled, policy.kind, policy.value, policy.grace_days, since)
        if setting is None:
            setting = Setting(key=SETTING_KEY)
            db.session.add(setting)
        setting.value = policy.to_text()
        setting.updated_at = clock.utcnow()
        setting.updated_by_id = actor.user_id
        audit.record(actor, "late_fees.policy_changed", detail=describe(policy))
    return policy


# --- Charging ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Charged:
    """One fee a run charged (or, on a dry run, would charge)."""

    invoice_id: int
    invoice_no: str
    installment_number: int
    base: Decimal
    amount: Decimal


class _DryRun(Exception):
    """Raised inside a transaction to roll it back on purpose."""


def _candidates(policy: LateFeePolicy, today: date) -> dict[int, list[int]]:
    """Unpaid installments past their grace, of open invoices of active clients, not fee
    installments and not charged yet: {invoice id: [installment id]}.  One statement, bounded by
    the unpaid installments (ix_installments_unpaid_due) due before the cut-off."""
    cutoff = today - timedelta(days=policy.grace_days)  # due before it: today > due + grace
    query = (
        select(Installment.id, Installment.invoice_id)
        .join(Invoice, Invoice.id == Installment.invoice_id)
        .join(Client, Client.id == Invoice.client_id)
        .where(
            Installment.paid_amount < Installment.amount,
            Installment.due_date < cutoff,
            Invoice.issued_at.is_not(None),
            Invoice.voided_at.is_(None),
            Client.archived_at.is_(None),
            ~exists().where(LateFee.installment_id == Installment.id),
            ~exists().where(LateFee.fee_installment_id == Installment.id),
        )
        .order_by(Installment.invoice_id, Installment.due_date, Installment.number)
    )
    if policy.since is not None:
        query = query.where(Installment.due_date >= policy.since)
    found: dict[int, list[int]] = defaultdict(list)
    for installment_id, invoice_id in db.session.execute(query):
        found[invoice_id].append(installment_id)
    return found


def _claim(invoice: Invoice, installment: Installment, today: date, base: Decimal, amount: Decimal, rule: str):
    """Write the fee's unique row; None if another run charged this installment first."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(LateFee)
        .values(
            invoice_id=invoice.id,
            client_id=invoice.client_id,
            installment_id=installment.id,
            installment_number=installment.number,
            charged_on=today,
            base=base,
            amount=amount,
            rule=rule[:120],
            waive_reason="",
            created_at=clock.utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["installment_id"])
        .returning(LateFee.id)
    )
    fee_id = db.session.execute(statement).scalar()
    return None if fee_id is None else db.session.get_one(LateFee, fee_id)


def renumber(invoice: Invoice) -> None:
    """Number the invoice's installments 1..n in due-date order (a fee installment after those due
    the same day), through temporary numbers since (invoice, number) is unique."""
    ordered = sorted(invoice.installments, key=lambda i: (i.due_date, i.number))
    if all(inst.number == position for position, inst in enumerate(ordered, 1)):
        return
    for position, inst in enumerate(ordered, 1):
        inst.number = _TEMPORARY_NUMBER + position
    db.session.flush()
    for position, inst in enumerate(ordered, 1):
        inst.number = position
    db.session.flush()
    db.session.expire(invoice, ["installments"])


def _charge_invoice(invoice_id: int, installment_ids: list[int], policy: LateFeePolicy, today: date) -> list[Charged]:
    """Charge the invoice's chosen installments (the invoice locked; everything re-checked)."""
    invoice = services.lock_invoice(invoice_id)
    if invoice.is_draft or invoice.is_void or invoice.client.archived_at is not None:
        return []
    fee_installments = set(
        db.session.scalars(select(LateFee.fee_installment_id).where(LateFee.invoice_id == invoice.id))
    )
    states = services.installment_states(invoice)
    uncovered = rules.uncovered(states, invoice.held_amount)
    principal_open = invoice.amount - invoice.late_fee_amount - invoice.paid_amount
    by_id = {inst.id: inst for inst in invoice.installments}
    new_fees: list[tuple[LateFee, Installment]] = []
    for installment_id in installment_ids:
        inst = by_id.get(installment_id)
        if inst is None or inst.id in fee_installments or inst.paid_amount >= inst.amount:
            continue  # re-planned away, a fee itself, or paid meanwhile
        if not rules.late_fee_is_due(inst.due_date, policy.grace_days, today):
            continue
        base = rules.late_fee_base(uncovered.get(inst.number, ZERO), principal_open)
        amount = policy.fee_on(base)
        if amount <= 0:
            continue  # covered by money awaiting confirmation, or a fee that rounds to nothing
        fee = _claim(invoice, inst, today, base, amount, policy.rule_text(base, invoice.currency))
        if fee is None:
            continue  # another run got there first
        principal_open -= base
        fee_installment = Installment(
            number=_TEMPORARY_NUMBER * 2 + len(new_fees) + 1,
            due_date=today,
            amount=amount,
            paid_amount=ZERO,
        )
        invoice.installments.append(fee_installment)
        new_fees.append((fee, fee_installment))
    if not new_fees:
        return []
    db.session.flush()
    total = sum((fee.amount for fee, _ in new_fees), ZERO)
    amount_before = invoice.amount
    invoice.amount += total
    invoice.late_fee_amount += total
    for fee, fee_installment in new_fees:
        fee.fee_installment_id = fee_installment.id
    renumber(invoice)
    invoice.installment_count = len(invoice.installments)
    db.session.flush()
    for fee, _ in new_fees:
        ledger.late_fee_charged(fee)
    services.reallocate(invoice)
    charged = [
        Charged(invoice.id, invoice.invoice_no or "", fee.installment_number, fee.base, fee.amount)
        for fee, _ in new_fees
    ]
    audit.record(
        Actor.system("late-fees"),
        "invoice.late_fee_charged",
        client_id=invoice.client_id,
        invoice_id=invoice.id,
        amount_before=amount_before,
        amount_after=invoice.amount,
        detail="; ".join(
            f"installment {c.installment_number}: {format_money(c.amount, invoice.currency)} "
            f"(on {format_money(c.base, invoice.currency)})"
            for c in charged
        ),
    )
    notices.late_fees_charged(invoice, [fee for fee, _ in new_fees])
    return charged


def charge_late_fees(today: date | None = None, dry_run: bool = False) -> list[Charged]:
    """Charge every late fee due on ``today`` (the business's date), each invoice in its own
    transaction; a dry run rolls each back and returns what would have been charged.  Idempotent:
    a second run charges nothing new; two runs at once charge nothing twice (the unique key)."""
    today = today or clock.today()
    policy = late_fee_policy()
    if not policy.enabled:
        return []
    session = db.session()
    if session.in_transaction():
        session.commit()
    charged: list[Charged] = []
    for invoice_id, installment_ids in sorted(_candidates(policy, today).items()):
        try:
            with write_transaction():
                found = _charge_invoice(invoice_id, installment_ids, policy, today)
                if dry_run:
                    charged.extend(found)
                    raise _DryRun
        except _DryRun:
            continue
        charged.extend(found)
    return charged


# --- Waiving -------------------------------------------------------------------------------------


def waive_late_fee(actor: Actor, fee_id: int, reason: str) -> None:
    """Waive a late fee: its posting is reversed (Dr late-fee income / Cr receivable, dated today)
    and its amount comes off the invoice, from its fee installment first and then from the last
    unpaid installments backwards.  Refused when the fee is already waived, the invoice is void, or
    the payments received and awaiting confirmation leave less than the fee unpaid.  Audited; the
    client is emailed."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give the reason for waiving the fee (the client sees it).", "reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Keep the reason under {MAX_REASON} characters.", "reason")
    with write_transaction():
        invoice_id = db.session.scalar(select(LateFee.invoice_id).where(LateFee.id == fee_id))
        if invoice_id is None:
            raise NotFound("No such late fee.")
        invoice = services.lock_invoice(invoice_id)
        fee = db.session.scalars(
            select(LateFee).where(LateFee.id == fee_id).execution_options(populate_existing=True)
        ).one()
        if fee.waived_on is not None:
            raise WaiveRefused("This late fee is already waived.")
        if invoice.is_void:
            raise WaiveRefused("This invoice is void: its late fees were reversed with it.")
        unpaid = invoice.amount - invoice.paid_amount - invoice.held_amount
        if unpaid < fee.amount:
            raise WaiveRefused(
                f"Only {format_money(max(unpaid, ZERO), invoice.currency)} of this invoice is unpaid and not awaiting "
                f"confirmation: less than the {format_money(fee.amount, invoice.currency)} fee."
            )
        states = services.installment_states(invoice)
        by_number = {inst.number: inst for inst in invoice.installments}
        new_amounts = {state.number: state.amount for state in states}
        left = fee.amount
        fee_state = next(
            (s for s in states if fee.fee_installment_id and by_number[s.number].id == fee.fee_installment_id), None
        )
        if fee_state is not None:
            take = min(fee_state.unpaid, left)
            new_amounts[fee_state.number] = fee_state.amount - take
            left -= take
        if left > 0:
            others = [s for s in states if s is not fee_state]
            new_amounts.update(rules.shrink_from_last(others, left))
        amount_before = invoice.amount
        for number, inst in by_number.items():
            inst.amount = new_amounts[number]
            if inst.amount == 0:
                if inst.id == fee.fee_installment_id:
                    fee.fee_installment_id = None
                invoice.installments.remove(inst)
        db.session.flush()
        invoice.amount -= fee.amount
        invoice.late_fee_amount -= fee.amount
        renumber(invoice)
        if invoice.installments:
            invoice.installment_count = len(invoice.installments)
        today = clock.today()
        fee.waived_on = today
        fee.waived_by_id = actor.user_id
        fee.waive_reason = reason
        db.session.flush()
        ledger.late_fee_waived(fee, today)
        services.reallocate(invoice)
        audit.record(
            actor,
            "invoice.late_fee_waived",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            amount_before=amount_before,
            amount_after=invoice.amount,
            detail=f"Late fee {fee.id} of {format_money(fee.amount, invoice.currency)} "
            f"(installment {fee.installment_number}): {reason}",
        )
        notices.late_fee_waived(invoice, fee)


# --- Reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeRow:
    id: int
    installment_number: int
    charged_on: date
    base: Decimal
    amount: Decimal
    rule: str
    waived_on: date | None
    waive_reason: str
    fee_installment_number: int | None


def invoice_late_fees(invoice_id: int, client_id: int | None = None) -> list[FeeRow]:
    """The invoice's late fees, oldest first, with the number of the installment that bills each
    (bounded by the installments of one invoice); with ``client_id``, only that client's."""
    query = (
        select(
            LateFee.id,
            LateFee.installment_number,
            LateFee.charged_on,
            LateFee.base,
            LateFee.amount,
            LateFee.rule,
            LateFee.waived_on,
            LateFee.waive_reason,
            Installment.number,
        )
        .outerjoin(Installment, Installment.id == LateFee.fee_installment_id)
        .where(LateFee.invoice_id == invoice_id)
        .order_by(LateFee.charged_on, LateFee.id)
    )
    if client_id is not None:
        query = query.where(LateFee.client_id == client_id)
    return [FeeRow(*row) for row in db.session.execute(query)]
