"""Online payments and the books: every change here is one service transaction.

The rules (see docs/PAYMENTS.md):

* Starting a checkout writes a ``CheckoutSession`` row *before* the provider (Stripe or
  PayMongo, ``ais.payments.configured``) is called, with the invoice locked: from that moment
  its amount holds room under the invoice's cap (it is counted in ``Invoice.held_amount`` by
  ``ais.billing.services.reallocate``), until the session completes, fails or expires.  A second
  click or tab for the same invoice and amount gets the same session; another amount first
  closes the open one (at the provider, then here).
* Money is recorded only from verified webhook events, keyed by the provider's id for it (a
  Stripe PaymentIntent, a PayMongo payment; ``Payment.provider_reference`` is unique), so however
  many events describe one payment, in whatever order, it is recorded once.  Each event id is
  stored (unique) with the change it caused, in the same transaction, with the invoice locked.
* Money that cannot go on its invoice (paid meanwhile, void, another currency, unknown) is
  never dropped: it is recorded as an ``Overpayment`` for the owner to refund or credit, and
  the owner is emailed.  The part that fits still pays the invoice.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar, cast, overload

from sqlalchemy import Integer, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from .. import audit, clock
from ..audit import Actor
from ..billing import credits, ledger, methods, money, notices, rules
from ..billing.services import (
    BillingError,
    InvalidInput,
    NotFound,
    PaymentRefused,
    add_payment,
    lock_invoice,
    open_room,
    payoff_quote,
    reallocate,
    require_open,
    transition,
)
from ..database import write_transaction
from ..extensions import db
from ..formatting import format_money
from ..links import external_url
from ..models import (
    CHECKOUT_COMPLETE,
    CHECKOUT_EXPIRED,
    CHECKOUT_FAILED,
    CHECKOUT_HOLDING,
    CHECKOUT_OPEN,
    CHECKOUT_PROCESSING,
    CONFIRMED,
    VOIDED,
    CheckoutSession,
    Client,
    Invoice,
    Overpayment,
    Payment,
    WebhookEvent,
)
from ..params import parse_id, parse_minor_units, parse_timestamp
from . import notices as payment_notices
from .providers import CheckoutRequest, OnlineProvider, ProviderError, supports_currency

log = logging.getLogger("ais.payments")

STRIPE = "stripe"
PAYMONGO = "paymongo"
PROVIDER_LABELS = {STRIPE: "Stripe", PAYMONGO: "PayMongo"}
CARD_METHOD = methods.CARD  # a Stripe payment's method (payments.provider says Stripe); PayMongo's: paymongo_provider


def _actor(provider: str | None) -> Actor:
    """The system actor of a provider's changes in the audit trail."""
    return Actor.system(provider if provider in PROVIDER_LABELS else STRIPE)


def _provider_of(event: dict) -> str:
    """Which provider an event came from (set by the provider's parse_event)."""
    provider = event.get("provider")
    return provider if provider in PROVIDER_LABELS else STRIPE


ZERO = Decimal("0.00")

_Row = TypeVar("_Row")


def _get(model: type[_Row], row_id: object, **options: Any) -> _Row:
    """The row of ``model`` with this key (options as for ``Session.get``); NotFound if there is none."""
    row = db.session.get(model, row_id, **options)
    if row is None:
        raise NotFound(f"No such {model.__name__} ({row_id}).")
    return row


DUE, FULL, CUSTOM = "due", "full", "custom"
CHOICES = (DUE, FULL, CUSTOM)

# Stripe accepts 30 minutes to 24 hours; a short life frees an abandoned checkout's room soon.
DEFAULT_CHECKOUT_MINUTES = 30
# An open session past its expiry is released here even if Stripe's "expired" event is late.
# The margin lets a payment made in the last second arrive first (it would be recorded anyway).
STALE_GRACE = dt.timedelta(minutes=15)
# A session this close to expiring is not handed out again: a new one is made.
REUSE_MARGIN = dt.timedelta(minutes=2)


class OnlinePaymentUnavailable(BillingError):
    """The provider could not start or cancel the payment; nothing was charged."""


# --- Small helpers -----------------------------------------------------------------------------


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives back naive datetimes (stored as UTC); PostgreSQL aware ones."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def checkout_minutes() -> int:
    from flask import current_app

    minutes = int(current_app.config.get("STRIPE_CHECKOUT_MINUTES") or DEFAULT_CHECKOUT_MINUTES)
    return min(max(minutes, 30), 24 * 60)


def invoice_page_url(invoice_id: int, **params) -> str:
    """The client's invoice page, absolute (AIS_BASE_URL), for the provider's return pages.  The
    query is appended as given: Stripe replaces the literal ``{CHECKOUT_SESSION_ID}``, which
    URL-encoding would hide from it."""
    url = external_url("portal.invoice_detail", invoice_id=invoice_id)
    if params:
        url += "?" + "&".join(f"{key}={value}" for key, value in params.items())
    return url


def _installment_label(invoice: Invoice, numbers: list[int]) -> str:
    if invoice.installment_count <= 1:
        return "Payment"
    if not numbers:
        return f"{invoice.installment_count} installments"
    if len(numbers) == 1:
        return f"Installment {numbers[0]} of {invoice.installment_count}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"Installments {numbers[0]}–{numbers[-1]} of {invoice.installment_count}"
    return f"Installments {', '.join(map(str, numbers))} of {invoice.installment_count}"


def states_after_pending(invoice: Invoice, pending: Decimal = ZERO) -> list[rules.InstallmentState]:
    """The installments as they will stand once the money already on its way (reported payments,
    card payments a bank is still confirming) is confirmed: it pays the oldest unpaid first."""
    states = []
    left = max(pending, ZERO)
    for inst in invoice.installments:  # by number, i.e. by due date
        take = min(left, inst.amount - inst.paid_amount)
        left -= take
        states.append(
            rules.InstallmentState(
                number=inst.number, due_date=inst.due_date, amount=inst.amount, paid=inst.paid_amount + take
            )
        )
    return states


def installments_covered(invoice: Invoice, amount: Decimal, pending: Decimal = ZERO) -> list[int]:
    """The installments ``amount`` would go to, oldest unpaid first (as the allocation does)."""
    numbers = []
    left = amount
    for state in states_after_pending(invoice, pending):
        if state.unpaid <= 0:
            continue
        if left <= 0:
            break
        numbers.append(state.number)
        left -= state.unpaid
    return numbers


def describe_amount(invoice: Invoice, amount: Decimal, pending: Decimal = ZERO) -> str:
    """One line for Stripe's payment page: which installment(s) the amount pays."""
    states = {s.number: s for s in states_after_pending(invoice, pending)}
    numbers = installments_covered(invoice, amount, pending)
    label = _installment_label(invoice, numbers)
    unpaid = sum((states[n].unpaid for n in numbers), ZERO)
    if amount >= sum((s.unpaid for s in states.values()), ZERO):
        return f"{label} (full balance)" if invoice.installment_count > 1 else "Full payment"
    if amount < unpaid:
        return f"{label} (part)" if invoice.installment_count > 1 else "Part payment"
    return label


@dataclass(frozen=True)
class PayOptions:
    """What the client may pay online now.  ``room`` counts this invoice's open checkouts as
    free, because a new checkout replaces them.  ``due``: the suggested payment (rules.owed), and
    ``due_heading`` what it is: "Due now" (overdue and due today, less what is on its way) or
    "Next installment" (nothing is due yet: paying early is offered, never demanded)."""

    due: Decimal
    due_label: str
    full: Decimal
    room: Decimal
    due_heading: str = "Due now"


def pay_options(invoice: Invoice, today: dt.date, open_checkouts: Decimal = ZERO) -> PayOptions:
    """The suggested amount is rules.owed's (the one rule every page and email uses), within what
    may still be paid; "settle the invoice" (``full``): the early payoff quote
    (services.payoff_quote) less the money on its way other than this invoice's open checkouts,
    which a new checkout replaces."""
    room = max(open_room(invoice) + open_checkouts, ZERO)
    pending = invoice.held_amount - open_checkouts
    quote = payoff_quote(invoice)
    settle = min(max(quote.balance - max(pending, ZERO), ZERO), room)
    owed = rules.owed(states_after_pending(invoice), today, max(pending, ZERO))
    due = min(owed.suggested, room)
    numbers = installments_covered(invoice, due, pending) if due > 0 else []
    label = _installment_label(invoice, numbers) if numbers and invoice.installment_count > 1 else ""
    return PayOptions(due=due, due_label=label, full=settle, room=room, due_heading=owed.suggested_label or "Due now")


def _amount_for(invoice: Invoice, choice: str, amount_text, options: PayOptions) -> Decimal:
    if choice == DUE:
        amount = options.due
    elif choice == FULL:
        amount = options.full
    elif choice == CUSTOM:
        try:
            amount = money.parse_amount(amount_text if amount_text is not None else "")
        except money.InvalidAmount as error:
            raise InvalidInput(str(error), "amount") from None
        if amount > options.room:
            raise PaymentRefused(
                f"{format_money(amount, invoice.currency)} is more than the "
                f"{format_money(options.room, invoice.currency)} you can pay now.",
                "amount",
            )
    else:
        raise InvalidInput("Choose how much to pay.", "choice")
    if amount <= 0:
        raise PaymentRefused("There is nothing to pay online on this invoice right now.", "choice")
    return amount


def _sessions(invoice_id: int, *statuses: str) -> list[CheckoutSession]:
    return list(
        db.session.scalars(
            select(CheckoutSession)
            .where(CheckoutSession.invoice_id == invoice_id, CheckoutSession.status.in_(statuses))
            .order_by(CheckoutSession.id)
            .execution_options(populate_existing=True)
        )
    )


def _set_status(row: CheckoutSession, status: str) -> None:
    row.status = status
    row.updated_at = clock.utcnow()


def _release_stale(invoice: Invoice) -> list[tuple[str, str]]:
    """Open sessions well past their expiry stop holding room (Stripe's event may be late;
    PayMongo's sessions never expire by themselves).  Returns the (provider, session id) of
    those released, for _expire_released to close at the provider after the transaction."""
    cutoff = clock.utcnow() - STALE_GRACE
    released = []
    for row in _sessions(invoice.id, CHECKOUT_OPEN):
        if as_utc(row.expires_at) < cutoff:
            _set_status(row, CHECKOUT_EXPIRED)
            audit.record(
                _actor(row.provider),
                "checkout.expired",
                client_id=row.client_id,
                invoice_id=invoice.id,
                amount_before=row.amount,
                detail=f"{row.provider_session_id or row.id}: past its expiry",
            )
            released.append((row.provider, row.provider_session_id or ""))
    if released:
        reallocate(invoice)
    return released


def _expire_released(provider: OnlineProvider | None, released: list[tuple[str, str]]) -> None:
    """Close sessions released here at the provider too, when it does not expire them itself
    (PayMongo), so that they can no longer be paid.  A payment that still arrives is recorded
    (or flagged) all the same."""
    if provider is None or provider.expires_sessions_itself:
        return
    for name, session_id in released:
        if session_id and name == provider.name:
            _close_quietly(provider, session_id)


# --- Starting and cancelling a checkout ----------------------------------------------------------


@dataclass
class _Plan:
    amount: Decimal = ZERO
    reuse_url: str | None = None
    to_close: list[tuple[int, str | None]] = field(default_factory=list)  # (row id, provider session id)
    stale: list[tuple[str, str]] = field(default_factory=list)  # released here: (provider, session id)


def _plan_checkout(client_id: int, invoice_id: int, choice: str, amount_text) -> _Plan:
    now = clock.utcnow()
    with write_transaction():
        invoice = lock_invoice(invoice_id)
        if invoice.client_id != client_id or invoice.is_draft:
            raise NotFound("No such invoice.")
        stale = _release_stale(invoice)
        require_open(invoice)
        if not supports_currency(invoice.currency):
            raise PaymentRefused("This invoice's currency cannot be paid online.", "choice")
        open_rows = _sessions(invoice_id, CHECKOUT_OPEN)
        options = pay_options(invoice, clock.today(), sum((r.amount for r in open_rows), ZERO))
        amount = _amount_for(invoice, choice, amount_text, options)
        plan = _Plan(amount=amount, to_close=[], stale=stale)
        for row in open_rows:
            if row.amount == amount and as_utc(row.expires_at) > now + REUSE_MARGIN:
                # The same payment again (second click, second tab).  Without a page yet (being
                # made, or the call failed half-way) _reserve picks it up and asks again with
                # its idempotency key, which gives the same page.
                if row.url and plan.reuse_url is None:
                    plan.reuse_url = row.url
            else:
                # Another amount, or about to expire: closed before the new one is made.
                plan.to_close.append((row.id, row.provider_session_id))
        if plan.reuse_url:
            plan.to_close = []  # the same payment again: leave everything as it is
        return plan


def _close_sessions(provider: OnlineProvider, rows: list[tuple[int, str | None]], reason: str) -> list[str]:
    """Expire sessions at the provider, then release their room here.  A session the provider
    reports complete keeps holding its room until its webhook records the money."""
    problems = []
    closed = []
    for row_id, session_id in rows:
        status = CHECKOUT_EXPIRED
        if session_id:
            try:
                status = provider.expire_checkout(session_id)
            except ProviderError as error:
                problems.append(error.message)
                continue
        if status == CHECKOUT_EXPIRED:
            closed.append(row_id)
        else:
            problems.append("An earlier card payment on this invoice is already being processed.")
    if closed:
        invoice_ids = set(db.session.scalars(select(CheckoutSession.invoice_id).where(CheckoutSession.id.in_(closed))))
        for invoice_id in invoice_ids:
            with write_transaction():
                invoice = lock_invoice(invoice_id)
                for row in _sessions(invoice_id, CHECKOUT_OPEN):
                    if row.id in closed:
                        _set_status(row, CHECKOUT_EXPIRED)
                        audit.record(
                            _actor(row.provider),
                            "checkout.cancelled",
                            client_id=row.client_id,
                            invoice_id=invoice_id,
                            amount_before=row.amount,
                            detail=f"{row.provider_session_id or row.id}: {reason}",
                        )
                reallocate(invoice)
    return problems


def _reserve(
    actor: Actor, client_id: int, invoice_id: int, amount: Decimal, provider: str = STRIPE
) -> tuple[int, str | None]:
    """Write the local session (holding its room) or find the same one made meanwhile."""
    now = clock.utcnow()
    with write_transaction():
        invoice = lock_invoice(invoice_id)
        if invoice.client_id != client_id or invoice.is_draft:
            raise NotFound("No such invoice.")
        require_open(invoice)
        for row in _sessions(invoice_id, CHECKOUT_OPEN):
            if row.amount == amount and as_utc(row.expires_at) > now + REUSE_MARGIN:
                return row.id, row.url or None  # another tab got here first: same payment
        room = open_room(invoice)
        if amount > room:
            waiting = (
                f" ({format_money(invoice.held_amount, invoice.currency)} is awaiting confirmation)"
                if invoice.held_amount > 0
                else ""
            )
            raise PaymentRefused(
                f"{format_money(amount, invoice.currency)} is more than the "
                f"{format_money(max(room, ZERO), invoice.currency)} that is still open on this invoice{waiting}.",
                "amount",
            )
        minor = money.to_minor_units(amount)
        row = CheckoutSession(
            invoice_id=invoice.id,
            client_id=invoice.client_id,
            amount=amount,
            currency=invoice.currency,
            provider=provider,
            status=CHECKOUT_OPEN,
            # Derived from the invoice, the amount and this local session: a retried or doubled
            # create for the same local session gets the same Stripe session back.
            idempotency_key=f"ais-checkout-{invoice.id}-{minor}-{secrets.token_hex(8)}",
            expires_at=now + dt.timedelta(minutes=checkout_minutes()),
            created_at=now,
            updated_at=now,
        )
        db.session.add(row)
        db.session.flush()
        held_before = invoice.held_amount
        reallocate(invoice)
        audit.record(
            actor,
            "checkout.started",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            amount_before=held_before,
            amount_after=invoice.held_amount,
            detail=f"{format_money(amount, invoice.currency)} by card (checkout #{row.id})",
        )
        return row.id, None


def _checkout_request(row_id: int) -> CheckoutRequest:
    row = _get(CheckoutSession, row_id, populate_existing=True)
    invoice = _get(Invoice, row.invoice_id)
    client = _get(Client, row.client_id)
    open_amounts = sum(
        db.session.scalars(
            select(CheckoutSession.amount).where(
                CheckoutSession.invoice_id == invoice.id, CheckoutSession.status == CHECKOUT_OPEN
            )
        ),
        ZERO,
    )
    description = describe_amount(invoice, row.amount, invoice.held_amount - open_amounts)
    request = CheckoutRequest(
        amount_minor=money.to_minor_units(row.amount),
        currency=row.currency.lower(),
        name=f"Invoice {invoice.invoice_no}",
        description=description,
        metadata={
            "invoice_id": str(invoice.id),
            "client_id": str(client.id),
            "checkout_id": str(row.id),
            "invoice_no": invoice.invoice_no or "",
        },
        customer_email=client.email,
        success_url=invoice_page_url(invoice.id, checkout="success", session_id="{CHECKOUT_SESSION_ID}"),
        cancel_url=invoice_page_url(invoice.id, checkout="cancelled"),
        expires_at=as_utc(row.expires_at),
        idempotency_key=row.idempotency_key,
    )
    db.session.rollback()  # end the read before calling out
    return request


def _fail(row_id: int, detail: str) -> None:
    with write_transaction():
        invoice_id = db.session.scalar(select(CheckoutSession.invoice_id).where(CheckoutSession.id == row_id))
        if invoice_id is None:
            raise NotFound(f"No such CheckoutSession ({row_id}).")
        invoice = lock_invoice(invoice_id)
        row = _get(CheckoutSession, row_id, populate_existing=True)
        if row.status == CHECKOUT_OPEN and not row.provider_session_id:
            _set_status(row, CHECKOUT_FAILED)
            reallocate(invoice)
            audit.record(
                _actor(row.provider),
                "checkout.failed",
                client_id=row.client_id,
                invoice_id=invoice_id,
                amount_before=row.amount,
                detail=detail[:500],
            )


def start_checkout(
    actor: Actor, client_id: int, invoice_id: int, choice: str, amount_text, provider: OnlineProvider
) -> str:
    """Start (or resume) an online payment on the client's invoice; return the page to send them to.

    ``choice``: "due" (the installments due by today, or else the next one), "full" (what is
    still open) or "custom" (``amount_text``, parsed like every amount).  Another client's
    invoice or a draft is NotFound; an amount that does not fit is PaymentRefused.
    """
    plan = _plan_checkout(client_id, invoice_id, choice, amount_text)
    _expire_released(provider, plan.stale)
    if plan.reuse_url:
        return plan.reuse_url
    if plan.to_close:
        problems = _close_sessions(provider, plan.to_close, "replaced by a new payment")
        if problems:
            # The earlier one may still be paid: it keeps its room; a new one may no longer fit.
            log.info("checkout on invoice %s: earlier session not closed: %s", invoice_id, problems)
    row_id, url = _reserve(actor, client_id, invoice_id, plan.amount, provider.name)
    if url:
        return url
    request = _checkout_request(row_id)
    try:
        created = provider.create_checkout(request)
    except ProviderError as error:
        _fail(row_id, error.detail or error.message)
        raise OnlinePaymentUnavailable(error.message) from None
    with write_transaction():
        invoice = lock_invoice(invoice_id)
        row = _get(CheckoutSession, row_id, populate_existing=True)
        if row.provider_session_id == created.session_id:
            return row.url  # the same request twice (same key): already stored
        if row.status == CHECKOUT_OPEN and not row.provider_session_id:
            row.provider_session_id = created.session_id
            row.url = created.url
            row.payment_intent = created.payment_intent
            if created.expires_at:
                row.expires_at = created.expires_at
            row.updated_at = clock.utcnow()
            audit.record(
                actor,
                "checkout.created",
                client_id=row.client_id,
                invoice_id=invoice.id,
                amount_after=row.amount,
                detail=created.session_id,
            )
            return created.url
    # Closed meanwhile (replaced from another tab): close the page just made too.
    _close_quietly(provider, created.session_id)
    raise OnlinePaymentUnavailable(
        "This payment was replaced by one started in another window. Please reload the invoice and try again."
    )


def _close_quietly(provider: OnlineProvider, session_id: str) -> None:
    try:
        provider.expire_checkout(session_id)
    except ProviderError as error:
        log.warning("could not expire orphan checkout session %s: %s", session_id, error.detail)


def cancel_checkout(actor: Actor, client_id: int, invoice_id: int, provider: OnlineProvider) -> int:
    """The client gives up the open online payment(s) on their invoice: closed at the provider and
    their room released.  Returns how many were closed."""
    with write_transaction():
        invoice = lock_invoice(invoice_id)
        if invoice.client_id != client_id or invoice.is_draft:
            raise NotFound("No such invoice.")
        rows = [(row.id, row.provider_session_id) for row in _sessions(invoice_id, CHECKOUT_OPEN)]
    if not rows:
        return 0
    problems = _close_sessions(provider, rows, "cancelled by the client")
    if problems:
        raise OnlinePaymentUnavailable(problems[0])
    return len(rows)


def release_stale_checkouts(provider: OnlineProvider | None = None) -> int:
    """Release every open session well past its expiry (for `flask payments release-stale`),
    and close them at ``provider`` if it does not expire them itself."""
    cutoff = clock.utcnow() - STALE_GRACE
    invoice_ids = list(
        db.session.scalars(
            select(CheckoutSession.invoice_id)
            .where(CheckoutSession.status == CHECKOUT_OPEN, CheckoutSession.expires_at < cutoff)
            .distinct()
        )
    )
    count = 0
    released = []
    for invoice_id in invoice_ids:
        with write_transaction():
            stale = _release_stale(lock_invoice(invoice_id))
        if stale:
            count += 1
            released.extend(stale)
    _expire_released(provider, released)
    return count


# --- Webhook events ------------------------------------------------------------------------------


def _store_event(event_id: str, event_type: str, provider: str = STRIPE) -> bool:
    """Insert the event id; False if it is already there (a repeat delivery).  On PostgreSQL a
    concurrent insert of the same id waits for the other transaction, then does nothing."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    result = db.session.execute(
        insert(WebhookEvent)
        .values(id=event_id[:255], provider=provider, type=event_type[:100], received_at=clock.utcnow(), outcome="")
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(WebhookEvent.id)
    )
    return result.first() is not None


def handle_event(event: dict, _attempt: int = 1) -> str:
    """Apply one verified provider event, once.  Returns what it did (also stored with the event)."""
    event_id, event_type = event["id"], event["type"]
    provider = _provider_of(event)
    try:
        with write_transaction():
            if not _store_event(event_id, event_type, provider):
                return "duplicate"
            handler = HANDLERS.get(event_type)
            if handler is None:
                log.info("%s event %s of type %s ignored", provider, event_id, event_type)
                outcome = "ignored"
            else:
                outcome = handler(event["data"]["object"], event)
            stored = _get(WebhookEvent, event_id[:255])
            stored.outcome = outcome[:255]
            log.info("%s event %s (%s): %s", provider, event_id, event_type, outcome)
            return outcome
    except IntegrityError:
        # Another delivery recorded the same money at the same moment (unique PaymentIntent):
        # this one was rolled back whole; run it again, it will find what the other wrote.
        if _attempt >= 3:
            raise
        return handle_event(event, _attempt + 1)


def _metadata(obj: dict) -> dict:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _int(value) -> int | None:
    """An id from an event's metadata (ais.params: ASCII digits within the ids' range), else None."""
    return parse_id(value)


def _find_session(obj: dict) -> CheckoutSession | None:
    """Our row for a Stripe Checkout Session: by its id, else by the checkout id we put in its metadata."""
    session_id = obj.get("id")
    if session_id:
        row = db.session.scalar(select(CheckoutSession).where(CheckoutSession.provider_session_id == str(session_id)))
        if row is not None:
            return row
    checkout_id = _int(_metadata(obj).get("checkout_id"))
    if checkout_id is not None:
        row = db.session.get(CheckoutSession, checkout_id)
        if row is not None and str(row.invoice_id) == str(_metadata(obj).get("invoice_id")):
            return row
    return None


def _lock_for(obj: dict) -> tuple[CheckoutSession | None, Invoice | None]:
    """Find the session and its invoice and lock the invoice; None, None if it is not ours."""
    row = _find_session(obj)
    invoice_id = row.invoice_id if row is not None else _int(_metadata(obj).get("invoice_id"))
    if invoice_id is None:
        return None, None
    try:
        invoice = lock_invoice(invoice_id)
    except NotFound:
        return None, None
    if row is not None:
        row = _get(CheckoutSession, row.id, populate_existing=True)  # fresh, under the lock
    elif str(_metadata(obj).get("client_id")) != str(invoice.client_id):
        return None, None  # the labels contradict each other: flagged, applied to nothing
    return row, invoice


def _is_ours(obj: dict) -> bool:
    """Made by AIS: it carries the labels AIS puts on every checkout (other systems may share
    the Stripe account; their events are not ours to record)."""
    metadata = _metadata(obj)
    return bool(metadata.get("invoice_id") and metadata.get("checkout_id"))


def _paid_on(event: dict, invoice: Invoice | None) -> dt.date:
    today = clock.today()
    created = parse_timestamp(event.get("created"))  # None when absent or absurd: today, then
    day = today
    if created is not None:
        day = created.astimezone(clock.business_timezone()).date()
    day = min(day, today)
    if invoice is not None and day < invoice.issue_date:
        day = invoice.issue_date
    return day


def _amount_of(obj: dict, row: CheckoutSession | None) -> Decimal | None:
    amount = parse_minor_units(obj.get("amount_total"))  # None when absent, not cents, or absurd
    if amount is not None:
        return amount
    return row.amount if row is not None else None


def _money_recorded(reference: str) -> bool:
    return (
        db.session.scalar(select(Payment.id).where(Payment.provider_reference == reference)) is not None
        or db.session.scalar(select(Overpayment.id).where(Overpayment.provider_reference == reference)) is not None
    )


def _record_money(event: dict, obj: dict, row: CheckoutSession | None, invoice: Invoice | None) -> str:
    """A checkout's money arrived: record it once (keyed by the provider's id for the money:
    Stripe's PaymentIntent, PayMongo's payment).

    The amount and currency are compared with the checkout AIS created: another currency is
    flagged whole; more than the checkout asked for pays what it asked (if that fits) and the
    rest is flagged; less is recorded (it was received) with an audit entry saying so.
    """
    provider = _provider_of(event)
    actor = _actor(provider)
    reference = str(obj.get("payment_intent") or "") or f"checkout:{obj.get('id')}"
    reference = reference[:255]
    if row is not None:
        row.payment_intent = row.payment_intent or reference
        if row.status != CHECKOUT_COMPLETE:
            _set_status(row, CHECKOUT_COMPLETE)
    if invoice is not None:
        reallocate(invoice)  # this session no longer holds room: its money is here
    if _money_recorded(reference):
        return f"already recorded ({reference})"
    amount = _amount_of(obj, row)
    currency = str(obj.get("currency") or (row.currency if row else "")).upper()
    if amount is None or not currency:
        # Signed, yet unusable (no amount in cents we can hold, or no currency): kept with this
        # outcome for the owner's eyes; sending it again would not make it usable, so no 500.
        log.error("%s event %s: no usable amount or currency for %s", provider, event.get("id"), reference)
        return "refused: no usable amount or currency"
    method = str(obj.get("payment_method") or "")[:40] if provider != STRIPE else CARD_METHOD
    method = method or CARD_METHOD

    applied = ZERO
    reason = ""
    short = ""
    if invoice is None:
        reason = "it names no invoice in AIS"
    elif currency != invoice.currency.upper() or (row is not None and currency != row.currency.upper()):
        reason = f"it was paid in {currency} but the invoice is in {invoice.currency}"
    elif invoice.is_void:
        reason = "the invoice was voided"
    elif invoice.is_draft:
        reason = "the invoice is not issued"
    else:
        room = max(open_room(invoice), ZERO)
        asked = row.amount if row is not None else amount
        applied = min(amount, room, asked)
        if applied < amount:
            if room <= 0:
                reason = "the invoice was already paid (or fully awaiting confirmation) when it arrived"
            elif room <= asked:
                reason = (
                    f"only {format_money(room, invoice.currency)} was still open on the invoice when "
                    f"{format_money(amount, invoice.currency)} arrived"
                ) + (f" (the checkout asked for {format_money(asked, invoice.currency)})" if amount > asked else "")
            else:
                reason = (
                    f"{format_money(amount, invoice.currency)} arrived for a checkout of "
                    f"{format_money(asked, invoice.currency)}"
                )
        elif amount < asked:
            short = (
                f"{format_money(amount, invoice.currency)} arrived for a checkout of "
                f"{format_money(asked, invoice.currency)}"
            )
    outcome = []
    if applied > 0 and invoice is not None:  # (money is applied only to an invoice)
        paid_before = invoice.paid_amount
        payment = add_payment(
            actor,
            invoice,
            amount=applied,
            paid_on=_paid_on(event, invoice),
            method=method,
            reference=reference,
            state=CONFIRMED,
            submission_key=None,
            provider=provider,
            provider_reference=reference,
        )
        ledger.payment_confirmed(payment)
        reallocate(invoice)
        audit.record(
            actor,
            "payment.received_online",
            client_id=invoice.client_id,
            invoice_id=invoice.id,
            payment_id=payment.id,
            amount_before=paid_before,
            amount_after=invoice.paid_amount,
            detail=f"{format_money(applied, invoice.currency)} by {method} ({reference}, event {event.get('id')})",
        )
        if short:
            log.warning("%s payment %s: %s", provider, reference, short)
            audit.record(
                actor,
                "payment.amount_differs",
                client_id=invoice.client_id,
                invoice_id=invoice.id,
                payment_id=payment.id,
                amount_after=applied,
                detail=f"{reference}: {short}",
            )
            outcome.append("less than asked")
        notices.payment_receipt(payment, invoice)
        outcome.append(f"payment {payment.id} recorded")
    excess = amount - applied
    if excess > 0:
        flagged = Overpayment(
            invoice_id=invoice.id if invoice is not None else None,
            client_id=invoice.client_id if invoice is not None else (row.client_id if row is not None else None),
            amount=excess,
            currency=currency,
            provider=provider,
            provider_reference=reference,
            reason=f"{format_money(excess, currency)} could not be applied: {reason}. Refund or credit it.",
            created_at=clock.utcnow(),
        )
        db.session.add(flagged)
        db.session.flush()
        ledger.overpayment_flagged(flagged, methods.canonical(method) or methods.OTHER, clock.today())
        audit.record(
            actor,
            "payment.overpayment_flagged",
            client_id=flagged.client_id,
            invoice_id=flagged.invoice_id,
            amount_after=excess,
            detail=f"{reference}: {reason}",
        )
        payment_notices.overpayment_flagged(flagged)
        outcome.append(f"overpayment {flagged.id} flagged")
    return ", ".join(outcome)


def on_session_completed(obj: dict, event: dict) -> str:
    if not _is_ours(obj) and _find_session(obj) is None:
        return "ignored: not an AIS checkout"
    row, invoice = _lock_for(obj)
    status = obj.get("payment_status")
    if status == "paid":
        return _record_money(event, obj, row, invoice)
    if status == "unpaid":
        # A delayed method (bank debit, voucher): the money comes later with async_payment_succeeded.
        if row is not None and row.status == CHECKOUT_OPEN:
            _set_status(row, CHECKOUT_PROCESSING)
            if obj.get("payment_intent"):
                row.payment_intent = str(obj["payment_intent"])[:255]
            return "waiting for the delayed payment"
        return f"nothing to do (session {row.status if row else 'unknown'})"
    return f"ignored: payment_status {status!r}"


def on_async_succeeded(obj: dict, event: dict) -> str:
    if not _is_ours(obj) and _find_session(obj) is None:
        return "ignored: not an AIS checkout"
    row, invoice = _lock_for(obj)
    return _record_money(event, obj, row, invoice)


def _release(obj: dict, status: str, action: str) -> str:
    if not _is_ours(obj) and _find_session(obj) is None:
        return "ignored: not an AIS checkout"
    row, invoice = _lock_for(obj)
    if row is None or invoice is None:  # (_lock_for gives a session only with its invoice)
        return "nothing held"
    if row.status not in CHECKOUT_HOLDING:
        return f"nothing to do (session {row.status})"
    _set_status(row, status)
    held_before = invoice.held_amount
    reallocate(invoice)
    audit.record(
        _actor(row.provider),
        action,
        client_id=row.client_id,
        invoice_id=invoice.id,
        amount_before=held_before,
        amount_after=invoice.held_amount,
        detail=f"{row.provider_session_id or row.id}: {format_money(row.amount, row.currency)} released",
    )
    return f"released {row.amount}"


def on_async_failed(obj: dict, event: dict) -> str:
    return _release(obj, CHECKOUT_FAILED, "checkout.failed")


def on_session_expired(obj: dict, event: dict) -> str:
    return _release(obj, CHECKOUT_EXPIRED, "checkout.expired")


def on_charge_refunded(obj: dict, event: dict) -> str:
    """A refund (full or partial; Stripe reports the cumulative amount refunded).

    The refund first goes to money flagged as an overpayment on the same PaymentIntent (that is
    what the owner refunds it for); the rest reduces the invoice payment: a full refund voids
    it, a partial one voids it and records the kept part as a new confirmed payment (same date,
    same PaymentIntent in its reference) with the refund as the reason.  An older event with a
    smaller cumulative refund changes nothing.
    """
    provider = _provider_of(event)
    actor = _actor(provider)
    intent = str(obj.get("payment_intent") or "")[:200]  # room for "#kept-…" in a 255-character column
    refunded = parse_minor_units(obj.get("amount_refunded"))  # None when absent, not cents, or absurd
    if not intent or refunded is None:
        return "ignored: no PaymentIntent or nothing refunded"
    refunded_minor = money.to_minor_units(refunded)
    payments_query = (
        select(Payment)
        .where(or_(Payment.provider_reference == intent, Payment.provider_reference.like(f"{intent}#%")))
        .order_by(Payment.id)
    )
    first = db.session.scalars(payments_query).first()
    flagged = db.session.scalar(select(Overpayment).where(Overpayment.provider_reference == intent))
    row = db.session.scalar(select(CheckoutSession).where(CheckoutSession.payment_intent == intent))
    invoice_id = first.invoice_id if first else (flagged.invoice_id if flagged else (row.invoice_id if row else None))
    if first is None and flagged is None:
        return "ignored: no payment recorded for this PaymentIntent"
    invoice = lock_invoice(invoice_id) if invoice_id is not None else None
    # Fresh rows under the lock.
    payments = list(db.session.scalars(payments_query.execution_options(populate_existing=True)))
    if flagged is not None:
        flagged = db.session.get(Overpayment, flagged.id, populate_existing=True, with_for_update=invoice is None)
    if row is not None:
        row = _get(CheckoutSession, row.id, populate_existing=True)
        if refunded <= row.refunded_amount:
            return "already applied"
        row.refunded_amount = refunded
        row.updated_at = clock.utcnow()
    charge = obj.get("id") or intent
    currency = obj.get("currency")
    if not currency:  # (no payment means an overpayment: with neither it returned above)
        currency = first.invoice.currency if first else cast(Overpayment, flagged).currency
    currency = str(currency).upper()
    reason = f"Refunded in {PROVIDER_LABELS[provider]} ({format_money(refunded, currency)} refunded on {charge})"
    outcome = []
    # The flagged money still refundable: a customer credit partly applied to invoices (ais.billing.
    # credits) is owed back only for what is left of it; the rest of the refund is the payment's.
    flagged_amount = flagged.amount - flagged.applied_amount if flagged is not None else ZERO
    if flagged is not None and flagged.resolved_at is None and refunded >= flagged_amount:
        flagged.resolved_at = clock.utcnow()
        flagged.resolution = reason
        if flagged.applied_amount:
            # Its receipt stays (part of it paid invoices): what was left leaves customer credits
            # for the card's account, like a refund by hand.
            flagged.refunded_amount = flagged.remaining
            flagged.refund_method = ledger.flagged_method(flagged)
            ledger.credit_refunded(flagged, clock.today())
        else:
            ledger.overpayment_refunded(flagged, clock.today())
        audit.record(
            actor,
            "payment.overpayment_refunded",
            client_id=flagged.client_id,
            invoice_id=flagged.invoice_id,
            amount_before=flagged_amount,
            detail=reason,
        )
        outcome.append(f"overpayment {flagged.id} refunded")
    if payments and invoice is not None:
        original = payments[0]
        active = next((p for p in payments if p.state == CONFIRMED), None)
        kept = max(original.amount - max(refunded - flagged_amount, ZERO), ZERO)
        if active is not None and kept < active.amount:
            paid_before = invoice.paid_amount
            transition(active, VOIDED, reason)
            ledger.payment_voided(active, clock.today())
            replacement = None
            if kept > 0:
                replacement = add_payment(
                    actor,
                    invoice,
                    amount=kept,
                    paid_on=original.date,
                    method=original.method,
                    reference=intent,
                    state=CONFIRMED,
                    submission_key=None,
                    provider=provider,
                    provider_reference=f"{intent}#kept-{refunded_minor}",
                )
                replacement.state_reason = f"Kept after a partial refund of payment {active.id}: {reason}"
                ledger.payment_confirmed(replacement)
            reallocate(invoice)
            audit.record(
                actor,
                "payment.refunded",
                client_id=invoice.client_id,
                invoice_id=invoice.id,
                payment_id=active.id,
                amount_before=paid_before,
                amount_after=invoice.paid_amount,
                detail=reason
                + (
                    f"; {format_money(kept, invoice.currency)} kept as payment {replacement.id}"
                    if replacement
                    else "; fully refunded"
                ),
            )
            notices.payment_refunded(active, invoice, original.amount - kept, kept)
            outcome.append(
                f"payment {active.id} voided" + (f", {kept} kept as payment {replacement.id}" if replacement else "")
            )
    return ", ".join(outcome) or "nothing to change"


HANDLERS = {
    "checkout.session.completed": on_session_completed,
    "checkout.session.async_payment_succeeded": on_async_succeeded,
    "checkout.session.async_payment_failed": on_async_failed,
    "checkout.session.expired": on_session_expired,
    "charge.refunded": on_charge_refunded,
}


# --- Overpayments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverpaymentRow:
    id: int
    amount: Decimal
    currency: str
    reason: str
    provider_reference: str
    created_at: dt.datetime
    invoice_id: int | None
    invoice_no: str | None
    client_id: int | None
    client_name: str | None
    applied_amount: Decimal = ZERO
    refunded_amount: Decimal = ZERO

    @property
    def remaining(self) -> Decimal:
        """What is left to apply or refund."""
        return self.amount - self.applied_amount - self.refunded_amount


@cache
def _open_overpayments_statement():
    """Built once: the owner's dashboard reads it on every visit."""
    overpayments, invoices, clients = Overpayment.__table__, Invoice.__table__, Client.__table__
    return (
        select(
            overpayments.c.id,
            overpayments.c.amount,
            overpayments.c.currency,
            overpayments.c.reason,
            overpayments.c.provider_reference,
            overpayments.c.created_at,
            overpayments.c.invoice_id,
            invoices.c.invoice_no,
            overpayments.c.client_id,
            clients.c.name,
            overpayments.c.applied_amount,
            overpayments.c.refunded_amount,
        )
        .select_from(
            overpayments.outerjoin(invoices, invoices.c.id == overpayments.c.invoice_id).outerjoin(
                clients, clients.c.id == overpayments.c.client_id
            )
        )
        .where(overpayments.c.resolved_at.is_(None))
        .order_by(overpayments.c.created_at, overpayments.c.id)
        .limit(bindparam("limit", type_=Integer, literal_execute=True))
    )


def open_overpayments(limit: int = 50) -> list[OverpaymentRow]:
    """Overpayments the owner has not refunded or credited yet, oldest first (one query)."""
    rows = db.session.execute(_open_overpayments_statement(), {"limit": limit})
    return [OverpaymentRow(*row) for row in rows]


def open_overpayment_count() -> int:
    return (
        db.session.scalar(select(func.count()).select_from(Overpayment).where(Overpayment.resolved_at.is_(None))) or 0
    )


def overpayment_lines() -> list[str]:
    """One notice per open overpayment, for `flask check` (printed, never a failure)."""
    lines = []
    for row in open_overpayments(limit=1000):
        where = f"invoice {row.invoice_no}" if row.invoice_no else "no invoice"
        who = f", {row.client_name}" if row.client_name else ""
        lines.append(
            f"Overpayment {format_money(row.remaining, row.currency)} ({where}{who}, "
            f"{row.provider_reference}) awaits a refund or credit: {row.reason}"
        )
    return lines


def resolve_overpayment(actor: Actor, overpayment_id: int, note: str, method: str | None = None) -> None:
    """The owner refunded an overpayment by hand: settled with the note, and its refund posted
    from customer credits to the account of ``method`` (None: the method it arrived by)."""
    credits.refund_credit(actor, overpayment_id, note, method)


# --- Reads for the invoice page -------------------------------------------------------------------


def open_checkout(invoice_id: int) -> CheckoutSession | None:
    """The invoice's online payment in progress (open or processing), newest first."""
    return db.session.scalar(
        select(CheckoutSession)
        .where(CheckoutSession.invoice_id == invoice_id, CheckoutSession.status.in_(CHECKOUT_HOLDING))
        .order_by(CheckoutSession.id.desc())
        .limit(1)
    )


def recent_card_payment(invoice_id: int, since: dt.datetime) -> Payment | None:
    """The newest card payment recorded on the invoice since ``since`` (for the return page)."""
    return db.session.scalar(
        select(Payment)
        .where(
            Payment.invoice_id == invoice_id,
            Payment.provider.in_(tuple(PROVIDER_LABELS)),
            Payment.state == CONFIRMED,
            Payment.created_at >= since,
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )
