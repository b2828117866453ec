"""The audit trail: append-only entries written in the same transaction as what they record."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .extensions import db
from .models import AuditEntry

# Every action an audit entry can name.  The /audit filter offers these (reading them from the
# table would scan it whole); tests/unit/test_audit_actions.py fails if code records one not listed.
# What the audit trail calls each area and the words a bookkeeper would use for a few actions;
# the rest read well as "<area>: <action in words>" (audit_label).
AREA_LABELS = {
    "auth": "Sign-in",
    "2fa": "Two-step sign-in",
    "user": "User",
    "client": "Client",
    "portal": "Portal",
    "invoice": "Invoice",
    "payment": "Payment",
    "checkout": "Online checkout",
    "ledger": "Ledger",
}
ACTION_LABELS = {
    "auth.sign_in": "Sign-in: signed in",
    "auth.sign_in_failed": "Sign-in: wrong password or code",
    "auth.sign_out": "Sign-in: signed out",
    "auth.2fa_enabled": "Two-step sign-in: turned on",
    "auth.2fa_disabled": "Two-step sign-in: turned off",
    "auth.2fa_failed": "Two-step sign-in: wrong code",
    "auth.2fa_keys_resealed": "Two-step sign-in: keys re-encrypted",
    "2fa.required_for_owners": "Two-step sign-in: required for owners",
    "2fa.optional_for_owners": "Two-step sign-in: optional for owners",
    "portal.preview": "Portal: viewed as client",
    "client.promise_recorded": "Client: promise to pay noted",
    "client.promise_cancelled": "Client: promise to pay cancelled",
    "business.payment_instructions_updated": "Business: payment instructions updated",
    "payment.received_online": "Payment: received online",
    "payment.amount_differs": "Payment: online amount differs from the checkout",
}


def audit_label(action: str) -> str:
    """'payment.overpayment_flagged' -> 'Payment: overpayment flagged' (the trail shows words, not codes)."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    area, _, rest = action.partition(".")
    words = rest.replace("_", " ").replace(".", " ")
    return f"{AREA_LABELS.get(area, area.capitalize())}: {words}" if rest else AREA_LABELS.get(area, action)


AUDIT_ACTIONS = (
    # Sign-in and accounts
    "auth.sign_in",
    "auth.sign_in_failed",
    "auth.sign_out",
    "auth.locked_out",
    "auth.2fa_enabled",
    "auth.2fa_disabled",
    "auth.2fa_failed",
    "auth.recovery_code_used",
    "auth.recovery_codes_replaced",
    "auth.2fa_keys_resealed",
    "auth.owner_created",
    "auth.password_changed",
    "auth.password_reset",
    "auth.password_reset_requested",
    "auth.invitation_accepted",
    "auth.sessions_ended",
    "2fa.required_for_owners",
    "2fa.optional_for_owners",
    "user.created",
    # The business
    "business.profile_updated",
    "business.payment_instructions_updated",
    # Clients and their portal access
    "client.created",
    "client.updated",
    "client.archived",
    "client.restored",
    "portal.access_enabled",
    "portal.access_disabled",
    "portal.preview",
    "client.courtesy_reminders_on",
    "client.courtesy_reminders_off",
    "client.calendar_address_reset",
    "client.promise_recorded",
    "client.promise_cancelled",
    # Collections
    "reminders.schedule_changed",
    "statements.monthly_on",
    "statements.monthly_off",
    "late_fees.policy_changed",
    "plan_proposals.limits_changed",
    "plan.proposed",
    "plan.proposal_approved",
    "plan.proposal_declined",
    "plan.proposal_lapsed",
    # Invoices
    "invoice.draft_created",
    "invoice.draft_updated",
    "invoice.draft_deleted",
    "invoice.issued",
    "invoice.replanned",
    "invoice.voided",
    "invoice.credited",
    "invoice.late_fee_charged",
    "invoice.late_fee_waived",
    # Payments
    "payment.recorded",
    "payment.reported",
    "payment.proof_added",
    "payment.confirmed",
    "payment.rejected",
    "payment.voided",
    "payment.received_online",
    "payment.amount_differs",
    "payment.refunded",
    "payment.overpayment_flagged",
    "payment.overpayment_refunded",
    "payment.overpayment_resolved",
    "payment.credit_applied",
    # Online checkouts
    "checkout.created",
    "checkout.started",
    "checkout.cancelled",
    "checkout.expired",
    "checkout.failed",
    # The ledger
    "ledger.period_closed",
    "ledger.period_reopened",
    "ledger.account_added",
    "ledger.account_renamed",
    "ledger.account_deactivated",
    "ledger.account_reactivated",
    "ledger.method_account_changed",
    "ledger.sales_account_changed",
)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or the system (a command, a webhook)."""

    user_id: int | None
    label: str
    ip_address: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(user_id=None, label=label)


def record(
    actor: Actor,
    action: str,
    *,
    client_id: int | None = None,
    invoice_id: int | None = None,
    payment_id: int | None = None,
    amount_before: Decimal | None = None,
    amount_after: Decimal | None = None,
    detail: str = "",
) -> None:
    """Add one audit entry to the current transaction (the caller commits)."""
    db.session.add(
        AuditEntry(
            actor_id=actor.user_id,
            actor_label=actor.label[:254],
            action=action,
            ip_address=actor.ip_address[:64],
            client_id=client_id,
            invoice_id=invoice_id,
            payment_id=payment_id,
            amount_before=amount_before,
            amount_after=amount_after,
            detail=detail,
        )
    )
