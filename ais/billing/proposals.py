"""A client proposes a new plan for an invoice's unpaid balance; the owner approves or declines.

* **Limits** (``ProposalLimits``, the ``settings`` row ``plan_proposals``): whether clients may
  propose, the most installments a proposal may have, and how many days ahead the first date may
  be.  Proposals are for installment plans (the invoices a re-plan applies to).
* **One pending proposal per invoice**: a partial unique index (invoice, status 'pending'); the
  invoice row is locked while proposing, so two at once cannot both pass the check.
* **The preview** is ``services.replan_schedule``: the rule the re-plan itself applies, on the
  invoice as it is when the owner looks (payments made since the proposal count).
* **Approving** runs the re-plan (``services.replan_locked``) in the same transaction as the
  proposal's new status; the client is emailed the new schedule.  **Declining** needs a reason;
  the client is emailed it.
* **Lapsing**: a proposal is only good while its invoice is open.  When the owner acts on a
  proposal whose invoice was meanwhile paid in full or voided, it becomes ``lapsed`` (nothing is
  re-planned); the list shows such proposals as lapsing before anyone acts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from .. import audit, clock
from ..audit import Actor
from ..database import write_transaction
from ..extensions import db
from ..formatting import format_day
from ..models import (
    INSTALLMENT,
    PROPOSAL_APPROVED,
    PROPOSAL_DECLINED,
    PROPOSAL_LAPSED,
    PROPOSAL_PENDING,
    Client,
    Invoice,
    PlanProposal,
    Setting,
)
from ..pagination import CappedStatementPagination, capped_page_statements, paginate_capped
from . import notices, rules, services
from .services import BillingError, InvalidInput, InvalidTransition, NotFound

SETTING_KEY = "plan_proposals"
MAX_LATEST_FIRST_DAYS = 365
MAX_REASON = 500


class InvalidLimits(ValueError):
    """The owner's limits cannot be used (the message says why)."""


class ProposalRefused(BillingError):
    """The client may not propose a plan for this invoice now (the message says why)."""


@dataclass(frozen=True)
class ProposalLimits:
    """Whether clients may propose a new plan, with at most ``max_installments`` installments and a
    first due date at most ``latest_first_days`` days after the day they propose."""

    enabled: bool = True
    max_installments: int = 12
    latest_first_days: int = 60

    def __post_init__(self) -> None:
        if not 1 <= self.max_installments <= services.MAX_INSTALLMENTS:
            raise InvalidLimits(f"Allow 1 to {services.MAX_INSTALLMENTS} installments.")
        if not 1 <= self.latest_first_days <= MAX_LATEST_FIRST_DAYS:
            raise InvalidLimits(f"The first date may be 1 to {MAX_LATEST_FIRST_DAYS} days ahead.")

    def to_text(self) -> str:
        return json.dumps(
            {
                "enabled": self.enabled,
                "max_installments": self.max_installments,
                "latest_first_days": self.latest_first_days,
            }
        )

    @classmethod
    def from_text(cls, text: str | None) -> ProposalLimits:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(bool(data["enabled"]), int(data["max_installments"]), int(data["latest_first_days"]))
        except (ValueError, KeyError, TypeError, InvalidLimits):
            return cls()


def describe(limits: ProposalLimits) -> str:
    if not limits.enabled:
        return "Clients cannot propose a new plan."
    return (
        f"Clients may propose up to {limits.max_installments} installments, "
        f"the first within {limits.latest_first_days} days."
    )


def proposal_limits() -> ProposalLimits:
    return ProposalLimits.from_text(db.session.scalar(select(Setting.value).where(Setting.key == SETTING_KEY)))


def set_proposal_limits(actor: Actor, limits: ProposalLimits) -> None:
    """The owner sets the limits of clients' proposals, or turns proposals off (audited)."""
    with write_transaction():
        setting = db.session.get(Setting, SETTING_KEY, with_for_update=True)
        if setting is None:
            setting = Setting(key=SETTING_KEY)
            db.session.add(setting)
        setting.value = limits.to_text()
        setting.updated_at = clock.utcnow()
        setting.updated_by_id = actor.user_id
        audit.record(actor, "plan_proposals.limits_changed", detail=describe(limits))


# --- Proposing -----------------------------------------------------------------------------------


def first_date_range(limits: ProposalLimits, today: date) -> tuple[date, date]:
    """The first due dates a client may propose on ``today``: tomorrow to the owner's limit."""
    return today + timedelta(days=1), today + timedelta(days=limits.latest_first_days)


def can_propose(invoice, limits: ProposalLimits) -> bool:
    """Whether the portal offers the proposal form on this invoice (an open installment plan)."""
    return (
        limits.enabled
        and invoice.payment_type == INSTALLMENT
        and not invoice.is_draft
        and not invoice.is_void
        and invoice.paid_amount < invoice.amount
    )


def propose_plan(actor: Actor, client_id: int, invoice_id: int, count: int, first_due: date) -> int:
    """A client proposes ``count`` installments (the invoice's frequency) from ``first_due`` for
    the unpaid balance of their own invoice.  Rule: proposals are on; the invoice is the client's,
    issued, an installment plan, not void and not paid; ``count`` within the owner's limit and
    ``first_due`` from tomorrow to the owner's latest day; the schedule it gives passes the
    re-plan's rule; no other proposal on the invoice is pending.  Audited."""
    limits = proposal_limits()
    if not limits.enabled:
        raise ProposalRefused("Proposing a new plan is not available.")
    if not 1 <= count <= limits.max_installments:
        raise InvalidInput(f"Choose 1 to {limits.max_installments} installments.", "installment_count")
    today = clock.today()
    earliest, latest = first_date_range(limits, today)
    if not earliest <= first_due <= latest:
        raise InvalidInput(f"Choose a first due date from {format_day(earliest)} to {format_day(latest)}.", "first_due")
    with write_transaction():
        owner = db.session.scalar(select(Invoice.client_id).where(Invoice.id == invoice_id))
        if owner != client_id:
            raise NotFound("No such invoice.")
        invoice = services.lock_invoice(invoice_id)
        if not can_propose(invoice, limits):
            raise ProposalRefused("This invoice has nothing left to re-plan.")
        pending = db.session.scalar(
            select(PlanProposal.id).where(
                PlanProposal.invoice_id == invoice.id, PlanProposal.status == PROPOSAL_PENDING
            )
        )
        if pending is not None:
            raise ProposalRefused("Your earlier proposal for this invoice is still waiting for an answer.")
        frequency = invoice.frequency or rules.MONTHLY
        services.check_replan_input(count, frequency, first_due)
        services.replan_schedule(invoice, count, frequency, first_due)
        proposal = PlanProposal(
            invoice_id=invoice.id,
            client_id=client_id,
            installment_count=count,
            frequency=frequency,
            first_due_date=first_due,
            balance=invoice.amount - invoice.paid_amount,
            status=PROPOSAL_PENDING,
            created_by_id=actor.user_id,
            decline_reason="",
        )
        db.session.add(proposal)
        db.session.flush()
        audit.record(
            actor,
            "plan.proposed",
            client_id=client_id,
            invoice_id=invoice.id,
            amount_before=proposal.balance,
            detail=f"{count} {frequency} installments from {first_due.isoformat()}",
        )
        return proposal.id


# --- Deciding ------------------------------------------------------------------------------------


def _lock_proposal(proposal_id: int) -> tuple[PlanProposal, Invoice]:
    invoice_id = db.session.scalar(select(PlanProposal.invoice_id).where(PlanProposal.id == proposal_id))
    if invoice_id is None:
        raise NotFound("No such proposal.")
    invoice = services.lock_invoice(invoice_id)
    proposal = db.session.scalars(
        select(PlanProposal).where(PlanProposal.id == proposal_id).execution_options(populate_existing=True)
    ).one()
    if proposal.status != PROPOSAL_PENDING:
        raise InvalidTransition(f"This proposal was already {proposal.status}.")
    return proposal, invoice


def _decided(proposal: PlanProposal, actor: Actor, status: str) -> None:
    proposal.status = status
    proposal.decided_at = clock.utcnow()
    proposal.decided_by_id = actor.user_id


def lapses(invoice) -> bool:
    """A proposal on this invoice can no longer be approved: the invoice is void or paid in full."""
    return invoice.is_void or invoice.paid_amount >= invoice.amount


def approve_proposal(actor: Actor, proposal_id: int) -> str:
    """Approve a pending proposal: the re-plan runs on the invoice as it is now, in this
    transaction, and the client is emailed the new schedule.  Returns the proposal's new status:
    ``lapsed`` (nothing re-planned) when the invoice was meanwhile paid or voided.  Refused
    (InvalidInput) when the proposed first date has passed or the re-plan's rule refuses it."""
    with write_transaction():
        proposal, invoice = _lock_proposal(proposal_id)
        if lapses(invoice):
            _decided(proposal, actor, PROPOSAL_LAPSED)
            audit.record(actor, "plan.proposal_lapsed", client_id=invoice.client_id, invoice_id=invoice.id)
            return PROPOSAL_LAPSED
        if proposal.first_due_date <= clock.today():
            raise InvalidInput(
                f"The proposed first date, {format_day(proposal.first_due_date)}, has come: decline the proposal "
                "and re-plan the invoice yourself, or let the client propose again."
            )
        services.check_replan_input(proposal.installment_count, proposal.frequency, proposal.first_due_date)
        services.replan_locked(
            actor, invoice, proposal.installment_count, proposal.frequency, proposal.first_due_date, notify=False
        )
        _decided(proposal, actor, PROPOSAL_APPROVED)
        audit.record(
            actor,
            "plan.proposal_approved",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            detail=f"{proposal.installment_count} {proposal.frequency} installments from "
            f"{proposal.first_due_date.isoformat()}",
        )
        notices.plan_proposal_decided(invoice, proposal)
        return PROPOSAL_APPROVED


def decline_proposal(actor: Actor, proposal_id: int, reason: str) -> str:
    """Decline a pending proposal with a reason (required; the client is emailed it).  A proposal
    whose invoice was meanwhile paid or voided lapses instead (no email)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give the client a reason for declining.", "reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Keep the reason under {MAX_REASON} characters.", "reason")
    with write_transaction():
        proposal, invoice = _lock_proposal(proposal_id)
        if lapses(invoice):
            _decided(proposal, actor, PROPOSAL_LAPSED)
            audit.record(actor, "plan.proposal_lapsed", client_id=invoice.client_id, invoice_id=invoice.id)
            return PROPOSAL_LAPSED
        _decided(proposal, actor, PROPOSAL_DECLINED)
        proposal.decline_reason = reason
        audit.record(actor, "plan.proposal_declined", client_id=invoice.client_id, invoice_id=invoice.id, detail=reason)
        notices.plan_proposal_decided(invoice, proposal)
        return PROPOSAL_DECLINED


# --- Reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalRow:
    id: int
    invoice_id: int
    invoice_no: str
    client_id: int
    client_name: str
    installment_count: int
    frequency: str
    first_due_date: date
    balance: Decimal
    status: str
    created_at: object
    decline_reason: str
    lapsing: bool  # pending, but the invoice was paid or voided since


def _rows(found) -> list[ProposalRow]:
    rows = []
    for row in found:
        lapsing = row.status == PROPOSAL_PENDING and (row.voided_at is not None or row.paid_amount >= row.amount)
        rows.append(
            ProposalRow(
                row.id,
                row.invoice_id,
                row.invoice_no or "",
                row.client_id,
                row.client_name,
                row.installment_count,
                row.frequency,
                row.first_due_date,
                row.balance,
                row.status,
                row.created_at,
                row.decline_reason,
                lapsing,
            )
        )
    return rows


def _select():
    return (
        select(
            PlanProposal.id,
            PlanProposal.invoice_id,
            Invoice.invoice_no,
            PlanProposal.client_id,
            Client.name.label("client_name"),
            PlanProposal.installment_count,
            PlanProposal.frequency,
            PlanProposal.first_due_date,
            PlanProposal.balance,
            PlanProposal.status,
            PlanProposal.created_at,
            PlanProposal.decline_reason,
            Invoice.voided_at,
            Invoice.paid_amount,
            Invoice.amount,
        )
        .join(Invoice, Invoice.id == PlanProposal.invoice_id)
        .join(Client, Client.id == PlanProposal.client_id)
    )


PENDING = capped_page_statements(
    _select().where(PlanProposal.status == PROPOSAL_PENDING).order_by(PlanProposal.id),
    count_rows=select(PlanProposal.id).where(PlanProposal.status == PROPOSAL_PENDING),
)
PER_PAGE = 25


def pending_page(page: int) -> tuple[CappedStatementPagination, list[ProposalRow]]:
    """Pending proposals, oldest first (ix_plan_proposals_status_id), one page with a capped count."""
    pagination = paginate_capped(PENDING, {}, page=page, per_page=PER_PAGE)
    return pagination, _rows(pagination.items)


def invoice_proposals(invoice_id: int, client_id: int | None = None, limit: int = 5) -> list[ProposalRow]:
    """The invoice's latest proposals, newest first (bounded); with ``client_id``, only if theirs."""
    query = _select().where(PlanProposal.invoice_id == invoice_id).order_by(PlanProposal.id.desc()).limit(limit)
    if client_id is not None:
        query = query.where(PlanProposal.client_id == client_id)
    return _rows(db.session.execute(query))
