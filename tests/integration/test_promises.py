"""Promises to pay (ais.billing.promises): noted by the owner on a client, shown on the client's
page and the aging report, pausing the client's reminders while open, and kept or broken from the
client's payments, on the day they are read (a controlled clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from portal_support import ACTOR, DAY, OWNER, make_client, make_invoice, make_user, pay, report, sign_in
from sqlalchemy import func, select

from ais import clock
from ais.billing import promises, reminders, services
from ais.billing.checks import find_problems
from ais.billing.promises import BROKEN, CANCELLED, KEPT, OPEN, PromiseRefused
from ais.billing.reminders import run_reminders
from ais.billing.services import InvalidInput, NotFound
from ais.extensions import db
from ais.models import AuditEntry, Installment, InstallmentReminder, PaymentPromise

START = date(2026, 3, 1)
D = Decimal


def at_day(day: date) -> None:
    """The clock at 9:00 in Manila on ``day``."""
    moment = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
    clock.set_clock(lambda: moment)


@pytest.fixture
def ctx(app, freeze_today):
    freeze_today(START)
    app.config["AIS_BASE_URL"] = "https://ais.example.com"
    with app.app_context():
        yield
        db.session.rollback()
        assert find_problems() == []


@pytest.fixture
def owner(app, actions, ctx):
    make_user(*OWNER)
    sign_in(actions, OWNER)
    return actions


def fresh():
    db.session.rollback()
    return db.session


def promise_rows() -> int:
    return fresh().scalar(select(func.count()).select_from(PaymentPromise))


def audit_actions(client_id: int) -> list[str]:
    return list(
        fresh().scalars(
            select(AuditEntry.action)
            .where(AuditEntry.client_id == client_id, AuditEntry.action.like("client.promise%"))
            .order_by(AuditEntry.id)
        )
    )


def state_of(promise_id: int, client_id: int, day: date) -> promises.Promise:
    fresh()
    (found,) = [p for p in promises.client_promises(client_id, day) if p.id == promise_id]
    return found


def reminded(invoice_id: int) -> list[tuple[str, date]]:
    return sorted(
        (step, sent_on)
        for step, sent_on in fresh().execute(
            select(InstallmentReminder.step, InstallmentReminder.sent_on)
            .join(Installment, Installment.id == InstallmentReminder.installment_id)
            .where(InstallmentReminder.invoice_id == invoice_id)
        )
    )


# --- Reminders pause while a promise is open ------------------------------------------------------


def test_reminders_pause_while_a_promise_is_open_and_resume_after_it_lapses(ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    ben = make_client("Ben Santos", "ben@example.com")
    # Due 6 Mar: before:3 on 3 Mar, due 6 Mar, overdue:1 7 Mar, :7 13 Mar, :14 20 Mar, :30 5 Apr.
    invoice = make_invoice(ann, "900.00", issued=START - 10 * DAY, due=START + 5 * DAY)
    other = make_invoice(ben, "900.00", issued=START - 10 * DAY, due=START + 5 * DAY)
    promise_id = None
    for offset in range(45):
        today = START + offset * DAY
        at_day(today)
        if today == date(2026, 3, 8):
            # Ann promises 400.00 by 25 Mar: no reminder for her from now to then.
            promise_id = promises.record_promise(ACTOR, ann, "400.00", date(2026, 3, 25), "Phoned: salary on the 25th")
        if today == date(2026, 3, 9):
            # A dry run in the pause lists nothing for Ann either.
            assert [r.invoice_id for r in run_reminders(dry_run=True)] == []
        run_reminders()
    assert reminded(invoice) == [
        ("before:3", date(2026, 3, 3)),
        ("due", date(2026, 3, 6)),
        ("overdue:1", date(2026, 3, 7)),
        # overdue:7 (13 Mar) and overdue:14 (20 Mar) fell in the promise: never sent
        ("overdue:30", date(2026, 4, 5)),
    ]
    # Ben, who promised nothing, got every step.
    assert [step for step, _ in reminded(other)] == sorted(
        ["before:3", "due", "overdue:1", "overdue:7", "overdue:14", "overdue:30"]
    )
    assert state_of(promise_id, ann, date(2026, 3, 25)).state == OPEN
    assert state_of(promise_id, ann, date(2026, 3, 26)).state == BROKEN


def test_a_kept_promise_lets_the_next_step_go_before_its_date(ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "900.00", issued=START - 40 * DAY, due=START - 30 * DAY)
    at_day(START)
    promises.record_promise(ACTOR, ann, "300.00", START + 20 * DAY)
    assert promises.open_promise(ann, START) is not None
    assert run_reminders() == []  # the invoice is at overdue:30 today, paused
    pay(invoice, "300.00", on=START)  # kept on the day it was made; 600.00 is still overdue
    assert promises.open_promise(ann, START) is None
    assert {r.step for r in run_reminders()} == {"overdue:30"}


# --- Kept and broken, from the payments -----------------------------------------------------------


def test_kept_once_payments_dated_from_its_recording_reach_its_amount_by_its_date(ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    first = make_invoice(ann, "1000.00", issued=START - 30 * DAY, due=START - 20 * DAY)
    second = make_invoice(ann, "1000.00", issued=START - 30 * DAY, due=START - 10 * DAY)
    at_day(START)
    pay(first, "100.00", on=START - DAY)  # before the promise: does not count
    promise_id = promises.record_promise(ACTOR, ann, "500.00", START + 7 * DAY)
    found = state_of(promise_id, ann, START)
    assert (found.state, found.paid_toward, found.left) == (OPEN, D("0.00"), D("500.00"))

    at_day(START + 2 * DAY)
    pay(first, "200.00", on=START + 2 * DAY)
    found = state_of(promise_id, ann, START + 2 * DAY)
    assert (found.state, found.paid_toward, found.left) == (OPEN, D("200.00"), D("300.00"))

    at_day(START + 5 * DAY)
    pay(second, "300.00", on=START + 5 * DAY)  # another invoice of the same client counts too
    assert state_of(promise_id, ann, START + 5 * DAY).state == KEPT
    # Read long after its date, it stays kept; read as of before the second payment, it was open.
    assert state_of(promise_id, ann, START + 60 * DAY).state == KEPT
    assert state_of(promise_id, ann, START + 4 * DAY).state == OPEN


def test_broken_when_its_date_passes_and_a_late_payment_does_not_mend_it(ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "1000.00", issued=START - 30 * DAY, due=START - 20 * DAY)
    at_day(START)
    promise_id = promises.record_promise(ACTOR, ann, "500.00", START + 3 * DAY)
    at_day(START + DAY)
    pay(invoice, "499.99", on=START + DAY)
    assert state_of(promise_id, ann, START + 3 * DAY).state == OPEN  # the promised day itself
    assert state_of(promise_id, ann, START + 4 * DAY).state == BROKEN
    at_day(START + 4 * DAY)
    pay(invoice, "100.00", on=START + 4 * DAY)  # a day late
    assert state_of(promise_id, ann, START + 4 * DAY).state == BROKEN
    # Broken: Ann can be asked for a new promise.
    assert promises.record_promise(ACTOR, ann, "100.00", START + 10 * DAY)


def test_a_reported_payment_counts_once_confirmed_and_a_voided_one_stops_counting(ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "1000.00", issued=START - 30 * DAY, due=START - 20 * DAY)
    at_day(START)
    promise_id = promises.record_promise(ACTOR, ann, "400.00", START + 3 * DAY)
    at_day(START + DAY)
    reported = report(ann, invoice, "400.00", on=START + DAY)
    at_day(START + 5 * DAY)
    assert state_of(promise_id, ann, START + 5 * DAY).state == BROKEN  # not confirmed yet
    services.confirm_payment(ACTOR, reported)  # confirmed late, but paid (dated) in time
    assert state_of(promise_id, ann, START + 5 * DAY).state == KEPT
    services.void_payment(ACTOR, reported, "Bounced")
    assert state_of(promise_id, ann, START + 5 * DAY).state == BROKEN


# --- Refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "promised_by", "note", "field"),
    [
        ("0", START + DAY, "", "amount"),
        ("-5.00", START + DAY, "", "amount"),
        ("1.234", START + DAY, "", "amount"),  # never rounded
        ("abc", START + DAY, "", "amount"),
        ("", START + DAY, "", "amount"),
        ("1000000000.00", START + DAY, "", "amount"),
        ("100.00", START - DAY, "", "promised_by"),  # in the past
        ("100.00", START + 91 * DAY, "", "promised_by"),  # too far ahead
        ("100.00", None, "", "promised_by"),
        ("100.00", START + DAY, "x" * 501, "note"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_written(ctx, amount, promised_by, note, field):
    ann = make_client("Ann Cruz", "ann@example.com")
    with pytest.raises(InvalidInput) as refused:
        promises.record_promise(ACTOR, ann, amount, promised_by, note)
    assert refused.value.field == field and refused.value.message
    assert promise_rows() == 0 and audit_actions(ann) == []


def test_the_bounds_themselves_are_accepted(ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    bea = make_client("Bea Lim", "bea@example.com")
    assert promises.record_promise(ACTOR, ann, "0.01", START)  # today
    assert promises.record_promise(ACTOR, bea, "999,999,999.99", START + 90 * DAY)


def test_one_open_promise_per_client_and_none_for_an_archived_or_unknown_client(ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    gil = make_client("Gil Lopez", "gil@example.com")
    promises.record_promise(ACTOR, ann, "100.00", START + 5 * DAY)
    with pytest.raises(PromiseRefused, match="cancel that promise first"):
        promises.record_promise(ACTOR, ann, "200.00", START + 6 * DAY)
    services.archive_client(ACTOR, gil)
    with pytest.raises(PromiseRefused, match="archived"):
        promises.record_promise(ACTOR, gil, "200.00", START + 6 * DAY)
    with pytest.raises(NotFound):
        promises.record_promise(ACTOR, 999_999, "200.00", START + 6 * DAY)
    assert promise_rows() == 1 and audit_actions(ann) == ["client.promise_recorded"]


def test_cancelling_is_audited_reminders_resume_and_only_an_open_promise_can_be_cancelled(ctx):
    ann = make_client("Ann Cruz", "ann@example.com")
    ben = make_client("Ben Santos", "ben@example.com")
    make_invoice(ann, "900.00", issued=START - 40 * DAY, due=START - 30 * DAY)
    at_day(START)
    promise_id = promises.record_promise(ACTOR, ann, "300.00", START + 20 * DAY)
    assert run_reminders() == []
    with pytest.raises(NotFound):
        promises.cancel_promise(ACTOR, ben, promise_id)  # not Ben's
    promises.cancel_promise(ACTOR, ann, promise_id)
    assert state_of(promise_id, ann, START).state == CANCELLED
    assert {r.step for r in run_reminders()} == {"overdue:30"}
    with pytest.raises(PromiseRefused):
        promises.cancel_promise(ACTOR, ann, promise_id)
    assert audit_actions(ann) == ["client.promise_recorded", "client.promise_cancelled"]


# --- The pages --------------------------------------------------------------------------------------


def test_the_owner_notes_a_promise_on_the_client_page_and_sees_it_there_and_on_the_aging_report(owner):
    ann = make_client("Ann Cruz", "ann@example.com")
    make_invoice(ann, "900.00", issued=START - 60 * DAY, due=START - 30 * DAY)
    form = owner.client.get(f"/clients/{ann}").get_data(as_text=True)
    assert 'id="promises"' in form and "Note the promise" in form
    response = owner.post(
        f"/clients/{ann}/promises", {"amount": "450.00", "promised_by": "2026-03-20", "note": "Said on the phone"}
    )
    assert response.status_code == 302
    page = owner.client.get(f"/clients/{ann}").get_data(as_text=True)
    assert "Reminders to this client pause until Mar 20, 2026" in page
    assert 'data-promise="open"' in page and "₱450.00</span> by Mar 20, 2026" in page
    assert "Said on the phone" in page and "Cancel the promise" in page
    report_page = owner.client.get("/aging").get_data(as_text=True)
    assert "Promise to pay" in report_page and 'data-promise="open"' in report_page
    assert "₱450.00</span> by Mar 20, 2026" in report_page
    # As of a day before it was noted, the report shows no promise.
    assert 'data-promise="' not in owner.client.get("/aging?as_of=2026-02-27").get_data(as_text=True)
    # Broken once its date passes (the report as of a later day).
    later = owner.client.get("/aging?as_of=2026-03-21").get_data(as_text=True)
    assert 'data-promise="broken"' in later and "Promise broken" in later

    (promise_id,) = fresh().scalars(select(PaymentPromise.id))
    response = owner.post(f"/clients/{ann}/promises/{promise_id}/cancel", {})
    assert response.status_code == 302
    page = owner.client.get(f"/clients/{ann}").get_data(as_text=True)
    assert "Reminders resume at their next step" in page and 'data-promise="cancelled"' in page
    assert 'data-promise="' not in owner.client.get("/aging").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "0", "promised_by": "2026-03-20"}, "greater than zero"),
        ({"amount": "12.345", "promised_by": "2026-03-20"}, "decimal"),
        ({"amount": "100", "promised_by": "2026-02-01"}, "cannot be in the past"),
        ({"amount": "100", "promised_by": "2026-09-01"}, "at most 90 days ahead"),
        ({"amount": "100", "promised_by": "2026-02-30"}, "not a valid date"),
        ({"amount": "100", "promised_by": ""}, "Enter a date"),
        ({"amount": "", "promised_by": "2026-03-20"}, "Enter the amount"),
        ({"amount": "100", "promised_by": "2026-03-20", "note": "x" * 501}, "500"),
    ],
)
def test_a_refused_promise_form_shows_the_error_and_writes_nothing(owner, data, message):
    ann = make_client("Ann Cruz", "ann@example.com")
    response = owner.post(f"/clients/{ann}/promises", data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message.lower() in html.lower(), html[html.find('id="promises"') :][:3000]
    assert promise_rows() == 0 and audit_actions(ann) == []


def test_an_unknown_client_or_promise_is_404(owner):
    ann = make_client("Ann Cruz", "ann@example.com")
    ben = make_client("Ben Santos", "ben@example.com")
    at_day(START)
    promise_id = promises.record_promise(ACTOR, ann, "100.00", START + DAY)
    assert owner.post("/clients/999999/promises", {"amount": "1", "promised_by": "2026-03-02"}).status_code == 404
    assert owner.post(f"/clients/{ben}/promises/{promise_id}/cancel", {}).status_code == 404
    assert owner.post(f"/clients/{ann}/promises/999999/cancel", {}).status_code == 404
    assert state_of(promise_id, ann, START).state == OPEN


def test_the_aging_report_reads_promises_in_one_statement_however_many_clients_promised(owner, count_queries):
    def statements() -> int:
        owner.client.get("/aging")  # warm up
        with count_queries() as counter:
            assert owner.client.get("/aging").status_code == 200
        return counter.count

    at_day(START)
    first = make_client("Client 00", "c00@example.com")
    make_invoice(first, "100.00", issued=START - 40 * DAY, due=START - 30 * DAY)
    promises.record_promise(ACTOR, first, "50.00", START + 5 * DAY)
    one = statements()
    for n in range(1, 12):
        client = make_client(f"Client {n:02d}", f"c{n:02d}@example.com")
        invoice = make_invoice(client, "100.00", issued=START - 40 * DAY, due=START - 30 * DAY)
        promises.record_promise(ACTOR, client, "50.00", START + 5 * DAY)
        pay(invoice, "50.00", on=START)  # kept
    html = owner.client.get("/aging").get_data(as_text=True)
    assert html.count('data-promise="kept"') == 11 and html.count('data-promise="open"') == 1
    assert statements() == one


def test_the_reminder_run_reads_promises_once_not_per_client(ctx, count_queries):
    at_day(START)
    for n in range(6):
        client = make_client(f"Client {n}", f"c{n}@example.com")
        make_invoice(client, "100.00", issued=START - 40 * DAY, due=START - 30 * DAY)
        if n % 2:
            promises.record_promise(ACTOR, client, "50.00", START + 5 * DAY)
    reminders.run_reminders(dry_run=True)
    with count_queries() as counter:
        sent = run_reminders(dry_run=True)
    assert len(sent) == 3
    promise_reads = [s for s in counter.statements if "payment_promises" in s]
    # One in the candidates' read, one under each reminded invoice's lock.
    assert len(promise_reads) == 1 + 3
