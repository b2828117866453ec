"""Faults under a bounded load on PostgreSQL (gunicorn, real processes): a worker killed in the
middle of requests, and every database connection cut at once (what a database restart does to
the app).  After each: no acknowledged payment lost, none doubled, the running totals and
`flask check` clean, and the server answers again without a restart.

The load is the client's "report a payment" form, each post with its own one-time submission key;
a post that got no answer is sent again with the same key, as a browser's retry would be."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text
from stripe_support import DAY, PASSWORD, client_with_invoice

from ais.billing.checks import find_problems
from ais.extensions import db
from ais.models import REPORTED, Invoice, Payment

requests = pytest.importorskip("requests")

ROOT = Path(__file__).resolve().parents[2]
POSTS = 160
AMOUNT = Decimal("10.00")

pytestmark = pytest.mark.postgres


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    assert match, f"no {name} field"
    return match.group(1)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, tmp_path: Path, workers: int = 2):
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        AIS_ENV="development",
        FLASK_SESSION_COOKIE_SECURE="false",
        SECRET_KEY="fault-test-secret-key-0123456789abcdef",
        STRIPE_SECRET_KEY="",
        STRIPE_WEBHOOK_SECRET="",
        FLASK_AIS_ARGON2_FAST="true",
        MAIL_SERVER="",
    )
    log = (tmp_path / "gunicorn.log").open("wb")  # a file: an unread pipe would block the workers
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "30",
            "--no-control-socket",
            "ais:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield server, base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
        log.close()


def workers_of(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def signed_in_browser(base: str, invoice_id: int):
    browser = requests.Session()
    token = hidden(browser.get(f"{base}/login", timeout=10).text, "csrf_token")
    answer = browser.post(
        f"{base}/login",
        data={"username": "ann@example.com", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code in (302, 303), answer.text[:500]
    page = browser.get(f"{base}/portal/invoices/{invoice_id}", timeout=10)
    assert page.status_code == 200
    return browser, hidden(page.text, "csrf_token")


def report_until_answered(base, browser, token, invoice_id, key, today, deadline) -> int:
    """Post the report; after no answer or a 5xx, post it again with the same key (a retry)."""
    while True:
        try:
            status = browser.post(
                f"{base}/portal/payments/add",
                data={
                    "csrf_token": token,
                    "invoice_id": str(invoice_id),
                    "amount": str(AMOUNT),
                    "date": (today - DAY).isoformat(),
                    "method": "Bank transfer",
                    "reference": key[-12:],
                    "submission_key": key,
                },
                allow_redirects=False,
                timeout=10,
            ).status_code
            if status < 500:
                return status
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"no answer for {key} in time"
        time.sleep(0.1)


def run_load(base, invoice_id, today, during) -> tuple[list[str], list[int]]:
    """POSTS reports from 4 threads while ``during(answered)`` injects the fault (``answered()``:
    how many posts have their answer so far); returns keys and answers."""
    browser, token = signed_in_browser(base, invoice_id)
    keys = [f"fault-{i:03d}-{os.urandom(6).hex()}" for i in range(POSTS)]
    answers: list = [None] * POSTS
    deadline = time.monotonic() + 120

    def worker(offset: int) -> None:
        tab = requests.Session()
        tab.cookies.update(browser.cookies)
        for i in range(offset, POSTS, 4):
            answers[i] = report_until_answered(base, tab, token, invoice_id, keys[i], today, deadline)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    during(lambda: sum(answer is not None for answer in answers))
    for thread in threads:
        thread.join(timeout=150)
    assert not any(thread.is_alive() for thread in threads)
    return keys, answers


def assert_each_once_and_books_clean(app, invoice_id: int, keys: list[str], answers: list) -> None:
    assert set(answers) == {303}, answers  # every report accepted in the end (the invoice has room)
    with app.app_context():
        db.session.remove()
        rows = db.session.scalars(select(Payment).where(Payment.invoice_id == invoice_id)).all()
        by_key: dict[str, int] = {}
        for row in rows:
            by_key[row.submission_key] = by_key.get(row.submission_key, 0) + 1
        assert by_key == dict.fromkeys(keys, 1)  # none lost, none doubled
        invoice = db.session.get(Invoice, invoice_id)
        assert invoice.held_amount == AMOUNT * POSTS
        assert all(row.state == REPORTED for row in rows)
        assert find_problems() == []


@pytest.fixture
def books(app, database_url):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("needs PostgreSQL: set AIS_TEST_DATABASE_URL")
        today = date.today()  # the server runs on the real clock
        ann = client_with_invoice("100000.00", issued=today - 10 * DAY)
        db.session.remove()
    return ann, today


def test_workers_killed_mid_request_lose_and_double_nothing(app, database_url, books, tmp_path):
    ann, today = books
    with gunicorn(database_url, tmp_path) as (server, base):
        killed = []

        def kill_workers(answered) -> None:
            for _ in range(3):
                time.sleep(0.3)
                victims = workers_of(server.pid)
                if victims:
                    os.kill(victims[0], signal.SIGKILL)
                    killed.append((victims[0], answered()))

        keys, answers = run_load(base, ann.invoice_id, today, kill_workers)
        assert len(killed) == 3
        assert all(done < POSTS for _, done in killed), killed  # each kill came while posts were running
        # gunicorn replaced the killed workers: the server still answers.
        assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
    assert_each_once_and_books_clean(app, ann.invoice_id, keys, answers)


def test_cutting_every_database_connection_is_survived_and_the_pool_recovers(app, database_url, books, tmp_path):
    ann, today = books
    with gunicorn(database_url, tmp_path) as (server, base):
        cuts = []

        def cut_connections(answered) -> None:
            with app.app_context():
                for _ in range(3):
                    time.sleep(0.3)
                    assert answered() < POSTS, "the load ended before the fault"
                    with db.engine.connect() as connection:
                        ended = connection.execute(
                            text(
                                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                            )
                        ).scalar_one()
                        connection.commit()
                    cuts.append(ended)
                db.engine.dispose()

        keys, answers = run_load(base, ann.invoice_id, today, cut_connections)
        assert len(cuts) == 3 and sum(cuts) > 0, cuts
        # The pool recovered by itself: the same workers answer, signed-in pages included.
        browser, _ = signed_in_browser(base, ann.invoice_id)
        assert browser.get(f"{base}/portal/invoices/{ann.invoice_id}", timeout=10).status_code == 200
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
    assert_each_once_and_books_clean(app, ann.invoice_id, keys, answers)
