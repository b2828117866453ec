"""Every response that can carry account data says Cache-Control: no-store (JSON included), and no
server names its software in the Server header."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from auth_support import free_port
from stripe_support import client_with_invoice, make_user, sign_in

from ais.web import STATIC_ENDPOINTS

ROOT = Path(__file__).resolve().parents[2]
OWNER, CLIENT = "owner", "ann@example.com"


@pytest.fixture
def ids(app, stripe_on):
    """An owner, Ann (a client with a portal login) and her installment invoice."""
    books = client_with_invoice(amount="900.00", count=3, email=CLIENT)
    make_user(OWNER, "owner")
    return {"client_id": books.client_id, "invoice_id": books.invoice_id}


def _url(rule: str, ids: dict[str, int]) -> str:
    # A real row where there is one (a client, an invoice); any other id or token: no such row.
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(ids.get(m.group(1), 7)), rule)


@pytest.mark.parametrize("who", ["anonymous", CLIENT, OWNER])
def test_every_route_answers_no_store_to_every_role(app, actions, ids, who):
    if who != "anonymous":
        sign_in(actions, who)
    seen = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in STATIC_ENDPOINTS or rule.endpoint == "auth.logout":
            continue
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            url = _url(rule.rule, ids)
            response = actions.client.get(url) if method == "GET" else actions.post(url, {})
            assert response.headers.get("Cache-Control") == "no-store", (who, method, url, response.status_code)
            seen += 1
    assert seen > 40


@pytest.mark.parametrize(
    "path", ["/clients/lookup?q=Ann", "/invoices/preview?payment_type=installment&installment_count=3"]
)
def test_json_with_account_data_is_no_store(app, actions, ids, path):
    sign_in(actions, OWNER)
    response = actions.client.get(path)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(app, client):
    response = client.get("/static/js/app.js")
    assert response.status_code == 200 and response.headers.get("Cache-Control") != "no-store"


# --- No server software banner --------------------------------------------------------------------


def _server(kind: str, port: int, database: Path) -> subprocess.Popen:
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{database}",
        AIS_ENV="development",
        SECRET_KEY=secrets.token_urlsafe(48),
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="1",
        LOG_LEVEL="WARNING",
    )
    if kind == "gunicorn":
        command = [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "ais:create_app()"]
    else:  # make run
        command = [sys.executable, "-m", "ais.devserver", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def _headers(port: int, path: str) -> list[tuple[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.getheaders()
    finally:
        connection.close()


@pytest.mark.parametrize("kind", ["devserver", "gunicorn"])
def test_no_server_names_its_software(tmp_path, kind):
    port = free_port()
    server = _server(kind, port, tmp_path / "banner.sqlite3")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answers = [_headers(port, path) for path in ("/healthz", "/no-such-page")]
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, f"{kind} did not start"
                time.sleep(0.2)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate()
    # The development server says AIS; gunicorn says "gunicorn" with no version (it has no setting
    # to change that, and in production nginx stands in front and does not pass it on).
    expected = ["AIS"] if kind == "devserver" else ["gunicorn"]
    for headers in answers:
        assert [value for name, value in headers if name.lower() == "server"] == expected, headers
        text = " ".join(f"{name}: {value}" for name, value in headers).lower()
        assert not {"werkzeug", "python"} & set(re.findall(r"[a-z]+", text)), headers
        assert not re.search(r"\d+\.\d+", " ".join(v for n, v in headers if n.lower() == "server")), headers
