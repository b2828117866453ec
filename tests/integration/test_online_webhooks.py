"""The exactly-once guarantees, proved for every provider (the ``online`` fixture runs each test
with Stripe and with PayMongo, against their local stand-ins): a payment's events, however many,
in whatever order, at the same moment, make one payment and one receipt; only authentic, recent,
well-formed events are accepted; a second tab reuses the open checkout."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from decimal import Decimal

import online_support
import pytest
import requests
from stripe_support import (
    checkouts,
    client_with_invoice,
    count,
    fresh,
    invoice,
    nothing_written,
    payments,
    receipts,
    sign_in,
    start_checkout,
)

from ais.models import AuditEntry, CheckoutSession, Overpayment, WebhookEvent


@pytest.fixture
def paying(online, actions):
    """Ann has started an online payment of 1000.00 (the full balance); returns (books, session)."""
    books = client_with_invoice("1000.00")
    sign_in(actions, "ann@example.com")
    start_checkout(actions, books.invoice_id, "full")
    return books, online.stub.only_session()


# --- Once -------------------------------------------------------------------------------------------------


def test_one_event_delivered_fifty_times_records_one_payment_and_one_receipt(client, online, paying):
    books, session = paying
    event = online.paid(session, "money_1")
    outcomes = [online.deliver(client, event) for _ in range(50)]
    assert all(r.status_code == 200 for r in outcomes)
    assert [r.get_json()["outcome"] for r in outcomes[1:]] == ["duplicate"] * 49
    assert len(payments()) == 1 and len(receipts()) == 1 and count(WebhookEvent) == 1
    paid = payments()[0]
    assert (paid.amount, paid.state, paid.method, paid.provider, paid.reference, paid.provider_reference) == (
        Decimal("1000.00"),
        "confirmed",
        online.method,
        online.name,
        "money_1",
        "money_1",
    )
    assert invoice(books.invoice_id).paid_amount == Decimal("1000.00")
    assert invoice(books.invoice_id).held_amount == Decimal("0.00")
    assert checkouts()[0].status == "complete"
    assert count(AuditEntry, AuditEntry.action == "payment.received_online") == 1


def test_two_events_about_one_payment_record_it_once_in_either_order(client, online, paying):
    books, session = paying
    first = online.deliver(client, online.paid_again(session, "money_late"))  # the later kind arrives first
    second = online.deliver(client, online.paid(session, "money_late"))
    assert first.status_code == second.status_code == 200
    assert len(payments()) == 1 and len(receipts()) == 1 and count(WebhookEvent) == 2
    assert checkouts()[0].status == "complete"
    assert invoice(books.invoice_id).held_amount == Decimal("0.00")


def test_twenty_deliveries_at_the_same_moment_are_one_payment(app, online, paying):
    books, session = paying
    events = [online.paid(session, "money_race"), online.paid_again(session, "money_race")]
    results = []
    barrier = threading.Barrier(20)

    def send(event):
        with app.test_client() as c:
            barrier.wait(timeout=10)
            results.append(online.deliver(c, event).status_code)

    threads = [threading.Thread(target=send, args=(events[i % 2],)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [200] * 20
    assert len(payments()) == 1 and len(receipts()) == 1 and count(WebhookEvent) == 2
    assert invoice(books.invoice_id).paid_amount == Decimal("1000.00")


@pytest.mark.postgres
def test_twenty_deliveries_to_gunicorn_workers_at_once_are_one_payment(app, database_url, online, paying):
    """Three processes, twenty posts of two events about one payment, all at the same moment."""
    if fresh().get_bind().dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set AIS_TEST_DATABASE_URL")
    books, session = paying
    fresh().close()
    events = [online.paid(session, "money_gunicorn"), online.paid_again(session, "money_gunicorn")]
    bodies = [online.signed(event) for event in events]
    answers: list = [None] * 20
    barrier = threading.Barrier(20)
    with online_support.gunicorn(database_url, **online.keys) as base:

        def post(i: int) -> None:
            body, header = bodies[i % 2]
            barrier.wait(timeout=10)
            try:
                answers[i] = requests.post(
                    base + online.endpoint,
                    data=body,
                    headers={online.header: header, "Content-Type": "application/json"},
                    timeout=30,
                ).status_code
            except requests.RequestException as error:
                answers[i] = repr(error)

        threads = [threading.Thread(target=post, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert answers == [200] * 20
    assert len(payments()) == 1 and len(receipts()) == 1 and count(WebhookEvent) == 2
    assert invoice(books.invoice_id).paid_amount == Decimal("1000.00")
    assert invoice(books.invoice_id).held_amount == Decimal("0.00")


def test_a_second_payment_on_the_same_checkout_is_flagged_not_applied(client, online, paying):
    books, session = paying
    online.deliver(client, online.paid(session, "money_a"))
    online.deliver(client, online.paid(session, "money_b"))
    assert [p.provider_reference for p in payments()] == ["money_a"]
    assert invoice(books.invoice_id).paid_amount == Decimal("1000.00")
    assert len(receipts()) == 1


def test_more_than_the_checkout_asked_for_pays_what_it_asked_and_flags_the_rest(client, online, paying):
    books, session = paying
    online.deliver(client, online.paid(session, "money_more", amount_minor=120000))
    [paid] = payments()
    [flagged] = fresh().query(Overpayment).all()
    assert (paid.amount, flagged.amount, flagged.provider) == (Decimal("1000.00"), Decimal("200.00"), online.name)


def test_a_refund_voids_the_payment(client, online, paying):
    books, session = paying
    online.deliver(client, online.paid(session, "money_r"))
    online.deliver(client, online.refunded("money_r", 100000, 40000))
    voided, kept = payments()
    assert voided.state == "voided" and (kept.state, kept.amount) == ("confirmed", Decimal("600.00"))
    assert kept.method == online.method
    online.deliver(client, online.refunded("money_r", 100000, 100000))
    assert [p.state for p in payments()] == ["voided", "voided"]
    assert invoice(books.invoice_id).paid_amount == Decimal("0.00")
    assert len(receipts()) == 1


# --- Authenticity -----------------------------------------------------------------------------------------


def _tampered(online, case: str, event: dict):
    body, header = online.signed(event)
    if case == "bad signature":
        match = re.search(r"(?:v1|te)=([0-9a-f]{64})", header)
        assert match
        flipped = match.group(1)[:-1] + ("0" if match.group(1)[-1] != "0" else "1")
        return body, header.replace(match.group(1), flipped)
    if case == "wrong secret":
        return online.signed(event, secret="whsec_someone_else")
    if case == "stale timestamp (301 s)":
        return online.signed(event, timestamp=int(time.time()) - 301)
    if case == "no header":
        return body, None
    if case == "garbled header":
        return body, "v1=abc,te=xyz,t=notanumber"
    if case == "signature of another body":
        return body.replace("100000", "900000"), header
    if case == "malformed JSON (correctly signed)":
        broken = body[:-1]
        stamp = str(int(time.time()))
        digest = hmac.new(online.secret.encode(), f"{stamp}.{broken}".encode(), hashlib.sha256).hexdigest()
        return broken, (f"t={stamp},v1={digest}" if online.name == "stripe" else f"t={stamp},te={digest},li=")
    if case == "not an event (correctly signed)":
        return online.signed({"hello": "world"})
    if case == "not UTF-8":
        return b"\xff\xfe" + body.encode(), header
    raise AssertionError(case)


CASES = [
    "bad signature",
    "wrong secret",
    "stale timestamp (301 s)",
    "no header",
    "garbled header",
    "signature of another body",
    "malformed JSON (correctly signed)",
    "not an event (correctly signed)",
    "not UTF-8",
]


def test_events_that_are_not_authentic_recent_and_well_formed_are_refused_and_change_nothing(client, online, paying):
    books, session = paying
    event = online.paid(session, "money_x", amount_minor=100000)
    for case in CASES:
        body, header = _tampered(online, case, event)
        response = online.post_raw(client, body, header)
        assert response.status_code == 400, case
        assert nothing_written(), case
    assert checkouts()[0].status == "open"
    assert invoice(books.invoice_id).held_amount == Decimal("1000.00")


def test_a_timestamp_within_five_minutes_is_accepted(client, online, paying):
    books, session = paying
    response = online.deliver(client, online.paid(session, "money_t"), timestamp=int(time.time()) - 280)
    assert response.status_code == 200 and len(payments()) == 1


# --- Two tabs ---------------------------------------------------------------------------------------------


def test_a_second_tab_reuses_the_open_checkout_and_its_hold(online, actions):
    books = client_with_invoice("900.00", count=3)
    sign_in(actions, "ann@example.com")
    first = start_checkout(actions, books.invoice_id, "full")
    second = start_checkout(actions, books.invoice_id, "custom", "900.00")
    assert first.headers["Location"] == second.headers["Location"] == online.url(online.stub.only_session())
    assert len(online.stub.creates) == 1 and count(CheckoutSession) == 1
    assert checkouts()[0].provider == online.name
    assert invoice(books.invoice_id).held_amount == Decimal("900.00")
