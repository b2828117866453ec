"""/audit: the owner's read-only view of the audit trail (no route edits or deletes it)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from flask import render_template, request
from sqlalchemy import ColumnElement, Integer, String, bindparam, func, select

from .. import clock
from ..audit import AUDIT_ACTIONS
from ..database import reads_only
from ..models import AuditEntry, Client, Invoice
from ..pagination import PageStatements, capped_page_statements, paginate_capped
from ..params import day, optional_id, page_number
from . import bp
from .queries import escape_like, like_pattern

PER_PAGE = 50


@lru_cache(maxsize=64)
def _audit_statements(
    by_action: bool, by_actor: bool, by_client: bool, by_invoice: bool, from_day: bool, to_day: bool
) -> PageStatements:
    """The audit page's statements for one combination of filters (built once each; the filters'
    values are bound parameters)."""
    moment = AuditEntry.at.type
    conditions: list[ColumnElement[bool]] = []
    if by_action:
        conditions.append(AuditEntry.action.like(bindparam("action_pattern", type_=String), escape="\\"))
    if by_actor:
        conditions.append(
            func.lower(AuditEntry.actor_label).like(bindparam("actor_pattern", type_=String), escape="\\")
        )
    if by_client:
        conditions.append(AuditEntry.client_id == bindparam("client_id", type_=Integer))
    if by_invoice:
        conditions.append(
            AuditEntry.invoice_id.in_(
                select(Invoice.id).where(func.upper(Invoice.invoice_no) == bindparam("invoice_no", type_=String))
            )
        )
    if from_day:
        conditions.append(AuditEntry.at >= bindparam("at_from", type_=moment))
    if to_day:
        conditions.append(AuditEntry.at < bindparam("at_before", type_=moment))
    query = (
        select(
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.actor_label,
            AuditEntry.action,
            AuditEntry.client_id,
            AuditEntry.invoice_id,
            AuditEntry.amount_before,
            AuditEntry.amount_after,
            AuditEntry.detail,
            AuditEntry.ip_address,
            Client.name.label("client_name"),
            Invoice.invoice_no,
        )
        .outerjoin(Client, Client.id == AuditEntry.client_id)
        .outerjoin(Invoice, Invoice.id == AuditEntry.invoice_id)
        .where(*conditions)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    # The names are outer-joined for the page only: the entries alone are counted.
    return capped_page_statements(query, count_rows=select(AuditEntry.id).where(*conditions))


def audit_page(
    *,
    action: str,
    actor: str,
    client_id: int | None,
    invoice_no: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
    page: int,
):
    """One page of audit entries, newest first, with the client's name and invoice number joined in
    (rows), and their count (capped): one statement."""
    statements = _audit_statements(
        bool(action), bool(actor), bool(client_id), bool(invoice_no), bool(date_from), bool(date_to)
    )
    params = {
        "action_pattern": escape_like(action or "") + "%",  # the action and the ones under it
        "actor_pattern": like_pattern((actor or "").lower()),
        "client_id": client_id,
        "invoice_no": (invoice_no or "").strip().upper(),
        # The days are the business's (AIS_TIMEZONE), as the page shows the moments.
        "at_from": _start_of(date_from) if date_from else None,
        "at_before": _start_of(date_to + dt.timedelta(days=1)) if date_to else None,
    }
    return paginate_capped(statements, params, page=page, per_page=PER_PAGE)


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the business's time zone, in UTC (how moments are stored)."""
    return dt.datetime.combine(day, dt.time.min, clock.business_timezone()).astimezone(dt.UTC)


def action_names() -> list[str]:
    """The filter's choices: every action the code records (a DISTINCT over the trail would read
    all of it on every visit)."""
    return sorted(AUDIT_ACTIONS)


@bp.get("/audit")
@reads_only
def audit():
    filters = {
        "action": request.args.get("action", "").strip()[:60],
        "actor": request.args.get("actor", "").strip()[:100],
        "client_id": optional_id(request.args.get("client_id")),
        "invoice_no": request.args.get("invoice_no", "").strip()[:20],
        "date_from": day(request.args.get("date_from"), "start date"),
        "date_to": day(request.args.get("date_to"), "end date"),
    }
    page = page_number(request.args.get("page"))
    entries = audit_page(page=page, **filters)
    params = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in filters.items() if v}
    return render_template(
        "backoffice/audit.html", entries=entries, filters=filters, params=params, actions=action_names()
    )
