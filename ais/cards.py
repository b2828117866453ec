"""``stat_card``: one figure on a dashboard or an invoice's page (Invoiced, Collected, Balance...).

A template global rather than a Jinja macro: the owner's dashboard, client and invoice pages and
the portal's show four or five each, and a Jinja macro call costs more than the HTML it writes.
tests/unit/test_cards.py checks the HTML against the macro it replaced.
"""
from __future__ import annotations

from markupsafe import Markup, escape


def stat_card(label, value, note=None, tone=None, href=None) -> Markup:
    """A card with ``label`` over ``value`` (a formatted figure), an optional ``note`` under it,
    a ``tone`` (good, bad, soon...) for its colour, and ``href`` making the whole card a link."""
    label = escape(label)
    html = [f'<div class="card stat-card h-100{escape(" stat-" + str(tone)) if tone else ""}"><div class="card-body">'
            f'<p class="stat-label mb-1">{label}</p><p class="stat-value mb-1">{escape(value)}</p>']
    if note:
        html.append(f'<p class="stat-note small mb-0">{escape(note)}</p>')
    if href:
        html.append(f'<a class="stretched-link" href="{escape(href)}"><span class="visually-hidden">{label}: details'
                    "</span></a>")
    html.append("</div></div>")
    # Every value above is escaped; the rest is this module's own markup.
    return Markup("".join(html))  # nosec B704
