"""Security headers, HTTPS enforcement behind a proxy, cookie flags, logs, production settings."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

import pytest
from auth_support import OWNER_PASSWORD, make_client, make_owner

from ais import create_app
from ais.config import ConfigError

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@pytest.fixture(autouse=True)
def _fast(fast_hashing):
    return fast_hashing


def assert_security_headers(response):
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp


def test_headers_on_ok_redirect_not_found_and_server_error(app, client):
    @app.get("/test-only/boom")
    def boom():
        raise RuntimeError("test-only failure")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    ok = client.get("/login")
    redirect = client.get("/account")
    missing = client.get("/no-such-page")
    error = client.get("/test-only/boom")
    assert [r.status_code for r in (ok, redirect, missing, error)] == [200, 302, 404, 500]
    for response in (ok, redirect, missing, error):
        assert_security_headers(response)
    assert ok.headers["Cache-Control"] == "no-store"
    assert "test-only failure" not in error.get_data(as_text=True)  # no details leak
    assert "Something went wrong" in error.get_data(as_text=True)


def https_app(database_url, tmp_path, **config):
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "TESTING": True,
        "SERVER_NAME": "localhost",
        "RATELIMIT_STORAGE_URI": "memory://",
        "FORCE_HTTPS": True,
        "AIS_ARGON2_FAST": True,
    }
    settings.update(config)
    made = create_app(settings)
    made.instance_path = str(tmp_path / "instance")
    return made


def test_force_https_redirects_plain_http(app, database_url, tmp_path):
    secure = https_app(database_url, tmp_path)
    client = secure.test_client()
    response = client.get("/login?next=/account")
    assert response.status_code == 301
    assert response.headers["Location"] == "https://localhost/login?next=/account"
    assert client.post("/login").status_code == 308  # method and body kept
    assert client.get("/healthz").status_code == 200  # load balancers may check over http
    over_https = client.get("/login", base_url="https://localhost")
    assert over_https.status_code == 200
    assert over_https.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_forwarded_proto_counts_only_behind_a_configured_proxy(app, database_url, tmp_path):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    no_proxy = https_app(database_url, tmp_path).test_client()
    assert no_proxy.get("/login", headers=headers).status_code == 301  # a client cannot claim https

    proxied_app = https_app(database_url, tmp_path, PROXY_COUNT=1)
    response = proxied_app.test_client().get("/login", headers=headers)
    assert response.status_code == 200
    with proxied_app.test_request_context("/", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"}):
        from flask import request

        wrapped = proxied_app.wsgi_app
        assert type(wrapped).__name__ == "ProxyFix"
        environ = dict(request.environ)
    seen = {}

    def probe(environ, start_response):
        seen["addr"] = environ["REMOTE_ADDR"]
        seen["scheme"] = environ["wsgi.url_scheme"]
        start_response("200 OK", [])
        return [b""]

    wrapped.app = probe
    wrapped(environ, lambda *a: None)
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}


def test_session_cookie_is_secure_httponly_and_samesite(app, database_url, tmp_path, csrf_token):
    secure = https_app(database_url, tmp_path, FORCE_HTTPS=False, SESSION_COOKIE_SECURE=True)
    make_owner(secure)
    client = secure.test_client()
    response = client.post(
        "/login",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
        data={"username": "owner", "password": OWNER_PASSWORD, "csrf_token": csrf_token(client, secure)},
    )
    assert response.status_code == 302
    cookies = {value.split("=", 1)[0]: value for value in response.headers.getlist("Set-Cookie")}
    assert set(cookies) == {"ais_session", "ais_device"}  # the session, and the known-device mark
    for cookie in cookies.values():
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert OWNER_PASSWORD not in cookie


def test_account_links_stay_out_of_the_request_log(app, client, caplog, monkeypatch):
    # Running the migrations (the session's first app) calls logging.fileConfig, which disables
    # loggers that already exist; switch the request log back on for this test.
    monkeypatch.setattr(logging.getLogger("ais.request"), "disabled", False)
    from ais.audit import Actor
    from ais.auth import tokens

    client_id, _ = make_client(app, login=False)
    with app.test_request_context():
        path = urlsplit(tokens.enable_portal_access(Actor.system(), client_id)).path
    secret = path.rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO, logger="ais.request"):
        assert client.get(path).status_code == 200
    logged = " ".join(record.getMessage() for record in caplog.records if record.name == "ais.request")
    assert "/invite/<token>" in logged and secret not in logged


@pytest.mark.parametrize("secret_key", [None, "short", "dev-only-not-secret", "change-me"])
def test_production_refuses_a_missing_known_or_short_secret_key(monkeypatch, secret_key):
    monkeypatch.setenv("AIS_ENV", "production")
    if secret_key is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret_key)
    with pytest.raises(ConfigError):
        create_app()


def test_production_starts_with_a_long_random_key(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("AIS_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(48))
    made = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_STORAGE_URI": "memory://"})
    assert made.config["AIS_ENV"] == "production"
    assert made.config["SESSION_COOKIE_SECURE"] is True
    assert not made.config.get("AIS_ARGON2_FAST")  # strong hashing unless a test asks otherwise
