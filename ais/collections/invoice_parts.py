"""What the invoice pages (owner and portal) show of collections: the invoice's late fees and the
client's plan proposals.  The invoice pages add these to their context; the markup is the partial
``collections/_late_fees_proposals.html``.  Bounded reads: one invoice's fees and latest proposals,
skipped for an invoice that has none (``has_late_fees``, ``has_proposals``: ais.billing.reads)."""

from __future__ import annotations

from .. import clock
from ..billing import late_fees, proposals, services
from ..models import PROPOSAL_PENDING
from .forms import ApproveProposalForm, DeclineProposalForm, ProposePlanForm, WaiveFeeForm


def _fee_numbers(fees) -> set[int]:
    return {fee.fee_installment_number for fee in fees if fee.fee_installment_number and not fee.waived_on}


def invoice_collections(invoice) -> dict:
    """The owner's invoice page: its late fees (with waivers) and its pending proposal with the
    schedule the re-plan would give it now."""
    fees = late_fees.invoice_late_fees(invoice.id) if invoice.has_late_fees and not invoice.is_draft else []
    latest = proposals.invoice_proposals(invoice.id, limit=1) if invoice.has_proposals and not invoice.is_draft else []
    pending = latest[0] if latest and latest[0].status == PROPOSAL_PENDING else None
    preview, preview_error = None, None
    if pending is not None and not pending.lapsing:
        try:
            preview = services.replan_schedule(
                invoice, pending.installment_count, pending.frequency, pending.first_due_date
            )
        except services.BillingError as error:
            preview_error = error.message
    return {
        "late_fees": fees,
        "fee_numbers": _fee_numbers(fees),
        "waive_form": WaiveFeeForm(formdata=None),
        "proposal": pending,
        "proposal_preview": preview,
        "proposal_preview_error": preview_error,
        "approve_form": ApproveProposalForm(formdata=None),
        "decline_form": DeclineProposalForm(formdata=None),
    }


def portal_invoice_collections(invoice, client_id: int) -> dict:
    """The client's invoice page: their late fees, their latest proposal's answer and the form to
    propose a new plan while they may."""
    fees = late_fees.invoice_late_fees(invoice.id, client_id) if invoice.has_late_fees else []
    limits = proposals.proposal_limits()
    latest = proposals.invoice_proposals(invoice.id, client_id, limit=1) if invoice.has_proposals else []
    first_range = proposals.first_date_range(limits, clock.today())
    form = ProposePlanForm(formdata=None, data={"installment_count": None, "first_due": first_range[0]})
    return {
        "late_fees": fees,
        "fee_numbers": _fee_numbers(fees),
        "latest_proposal": latest[0] if latest else None,
        "can_propose": proposals.can_propose(invoice, limits),
        "propose_form": form,
        "first_range": first_range,
        "max_proposal_installments": limits.max_installments,
    }
