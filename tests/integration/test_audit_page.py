"""/audit: owners read the trail with filters; nobody else sees it and no route changes it."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from argon2 import PasswordHasher

from ais.audit import Actor
from ais.billing import services
from ais.extensions import db
from ais.models import AuditEntry, User

HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("a long enough password")  # cheap: a test


@pytest.fixture
def books(app):
    with app.app_context():
        db.session.add(User(username="owner", role="owner", password_hash=HASH))
        db.session.commit()
        actor = Actor(user_id=None, label="owner")
        first = services.create_client(actor, services.ClientInput(name="Ana <b>Cruz</b>", email="ana@example.com"))
        services.create_client(actor, services.ClientInput(name="Ben Ong", email="ben@example.com"))
        invoice_id = services.create_invoice(
            actor,
            services.InvoiceInput(
                client_id=first,
                issue_date=date(2026, 1, 5),
                due_date=date(2026, 2, 5),
                lines=[services.LineInput("Goods", Decimal("1"), Decimal("900"))],
            ),
        )
        services.record_payment(actor, invoice_id, "100.00", date(2026, 1, 10), "Cash")
        return {"client_id": first}


def test_owner_sees_entries_newest_first_with_amounts(app, actions, books):
    actions.login("owner", "a long enough password")
    page = actions.client.get("/audit").get_data(as_text=True)
    page = page[page.index("<tbody>") :]
    assert page.index("Payment: recorded") < page.index("Invoice: issued") < page.index("Client: created")
    assert "payment.recorded" not in page  # words, not codes
    assert "₱100.00" in page
    assert "Ana &lt;b&gt;Cruz&lt;/b&gt;" in page


def test_filters_narrow_the_entries(app, actions, books):
    actions.login("owner", "a long enough password")
    page = actions.client.get("/audit?action=payment.").get_data(as_text=True)
    rows = page[page.index("<tbody>") :]
    assert "Payment: recorded" in rows
    assert "Client: created" not in rows
    by_invoice = actions.client.get("/audit?invoice_no=inv-2026-0001").get_data(as_text=True)
    rows = by_invoice[by_invoice.index("<tbody>") :]
    assert "Invoice: issued" in rows and "Client: created" not in rows


def test_moments_show_in_manila_time_and_days_are_manila_days(app, actions, books):
    # 2026-03-01 17:30 UTC is 01:30 on March 2 in Manila (UTC+8): shown so, and found under March 2.
    with app.app_context():
        entry = AuditEntry(
            at=datetime(2026, 3, 1, 17, 30, tzinfo=UTC), actor_label="owner", action="client.updated", detail="late"
        )
        db.session.add(entry)
        db.session.commit()
    actions.login("owner", "a long enough password")
    page = actions.client.get("/audit?date_from=2026-03-02&date_to=2026-03-02").get_data(as_text=True)
    rows = page[page.index("<tbody>") :]
    assert "Client: updated" in rows and "1:30:00" in rows and "Mar 2, 2026" in rows
    assert "Asia/Manila time" in page
    earlier = actions.client.get("/audit?date_from=2026-03-01&date_to=2026-03-01").get_data(as_text=True)
    assert "Client: updated" not in earlier[earlier.index("<main") :].split("</select>")[-1]


def test_clients_and_anonymous_cannot_read_the_trail(app, client, books, actions_for):
    assert client.get("/audit").status_code == 302
    with app.app_context():
        db.session.add(
            User(username="ana@example.com", role="client", client_id=books["client_id"], password_hash=HASH)
        )
        db.session.commit()
    actions_for(client, app).login("ana@example.com", "a long enough password")
    assert client.get("/audit").status_code == 403


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_no_route_changes_the_trail(app, actions, books, method):
    actions.login("owner", "a long enough password")
    with app.app_context():
        before = db.session.query(AuditEntry).count()
    response = getattr(actions.client, method)("/audit")
    assert response.status_code in (400, 405)
    with app.app_context():
        assert db.session.query(AuditEntry).count() >= before  # sign-in entries may only be added
