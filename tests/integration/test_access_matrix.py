"""The route × method × role table, built from the app's own URL map so a new route cannot hide.

- every POST without a CSRF token is refused (400) and writes nothing, for every role;
- every owner page is refused to clients (403) and sends anonymous visitors to sign in.
"""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ais import create_app
from ais.audit import Actor
from ais.auth.passwords import hash_password
from ais.billing import services
from ais.extensions import db
from ais.models import User

PASSWORD = "a long enough password"
# Public by nature, or verified by their own signature instead of a CSRF token.
CSRF_EXEMPT = {"webhooks.stripe_webhook", "webhooks.paymongo_webhook"}
OWNER_BLUEPRINTS = ("backoffice.",)
PUBLIC_GETS = {"backoffice.index"}  # "/" only redirects, by role


def _rules(method: str):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return sorted(
        (rule.endpoint, rule.rule)
        for rule in app.url_map.iter_rules()
        if method in rule.methods and not rule.endpoint.endswith("static")
    )


def _url(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", rule)


def _row_count() -> int:
    return sum(db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables)


@pytest.fixture
def books(app):
    with app.app_context():
        hashed = hash_password(PASSWORD)
        actor = Actor.system("test")
        client_id = services.create_client(actor, services.ClientInput(name="Ana Cruz", email="ana@example.com"))
        services.create_invoice(
            actor,
            services.InvoiceInput(
                client_id=client_id,
                issue_date=date(2026, 1, 5),
                due_date=date(2026, 2, 5),
                lines=[services.LineInput("Goods", Decimal("1"), Decimal("900"))],
            ),
        )
        db.session.add_all(
            [
                User(username="owner", role="owner", password_hash=hashed),
                User(username="ana@example.com", role="client", client_id=client_id, password_hash=hashed),
            ]
        )
        db.session.commit()


def _sign_in(actions, who):
    if who != "anonymous":
        assert actions.login(who, PASSWORD).status_code == 302


@pytest.mark.parametrize("who", ["anonymous", "owner", "ana@example.com"])
@pytest.mark.parametrize("endpoint,rule", [r for r in _rules("POST") if r[0] not in CSRF_EXEMPT])
def test_a_post_without_a_csrf_token_is_refused_and_writes_nothing(app, actions, books, who, endpoint, rule):
    _sign_in(actions, who)
    with app.app_context():
        before = _row_count()
    response = actions.client.post(_url(rule), data={"amount": "10.00", "reason": "x", "invoice_id": "1"})
    assert response.status_code == 400, (endpoint, response.status_code)
    with app.app_context():
        assert _row_count() == before


OWNER_PAGES = [r for r in _rules("GET") if r[0].startswith(OWNER_BLUEPRINTS) and r[0] not in PUBLIC_GETS]


@pytest.mark.parametrize("endpoint,rule", OWNER_PAGES)
def test_an_owner_page_sends_anonymous_visitors_to_sign_in(client, books, endpoint, rule):
    response = client.get(_url(rule))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("endpoint,rule", OWNER_PAGES)
def test_an_owner_page_is_refused_to_a_client(actions, books, endpoint, rule):
    _sign_in(actions, "ana@example.com")
    assert actions.client.get(_url(rule)).status_code == 403


@pytest.mark.parametrize("endpoint,rule", [r for r in _rules("POST") if r[0].startswith(OWNER_BLUEPRINTS)])
def test_an_owner_action_with_a_valid_token_is_refused_to_a_client(app, actions, books, endpoint, rule):
    _sign_in(actions, "ana@example.com")
    with app.app_context():
        before = _row_count()
    response = actions.post(_url(rule), {"amount": "10.00", "reason": "x"})
    assert response.status_code == 403
    with app.app_context():
        assert _row_count() == before
