"""Who the portal shows: the scope every portal page and query is limited to.

Applied once, as the blueprint's ``before_request`` hook (see ``views``), so no portal view can
forget it:

* anonymous            → the sign-in page, with ``next`` set to the page asked for;
* a signed-in client   → their own client id; any ``client`` query parameter is ignored;
* an owner             → "View as client": a read-only preview of the portal as the client named
  by ``?client=<id>``.  Without the parameter the owner is sent to the client list (with a
  flash); a parameter that is not the id of an existing client is a 404.  Any owner request
  other than GET/HEAD is refused with 403, so nothing can be written from a preview.  Nothing
  about the preview is kept in the Flask session: the ``client`` parameter travels in every
  portal link (``portal_url``).  Each preview page view is written to the audit trail
  (``portal.preview``) in its own small transaction.

The scope is kept on ``flask.g.portal_scope`` for the request; views read it with ``scope()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, g, redirect, request, url_for
from flask_login import current_user

from .. import audit
from ..auth.access import current_actor, login_redirect, require_owner
from ..database import write_transaction
from ..params import parse_id
from . import queries

READ_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class PortalScope:
    """The client whose portal this request shows, and whether an owner is previewing it."""

    client_id: int
    client_name: str
    preview: bool

    @property
    def client_param(self) -> int | None:
        """The ``client`` query parameter every portal link carries (only in a preview)."""
        return self.client_id if self.preview else None


def scope() -> PortalScope:
    """The current request's scope (set by ``apply_scope``; a portal view never runs without it)."""
    return g.portal_scope


def _parse_client_param(value: str | None) -> int | None:
    return parse_id(value)


def apply_scope():
    """The portal's before_request hook: decide the scope, or refuse (see the module's docstring)."""
    if not current_user.is_authenticated:
        return login_redirect()

    if current_user.is_client:
        # The session check already read the client's name (g.ais_client_name).
        found = g.get("ais_client_name") if current_user.client_id else None
        if found is None and current_user.client_id:
            found = queries.client_name(current_user.client_id)
        if found is None:
            abort(403)  # a client login without its client: nothing to show
        g.portal_scope = PortalScope(client_id=current_user.client_id, client_name=found, preview=False)
        return None

    if not current_user.is_owner:
        abort(403)
    refused = require_owner()  # e.g. an owner who must set up two-factor sign-in first
    if refused is not None:
        return refused
    if request.method not in READ_METHODS:
        abort(403)  # a preview is read-only: nothing is ever written in a client's name
    raw = request.args.get("client")
    if raw is None or not raw.strip():
        flash("Choose a client, then use “View as client” to preview their portal.", "info")
        return redirect(url_for("backoffice.clients"))
    client_id = _parse_client_param(raw)
    name = queries.client_name(client_id) if client_id is not None else None
    if name is None:
        abort(404)
    g.portal_scope = PortalScope(client_id=client_id, client_name=name, preview=True)
    _audit_preview(client_id)
    return None


def _audit_preview(client_id: int) -> None:
    """One audit entry per preview page view, committed on its own (the page itself writes nothing)."""
    with write_transaction():
        audit.record(current_actor(), "portal.preview", client_id=client_id, detail=request.path[:200])


def portal_url(endpoint: str, **values) -> str:
    """``url_for`` for portal pages that keeps the preview's ``client`` parameter.

    For a signed-in client nothing is added (their scope never comes from the URL).
    """
    current = g.get("portal_scope")
    if current is not None and current.preview:
        values.setdefault("client", current.client_id)
    return url_for(endpoint, **values)
