"""Who may see what: checked once per blueprint in a before_request hook, so no view can forget it."""

from __future__ import annotations

from typing import TypeGuard
from urllib.parse import urlsplit

from flask import abort, redirect, request, url_for
from flask_login import current_user

from ..audit import Actor


def is_safe_next(target: str | None) -> TypeGuard[str]:
    """Only paths on this site: not https://other, //other or /\\other."""
    if not target or not target.startswith("/") or target.startswith("//") or target.startswith("/\\"):
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def login_redirect():
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def require_owner():
    """before_request hook for owner-only areas: anonymous → sign-in page, client → 403.

    With AIS_REQUIRE_OWNER_2FA on, an owner without two-factor sign-in is sent to set it up.
    """
    if not current_user.is_authenticated:
        return login_redirect()
    if not current_user.is_owner:
        abort(403)
    if not current_user.totp_enabled and _owner_2fa_required():
        return redirect(url_for("auth.twofactor_setup"))
    return None


def require_signed_in():
    """before_request hook for the portal: anonymous → sign-in page (roles are checked by the portal)."""
    if not current_user.is_authenticated:
        return login_redirect()
    return None


def current_actor():
    """The signed-in user as the audit trail names them, with the address they came from."""
    if current_user.is_authenticated:
        return Actor(user_id=current_user.id, label=current_user.username, ip_address=request.remote_addr or "")
    return Actor(user_id=None, label="anonymous", ip_address=request.remote_addr or "")


def _owner_2fa_required() -> bool:
    from .twofactor import owner_2fa_required

    return owner_2fa_required()
