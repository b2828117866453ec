"""Accounting periods: the owner closes months in order; nothing posts into a closed month (an
event dated in one posts today and names the month it corrects); only the last closed month
reopens, with a reason; both are audited; the rebuild refuses while months are closed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from backoffice_support import ACTOR, TODAY, fresh, make_client, make_invoice, pay, sign_in_owner, text_of
from sqlalchemy import func, select

from ais.accounting.commands import rebuild_ledger
from ais.billing import ledger, periods, services
from ais.billing.checks import find_problems
from ais.extensions import db
from ais.models import AccountBalance, AuditEntry, ClosedPeriod, JournalEntry

D = Decimal
JANUARY, FEBRUARY, MARCH = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)  # TODAY is 2026-03-16


def closed_months() -> list[date]:
    return list(fresh().scalars(select(ClosedPeriod.month).order_by(ClosedPeriod.month)))


def month_totals() -> dict[date, Decimal]:
    return {
        month: D(debit)
        for month, debit in fresh().execute(
            select(AccountBalance.month, func.sum(AccountBalance.debit)).group_by(AccountBalance.month)
        )
    }


def entries_of(source_type: str, source_id: int) -> list[JournalEntry]:
    return list(
        fresh().scalars(
            select(JournalEntry)
            .where(JournalEntry.source_type == source_type, JournalEntry.source_id == source_id)
            .order_by(JournalEntry.id)
        )
    )


def audit_details(action: str) -> list[str]:
    return list(fresh().scalars(select(AuditEntry.detail).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.fixture
def ann(books):
    return make_client("Ann Cruz", email="ann@example.com")


def test_closing_a_month_closes_every_open_month_before_it_from_the_first_with_entries(ann):
    make_invoice(ann, "1120.00", issued=date(2026, 1, 10))
    assert periods.close_through(ACTOR, FEBRUARY, TODAY) == [JANUARY, FEBRUARY]
    assert closed_months() == [JANUARY, FEBRUARY]
    assert audit_details("ledger.period_closed") == ["2026-01 to 2026-02"]
    assert ledger.first_open_day() == MARCH


def test_a_payment_dated_in_a_closed_month_posts_today_and_names_the_month_it_corrects(ann):
    invoice_id = make_invoice(ann, "1120.00", issued=date(2026, 1, 10))
    periods.close_through(ACTOR, FEBRUARY, TODAY)
    before = month_totals()
    payment_id = pay(invoice_id, "300.00", on=date(2026, 2, 20))  # the event succeeds
    [entry] = entries_of(ledger.PAYMENT, payment_id)
    assert entry.date == TODAY and entry.corrects_period == FEBRUARY
    assert entry.memo.endswith("(corrects 2026-02)")
    after = month_totals()
    assert after[JANUARY] == before[JANUARY] and after.get(FEBRUARY) == before.get(FEBRUARY)
    assert after[MARCH] == D("300.00")
    assert find_problems() == []


def test_an_invoice_issued_with_a_date_in_a_closed_month_posts_today(ann):
    make_invoice(ann, "560.00", issued=date(2026, 1, 5))
    periods.close_through(ACTOR, JANUARY, TODAY)
    invoice_id = make_invoice(ann, "1120.00", issued=date(2026, 1, 20))
    [entry] = entries_of(ledger.INVOICE, invoice_id)
    assert (entry.date, entry.corrects_period) == (TODAY, JANUARY)
    # a reversal dated today is in the open period: it corrects nothing
    services.void_invoice(ACTOR, invoice_id, "Raised twice")
    _, reversal = entries_of(ledger.INVOICE, invoice_id)
    assert (reversal.date, reversal.corrects_period) == (TODAY, None)


def test_an_entry_dated_in_an_open_month_is_posted_on_its_date(ann):
    invoice_id = make_invoice(ann, "1120.00", issued=date(2026, 1, 10))
    periods.close_through(ACTOR, JANUARY, TODAY)
    payment_id = pay(invoice_id, "100.00", on=date(2026, 2, 3))
    [entry] = entries_of(ledger.PAYMENT, payment_id)
    assert (entry.date, entry.corrects_period) == (date(2026, 2, 3), None)


def test_a_month_that_has_not_ended_or_is_already_closed_cannot_be_closed(ann):
    make_invoice(ann, "1120.00", issued=date(2026, 1, 10))
    with pytest.raises(periods.PeriodRefused, match="has not ended"):
        periods.close_through(ACTOR, MARCH, TODAY)
    with pytest.raises(periods.PeriodRefused, match="has not ended"):
        periods.close_through(ACTOR, date(2026, 4, 1), TODAY)
    periods.close_through(ACTOR, FEBRUARY, TODAY)
    with pytest.raises(periods.PeriodRefused, match="already closed"):
        periods.close_through(ACTOR, JANUARY, TODAY)
    assert closed_months() == [JANUARY, FEBRUARY]
    assert len(audit_details("ledger.period_closed")) == 1


def test_only_the_last_closed_month_reopens_with_a_reason_and_then_takes_entries_again(ann):
    invoice_id = make_invoice(ann, "1120.00", issued=date(2026, 1, 10))
    periods.close_through(ACTOR, FEBRUARY, TODAY)
    with pytest.raises(periods.PeriodRefused, match="Only the last closed month"):
        periods.reopen(ACTOR, JANUARY, "Missed a receipt")
    with pytest.raises(periods.PeriodRefused, match="why"):
        periods.reopen(ACTOR, FEBRUARY, "  ")
    assert closed_months() == [JANUARY, FEBRUARY]
    periods.reopen(ACTOR, FEBRUARY, "Missed a receipt")
    assert closed_months() == [JANUARY]
    assert audit_details("ledger.period_reopened") == ["2026-02: Missed a receipt"]
    payment_id = pay(invoice_id, "100.00", on=date(2026, 2, 27))
    [entry] = entries_of(ledger.PAYMENT, payment_id)
    assert (entry.date, entry.corrects_period) == (date(2026, 2, 27), None)


def test_the_rebuild_refuses_while_months_are_closed(ann):
    invoice_id = make_invoice(ann, "1120.00", issued=date(2026, 1, 10))
    pay(invoice_id, "100.00", on=date(2026, 2, 3))
    periods.close_through(ACTOR, JANUARY, TODAY)
    out = []
    assert rebuild_ledger(force=True, echo=lambda line, **k: out.append(line), progress=False) == 1
    assert "closed through January 2026" in out[0]
    assert len(fresh().scalars(select(JournalEntry)).all()) == 2
    periods.reopen(ACTOR, JANUARY, "Rebuilding the ledger")
    assert rebuild_ledger(force=True, echo=lambda line, **k: None, progress=False) == 0
    assert ledger.PERIODS_OPEN_FROM not in fresh().info


# --- The page -------------------------------------------------------------------------------------


def test_the_periods_page_lists_the_months_with_their_state_and_totals(actions, ann):
    make_invoice(ann, "1120.00", issued=date(2026, 1, 10))
    sign_in_owner(actions)
    page = text_of(actions.client.get("/ledger/periods"))
    assert "No month is closed yet." in page
    for month in ("March 2026", "February 2026", "January 2026"):
        assert month in page
    assert "Close February 2026" in page and "Close March 2026" not in page  # the current month stays open
    assert "₱1,120.00" in page or "1,120.00" in page


def test_closing_and_reopening_from_the_page(actions, ann):
    make_invoice(ann, "1120.00", issued=date(2026, 1, 10))
    sign_in_owner(actions)
    response = actions.post("/ledger/periods/close", {"month": "2026-01"})
    assert response.status_code == 302
    assert closed_months() == [JANUARY]
    page = text_of(actions.client.get("/ledger/periods"))
    assert "Closed January 2026" in page and "closed through January 2026" in page
    refused = actions.post("/ledger/periods/reopen", {"month": "2026-01", "reason": ""})
    assert refused.status_code == 400 and "Say why the month is reopened." in text_of(refused)
    assert closed_months() == [JANUARY]
    assert actions.post("/ledger/periods/reopen", {"month": "2026-01", "reason": "Late receipt"}).status_code == 302
    assert closed_months() == []


@pytest.mark.parametrize(
    "month,message",
    [
        ("2026-03", "has not ended"),
        ("2026-13", "is not a month"),
        ("March", "is not a month"),
        ("", "Choose the month to close."),
        ("2026-03-01", "is not a month"),
        ("0000-01", "is not a month"),
    ],
)
def test_a_month_the_page_cannot_close_is_a_400_that_changes_nothing(actions, ann, month, message):
    sign_in_owner(actions)
    response = actions.post("/ledger/periods/close", {"month": month})
    assert response.status_code == 400 and message in text_of(response)
    assert closed_months() == []
    assert audit_details("ledger.period_closed") == []


def test_check_finds_an_entry_posted_into_a_month_after_it_was_closed(ann):
    from datetime import timedelta

    make_invoice(ann, "1120.00", issued=date(2026, 1, 10))
    periods.close_through(ACTOR, JANUARY, TODAY)
    assert find_problems() == []
    period = fresh().get(ClosedPeriod, JANUARY)
    period.closed_at -= timedelta(hours=1)  # as if the invoice had been posted an hour after the closing
    db.session.commit()
    assert "1 entries were posted into 2026-01 after it was closed." in find_problems()
    period = fresh().get(ClosedPeriod, JANUARY)
    period.closed_at += timedelta(hours=1)
    db.session.commit()
