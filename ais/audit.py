"""The audit trail: append-only entries written in the same transaction as what they record."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .extensions import db
from .models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or the system (a command, a webhook)."""

    user_id: int | None
    label: str
    ip_address: str = ""

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
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
