"""Reads for the owner's pages: each function returns what one page (or panel) shows.

SQL does the sums, the filtering and the paging; lists load what they show with joins or
``selectinload`` (never a query per row).  Invoice status is derived, never stored: in SQL it is
expressed with the running totals (see ``status_condition``), and for display the page uses
``services.status_of``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache

from flask import abort, g
from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql.expression import ColumnElement

from ..billing import methods, rules
from ..billing.reads import MAX_ID, InvoiceView, read_credit_notes, read_invoice, read_invoice_payments
from ..billing.rules import add_months
from ..db_types import Money
from ..extensions import db
from ..models import (
    CONFIRMED,
    PAYMENT_STATES,
    REPORTED,
    Client,
    DueDayTotal,
    Installment,
    Invoice,
    MonthlyTotal,
    Overpayment,
    Payment,
    PaymentProof,
    User,
)
from ..pagination import PageStatements, capped_page_statements, paginate_capped

PER_PAGE = 25
ZERO = Decimal("0.00")


# --- Helpers ------------------------------------------------------------------------------------


def money_sum(expression):
    """SUM(expression) as exact money, 0.00 when there are no rows (cents on SQLite, NUMERIC on PostgreSQL)."""
    return type_coerce(func.coalesce(func.sum(expression), 0), Money())


def like_pattern(text: str) -> str:
    """'%text%' with LIKE's wildcards in the text taken literally (used with escape='\\')."""
    return f"%{escape_like(text)}%"


def escape_like(text: str) -> str:
    """``text`` with LIKE's wildcards (and the escape character) taken literally (escape='\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def issued_not_void():
    return and_(Invoice.issued_at.is_not(None), Invoice.voided_at.is_(None))


def open_unpaid():
    """Issued, not void, money still owed: word for word the predicate of the partial index
    ``ix_invoices_client_open``, so that a client's figures read their open invoices only."""
    return and_(issued_not_void(), Invoice.paid_amount < Invoice.amount)


def status_condition(status: str, today: dt.date | ColumnElement[dt.date]):
    """The SQL twin of ``rules.invoice_status``, from the running totals."""
    unpaid = Invoice.paid_amount < Invoice.amount
    overdue = and_(issued_not_void(), unpaid, Invoice.next_due_date.is_not(None), Invoice.next_due_date < today)
    not_overdue = or_(Invoice.next_due_date.is_(None), Invoice.next_due_date >= today)
    conditions = {
        rules.DRAFT: Invoice.issued_at.is_(None),
        rules.VOID: and_(Invoice.issued_at.is_not(None), Invoice.voided_at.is_not(None)),
        rules.PAID: and_(issued_not_void(), Invoice.paid_amount >= Invoice.amount),
        rules.OVERDUE: overdue,
        rules.PARTIAL: and_(issued_not_void(), unpaid, not_overdue, Invoice.paid_amount > 0),
        rules.PENDING: and_(issued_not_void(), unpaid, not_overdue, Invoice.paid_amount <= 0),
    }
    return conditions.get(status, false())


def balance_expression():
    """What is still owed on an invoice: nothing on a void one or a draft."""
    return case((issued_not_void(), Invoice.amount - Invoice.paid_amount), else_=0)


def login_status(*, is_enabled: bool, has_password: bool) -> str:
    """A client's login: disabled, invited (no password set yet) or active."""
    if not is_enabled:
        return "disabled"
    if not has_password:
        return "invited"
    return "active"


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


# --- Navbar ---------------------------------------------------------------------------------------


def awaiting_confirmation_count() -> int:
    """Reported payments waiting for the owner: a sum over ``monthly_totals`` (one row per month of
    history), not a count over payments."""
    return int(db.session.scalar(select(func.coalesce(func.sum(MonthlyTotal.awaiting_count), 0))) or 0)


def awaiting_confirmation_for_request() -> int:
    """``awaiting_confirmation_count`` once per request: an owner's session check reads it with the
    session (``g.awaiting_confirmation``), and the navbar and the queue both show it."""
    if g.get("awaiting_confirmation") is None:
        g.awaiting_confirmation = awaiting_confirmation_count()
    return g.awaiting_confirmation


# --- Dashboard ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardFigures:
    invoiced: Decimal
    collected: Decimal
    outstanding: Decimal
    overdue_amount: Decimal
    overdue_count: int
    due_soon_amount: Decimal
    due_soon_count: int
    awaiting_amount: Decimal
    awaiting_count: int
    # Online money still to refund or credit: the dashboard reads the list only when there is some
    # (unknown, so read, when the books have no month yet).
    overpayments_open: bool = True


DUE_WINDOW_DAYS = 30
CHART_MONTHS = 12
TODAY, HORIZON, THIS_MONTH = (
    bindparam("today", type_=Date),
    bindparam("horizon", type_=Date),
    bindparam("this_month", type_=Date),
)
FIRST_CHART_MONTH = bindparam("first_month", type_=Date)


@cache
def _figures_statement():
    """The dashboard's cards and its chart in ONE statement, at a flat cost whatever the size of the
    books: a row per month of ``monthly_totals`` (a row per month of history: its ``collected``
    draws the chart), each carrying the whole-history sums (window aggregates over those rows) and
    the sums that depend on the exact day (overdue before today, due by the horizon) from
    ``due_day_totals`` over this month's first day to the horizon (about 60 rows; scalar subqueries,
    evaluated once); of those rows, the chart's months are returned (and the first month, for the
    sums).  Both tables are kept by the service layer and checked by ``flask check``."""
    monthly, due_days, overpayments = MonthlyTotal.__table__, DueDayTotal.__table__, Overpayment.__table__
    before_this_month = monthly.c.month < THIS_MONTH

    def whole(expression, label, money=True):
        total = func.sum(expression).over()
        return (type_coerce(func.coalesce(total, 0), Money()) if money else func.coalesce(total, 0)).label(label)

    def window(expression, label, money=True):
        total = func.sum(expression)
        summed = type_coerce(func.coalesce(total, 0), Money()) if money else func.coalesce(total, 0)
        return (
            select(summed).where(due_days.c.day >= THIS_MONTH, due_days.c.day <= HORIZON).scalar_subquery().label(label)
        )

    overdue = due_days.c.day < TODAY
    months = select(
        monthly.c.month,
        monthly.c.collected,
        whole(monthly.c.invoiced, "invoiced"),
        whole(monthly.c.collected, "collected_total"),
        whole(monthly.c.unpaid_due, "outstanding"),
        whole(case((before_this_month, monthly.c.unpaid_due), else_=0), "past_unpaid"),
        whole(case((before_this_month, monthly.c.unpaid_count), else_=0), "past_count", money=False),
        whole(monthly.c.awaiting_amount, "awaiting_amount"),
        whole(monthly.c.awaiting_count, "awaiting_count", money=False),
        window(case((overdue, due_days.c.unpaid_due), else_=0), "recent_overdue"),
        window(case((overdue, due_days.c.unpaid_count), else_=0), "recent_count", money=False),
        window(case((overdue, 0), else_=due_days.c.unpaid_due), "soon_amount"),
        window(case((overdue, 0), else_=due_days.c.unpaid_count), "soon_count", money=False),
        exists().where(overpayments.c.resolved_at.is_(None)).label("overpayments_open"),
    ).subquery("months")
    # Every row carries the sums, so only the chart's months are returned, and the first month of
    # all when none of them has a row (the sums are still needed).
    first_month = select(func.min(monthly.c.month)).scalar_subquery()
    return (
        select(months)
        .where(or_(months.c.month.between(FIRST_CHART_MONTH, THIS_MONTH), months.c.month == first_month))
        .order_by(months.c.month)
    )


def dashboard_overview(today: dt.date) -> tuple[DashboardFigures, list[tuple[dt.date, Decimal]]]:
    """The dashboard's figures and its chart's series: confirmed payments per calendar month for
    the last ``CHART_MONTHS`` months (this one included), oldest first, 0.00 for a month without
    payments.  One statement."""
    this_month = month_start(today)
    first = add_months(this_month, -(CHART_MONTHS - 1))
    rows = db.session.execute(
        _figures_statement(),
        {
            "today": today,
            "this_month": this_month,
            "first_month": first,
            "horizon": today + dt.timedelta(days=DUE_WINDOW_DAYS),
        },
    ).all()
    collected = {row.month: row.collected for row in rows if first <= row.month <= this_month}
    series = [(add_months(first, k), collected.get(add_months(first, k), ZERO)) for k in range(CHART_MONTHS)]
    if not rows:  # nothing issued yet: no month, and no installment due either
        return DashboardFigures(
            invoiced=ZERO,
            collected=ZERO,
            outstanding=ZERO,
            overdue_amount=ZERO,
            overdue_count=0,
            due_soon_amount=ZERO,
            due_soon_count=0,
            awaiting_amount=ZERO,
            awaiting_count=0,
        ), series
    row = rows[0]
    figures = DashboardFigures(
        invoiced=row.invoiced,
        collected=row.collected_total,
        outstanding=row.outstanding,
        overdue_amount=row.past_unpaid + row.recent_overdue,
        overdue_count=int(row.past_count) + int(row.recent_count),
        due_soon_amount=row.soon_amount,
        due_soon_count=int(row.soon_count),
        awaiting_amount=row.awaiting_amount,
        awaiting_count=int(row.awaiting_count),
        overpayments_open=bool(row.overpayments_open),
    )
    return figures, series


def dashboard_figures(today: dt.date) -> DashboardFigures:
    """The dashboard's cards alone (see ``dashboard_overview``)."""
    return dashboard_overview(today)[0]


@cache
def _coming_due_statement():
    """The first unpaid installments of the due window (the order of ix_installments_unpaid_due:
    due date, invoice, number), then their clients' names: the join to clients comes after the
    LIMIT, so the database plans it for the few rows shown, not for every installment."""
    installments, invoices, clients = Installment.__table__, Invoice.__table__, Client.__table__
    due = (
        select(
            installments.c.due_date,
            installments.c.number,
            installments.c.invoice_id,
            (installments.c.amount - installments.c.paid_amount).label("unpaid"),
            invoices.c.invoice_no,
            invoices.c.installment_count,
            invoices.c.client_id,
        )
        .select_from(installments.join(invoices, invoices.c.id == installments.c.invoice_id))
        .where(
            invoices.c.issued_at.is_not(None),
            invoices.c.voided_at.is_(None),
            installments.c.paid_amount < installments.c.amount,
            installments.c.due_date >= TODAY,
            installments.c.due_date <= HORIZON,
        )
        .order_by(installments.c.due_date, installments.c.invoice_id, installments.c.number)
        .limit(bindparam("limit", type_=Integer, literal_execute=True))
        .subquery("due")
    )
    return (
        select(due, clients.c.name.label("client_name"))
        .select_from(due.join(clients, clients.c.id == due.c.client_id))
        .order_by(due.c.due_date, due.c.invoice_id, due.c.number)
    )


def installments_coming_due(today: dt.date, limit: int = 10) -> Sequence[Row]:
    """Unpaid installments due from today to the horizon, soonest first (rows, with the invoice's
    number and installment count and the client's name)."""
    return db.session.execute(
        _coming_due_statement(),
        {
            "today": today,
            "horizon": today + dt.timedelta(days=DUE_WINDOW_DAYS),
            "limit": limit,
        },
    ).all()


@cache
def _dashboard_payments_statement():
    """The dashboard's two short lists of payments in one statement: the oldest reported ones (the
    confirmation queue's head) and the most recent ones, each row tagged with its list.  Each list
    is read from the payments alone (its index, its LIMIT), and only those few rows are joined to
    their invoices and clients: joined before the LIMIT, the database would plan (and set up hash
    caches for) a join over every payment."""
    payments, invoices, clients = Payment.__table__, Invoice.__table__, Client.__table__

    def listed(name):
        return select(
            literal(name).label("list"),
            payments.c.id,
            payments.c.date,
            payments.c.client_id,
            payments.c.invoice_id,
            payments.c.method,
            payments.c.reference,
            payments.c.amount,
            payments.c.state,
        )

    waiting = (
        listed("waiting")
        .where(payments.c.state == REPORTED)
        .order_by(payments.c.date, payments.c.id)
        .limit(bindparam("waiting_limit", type_=Integer, literal_execute=True))
    )
    recent = (
        listed("recent")
        .where(payments.c.state.in_((CONFIRMED, REPORTED)))
        .order_by(payments.c.date.desc(), payments.c.id.desc())
        .limit(bindparam("recent_limit", type_=Integer, literal_execute=True))
    )
    # Each part keeps its own ORDER BY and LIMIT inside a subquery (SQLite allows them nowhere else).
    both = union_all(select(waiting.subquery()), select(recent.subquery())).subquery("listed")
    return select(both, invoices.c.invoice_no, clients.c.name.label("client_name")).select_from(
        both.join(invoices, invoices.c.id == both.c.invoice_id).join(clients, clients.c.id == both.c.client_id)
    )


def dashboard_payments(waiting_limit: int = 5, recent_limit: int = 8) -> tuple[list, list]:
    """(payments awaiting confirmation, oldest first; recent payments, newest first) as rows."""
    rows = db.session.execute(
        _dashboard_payments_statement(), {"waiting_limit": waiting_limit, "recent_limit": recent_limit}
    ).all()
    waiting = sorted((row for row in rows if row.list == "waiting"), key=lambda row: (row.date, row.id))
    recent = sorted((row for row in rows if row.list == "recent"), key=lambda row: (row.date, row.id), reverse=True)
    return waiting, recent


# --- Clients ------------------------------------------------------------------------------------


@cache
def _client_list_statements(include_archived: bool, searching: bool) -> PageStatements:
    """The client list's statements, one per kind of filter (built once): a page of clients in name
    order, each with what it owes (a sum over its open invoices, read from the partial index
    ``ix_invoices_client_open``) and its login's state, and the capped count of matching clients."""
    clients, users, invoices = Client.__table__, User.__table__, Invoice.__table__
    where: list[ColumnElement[bool]] = []
    if not include_archived:
        where.append(clients.c.archived_at.is_(None))
    if searching:
        pattern = bindparam("pattern", type_=String)
        where.append(
            or_(
                clients.c.name.ilike(pattern, escape="\\"),
                clients.c.email.ilike(pattern, escape="\\"),
                clients.c.company.ilike(pattern, escape="\\"),
            )
        )
    outstanding = (
        select(money_sum(invoices.c.amount - invoices.c.paid_amount))
        .where(
            invoices.c.client_id == clients.c.id,
            invoices.c.issued_at.is_not(None),
            invoices.c.voided_at.is_(None),
            invoices.c.paid_amount < invoices.c.amount,
        )
        .correlate(clients)
        .scalar_subquery()
    )
    return capped_page_statements(
        select(
            clients.c.id,
            clients.c.name,
            clients.c.email,
            clients.c.company,
            clients.c.archived_at,
            outstanding.label("outstanding"),
            users.c.id.label("user_id"),
            users.c.is_enabled.label("login_enabled"),
            users.c.password_hash.is_not(None).label("has_password"),
        )
        .select_from(clients.outerjoin(users, users.c.client_id == clients.c.id))
        .where(*where)
        .order_by(func.lower(clients.c.name), clients.c.id),
        count_rows=select(clients.c.id).where(*where),  # the clients alone, not what each owes
    )


def clients_page(q: str = "", archived: bool = False, page: int = 1):
    """A page of clients (rows: id, name, email, company, archived_at, outstanding, user_id,
    login_enabled, has_password) in one statement, with the count of matching clients (capped)."""
    q = (q or "").strip()
    statements = _client_list_statements(bool(archived), bool(q))
    return paginate_capped(statements, {"pattern": like_pattern(q)} if q else {}, page=page, per_page=PER_PAGE)


def client_row_status(row) -> str:
    """The login's state (no_login, invited, active or disabled) for a row of ``clients_page`` or ``client_page``."""
    if row.user_id is None:
        return "no_login"
    return login_status(is_enabled=row.login_enabled, has_password=row.has_password)


def get_client(client_id: int) -> Client:
    client = db.session.scalar(select(Client).where(Client.id == client_id).options(joinedload(Client.user)))
    if client is None:
        abort(404)
    return client


@dataclass(frozen=True)
class ClientLogin:
    """A client's portal login, as the client's page shows it."""

    username: str
    last_sign_in_at: dt.datetime | None


@dataclass(frozen=True)
class ClientView:
    """A client as the client's page shows it (read-only values, not ORM objects)."""

    id: int
    name: str
    email: str
    company: str
    phone: str
    tax_id: str
    address: str
    created_at: dt.datetime
    archived_at: dt.datetime | None
    user: ClientLogin | None
    access: str  # the login's status: no_login, invited, active or disabled


@cache
def _client_statement():
    clients, users = Client.__table__, User.__table__
    return (
        select(
            clients.c.id,
            clients.c.name,
            clients.c.email,
            clients.c.company,
            clients.c.phone,
            clients.c.tax_id,
            clients.c.address,
            clients.c.created_at,
            clients.c.archived_at,
            users.c.id.label("user_id"),
            users.c.username,
            users.c.last_sign_in_at,
            users.c.is_enabled.label("login_enabled"),
            and_(users.c.password_hash.is_not(None), users.c.password_hash != "").label("has_password"),
        )
        .select_from(clients.outerjoin(users, users.c.client_id == clients.c.id))
        .where(clients.c.id == bindparam("client_id", type_=Integer))
    )


def client_page(client_id: int, today: dt.date) -> tuple[ClientView, ClientFigures]:
    """The client with its portal login and their figures on ``today``, in one statement (404 if
    there is no such client)."""
    params = {"client_id": client_id, "today": today}
    row = db.session.execute(_client_page_statement(), params).first() if 0 < client_id <= MAX_ID else None
    if row is None:
        abort(404)
    login = ClientLogin(username=row.username, last_sign_in_at=row.last_sign_in_at) if row.user_id is not None else None
    figures = ClientFigures(
        invoiced=row.invoiced,
        paid=row.paid,
        outstanding=row.outstanding,
        held=row.held,
        overdue=row.overdue,
        invoice_count=row.invoice_count,
        draft_count=row.draft_count or 0,
    )
    view = ClientView(
        id=row.id,
        name=row.name,
        email=row.email,
        company=row.company,
        phone=row.phone,
        tax_id=row.tax_id,
        address=row.address,
        created_at=row.created_at,
        archived_at=row.archived_at,
        user=login,
        access=client_row_status(row),
    )
    return view, figures


@dataclass(frozen=True)
class ClientFigures:
    invoiced: Decimal
    paid: Decimal
    outstanding: Decimal
    held: Decimal
    overdue: Decimal
    invoice_count: int
    draft_count: int


CLIENT_ID = bindparam("client_id", type_=Integer)


@cache
def _client_figures_statement():
    """One client's figures in one statement: sums over its issued, non-void invoices' running
    totals, and (scalar subqueries) its drafts and the unpaid part of its overdue installments."""
    invoices, installments = Invoice.__table__, Installment.__table__
    counting = and_(
        invoices.c.client_id == CLIENT_ID, invoices.c.issued_at.is_not(None), invoices.c.voided_at.is_(None)
    )
    drafts = (
        select(func.count(invoices.c.id))
        .where(invoices.c.client_id == CLIENT_ID, invoices.c.issued_at.is_(None))
        .scalar_subquery()
    )
    overdue = (
        select(money_sum(installments.c.amount - installments.c.paid_amount))
        .select_from(installments.join(invoices, invoices.c.id == installments.c.invoice_id))
        .where(
            counting,
            invoices.c.paid_amount < invoices.c.amount,
            installments.c.due_date < TODAY,
            installments.c.paid_amount < installments.c.amount,
        )
        .scalar_subquery()
    )
    return select(
        money_sum(invoices.c.amount).label("invoiced"),
        money_sum(invoices.c.paid_amount).label("paid"),
        money_sum(invoices.c.amount - invoices.c.paid_amount).label("outstanding"),
        money_sum(invoices.c.held_amount).label("held"),
        func.count(invoices.c.id).label("invoice_count"),
        drafts.label("draft_count"),
        overdue.label("overdue"),
    ).where(counting)


@cache
def _client_page_statement():
    """The client's row (``_client_statement``) beside their figures: the figures' aggregate has
    exactly one row, so joining it keeps the client's."""
    figures = _client_figures_statement().subquery("figures")
    client = _client_statement()
    return client.add_columns(*figures.c).join_from(Client.__table__, figures, true())


@cache
def _client_invoice_statements() -> PageStatements:
    invoices = Invoice.__table__
    return capped_page_statements(
        select(
            invoices.c.id,
            invoices.c.invoice_no,
            invoices.c.issue_date,
            invoices.c.currency,
            invoices.c.amount,
            invoices.c.paid_amount,
            invoices.c.next_due_date,
            invoices.c.voided_at.is_not(None).label("is_void"),
            invoices.c.issued_at.is_(None).label("is_draft"),
        )
        .where(invoices.c.client_id == CLIENT_ID)
        .order_by(invoices.c.issue_date.desc(), invoices.c.id.desc())
    )


def client_invoices_page(client_id: int, page: int = 1):
    """One client's invoices, newest first (rows ``services.status_of`` reads as it reads an Invoice),
    with their count (capped)."""
    return paginate_capped(_client_invoice_statements(), {"client_id": client_id}, page=page, per_page=PER_PAGE)


LOOKUP_LIMIT = 10  # matches the client search returns (the autocomplete's list)
RECENT_CLIENTS = 15  # clients the new-invoice form offers before any search
RECENT_INVOICES = 200  # how far back "recently invoiced" looks (an index walk on invoices.id)


def client_label(name: str, company: str, archived_at) -> str:
    label = name + (f" — {company}" if company else "")
    return label + (" (archived)" if archived_at is not None else "")


def client_matches(q: str):
    """Clients whose name or email contains ``q`` (case-insensitive; % and _ taken literally)."""
    return client_matches_pattern(like_pattern(q.strip()))


def client_matches_pattern(pattern):
    """Clients whose name or email is LIKE ``pattern`` (a value from ``like_pattern``, or a bound parameter)."""
    return or_(Client.name.ilike(pattern, escape="\\"), Client.email.ilike(pattern, escape="\\"))


def _labelled(query) -> list[tuple[int, str]]:
    rows = db.session.execute(query.with_only_columns(Client.id, Client.name, Client.company, Client.archived_at)).all()
    return [(row.id, client_label(row.name, row.company, row.archived_at)) for row in rows]


def client_lookup(q: str, include_archived: bool = True, limit: int = LOOKUP_LIMIT) -> list[tuple[int, str]]:
    """(id, label) of at most ``limit`` clients matching ``q``, by name (the client search)."""
    q = (q or "").strip()
    if not q:
        return []
    query = select(Client.id).where(client_matches(q))
    if not include_archived:
        query = query.where(Client.archived_at.is_(None))
    return _labelled(query.order_by(func.lower(Client.name), Client.id).limit(limit))


def client_choice(client_id: int | None) -> tuple[int, str] | None:
    """(id, label) of one client (the filter's chosen client), or None if there is no such client."""
    if client_id is None:
        return None
    rows = _labelled(select(Client.id).where(Client.id == client_id))
    return rows[0] if rows else None


def recent_client_choices(always_include: int | None = None, limit: int = RECENT_CLIENTS) -> list[tuple[int, str]]:
    """(id, label) for the new-invoice form's client select, by name: the active clients invoiced
    most recently, then the newest ones, ``limit`` in all, plus ``always_include`` (the client
    already chosen, even if archived).  Any other client is found with the search beside it."""
    invoiced = db.session.scalars(select(Invoice.client_id).order_by(Invoice.id.desc()).limit(RECENT_INVOICES)).all()
    newest = db.session.scalars(
        select(Client.id).where(Client.archived_at.is_(None)).order_by(Client.id.desc()).limit(limit)
    ).all()
    wanted = list(dict.fromkeys([*invoiced, *newest]))[: 2 * limit]  # most recent first, once each (room for archived)
    rank = {client_id: position for position, client_id in enumerate(wanted)}
    active = _labelled(select(Client.id).where(Client.id.in_(wanted), Client.archived_at.is_(None))) if wanted else []
    chosen = sorted(active, key=lambda choice: rank[choice[0]])[:limit]
    if always_include is not None and always_include not in {client_id for client_id, _ in chosen}:
        chosen += [choice for choice in [client_choice(always_include)] if choice]
    return sorted(chosen, key=lambda choice: (choice[1].lower(), choice[0]))


# --- Invoices -----------------------------------------------------------------------------------

INVOICE_SORTS = {
    "number": lambda: (Invoice.invoice_no,),
    "client": lambda: (func.lower(Client.name),),
    "issue_date": lambda: (Invoice.issue_date,),
    "due": lambda: (func.coalesce(Invoice.next_due_date, Invoice.due_date),),
    "amount": lambda: (Invoice.amount,),
    "balance": lambda: (balance_expression(),),
}


@dataclass(frozen=True)
class InvoiceFilters:
    q: str = ""
    status: str = ""
    client_id: int | None = None
    client_q: str = ""  # name or email contains (used when no client_id is chosen)
    date_from: dt.date | None = None
    date_to: dt.date | None = None


INVOICE_STATUSES = (rules.DRAFT, rules.VOID, rules.PAID, rules.OVERDUE, rules.PARTIAL, rules.PENDING)


@lru_cache(maxsize=128)
def _invoice_list_statements(
    by_number: bool,
    status: str,
    by_client: bool,
    by_client_name: bool,
    from_day: bool,
    to_day: bool,
    sort: str,
    direction: str,
) -> PageStatements:
    """The invoice list's statements for one combination of filters and order (built once each;
    the filters' values are bound parameters)."""
    conditions: list[ColumnElement[bool]] = []
    if by_number:
        conditions.append(Invoice.invoice_no.ilike(bindparam("number_pattern", type_=String), escape="\\"))
    if status:
        conditions.append(status_condition(status, TODAY))
    if by_client:
        conditions.append(Invoice.client_id == CLIENT_ID)
    elif by_client_name:
        conditions.append(client_matches_pattern(bindparam("client_pattern", type_=String)))
    if from_day:
        conditions.append(Invoice.issue_date >= bindparam("date_from", type_=Date))
    if to_day:
        conditions.append(Invoice.issue_date <= bindparam("date_to", type_=Date))
    query = (
        select(
            Invoice.id,
            Invoice.invoice_no,
            Invoice.client_id,
            Client.name.label("client_name"),
            Invoice.issue_date,
            Invoice.due_date,
            Invoice.next_due_date,
            Invoice.currency,
            Invoice.amount,
            Invoice.paid_amount,
            Invoice.voided_at.is_not(None).label("is_void"),
            Invoice.issued_at.is_(None).label("is_draft"),
        )
        .join(Client, Client.id == Invoice.client_id)
        .where(*conditions)
    )
    # Counted without the client's name unless the filter needs it (every invoice has its client).
    count_rows = select(Invoice.id).where(*conditions)
    if by_client_name and not by_client:
        count_rows = count_rows.join(Client, Client.id == Invoice.client_id)
    if sort in INVOICE_SORTS:
        keys = INVOICE_SORTS[sort]()
        ordered = [k.desc() if direction == "desc" else k.asc() for k in keys]
        # Drafts have no number: keep them together at the end whichever way numbers are sorted.
        if sort == "number":
            ordered.insert(0, Invoice.invoice_no.is_(None))
        query = query.order_by(*ordered, Invoice.id.desc() if direction == "desc" else Invoice.id.asc())
    else:
        query = query.order_by(Invoice.issue_date.desc(), Invoice.id.desc())
    return capped_page_statements(query, count_rows=count_rows)


def invoices_page(filters: InvoiceFilters, sort: str, direction: str, page: int, today: dt.date):
    """A page of invoices as rows (the columns the list shows, with ``client_name``) and their count
    (capped), in one statement."""
    number, client_q = filters.q.strip(), filters.client_q.strip()
    by_client = filters.client_id is not None
    statements = _invoice_list_statements(
        bool(number),
        filters.status if filters.status in INVOICE_STATUSES else ("none" if filters.status else ""),
        by_client,
        bool(client_q) and not by_client,
        filters.date_from is not None,
        filters.date_to is not None,
        sort if sort in INVOICE_SORTS else "",
        "desc" if direction == "desc" else "asc",
    )
    params = {
        "today": today,
        "client_id": filters.client_id,
        "number_pattern": like_pattern(number),
        "client_pattern": like_pattern(client_q),
        "date_from": filters.date_from,
        "date_to": filters.date_to,
    }
    return paginate_capped(statements, params, page=page, per_page=PER_PAGE)


def get_invoice(invoice_id: int) -> Invoice:
    """The invoice with its client, lines and schedule as ORM objects (404 if there is none), for
    the pages that change it (the edit form)."""
    invoice = db.session.scalar(
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .options(joinedload(Invoice.client), selectinload(Invoice.lines), selectinload(Invoice.installments))
    )
    if invoice is None:
        abort(404)
    return invoice


def invoice_page(invoice_id: int) -> InvoiceView:
    """The invoice as its page shows it: figures, schedule, lines and the client's name, as
    read-only values (ais.billing.reads; two statements), or 404."""
    invoice = read_invoice(invoice_id) if 0 < invoice_id <= MAX_ID else None
    if invoice is None:
        abort(404)
    return invoice


def invoice_exists(invoice_id: int) -> None:
    """404 unless there is such an invoice (the actions on one check this before anything else)."""
    if not 0 < invoice_id <= MAX_ID or db.session.scalar(select(Invoice.id).where(Invoice.id == invoice_id)) is None:
        abort(404)


def invoice_payments(invoice_id: int) -> Sequence[Row]:
    """The payments on the invoice, oldest first, as rows."""
    return read_invoice_payments(invoice_id)


def payment_with_key(submission_key: str) -> int | None:
    if not submission_key:
        return None
    return db.session.scalar(select(Payment.id).where(Payment.submission_key == submission_key))


def payment_invoice_id(payment_id: int) -> int | None:
    return db.session.scalar(select(Payment.invoice_id).where(Payment.id == payment_id))


# --- Payments -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentFilters:
    state: str = ""
    client_id: int | None = None
    client_q: str = ""  # name or email contains (used when no client_id is chosen)
    method: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@lru_cache(maxsize=64)
def _payment_list_statements(
    state: str, by_client: bool, by_client_name: bool, by_method: bool, from_day: bool, to_day: bool, counted: bool
) -> PageStatements:
    """The payment list's statements for one combination of filters (built once each; the
    filters' values are bound parameters)."""
    conditions = []
    if state:
        conditions.append(Payment.state == bindparam("state", type_=String))
    if by_client:
        conditions.append(Payment.client_id == CLIENT_ID)
    elif by_client_name:
        conditions.append(client_matches_pattern(bindparam("client_pattern", type_=String)))
    if by_method:
        conditions.append(Payment.method == bindparam("method", type_=String))
    if from_day:
        conditions.append(Payment.date >= bindparam("date_from", type_=Date))
    if to_day:
        conditions.append(Payment.date <= bindparam("date_to", type_=Date))
    query = (
        select(
            Payment.id,
            Payment.date,
            Payment.client_id,
            Client.name.label("client_name"),
            Payment.invoice_id,
            Invoice.invoice_no,
            Invoice.currency,
            Payment.installment_number,
            Payment.amount,
            Payment.method,
            Payment.reference,
            Payment.state,
            Payment.state_reason,
            exists().where(PaymentProof.payment_id == Payment.id).label("has_proof"),
        )
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .join(Client, Client.id == Payment.client_id)
        .where(*conditions)
    )
    # Counted without the invoice's number and the client's name (every payment has both), unless
    # the client filter needs the name.
    count_rows = select(Payment.id).where(*conditions)
    if by_client_name and not by_client:
        count_rows = count_rows.join(Client, Client.id == Payment.client_id)
    if state == REPORTED:
        # The confirmation queue: oldest first, so nothing waits forever.
        query = query.order_by(Payment.date, Payment.id)
    else:
        query = query.order_by(Payment.date.desc(), Payment.id.desc())
    return capped_page_statements(query, counted=counted, count_rows=count_rows)


def payments_page(filters: PaymentFilters, page: int = 1):
    """A page of payments as rows (with ``client_name``, ``invoice_no`` and ``currency``) and their
    count (capped, or the queue's running total), in one statement."""
    total = None
    if filters == PaymentFilters(state=REPORTED):
        # The whole confirmation queue: its size is a running total (monthly_totals), exact and
        # cheap, where counting the rows would read up to the cap of them.  An owner's session
        # check has read it already, for the navbar's badge.
        total = awaiting_confirmation_for_request()
    client_q = filters.client_q.strip()
    by_client = filters.client_id is not None
    statements = _payment_list_statements(
        filters.state if filters.state in PAYMENT_STATES else ("none" if filters.state else ""),
        by_client,
        bool(client_q) and not by_client,
        bool(filters.method),
        filters.date_from is not None,
        filters.date_to is not None,
        total is None,
    )
    params = {
        "state": filters.state,
        "client_id": filters.client_id,
        "client_pattern": like_pattern(client_q),
        "method": filters.method,
        "date_from": filters.date_from,
        "date_to": filters.date_to,
    }
    return paginate_capped(statements, params, page=page, per_page=PER_PAGE, total=total)


def payment_methods() -> list[str]:
    """The method filter's choices: every method a payment can have (ais.billing.methods: one
    spelling each); reading them from the table would scan all payments on every visit."""
    return list(methods.METHODS)


def invoice_credit_notes(invoice_id: int):
    """The invoice's credit notes, oldest first (number, date, amount, reason)."""
    return read_credit_notes(invoice_id)
