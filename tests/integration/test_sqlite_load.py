"""Under load on SQLite (gunicorn, two workers on 127.0.0.1) no request answers 5xx: the sessions'
once-a-minute last_seen_at write never fails a read, even when both workers touch one session at
the same moment.  The minute boundary is controlled: the test moves every session's last_seen_at
back by 70 seconds again and again while the requests run, so each time the next requests from
both workers all want to write it at once.

Bounded: 8 client threads, LOAD_REQUESTS requests (about a minute on a busy two-core machine).
"""

from __future__ import annotations

import collections
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from ais import create_app
from ais.audit import Actor
from ais.auth.passwords import hash_password
from ais.billing import services
from ais.extensions import db
from ais.models import User

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough password"
LOAD_REQUESTS = int(os.environ.get("AIS_LOAD_REQUESTS", "2400"))
BOUNDARIES = 12  # times last_seen_at is pushed back past the touch interval during the run
PAGES = {
    "owner": ["/dashboard", "/clients", "/invoices", "/account"],
    "client": ["/portal", "/portal/invoices", "/portal/payments", "/account"],
}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sqlite_books(tmp_path, business_profile):
    if os.environ.get("AIS_TEST_DATABASE_URL"):
        pytest.skip("the SQLite load test runs in the SQLite run of the suite")
    path = tmp_path / "load.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "AIS_ARGON2_FAST": True})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        business_profile()
        actor = Actor.system("test")
        client_id = services.create_client(actor, services.ClientInput(name="Ana Cruz", email="ana@example.com"))
        services.create_invoice(
            actor,
            services.InvoiceInput(
                client_id=client_id,
                issue_date=date(2026, 1, 5),
                due_date=date(2026, 2, 5),
                lines=[services.LineInput("Goods", Decimal("1"), Decimal("900"))],
                payment_type="installment",
                installment_count=3,
                frequency="monthly",
            ),
        )
        hashed = hash_password(PASSWORD)
        db.session.add_all(
            [
                User(username="owner", role="owner", password_hash=hashed),
                User(username="ana@example.com", role="client", client_id=client_id, password_hash=hashed),
            ]
        )
        db.session.commit()
        db.engine.dispose()
    return path


@pytest.fixture
def gunicorn(sqlite_books):
    port = _free_port()
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{sqlite_books}",
        AIS_ENV="development",
        SECRET_KEY=secrets.token_urlsafe(48),
        PORT=str(port),
        HOST="127.0.0.1",
        WEB_CONCURRENCY="2",
        FLASK_SESSION_COOKIE_SECURE="false",
        FLASK_AIS_ARGON2_FAST="true",
        LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "ais:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/healthz", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate()


def _signed_in(base: str, username: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(base + "/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = browser.post(
        base + "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.status_code
    return browser


def test_two_workers_sharing_sessions_across_minute_boundaries_answer_no_5xx(gunicorn, sqlite_books):
    base = gunicorn
    # Four browsers (two owners', two clients' sessions); each is used by several threads at once,
    # so both workers check and touch the same session row at the same moment.
    browsers = [
        (role, _signed_in(base, "owner" if role == "owner" else "ana@example.com"))
        for role in ("owner", "client", "owner", "client")
    ]
    statuses: collections.Counter = collections.Counter()
    banners: set[str] = set()
    lock = threading.Lock()
    done = threading.Event()
    answered = [0]
    crossed = [0]

    def boundaries():
        """The controlled clock: every session's last use moves back 70 s, past the 1-minute touch
        interval, at evenly spaced points of the run (counted in answered requests, so however fast
        the machine, every boundary falls inside the run with requests after it)."""
        connection = sqlite3.connect(sqlite_books, timeout=15)
        try:
            for boundary in range(1, BOUNDARIES + 1):
                due = boundary * LOAD_REQUESTS // (BOUNDARIES + 1)
                while not done.is_set():
                    with lock:
                        if answered[0] >= due:
                            break
                    time.sleep(0.005)
                if done.is_set():
                    break
                with connection:
                    connection.execute(
                        "UPDATE user_sessions SET last_seen_at = datetime(last_seen_at, '-70 seconds') "
                        "WHERE ended_at IS NULL"
                    )
                crossed[0] += 1
        finally:
            connection.close()

    def one(index: int):
        role, browser = browsers[index % len(browsers)]
        path = PAGES[role][(index // len(browsers)) % len(PAGES[role])]
        response = browser.get(base + path, allow_redirects=False, timeout=60)
        with lock:
            statuses[response.status_code] += 1
            banners.add(response.headers.get("Server", ""))
            answered[0] += 1

    clock = threading.Thread(target=boundaries)
    started = time.monotonic()
    clock.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(one, range(LOAD_REQUESTS)))
    finally:
        done.set()
        clock.join()
    elapsed = time.monotonic() - started
    print(
        f"SQLite load: {sum(statuses.values())} requests in {elapsed:.1f} s across {crossed[0]} boundaries, "
        f"statuses {dict(statuses)}"
    )
    assert crossed[0] == BOUNDARIES
    assert sum(statuses.values()) == LOAD_REQUESTS
    assert not [code for code in statuses if code >= 500], statuses
    assert set(statuses) == {200}, statuses  # every session stayed signed in throughout
    assert banners == {"gunicorn"}  # no version (nginx, in front in production, does not pass it on)
    # The touches were written (not all skipped): each session was last seen after the last boundary.
    with sqlite3.connect(sqlite_books) as connection:
        stale = connection.execute(
            "SELECT count(*) FROM user_sessions "
            "WHERE ended_at IS NULL AND last_seen_at < datetime('now', '-60 seconds')"
        ).fetchone()[0]
    assert stale == 0
