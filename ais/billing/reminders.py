"""Reminders per installment: before its due date, on it, and at the overdue steps.

The owner's schedule of reminders (``ReminderSchedule``, kept in the ``settings`` row
``reminders``) gives the steps: by default 3 days before the due date, on the due date, and 1, 7,
14 and 30 days after it.  ``run_reminders(today)`` (``flask --app ais reminders``) queues in the
outbox, for every installment at a step today, one email per invoice naming what is due now.

* **At most once per installment and step**: each reminder is an ``installment_reminders`` row
  whose unique key (installment, step) is written in the same transaction as the email, with the
  invoice row locked.  Runs that overlap (cron on several machines) wait for each other on that
  lock or that key and queue nothing twice; running again the same day queues nothing new.
* **A step's day**: the installment's due date plus the step's offset, in the business's time
  zone (``clock.today()``).  A run that missed that day (the machine was off) still sends the step
  for ``CATCH_UP_DAYS`` days, unless a later step's day has come: an installment is only ever
  reminded at its latest step, never at a stale one.
* **Nothing** for a paid installment, one whose unpaid part money awaiting confirmation covers
  (``rules.uncovered``), a draft or void invoice, or an archived client.  Reminders before and on
  the due date are a courtesy: none for an installment of an invoice issued on or after that
  step's day (the invoice email has just told the client), and none for a client who turned them
  off in the portal.  Overdue notices always go, except:
* **A promise to pay pauses them all** (ais.billing.promises): while a client's promise is open,
  no reminder of any step goes for their installments, the overdue notices included.  Steps whose
  day came meanwhile are not sent later (beyond the usual catch-up days): once the promise is kept
  or lapses, each installment is reminded at its next step.
* **Cost**: the candidates are the unpaid installments whose due dates fall in the few days that
  have a step today (ranges on ``ix_installments_unpaid_due``), not the books.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from .. import audit, clock
from ..audit import Actor
from ..database import write_transaction
from ..extensions import db
from ..models import Client, Installment, InstallmentReminder, Invoice, Setting
from . import notices, promises, rules
from .services import owed_on

SETTING_KEY = "reminders"
CATCH_UP_DAYS = 3
MAX_STEP_DAYS = 365
MAX_OVERDUE_STEPS = 8
DEFAULT_BEFORE_DAYS = 3
DEFAULT_OVERDUE_DAYS = (1, 7, 14, 30)
BEFORE, DUE, OVERDUE = "before", "due", "overdue"


class InvalidSchedule(ValueError):
    """The owner's reminder steps cannot be used (the message says why)."""


# --- The schedule of reminders (pure) -----------------------------------------------------------


@dataclass(frozen=True, order=True)
class Step:
    """One reminder step: ``offset`` days after the due date (negative: before it)."""

    offset: int
    key: str = field(compare=False)

    @property
    def kind(self) -> str:
        return BEFORE if self.offset < 0 else DUE if self.offset == 0 else OVERDUE

    @property
    def courtesy(self) -> bool:
        """A reminder before or on the due date, which a client may turn off (not an overdue notice)."""
        return self.offset <= 0


def before_step(days: int) -> Step:
    return Step(-days, f"{BEFORE}:{days}")


def overdue_step(days: int) -> Step:
    return Step(days, f"{OVERDUE}:{days}")


DUE_STEP = Step(0, DUE)


@dataclass(frozen=True)
class ReminderSchedule:
    """The owner's choice: whether reminders go at all, and at which steps."""

    enabled: bool = True
    before_days: int | None = DEFAULT_BEFORE_DAYS  # None: no reminder before the due date
    on_due_date: bool = True
    overdue_days: tuple[int, ...] = DEFAULT_OVERDUE_DAYS

    def __post_init__(self) -> None:
        if self.before_days is not None and not 1 <= self.before_days <= MAX_STEP_DAYS:
            raise InvalidSchedule(f"Remind 1 to {MAX_STEP_DAYS} days before the due date, or not at all.")
        if len(self.overdue_days) > MAX_OVERDUE_STEPS:
            raise InvalidSchedule(f"At most {MAX_OVERDUE_STEPS} overdue steps.")
        if any(not 1 <= days <= MAX_STEP_DAYS for days in self.overdue_days):
            raise InvalidSchedule(f"Each overdue step is 1 to {MAX_STEP_DAYS} days after the due date.")
        if list(self.overdue_days) != sorted(set(self.overdue_days)):
            raise InvalidSchedule("List each overdue step once, in increasing order.")

    def steps(self) -> list[Step]:
        """The steps in the order their days come (none when reminders are off)."""
        if not self.enabled:
            return []
        steps = [overdue_step(days) for days in self.overdue_days]
        if self.on_due_date:
            steps.append(DUE_STEP)
        if self.before_days is not None:
            steps.append(before_step(self.before_days))
        return sorted(steps)

    def to_text(self) -> str:
        return json.dumps(
            {
                "enabled": self.enabled,
                "before_days": self.before_days,
                "on_due_date": self.on_due_date,
                "overdue_days": list(self.overdue_days),
            }
        )

    @classmethod
    def from_text(cls, text: str | None) -> ReminderSchedule:
        """The stored schedule; the default one if there is none (or it cannot be read)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(
                enabled=bool(data["enabled"]),
                before_days=None if data["before_days"] is None else int(data["before_days"]),
                on_due_date=bool(data["on_due_date"]),
                overdue_days=tuple(int(days) for days in data["overdue_days"]),
            )
        except (ValueError, KeyError, TypeError):
            return cls()


def parse_days(text: str) -> tuple[int, ...]:
    """'1, 7, 14, 30' → (1, 7, 14, 30): whole days, sorted, each once.  Raises InvalidSchedule."""
    parts = [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]
    if any(not (part.isascii() and part.isdigit()) or len(part) > 4 for part in parts):
        raise InvalidSchedule("Enter whole numbers of days separated by commas, like 1, 7, 14, 30.")
    return tuple(sorted({int(part) for part in parts}))


def current_step(steps: list[Step], due_date: date, today: date, catch_up: int = CATCH_UP_DAYS) -> Step | None:
    """The step an installment due on ``due_date`` is at on ``today``, if a reminder is due for it.

    Rule: the latest step whose day (due date + offset) has come, provided that day is less than
    ``catch_up`` days ago (a missed run is made up for a few days, not forever); None otherwise.
    """
    reached = [step for step in steps if due_date + timedelta(days=step.offset) <= today]
    if not reached:
        return None
    latest = reached[-1]
    return latest if today < due_date + timedelta(days=latest.offset + catch_up) else None


def due_date_ranges(steps: list[Step], today: date, catch_up: int = CATCH_UP_DAYS) -> list[tuple[date, date]]:
    """The due dates (inclusive ranges, merged) whose installments are at some step on ``today``:
    what ``current_step`` accepts, so that the run reads only those installments."""
    ranges: list[tuple[date, date]] = []
    for index, step in enumerate(steps):
        # The step is current while today is in [due + offset, due + offset + span).
        span = catch_up
        if index + 1 < len(steps):
            span = min(span, steps[index + 1].offset - step.offset)
        latest_due = today - timedelta(days=step.offset)
        ranges.append((latest_due - timedelta(days=span - 1), latest_due))
    merged: list[tuple[date, date]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


# --- Settings -----------------------------------------------------------------------------------


def reminder_schedule() -> ReminderSchedule:
    """The owner's schedule of reminders (the default until they change it)."""
    return ReminderSchedule.from_text(db.session.scalar(select(Setting.value).where(Setting.key == SETTING_KEY)))


def set_reminder_schedule(actor: Actor, schedule: ReminderSchedule) -> None:
    """The owner sets the steps or turns reminders off (audited)."""
    with write_transaction():
        setting = db.session.get(Setting, SETTING_KEY, with_for_update=True)
        if setting is None:
            setting = Setting(key=SETTING_KEY)
            db.session.add(setting)
        setting.value = schedule.to_text()
        setting.updated_at = clock.utcnow()
        setting.updated_by_id = actor.user_id
        audit.record(actor, "reminders.schedule_changed", detail=describe(schedule))


def set_courtesy_reminders(actor: Actor, client_id: int, wanted: bool) -> None:
    """A client turns the reminders before and on a due date on or off (overdue notices stay)."""
    with write_transaction():
        client = db.session.get(Client, client_id, with_for_update=True)
        if client is None:
            raise LookupError("No such client.")
        client.courtesy_reminders_off = not wanted
        audit.record(
            actor,
            "client.courtesy_reminders_on" if wanted else "client.courtesy_reminders_off",
            client_id=client_id,
        )


def describe(schedule: ReminderSchedule) -> str:
    """The schedule in words, for the audit trail and the settings page."""
    if not schedule.enabled:
        return "Reminders are off."
    parts = []
    if schedule.before_days is not None:
        parts.append(f"{schedule.before_days} day(s) before the due date")
    if schedule.on_due_date:
        parts.append("on the due date")
    if schedule.overdue_days:
        parts.append("overdue after " + ", ".join(str(days) for days in schedule.overdue_days) + " day(s)")
    return "Reminders: " + ("; ".join(parts) if parts else "no steps") + "."


# --- The run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """One installment reminded at one step (what a run queued, or would queue on a dry run)."""

    invoice_id: int
    invoice_no: str
    to_address: str
    installment_number: int
    step: str
    amount: Decimal


@dataclass(frozen=True)
class DueInstallment:
    """An installment of the email: its row, the step it is at, what of it is still to pay."""

    installment: Installment
    step: Step
    uncovered: Decimal
    days: int  # days to (before) or past (overdue) the due date


class _DryRun(Exception):
    """Raised inside a transaction to roll it back on purpose."""


def _candidates(steps: list[Step], today: date) -> dict[int, list[tuple[int, int, Step]]]:
    """Unpaid installments of open invoices of active clients without an open promise to pay, at a
    step today and not yet reminded at it: {invoice id: [(installment id, number, step)]}.  Three
    statements, bounded by the due dates that have a step today and their clients."""
    ranges = due_date_ranges(steps, today)
    if not ranges:
        return {}
    rows = db.session.execute(
        select(Installment.id, Installment.invoice_id, Installment.number, Installment.due_date, Invoice.client_id)
        .join(Invoice, Invoice.id == Installment.invoice_id)
        .join(Client, Client.id == Invoice.client_id)
        .where(
            Installment.paid_amount < Installment.amount,
            or_(*(Installment.due_date.between(start, end) for start, end in ranges)),
            Invoice.issued_at.is_not(None),
            Invoice.voided_at.is_(None),
            Client.archived_at.is_(None),
        )
        .order_by(Installment.invoice_id, Installment.due_date, Installment.number)
    ).all()
    wanted = {}
    for row in rows:
        step = current_step(steps, row.due_date, today)
        if step is not None:
            wanted[row.id] = (row.invoice_id, row.number, step, row.client_id)
    if not wanted:
        return {}
    paused = promises.clients_with_open_promise({value[3] for value in wanted.values()}, today)
    if paused:
        wanted = {key: value for key, value in wanted.items() if value[3] not in paused}
        if not wanted:
            return {}
    done = set(
        db.session.execute(
            select(InstallmentReminder.installment_id, InstallmentReminder.step).where(
                InstallmentReminder.installment_id.in_(list(wanted))
            )
        ).all()
    )
    by_invoice: dict[int, list[tuple[int, int, Step]]] = defaultdict(list)
    for installment_id, (invoice_id, number, step, _client_id) in wanted.items():
        if (installment_id, step.key) not in done:
            by_invoice[invoice_id].append((installment_id, number, step))
    return by_invoice


def _claim(installment_id: int, invoice_id: int, step: Step, today: date, amount: Decimal) -> bool:
    """Write the reminder's unique row; False if another run wrote it first."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(InstallmentReminder)
        .values(
            installment_id=installment_id,
            invoice_id=invoice_id,
            step=step.key,
            sent_on=today,
            amount=amount,
            created_at=clock.utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["installment_id", "step"])
        .returning(InstallmentReminder.id)
    )
    return db.session.execute(statement).scalar() is not None


# The invoice locked with its client read in the same statement (only the invoice's row is locked).
_LOCK_INVOICE = (
    select(Invoice)
    .options(joinedload(Invoice.client, innerjoin=True))
    .where(Invoice.id == bindparam("invoice_id"))
    .with_for_update(of=Invoice)
    .execution_options(populate_existing=True)
)


def _remind_invoice(invoice_id: int, chosen: list[tuple[int, int, Step]], today: date, instructions) -> list[Reminder]:
    """Queue the invoice's reminder (one email for its installments at a step today), in the
    current transaction, with the invoice row locked.  Re-checks everything under the lock."""
    invoice = db.session.scalar(_LOCK_INVOICE, {"invoice_id": invoice_id})
    if invoice is None or invoice.is_draft or invoice.is_void:
        return []
    client = invoice.client
    if client.archived_at is not None or promises.open_promise(client.id, today) is not None:
        return []
    states = [
        rules.InstallmentState(number=i.number, due_date=i.due_date, amount=i.amount, paid=i.paid_amount)
        for i in invoice.installments
    ]
    left = rules.uncovered(states, invoice.held_amount)
    by_id = {i.id: i for i in invoice.installments}
    due: list[DueInstallment] = []
    for installment_id, _number, step in chosen:
        installment = by_id.get(installment_id)
        if installment is None or left.get(installment.number, Decimal("0.00")) <= 0:
            continue  # re-planned away, paid, or covered by money awaiting confirmation
        step_day = installment.due_date + timedelta(days=step.offset)
        if step.courtesy and (client.courtesy_reminders_off or invoice.issue_date >= step_day):
            continue
        if not _claim(installment.id, invoice.id, step, today, left[installment.number]):
            continue  # another run got there first
        days = abs((installment.due_date - today).days)
        due.append(DueInstallment(installment, step, left[installment.number], days))
    if not due:
        return []
    notices.installment_reminder(invoice, client, due, owed_on(invoice, today), today, instructions)
    return [
        Reminder(invoice.id, invoice.invoice_no or "", client.email, d.installment.number, d.step.key, d.uncovered)
        for d in due
    ]


def run_reminders(today: date | None = None, dry_run: bool = False) -> list[Reminder]:
    """Queue every reminder due on ``today`` (the business's date), each invoice in its own
    transaction; a dry run rolls each back and returns what would have been queued.  Idempotent:
    a second run on the same day queues nothing."""
    today = today or clock.today()
    steps = reminder_schedule().steps()
    if not steps:
        return []
    session = db.session()
    if session.in_transaction():
        session.commit()
    queued: list[Reminder] = []
    instructions = notices.how_to_pay_for_run()
    for invoice_id, chosen in sorted(_candidates(steps, today).items()):
        try:
            with write_transaction():
                reminders = _remind_invoice(invoice_id, chosen, today, instructions)
                if dry_run:
                    queued.extend(reminders)
                    raise _DryRun
        except _DryRun:
            continue
        queued.extend(reminders)
    return queued
