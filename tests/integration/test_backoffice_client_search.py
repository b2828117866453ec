"""The client filter of the invoice and payment lists, the client search's suggestions
(GET /clients/lookup) and the new-invoice form's client select: none lists every client, so a
page stays the same size however many clients there are."""

from __future__ import annotations

import json
import re

import pytest
from backoffice_support import (
    ACTOR,
    CLIENT_PASSWORD,
    DAY,
    TODAY,
    make_client,
    make_invoice,
    make_user,
    pay,
    sign_in,
    sign_in_owner,
    text_of,
)

from ais import audit
from ais.backoffice import queries
from ais.billing import services
from ais.billing.methods import METHODS

pytestmark = pytest.mark.usefixtures("books")


@pytest.fixture
def owner(actions):
    sign_in_owner(actions)


@pytest.fixture
def people():
    """Ann and Ben with an invoice and a payment each; Cora (email only matches) and 30 others without."""
    ann = make_client("Ann Cruz", email="ann@example.com")
    ben = make_client("Ben 50%_Reyes", email="ben@example.com")
    cora = make_client("Cora Lim", email="cora.cruz@example.com")
    ids = {"ann": ann, "ben": ben, "cora": cora}
    for name, client_id in ids.items():
        invoice_id = make_invoice(client_id, "100.00", issued=TODAY - 20 * DAY, description=f"For {name}")
        pay(invoice_id, "10.00", reference=f"R-{name.upper()}")
    for n in range(30):
        make_client(f"Quiet Client {n:02}", email=f"quiet{n}@example.com")
    return ids


def invoice_numbers(html) -> list[str]:
    return re.findall(r'class="fw-semibold doc-no" href="/invoices/\d+">([^<]+)</a>', html)


def references(html) -> list[str]:
    # Not inside another word: a page's CSRF tokens (URL-safe base64, several per page) can hold
    # "R-" and a capital letter by chance (about one page in a hundred).
    return re.findall(r"(?<![\w.-])R-[A-Z]+(?![\w.-])", html)


def test_the_lists_do_not_list_every_client(client, owner, people):
    for url in ("/invoices", "/payments", "/payments?state=reported"):
        html = text_of(client.get(url))
        assert "Quiet Client" not in html, url
        assert '<select class="form-select" id="client"' not in html and 'name="client_q"' in html, url
        assert 'data-lookup-url="/clients/lookup?archived=1"' in html and "/static/js/client-picker.js" in html


def test_the_text_search_matches_name_or_email_without_case(client, owner, people):
    assert sorted(references(text_of(client.get("/payments?client_q=CRUZ")))) == ["R-ANN", "R-CORA"]  # Cora by email
    assert len(invoice_numbers(text_of(client.get("/invoices?client_q=cruz")))) == 2
    assert references(text_of(client.get("/payments?client_q=ben@example"))) == ["R-BEN"]


def test_the_text_search_takes_wildcards_literally(client, owner, people):
    assert references(text_of(client.get("/payments?client_q=50%25_"))) == ["R-BEN"]
    assert references(text_of(client.get("/payments?client_q=%25"))) == ["R-BEN"]
    assert "No payments match" in text_of(client.get("/payments?client_q=_x"))


def test_a_chosen_client_is_shown_by_name_with_a_clear_link(client, owner, people):
    html = text_of(client.get(f"/invoices?client={people['ben']}&status=paid&sort=amount"))
    assert "<strong" in html and "Ben 50%_Reyes</strong>" in html
    assert f'<input type="hidden" name="client" value="{people["ben"]}">' in html
    clear = re.search(r'<a class="btn btn-sm btn-outline-secondary text-nowrap" href="([^"]+)">Clear', html).group(1)
    assert "client" not in clear and "status=paid" in clear and "sort=amount" in clear
    assert references(text_of(client.get(f"/payments?client={people['ann']}"))) == ["R-ANN"]


def test_a_chosen_client_wins_over_the_text_and_pages_keep_both(client, owner, people):
    html = text_of(client.get(f"/payments?client={people['ann']}&client_q=ben"))
    assert references(html) == ["R-ANN"]


def test_an_unknown_client_id_filters_nothing(client, owner, people):
    assert len(references(text_of(client.get("/payments?client=999")))) == 3


# --- GET /clients/lookup -------------------------------------------------------------------------


def lookup(client, query: str) -> list[dict]:
    response = client.get(f"/clients/lookup?{query}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))["clients"]


def test_the_lookup_returns_at_most_ten_matches_by_name(client, owner, people):
    found = lookup(client, "q=quiet")
    assert len(found) == 10
    assert [c["label"] for c in found] == [f"Quiet Client {n:02}" for n in range(10)]
    assert lookup(client, "q=CRUZ") == [
        {"id": people["ann"], "label": "Ann Cruz"},
        {"id": people["cora"], "label": "Cora Lim"},
    ]
    assert lookup(client, "q=") == [] and lookup(client, "q=%20%20") == []


def test_the_lookup_leaves_archived_clients_out_unless_asked(client, owner, people):
    services.archive_client(ACTOR, people["ann"])
    assert [c["id"] for c in lookup(client, "q=cruz")] == [people["cora"]]
    assert lookup(client, "q=ann&archived=1") == [{"id": people["ann"], "label": "Ann Cruz (archived)"}]


def test_the_lookup_is_for_owners_only(app, client, actions, people):
    response = client.get("/clients/lookup?q=ann")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    make_user("ann@example.com", CLIENT_PASSWORD, role="client", client_id=people["ann"])
    sign_in(actions, "ann@example.com", CLIENT_PASSWORD)
    assert client.get("/clients/lookup?q=ann").status_code == 403


# --- The new-invoice form ------------------------------------------------------------------------


def select_options(html: str) -> list[str]:
    select = re.search(r'<select[^>]*name="client_id".*?</select>', html, re.S).group(0)
    return [label for value, label in re.findall(r'<option[^>]*value="(\d*)"[^>]*>([^<]*)</option>', select) if value]


def test_the_new_invoice_form_offers_recent_clients_and_a_search(client, owner, people):
    html = text_of(client.get("/invoices/new"))
    offered = select_options(html)
    assert len(offered) == queries.RECENT_CLIENTS
    assert {"Ann Cruz", "Ben 50%_Reyes", "Cora Lim"} <= set(offered)  # invoiced lately
    assert offered == sorted(offered, key=str.lower)
    assert 'data-client-picker="select"' in html and 'data-lookup-url="/clients/lookup"' in html
    assert "Recent clients are listed" in html  # the way to the others without JavaScript


def test_a_client_chosen_elsewhere_is_kept_in_the_select(client, actions, owner, people):
    old = make_client("Old Timer", email="old@example.com")
    for n in range(20):  # newer clients push Old Timer out of the recent ones
        make_client(f"Newer {n:02}", email=f"newer{n}@example.com")
    assert "Old Timer" not in select_options(text_of(client.get("/invoices/new")))
    html = text_of(client.get(f"/invoices/new?client={old}"))
    assert f'<option selected value="{old}">Old Timer</option>' in html
    # Posted (e.g. picked with the search) and refused for another reason: still chosen.
    response = actions.post(
        "/invoices/new",
        {"client_id": str(old), "issue_date": TODAY.isoformat(), "due_date": TODAY.isoformat(), "payment_type": "full"},
    )
    assert f'<option selected value="{old}">Old Timer</option>' in text_of(response)


def test_the_payment_method_filter_comes_from_the_code():
    methods = queries.payment_methods()
    assert {"Cash", "Bank transfer", "GCash", "Maya", "QR Ph", "Check", "Card", "Other", "Cash deposit"} <= set(methods)
    assert "Card (Stripe)" not in methods and len(methods) == len({m.lower() for m in methods})
    assert methods == list(METHODS)  # in the order of ais.billing.methods: the common ones first


def test_the_audit_filter_offers_every_recorded_action(client, owner, people):
    html = text_of(client.get("/audit"))
    assert all(f'<option value="{name}"' in html for name in audit.AUDIT_ACTIONS)
