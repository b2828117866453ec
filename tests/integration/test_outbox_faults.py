"""The outbox under faults: an SMTP server that accepts connections and never answers, a dead
one, and a large backlog (drained in time linear in its size)."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

import pytest
from outbox_support import pending, queue_many
from sqlalchemy import select

from ais import clock
from ais.extensions import db
from ais.mail.commands import MAX_IDLE_WAIT, next_wait
from ais.mail.delivery import MAX_CONSECUTIVE_FAILURES, deliver_due
from ais.models import OutboxMessage


class SilentSmtpServer:
    """Accepts TCP connections on loopback and never says a word (a hung mail server)."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self):
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_smtp(app):
    server = SilentSmtpServer()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USE_TLS=False, MAIL_TIMEOUT=1)
    yield server
    server.close()


def test_a_hanging_smtp_server_stops_the_batch_after_consecutive_failures(app, silent_smtp):
    queue_many(app, 10)
    started = time.monotonic()
    with app.app_context():
        assert deliver_due(100) == (0, MAX_CONSECUTIVE_FAILURES)
    elapsed = time.monotonic() - started
    assert elapsed < MAX_CONSECUTIVE_FAILURES * 1 + 3  # each try bounded by MAIL_TIMEOUT (1 s)
    assert pending(app) == 10  # nothing lost: every message waits for a later poll
    with app.app_context():
        errors = db.session.scalars(select(OutboxMessage.last_error).where(OutboxMessage.attempts == 1)).all()
    assert len(errors) == MAX_CONSECUTIVE_FAILURES and all("timed out" in e.lower() for e in errors)


def test_a_batch_stops_at_its_deadline(app, silent_smtp):
    queue_many(app, 10)
    app.config["AIS_OUTBOX_BATCH_SECONDS"] = 1.5
    started = time.monotonic()
    with app.app_context():
        sent, failed = deliver_due(100)
    # Each try waits MAIL_TIMEOUT (1 s): the second starts at about 1 s, before the deadline, unless a
    # busy machine made the first take 1.5 s; either way the deadline, not the consecutive-failure
    # cap (3), ends the batch.
    assert sent == 0 and 1 <= failed < MAX_CONSECUTIVE_FAILURES
    assert time.monotonic() - started < 4


def test_messages_held_by_a_dead_server_go_out_once_it_is_back(app, freeze_today):
    start = freeze_today(clock.utcnow())
    queue_many(app, 5)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_TIMEOUT=2)  # nothing listens on port 1
    with app.app_context():
        assert deliver_due() == (0, MAX_CONSECUTIVE_FAILURES)
        app.config["MAIL_SERVER"] = ""  # the server is back (here: the .eml files)
        assert deliver_due() == (2, 0)  # the two not tried yet
        freeze_today(start + timedelta(minutes=1))
        assert deliver_due() == (MAX_CONSECUTIVE_FAILURES, 0)
        assert deliver_due() == (0, 0)
    assert pending(app) == 0


def test_the_worker_waits_longer_after_each_poll_that_only_failed():
    assert next_wait(5, 5, sent=0, failed=3) == 10
    assert next_wait(10, 5, sent=0, failed=3) == 20
    assert next_wait(MAX_IDLE_WAIT, 5, sent=0, failed=1) == MAX_IDLE_WAIT
    assert next_wait(80, 5, sent=1, failed=2) == 5
    assert next_wait(80, 5, sent=0, failed=0) == 5


def drain_seconds(app, count: int) -> float:
    queue_many(app, count)
    app.config.update(MAIL_SERVER="", AIS_OUTBOX_BATCH_SECONDS=600)
    started = time.perf_counter()
    with app.app_context():
        assert deliver_due(limit=count + 1) == (count, 0)
    seconds = time.perf_counter() - started
    assert pending(app) == 0
    with app.app_context():
        db.session.query(OutboxMessage).delete()
        db.session.commit()
    return seconds


def test_a_large_backlog_drains_in_time_linear_in_its_size(app):
    # 300 and 3,000 here to keep the suite short; docs/DEPLOYMENT.md has 1,000 against 10,000.
    # The small backlog is drained before and after the large one and the slower of the two is
    # the yardstick: a shared machine's speed drifts over the seconds the large drain takes (CI
    # once measured 300 in 1.0 s, then 3,000 in 17.5 s on a machine that had slowed meanwhile).
    before = drain_seconds(app, 300)
    large = drain_seconds(app, 3_000)
    after = drain_seconds(app, 300)
    small = max(before, after)
    print(f"outbox drain: 300 in {before:.1f}s and {after:.1f}s, 3,000 in {large:.1f}s ({large / small:.1f}x)")
    # Linear: 10x the messages, about 10x the time (a claim query that slowed as the batch grows
    # made it ~20x); the bound leaves room for a busy machine.  Bounded in time as well.
    assert large < 16 * small
    assert large < 240
