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
