"""POST /webhooks/paymongo: PayMongo's signature scheme (``t``, ``te`` in test mode, ``li`` live),
values checked before anything is written (malformed or absurd → 400), the method recorded under
its canonical name, amounts and currency compared with the checkout AIS made.  The exactly-once
suite shared with Stripe is test_online_webhooks.py."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from paymongo_support import SECRET_KEY, WEBHOOK_SECRET, deliver, post_raw, signed
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

from ais.models import AuditEntry, Overpayment, WebhookEvent
from ais.payments.paymongo_provider import InvalidEvent, signature_header, verify_signature


@pytest.fixture
def paying(paymongo_on, actions):
    """Ann has started an online payment of 1000.00 (the full balance); returns (books, session)."""
    books = client_with_invoice("1000.00")
    sign_in(actions, "ann@example.com")
    start_checkout(actions, books.invoice_id, "full")
    return books, paymongo_on.only_session()


def paid(stub, session, method="gcash", amount=None, payment_id="pay_test_1", **attributes):
    return stub.checkout_paid(session, stub.payment(session, method, amount, id=payment_id, **attributes))


# --- The signature ----------------------------------------------------------------------------------------


def test_the_signature_is_checked_in_the_endpoints_mode_only():
    body = b'{"data": {}}'
    now = time.time()
    test_header = signature_header(body, "secret", livemode=False, timestamp=int(now))
    live_header = signature_header(body, "secret", livemode=True, timestamp=int(now))
    verify_signature(body, test_header, "secret", livemode=False, now=now)
    verify_signature(body, live_header, "secret", livemode=True, now=now)
    for header, livemode in [(live_header, False), (test_header, True)]:
        with pytest.raises(InvalidEvent):
            verify_signature(body, header, "secret", livemode=livemode, now=now)
    with pytest.raises(InvalidEvent):  # from the future, beyond the tolerance
        verify_signature(body, test_header, "secret", livemode=False, now=now - 301)


def test_a_live_mode_signature_sent_to_a_test_mode_endpoint_is_refused(client, paymongo_on, paying):
    books, session = paying
    body, header = signed(paid(paymongo_on, session), livemode=True)
    assert post_raw(client, body, header).status_code == 400
    assert nothing_written()


def test_a_live_event_is_refused_by_a_test_mode_endpoint_even_if_signed_for_test(client, paymongo_on, paying):
    books, session = paying
    assert (
        deliver(client, paymongo_on.checkout_paid(session, paymongo_on.payment(session), livemode=True)).status_code
        == 400
    )
    assert nothing_written()


def test_a_live_key_checks_the_live_signature(app, client, paymongo_on, paying):
    books, session = paying
    app.config["PAYMONGO_SECRET_KEY"] = "sk_live_" + SECRET_KEY[8:]
    event = paymongo_on.checkout_paid(session, paymongo_on.payment(session, id="pay_live_1"), livemode=True)
    assert deliver(client, event).status_code == 400  # signed in the test slot
    assert deliver(client, event, livemode=True).status_code == 200
    assert [p.provider_reference for p in payments()] == ["pay_live_1"]


def test_an_oversized_body_is_refused_unread(client, paymongo_on, paying):
    books, session = paying
    event = paid(paymongo_on, session, description="x" * 600_000)
    assert deliver(client, event).status_code == 413
    assert nothing_written()


def test_with_paymongo_off_the_webhook_is_not_there(app, client, paymongo_on, paying):
    books, session = paying
    app.config["PAYMONGO_WEBHOOK_SECRET"] = ""
    assert deliver(client, paid(paymongo_on, session)).status_code == 404
    assert nothing_written()


# --- Malformed or absurd values: 400, nothing written ------------------------------------------------------


def _absurd(stub, session, case):
    event = paid(stub, session)
    data = event["data"]
    payment = data["attributes"]["data"]["attributes"]["payments"][0]["attributes"]
    if case == "amount zero":
        payment["amount"] = 0
    elif case == "amount negative":
        payment["amount"] = -100000
    elif case == "amount absurd":
        payment["amount"] = 10**15
    elif case == "amount as text":
        payment["amount"] = "100000"
    elif case == "amount as float":
        payment["amount"] = 1000.5
    elif case == "amount true":
        payment["amount"] = True
    elif case == "currency not a code":
        payment["currency"] = "PESO"
    elif case == "no paid payment":
        payment["status"] = "failed"
    elif case == "payments not a list":
        data["attributes"]["data"]["attributes"]["payments"] = {"id": "pay_1"}
    elif case == "event id too long":
        data["id"] = "evt_" + "x" * 300
    elif case == "created_at as text":
        data["attributes"]["created_at"] = "yesterday"
    elif case == "livemode missing":
        del data["attributes"]["livemode"]
    elif case == "resource not an object":
        data["attributes"]["data"] = ["cs_1"]
    elif case == "event type missing":
        del data["attributes"]["type"]
    else:
        raise AssertionError(case)
    return event


ABSURD = [
    "amount zero",
    "amount negative",
    "amount absurd",
    "amount as text",
    "amount as float",
    "amount true",
    "currency not a code",
    "no paid payment",
    "payments not a list",
    "event id too long",
    "created_at as text",
    "livemode missing",
    "resource not an object",
    "event type missing",
]


def test_malformed_or_absurd_values_are_refused_with_400_and_change_nothing(client, paymongo_on, paying):
    books, session = paying
    for case in ABSURD:
        response = deliver(client, _absurd(paymongo_on, session, case))
        assert response.status_code == 400, case
        assert nothing_written(), case
    for body in ["[]", "null", '"text"', "{}", '{"data": []}', '{"data": {"id": 5, "attributes": {}}}']:
        timestamp = int(time.time())
        response = post_raw(client, body, signature_header(body, WEBHOOK_SECRET, timestamp=timestamp))
        assert response.status_code == 400, body
    assert nothing_written() and checkouts()[0].status == "open"


# --- What is recorded --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("gcash", "GCash"),
        ("paymaya", "Maya"),
        ("qrph", "QR Ph"),
        ("card", "Card"),
        ("grab_pay", "GrabPay"),
        ("dob", "Online banking"),
        ("brankas_bdo", "Online banking"),
        ("something_new", "Online (PayMongo)"),
    ],
)
def test_the_method_is_recorded_under_its_canonical_name(client, paymongo_on, paying, code, name):
    books, session = paying
    assert deliver(client, paid(paymongo_on, session, method=code)).status_code == 200
    [payment] = payments()
    assert (payment.method, payment.provider, payment.reference) == (name, "paymongo", "pay_test_1")
    assert fresh().query(WebhookEvent).one().id.startswith("paymongo:evt_")  # never meets a Stripe id


def test_another_currency_than_the_checkouts_is_flagged_whole(client, paymongo_on, paying):
    books, session = paying
    deliver(client, paid(paymongo_on, session, currency="USD", amount=2000))
    assert payments() == []
    [flagged] = fresh().query(Overpayment).all()
    assert (flagged.amount, flagged.currency, flagged.provider) == (Decimal("20.00"), "USD", "paymongo")
    assert "paid in USD" in flagged.reason
    assert invoice(books.invoice_id).held_amount == Decimal("0.00")


def test_less_than_the_checkout_asked_for_is_recorded_and_said_so(client, paymongo_on, paying):
    books, session = paying
    response = deliver(client, paid(paymongo_on, session, amount=40000))
    assert response.status_code == 200 and "less than asked" in response.get_json()["outcome"]
    [payment] = payments()
    assert payment.amount == Decimal("400.00")
    [entry] = fresh().query(AuditEntry).filter(AuditEntry.action == "payment.amount_differs").all()
    assert "₱400.00 arrived for a checkout of ₱1,000.00" in entry.detail
    assert invoice(books.invoice_id).held_amount == Decimal("0.00")


def test_a_payment_event_without_ais_labels_is_ignored(client, paymongo_on, paying):
    books, session = paying
    foreign = paymongo_on.payment(session, id="pay_elsewhere", metadata={})
    response = deliver(client, paymongo_on.event("payment.paid", foreign))
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored: not an AIS checkout"
    assert payments() == []


def test_other_event_types_are_acknowledged_and_ignored(client, paymongo_on, paying):
    books, session = paying
    response = deliver(client, paymongo_on.event("payment.failed", paymongo_on.payment(session, status="failed")))
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert payments() == [] and checkouts()[0].status == "open"
    assert count(WebhookEvent) == 1


def test_a_refund_of_an_unknown_payment_is_ignored(client, paymongo_on, paying):
    books, session = paying
    ghost = paymongo_on.payment(session, id="pay_nobody")
    response = deliver(client, paymongo_on.refunded(ghost, 100000))
    assert response.status_code == 200 and payments() == []


def test_refund_events_in_any_order_apply_the_largest_refunded_total(client, paymongo_on, paying):
    books, session = paying
    payment = paymongo_on.payment(session, id="pay_r")
    deliver(client, paymongo_on.checkout_paid(session, payment))
    later = paymongo_on.refunded(payment, 10000, 20000)  # 300.00 refunded in two parts
    earlier = paymongo_on.refunded(payment, 10000)
    deliver(client, later)
    deliver(client, earlier)  # older, smaller total: nothing changes
    deliver(client, later)
    assert [(p.state, p.amount) for p in payments()] == [
        ("voided", Decimal("1000.00")),
        ("confirmed", Decimal("700.00")),
    ]
    assert "Refunded in PayMongo (₱300.00" in payments()[0].state_reason
    assert len(receipts()) == 1
