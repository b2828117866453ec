"""Paging for lists that grow with the books.

Counting every matching row for "Showing 1–25 of N" costs as much as the table is long; on an
owner's list of tens of thousands of payments that count would be most of the page's work.
Counting stops at ``CAP`` rows instead, and the page says "of 1,000+" (nobody pages through
more than that; filters narrow a list faster).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import orm

from .extensions import db

CAP = 1_000


class CappedPagination(SelectPagination):
    """A Flask-SQLAlchemy pagination whose total is counted up to ``cap`` rows only."""

    cap = CAP
    total_capped = False

    def _query_count(self) -> int:
        known = self._query_args.get("known_total")
        if known is not None:  # kept as a running total elsewhere: nothing to count
            return known
        select = self._query_args["select"]
        sub = select.options(orm.lazyload("*")).order_by(None).limit(self.cap + 1).subquery()
        count = self._query_args["session"].execute(sa.select(sa.func.count()).select_from(sub)).scalar()
        self.total_capped = count > self.cap
        return min(count, self.cap)


def paginate(select, *, page: int, per_page: int, total: int | None = None) -> CappedPagination:
    """One page of ``select`` (a SQLAlchemy select of ORM entities), counting at most CAP rows;
    or, when the caller knows how many rows match (``total``), not counting at all."""
    return CappedPagination(select=select, session=db.session(), page=page, per_page=per_page,
                            error_out=False, count=True, known_total=total)


class OneStatementPagination(SelectPagination):
    """A page of items and the number of matching rows in ONE statement (``count(*) OVER ()``).

    For lists bounded by one client's own rows (the portal's invoices and payments): the database
    computes every matching row either way to count them, so asking for the total alongside the
    page saves a round trip.  Not for the owner's lists, whose counts are capped instead.
    """

    _window_total: int | None = None

    def _query_items(self) -> list:
        select = self._query_args["select"]
        windowed = (select.add_columns(sa.func.count().over().label("matching_rows"))
                    .limit(self.per_page).offset(self._query_offset))
        rows = self._query_args["session"].execute(windowed).unique().all()
        self._window_total = rows[0][-1] if rows else None
        return [row[0] for row in rows]

    def _query_count(self) -> int:
        if self._window_total is not None:
            return self._window_total
        return super()._query_count()  # a page past the end has no row to carry the total


def paginate_in_one(select, *, page: int, per_page: int) -> OneStatementPagination:
    """One page of ``select`` (a select of one ORM entity) with its total, in one statement."""
    return OneStatementPagination(select=select, session=db.session(), page=page, per_page=per_page,
                                  error_out=False, count=True)
