"""The back office's pages: who may see them, that each renders with data and when empty,
and that what people typed is shown as text, never as markup."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from backoffice_support import (
    CLIENT_PASSWORD,
    DAY,
    TODAY,
    make_client,
    make_invoice,
    make_user,
    pay,
    report,
    sign_in,
    sign_in_owner,
    text_of,
)

pytestmark = pytest.mark.usefixtures("books")

OWNER_PAGES = [
    "/dashboard",
    "/clients",
    "/clients/new",
    "/invoices",
    "/invoices/new",
    "/payments",
    "/payments?state=reported",
]


def some_books():
    """Two clients, an overdue installment plan with a payment, a draft and a reported payment."""
    ann = make_client("Ann Cruz", company="Cruz Trading")
    ben = make_client("Ben Reyes")
    plan = make_invoice(ann, "3000.00", issued=TODAY - 60 * DAY, due=TODAY - 30 * DAY, count=3)
    pay(plan, "500.00", on=TODAY - 20 * DAY)
    draft = make_invoice(ben, "250.00", issued=TODAY, issue=False)
    full = make_invoice(ben, "800.00", issued=TODAY - 5 * DAY, due=TODAY + 10 * DAY)
    report(full, "100.00")
    return {"ann": ann, "ben": ben, "plan": plan, "draft": draft, "full": full}


# --- Who may see the back office ------------------------------------------------------------------


@pytest.mark.parametrize("path", OWNER_PAGES + ["/clients/1", "/invoices/1", "/clients/1/edit"])
def test_anonymous_visitors_are_sent_to_sign_in_with_the_page_to_return_to(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert unquote(response.headers["Location"]).endswith("/login?next=" + path)


@pytest.mark.parametrize("path", OWNER_PAGES)
def test_a_client_gets_403_on_owner_pages(client, actions, path):
    ann = make_client("Ann Cruz", email="ann@example.com")
    make_user("ann@example.com", CLIENT_PASSWORD, role="client", client_id=ann)
    sign_in(actions, "ann@example.com", CLIENT_PASSWORD)
    response = client.get(path)
    assert response.status_code == 403
    assert "have access" in text_of(response)


def test_a_client_cannot_post_to_owner_actions(client, actions):
    ann = make_client("Ann Cruz", email="ann@example.com")
    make_user("ann@example.com", CLIENT_PASSWORD, role="client", client_id=ann)
    sign_in(actions, "ann@example.com", CLIENT_PASSWORD)
    assert actions.post("/clients/new", {"name": "Mallory", "email": "m@example.com"}).status_code == 403


def test_the_site_root_sends_each_person_to_their_home_page(client, actions):
    assert "/login" in client.get("/").headers["Location"]
    sign_in_owner(actions)
    assert client.get("/").headers["Location"].endswith("/dashboard")


def test_the_site_root_sends_a_client_to_the_portal(client, actions):
    ann = make_client("Ann Cruz", email="ann@example.com")
    make_user("ann@example.com", CLIENT_PASSWORD, role="client", client_id=ann)
    sign_in(actions, "ann@example.com", CLIENT_PASSWORD)
    assert client.get("/").headers["Location"].endswith("/portal")


# --- Every page renders ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", OWNER_PAGES)
def test_each_page_renders_on_empty_books_with_a_heading_and_an_empty_state(client, actions, path):
    sign_in_owner(actions)
    response = client.get(path)
    assert response.status_code == 200
    html = text_of(response)
    assert "<h1" in html
    if path in ("/clients", "/invoices", "/payments"):
        assert "empty-state" in html


def test_empty_lists_say_what_to_do(client, actions):
    sign_in_owner(actions)
    assert "Add your first client" in text_of(client.get("/clients"))
    assert "Create your first invoice" in text_of(client.get("/invoices"))
    assert "Record a payment" in text_of(client.get("/payments"))
    assert "Nothing to confirm" in text_of(client.get("/payments?state=reported"))
    dashboard = text_of(client.get("/dashboard"))
    assert "No payments yet" in dashboard and "Nothing falls due" in dashboard


def test_each_page_renders_with_books(client, actions):
    ids = some_books()
    sign_in_owner(actions)
    paths = OWNER_PAGES + [
        f"/clients/{ids['ann']}",
        f"/clients/{ids['ann']}/edit",
        f"/invoices/{ids['plan']}",
        f"/invoices/{ids['draft']}",
        f"/invoices/{ids['draft']}/edit",
        f"/invoices/{ids['full']}",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "<h1" in text_of(response), path


def test_unknown_records_are_404_on_a_friendly_page(client, actions):
    sign_in_owner(actions)
    for path in ("/clients/999", "/invoices/999", "/clients/999/edit", "/invoices/999/edit", "/invoices/99999999999"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Page not found" in text_of(response)
        assert "Go to your home page" in text_of(response)


@pytest.mark.parametrize("action", ["issue", "delete", "void", "replan"])
@pytest.mark.parametrize("invoice_id", ["999", "99999999999"])
def test_actions_on_unknown_invoices_are_404(client, actions, action, invoice_id):
    sign_in_owner(actions)
    response = actions.post(f"/invoices/{invoice_id}/{action}", data={"reason": "x", "installment_count": "2"})
    assert response.status_code == 404


def test_the_navbar_shows_the_owner_links_and_a_sign_out_form(client, actions):
    sign_in_owner(actions)
    html = text_of(client.get("/dashboard"))
    for label, href in (("Clients", "/clients"), ("Invoices", "/invoices"), ("Payments", "/payments")):
        assert f'href="{href}"' in html and label in html
    assert 'aria-current="page"' in html
    assert 'name="csrf_token"' in html and "Sign out" in html


# --- The dashboard ----------------------------------------------------------------------------------


def test_the_dashboard_shows_the_figures(client, actions):
    some_books()
    sign_in_owner(actions)
    html = text_of(client.get("/dashboard"))
    assert "₱3,800.00" in html  # invoiced: 3,000 + 800 (the draft is not counted)
    assert "₱500.00" in html  # collected
    assert "₱3,300.00" in html  # outstanding
    # Overdue: installment 1 (due 30 days ago) less the 500.00 paid, and installment 2 (due 2 days ago).
    assert "₱1,500.00" in html and "2 installments past due" in html
    # Due in 30 days: the 800.00 invoice (in 10 days) and installment 3 (in 29 days).
    assert "₱1,800.00" in html
    assert "Payments to confirm" in html and "₱100.00" in html


def test_the_dashboard_lists_installments_coming_due_in_30_days(client, actions):
    ids = some_books()
    sign_in_owner(actions)
    html = text_of(client.get("/dashboard"))
    section = html.split("Coming due in the next 30 days")[1]
    assert f"/invoices/{ids['full']}" in section  # due in 10 days
    assert "3 of 3" in section  # the plan's last installment, in 29 days
    assert "1 of 3" not in section and "2 of 3" not in section  # overdue ones are not "coming due"


def test_the_dashboard_chart_is_an_accessible_svg_with_a_table(client, actions):
    ann = make_client("Ann Cruz")
    invoice_id = make_invoice(ann, "900.00", issued=TODAY - 90 * DAY)
    pay(invoice_id, "400.00", on=TODAY - 40 * DAY)  # 5 Feb 2026
    pay(invoice_id, "200.00", on=TODAY - 2 * DAY)  # 14 Mar 2026
    sign_in_owner(actions)
    html = text_of(client.get("/dashboard"))
    assert '<svg class="bar-chart"' in html and 'role="img"' in html and 'aria-label="Bar chart' in html
    assert "<title>Feb 2026: ₱400.00</title>" in html
    assert "<title>Mar 2026: ₱200.00</title>" in html
    assert "<title>Apr 2025: ₱0.00</title>" in html  # the 12 months end with this one
    assert "<title>Mar 2025" not in html
    hidden_table = html.split('<table class="visually-hidden">')[1].split("</table>")[0]
    assert "February 2026" in hidden_table and "₱400.00" in hidden_table


def test_a_confirm_button_on_the_dashboard_returns_to_the_dashboard(client, actions):
    ids = some_books()
    sign_in_owner(actions)
    html = text_of(client.get("/dashboard"))
    assert "/payments/" in html and 'value="/dashboard"' in html
    assert ids


# --- What people typed stays text ---------------------------------------------------------------


def test_markup_in_a_client_name_is_shown_escaped_everywhere(client, actions):
    evil = "<script>alert(1)</script>"
    ann = make_client(evil, email="evil@example.com", company="<b>Bold</b>")
    invoice_id = make_invoice(ann, "100.00", description="<img src=x onerror=alert(1)>")
    pay(invoice_id, "10.00", reference="<i>ref</i>")
    sign_in_owner(actions)
    for path in (
        "/dashboard",
        "/clients",
        f"/clients/{ann}",
        "/invoices",
        f"/invoices/{invoice_id}",
        "/payments",
        "/invoices/new",
        f"/clients/{ann}/edit",
    ):
        html = text_of(client.get(path))
        assert "<script>alert(1)</script>" not in html, path
        assert "<b>Bold</b>" not in html, path
        assert "<img src=x" not in html and "<i>ref</i>" not in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text_of(client.get("/clients"))


def test_pages_have_no_inline_scripts_or_styles(client, actions):
    ids = some_books()
    sign_in_owner(actions)
    for path in OWNER_PAGES + [f"/invoices/{ids['plan']}", f"/clients/{ids['ann']}"]:
        html = text_of(client.get(path))
        assert "style=" not in html, path
        assert " onclick=" not in html and " onerror=" not in html, path
        for chunk in html.split("<script")[1:]:
            assert chunk.lstrip().startswith("src=") or ' src="' in chunk.split(">")[0], path


# --- Flat cost: a page's queries do not grow with the rows it shows ---------------------------------


def _queries_for(client, count_queries, path) -> int:
    client.get(path)  # warm up (first-use queries)
    with count_queries() as counter:
        assert client.get(path).status_code == 200
    return counter.count


@pytest.mark.parametrize("path", ["/dashboard", "/clients", "/invoices", "/payments", "/payments?state=reported"])
def test_list_pages_use_the_same_number_of_queries_for_few_or_many_rows(client, actions, count_queries, path):
    sign_in_owner(actions)
    some_books()
    few = _queries_for(client, count_queries, path)
    for n in range(6):
        extra = make_client(f"Extra {n}")
        invoice_id = make_invoice(extra, "100.00", issued=TODAY - 20 * DAY, due=TODAY + 5 * DAY, count=2)
        pay(invoice_id, "10.00")
        report(invoice_id, "5.00")
    many = _queries_for(client, count_queries, path)
    assert many == few, path


def test_the_invoice_page_uses_the_same_number_of_queries_for_few_or_many_payments(client, actions, count_queries):
    sign_in_owner(actions)
    ann = make_client("Ann Cruz")
    invoice_id = make_invoice(ann, "1000.00", count=4)
    pay(invoice_id, "10.00")
    few = _queries_for(client, count_queries, f"/invoices/{invoice_id}")
    for _ in range(8):
        pay(invoice_id, "10.00")
    assert _queries_for(client, count_queries, f"/invoices/{invoice_id}") == few
