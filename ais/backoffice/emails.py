"""/dev/emails: in development only, the owner reads every email the app has queued (invitations,
password resets, receipts, notices) without an SMTP server or another command.  In production the
routes answer 404: emails there are delivered by the outbox worker and their links are secrets."""

from __future__ import annotations

from functools import cache

from flask import abort, current_app, render_template
from sqlalchemy import bindparam, select

from ..database import reads_only
from ..extensions import db
from ..models import OutboxMessage
from ..pagination import PageStatements, capped_page_statements, paginate_capped
from . import bp
from .views import page_arg

PER_PAGE = 25


def _development_only() -> None:
    if current_app.config["AIS_ENV"] != "development":
        abort(404)


@cache
def _list_statements() -> PageStatements:
    query = select(
        OutboxMessage.id,
        OutboxMessage.to_address,
        OutboxMessage.subject,
        OutboxMessage.created_at,
        OutboxMessage.sent_at,
    ).order_by(OutboxMessage.id.desc())
    return capped_page_statements(query)


@bp.get("/dev/emails")
@reads_only
def dev_emails():
    _development_only()
    messages = paginate_capped(_list_statements(), {}, page=page_arg(), per_page=PER_PAGE)
    return render_template("backoffice/dev_emails.html", messages=messages)


@bp.get("/dev/emails/<int:message_id>")
@reads_only
def dev_email(message_id: int):
    _development_only()
    message = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.id == bindparam("message_id")), {"message_id": message_id}
    ).scalar_one_or_none()
    if message is None:
        abort(404)
    return render_template("backoffice/dev_email.html", message=message)
