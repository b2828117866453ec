"""Promises to pay: the owner notes that a client promised to pay an amount by a date.

* **One client, any invoice.**  A promise is the client's, not one invoice's: the conversation it
  records is about what the client owes (the aging report is per client), and any of the client's
  confirmed payments counts towards it, whichever invoice it pays.
* **Its state is derived, never stored** (``promise_state``), on the day it is read: *kept* once
  the client's confirmed payments dated from the day it was recorded up to its date (and up to
  the day read) reach its amount; *broken* when its date has passed without that; *open* until
  then; *cancelled* when the owner cancelled it.  So a payment recorded, confirmed or voided
  later, with any date, moves the promise to the state the payments give, with no command to run
  and nothing to fall out of step.  A reported payment counts once the owner confirms it.
* **Reminders pause** (ais.billing.reminders) for every installment of a client while a promise of
  theirs is open, the overdue notices included: the client said when they will pay; reminding them
  meanwhile contradicts the owner.  They resume the day after the promised date if it was broken,
  and at once if it was kept (what is still overdue is then reminded at its next step).
* **Bounds**: above zero, in whole centavos, dated from today to ``MAX_DAYS_AHEAD`` days ahead;
  at most one open promise per client (cancel it to note another).  Recording and cancelling are
  audited (``client.promise_recorded``, ``client.promise_cancelled``).

Reads are one statement each: the sum of the payments towards a promise is a correlated subquery
on ``ix_payments_client_date_id`` (a range of one client's payments by date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from sqlalchemy import Date, Integer, bindparam, case, func, select, type_coerce

from .. import audit, clock
from ..audit import Actor
from ..database import write_transaction
from ..db_types import Money
from ..extensions import db
from ..formatting import format_day, format_money
from ..models import CONFIRMED, Client, Payment, PaymentPromise
from . import money
from .services import BillingError, InvalidInput, NotFound

ZERO = Decimal("0.00")
OPEN, KEPT, BROKEN, CANCELLED = "open", "kept", "broken", "cancelled"
STATE_LABELS = {OPEN: "Promised", KEPT: "Promise kept", BROKEN: "Promise broken", CANCELLED: "Cancelled"}
MAX_DAYS_AHEAD = 90
MAX_NOTE = 500
# A promise whose date passed this many days ago no longer shows on the aging report.
SHOWN_AFTER_DAYS = 30
HISTORY = 10  # promises listed on the client's page

DAY = bindparam("day", type_=Date)


class PromiseRefused(BillingError):
    """The promise cannot be noted or cancelled in its present state (the message says why)."""


# --- The rule (pure) ------------------------------------------------------------------------------


def promise_state(amount: Decimal, promised_by: dt.date, paid_toward: Decimal, day: dt.date, cancelled: bool) -> str:
    """A promise's state on ``day``.

    Rule, first match wins: ``cancelled`` if the owner cancelled it; ``kept`` if the payments
    towards it (confirmed, dated from the day it was recorded to its date and not after ``day``)
    reach its amount; ``broken`` if ``day`` is after its date; otherwise ``open``.
    """
    if cancelled:
        return CANCELLED
    if paid_toward >= amount:
        return KEPT
    if day > promised_by:
        return BROKEN
    return OPEN


@dataclass(frozen=True)
class Promise:
    """A promise as the pages show it, with its state on the day it was read."""

    id: int
    client_id: int
    amount: Decimal
    promised_by: dt.date
    recorded_on: dt.date
    note: str
    paid_toward: Decimal
    state: str
    cancelled_on: dt.date | None

    @property
    def is_open(self) -> bool:
        return self.state == OPEN

    @property
    def left(self) -> Decimal:
        """What is still to pay to keep it."""
        return max(self.amount - self.paid_toward, ZERO)

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


# --- Reads ----------------------------------------------------------------------------------------


def _paid_toward():
    """The client's confirmed payments dated from the promise's recording day to its date, and not
    after :day (correlated with the promise row)."""
    until = case((PaymentPromise.promised_by < DAY, PaymentPromise.promised_by), else_=DAY)
    return (
        select(type_coerce(func.coalesce(func.sum(Payment.amount), 0), Money()))
        .where(
            Payment.client_id == PaymentPromise.client_id,
            Payment.state == CONFIRMED,
            Payment.date >= PaymentPromise.recorded_on,
            Payment.date <= until,
        )
        .scalar_subquery()
        .label("paid_toward")
    )


def _select():
    # Plain columns, not the ORM entity: a page reads them, nothing changes them.
    return select(
        PaymentPromise.id,
        PaymentPromise.client_id,
        PaymentPromise.amount,
        PaymentPromise.promised_by,
        PaymentPromise.recorded_on,
        PaymentPromise.note,
        PaymentPromise.cancelled_on,
        _paid_toward(),
    )


def _cancelled_by(day):
    return PaymentPromise.cancelled_on.is_not(None) & (PaymentPromise.cancelled_on <= day)


def _promise(p, day: dt.date) -> Promise:
    paid = p.paid_toward if p.paid_toward is not None else ZERO
    cancelled = p.cancelled_on is not None and p.cancelled_on <= day
    return Promise(
        id=p.id,
        client_id=p.client_id,
        amount=p.amount,
        promised_by=p.promised_by,
        recorded_on=p.recorded_on,
        note=p.note,
        paid_toward=paid,
        state=promise_state(p.amount, p.promised_by, paid, day, cancelled),
        cancelled_on=p.cancelled_on,
    )


# Built once, not on each view of the client's page.
_CLIENT_PROMISES = (
    _select()
    .where(PaymentPromise.client_id == bindparam("client_id", type_=Integer))
    .order_by(PaymentPromise.recorded_on.desc(), PaymentPromise.id.desc())
    .limit(bindparam("limit", type_=Integer))
)


def client_promises(client_id: int, today: dt.date, limit: int = HISTORY) -> list[Promise]:
    """The client's latest promises, newest first, with their state today (one statement)."""
    rows = db.session.execute(_CLIENT_PROMISES, {"client_id": client_id, "day": today, "limit": limit}).all()
    return [_promise(row, today) for row in rows]


def open_promise(client_id: int, today: dt.date) -> Promise | None:
    """The client's open promise on ``today``, if there is one."""
    found = clients_with_open_promise([client_id], today)
    return found.get(client_id)


# Built once: the reminder run asks it for every invoice it reminds (under the invoice's lock),
# and building the statement cost more than running it.
_OPEN_ON_DAY = _select().where(
    PaymentPromise.client_id.in_(bindparam("client_ids", expanding=True)),
    PaymentPromise.recorded_on <= DAY,
    PaymentPromise.promised_by >= DAY,
    PaymentPromise.cancelled_on.is_(None),
)


def clients_with_open_promise(client_ids: Iterable[int], today: dt.date) -> dict[int, Promise]:
    """Of ``client_ids``, those with a promise open on ``today``: {client id: promise} (one
    statement over the promises whose period contains today)."""
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    rows = db.session.execute(_OPEN_ON_DAY, {"client_ids": ids, "day": today}).all()
    found: dict[int, Promise] = {}
    for row in rows:
        promise = _promise(row, today)
        if promise.is_open:
            found[promise.client_id] = promise
    return found


SHOWN_FROM = bindparam("shown_from", type_=Date)


def _shown_on() -> list:
    """The promises ``promises_shown_on`` may show on :day: recorded by then, not cancelled by
    then, dated on or after :shown_from (SHOWN_AFTER_DAYS before :day)."""
    return [PaymentPromise.recorded_on <= DAY, PaymentPromise.promised_by >= SHOWN_FROM, ~_cancelled_by(DAY)]


@cache
def _shown_statement(of_clients: bool):
    """The statement of ``promises_shown_on`` (parameters :day, :shown_from and, ``of_clients``,
    the expanding :client_ids), built once: the aging report runs it on every view."""
    conditions = _shown_on()
    if of_clients:
        conditions.append(PaymentPromise.client_id.in_(bindparam("client_ids", expanding=True, type_=Integer)))
    return (
        _select()
        .where(*conditions)
        .order_by(PaymentPromise.client_id, PaymentPromise.recorded_on.desc(), PaymentPromise.id.desc())
    )


def promises_shown_on(client_ids: Iterable[int] | None, as_of: dt.date) -> dict[int, Promise]:
    """For the aging report on ``as_of``: each client's latest promise recorded by then, not
    cancelled by then, whose date is at most ``SHOWN_AFTER_DAYS`` days before it, with its state
    on ``as_of`` (one statement over a bounded range of each client's promises).  ``client_ids``
    None: every client's (the CSV export; the promises of a few months, not the books)."""
    ids = None if client_ids is None else sorted(set(client_ids))
    if ids == []:
        return {}
    params: dict = {"day": as_of, "shown_from": as_of - dt.timedelta(days=SHOWN_AFTER_DAYS)}
    if ids is not None:
        params["client_ids"] = ids
    rows = db.session.execute(_shown_statement(ids is not None), params).all()
    shown: dict[int, Promise] = {}
    for row in rows:
        shown.setdefault(row.client_id, _promise(row, as_of))
    return shown


# One client's (the portal's home page, on each view): built once.
_SHOWN_TO_CLIENT = (
    _select()
    .where(PaymentPromise.client_id == bindparam("client_id", type_=Integer), *_shown_on())
    .order_by(PaymentPromise.recorded_on.desc(), PaymentPromise.id.desc())
    .limit(1)
)


def client_current_promise(client_id: int, today: dt.date) -> Promise | None:
    """The promise the client's portal shows today: the one the aging report shows beside them
    (``promises_shown_on``: their latest, not cancelled, whose date is at most
    ``SHOWN_AFTER_DAYS`` days past), so an open promise shows with what is left to pay and a kept
    or broken one for a month after its date.  One statement."""
    params = {"client_id": client_id, "day": today, "shown_from": today - dt.timedelta(days=SHOWN_AFTER_DAYS)}
    row = db.session.execute(_SHOWN_TO_CLIENT, params).first()
    return _promise(row, today) if row is not None else None


# --- Changes --------------------------------------------------------------------------------------


def _check(amount, promised_by, note: str, today: dt.date) -> tuple[Decimal, dt.date, str]:
    try:
        checked = money.parse_amount(amount)
    except money.InvalidAmount as error:
        raise InvalidInput(str(error), "amount") from None
    if not isinstance(promised_by, dt.date) or isinstance(promised_by, dt.datetime):
        raise InvalidInput("Enter the date the client promised to pay by.", "promised_by")
    if promised_by < today:
        raise InvalidInput("The promised date cannot be in the past.", "promised_by")
    latest = today + dt.timedelta(days=MAX_DAYS_AHEAD)
    if promised_by > latest:
        raise InvalidInput(f"A promise is at most {MAX_DAYS_AHEAD} days ahead: by {format_day(latest)}.", "promised_by")
    text = "\n".join(line.rstrip() for line in (note or "").strip().splitlines())
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"The note may have at most {MAX_NOTE} characters.", "note")
    return checked, promised_by, text


def record_promise(actor: Actor, client_id: int, amount, promised_by: dt.date, note: str = "") -> int:
    """Note that the client promised to pay ``amount`` by ``promised_by`` (today at the earliest,
    at most MAX_DAYS_AHEAD days ahead).  Refused for an archived client and while another promise
    of theirs is open; the client row is locked so that two owners cannot note two at once."""
    today = clock.today()
    checked, promised_by, text = _check(amount, promised_by, note, today)
    with write_transaction():
        client = db.session.get(Client, client_id, with_for_update=True)
        if client is None:
            raise NotFound("No such client.")
        if client.archived_at is not None:
            raise PromiseRefused("This client is archived; restore them first.")
        current = open_promise(client_id, today)
        if current is not None:
            raise PromiseRefused(
                f"{client.name} already promised {format_money(current.amount)} by "
                f"{format_day(current.promised_by)}: cancel that promise first."
            )
        promise = PaymentPromise(
            client_id=client_id,
            amount=checked,
            promised_by=promised_by,
            recorded_on=today,
            note=text,
            created_by_id=actor.user_id,
        )
        db.session.add(promise)
        db.session.flush()
        audit.record(
            actor,
            "client.promise_recorded",
            client_id=client_id,
            amount_after=checked,
            detail=f"{format_money(checked)} by {format_day(promised_by)}" + (f": {text}" if text else ""),
        )
        return promise.id


def cancel_promise(actor: Actor, client_id: int, promise_id: int) -> None:
    """The owner cancels the client's open promise (reminders resume at their next step).  A kept,
    broken or already cancelled promise stays as it is (PromiseRefused)."""
    today = clock.today()
    with write_transaction():
        client = db.session.get(Client, client_id, with_for_update=True)
        promise = db.session.get(PaymentPromise, promise_id, with_for_update=True, populate_existing=True)
        if client is None or promise is None or promise.client_id != client_id:
            raise NotFound("No such promise.")
        current = open_promise(client_id, today)
        if current is None or current.id != promise_id:
            raise PromiseRefused(
                "Only an open promise can be cancelled: this one is already kept, broken or cancelled."
            )
        promise.cancelled_on = today
        promise.cancelled_at = clock.utcnow()
        promise.cancelled_by_id = actor.user_id
        audit.record(
            actor,
            "client.promise_cancelled",
            client_id=client_id,
            amount_before=promise.amount,
            detail=f"{format_money(promise.amount)} by {format_day(promise.promised_by)}",
        )
