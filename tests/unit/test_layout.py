"""The layout's cached tags and URLs (ais.layout) equal what url_for and Bootstrap-Flask build,
for each script root the app is mounted under."""
from __future__ import annotations

import pytest
from flask import request, url_for

from ais.layout import asset_url, bootstrap_css, bootstrap_js, page_url

NAVBAR_PAGES = ["backoffice.index", "backoffice.dashboard", "backoffice.clients", "backoffice.invoices",
                "backoffice.payments", "backoffice.audit", "auth.account", "auth.change_password", "auth.logout"]


@pytest.mark.parametrize("script_root", ["", "/books", "/a b"])
def test_the_layout_parts_equal_what_they_stand_for(app, script_root):
    for _ in range(2):  # built, then read from the cache
        with app.test_request_context("/dashboard", base_url=f"http://localhost{script_root}/"):
            assert request.script_root == script_root
            assert asset_url("css/app.css") == url_for("static", filename="css/app.css")
            assert asset_url("js/app.js") == url_for("static", filename="js/app.js")
            assert asset_url("css/app.css").startswith(url_for("static", filename="x")[:-1])
            for endpoint in NAVBAR_PAGES:
                assert page_url(endpoint) == url_for(endpoint)
            bootstrap = app.extensions["bootstrap"]
            assert bootstrap_css() == bootstrap.load_css() and bootstrap_js() == bootstrap.load_js()
            assert "cdn" not in bootstrap_css() + bootstrap_js()  # served locally


def test_each_script_root_gets_its_own_urls(app):
    with app.test_request_context("/", base_url="http://localhost/one/"):
        one = page_url("backoffice.dashboard")
    with app.test_request_context("/", base_url="http://localhost/two/"):
        two = page_url("backoffice.dashboard")
    assert (one, two) == ("/one/dashboard", "/two/dashboard")


# --- The navbar (ais.layout.navbar) against the template block it replaced -------------------------

from pathlib import Path  # noqa: E402

from flask import g, render_template_string  # noqa: E402
from flask_login import login_user  # noqa: E402
from test_forms_rendering import _normalized  # noqa: E402

from ais.models import User  # noqa: E402

NAVBAR_BLOCK = (Path(__file__).parent / "reference" / "navbar_block.html").read_text()
NAVBAR_CALL = "{{ navbar(awaiting_confirmation if awaiting_confirmation is defined else none) }}"
OWNER_PATHS = ["/dashboard", "/clients", "/clients/7", "/clientsx", "/invoices/3/edit", "/payments",
               "/audit", "/account", "/"]
CLIENT_PATHS = ["/portal", "/portal/invoices", "/portal/invoices/4", "/portal/payments", "/portal/x", "/account"]


def both_navbars(app, path, user=None, waiting=0, script_root=""):
    with app.test_request_context(path, base_url=f"http://localhost{script_root}/"):
        if user is not None:
            login_user(user)
            g.awaiting_confirmation = waiting  # what the session check read
        return (_normalized(render_template_string(NAVBAR_CALL)),
                _normalized(render_template_string(NAVBAR_BLOCK)))


@pytest.mark.parametrize("path", OWNER_PATHS)
@pytest.mark.parametrize("waiting", [0, 3, 17_388])
def test_the_owner_navbar_equals_the_block_it_replaced(app, path, waiting):
    owner = User(id=1, username="admin<&>", role="owner", is_enabled=True)
    got, expected = both_navbars(app, path, owner, waiting)
    assert got == expected
    assert (f">{waiting:d}<span" in got) == bool(waiting) and got.count('aria-current="page"') <= 1


@pytest.mark.parametrize("path", CLIENT_PATHS)
def test_the_client_navbar_equals_the_block_it_replaced(app, path):
    client = User(id=2, username="ñina@example.com", role="client", client_id=5, is_enabled=True)
    got, expected = both_navbars(app, path, client, waiting=4)
    assert got == expected and "awaiting confirmation" not in got and "/dashboard" not in got


@pytest.mark.parametrize("script_root", ["", "/books"])
def test_the_navbar_without_a_signed_in_user_and_under_a_script_root(app, script_root):
    got, expected = both_navbars(app, "/login", script_root=script_root)
    assert got == expected and "Sign out" not in got and f'href="{script_root}/"' in got
    got, expected = both_navbars(app, "/invoices", User(id=1, username="a", role="owner", is_enabled=True), 2,
                                 script_root)
    assert got == expected and f'action="{script_root}/logout"' in got


def test_the_navbar_shows_the_business_name_escaped(app):
    app.config["AIS_BUSINESS_NAME"] = 'Reyes & "Sons" <Trading>'
    got, expected = both_navbars(app, "/dashboard", User(id=1, username="a", role="owner", is_enabled=True))
    assert got == expected and "Reyes &amp; &#34;Sons&#34; &lt;Trading&gt;" in got
