"""The aging report as of any date (ais.billing.aging): buckets by installment due date, per
client and in total, the drill-down, the CSV, and agreement with ``flask check``."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from portal_support import ACTOR, DAY, OWNER, TODAY, make_client, make_invoice, make_user, pay, report, sign_in
from sqlalchemy import delete, insert, select, update

from ais.billing import aging, promises, services
from ais.billing.checks import find_problems
from ais.extensions import db
from ais.models import Installment

D = Decimal


@pytest.fixture
def owner(app, actions, books):
    make_user(*OWNER)
    sign_in(actions, OWNER)
    return actions


def test_each_installment_is_aged_by_its_own_due_date(books):
    ann = make_client("Ann Cruz", "ann@example.com")
    # 4 monthly installments of 250.00 due TODAY-95, -64, -36, -5 (months are 31, 28... days apart).
    plan = make_invoice(ann, "1000.00", issued=TODAY - 100 * DAY, due=TODAY - 95 * DAY, count=4)
    make_invoice(ann, "100.00", issued=TODAY - 10 * DAY, due=TODAY)  # due today: current
    make_invoice(ann, "50.00", issued=TODAY - 10 * DAY, due=TODAY + 10 * DAY)  # not yet due
    void = make_invoice(ann, "999.00", issued=TODAY - 200 * DAY)
    services.void_invoice(ACTOR, void, "Raised twice")
    make_invoice(ann, "888.00", issue=False)  # a draft
    pay(plan, "100.00", on=TODAY - 2 * DAY)  # pays part of the oldest installment
    report(ann, plan, "200.00")  # awaiting confirmation: still open
    items = aging.client_open_items(ann, TODAY)
    assert [(i.invoice_id, i.installment_number, i.bucket, i.open_amount) for i in items] == [
        (plan, 1, "over-90", D("150.00")),
        (plan, 2, "61-90", D("250.00")),
        (plan, 3, "31-60", D("250.00")),
        (plan, 4, "1-30", D("250.00")),
        (plan + 1, 1, "current", D("100.00")),
        (plan + 2, 1, "current", D("50.00")),
    ]
    expected = aging.Aging(D("150.00"), D("250.00"), D("250.00"), D("250.00"), D("150.00"))
    assert aging.client_aging(ann, TODAY) == expected == aging.Aging.of(items)
    assert aging.aging_totals(TODAY) == expected
    assert expected.total == D("1050.00")


def test_as_of_a_past_date_later_payments_are_still_open_and_later_invoices_absent(books):
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "500.00", issued=TODAY - 60 * DAY, due=TODAY - 40 * DAY)
    pay(invoice, "200.00", on=TODAY - 30 * DAY)
    pay(invoice, "300.00", on=TODAY - 5 * DAY)
    make_invoice(ann, "70.00", issued=TODAY - 3 * DAY, due=TODAY)
    assert aging.client_aging(ann, TODAY) == aging.Aging(current=D("70.00"))
    assert aging.client_aging(ann, TODAY - 10 * DAY) == aging.Aging(days_1_30=D("300.00"))
    assert aging.client_aging(ann, TODAY - 35 * DAY) == aging.Aging(days_1_30=D("500.00"))
    assert aging.client_aging(ann, TODAY - 45 * DAY) == aging.Aging(current=D("500.00"))
    assert aging.client_aging(ann, TODAY - 61 * DAY) == aging.Aging()


def test_the_report_lists_clients_by_name_with_totals_for_all(owner, books):
    bea = make_client("bea Lim", "bea@example.com")
    ann = make_client("Ann Cruz", "ann@example.com")
    make_client("Cid Paid", "cid@example.com")
    make_invoice(bea, "300.00", issued=TODAY - 50 * DAY, due=TODAY - 45 * DAY)
    make_invoice(ann, "1234.56", issued=TODAY - 10 * DAY, due=TODAY - 2 * DAY)
    page = owner.client.get("/aging")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index("Ann Cruz") < html.index("bea Lim") and "Cid Paid" not in html
    assert "₱1,534.56" in html  # the total of all clients
    assert f"/aging/clients/{ann}" in html


def test_the_report_pages_through_many_clients(owner, books):
    for index in range(27):
        client_id = make_client(f"Client {index:02d}", f"c{index}@example.com")
        make_invoice(client_id, "10.00", issued=TODAY - 20 * DAY, due=TODAY - 10 * DAY)
    first = owner.client.get("/aging").get_data(as_text=True)
    assert "Showing 1–25 of 27" in first and "Client 24" in first and "Client 25" not in first
    second = owner.client.get("/aging?page=2").get_data(as_text=True)
    assert "Client 26" in second and "Client 00" not in second
    assert "₱270.00" in second  # the totals are every client's, on every page
    past_the_end = owner.client.get(f"/aging?as_of={TODAY.isoformat()}&page=9")  # counted on its own
    assert past_the_end.status_code == 302
    assert past_the_end.headers["Location"] == f"/aging?as_of={TODAY.isoformat()}&page=2"


def test_the_drill_down_shows_the_clients_open_installments(owner, books):
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "900.00", issued=TODAY - 100 * DAY, due=TODAY - 95 * DAY, count=3)
    html = owner.client.get(f"/aging/clients/{ann}?as_of={(TODAY - DAY).isoformat()}").get_data(as_text=True)
    assert "1 of 3" in html and "3 of 3" in html and "Over 90 days" in html
    assert f"/invoices/{invoice}" in html


@pytest.mark.parametrize(
    "url,status",
    [
        ("/aging?as_of=2026-02-30", 400),
        ("/aging?as_of=yesterday", 400),
        ("/aging?as_of=0001-01-01", 400),
        ("/aging.csv?as_of=%3D1", 400),
        ("/aging/clients/1?as_of=x", 400),
        ("/aging/clients/999", 404),
        ("/aging/clients/99999999999999", 404),
        ("/aging?page=-3", 200),
        ("/aging?page=x", 200),
    ],
)
def test_bad_input_is_a_clear_400_or_404(owner, books, url, status):
    make_client("Ann Cruz", "ann@example.com")
    response = owner.client.get(url)
    assert response.status_code == status
    if status == 400:
        assert "YYYY-MM-DD" in response.get_data(as_text=True)


def test_the_csv_has_every_client_and_the_totals_and_no_formulas(owner, books):
    evil = make_client('=HYPERLINK("http://evil.example","x")', "evil@example.com")
    plus = make_client("+63 Trading", "plus@example.com")
    make_invoice(evil, "100.00", issued=TODAY - 50 * DAY, due=TODAY - 40 * DAY)
    make_invoice(plus, "20.00", issued=TODAY - 5 * DAY, due=TODAY + 5 * DAY)
    promises.record_promise(ACTOR, evil, "60.00", TODAY + 4 * DAY)
    response = owner.client.get(f"/aging.csv?as_of={TODAY.isoformat()}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="aging-{TODAY.isoformat()}.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["As of", TODAY.isoformat()]
    assert rows[1][:3] == ["Client ID", "Client", "Current"]
    assert rows[1][-3:] == ["Promised amount", "Promised by", "Promise state"]
    assert rows[2] == [str(plus), "'+63 Trading", "20.00", "0.00", "0.00", "0.00", "0.00", "20.00", "", "", ""]
    assert rows[3] == [
        str(evil),
        "'" + '=HYPERLINK("http://evil.example","x")',
        "0.00",
        "0.00",
        "100.00",
        "0.00",
        "0.00",
        "100.00",
        "60.00",
        (TODAY + 4 * DAY).isoformat(),
        "Promised",
    ]
    assert rows[4] == ["", "Total", "20.00", "0.00", "100.00", "0.00", "0.00", "120.00", "", "", ""]
    # As of a day after its date, unpaid: the promise shows as broken.
    later = list(csv.reader(io.StringIO(owner.client.get(f"/aging.csv?as_of={(TODAY + 5 * DAY).isoformat()}").text)))
    assert later[3][-3:] == ["60.00", (TODAY + 4 * DAY).isoformat(), "Promise broken"]


def test_flask_check_proves_the_aging_equals_invoices_less_payments(books):
    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "300.00", issued=TODAY - 50 * DAY, due=TODAY - 45 * DAY)
    assert find_problems() == []
    db.session.execute(update(Installment).where(Installment.invoice_id == invoice).values(paid_amount=D("100.00")))
    db.session.commit()
    expected = f"Aging of client {ann} on {TODAY.isoformat()}: 200.00 (statement closing balance 300.00)."
    assert expected in find_problems()
    db.session.execute(update(Installment).where(Installment.invoice_id == invoice).values(paid_amount=D("0.00")))
    db.session.commit()


# --- The report's page from the running totals ----------------------------------------------------


def test_the_running_totals_give_the_exact_aging_on_every_day_around_later_events(books, freeze_today):
    """The report's totals come from the running open balances per due day (due_day_balances),
    which payments dated later, invoices issued later and late fees charged later change on their
    own days.  On each day from
    before the first invoice to after the last event they equal the installments' own aging, and
    a page of clients carries each client's exact buckets."""
    from datetime import UTC, datetime

    from ais import clock
    from ais.billing import late_fees

    ann = make_client("Ann Cruz", "ann@example.com")
    ben = make_client("Ben Santos", "ben@example.com")
    plan = make_invoice(ann, "900.00", issued=TODAY - 120 * DAY, due=TODAY - 100 * DAY, count=3)
    pay(plan, "250.00", on=TODAY - 90 * DAY)
    pay(plan, "400.00", on=TODAY - 20 * DAY)  # fills the rest of the first and part of the second
    late = make_invoice(ben, "75.00", issued=TODAY - 10 * DAY, due=TODAY - 5 * DAY)
    pay(late, "75.00", on=TODAY - DAY)  # paid in full since
    make_invoice(ben, "60.00", issued=TODAY - 3 * DAY, due=TODAY + 20 * DAY)
    void = make_invoice(ann, "999.00", issued=TODAY - 50 * DAY)
    services.void_invoice(ACTOR, void, "Raised twice")
    # A late fee charged 8 days ago on Ann's overdue second installment (its own installment).
    clock.set_clock(lambda: datetime(2026, 1, 1, 4, 0, tzinfo=UTC))
    late_fees.set_late_fee_policy(ACTOR, late_fees.LateFeePolicy(True, "flat", D("30.00"), 0))
    freeze_today(TODAY - 8 * DAY)
    assert late_fees.charge_late_fees()
    freeze_today(TODAY)
    for back in range(0, 130, 3):
        day = TODAY - back * DAY
        exact = aging.exact_aging_totals(day)
        assert aging.aging_totals(day) == exact, day
        pagination, rows = aging.aging_by_client(day, page=1, per_page=25)
        assert [(r.client_id, r.aging) for r in rows] == [
            (r.client_id, r.aging) for r in aging.all_client_agings(day)
        ], day
        assert pagination.total == len(rows) and not pagination.total_capped
        assert sum((r.aging.total for r in rows), D("0.00")) == exact.total, day


def test_a_month_is_split_where_a_buckets_limit_falls_after_its_first_day():
    """The report sums a due month's running balance under its first day unless a limit of the
    buckets (as of, and 30, 60, 90 days before) falls inside it, after its first day."""
    from datetime import date

    assert aging._split_months(date(2026, 3, 16)) == [
        date(2025, 12, 1),  # 90 days before: 2025-12-16
        date(2026, 1, 1),  # 60: 2026-01-15
        date(2026, 2, 1),  # 30: 2026-02-14
        date(2026, 3, 1),
    ]
    # 2026-03-31 less 30 days is 2026-03-01: every due day of March before the 31st is 1-30 days past due.
    assert aging._split_months(date(2026, 3, 31)) == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 3, 1)]
    # As of 2026-01-30 the 60 and 90 days before are first days (2025-12-01, 2025-11-01): November
    # falls whole in 61-90; December is split by the 30 days before (2025-12-31).
    assert aging._split_months(date(2026, 1, 30)) == [date(2025, 12, 1), date(2026, 1, 1)]


def test_the_totals_from_months_and_split_months_are_exact_on_every_day_for_a_year(books):
    """Installments due on many days of many months, paid in part, late, early and backdated: on
    every day for a year and a half the report's totals (whole months from due_month_balances,
    split ones per due day) equal the installments' own aging, bucket by bucket."""
    ann = make_client("Ann Cruz", "ann@example.com")
    ben = make_client("Ben Santos", "ben@example.com")
    first = TODAY - 400 * DAY
    invoices = []
    for index in range(9):
        client = ann if index % 2 else ben
        issued = first + (index * 37) * DAY
        invoices.append(
            make_invoice(client, f"{1200 + index * 75}.50", issued=issued, due=issued + (index % 5) * DAY, count=6)
        )
    for index, invoice in enumerate(invoices):
        pay(invoice, "333.25", on=first + (index * 37 + 45) * DAY)
        pay(invoice, "410.00", on=min(first + (index * 37 + 130) * DAY, TODAY))
    pay(invoices[2], "99.99", on=first + 200 * DAY)  # backdated: recorded after later payments
    checked, day = 0, first
    while day <= TODAY + 30 * DAY:
        assert aging.aging_totals(day) == aging.exact_aging_totals(day), day
        checked += 1
        day += DAY
    assert checked == 431
    assert find_problems() == []


def _assert_exact_around(first, last):
    """The report's totals (from due_day_balances) equal the installments' own aging on each day
    from ``first`` through ``last``, and the stored balances equal their recomputation."""
    from ais.billing.checks import _check_due_day_balances

    day = first
    while day <= last:
        assert aging.aging_totals(day) == aging.exact_aging_totals(day), day
        day += DAY
    assert _check_due_day_balances() == []


def test_a_backdated_payment_and_a_replan_keep_the_report_exact_on_every_day(books):
    """A payment recorded today but dated 40 days ago reallocates a later payment too (payments fill
    installments in date order), and a re-plan replaces the unpaid installments by new ones due on
    other days: each changes what was open on past days, and the report's totals follow."""
    ann = make_client("Ann Cruz", "ann@example.com")
    ben = make_client("Ben Santos", "ben@example.com")
    plan = make_invoice(ann, "1200.00", issued=TODAY - 100 * DAY, due=TODAY - 90 * DAY, count=4)
    make_invoice(ben, "300.00", issued=TODAY - 60 * DAY, due=TODAY - 50 * DAY)
    pay(plan, "200.00", on=TODAY - 70 * DAY)
    pay(plan, "150.00", on=TODAY - 10 * DAY)
    _assert_exact_around(TODAY - 105 * DAY, TODAY + 5 * DAY)
    before = aging.aging_totals(TODAY - 30 * DAY)

    pay(plan, "350.00", on=TODAY - 40 * DAY)  # backdated: before the payment of 10 days ago
    assert aging.aging_totals(TODAY - 30 * DAY).total == before.total - D("350.00")
    _assert_exact_around(TODAY - 105 * DAY, TODAY + 5 * DAY)

    services.replan_invoice(ACTOR, plan, 3, "weekly", TODAY + 3 * DAY)
    assert aging.aging_totals(TODAY).current == D("500.00")  # the unpaid 500.00, now all due later
    _assert_exact_around(TODAY - 105 * DAY, TODAY + 25 * DAY)


def test_check_names_a_drifted_open_balance_per_due_day(books):
    """A stored running balance that disagrees with the installments and payments is named by
    `flask check` (its due day and day, what it holds and what it should), and the report as of
    that day shows the drift until it is put right."""
    from ais.models import BalanceDueDay, DueDayBalance

    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "500.00", issued=TODAY - 60 * DAY, due=TODAY - 40 * DAY)
    pay(invoice, "200.00", on=TODAY - 30 * DAY)
    # A later payment: as of the days before it the report reads the running balances (as of a
    # day with nothing dated after it, today's unpaid amounts).
    pay(invoice, "50.00", on=TODAY - 10 * DAY)
    assert find_problems() == []
    due_day, paid_on = TODAY - 40 * DAY, TODAY - 30 * DAY
    row = (DueDayBalance.due_day == due_day) & (DueDayBalance.day == paid_on)
    assert db.session.scalar(select(DueDayBalance.open).where(row)) == D("300.00")

    db.session.execute(update(DueDayBalance).where(row).values(open=D("310.00")))
    db.session.commit()
    assert (
        f"Open balance of the installments due {due_day:%Y-%m-%d}, on {paid_on:%Y-%m-%d}: 310.00 (should be 300.00)."
        in find_problems()
    )
    assert aging.aging_totals(paid_on) != aging.exact_aging_totals(paid_on)
    db.session.execute(update(DueDayBalance).where(row).values(open=D("300.00")))
    db.session.commit()
    assert find_problems() == []

    # The report reads the due days from their list: a due day missing from it is named too.
    db.session.execute(delete(BalanceDueDay).where(BalanceDueDay.due_day == due_day))
    db.session.commit()
    assert (
        f"Open balances of the installments due {due_day:%Y-%m-%d}: missing from balance_due_days." in find_problems()
    )
    between = TODAY - 20 * DAY
    assert aging.aging_totals(between).total == D("0.00") != aging.exact_aging_totals(between).total
    assert aging.aging_totals(TODAY) == aging.exact_aging_totals(TODAY)  # today's amounts: unaffected
    db.session.execute(insert(BalanceDueDay).values(due_day=due_day))
    db.session.commit()
    assert find_problems() == []


def test_check_names_a_drifted_open_balance_per_due_month(books):
    """The running balances per due month are checked like the due days': a drifted row is named
    (its month and day, what it holds and what it should), and so is a month missing from its list;
    the report as of a day on which the month falls whole in one bucket shows the drift."""
    from datetime import date

    from ais.models import BalanceDueMonth, DueMonthBalance

    ann = make_client("Ann Cruz", "ann@example.com")
    invoice = make_invoice(ann, "500.00", issued=TODAY - 60 * DAY, due=TODAY - 40 * DAY)  # due 2026-02-04
    pay(invoice, "200.00", on=TODAY - 30 * DAY)
    pay(invoice, "50.00", on=TODAY - 10 * DAY)
    assert find_problems() == []
    month, paid_on = date(2026, 2, 1), TODAY - 30 * DAY
    row = (DueMonthBalance.due_month == month) & (DueMonthBalance.day == paid_on)
    assert db.session.scalar(select(DueMonthBalance.open).where(row)) == D("300.00")
    as_of = TODAY - 20 * DAY  # 2026-02-24: limits 02-24, 01-25, 12-26, 11-26; February is split
    whole = date(2026, 3, 2)  # limits 03-02, 01-31, 01-01, 12-02: February falls whole in 1-30
    assert month in aging._split_months(as_of) and month not in aging._split_months(whole)

    db.session.execute(update(DueMonthBalance).where(row).values(open=D("310.00")))
    db.session.commit()
    assert (
        f"Open balance of the installments due in February 2026, on {paid_on:%Y-%m-%d}: 310.00 (should be 300.00)."
        in find_problems()
    )
    assert aging.aging_totals(whole).total == D("310.00") != aging.exact_aging_totals(whole).total
    assert aging.aging_totals(as_of) == aging.exact_aging_totals(as_of)  # read per due day
    db.session.execute(update(DueMonthBalance).where(row).values(open=D("300.00")))
    db.session.commit()
    assert find_problems() == []

    db.session.execute(delete(BalanceDueMonth).where(BalanceDueMonth.due_month == month))
    db.session.commit()
    assert "Open balances of the installments due in February 2026: missing from balance_due_months." in (
        find_problems()
    )
    assert aging.aging_totals(whole).total == D("0.00") != aging.exact_aging_totals(whole).total
    db.session.execute(insert(BalanceDueMonth).values(due_month=month))
    db.session.commit()
    assert find_problems() == []


def test_the_number_of_clients_is_counted_up_to_the_cap(owner, books, monkeypatch):
    from ais.pagination import CappedStatementPagination

    for index in range(5):
        client_id = make_client(f"Client {index:02d}", f"c{index}@example.com")
        make_invoice(client_id, "10.00", issued=TODAY - 20 * DAY, due=TODAY - 10 * DAY)
    monkeypatch.setattr(CappedStatementPagination, "cap", 3)
    html = owner.client.get("/aging").get_data(as_text=True)
    assert "of 3+" in html


def test_clients_are_counted_from_the_running_count_of_owing_clients(books):
    """The report counts its clients as of any day from owing_client_counts (the last row on or
    before the day), which the service layer keeps as clients begin and cease to owe; the count
    is the clients listed.  A drifted count shows in the report, and `flask check` names it."""
    from ais.models import OwingClientCount

    ann = make_client("Ann Cruz", "ann@example.com")
    ben = make_client("Ben Santos", "ben@example.com")
    cora = make_client("Cora Reyes", "cora@example.com")
    make_invoice(ann, "100.00", issued=TODAY - 40 * DAY, due=TODAY - 30 * DAY)
    paid = make_invoice(ben, "80.00", issued=TODAY - 40 * DAY, due=TODAY - 30 * DAY)
    pay(paid, "80.00", on=TODAY - 2 * DAY)
    make_invoice(cora, "60.00", issued=TODAY - 5 * DAY, due=TODAY + 25 * DAY)

    def counted(day):
        pagination, rows = aging.aging_by_client(day, page=1, per_page=25)
        return pagination.total, [row.client_id for row in rows]

    assert counted(TODAY) == (2, [ann, cora])
    assert counted(TODAY - 3 * DAY) == (3, [ann, ben, cora])  # Ben's payment is dated later
    assert counted(TODAY - 10 * DAY) == (2, [ann, ben])  # Cora's invoice is issued later
    assert counted(TODAY - 41 * DAY) == (0, [])
    counts = dict(db.session.execute(select(OwingClientCount.day, OwingClientCount.owing)).all())
    assert counts == {TODAY - 40 * DAY: 2, TODAY - 5 * DAY: 3, TODAY - 2 * DAY: 2}
    assert find_problems() == []

    day = TODAY - 5 * DAY
    db.session.execute(update(OwingClientCount).where(OwingClientCount.day == day).values(owing=4))
    db.session.commit()
    assert counted(TODAY - 3 * DAY)[0] == 4
    assert f"Clients owing at the end of {day:%Y-%m-%d}: 4 (should be 3)." in find_problems()
    db.session.execute(update(OwingClientCount).where(OwingClientCount.day == day).values(owing=3))
    db.session.commit()
    assert find_problems() == []


def test_owing_clients_are_counted_as_clients_begin_and_cease_to_owe(books):
    """A payment that clears a client for a while, a void and a payment voided again change the
    number of owing clients from their days on; the count equals the clients the report lists as
    of every day, and its recomputation (`flask check`)."""
    ann = make_client("Ann Cruz", "ann@example.com")
    ben = make_client("Ben Santos", "ben@example.com")
    first = make_invoice(ann, "100.00", issued=TODAY - 60 * DAY, due=TODAY - 50 * DAY)
    make_invoice(ann, "50.00", issued=TODAY - 20 * DAY, due=TODAY - 10 * DAY)
    voided = make_invoice(ben, "70.00", issued=TODAY - 30 * DAY, due=TODAY - 25 * DAY)
    pay(first, "100.00", on=TODAY - 40 * DAY)  # Ann owes nothing from then until the second invoice

    def listed(day):
        pagination, rows = aging.aging_by_client(day, page=1, per_page=25)
        assert pagination.total == len(rows)
        return [row.client_id for row in rows]

    assert [listed(TODAY - days * DAY) for days in (61, 50, 35, 25, 20, 0)] == [
        [],
        [ann],
        [],
        [ben],
        [ann, ben],
        [ann, ben],
    ]
    services.void_invoice(ACTOR, voided, "Raised twice")
    assert [listed(TODAY - days * DAY) for days in (61, 50, 35, 25, 20, 0)] == [[], [ann], [], [], [ann], [ann]]
    assert find_problems() == []


def test_a_page_of_clients_is_bucketed_from_what_they_owe_today_less_their_later_changes(books):
    """The page's clients' buckets come from client_due_day_totals less their client_open_changes
    dated after the report's day; they equal the exact aging as of any day.  A drifted kept figure
    shows in the report, and `flask check` names it."""
    from ais.models import ClientOpenChange

    ann = make_client("Ann Cruz", "ann@example.com")
    ben = make_client("Ben Santos", "ben@example.com")
    first = make_invoice(ann, "100.00", issued=TODAY - 100 * DAY, due=TODAY - 95 * DAY)
    make_invoice(ann, "40.00", issued=TODAY - 50 * DAY, due=TODAY - 45 * DAY)
    make_invoice(ann, "25.00", issued=TODAY - 5 * DAY, due=TODAY + 10 * DAY)
    paid = make_invoice(ben, "80.00", issued=TODAY - 40 * DAY, due=TODAY - 30 * DAY)
    pay(first, "30.00", on=TODAY - 60 * DAY)
    pay(paid, "80.00", on=TODAY - 2 * DAY)

    def buckets(day):
        _, rows = aging.aging_by_client(day, page=1, per_page=25)
        return {row.client_id: row.aging for row in rows}

    today = buckets(TODAY)
    assert today == {ann: aging.client_aging(ann, TODAY)}
    assert today[ann].buckets == [
        ("current", D("25.00")),
        ("1-30", D("0.00")),
        ("31-60", D("40.00")),
        ("61-90", D("0.00")),
        ("over-90", D("70.00")),
    ]
    for days in (3, 10, 45, 70, 99):
        day = TODAY - days * DAY
        assert buckets(day) == {
            client: aging.client_aging(client, day) for client in (ann, ben) if aging.client_aging(client, day).total
        }
    assert buckets(TODAY - 3 * DAY)[ben].total == D("80.00")
    assert buckets(TODAY - 70 * DAY)[ann].buckets[1] == ("1-30", D("100.00"))
    assert find_problems() == []

    paid_on = TODAY - 60 * DAY
    kept = (ClientOpenChange.client_id == ann) & (ClientOpenChange.day == paid_on)
    db.session.execute(update(ClientOpenChange).where(kept).values(change=D("-29.00")))
    db.session.commit()
    assert buckets(TODAY - 70 * DAY)[ann].total == D("99.00")  # 70.00 unpaid less the payment after the day, as kept
    due = TODAY - 95 * DAY
    drifted = f"Change to the installments of client {ann} due {due:%Y-%m-%d}, on {paid_on:%Y-%m-%d}"
    assert f"{drifted}: -29.00 (should be -30.00)." in find_problems()
    db.session.execute(update(ClientOpenChange).where(kept).values(change=D("-30.00")))
    db.session.commit()
    assert find_problems() == []
