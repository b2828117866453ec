"""make run's server gives the links in emails its own address unless AIS_BASE_URL says otherwise
(an invitation from a server on port 8001 must not point at port 5000)."""

import pytest

from ais import devserver


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8001, "http://127.0.0.1:8001"),
        ("0.0.0.0", 5000, "http://127.0.0.1:5000"),
        ("::1", 9000, "http://[::1]:9000"),
        ("ais.local", 8080, "http://ais.local:8080"),
    ],
)
def test_the_base_url_is_the_servers_own_address(host, port, expected):
    assert devserver.base_url(host, port) == expected


def _served_app(monkeypatch, argv):
    served = {}
    monkeypatch.setattr(devserver, "run_simple", lambda host, port, app, **kwargs: served.update(app=app))
    devserver.main(argv)
    return served["app"]


def test_links_follow_the_port_the_server_listens_on(monkeypatch, tmp_path):
    monkeypatch.setenv("AIS_BASE_URL", "recorded")  # so that the address main() sets is undone after
    monkeypatch.delenv("AIS_BASE_URL")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'dev.sqlite3'}")
    app = _served_app(monkeypatch, ["--port", "8001"])
    assert app.config["AIS_BASE_URL"] == "http://127.0.0.1:8001"
    from ais.links import external_url

    with app.app_context():
        assert external_url("auth.invite", token="abc") == "http://127.0.0.1:8001/invite/abc"


def test_a_configured_base_url_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("AIS_BASE_URL", "https://pay.example.ph/ais")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'dev.sqlite3'}")
    app = _served_app(monkeypatch, ["--port", "8001"])
    from ais.links import external_url

    with app.app_context():
        assert external_url("portal.invoice_detail", invoice_id=7) == "https://pay.example.ph/ais/portal/invoices/7"
        assert (
            external_url("portal.collections.statement", **{"from": "2026-11-01", "to": "2026-11-30"})
            == "https://pay.example.ph/ais/portal/statement?from=2026-11-01&to=2026-11-30"
        )
