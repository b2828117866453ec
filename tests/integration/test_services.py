"""The service layer against a real database: invoices, numbering, payments, the cap, re-plans.

Every test leaves the books consistent: ``flask check``'s ``find_problems()`` runs after each.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ais.audit import Actor
from ais.billing import services
from ais.billing.checks import find_problems
from ais.billing.services import (
    ClientInput,
    InvalidInput,
    InvalidTransition,
    InvoiceInput,
    InvoiceNotEditable,
    LineInput,
    NotFound,
    PaymentRefused,
)
from ais.extensions import db
from ais.models import (
    CLIENT,
    CONFIRMED,
    REJECTED,
    REPORTED,
    VOIDED,
    Allocation,
    AuditEntry,
    Client,
    Installment,
    Invoice,
    InvoiceCounter,
    OutboxMessage,
    Payment,
    User,
)

ACTOR = Actor.system("test")
TODAY = date(2026, 3, 16)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def books(app, freeze_today):
    """Each test runs in an app context on a fixed 'today', and must leave the books consistent."""
    freeze_today(TODAY)
    with app.app_context():
        yield
        db.session.rollback()
        assert find_problems() == []


# --- helpers ---------------------------------------------------------------------------------


def make_client(email="ann@example.com", name="Ann Cruz") -> int:
    return services.create_client(ACTOR, ClientInput(name=name, email=email))


def invoice_input(
    client_id, amount="1000.00", *, issued=TODAY - 30 * DAY, due=None, count=1, frequency=None, lines=None
) -> InvoiceInput:
    return InvoiceInput(
        client_id=client_id,
        issue_date=issued,
        due_date=due or issued + 10 * DAY,
        lines=lines or [LineInput("Goods", Decimal("1"), Decimal(amount))],
        payment_type="installment" if count > 1 else "full",
        installment_count=count,
        frequency=frequency or ("monthly" if count > 1 else None),
    )


def make_invoice(client_id, amount="1000.00", **kwargs) -> int:
    return services.create_invoice(ACTOR, invoice_input(client_id, amount, **kwargs))


def invoice(invoice_id) -> Invoice:
    db.session.rollback()
    return db.session.get(Invoice, invoice_id)


def payment(payment_id) -> Payment:
    db.session.rollback()
    return db.session.get(Payment, payment_id)


def installments(invoice_id) -> list[tuple[int, Decimal, Decimal]]:
    return [(i.number, i.amount, i.paid_amount) for i in invoice(invoice_id).installments]


def pay(invoice_id, amount, on=TODAY, **kwargs) -> int:
    return services.record_payment(ACTOR, invoice_id, amount, on, "cash", **kwargs)


def report(client_id, invoice_id, amount, on=TODAY, **kwargs) -> int:
    return services.report_payment(ACTOR, client_id, invoice_id, amount, on, "bank transfer", **kwargs)


def row_counts() -> dict[str, int]:
    db.session.rollback()
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Payment, Allocation, AuditEntry, OutboxMessage)
    }


D = Decimal


# --- invoices ------------------------------------------------------------------------------------


def test_created_invoice_is_issued_with_first_number_of_its_year_and_a_schedule_that_adds_up():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00", count=3, due=TODAY - 20 * DAY)

    inv = invoice(invoice_id)
    assert inv.invoice_no == "INV-2026-0001"
    assert inv.issued_at is not None
    assert inv.amount == D("1000.00")
    assert installments(invoice_id) == [
        (1, D("333.33"), D("0.00")),
        (2, D("333.33"), D("0.00")),
        (3, D("333.34"), D("0.00")),
    ]
    assert [i.due_date for i in inv.installments] == [date(2026, 2, 24), date(2026, 3, 24), date(2026, 4, 24)]
    assert inv.next_due_date == date(2026, 2, 24)


def test_draft_has_no_number_no_schedule_and_is_invisible_to_its_client():
    client_id = make_client()
    draft_id = services.save_draft(ACTOR, invoice_input(client_id, count=2))

    inv = invoice(draft_id)
    assert inv.invoice_no is None and inv.issued_at is None
    assert inv.installments == []
    with pytest.raises(NotFound):
        report(client_id, draft_id, "10.00")
    assert db.session.scalar(select(func.count()).select_from(InvoiceCounter)) == 0


def test_issuing_a_draft_gives_it_its_number_and_schedule():
    client_id = make_client()
    draft_id = services.save_draft(ACTOR, invoice_input(client_id, "900.00", count=3))

    assert services.issue_invoice(ACTOR, draft_id) == "INV-2026-0001"
    assert [amount for _, amount, _ in installments(draft_id)] == [D("300.00")] * 3
    with pytest.raises(InvalidTransition):
        services.issue_invoice(ACTOR, draft_id)


def test_issued_invoice_lines_cannot_be_edited():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00")

    with pytest.raises(InvoiceNotEditable):
        services.save_draft(ACTOR, invoice_input(client_id, "5.00"), invoice_id=invoice_id)
    with pytest.raises(InvoiceNotEditable):
        services.delete_draft(ACTOR, invoice_id)
    inv = invoice(invoice_id)
    assert inv.amount == D("1000.00")
    assert [(line.description, line.unit_price) for line in inv.lines] == [("Goods", D("1000.0000"))]


def test_numbers_run_per_year_without_gaps_even_when_drafts_are_deleted_or_input_refused():
    client_id = make_client()
    numbers = [
        services.issue_invoice(ACTOR, services.save_draft(ACTOR, invoice_input(client_id, issued=date(2025, 12, 30))))
    ]
    services.delete_draft(ACTOR, services.save_draft(ACTOR, invoice_input(client_id, issued=TODAY)))
    with pytest.raises(InvalidInput):
        make_invoice(client_id, "0.00")
    for issued in (TODAY, date(2025, 11, 3), TODAY):
        numbers.append(invoice(make_invoice(client_id, issued=issued)).invoice_no)

    assert numbers == ["INV-2025-0001", "INV-2026-0001", "INV-2025-0002", "INV-2026-0002"]
    counters = dict(db.session.execute(select(InvoiceCounter.year, InvoiceCounter.last_number)).all())
    assert counters == {2025: 2, 2026: 2}


def test_line_net_and_vat_are_each_rounded_half_up_per_line():
    # The test profile: VAT-registered, 12 %, prices include VAT (VAT = price x 12/112 per line).
    client_id = make_client()
    lines = [
        LineInput("Bolts", D("3"), D("0.335")),  # 1.005 -> 1.01; VAT 0.10821 -> 0.11; net 0.90
        LineInput("Washers", D("1"), D("0.10"), "exempt"),
        LineInput("Nuts", D("1"), D("0.10"), "zero_rated"),
    ]
    invoice_id = make_invoice(client_id, lines=lines)

    inv = invoice(invoice_id)
    assert [(line.vat_treatment, line.net_amount, line.tax_amount) for line in inv.lines] == [
        ("vatable", D("0.90"), D("0.11")),
        ("exempt", D("0.10"), D("0.00")),
        ("zero_rated", D("0.10"), D("0.00")),
    ]
    assert (inv.vatable_sales, inv.vat_amount, inv.exempt_sales, inv.zero_rated_sales) == (
        D("0.90"),
        D("0.11"),
        D("0.10"),
        D("0.10"),
    )
    assert inv.amount == D("1.21")


# --- payments --------------------------------------------------------------------------------------


def test_recorded_payment_is_confirmed_and_pays_the_oldest_installment_first():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "900.00", count=3)

    payment_id = pay(invoice_id, "200.00", on=TODAY - 5 * DAY)

    p = payment(payment_id)
    assert p.state == CONFIRMED and p.installment_number == 1
    assert installments(invoice_id) == [
        (1, D("300.00"), D("200.00")),
        (2, D("300.00"), D("0.00")),
        (3, D("300.00"), D("0.00")),
    ]
    assert invoice(invoice_id).paid_amount == D("200.00")


def test_payment_spanning_installments_is_split_and_numbered_by_its_first_installment():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "900.00", count=3)
    pay(invoice_id, "200.00", on=TODAY - 5 * DAY)

    second = pay(invoice_id, "500.00")

    assert payment(second).installment_number == 1
    allocations = db.session.execute(
        select(Installment.number, Allocation.amount)
        .join(Installment, Installment.id == Allocation.installment_id)
        .where(Allocation.payment_id == second)
        .order_by(Installment.number)
    ).all()
    assert [tuple(row) for row in allocations] == [(1, D("100.00")), (2, D("300.00")), (3, D("100.00"))]
    inv = invoice(invoice_id)
    assert inv.paid_amount == D("700.00")
    assert inv.next_due_date == inv.installments[2].due_date


def test_earlier_dated_payment_takes_the_earlier_installment():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "900.00", count=3)
    late = pay(invoice_id, "300.00", on=TODAY)

    early = pay(invoice_id, "300.00", on=TODAY - 10 * DAY)

    assert (payment(early).installment_number, payment(late).installment_number) == (1, 2)


def test_reported_payment_holds_room_until_confirmed_then_counts_as_paid():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00")

    payment_id = report(client_id, invoice_id, "400.00")
    inv = invoice(invoice_id)
    assert (payment(payment_id).state, inv.paid_amount, inv.held_amount) == (REPORTED, D("0.00"), D("400.00"))
    assert payment(payment_id).installment_number is None

    services.confirm_payment(ACTOR, payment_id)
    inv = invoice(invoice_id)
    assert (payment(payment_id).state, inv.paid_amount, inv.held_amount) == (CONFIRMED, D("400.00"), D("0.00"))
    assert payment(payment_id).installment_number == 1


def test_rejected_payment_releases_its_room_and_keeps_its_reason():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00")
    payment_id = report(client_id, invoice_id, "400.00")

    with pytest.raises(InvalidInput):
        services.reject_payment(ACTOR, payment_id, "  ")
    services.reject_payment(ACTOR, payment_id, "No such transfer")

    p = payment(payment_id)
    assert (p.state, p.state_reason) == (REJECTED, "No such transfer")
    assert invoice(invoice_id).held_amount == D("0.00")


def test_voided_payment_is_kept_and_its_money_unallocated():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00")
    payment_id = pay(invoice_id, "400.00")

    services.void_payment(ACTOR, payment_id, "Bounced check")

    p = payment(payment_id)
    assert (p.state, p.installment_number) == (VOIDED, None)
    assert invoice(invoice_id).paid_amount == D("0.00")
    assert installments(invoice_id) == [(1, D("1000.00"), D("0.00"))]
    assert db.session.scalar(select(func.count()).select_from(Allocation)) == 0


@pytest.mark.parametrize(
    "state_steps, action",
    [
        ([], "void"),  # a reported payment is rejected, not voided
        (["confirm"], "confirm"),
        (["confirm"], "reject"),
        (["reject"], "confirm"),
        (["reject"], "void"),
        (["confirm", "void"], "void"),
        (["confirm", "void"], "confirm"),
    ],
)
def test_invalid_payment_transitions_are_refused(state_steps, action):
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00")
    payment_id = report(client_id, invoice_id, "400.00")
    do = {
        "confirm": lambda: services.confirm_payment(ACTOR, payment_id),
        "reject": lambda: services.reject_payment(ACTOR, payment_id, "reason"),
        "void": lambda: services.void_payment(ACTOR, payment_id, "reason"),
    }
    for step in state_steps:
        do[step]()
    before = payment(payment_id).state

    with pytest.raises(InvalidTransition):
        do[action]()
    assert payment(payment_id).state == before


def test_payment_over_the_open_balance_is_refused_and_nothing_is_written():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00")
    pay(invoice_id, "600.00")
    before = row_counts()

    with pytest.raises(PaymentRefused):
        pay(invoice_id, "400.01")

    assert row_counts() == before
    assert invoice(invoice_id).paid_amount == D("600.00")
    pay(invoice_id, "400.00")  # exactly the balance fits
    assert invoice(invoice_id).paid_amount == D("1000.00")


def test_reported_payments_hold_room_under_the_cap():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00")
    reported = report(client_id, invoice_id, "600.00")

    with pytest.raises(PaymentRefused):
        pay(invoice_id, "500.00")
    with pytest.raises(PaymentRefused):
        report(client_id, invoice_id, "500.00")
    services.reject_payment(ACTOR, reported, "Not received")
    pay(invoice_id, "500.00")
    assert invoice(invoice_id).paid_amount == D("500.00")


@pytest.mark.parametrize(
    "amount",
    [
        "0",
        "0.00",
        "-5.00",
        D("-5"),
        0,
        "NaN",
        D("NaN"),
        "inf",
        D("Infinity"),
        "10.005",
        D("10.005"),
        "abc",
        "",
        "1e3",
        10.5,
    ],
    ids=repr,
)
def test_bad_amounts_are_refused(amount):
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00")

    with pytest.raises(InvalidInput) as refused:
        pay(invoice_id, amount)
    assert refused.value.field == "amount"
    with pytest.raises(InvalidInput):
        report(client_id, invoice_id, amount)
    assert row_counts()["payments"] == 0


def test_an_invoice_dated_after_today_waits_as_a_draft_and_a_far_date_is_refused():
    client_id = make_client()
    with pytest.raises(InvalidInput) as refused:  # issued now, dated tomorrow: it would be owed at once
        make_invoice(client_id, "100.00", issued=TODAY + DAY)
    assert refused.value.field == "issue_date" and "keep it as a draft" in refused.value.message
    draft_id = services.save_draft(ACTOR, invoice_input(client_id, "100.00", issued=TODAY + DAY))
    with pytest.raises(InvalidInput):
        services.issue_invoice(ACTOR, draft_id)
    assert invoice(draft_id).is_draft
    with pytest.raises(InvalidInput) as refused:  # five years ahead: a typo in the year
        services.save_draft(ACTOR, invoice_input(client_id, "100.00", issued=TODAY + 5 * 365 * DAY))
    assert refused.value.field == "issue_date" and "check the year" in refused.value.message
    make_invoice(client_id, "100.00", issued=TODAY)  # today is fine
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 2


def test_payment_dated_in_the_future_or_before_the_issue_date_is_refused():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00", issued=TODAY - 30 * DAY)

    for when in (TODAY + DAY, TODAY - 31 * DAY):
        with pytest.raises(InvalidInput) as refused:
            pay(invoice_id, "100.00", on=when)
        assert refused.value.field == "date"
    pay(invoice_id, "100.00", on=TODAY - 30 * DAY)  # the issue date itself and today are fine
    pay(invoice_id, "100.00", on=TODAY)
    assert row_counts()["payments"] == 2


def test_payments_on_paid_void_or_draft_invoices_are_refused():
    client_id = make_client()
    paid_id = make_invoice(client_id, "100.00")
    pay(paid_id, "100.00")
    void_id = make_invoice(client_id, "100.00")
    services.void_invoice(ACTOR, void_id, "Duplicate")
    draft_id = services.save_draft(ACTOR, invoice_input(client_id, "100.00"))

    for invoice_id in (paid_id, void_id, draft_id):
        with pytest.raises(PaymentRefused):
            pay(invoice_id, "1.00")
    for invoice_id in (paid_id, void_id):
        with pytest.raises(PaymentRefused):
            report(client_id, invoice_id, "1.00")
    assert row_counts()["payments"] == 1


def test_reporting_on_another_clients_invoice_is_not_found():
    ann = make_client("ann@example.com")
    ben = make_client("ben@example.com", "Ben Uy")
    bens_invoice = make_invoice(ben, "1000.00")

    with pytest.raises(NotFound):
        report(ann, bens_invoice, "100.00")
    with pytest.raises(NotFound):
        report(ann, 999999, "100.00")
    assert row_counts()["payments"] == 0


def test_same_submission_key_twice_records_one_payment():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00")

    first = pay(invoice_id, "300.00", submission_key="form-key-1")
    second = pay(invoice_id, "300.00", submission_key="form-key-1")
    reported = report(client_id, invoice_id, "100.00", submission_key="form-key-2")
    again = report(client_id, invoice_id, "100.00", submission_key="form-key-2")

    assert first == second and reported == again
    assert row_counts()["payments"] == 2
    assert invoice(invoice_id).paid_amount == D("300.00")


# --- re-plan and void -----------------------------------------------------------------------------


def test_replan_keeps_paid_installments_and_preserves_the_total():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00", count=4, due=TODAY - 20 * DAY)
    payment_id = pay(invoice_id, "300.00")  # installment 1 paid, 2 has 50.00 on it
    paid_before = installments(invoice_id)[0]

    # Installment 2 is kept (it has money on it), so the new ones start after its due date.
    services.replan_invoice(ACTOR, invoice_id, 2, "weekly", TODAY + 14 * DAY)

    inv = invoice(invoice_id)
    assert installments(invoice_id)[0] == paid_before
    assert installments(invoice_id) == [
        (1, D("250.00"), D("250.00")),
        (2, D("50.00"), D("50.00")),
        (3, D("350.00"), D("0.00")),
        (4, D("350.00"), D("0.00")),
    ]
    assert [i.due_date for i in inv.installments[2:]] == [TODAY + 14 * DAY, TODAY + 21 * DAY]
    assert sum(i.amount for i in inv.installments) == inv.amount == D("1000.00")
    assert (inv.installment_count, inv.frequency, inv.paid_amount) == (4, "weekly", D("300.00"))
    assert payment(payment_id).installment_number == 1
    assert inv.next_due_date == TODAY + 14 * DAY


def test_replan_of_a_full_payment_or_paid_invoice_is_refused():
    client_id = make_client()
    full_id = make_invoice(client_id, "1000.00")
    plan_id = make_invoice(client_id, "1000.00", count=2)
    pay(plan_id, "1000.00")

    with pytest.raises(InvalidTransition):
        services.replan_invoice(ACTOR, full_id, 2, "monthly", TODAY)
    with pytest.raises(PaymentRefused):
        services.replan_invoice(ACTOR, plan_id, 2, "monthly", TODAY)


def test_void_invoice_with_confirmed_payments_is_refused_until_they_are_voided():
    client_id = make_client()
    invoice_id = make_invoice(client_id, "1000.00")
    confirmed = pay(invoice_id, "300.00")
    reported = report(client_id, invoice_id, "200.00")

    with pytest.raises(InvalidTransition):
        services.void_invoice(ACTOR, invoice_id, "Cancelled order")
    assert invoice(invoice_id).voided_at is None

    services.void_payment(ACTOR, confirmed, "Refunded")
    services.void_invoice(ACTOR, invoice_id, "Cancelled order")
    inv = invoice(invoice_id)
    assert inv.voided_at is not None and inv.next_due_date is None and inv.held_amount == D("0.00")
    assert payment(reported).state == REJECTED  # the pending one is rejected with the invoice
    with pytest.raises(InvalidTransition):
        services.void_invoice(ACTOR, invoice_id, "Again")


# --- status ------------------------------------------------------------------------------------------


def test_status_is_derived_paid_overdue_partial_pending_void(freeze_today):
    client_id = make_client()
    paid_id = make_invoice(client_id, "100.00", due=TODAY + 5 * DAY)
    pay(paid_id, "100.00")
    overdue_id = make_invoice(client_id, "100.00", due=TODAY - DAY)
    partial_id = make_invoice(client_id, "100.00", due=TODAY)  # due today is not yet overdue
    pay(partial_id, "40.00")
    pending_id = make_invoice(client_id, "100.00", due=TODAY + 5 * DAY)
    void_id = make_invoice(client_id, "100.00", due=TODAY - DAY)
    services.void_invoice(ACTOR, void_id, "Mistake")
    draft_id = services.save_draft(ACTOR, invoice_input(client_id))

    status = {
        name: services.status_of(invoice(i))
        for name, i in [
            ("paid", paid_id),
            ("overdue", overdue_id),
            ("partial", partial_id),
            ("pending", pending_id),
            ("void", void_id),
            ("draft", draft_id),
        ]
    }
    assert status == {
        "paid": "paid",
        "overdue": "overdue",
        "partial": "partial",
        "pending": "pending",
        "void": "void",
        "draft": "draft",
    }

    freeze_today(TODAY + DAY)  # a day later the partly paid one is overdue
    assert services.status_of(invoice(partial_id)) == "overdue"
    assert services.status_of(invoice(pending_id)) == "pending"


# --- clients ---------------------------------------------------------------------------------------------


def _add_login(client_id: int, email: str) -> int:
    user = User(username=email, password_hash="x", role=CLIENT, client_id=client_id)
    db.session.add(user)
    db.session.commit()
    return user.id


def test_update_client_changes_the_login_username_with_the_email():
    client_id = make_client("ann@example.com")
    user_id = _add_login(client_id, "ann@example.com")

    services.update_client(ACTOR, client_id, ClientInput(name="Ann Cruz", email="ann.cruz@example.com"))

    db.session.rollback()
    assert db.session.get(Client, client_id).email == "ann.cruz@example.com"
    assert db.session.get(User, user_id).username == "ann.cruz@example.com"


def test_refused_client_update_changes_neither_email_nor_username():
    ann = make_client("ann@example.com")
    user_id = _add_login(ann, "ann@example.com")
    make_client("ben@example.com", "Ben Uy")

    with pytest.raises(InvalidInput):
        services.update_client(ACTOR, ann, ClientInput(name="Ann", email="BEN@example.com"))

    db.session.rollback()
    assert db.session.get(Client, ann).email == "ann@example.com"
    assert db.session.get(User, user_id).username == "ann@example.com"


def test_client_emails_are_unique_whatever_their_case():
    make_client("Ann@Example.com")

    with pytest.raises(InvalidInput) as refused:
        make_client("ann@EXAMPLE.COM", "Another Ann")
    assert refused.value.field == "email"
    assert db.session.scalar(select(func.count()).select_from(Client)) == 1
