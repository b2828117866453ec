"""The outbox worker as a process: stopped with SIGTERM in the middle of a backlog (a graceful
restart), it finishes the batch in hand and exits; started again, it sends the rest, each once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from outbox_support import pending, queue_many

ROOT = Path(__file__).resolve().parents[2]
COUNT = 300


def start_worker(database_url: str, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIS_", "FLASK_", "MAIL_"))}
    env.update(
        DATABASE_URL=database_url, AIS_ENV="development", MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port), MAIL_TIMEOUT="5"
    )
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "flask"), "--app", "ais", "outbox", "--interval", "0.2", "--limit", "20"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_graceful_restart_mid_backlog_sends_every_message_once(app, database_url, smtp_server):
    queue_many(app, COUNT)
    worker = start_worker(database_url, smtp_server.port)
    try:
        wait_until(lambda: len(smtp_server.inbox.messages) >= 40, 120, "the worker sent nothing")
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0 and "Outbox: stopped." in output, output
    assert pending(app) > 0, "the backlog was gone before the stop: nothing tested"

    worker = start_worker(database_url, smtp_server.port)
    try:
        wait_until(lambda: pending(app) == 0, 180, "the restarted worker did not drain the backlog")
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    subjects = [message["Subject"] for message in smtp_server.inbox.messages]
    assert len(subjects) == COUNT and len(set(subjects)) == COUNT  # every message, none twice
