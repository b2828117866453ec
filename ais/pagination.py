"""Paging for lists that grow with the books.

Counting every matching row for "Showing 1–25 of N" costs as much as the table is long; on an
owner's list of tens of thousands of payments that count would be most of the page's work.
Counting stops at ``CAP`` rows instead, and the page says "of 1,000+" (nobody pages through
more than that; filters narrow a list faster).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from .extensions import db

CAP = 1_000


class PastLastPage(Exception):
    """A page number past the last page of a list that has rows (``?page=9`` of 2 pages, from an
    old bookmark or after rows went away).  The app answers with a redirect to ``last_page`` of the
    same list (``web.py``), rather than the list's "nothing here yet" state, which would be false."""

    def __init__(self, page: int, last_page: int) -> None:
        super().__init__(f"page {page} is past the last page, {last_page}")
        self.page, self.last_page = page, last_page


def check_not_past_end(page: int, pages: int, has_items: bool) -> None:
    """Raise ``PastLastPage`` for an empty page after the last page.  An empty page that the count
    says is not past the end (rows went away between the two statements) is shown as it is, so a
    redirect can never send a reader round in circles."""
    if not has_items and page > 1 and pages < page:
        raise PastLastPage(page, max(pages, 1))


@dataclass(frozen=True)
class PageStatements:
    """A list's two prebuilt statements: one page of rows with the number of matching rows, and
    that number alone (for a page past the end, which has no row to carry it)."""

    page: sa.Select
    count: sa.Select


def page_statements(select: sa.Select) -> PageStatements:
    """The statements of a list read ONE page at a time: ``select`` (Core columns, ordered) plus
    ``count(*) OVER ()`` and LIMIT/OFFSET.  Build them once (e.g. under ``functools.cache``): a
    statement object that is reused keeps its compiled form and cache key, so a page view does not
    build and hash its SQL again.

    LIMIT and OFFSET are written into the SQL as numbers at execution (``literal_execute``), not
    sent as parameters: PostgreSQL cannot cost a plan whose LIMIT is a parameter, so it would plan a
    prepared statement again on every execution; with the numbers in the text it keeps one plan per
    page size and page (a handful of texts: page sizes are fixed and few pages are visited)."""
    page = (
        select.add_columns(sa.func.count().over().label("matching_rows"))
        .limit(sa.bindparam("page_limit", type_=sa.Integer, literal_execute=True))
        .offset(sa.bindparam("page_offset", type_=sa.Integer, literal_execute=True))
    )
    count = sa.select(sa.func.count()).select_from(select.order_by(None).subquery())
    return PageStatements(page=page, count=count)


class StatementPagination(Pagination):
    """A page of rows and the number of matching rows in ONE statement (``count(*) OVER ()``).

    For lists bounded by one client's own rows (the portal's invoices and payments): the database
    computes every matching row either way to count them, so asking for the total alongside the
    page saves a round trip.  Not for the owner's lists, whose counts are capped instead.  Items are
    plain rows (named columns), not ORM objects: a list page only shows them.

    Flask-SQLAlchemy's ``Pagination`` is a base class whose subclasses supply ``_query_items`` and
    ``_query_count``; everything else here is this class's own state (set before the base class's
    ``__init__``, which reads the page at once).
    """

    window_total: int | None = None

    def __init__(self, statements: PageStatements, params: dict, *, page: int, per_page: int) -> None:
        self.statements, self.params = statements, params
        super().__init__(page=page, per_page=per_page, error_out=False, count=True)
        check_not_past_end(self.page, self.pages, bool(self.items))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def _query_items(self) -> list:
        rows = db.session.execute(
            self.statements.page, {**self.params, "page_limit": self.per_page, "page_offset": self.offset}
        ).all()
        self.window_total = rows[0].matching_rows if rows else None
        return list(rows)

    def _query_count(self) -> int:
        if self.window_total is not None:
            return self.window_total
        # A page past the end has no row to carry the total.
        return db.session.execute(self.statements.count, self.params).scalar_one()


def paginate_statement(statements: PageStatements, params: dict, *, page: int, per_page: int) -> StatementPagination:
    """One page of a list built by ``page_statements``, with its total, in one statement."""
    return StatementPagination(statements, params, page=page, per_page=per_page)


def capped_page_statements(
    select: sa.Select,
    *,
    counted: bool = True,
    count_rows: sa.Select | sa.CompoundSelect | None = None,
    total: sa.ScalarSelect | None = None,
) -> PageStatements:
    """Like ``page_statements`` for an owner's list, whose total is counted up to a cap only (see
    ``CappedStatementPagination``): the capped count rides along with the page as an uncorrelated scalar
    subquery (``capped_total``), which the database evaluates once.  ``counted=False`` when the
    caller knows the total (a running total): the page alone.  ``count_rows``: the same rows as
    ``select`` without what only the page shows (the joins that fetch names), counted instead:
    PostgreSQL never drops an inner join, and joining up to the cap's rows to every client and
    invoice costs more on bigger books.  ``total``: the number of rows read from a running count
    (a scalar subquery) instead of counting them; it rides along the same way."""
    if total is not None:
        page = select.add_columns(total.label("capped_total"))
        page = page.limit(sa.bindparam("page_limit", type_=sa.Integer, literal_execute=True)).offset(
            sa.bindparam("page_offset", type_=sa.Integer, literal_execute=True)
        )
        return PageStatements(page=page, count=sa.select(total))
    limited = (
        (select if count_rows is None else count_rows)
        .order_by(None)
        .limit(sa.bindparam("count_limit", type_=sa.Integer, literal_execute=True))
    )
    capped = sa.select(sa.func.count()).select_from(limited.subquery())
    page = select.add_columns(capped.scalar_subquery().label("capped_total")) if counted else select
    page = page.limit(sa.bindparam("page_limit", type_=sa.Integer, literal_execute=True)).offset(
        sa.bindparam("page_offset", type_=sa.Integer, literal_execute=True)
    )
    return PageStatements(page=page, count=capped)


class CappedStatementPagination(Pagination):
    """A page of rows with its total counted up to ``cap`` rows ("of 1,000+"), in one statement
    built by ``capped_page_statements`` (``known_total``: the total when the caller keeps it)."""

    cap = CAP
    total_capped = False
    counted: int | None = None

    def __init__(
        self, statements: PageStatements, params: dict, *, page: int, per_page: int, known_total: int | None = None
    ) -> None:
        self.statements, self.params, self.known_total = statements, params, known_total
        super().__init__(page=page, per_page=per_page, error_out=False, count=True)
        check_not_past_end(self.page, self.pages, bool(self.items))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def _query_items(self) -> list:
        rows = db.session.execute(
            self.statements.page,
            {**self.params, "count_limit": self.cap + 1, "page_limit": self.per_page, "page_offset": self.offset},
        ).all()
        self.counted = self.known_total if self.known_total is not None else (rows[0].capped_total if rows else None)
        return list(rows)

    def _query_count(self) -> int:
        counted = self.counted
        if counted is None:  # a page past the end has no row to carry the count
            counted = db.session.execute(
                self.statements.count, {**self.params, "count_limit": self.cap + 1}
            ).scalar_one()
        self.total_capped = counted > self.cap
        return min(counted, self.cap)


def paginate_capped(
    statements: PageStatements, params: dict, *, page: int, per_page: int, total: int | None = None
) -> CappedStatementPagination:
    """One page of an owner's list built by ``capped_page_statements``, with its capped total (or
    ``total``, when the caller knows it and built the statements with ``counted=False``)."""
    return CappedStatementPagination(statements, params, page=page, per_page=per_page, known_total=total)
