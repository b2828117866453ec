"""The previous release runs on the new schema (issue 19, item 5; docs/DEPLOYMENT.md, "Upgrading").

The upgrade procedure migrates once, from the new release, while the previous one still serves;
rolling back points at the previous release again with the schema left migrated.  Both work only
if the previous release's app reads and writes the new schema.  This test checks that with the
real thing: the previous release's tree is taken from git, a database is migrated to the head
and filled by the new code, and the previous release's app (a subprocess importing its own
``ais`` package) signs in, reads every list, records payments, adds a client and issues an
invoice, and its client reports a payment in the portal.  Then the new code reads what it wrote,
``check`` says what the previous release left undone (it posts no ledger entries, stores no
VAT summary and keeps no confirmed payments per day), and the documented remedy
(``backfill-vat``, ``ledger rebuild --force``, ``rebuild-totals``) makes ``check`` pass.  On
PostgreSQL (the production case) a fresh database, on SQLite a file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import uuid
from decimal import Decimal
from importlib import metadata
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

import ais
from ais import clock, create_app
from ais.extensions import db
from ais.models import Client, Invoice, Payment

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("previous_release_driver.py")

# The release before this one: its tag, and the commit the tag names (recorded here so that a
# clone without tags still finds it; the commit is an ancestor of main).  Update both when a
# release is tagged.
PREVIOUS_RELEASE = "v0.8.0"
PREVIOUS_RELEASE_COMMIT = "6d8779710374f2580c879af4c21ac7ca02b8c49e"


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, timeout=60)


def previous_release_commit() -> str:
    """The tag's commit when the tag is here (it must be the recorded one), else the recorded commit."""
    tagged = git("rev-parse", "--verify", "--quiet", f"{PREVIOUS_RELEASE}^{{commit}}")
    if tagged.returncode == 0:
        sha = tagged.stdout.decode().strip()
        assert sha == PREVIOUS_RELEASE_COMMIT, (
            f"{PREVIOUS_RELEASE} names {sha}, the test records {PREVIOUS_RELEASE_COMMIT}"
        )
    present = git("cat-file", "-e", f"{PREVIOUS_RELEASE_COMMIT}^{{commit}}")
    assert present.returncode == 0, f"the previous release's commit {PREVIOUS_RELEASE_COMMIT} is not in this clone"
    return PREVIOUS_RELEASE_COMMIT


def locked_versions(lock: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", lock.read_text(), flags=re.MULTILINE)
    return {name: version for name, version in pins}


def differing_pins(lock: Path) -> dict[str, tuple[str, str | None]]:
    """The previous release's pins this environment does not have at the same version."""
    differing = {}
    for name, version in locked_versions(lock).items():
        try:
            installed: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            differing[name] = (version, installed)
    return differing


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory) -> tuple[Path, str]:
    """The previous release's tree (its ``ais`` package and lock) and a Python that runs it.

    This environment's packages when it has every version the previous release locked (the case
    while the dependencies are unchanged: no cost); else a virtual environment built from its
    lock (about 17 s with a warm pip cache, and it needs the package index)."""
    commit = previous_release_commit()
    tree = tmp_path_factory.mktemp("previous-release")
    archive = git("archive", "--format=tar", commit, "ais", "requirements.lock")
    assert archive.returncode == 0, archive.stderr.decode()
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    python = sys.executable
    if differing_pins(tree / "requirements.lock"):
        venv = tree / ".venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run(
            [
                str(venv / "bin" / "pip"),
                "install",
                "--quiet",
                "--require-hashes",
                "--no-deps",  # the lock holds every package (see the Makefile's install)
                "-r",
                str(tree / "requirements.lock"),
            ],
            check=True,
            timeout=600,
        )
        python = str(venv / "bin" / "python")
    return tree, python


@pytest.fixture
def upgrade_database(database_url, tmp_path):
    """A database of its own (never the suite's shared one): a fresh PostgreSQL database when the
    suite runs on PostgreSQL, else a SQLite file."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
        return
    name = f"ais_upgrade_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_previous(previous_release, args: list[str], database_url: str, stdin: str = "") -> str:
    """Run Python code of the previous release: its tree first on the path, this tree nowhere."""
    tree, python = previous_release
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIS_", "FLASK_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PYTHONPATH=str(tree), DATABASE_URL=database_url, AIS_ENV="development")
    result = subprocess.run(
        [python, *args], input=stdin, capture_output=True, text=True, timeout=120, env=env, cwd=tree
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result.stdout


def test_columns_added_since_the_previous_release_can_be_left_out(previous_release, upgrade_database):
    """Every column the new schema adds to a table the previous release writes is nullable or has a
    server default: its INSERTs, which do not name the column, cannot fail."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": upgrade_database, "TESTING": True})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        columns = {table: inspect(db.engine).get_columns(table) for table in inspect(db.engine).get_table_names()}
        db.engine.dispose()
    listing = "import json, ais.models; from ais.extensions import db; " + (
        "print(json.dumps({t.name: [c.name for c in t.columns] for t in db.metadata.tables.values()}))"
    )
    previous = json.loads(run_previous(previous_release, ["-c", listing], upgrade_database).splitlines()[-1])
    assert {"invoices", "payments", "clients", "users", "outbox_messages"} <= set(previous)
    added = {
        (table, column["name"]): column
        for table in previous
        for column in columns[table]
        if column["name"] not in previous[table]
    }
    assert ("invoices", "vat_amount") in added  # the test sees the columns added since
    required = [key for key, column in added.items() if not column["nullable"] and column["default"] is None]
    assert required == []


def test_the_previous_release_serves_on_the_upgraded_schema_and_the_remedy_after_it(previous_release, upgrade_database):
    app = create_app({"SQLALCHEMY_DATABASE_URI": upgrade_database, "TESTING": True, "SESSION_COOKIE_SECURE": False})
    runner = app.test_cli_runner()
    # The new release migrates to its head and keeps the books (the demo: clients, installment
    # invoices, payments confirmed and awaiting confirmation, all through the services).
    seeded = runner.invoke(args=["seed"])
    assert seeded.exit_code == 0, seeded.output
    assert runner.invoke(args=["check"]).exit_code == 0
    with app.app_context():
        client1, client2 = db.session.scalars(select(Client.id).order_by(Client.id).limit(2))
        open_left = Invoice.amount - Invoice.paid_amount - Invoice.held_amount
        owners_pick = db.session.scalar(
            select(Invoice.id).where(Invoice.client_id == client2, Invoice.issued_at.is_not(None), open_left >= 1000)
        )
        portal_pick = db.session.scalar(
            select(Invoice.id)
            .where(Invoice.client_id == client1, Invoice.issued_at.is_not(None), open_left >= 500)
            .order_by(Invoice.id.desc())
        )
        payments_before = db.session.scalar(select(func.count()).select_from(Payment))
        db.session.remove()
        db.engine.dispose()
    assert owners_pick and portal_pick

    today = clock.today().isoformat()  # the business's date: the previous release reads the real clock too
    task = {
        "owner": "admin",
        "owner_password": "admin123",
        "client_email": "client1@example.com",
        "client_password": "clientpass",
        "client_id": client1,
        "invoice_id": owners_pick,
        "payment_amount": "1,000.00",
        "portal_invoice_id": portal_pick,
        "reported_amount": "500",
        "today": today,
    }
    output = run_previous(previous_release, [str(DRIVER)], upgrade_database, stdin=json.dumps(task))
    report = json.loads(output.strip().splitlines()[-1])
    tree, _ = previous_release
    assert Path(report["ais_file"]).is_relative_to(tree)  # the previous release's code ran, not this one
    assert report["version"] != ais.__version__  # (0.8.0 had none)
    assert {
        f"POST /invoices/{owners_pick}/payments",
        "POST /clients/new",
        "POST /invoices/new (issue)",
        f"GET /portal/invoices/{portal_pick}",
        "POST /portal/payments/add",
        "POST /payments/<id>/confirm",
        "GET /payments (after confirming)",
    } <= set(report["steps"])

    # What the previous release wrote is in the new schema, as it wrote it.
    with app.app_context():
        payments = db.session.scalars(select(Payment).where(Payment.id > payments_before).order_by(Payment.id)).all()
        assert [(p.invoice_id, p.amount, p.method, p.state) for p in payments] == [
            (owners_pick, Decimal("1000.00"), "Cash", "confirmed"),
            (report["invoice_id"], Decimal("1000.00"), "GCash", "confirmed"),
            (portal_pick, Decimal("500.00"), "Cash deposit", "confirmed"),
        ]
        invoice = db.session.get(Invoice, report["invoice_id"])
        assert invoice.client_id == report["client_id"] and invoice.issued_at is not None
        assert invoice.amount == Decimal("10380.00") and invoice.installment_count == 3
        assert len(invoice.installments) == 3
        invoice_no = invoice.invoice_no
        assert (invoice.vat_amount, invoice.vatable_sales) == (0, 0)  # the previous release stores no summary
        db.session.remove()
        db.engine.dispose()

    # Rolled forward, the new release serves what the previous one wrote.
    web = app.test_client()
    login = web.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.get_data(as_text=True)).group(1)
    assert (
        web.post("/login", data={"csrf_token": token, "username": "admin", "password": "admin123"}).status_code == 302
    )
    for url in (
        "/clients",
        "/invoices",
        "/payments",
        f"/clients/{report['client_id']}",
        f"/invoices/{report['invoice_id']}",
        f"/invoices/{portal_pick}",
    ):
        assert web.get(url).status_code == 200, url

    # `check` says what the previous release left undone ...
    checked = runner.invoke(args=["check"])
    assert checked.exit_code == 1
    problems = checked.output
    assert f"{invoice_no}: VAT is 0.00 but its lines add up to 1,080.00." in problems
    assert "Accounts receivable: the ledger says" in problems
    assert "Account 1020 GCash wallet: the ledger says" in problems
    # ... and the documented remedy, in its order, ends with `check` passing.
    dry = runner.invoke(args=["backfill-vat", "--dry-run"])
    assert dry.exit_code == 0 and "Dry run: 1 invoice(s) would change" in dry.output
    assert "VAT is 0.00 but its lines add up to" in runner.invoke(args=["check"]).output
    filled = runner.invoke(args=["backfill-vat"])
    assert filled.exit_code == 0 and f"{invoice_no}: VAT summary computed from its lines" in filled.output
    rebuilt = runner.invoke(args=["ledger", "rebuild", "--force"])
    assert rebuilt.exit_code == 0 and "Ledger rebuilt:" in rebuilt.output
    # (the previous release keeps no confirmed payments per day: the forecast's running total)
    assert "Due-day totals" in runner.invoke(args=["rebuild-totals", "--dry-run"]).output
    totals = runner.invoke(args=["rebuild-totals"])
    assert totals.exit_code == 0 and "Running totals rebuilt:" in totals.output
    checked = runner.invoke(args=["check"])
    assert checked.exit_code == 0, checked.output
    assert runner.invoke(args=["backfill-vat"]).output.startswith("Nothing to change")
    with app.app_context():
        invoice = db.session.get(Invoice, report["invoice_id"])
        assert (invoice.vatable_sales, invoice.vat_amount, invoice.seller_vat_registered) == (
            Decimal("9000.00"),
            Decimal("1080.00"),
            True,
        )
        db.session.remove()
        db.engine.dispose()
