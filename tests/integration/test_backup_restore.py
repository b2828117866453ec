"""The backup and restore drill (deploy/backup.sh, deploy/restore.sh) on PostgreSQL: a dump with
private modes and retention, restored into a fresh database where `flask --app ais check` passes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from ais.extensions import db
from ais.models import Invoice, Payment

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


@pytest.fixture
def fresh_database(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: set AIS_TEST_DATABASE_URL")
    name = f"ais_h19_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def script_env(**settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIS_", "FLASK_"))}
    env.update(AIS_ENV="development", PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}", **settings)
    return env


def test_backup_then_restore_into_a_fresh_database_passes_the_check(app, database_url, fresh_database, tmp_path):
    assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    with app.app_context():
        payments = db.session.scalar(select(func.count()).select_from(Payment))
        invoices = db.session.scalar(select(func.count()).select_from(Invoice))
        db.session.remove()
    assert payments > 0

    backups = tmp_path / "backups"
    backups.mkdir()
    old = backups / "ais-20000101T000000Z.dump"
    old.write_bytes(b"an old dump")
    os.utime(old, (time.time() - 20 * 86400,) * 2)
    unrelated = backups / "notes.txt"
    unrelated.write_text("not a dump")
    os.utime(unrelated, (time.time() - 20 * 86400,) * 2)

    backup = subprocess.run(
        [str(ROOT / "deploy" / "backup.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        env=script_env(DATABASE_URL=database_url, AIS_BACKUP_DIR=str(backups), AIS_BACKUP_KEEP_DAYS="14"),
    )
    assert backup.returncode == 0, backup.stderr
    dump = Path(backup.stdout.strip())
    assert dump.parent == backups and dump.name.startswith("ais-") and dump.suffix == ".dump"
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700
    assert not old.exists() and unrelated.exists()  # retention: old dumps only
    assert not list(backups.glob("*.partial"))

    restore = subprocess.run(
        [str(ROOT / "deploy" / "restore.sh"), str(dump), fresh_database],
        capture_output=True,
        text=True,
        timeout=300,
        env=script_env(AIS_HOME=str(ROOT)),
    )
    assert restore.returncode == 0, restore.stdout + restore.stderr
    restored = create_engine(fresh_database)
    with restored.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM payments")) == payments
        assert connection.scalar(text("SELECT count(*) FROM invoices")) == invoices
    restored.dispose()


def test_backup_refuses_to_run_without_a_database_url(tmp_path):
    result = subprocess.run(
        [str(ROOT / "deploy" / "backup.sh")],
        capture_output=True,
        text=True,
        timeout=30,
        env=script_env(AIS_BACKUP_DIR=str(tmp_path / "b")),
    )
    assert result.returncode != 0 and "DATABASE_URL" in result.stderr
