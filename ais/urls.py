"""``id_url``: ``url_for`` for the links a list page repeats on every row.

A list page links each row to its invoice, client or payment: 50 to 100 ``url_for`` calls a page,
each going through Flask's URL defaults and Werkzeug's rule builder.  Those routes are all of the
shape ``/invoices/<int:invoice_id>``, so the rule's text is turned once into a format string and a
row's URL is that string filled in with its ids.  Anything else (another converter, a query
string, a route with two rules) is left to ``url_for``; a test checks that both agree on every
route of the app.
"""
from __future__ import annotations

import re
from functools import lru_cache

from flask import current_app, request, url_for

_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


@lru_cache(maxsize=256)
def _pattern(app_id: int, endpoint: str) -> tuple[str, frozenset[str]] | None:
    """The format string of ``endpoint``'s only rule when all its arguments are ``int``, and the
    names of those arguments; None when the rule is not that simple."""
    rules = list(current_app.url_map.iter_rules(endpoint))
    if len(rules) != 1 or rules[0].defaults or rules[0].host:
        return None
    text = rules[0].rule
    names = []
    for match in _ARGUMENT.finditer(text):
        if match.group("converter") != "int":
            return None
        names.append(match.group("name"))
    literal_parts = _ARGUMENT.split(text)[::3]  # the text between the arguments
    if any("{" in part or "}" in part for part in literal_parts):
        return None
    return _ARGUMENT.sub(lambda m: "{" + m.group("name") + "}", text), frozenset(names)


def id_url(endpoint: str, **values) -> str:
    """``url_for(endpoint, **values)`` for a route whose arguments are all ints."""
    found = _pattern(id(current_app._get_current_object()), endpoint)
    if found is not None:
        pattern, names = found
        if names == values.keys() and all(type(v) is int and v >= 0 for v in values.values()):
            return request.script_root + pattern.format(**values)
    return url_for(endpoint, **values)


def id_url_format(endpoint: str) -> str | None:
    """The URL of ``endpoint`` as a format string with a ``{name}`` field for each of its int
    arguments (``/payments/{payment_id}/confirm``), for building many rows' URLs with
    ``str.format``; None when the route is not that simple (use ``id_url``)."""
    found = _pattern(id(current_app._get_current_object()), endpoint)
    if found is None:
        return None
    return request.script_root.replace("{", "{{").replace("}", "}}") + found[0]
