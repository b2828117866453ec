"""The client's calendar (ais.collections.calendar): an iCalendar feed of their unpaid
installments at a secret address they can reset, valid per the icalendar parser."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from icalendar import Calendar
from portal_support import ACTOR, ANN, BEN, DAY, OWNER, TODAY, make_client, make_invoice, make_user, pay, sign_in
from portal_support import text_of as text

from ais.billing import services
from ais.extensions import db
from ais.models import Client


@pytest.fixture
def ann(app, books):
    app.config["AIS_BASE_URL"] = "https://billing.example.com"
    client_id = make_client("Ann Cruz", ANN[0])
    make_user(*ANN, role="client", client_id=client_id)
    return client_id


def address_of(actions) -> str:
    html = text(actions.client.get("/portal/calendar"))
    match = re.search(r'value="https://billing\.example\.com(/calendar/[^"]+\.ics)"', html)
    assert match, "no calendar address on the page"
    return match.group(1)


def events(response) -> list:
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.get_data())
    return [component for component in calendar.walk("VEVENT")]


def test_the_feed_lists_the_unpaid_installments_and_follows_payments_and_replans(actions, ann):
    plan = make_invoice(ann, "900.00", issued=TODAY - 40 * DAY, due=TODAY - 30 * DAY, count=3)
    paid = make_invoice(ann, "50.00", issued=TODAY - 5 * DAY)
    pay(paid, "50.00", on=TODAY)
    void = make_invoice(ann, "70.00", issued=TODAY - 5 * DAY)
    services.void_invoice(ACTOR, void, "Raised twice")
    make_invoice(ann, "80.00", issue=False)
    sign_in(actions, ANN)
    assert "no calendar address yet" in text(actions.client.get("/portal/calendar"))
    actions.post("/portal/calendar")
    url = address_of(actions)
    anonymous = actions.client.application.test_client()  # a calendar app: no session
    found = events(anonymous.get(url))
    assert [(e["dtstart"].dt, str(e["summary"])) for e in found] == [
        (date(2026, 2, 14), f"Pay ₱300.00: {services_number(plan)} (1 of 3)"),
        (date(2026, 3, 14), f"Pay ₱300.00: {services_number(plan)} (2 of 3)"),
        (date(2026, 4, 14), f"Pay ₱300.00: {services_number(plan)} (3 of 3)"),
    ]
    assert all(e["dtend"].dt - e["dtstart"].dt == timedelta(days=1) for e in found)
    assert f"https://billing.example.com/portal/invoices/{plan}" in str(found[0]["description"])
    first_uid = str(found[0]["uid"])
    pay(plan, "400.00", on=TODAY)  # installment 1 paid, 2 partly
    found = events(anonymous.get(url))
    assert [str(e["summary"]).split(":")[0] for e in found] == ["Pay ₱200.00", "Pay ₱300.00"]
    assert first_uid not in [str(e["uid"]) for e in found]
    services.replan_invoice(ACTOR, plan, 2, "monthly", TODAY + 10 * DAY)
    found = events(anonymous.get(url))
    assert [e["dtstart"].dt for e in found][-2:] == [date(2026, 3, 26), date(2026, 4, 26)]


def services_number(invoice_id: int) -> str:
    from portal_support import number_of

    return number_of(invoice_id)


def test_resetting_the_address_closes_the_old_one(actions, ann):
    make_invoice(ann, "100.00")
    sign_in(actions, ANN)
    actions.post("/portal/calendar")
    old = address_of(actions)
    response = actions.post("/portal/calendar")
    assert response.status_code == 303
    new = address_of(actions)
    assert new != old
    feed_reader = actions.client.application.test_client()
    assert feed_reader.get(old).status_code == 404
    assert len(events(feed_reader.get(new))) == 1


def test_each_client_sees_only_their_own_calendar(app, actions, ann):
    ben = make_client("Ben Santos", BEN[0])
    make_user(*BEN, role="client", client_id=ben)
    make_invoice(ben, "4321.09")
    make_invoice(ann, "100.00")
    sign_in(actions, ANN)
    actions.post("/portal/calendar")
    body = actions.client.application.test_client().get(address_of(actions)).get_data(as_text=True)
    assert "4,321.09" not in body and "100.00" in body


@pytest.mark.parametrize(
    "token",
    ["nothing", "abc.def", "x" * 40, "", "%2e%2e", "a.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"],
)
def test_a_wrong_address_is_a_404(client, ann, token):
    db.session.execute(Client.__table__.update().values(calendar_key="a"))
    db.session.commit()
    assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_a_forged_mac_for_a_real_key_is_a_404(actions, ann):
    sign_in(actions, ANN)
    actions.post("/portal/calendar")
    url = address_of(actions)
    key, mac = url[len("/calendar/") : -len(".ics")].split(".")
    forged = f"/calendar/{key}.{'A' * len(mac)}.ics"
    assert actions.client.application.test_client().get(forged).status_code == 404


def test_an_owner_previewing_sees_no_address_and_cannot_reset_it(actions, ann):
    make_user(*OWNER)
    sign_in(actions, OWNER)
    page = text(actions.client.get(f"/portal/calendar?client={ann}"))
    assert "Only the client can see" in page and ".ics" not in page
    assert actions.post(f"/portal/calendar?client={ann}").status_code == 403
    db.session.rollback()
    assert db.session.get(Client, ann).calendar_key is None
