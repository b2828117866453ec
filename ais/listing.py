"""The parts every list page repeats: sortable column headers and the page links under the table.

Template globals rather than Jinja macros (``sort_header`` and ``page_links``): a list shows six or
seven sort headers and up to nine page links, each a URL built with the list's filters, and as
macros they were a tenth of a list page's CPU time.  tests/unit/test_listing.py checks the HTML
against the macros they replaced.
"""
from __future__ import annotations

from flask import url_for
from markupsafe import Markup, escape

_EMPTY = (None, "", False)  # filter values left out of links (as the macros did: 0 == False too)


def _kept(params: dict, *leave_out: str) -> dict:
    return {name: value for name, value in params.items() if value not in _EMPTY and name not in leave_out}


def sort_header(label, key: str, sort: str, direction: str, endpoint: str, **params) -> Markup:
    """A table header whose link sorts the list by ``key`` (the current key flips the direction);
    ``params``: the list's filters, kept in the link; ``class_``: the header cell's class."""
    css = params.get("class_", "")
    is_current = sort == key
    ascending = direction == "asc"
    next_direction = "desc" if is_current and ascending else "asc"
    href = url_for(endpoint, sort=key, dir=next_direction, **_kept(params, "class_"))
    if is_current:
        aria = f' aria-sort="{"ascending" if ascending else "descending"}"'
        indicator = "▲" if ascending else "▼"
        spoken = (f", sorted {'ascending' if ascending else 'descending'}; "
                  f"sort {'descending' if ascending else 'ascending'}")
    else:
        aria, indicator, spoken = "", "↕", ", sort ascending"
    # Label, class and URL are escaped; the rest is fixed text.
    return Markup(  # nosec B704
        f'<th scope="col"{aria} class="{escape(css)}">'
        f'<a class="sort-link{" is-current" if is_current else ""}" href="{escape(href)}">{escape(label)}'
        f'<span class="sort-indicator" aria-hidden="true">{indicator}</span>'
        f'<span class="visually-hidden">{spoken}</span></a></th>')


def page_links(pagination, endpoint: str, **params) -> Markup:
    """'Showing 26–50 of 1,234' and the links to the other pages (first, last and two either side
    of the current one), keeping the list's filters (``params``) in every link."""
    if not pagination or not pagination.total:
        return Markup("")
    params = _kept(params)
    capped = "+" if getattr(pagination, "total_capped", False) else ""
    html = ['<div class="d-flex flex-wrap align-items-center justify-content-between gap-2 mt-3 pagination-bar">',
            f'<p class="small text-body-secondary mb-0">Showing {escape(pagination.first)}–{escape(pagination.last)} '
            f"of {pagination.total:,}{capped}</p>"]
    if pagination.pages > 1:
        # url_for(endpoint, page=n, **params) for each n, from one url_for: Werkzeug writes the
        # query in argument order, so it is the path, "?page=n", then the filters' query.
        path, _, query = url_for(endpoint, **params).partition("?")
        head, tail = f"{path}?page=", f"&{query}" if query else ""

        def link(page: int) -> str:
            return str(escape(f"{head}{int(page)}{tail}"))

        html.append('<nav aria-label="Pages"><ul class="pagination pagination-sm mb-0 flex-wrap">')
        if pagination.has_prev:
            html.append(f'<li class="page-item"><a class="page-link" href="{link(pagination.prev_num)}" '
                        'rel="prev">‹ Previous</a></li>')
        else:
            html.append('<li class="page-item disabled"><span class="page-link">‹ Previous</span></li>')
        for number in pagination.iter_pages(left_edge=1, left_current=2, right_current=2, right_edge=1):
            if number is None:
                html.append('<li class="page-item disabled"><span class="page-link">…</span></li>')
            elif number == pagination.page:
                html.append(f'<li class="page-item active" aria-current="page"><span class="page-link">{number}'
                            "</span></li>")
            else:
                html.append(f'<li class="page-item"><a class="page-link" href="{link(number)}">'
                            f'<span class="visually-hidden">Page </span>{number}</a></li>')
        if pagination.has_next:
            html.append(f'<li class="page-item"><a class="page-link" href="{link(pagination.next_num)}" '
                        'rel="next">Next ›</a></li>')
        else:
            html.append('<li class="page-item disabled"><span class="page-link">Next ›</span></li>')
        html.append("</ul></nav>")
    html.append("</div>")
    # URLs escaped, numbers are ints; the rest is fixed markup.
    return Markup("".join(html))  # nosec B704
