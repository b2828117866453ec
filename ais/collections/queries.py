"""Reads for the collections pages: each function returns what one page shows (ais.billing.aging
does the sums in SQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ..billing import aging
from ..billing.reads import MAX_ID
from ..extensions import db
from ..models import Client
from ..pagination import StatementPagination

PER_PAGE = 25


@dataclass(frozen=True)
class AgingPage:
    as_of: dt.date
    pagination: StatementPagination
    rows: list[aging.ClientAging]
    totals: aging.Aging


def aging_page(as_of: dt.date, page: int) -> AgingPage:
    """The aging report: a page of clients by name with their buckets, and the totals (two statements)."""
    pagination, rows = aging.aging_by_client(as_of, page=page, per_page=PER_PAGE)
    return AgingPage(as_of, pagination, rows, aging.aging_totals(as_of))


@dataclass(frozen=True)
class ClientAgingPage:
    as_of: dt.date
    client_id: int
    client_name: str
    items: list[aging.OpenItem]
    totals: aging.Aging


def client_aging_page(client_id: int, as_of: dt.date) -> ClientAgingPage | None:
    """One client's open installments on ``as_of`` (the drill-down); None if there is no such client."""
    if not 0 < client_id <= MAX_ID:
        return None
    name = db.session.scalar(select(Client.name).where(Client.id == client_id))
    if name is None:
        return None
    items = aging.client_open_items(client_id, as_of)
    return ClientAgingPage(as_of, client_id, name, items, aging.Aging.of(items))
