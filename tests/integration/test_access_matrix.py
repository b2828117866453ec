"""The route × method × role table, built from the app's own URL map so a new route cannot hide.

- every POST without a CSRF token is refused (400) and writes nothing, for every role;
- every owner page is refused to clients (403) and sends anonymous visitors to sign in.
"""

import io
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


LEDGER_PAGES = [r for r in OWNER_PAGES if r[0].startswith("backoffice.accounting.")]


@pytest.mark.parametrize("endpoint,rule", LEDGER_PAGES)
def test_an_owner_gets_every_book_and_report(actions, books, endpoint, rule):
    """The ledger's pages, CSVs and PDFs (account 1 and client 1 exist) answer an owner."""
    _sign_in(actions, "owner")
    response = actions.client.get(_url(rule))
    assert response.status_code == 200, (endpoint, response.status_code)
    expected = "text/csv" if rule.endswith(".csv") else "application/pdf" if rule.endswith(".pdf") else "text/html"
    assert response.mimetype == expected


@pytest.mark.parametrize("endpoint,rule", [r for r in _rules("POST") if r[0].startswith(OWNER_BLUEPRINTS)])
def test_an_owner_action_with_a_valid_token_is_refused_to_a_client(app, actions, books, endpoint, rule):
    _sign_in(actions, "ana@example.com")
    with app.app_context():
        before = _row_count()
    response = actions.post(_url(rule), {"amount": "10.00", "reason": "x"})
    assert response.status_code == 403
    with app.app_context():
        assert _row_count() == before


# --- Proofs of payment: the client's own, and owners; anyone else's is the portal's 404 ---------

PNG_1PX = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00"
    b"\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def proofs(app, books):
    """Ana's payment (id 1) and Bo's (id 2), each reported with a proof; Bo signs in too."""
    with app.app_context():
        actor = Actor.system("test")
        bo = services.create_client(actor, services.ClientInput(name="Bo Lim", email="bo@example.com"))
        bo_invoice = services.create_invoice(
            actor,
            services.InvoiceInput(
                client_id=bo,
                issue_date=date(2026, 1, 5),
                due_date=date(2026, 2, 5),
                lines=[services.LineInput("Goods", Decimal("1"), Decimal("500"))],
            ),
        )
        db.session.add(
            User(username="bo@example.com", role="client", client_id=bo, password_hash=hash_password(PASSWORD))
        )
        db.session.commit()
        for client_id, invoice_id in ((1, 1), (bo, bo_invoice)):
            services.report_payment(
                actor,
                client_id,
                invoice_id,
                Decimal("10.00"),
                date(2026, 1, 6),
                "GCash",
                proof=PNG_1PX,
                proof_filename="slip.png",
            )


PROOF_MATRIX = [
    # (who, url, status)
    ("anonymous", "/portal/payments/1/proof", 302),
    ("anonymous", "/payments/1/proof", 302),
    ("owner", "/payments/1/proof", 200),
    ("owner", "/payments/2/proof", 200),
    ("owner", "/payments/3/proof", 404),
    ("ana@example.com", "/portal/payments/1/proof", 200),
    ("ana@example.com", "/portal/payments/2/proof", 404),  # Bo's: not hers, told apart from nothing
    ("ana@example.com", "/portal/payments/3/proof", 404),
    ("ana@example.com", "/payments/1/proof", 403),
    ("bo@example.com", "/portal/payments/2/proof", 200),
    ("bo@example.com", "/portal/payments/1/proof", 404),
]


@pytest.mark.parametrize("who,url,status", PROOF_MATRIX, ids=[f"{w}-{u}" for w, u, _ in PROOF_MATRIX])
def test_a_proof_is_served_only_to_its_client_and_to_owners(actions, proofs, who, url, status):
    _sign_in(actions, who)
    response = actions.client.get(url)
    assert response.status_code == status
    if status == 200:
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"


ADD_PROOF_MATRIX = [
    # (who, url, status): the page for adding a proof to a payment reported without one
    ("anonymous", "/portal/payments/1/add-proof", 302),
    ("owner", "/portal/payments/1/add-proof", 302),  # an owner previews with ?client= only
    ("owner", "/portal/payments/2/add-proof?client=1", 404),  # the preview's scope: Ana's payments
    ("ana@example.com", "/portal/payments/1/add-proof", 200),
    ("ana@example.com", "/portal/payments/2/add-proof", 404),  # Bo's
    ("ana@example.com", "/portal/payments/3/add-proof", 404),
    ("bo@example.com", "/portal/payments/2/add-proof", 200),
    ("bo@example.com", "/portal/payments/1/add-proof", 404),
]


@pytest.mark.parametrize("who,url,status", ADD_PROOF_MATRIX, ids=[f"{w}-{u}" for w, u, _ in ADD_PROOF_MATRIX])
def test_the_add_proof_page_is_only_the_clients_own(actions, proofs, who, url, status):
    _sign_in(actions, who)
    assert actions.client.get(url).status_code == status


@pytest.mark.parametrize("who,status", [("ana@example.com", 404), ("owner", 403)])
def test_adding_a_proof_to_someone_elses_payment_is_refused_and_writes_nothing(app, actions, proofs, who, status):
    """Bo's payment (id 2) awaits confirmation: neither Ana nor an owner (a preview is read-only) adds to it."""
    _sign_in(actions, who)
    with app.app_context():
        before = _row_count()
    response = actions.post(
        "/portal/payments/2/add-proof" + ("?client=2" if who == "owner" else ""),
        {"proof": (io.BytesIO(PNG_1PX), "x.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == status
    with app.app_context():
        assert _row_count() == before


# --- Customer credits: applied by owners only ------------------------------------------------


@pytest.fixture
def customer_credit(app, books, freeze_today):
    """Ana's invoice (id 1) paid in full and credited 100.00: customer credit 1; her second invoice is open."""
    freeze_today(date(2026, 3, 16))
    with app.app_context():
        actor = Actor.system("test")
        services.record_payment(actor, 1, Decimal("900.00"), date(2026, 1, 6), "Cash")
        services.credit_invoice(actor, 1, Decimal("100.00"), "Returned")
        services.create_invoice(
            actor,
            services.InvoiceInput(
                client_id=1,
                issue_date=date(2026, 3, 1),
                due_date=date(2026, 4, 1),
                lines=[services.LineInput("Goods", Decimal("1"), Decimal("500"))],
            ),
        )


CREDIT_MATRIX = [
    # (who, method, url, status)
    ("anonymous", "GET", "/overpayments/1/apply", 302),
    ("owner", "GET", "/overpayments/1/apply", 200),
    ("owner", "GET", "/overpayments/2/apply", 404),  # no such credit
    ("owner", "GET", "/overpayments/99999999999999999999/apply", 404),
    ("owner", "POST", "/overpayments/2/apply", 404),
    ("ana@example.com", "GET", "/overpayments/1/apply", 403),  # her own credit: still the back office
    ("ana@example.com", "POST", "/overpayments/1/apply", 403),
    ("ana@example.com", "POST", "/overpayments/1/resolve", 403),
]


@pytest.mark.parametrize("who,method,url,status", CREDIT_MATRIX, ids=[f"{w}-{m}-{u}" for w, m, u, _ in CREDIT_MATRIX])
def test_a_customer_credit_is_applied_only_by_an_owner(app, actions, customer_credit, who, method, url, status):
    _sign_in(actions, who)
    with app.app_context():
        before = _row_count()
    if method == "GET":
        response = actions.client.get(url)
    else:
        response = actions.post(url, {"invoice_id": "2", "amount": "10.00", "note": "x"})
    assert response.status_code == status
    with app.app_context():
        assert _row_count() == before
