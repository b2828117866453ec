"""Every response that can carry account data says Cache-Control: no-store (JSON included).
(gunicorn's Server header: tests/integration/test_sqlite_load.py.)"""

from __future__ import annotations

import pytest
from auth_support import OWNER_PASSWORD, make_owner

from ais.web import STATIC_ENDPOINTS


@pytest.fixture
def owner(app, actions, fast_hashing):
    make_owner(app)
    assert actions.login("owner", OWNER_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "path",
    [
        "/clients/lookup?q=a",
        "/invoices/preview?payment_type=full",
        "/dashboard",
        "/clients",
        "/account",
        "/nowhere",
        "/healthz",
    ],
)
def test_account_data_is_never_cached(client, owner, path):
    response = client.get(path)
    assert response.headers["Cache-Control"] == "no-store", path


def test_every_get_route_of_the_url_map_says_no_store(app, client, owner):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in STATIC_ENDPOINTS or "<" in rule.rule:
            continue
        response = client.get(rule.rule)
        assert response.headers.get("Cache-Control") == "no-store", rule.rule
