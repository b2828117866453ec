"""Who may see which portal page: the route × role matrix, the owner's "View as client" preview,
and the refusals that reveal nothing (another client's invoice is the same 404 as no invoice)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from portal_support import ANN, BEN, OWNER, TODAY, count, number_of, payments_of, sign_in, text_of

from ais.models import AuditEntry, Payment

ROUTES = {
    "dashboard": "/portal",
    "invoices": "/portal/invoices",
    "a_invoice": "/portal/invoices/{a}",
    "b_invoice": "/portal/invoices/{b}",
    "payments": "/portal/payments",
    "a_invoice_pdf": "/portal/invoices/{a}/invoice.pdf",
    "b_invoice_pdf": "/portal/invoices/{b}/invoice.pdf",
}
ROLES = ("anonymous", "owner", "owner_as_a", "client_a", "client_b")
EXPECTED = {
    # role:       dashboard, invoices, a_invoice, b_invoice, payments, a_invoice_pdf, b_invoice_pdf
    "anonymous": (302, 302, 302, 302, 302, 302, 302),
    "owner": (302, 302, 302, 302, 302, 302, 302),  # no ?client: sent to the client list to choose one
    "owner_as_a": (200, 200, 200, 404, 200, 200, 404),
    "client_a": (200, 200, 200, 404, 200, 200, 404),
    "client_b": (200, 200, 404, 200, 200, 404, 200),
}
MATRIX = [(role, route, EXPECTED[role][i]) for role in ROLES for i, route in enumerate(ROUTES)]


def become(actions, role):
    if role in ("owner", "owner_as_a"):
        sign_in(actions, OWNER)
    elif role == "client_a":
        sign_in(actions, ANN)
    elif role == "client_b":
        sign_in(actions, BEN)


def url_for_case(world, role, route):
    url = ROUTES[route].format(a=world.a_plan, b=world.b_full)
    if role == "owner_as_a":
        url += f"?client={world.ann}"
    return url


@pytest.mark.parametrize("role, route, status", MATRIX, ids=[f"{r}-{p}" for r, p, _ in MATRIX])
def test_route_by_role(client, actions, world, role, route, status):
    become(actions, role)
    url = url_for_case(world, role, route)
    response = client.get(url)
    assert response.status_code == status
    html = "" if response.mimetype == "application/pdf" else text_of(response)
    if role == "anonymous":
        target = urlsplit(response.headers["Location"])
        assert target.path == "/login"
        assert parse_qs(target.query)["next"] == [url]
    elif role == "owner":
        assert urlsplit(response.headers["Location"]).path == "/clients"
    elif status == 200 and url.split("?")[0].endswith(".pdf"):
        assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    elif status == 200:
        others = world.b_secrets if role in ("client_a", "owner_as_a") else world.a_secrets
        for secret in others:
            assert secret not in html, f"{secret!r} leaked into {url}"
    elif status == 404:
        assert "Page not found" in html


@pytest.mark.parametrize("route", ["dashboard", "invoices", "a_invoice", "payments"])
def test_the_owner_preview_shows_a_banner_and_the_clients_data(client, actions, world, route):
    sign_in(actions, OWNER)
    html = text_of(client.get(url_for_case(world, "owner_as_a", route)))
    assert re.search(r'role="status"[^>]*>\s*<div[^>]*>\s*<strong>Preview — viewing as Ann Cruz</strong>', html)
    if route in ("dashboard", "payments"):
        assert "ANN-REF-11" in html  # Ann's payment
    if route in ("invoices", "a_invoice"):
        assert number_of(world.a_plan) in html


def test_every_portal_link_in_a_preview_keeps_the_client(client, actions, world):
    sign_in(actions, OWNER)
    for route in ("dashboard", "invoices", "a_invoice", "payments"):
        html = text_of(client.get(url_for_case(world, "owner_as_a", route)))
        links = re.findall(r'(?:href|action)="(/portal[^"]*)"', html)
        assert links, route
        for link in links:
            assert f"client={world.ann}" in link, f"{link} on {route} lost the client"


def test_the_preview_form_is_disabled_and_has_no_token(client, actions, world):
    sign_in(actions, OWNER)
    html = text_of(client.get(f"/portal/invoices/{world.a_full}?client={world.ann}"))
    form = html[html.index('id="report-payment"') :]
    assert "<fieldset disabled>" in form
    assert 'name="csrf_token"' not in form[: form.index("</form>")]
    assert "you cannot send it" in form


def test_an_owner_cannot_post_to_the_portal(client, actions, world):
    sign_in(actions, OWNER)
    before = count(Payment)
    data = {
        "invoice_id": world.a_full,
        "amount": "100.00",
        "method": "GCash",
        "date": TODAY.isoformat(),
        "submission_key": "k" * 32,
    }
    assert actions.post(f"/portal/payments/add?client={world.ann}", data).status_code == 403
    assert actions.post("/portal/payments/add", data).status_code == 403
    assert count(Payment) == before
    assert payments_of(world.ann)[-1].reference == "ANN-REF-11"


def test_each_preview_page_view_is_audited_and_nothing_is_kept_in_the_session(client, actions, world):
    sign_in(actions, OWNER)
    client.get("/portal/invoices?client=")  # the flash of a preview without a client is read here...
    client.get("/clients")  # ...and shown here
    with client.session_transaction() as session:
        before = {key: value for key, value in session.items() if key != "csrf_token"}
    client.get(f"/portal?client={world.ann}")
    client.get(f"/portal/invoices?client={world.ann}")
    client.get(f"/portal/invoices/{world.a_plan}?client={world.ann}")
    assert count(AuditEntry, AuditEntry.action == "portal.preview", AuditEntry.client_id == world.ann) == 3
    with client.session_transaction() as session:
        after = {key: value for key, value in session.items() if key != "csrf_token"}
    assert after == before


@pytest.mark.parametrize("param", ["abc", "999999", "-1", "1.5", "²", "99999999999", ""])
def test_an_owner_preview_of_no_such_client(client, actions, world, param):
    sign_in(actions, OWNER)
    response = client.get(f"/portal?client={param}")
    if param == "":
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/clients"
    else:
        assert response.status_code == 404
    assert count(AuditEntry, AuditEntry.action == "portal.preview") == 0


@pytest.mark.parametrize("route", ["dashboard", "invoices", "payments"])
def test_a_client_parameter_is_ignored_for_clients(client, actions, world, route):
    sign_in(actions, ANN)
    html = text_of(client.get(ROUTES[route] + f"?client={world.ben}"))
    for secret in world.b_secrets:
        assert secret not in html
    assert "Preview" not in html
    assert f"client={world.ben}" not in html
    if route != "dashboard":
        assert number_of(world.a_plan) in html


def test_a_client_parameter_does_not_open_another_clients_invoice(client, actions, world):
    sign_in(actions, ANN)
    assert client.get(f"/portal/invoices/{world.b_full}?client={world.ben}").status_code == 404


@pytest.mark.parametrize(
    "path", ["/portal/invoices/99999999999999999999", "/portal/invoices/0", "/portal/invoices/abc", "/portal/nothing"]
)
def test_odd_urls_are_404_never_500(client, actions, world, path):
    sign_in(actions, ANN)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("page", ["99999999999999999999", "-4", "abc", "0"])
def test_odd_page_numbers_are_refused_with_a_message(client, actions, world, page):
    sign_in(actions, ANN)
    for path in ("/portal/invoices", "/portal/payments"):
        response = client.get(f"{path}?page={page}")
        assert response.status_code == 400 and "whole number from 1 to 100,000" in response.get_data(as_text=True)


def test_another_clients_invoice_is_the_same_404_as_no_invoice(client, actions, world):
    sign_in(actions, ANN)
    theirs = client.get(f"/portal/invoices/{world.b_full}")
    missing = client.get("/portal/invoices/999999")
    draft = client.get(f"/portal/invoices/{world.a_draft}")
    assert theirs.status_code == missing.status_code == draft.status_code == 404
    assert text_of(theirs) == text_of(missing) == text_of(draft)


def test_posting_to_another_clients_invoice_is_404_and_writes_nothing(client, actions, world):
    sign_in(actions, ANN)
    before = count(Payment)
    form = {"amount": "10.00", "method": "GCash", "date": TODAY.isoformat()}
    theirs = actions.post("/portal/payments/add", {**form, "invoice_id": world.b_full})
    missing = actions.post("/portal/payments/add", {**form, "invoice_id": 999999})
    assert theirs.status_code == missing.status_code == 404
    assert text_of(theirs) == text_of(missing)
    assert count(Payment) == before


@pytest.mark.parametrize("invoice_id", ["", "abc", "999999", "-3", "1e3", "²", "99999999999", "draft"])
def test_posting_to_an_unknown_invoice_is_404(client, actions, world, invoice_id):
    sign_in(actions, ANN)
    if invoice_id == "draft":
        invoice_id = world.a_draft
    before = count(Payment)
    response = actions.post(
        "/portal/payments/add",
        {"invoice_id": invoice_id, "amount": "10.00", "method": "GCash", "date": TODAY.isoformat()},
    )
    assert response.status_code == 404
    assert count(Payment) == before


def test_anonymous_posts_go_to_sign_in_and_write_nothing(client, actions, world):
    before = count(Payment)
    response = actions.post(
        "/portal/payments/add",
        {"invoice_id": world.a_full, "amount": "10.00", "method": "GCash", "date": TODAY.isoformat()},
    )
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    assert count(Payment) == before


def test_a_post_without_the_csrf_token_is_400(client, actions, world):
    sign_in(actions, ANN)
    before = count(Payment)
    response = client.post(
        "/portal/payments/add",
        data={"invoice_id": world.a_full, "amount": "10.00", "method": "GCash", "date": TODAY.isoformat()},
    )
    assert response.status_code == 400
    assert count(Payment) == before
