"""``text(value)``: a value's text HTML-escaped, as a plain ``str``, for markup built with f-strings.

The same escaping as MarkupSafe's ``escape`` (which Jinja's autoescaping uses): ``&<>'"`` become
entities, and an object with ``__html__`` is trusted as it is.  ``escape`` returns a ``Markup``,
whose construction costs more than the escaping itself; the rows of a list, written in Python,
escape hundreds of values a page, only to join them into one ``Markup`` at the end.  For a plain
``str`` this calls MarkupSafe's own C function directly.  tests/unit/test_escaping.py checks
``text(x) == str(escape(x))`` for any text, numbers, dates, None and Markup.
"""
from __future__ import annotations

from markupsafe import escape

try:  # MarkupSafe's C speedups (a private name: fall back to escape() if a release moves it)
    from markupsafe._speedups import _escape_inner
except ImportError:  # pragma: no cover - the pinned MarkupSafe has it
    _escape_inner = None


def _text_slow(value) -> str:
    return str(escape(value))


def _text_fast(value) -> str:
    if type(value) is str:
        return _escape_inner(value)
    return str(escape(value))


text = _text_fast if _escape_inner is not None else _text_slow
