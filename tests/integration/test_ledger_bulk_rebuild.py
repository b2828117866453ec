"""The bulk rebuild (ais.billing.rebuild) writes exactly the ledger that posting the history event by
event through the service layer's posting functions writes: the same entries, numbers, dates,
memos, reversals, lines in the same order, running balances and journal counters."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from backoffice_support import ACTOR, DAY, TODAY, fresh, make_client, make_invoice, pay, report
from sqlalchemy import func, select

from ais import clock
from ais.accounting.commands import rebuild_ledger
from ais.billing import credits, late_fees, ledger, rules, services
from ais.billing.checks import find_problems
from ais.database import write_transaction
from ais.extensions import db
from ais.models import (
    AccountBalance,
    AccountDayBalance,
    ClientAccount,
    ClientDayBalance,
    Invoice,
    JournalCounter,
    JournalEntry,
    JournalLine,
    LateFee,
    Overpayment,
    Setting,
)

D = Decimal
QUIET = {"echo": lambda *a, **k: None, "progress": False}


def _at(day) -> datetime:
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)


def _mixed_history() -> None:
    """Sales of every VAT treatment, payments by several methods (one reported then confirmed,
    one voided), credit notes (one beyond the unpaid balance), late fees charged, one waived, an
    invoice voided with its credit note and late fee, a customer credit applied (once voided) and
    the rest refunded by hand, an overpayment flagged and refunded."""
    policy = late_fees.LateFeePolicy(True, rules.PERCENT, D("3.75"), 0, since=TODAY - 400 * DAY)
    db.session.add(Setting(key=late_fees.SETTING_KEY, value=policy.to_text()))
    db.session.commit()
    ann = make_client("Ann Cruz", email="ann@example.com")
    ben = make_client("Ben Reyes", email="ben@example.com")
    first = make_invoice(ann, "1120.00", issued=TODAY - 60 * DAY, count=3, due=TODAY - 50 * DAY)
    second = make_invoice(ann, "2240.00", issued=TODAY - 20 * DAY)
    third = make_invoice(ben, "560.00", issued=TODAY - 45 * DAY, due=TODAY - 40 * DAY)
    fourth = make_invoice(ben, "3360.00", issued=TODAY - 35 * DAY, due=TODAY - 25 * DAY, count=2)
    pay(first, "400.00", method="Bank transfer", on=TODAY - 40 * DAY)
    bounced = pay(first, "100.00", method="Check", on=TODAY - 30 * DAY)
    services.void_payment(ACTOR, bounced, "Bounced")
    services.confirm_payment(ACTOR, report(second, "1000.00", method="GCash"))
    services.credit_invoice(ACTOR, second, D("224.00"), "Returned")
    services.credit_invoice(ACTOR, third, D("56.00"), "Damaged")
    pay(fourth, "500.00", method="Maya", on=TODAY - 5 * DAY)
    clock.set_clock(lambda: _at(TODAY + 5 * DAY))  # the late fees run on a later day
    late_fees.charge_late_fees()
    fees = list(db.session.scalars(select(LateFee.id).order_by(LateFee.id)))
    assert len(fees) >= 2
    late_fees.waive_late_fee(ACTOR, fees[0], "Goodwill")
    services.void_invoice(ACTOR, third, "Duplicate")
    pay(second, "1016.00", method="Card")
    services.credit_invoice(ACTOR, second, D("100.00"), "Goodwill")  # a customer credit
    credit = fresh().scalar(
        select(Overpayment.id).where(Overpayment.provider == "credit_note", Overpayment.client_id == ann)
    )
    applied = credits.apply_credit(ACTOR, credit, first, D("40.00"))
    services.void_payment(ACTOR, applied, "Applied to the wrong invoice")  # the credit is owed again
    credits.apply_credit(ACTOR, credit, first, D("30.00"))
    credits.refund_credit(ACTOR, credit, "Paid back the rest", method="GCash")
    with write_transaction():
        flagged = Overpayment(
            invoice_id=fourth,
            client_id=ben,
            amount=D("75.00"),
            currency="PHP",
            provider="stripe",
            provider_reference="pi_overpaid",
            reason="could not be applied",
            created_at=_at(TODAY + 5 * DAY),
        )
        db.session.add(flagged)
        db.session.flush()
        ledger.overpayment_flagged(flagged, "Card", clock.today())
    clock.set_clock(lambda: _at(TODAY + 7 * DAY))
    with write_transaction():
        flagged = db.session.get_one(Overpayment, flagged.id)
        flagged.resolved_at = clock.utcnow()
        flagged.resolution = f"{ledger.REFUNDED_PREFIX}Stripe re_1"
        ledger.overpayment_refunded(flagged, clock.today())
    assert fresh().scalar(select(func.count()).where(Invoice.voided_at.is_not(None))) == 1


def _snapshot() -> dict:
    """The ledger, with entries named by journal and number (ids depend on what was erased)."""
    session = fresh()
    names = {entry_id: (journal, number) for entry_id, journal, number in session.execute(
        select(JournalEntry.id, JournalEntry.journal, JournalEntry.number))}  # fmt: skip
    lines: dict[int, list] = {}
    for entry_id, account_id, debit, credit, client_id in session.execute(
        select(JournalLine.entry_id, JournalLine.account_id, JournalLine.debit, JournalLine.credit,
               JournalLine.client_id).order_by(JournalLine.id)
    ):  # fmt: skip
        lines.setdefault(entry_id, []).append((account_id, D(debit), D(credit), client_id))
    entries = [
        (
            journal,
            number,
            day,
            memo,
            source_type,
            source_id,
            names.get(reverses_id),
            corrects_period,
            lines[entry_id],
        )
        for entry_id, journal, number, day, memo, source_type, source_id, reverses_id, corrects_period in (
            session.execute(
                select(
                    JournalEntry.id,
                    JournalEntry.journal,
                    JournalEntry.number,
                    JournalEntry.date,
                    JournalEntry.memo,
                    JournalEntry.source_type,
                    JournalEntry.source_id,
                    JournalEntry.reverses_id,
                    JournalEntry.corrects_period,
                ).order_by(JournalEntry.id)
            )
        )
    ]
    order = [tuple(name) for name in session.execute(
        select(JournalEntry.journal, JournalEntry.number).order_by(JournalEntry.id))]  # fmt: skip
    balances = sorted(
        (account_id, month, D(debit), D(credit))
        for account_id, month, debit, credit in session.execute(
            select(AccountBalance.account_id, AccountBalance.month, AccountBalance.debit, AccountBalance.credit)
        )
    )
    days = sorted(
        (account_id, day, D(debit), D(credit))
        for account_id, day, debit, credit in session.execute(
            select(
                AccountDayBalance.account_id, AccountDayBalance.day, AccountDayBalance.debit, AccountDayBalance.credit
            )
        )
    )
    client_days = sorted(
        (account_id, client_id, day, D(debit), D(credit))
        for account_id, client_id, day, debit, credit in session.execute(
            select(
                ClientDayBalance.account_id,
                ClientDayBalance.client_id,
                ClientDayBalance.day,
                ClientDayBalance.debit,
                ClientDayBalance.credit,
            )
        )
    )
    client_accounts = sorted(
        tuple(row) for row in session.execute(select(ClientAccount.account_id, ClientAccount.client_id))
    )
    assert days and client_days and client_accounts
    assert client_accounts == sorted({(account_id, client_id) for account_id, client_id, *_ in client_days})
    counters = dict(session.execute(select(JournalCounter.journal, JournalCounter.last_number)).all())
    return {
        "entries": entries,
        "order": order,
        "balances": balances,
        "days": days,
        "client_days": client_days,
        "client_accounts": client_accounts,
        "counters": counters,
    }


def _rebuild_event_by_event() -> None:
    """The ledger of the history posted one event at a time through ledger.post_event (the service
    layer's posting functions and the ORM), as `ledger rebuild` did before the bulk writer."""
    with write_transaction():
        ledger.erase()
        db.session.info[ledger.PERIODS_OPEN_FROM] = None
        try:
            for event in ledger.history():
                ledger.post_event(event)
        finally:
            db.session.info.pop(ledger.PERIODS_OPEN_FROM, None)


@pytest.fixture
def history(books):
    _mixed_history()
    assert find_problems() == []


def test_the_bulk_rebuild_writes_the_ledger_posting_event_by_event_writes(history):
    _rebuild_event_by_event()
    event_by_event = _snapshot()
    assert len(event_by_event["entries"]) > 15
    assert any(entry[6] is not None for entry in event_by_event["entries"])  # reversals
    assert rebuild_ledger(force=True, **QUIET) == 0
    bulk = _snapshot()
    assert bulk == event_by_event
    assert find_problems() == []


def test_the_bulk_rebuild_keeps_the_balances_the_service_layer_posted(history):
    posted = _snapshot()
    assert rebuild_ledger(force=True, **QUIET) == 0
    rebuilt = _snapshot()

    # The service layer numbered entries in the order things happened, the rebuild in date order:
    # the same entries (by source, date and lines) and the same running balances.
    def key(entry):
        return (entry[2], entry[4], entry[5], entry[6] is not None, entry[8])

    assert sorted(map(key, rebuilt["entries"])) == sorted(map(key, posted["entries"]))
    assert rebuilt["balances"] == posted["balances"]
    assert rebuilt["days"] == posted["days"] and rebuilt["client_days"] == posted["client_days"]
    assert rebuilt["client_accounts"] == posted["client_accounts"]
    assert rebuilt["counters"] == posted["counters"]


def test_the_bulk_rebuild_is_idempotent_and_refuses_a_ledger_with_entries(history):
    assert rebuild_ledger(force=True, **QUIET) == 0
    once = _snapshot()
    out = []
    assert rebuild_ledger(echo=lambda *a, **k: out.append(a), progress=False) == 1
    assert "--force" in out[0][0]
    assert _snapshot() == once
    assert rebuild_ledger(force=True, **QUIET) == 0
    assert _snapshot() == once
    # New entries after a rebuild are numbered on from the counters, with fresh ids.
    client_id = fresh().scalar(select(Invoice.client_id).limit(1))
    make_invoice(client_id, "560.00", issued=TODAY)
    assert find_problems() == []


def test_the_bulk_rebuild_posts_into_the_open_period_as_the_service_layer_does(history):
    from ais.billing import rebuild

    events = ledger.history()
    open_from = TODAY - 10 * DAY
    with write_transaction():
        ledger.erase()
        db.session.info[ledger.PERIODS_OPEN_FROM] = open_from
        try:
            for event in events:
                ledger.post_event(event)
        finally:
            db.session.info.pop(ledger.PERIODS_OPEN_FROM, None)
    event_by_event = _snapshot()
    with write_transaction():
        ledger.erase()
        rebuild.post_history(events, open_from=open_from)
    assert _snapshot() == event_by_event
    assert any(entry[7] is not None for entry in event_by_event["entries"])  # corrections


def test_check_finds_a_running_balance_per_day_that_disagrees_with_the_lines(history):
    from sqlalchemy import delete, insert, update

    day, client_id = fresh().execute(select(ClientDayBalance.day, ClientDayBalance.client_id).limit(1)).one()
    db.session.execute(update(AccountDayBalance).values(debit=AccountDayBalance.debit + D("1.00")))
    db.session.execute(
        delete(ClientDayBalance).where(ClientDayBalance.client_id == client_id, ClientDayBalance.day == day)
    )
    db.session.execute(
        insert(ClientDayBalance).values(
            account_id=1, client_id=client_id, day=TODAY + 300 * DAY, debit=D("0.00"), credit=D("0.00")
        )
    )
    db.session.commit()
    problems = find_problems()
    assert any("the running balance of the day says debits" in problem for problem in problems)
    assert any("the running balance of the day says nothing" in problem for problem in problems)
    assert any("for a day without lines" in problem for problem in problems)
    assert rebuild_ledger(force=True, **QUIET) == 0
    assert find_problems() == []


def test_check_finds_a_client_missing_from_or_extra_among_an_account_s_clients(history):
    from sqlalchemy import delete, insert

    from ais.models import Account, Client

    session = fresh()
    sales = session.scalar(select(Account.id).where(Account.role == "sales"))
    ann = session.scalar(select(Client.id).where(Client.name == "Ann Cruz"))
    ben = session.scalar(select(Client.id).where(Client.name == "Ben Reyes"))
    receivable = session.scalar(select(Account.id).where(Account.role == "receivable"))
    db.session.execute(
        delete(ClientAccount).where(ClientAccount.account_id == receivable, ClientAccount.client_id == ben)
    )
    db.session.execute(insert(ClientAccount).values(account_id=sales, client_id=ann))
    db.session.commit()
    problems = find_problems()
    assert [problem for problem in problems if "client_accounts" in problem] == [
        f"Account 1100 Accounts receivable, client {ben}: running balances per day, but the client is not among "
        "the account's clients (client_accounts); the receivables sub-ledger leaves them out.",
        f"Account 4000 Sales, client {ann}: among the account's clients (client_accounts), but with no running "
        "balance per day.",
    ]
    # The rebuild writes the table afresh from the running balances it writes.
    assert rebuild_ledger(force=True, **QUIET) == 0
    assert find_problems() == []
