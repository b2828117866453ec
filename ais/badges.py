"""Status badges: a word (never colour alone), an icon and a colour for each state an invoice,
installment, payment or portal login can be in.

A template global rather than a Jinja macro because list pages show one per row: the HTML of each
known state is built once, and a row's badge is a dictionary lookup.
"""
from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape

# state -> (CSS class, words, icon)
STATUS_STYLES = {
    "paid": ("text-bg-success", "Paid", "✓"),
    "overdue": ("text-bg-danger", "Overdue", "!"),
    "partial": ("text-bg-info", "Partly paid", "◐"),
    "pending": ("text-bg-secondary", "Pending", "○"),
    "void": ("badge-void", "Void", "⊘"),
    "draft": ("badge-draft", "Draft", "✎"),
    "reported": ("text-bg-warning", "Awaiting confirmation", "◷"),
    "confirmed": ("text-bg-success", "Confirmed", "✓"),
    "rejected": ("text-bg-danger", "Rejected", "✕"),
    "voided": ("badge-void", "Voided", "⊘"),
    "active": ("text-bg-success", "Active", "✓"),
    "invited": ("text-bg-info", "Invited", "✉"),
    "disabled": ("text-bg-secondary", "Disabled", "⊘"),
    "no_login": ("badge-draft", "No login", "–"),
    "archived": ("badge-void", "Archived", "⊘"),
}


def _build(status: str) -> Markup:
    css, words, icon = STATUS_STYLES.get(
        status, ("text-bg-light", (status or "").replace("_", " ").capitalize(), ""))
    icon_html = Markup('<span class="status-icon" aria-hidden="true">{}</span> ').format(icon) if icon else ""
    return Markup('<span class="badge status-badge {}" data-status="{}">{}{}</span>').format(
        css, status or "", icon_html, escape(words))


_KNOWN = {status: _build(status) for status in STATUS_STYLES}


@lru_cache(maxsize=64)
def _other(status: str) -> Markup:
    return _build(status)


def status_badge(status: str | None) -> Markup:
    """The badge of ``status`` (an unknown one shows its name, capitalised, in a neutral badge)."""
    badge = _KNOWN.get(status)
    if badge is not None:
        return badge
    return _other(str(status or ""))
