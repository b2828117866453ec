"""The owner's client pages: adding and editing clients, the list's search and paging,
archiving, and portal access."""

from __future__ import annotations

import re

import pytest
from backoffice_support import DAY, TODAY, count, fresh, make_client, make_invoice, pay, sign_in_owner, text_of
from sqlalchemy import select

from ais.models import AuditEntry, Client, User

pytestmark = pytest.mark.usefixtures("books")


@pytest.fixture
def owner(actions):
    sign_in_owner(actions)


def client_form(**fields):
    data = {
        "name": "Ann Cruz",
        "email": "ann@example.com",
        "company": "Cruz Trading",
        "phone": "0917",
        "tax_id": "123 456 789 00000",
        "address": "Makati",
    }
    data.update(fields)
    return data


# --- Adding and editing ---------------------------------------------------------------------------


def test_adding_a_client_saves_it_and_shows_its_page(client, actions, owner):
    response = actions.post("/clients/new", client_form())
    assert response.status_code == 302
    saved = fresh().scalar(select(Client))
    assert (saved.name, saved.email, saved.company, saved.address) == (
        "Ann Cruz",
        "ann@example.com",
        "Cruz Trading",
        "Makati",
    )
    assert saved.tax_id == "123-456-789-00000"  # the buyer's TIN, written the usual way
    assert response.headers["Location"].endswith(f"/clients/{saved.id}")
    page = text_of(client.get(response.headers["Location"]))
    assert "Ann Cruz was added." in page


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"name": "  "}, "Enter the client&#39;s name."),
        ({"email": ""}, "Enter a valid email address."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"email": "ann @example.com"}, "Enter a valid email address."),
        ({"tax_id": "123"}, "Enter the 9-digit TIN, with its branch code if any"),
    ],
)
def test_a_client_with_bad_details_is_refused_next_to_the_field(client, actions, owner, fields, message):
    response = actions.post("/clients/new", client_form(**fields))
    assert response.status_code == 200
    html = text_of(response)
    assert message in html
    assert 'aria-invalid="true"' in html and "invalid-feedback" in html
    assert count(Client) == 0


def test_a_duplicate_email_is_refused_whatever_its_case(client, actions, owner):
    make_client("Ann Cruz", email="ann@example.com")
    response = actions.post("/clients/new", client_form(name="Other Ann", email="ANN@Example.com"))
    assert response.status_code == 200
    assert "Another client already uses this email address." in text_of(response)
    assert count(Client) == 1


def test_the_form_keeps_what_was_typed_after_a_refusal(client, actions, owner):
    html = text_of(actions.post("/clients/new", client_form(email="bad", company="Keep Me Co")))
    assert 'value="Keep Me Co"' in html


def test_editing_a_client_saves_the_changes(client, actions, owner):
    ann = make_client("Ann Cruz", email="ann@example.com")
    assert 'value="Ann Cruz"' in text_of(client.get(f"/clients/{ann}/edit"))
    response = actions.post(f"/clients/{ann}/edit", client_form(name="Ann Cruz-Reyes", email="ann.cr@example.com"))
    assert response.status_code == 302
    saved = fresh().get(Client, ann)
    assert (saved.name, saved.email) == ("Ann Cruz-Reyes", "ann.cr@example.com")


def test_editing_to_another_clients_email_is_refused(client, actions, owner):
    make_client("Ben Reyes", email="ben@example.com")
    ann = make_client("Ann Cruz", email="ann@example.com")
    response = actions.post(f"/clients/{ann}/edit", client_form(email="ben@example.com"))
    assert "Another client already uses this email address." in text_of(response)
    assert fresh().get(Client, ann).email == "ann@example.com"


def test_a_form_without_its_csrf_token_changes_nothing(client, actions, owner):
    response = client.post("/clients/new", data=client_form())
    assert response.status_code == 400
    assert count(Client) == 0


# --- The list --------------------------------------------------------------------------------------


def test_search_matches_name_email_or_company_ignoring_case(client, actions, owner):
    make_client("Ann Cruz", email="ann@example.com", company="Sunrise Foods")
    make_client("Ben Reyes", email="ben@reyes.ph")
    make_client("Carla Santos", email="carla@example.com")
    for query, expected in (
        ("ANN", {"Ann Cruz"}),
        ("reyes.ph", {"Ben Reyes"}),
        ("sunrise", {"Ann Cruz"}),
        ("example.com", {"Ann Cruz", "Carla Santos"}),
        ("zzz", set()),
    ):
        html = text_of(client.get("/clients", query_string={"q": query}))
        shown = {name for name in ("Ann Cruz", "Ben Reyes", "Carla Santos") if f">{name}</a>" in html}
        assert shown == expected, query
    assert "No clients match your search" in text_of(client.get("/clients?q=zzz"))


def test_search_treats_wildcards_as_text(client, actions, owner):
    make_client("Ann Cruz", email="ann@example.com")
    make_client("100% Cotton", email="cotton@example.com")
    html = text_of(client.get("/clients", query_string={"q": "%"}))
    assert "100% Cotton" in html and "Ann Cruz" not in html


def test_the_list_pages_25_clients_at_a_time_by_name(client, actions, owner):
    for n in range(30):
        make_client(f"Client {n:02d}", email=f"c{n:02d}@example.com")
    first = text_of(client.get("/clients"))
    assert "Client 00" in first and "Client 24" in first and "Client 25" not in first
    assert "Showing 1–25 of 30" in first
    second = text_of(client.get("/clients?page=2"))
    assert "Client 25" in second and "Client 29" in second and "Client 24" not in second
    assert "Showing 26–30 of 30" in second


def test_the_list_shows_each_clients_outstanding_balance(client, actions, owner):
    ann = make_client("Ann Cruz")
    invoice_id = make_invoice(ann, "1000.00")
    pay(invoice_id, "250.00")
    make_invoice(ann, "99.00", issue=False)  # drafts owe nothing
    assert "₱750.00" in text_of(client.get("/clients"))


def test_archived_clients_are_hidden_unless_asked_for(client, actions, owner):
    ann = make_client("Ann Cruz")
    make_client("Ben Reyes")
    actions.post(f"/clients/{ann}/archive")
    assert fresh().get(Client, ann).archived_at is not None
    assert ">Ann Cruz</a>" not in text_of(client.get("/clients"))
    shown = text_of(client.get("/clients?archived=y"))
    assert ">Ann Cruz</a>" in shown and "Archived" in shown


def test_archiving_and_restoring_a_client(client, actions, owner):
    ann = make_client("Ann Cruz")
    response = actions.post(f"/clients/{ann}/archive")
    assert response.status_code == 302
    page = text_of(client.get(f"/clients/{ann}"))
    assert "was archived" in page and "Restore client" in page
    actions.post(f"/clients/{ann}/restore")
    assert fresh().get(Client, ann).archived_at is None
    actions_logged = set(fresh().scalars(select(AuditEntry.action)))
    assert {"client.archived", "client.restored"} <= actions_logged


def test_an_archived_client_is_not_offered_for_new_invoices(client, actions, owner):
    ann = make_client("Ann Cruz")
    make_client("Ben Reyes")
    actions.post(f"/clients/{ann}/archive")
    html = text_of(client.get("/invoices/new"))
    assert "Ben Reyes" in html and "Ann Cruz" not in html


# --- The client's page -----------------------------------------------------------------------------


def test_the_client_page_shows_balances_and_invoices(client, actions, owner):
    ann = make_client("Ann Cruz", company="Cruz Trading")
    first = make_invoice(ann, "1000.00", issued=TODAY - 40 * DAY, due=TODAY - 10 * DAY)
    pay(first, "400.00")
    make_invoice(ann, "500.00", issued=TODAY - 2 * DAY, due=TODAY + 20 * DAY)
    html = text_of(client.get(f"/clients/{ann}"))
    assert "₱1,500.00" in html  # invoiced
    assert "₱400.00" in html  # paid
    assert "₱1,100.00" in html  # outstanding
    assert "₱600.00" in html  # overdue
    assert "INV-2026-0001" in html and "INV-2026-0002" in html
    assert "Overdue" in html and "Pending" in html
    assert f'href="/portal?client={ann}"' in html  # view as client


def test_the_client_page_pages_its_invoices(client, actions, owner):
    ann = make_client("Ann Cruz")
    for _ in range(27):
        make_invoice(ann, "10.00")
    first = text_of(client.get(f"/clients/{ann}"))
    assert "Showing 1–25 of 27" in first
    assert "Showing 26–27 of 27" in text_of(client.get(f"/clients/{ann}?page=2"))


# --- Portal access ----------------------------------------------------------------------------------


def test_a_client_without_a_login_shows_no_login_and_an_enable_button(client, actions, owner):
    ann = make_client("Ann Cruz")
    html = text_of(client.get(f"/clients/{ann}"))
    assert "No login" in html and "Enable portal access" in html


def test_enabling_portal_access_shows_the_invitation_link_once(app, client, actions, owner):
    ann = make_client("Ann Cruz")
    response = actions.post(f"/clients/{ann}/portal-access", {"action": "enable"})
    assert response.status_code == 302
    page = text_of(client.get(f"/clients/{ann}"))
    base = app.config["AIS_BASE_URL"].rstrip("/")
    link = re.search(rf'value="({re.escape(base)}/invite/[^"]+)"', page)
    assert link, "the invitation link is shown"
    assert "expires in 7 days" in page
    token = link.group(1).rsplit("/", 1)[1]
    assert token not in text_of(client.get(f"/clients/{ann}"))  # shown once


def test_disabling_a_client_without_a_login_is_refused_and_changes_nothing(client, actions, owner):
    ann = make_client("Ann Cruz")
    response = actions.post(f"/clients/{ann}/portal-access", {"action": "disable"}, follow_redirects=True)
    assert "This client has no portal login." in text_of(response)
    assert fresh().scalar(select(User).where(User.client_id == ann)) is None


def test_an_unknown_portal_action_changes_nothing(client, actions, owner):
    ann = make_client("Ann Cruz")
    response = actions.post(f"/clients/{ann}/portal-access", {"action": "delete"}, follow_redirects=True)
    assert "Choose to enable or disable" in text_of(response)
    assert fresh().scalar(select(User).where(User.client_id == ann)) is None


def test_portal_access_with_the_real_sign_in_area(app, client, actions, owner):
    ann = make_client("Ann Cruz", email="ann@example.com")
    actions.post(f"/clients/{ann}/portal-access", {"action": "enable"})
    login = fresh().scalar(select(User).where(User.client_id == ann))
    assert (login.username, login.role, login.is_enabled, login.password_hash) == (
        "ann@example.com",
        "client",
        True,
        None,
    )
    page = text_of(client.get(f"/clients/{ann}"))
    assert "Invited" in page and app.config["AIS_BASE_URL"].rstrip("/") + "/invite/" in page
    actions.post(f"/clients/{ann}/portal-access", {"action": "disable"})
    assert fresh().get(User, login.id).is_enabled is False
    page = text_of(client.get(f"/clients/{ann}"))
    assert "Disabled" in page and "Enable portal access" in page


def test_a_refusal_from_the_sign_in_area_is_shown(client, actions, owner):
    ann = make_client("Ann Cruz", email="ann@example.com")
    response = actions.post(f"/clients/{ann}/portal-access", {"action": "disable"}, follow_redirects=True)
    assert "This client has no portal login." in text_of(response)
    assert count(User) == 1  # the owner only
