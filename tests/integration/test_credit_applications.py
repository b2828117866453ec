"""Customer credits: the owner applies part or all of a credit (an overpayment, a credit note's
credit) to an open invoice of the same client, as a confirmed payment by "Customer credit"
posted Dr customer credits / Cr receivable; voiding it gives the credit back; a refund by hand
posts Dr customer credits / Cr the account of the method it was paid out by.  `flask check` ties
the customer credits account to the credits, and `ledger rebuild` posts the same entries."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from backoffice_support import (
    ACTOR,
    DAY,
    TODAY,
    count,
    fresh,
    invoice,
    make_client,
    make_invoice,
    pay,
    sign_in_owner,
    text_of,
)
from sqlalchemy import func, select

from ais.accounting.commands import rebuild_ledger
from ais.billing import credits, ledger, services
from ais.billing.checks import find_problems
from ais.billing.credits import CreditApplicationRefused
from ais.billing.services import InvalidInput, InvalidTransition, PaymentRefused
from ais.database import write_transaction
from ais.extensions import db
from ais.models import (
    Account,
    AuditEntry,
    CreditApplication,
    JournalEntry,
    JournalLine,
    OutboxMessage,
    Overpayment,
    Payment,
)

D = Decimal


def credit(overpayment_id) -> Overpayment:
    return fresh().get(Overpayment, overpayment_id)


def lines_of(entry_id: int) -> list[tuple[str, Decimal, Decimal]]:
    return [
        (role, debit, credit)
        for role, debit, credit in fresh().execute(
            select(Account.role, JournalLine.debit, JournalLine.credit)
            .join(Account, Account.id == JournalLine.account_id)
            .where(JournalLine.entry_id == entry_id)
            .order_by(JournalLine.id)
        )
    ]


def entries(source_type: str, source_id: int) -> list[JournalEntry]:
    return list(
        fresh().scalars(
            select(JournalEntry)
            .where(JournalEntry.source_type == source_type, JournalEntry.source_id == source_id)
            .order_by(JournalEntry.id)
        )
    )


def customer_credits_balance() -> Decimal:
    """What the customer credits account owes (credits less debits)."""
    value = fresh().scalar(
        select(func.coalesce(func.sum(JournalLine.credit) - func.sum(JournalLine.debit), 0))
        .join(Account, Account.id == JournalLine.account_id)
        .where(Account.role == "customer_credit")
    )
    return D(value or 0)


def written() -> tuple[int, ...]:
    return (
        count(Payment),
        count(CreditApplication),
        count(JournalEntry),
        count(AuditEntry),
        count(OutboxMessage),
    )


def credit_note_credit(client_id: int, paid_by: str = "Bank transfer") -> int:
    """A 1,000.00 invoice paid in full and credited 300.00: a customer credit of 300.00."""
    invoice_id = make_invoice(client_id, "1000.00", issued=TODAY - 40 * DAY)
    pay(invoice_id, "1000.00", on=TODAY - 30 * DAY, method=paid_by)
    services.credit_invoice(ACTOR, invoice_id, D("300.00"), "Three chairs returned")
    return fresh().scalar(select(Overpayment.id).where(Overpayment.invoice_id == invoice_id))


def flag_online(client_id: int, amount: str, currency: str = "PHP", reference: str = "pi_late") -> int:
    """Money that arrived by card for nothing open, flagged as the webhook flags it."""
    with write_transaction():
        flagged = Overpayment(
            client_id=client_id,
            amount=D(amount),
            currency=currency,
            provider="stripe",
            provider_reference=reference,
            reason="it arrived after the invoice was paid",
        )
        db.session.add(flagged)
        db.session.flush()
        ledger.overpayment_flagged(flagged, "Card", TODAY)
        return flagged.id


@pytest.fixture
def ann(books):
    return make_client("Ann Cruz", email="ann@example.com")


@pytest.fixture
def ann_credit(ann):
    return credit_note_credit(ann)


@pytest.fixture
def open_invoice(ann):
    return make_invoice(ann, "1000.00", issued=TODAY - 10 * DAY)


def test_part_of_a_credit_pays_an_invoice_and_the_rest_stays_open(ann, ann_credit, open_invoice):
    payment_id = credits.apply_credit(ACTOR, ann_credit, open_invoice, "200.00")
    paid = fresh().get(Payment, payment_id)
    assert (paid.amount, paid.method, paid.state, paid.date, paid.reference) == (
        D("200.00"),
        "Customer credit",
        "confirmed",
        TODAY,
        "CN-2026-0001",
    )
    assert invoice(open_invoice).paid_amount == D("200.00") and paid.installment_number == 1
    left = credit(ann_credit)
    assert (left.applied_amount, left.remaining, left.resolved_at) == (D("200.00"), D("100.00"), None)
    [application] = fresh().scalars(select(CreditApplication))
    assert (application.overpayment_id, application.payment_id, application.amount) == (
        ann_credit,
        payment_id,
        D("200.00"),
    )
    [entry] = entries(ledger.PAYMENT, payment_id)
    assert entry.journal == "general" and entry.date == TODAY
    assert lines_of(entry.id) == [("customer_credit", D("200.00"), D("0.00")), ("receivable", D("0.00"), D("200.00"))]
    assert customer_credits_balance() == D("100.00")
    audit = fresh().scalar(select(AuditEntry).where(AuditEntry.action == "payment.credit_applied"))
    assert audit.payment_id == payment_id and "CN-2026-0001" in audit.detail and "₱100.00 left" in audit.detail
    assert fresh().scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key.like(f"%{payment_id}%")))
    assert find_problems() == []


def test_applying_what_is_left_settles_the_credit(ann, ann_credit, open_invoice):
    credits.apply_credit(ACTOR, ann_credit, open_invoice, "200.00")
    credits.apply_credit(ACTOR, ann_credit, open_invoice, D("100.00"))
    settled = credit(ann_credit)
    assert settled.remaining == 0 and settled.resolved_at is not None
    assert settled.resolution.startswith("Applied in full")
    assert invoice(open_invoice).paid_amount == D("300.00")
    assert customer_credits_balance() == 0
    with pytest.raises(CreditApplicationRefused, match="already settled"):
        credits.apply_credit(ACTOR, ann_credit, open_invoice, "1.00")
    assert find_problems() == []


@pytest.mark.parametrize(
    ("amount", "field", "message"),
    [
        ("300.01", "amount", "exceeds the ₱300.00 left of this credit"),
        ("0", "amount", None),
        ("-5", "amount", None),
        ("12.345", "amount", None),
        ("abc", "amount", None),
    ],
)
def test_more_than_the_credit_or_no_amount_is_refused_and_nothing_is_written(
    ann, ann_credit, open_invoice, amount, field, message
):
    before = written()
    with pytest.raises((CreditApplicationRefused, InvalidInput), match=message) as refused:
        credits.apply_credit(ACTOR, ann_credit, open_invoice, amount)
    assert refused.value.field == field
    assert written() == before and credit(ann_credit).applied_amount == 0


def test_more_than_the_open_balance_is_refused_and_nothing_is_written(ann, ann_credit):
    small = make_invoice(ann, "150.00", issued=TODAY - 5 * DAY)
    pay(small, "50.00", on=TODAY - DAY)
    before = written()
    with pytest.raises(CreditApplicationRefused, match="exceeds the open balance of ₱100.00") as refused:
        credits.apply_credit(ACTOR, ann_credit, small, "150.00")
    assert refused.value.field == "amount"
    assert written() == before and invoice(small).paid_amount == D("50.00")


def test_another_clients_invoice_is_refused(ann, ann_credit):
    ben = make_client("Ben Santos", email="ben@example.com")
    bens = make_invoice(ben, "500.00", issued=TODAY - 5 * DAY)
    before = written()
    with pytest.raises(CreditApplicationRefused, match="another client") as refused:
        credits.apply_credit(ACTOR, ann_credit, bens, "100.00")
    assert refused.value.field == "invoice_id" and written() == before


def test_a_credit_in_another_currency_is_refused(ann, open_invoice):
    dollars = flag_online(ann, "20.00", currency="USD")
    before = written()
    with pytest.raises(CreditApplicationRefused, match="in USD but INV-"):
        credits.apply_credit(ACTOR, dollars, open_invoice, "20.00")
    assert written() == before


def test_a_paid_void_or_unknown_invoice_and_an_unknown_credit_are_refused(ann, ann_credit):
    paid = make_invoice(ann, "100.00", issued=TODAY - 5 * DAY)
    pay(paid, "100.00")
    with pytest.raises(CreditApplicationRefused, match="already paid"):
        credits.apply_credit(ACTOR, ann_credit, paid, "10.00")
    void = make_invoice(ann, "100.00", issued=TODAY - 5 * DAY)
    services.void_invoice(ACTOR, void, "Raised twice")
    with pytest.raises(CreditApplicationRefused, match="void"):
        credits.apply_credit(ACTOR, ann_credit, void, "10.00")
    with pytest.raises(InvalidInput, match="Choose an open invoice"):
        credits.apply_credit(ACTOR, ann_credit, 99999, "10.00")
    with pytest.raises(services.NotFound):
        credits.apply_credit(ACTOR, 99999, paid, "10.00")


def test_the_owner_cannot_record_a_customer_credit_as_money_received(ann, open_invoice):
    with pytest.raises(InvalidInput, match="Apply a customer credit"):
        pay(open_invoice, "10.00", method="Customer credit")
    with pytest.raises(PaymentRefused):  # (and it stays an ordinary refusal for the open balance)
        pay(open_invoice, "1000.01")


def test_voiding_the_payment_gives_the_credit_back(ann, ann_credit, open_invoice):
    payment_id = credits.apply_credit(ACTOR, ann_credit, open_invoice, "300.00")
    assert credit(ann_credit).resolved_at is not None
    services.void_payment(ACTOR, payment_id, "Applied to the wrong invoice")
    restored = credit(ann_credit)
    assert (restored.applied_amount, restored.remaining, restored.resolved_at, restored.resolution) == (
        D("0.00"),
        D("300.00"),
        None,
        "",
    )
    assert invoice(open_invoice).paid_amount == 0
    original, reversal = entries(ledger.PAYMENT, payment_id)
    assert reversal.reverses_id == original.id and reversal.journal == "general"
    assert lines_of(reversal.id) == [
        ("customer_credit", D("0.00"), D("300.00")),
        ("receivable", D("300.00"), D("0.00")),
    ]
    assert customer_credits_balance() == D("300.00")
    # And it may be applied again.
    credits.apply_credit(ACTOR, ann_credit, open_invoice, "300.00")
    assert find_problems() == []


def test_a_refunded_credit_is_not_given_back_twice(ann, ann_credit, open_invoice):
    payment_id = credits.apply_credit(ACTOR, ann_credit, open_invoice, "100.00")
    credits.refund_credit(ACTOR, ann_credit, "Paid back in cash", "Cash")
    before = written()
    with pytest.raises(InvalidTransition, match="since been refunded"):
        services.void_payment(ACTOR, payment_id, "Wrong invoice")
    assert written() == before and fresh().get(Payment, payment_id).state == "confirmed"


def test_a_refund_by_hand_posts_from_customer_credits_to_the_method_the_owner_names(ann):
    flagged = flag_online(ann, "500.00")
    credits.refund_credit(ACTOR, flagged, "Sent back by GCash, ref 77", "gcash")
    refunded = credit(flagged)
    assert (refunded.refunded_amount, refunded.refund_method, refunded.remaining) == (D("500.00"), "GCash", 0)
    assert refunded.resolved_at is not None and refunded.resolution == "Sent back by GCash, ref 77"
    _flag, refund = entries(ledger.OVERPAYMENT, flagged)
    assert refund.journal == "general" and refund.date == TODAY and refund.reverses_id is None
    assert lines_of(refund.id) == [("customer_credit", D("500.00"), D("0.00")), ("gcash", D("0.00"), D("500.00"))]
    assert customer_credits_balance() == 0
    audit = fresh().scalar(select(AuditEntry).where(AuditEntry.action == "payment.overpayment_resolved"))
    assert "₱500.00 refunded by GCash" in audit.detail
    assert find_problems() == []


def test_a_refund_by_hand_defaults_to_the_method_the_money_arrived_by(ann, ann_credit):
    card = flag_online(ann, "80.00")
    credits.refund_credit(ACTOR, card, "Refunded in the Stripe dashboard")
    assert credit(card).refund_method == "Card"
    credits.refund_credit(ACTOR, ann_credit, "Transferred back")
    assert credit(ann_credit).refund_method == "Bank transfer"  # the method the invoice was paid by
    assert customer_credits_balance() == 0


def test_a_refund_by_hand_takes_only_what_is_left_after_applications(ann, ann_credit, open_invoice):
    credits.apply_credit(ACTOR, ann_credit, open_invoice, "120.00")
    credits.refund_credit(ACTOR, ann_credit, "The rest in cash", "Cash")
    settled = credit(ann_credit)
    assert (settled.applied_amount, settled.refunded_amount, settled.remaining) == (D("120.00"), D("180.00"), 0)
    [refund] = entries(ledger.OVERPAYMENT, ann_credit)
    assert lines_of(refund.id) == [("customer_credit", D("180.00"), D("0.00")), ("cash", D("0.00"), D("180.00"))]
    assert customer_credits_balance() == 0


def test_a_refund_by_hand_refuses_an_unknown_method_or_no_note(ann, ann_credit):
    before = written()
    with pytest.raises(InvalidInput, match="method"):
        credits.refund_credit(ACTOR, ann_credit, "Paid back", "Customer credit")
    with pytest.raises(InvalidInput, match="method"):
        credits.refund_credit(ACTOR, ann_credit, "Paid back", "Barter")
    with pytest.raises(InvalidInput, match="how it was settled"):
        credits.refund_credit(ACTOR, ann_credit, "  ", "Cash")
    assert written() == before and credit(ann_credit).resolved_at is None


def test_flask_check_finds_a_credit_the_ledger_does_not_hold(ann, ann_credit, open_invoice):
    credits.apply_credit(ACTOR, ann_credit, open_invoice, "100.00")
    assert find_problems() == []
    with write_transaction():
        db.session.get_one(Overpayment, ann_credit).applied_amount = D("50.00")
    problems = find_problems()
    assert any("applications add up to 100.00" in problem for problem in problems), problems
    assert any(problem.startswith("Customer credits of client") for problem in problems), problems
    with write_transaction():
        db.session.get_one(Overpayment, ann_credit).applied_amount = D("100.00")
    assert find_problems() == []


def snapshot() -> Counter:
    """Every entry as what it says (journal, date, memo, source, whether it reverses, its lines),
    without the ids and numbers a rebuild gives in its own order."""
    found: Counter = Counter()
    for entry in fresh().scalars(select(JournalEntry)):
        lines = tuple(
            sorted(
                fresh().execute(
                    select(JournalLine.account_id, JournalLine.debit, JournalLine.credit, JournalLine.client_id).where(
                        JournalLine.entry_id == entry.id
                    )
                )
            )
        )
        found[
            (
                entry.journal,
                entry.date,
                entry.memo,
                entry.source_type,
                entry.source_id,
                entry.reverses_id is not None,
                lines,
            )
        ] += 1
    return found


def test_the_rebuild_posts_the_same_entries_for_applications_voids_and_refunds(ann, ann_credit, open_invoice):
    first = credits.apply_credit(ACTOR, ann_credit, open_invoice, "100.00")
    services.void_payment(ACTOR, first, "Wrong amount")
    credits.apply_credit(ACTOR, ann_credit, open_invoice, "150.00")
    credits.refund_credit(ACTOR, ann_credit, "The rest by GCash", "GCash")
    card = flag_online(ann, "75.00")
    credits.refund_credit(ACTOR, card, "Refunded in cash at the shop", "Cash")
    credits.apply_credit(ACTOR, flag_online(ann, "40.00", reference="pi_other"), open_invoice, "40.00")
    posted = snapshot()
    assert rebuild_ledger(force=True, echo=lambda *a, **k: None, progress=False) == 0
    assert snapshot() == posted
    assert find_problems() == []
    out: list[str] = []
    assert rebuild_ledger(dry_run=True, echo=lambda line, **k: out.append(line), progress=False) == 0
    assert "2 customer credits refunded" in out


# --- The owner's pages ------------------------------------------------------------------------


def test_the_apply_form_offers_the_clients_open_invoices_and_suggests_what_fits(actions, ann, ann_credit):
    small = make_invoice(ann, "120.00", issued=TODAY - 5 * DAY, due=TODAY + 5 * DAY)
    later = make_invoice(ann, "900.00", issued=TODAY - 5 * DAY, due=TODAY + 20 * DAY)
    ben = make_client("Ben Santos", email="ben@example.com")
    make_invoice(ben, "500.00", issued=TODAY - 5 * DAY)
    sign_in_owner(actions)
    html = text_of(actions.client.get(f"/overpayments/{ann_credit}/apply"))
    assert "Apply a customer credit" in html and "₱300.00 left to apply" in html
    # Ann's open invoices, the next due first; none of Ben's; the amount is what fits the first.
    assert html.index(f'value="{small}"') < html.index(f'value="{later}"') and "INV-2026-0004" not in html
    assert 'name="amount"' in html and 'value="120.00"' in html
    assert actions.client.get("/overpayments/99999/apply").status_code == 404


def test_the_owner_applies_part_of_a_credit_from_the_form(actions, ann, ann_credit, open_invoice):
    sign_in_owner(actions)
    response = actions.post(f"/overpayments/{ann_credit}/apply", {"invoice_id": str(open_invoice), "amount": "250"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/invoices/{open_invoice}")
    page = text_of(actions.client.get(response.headers["Location"]))
    assert "The customer credit was applied to the invoice." in page and "Customer credit" in page
    assert credit(ann_credit).remaining == D("50.00") and invoice(open_invoice).paid_amount == D("250.00")


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"amount": "301.00"}, "exceeds the ₱300.00 left of this credit"),
        ({"amount": "ten"}, "amount"),
        ({"amount": ""}, "amount"),
        ({"invoice_id": "abc", "amount": "10"}, "Choose an open invoice of this client."),
        ({"invoice_id": "99999999999999999999999", "amount": "10"}, "Choose an open invoice of this client."),
    ],
)
def test_a_refused_application_shows_the_form_again_with_the_reason(
    actions, ann, ann_credit, open_invoice, form, message
):
    sign_in_owner(actions)
    before = written()
    response = actions.post(f"/overpayments/{ann_credit}/apply", {"invoice_id": str(open_invoice), **form})
    assert response.status_code == 400
    html = text_of(response)
    assert message in html and 'name="amount"' in html
    assert written() == before


def test_another_clients_invoice_posted_to_the_form_is_refused(actions, ann, ann_credit, open_invoice):
    ben = make_client("Ben Santos", email="ben@example.com")
    bens = make_invoice(ben, "500.00", issued=TODAY - 5 * DAY)
    sign_in_owner(actions)
    before = written()
    response = actions.post(f"/overpayments/{ann_credit}/apply", {"invoice_id": str(bens), "amount": "10"})
    assert response.status_code == 400 and "another client" in text_of(response) and written() == before


def test_the_client_page_lists_open_credits_with_apply_to_invoice(actions, ann, ann_credit, open_invoice):
    sign_in_owner(actions)
    html = text_of(actions.client.get(f"/clients/{ann}"))
    assert "Customer credits" in html and "₱300.00" in html and "CN-2026-0001" in html
    assert f'href="/overpayments/{ann_credit}/apply"' in html
    credits.apply_credit(ACTOR, ann_credit, open_invoice, "300.00")
    assert f'href="/overpayments/{ann_credit}/apply"' not in text_of(actions.client.get(f"/clients/{ann}"))


def test_the_dashboard_lists_credits_to_apply_or_refund_and_marks_one_refunded(actions, ann, ann_credit):
    sign_in_owner(actions)
    html = text_of(actions.client.get("/dashboard"))
    assert "Customer credits to apply or refund" in html and f'href="/overpayments/{ann_credit}/apply"' in html
    assert 'name="method"' in html and ">The method it arrived by<" in html
    response = actions.post(
        f"/overpayments/{ann_credit}/resolve", {"note": "Sent back by GCash", "method": "GCash", "next": "/dashboard"}
    )
    assert response.status_code == 303
    refunded = credit(ann_credit)
    assert (refunded.refund_method, refunded.refunded_amount) == ("GCash", D("300.00"))
    [refund] = entries(ledger.OVERPAYMENT, ann_credit)
    assert lines_of(refund.id) == [("customer_credit", D("300.00"), D("0.00")), ("gcash", D("0.00"), D("300.00"))]
    assert "Customer credits to apply or refund" not in text_of(actions.client.get("/dashboard"))


def test_a_refusal_is_shown_even_when_the_client_has_no_open_invoice(actions, ann, ann_credit):
    ben = make_client("Ben Santos", email="ben@example.com")
    bens = make_invoice(ben, "500.00", issued=TODAY - 5 * DAY)
    sign_in_owner(actions)
    assert "No open invoice to apply it to" in text_of(actions.client.get(f"/overpayments/{ann_credit}/apply"))
    response = actions.post(f"/overpayments/{ann_credit}/apply", {"invoice_id": str(bens), "amount": "10"})
    assert response.status_code == 400 and "another client" in text_of(response)
