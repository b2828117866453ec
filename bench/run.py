#!/usr/bin/env python3
"""`make bench`: load-test the client portal and the owner's pages on PostgreSQL with wrk.

For each data size (small = 6,000 payments, default = ~36,000, large = 600,000) this driver

1. drops and creates its own database ``ais_bench_<size>``, runs ``flask db upgrade`` and
   ``flask gen-demo``, fills the audit trail the way the service layer would have (one entry per
   client, invoice and payment: gen-demo writes the books with bulk inserts and no audit), and
   runs VACUUM ANALYZE;
2. serves each data set with its own gunicorn (2 workers, gunicorn.conf.py) on a free port of
   127.0.0.1, all of them for the whole run (an idle server costs nothing);
3. signs in the owner and the client (GET /login for the CSRF token, POST /login, and the page
   it leads to, as a browser would) to get their ``ais_session`` cookies;
4. loads every portal page and every owner page (the sales invoice PDF among them) with
   ``wrk -t2 -c8 -d<duration>s --latency``, one after the other, each page on every data set in
   turn (the machine's speed drifts over minutes: the sets are compared on runs seconds apart),
   and /healthz (the ceiling: no sign-in, one ``SELECT 1``) on the same server before its first
   page and after each page, so that each page is compared with the ceiling measured right
   around it; measures the CPU time of gunicorn and its PostgreSQL backends and what other
   programs used meanwhile (on a shared machine it waits for quiet and measures a disturbed page
   again);
5. counts the SQL statements each page runs (in a child process: create_app on the same
   database, a signed-in test client and a ``before_cursor_execute`` listener);
6. stops the servers and drops the databases (``--keep`` keeps them).

It then writes the tables (and how each page stands against the targets) between the
``<!-- bench:begin -->`` and ``<!-- bench:end -->`` markers of docs/PERFORMANCE.md, and the raw
figures and wrk outputs under bench-output/.

Environment (or the matching options): BENCH_SIZE (``large`` adds the 600,000-payment set; or a
comma-separated list of sizes), BENCH_DURATION (seconds per page, default 10), BENCH_CONNECTIONS
(8), BENCH_THREADS (2), BENCH_WORKERS (2), BENCH_CEILING_DURATION (seconds per /healthz run, 5),
BENCH_PG_URL (the server, default
``postgresql://postgres@127.0.0.1:5432``), BENCH_KEEP=1 (keep the databases), BENCH_MAX_OTHER_CORES
(0.15), BENCH_MAX_WAIT (90 s), BENCH_RETRIES (2), BENCH_COMMAND (the command shown in the report).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import html
import http.client
import json
import os
import platform
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
OUTPUT_DIR = ROOT / "bench-output"
DOC = ROOT / "docs" / "PERFORMANCE.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

# clients × invoices per client × about K payments per invoice
SIZES = {
    "small": (50, 20, 6),  # ~6,000 payments
    "default": (300, 20, 6),  # ~36,000 payments (gen-demo's defaults)
    "large": (5000, 20, 6),  # ~600,000 payments
}
ORDER = ["small", "default", "large"]

# The performance budget: at least 0.20 of the trivial route's requests/s, p99 under 50 ms at 8
# connections, at most 1.15× slower on the biggest books than on the smallest.
MIN_RATIO = 0.20
MAX_P99_MS = 50.0
MAX_SLOWDOWN = 1.15
# A PDF is laid out by WeasyPrint (tens to hundreds of milliseconds of CPU): its own budget is a
# p99 under 1 s at the same 8 connections and 2 workers (issue 20), and no ratio to the ceiling.
PDF_MAX_P99_MS = 1000.0

CLIENT_PAGES = [
    "/portal",
    "/portal/invoices",
    "/portal/invoices/{invoice}",
    "/portal/invoices/{invoice}/invoice.pdf",
    "/portal/payments",
    "/portal/statement",
]
OWNER_PAGES = [
    "/dashboard",
    "/clients",
    "/clients/1",
    "/invoices",
    "/invoices/{invoice}",
    "/invoices/{invoice}/invoice.pdf",
    "/payments",
    "/payments?state=reported",
    "/audit",
    "/clients/1/statement",
    "/aging",
    # As of the end of last year (what an accountant asks for at year end): what was open on a
    # past day follows the payments dated since.
    "/aging?as_of={year_end}",
    "/aging/clients/1",
    "/forecast",
    "/ledger/trial-balance",
    "/ledger/accounts/{receivable}",
    "/ledger/journal",
    "/ledger/income-statement",
    "/ledger/balance-sheet",
    "/ledger/receivables",
    "/ledger/receivables/clients/1",
    # The last three whole months: a full page of 50 entries on every data set (the month so far
    # holds a handful of invoices on the small books), so the sets are compared on the same page.
    "/ledger/sales-journal?from={months_from}&to={months_to}",
    "/ledger/cash-receipts-journal",
]


def is_pdf(page: str) -> bool:
    return page.endswith(".pdf")


def targets(page: str) -> tuple[float | None, float]:
    """A page's (least ratio to the ceiling, or None when it has none; p99 bound in ms)."""
    return (None, PDF_MAX_P99_MS) if is_pdf(page) else (MIN_RATIO, MAX_P99_MS)


OWNER = ("admin", "admin123")
CLIENT = ("client1@example.com", "clientpass")
SECRET_KEY = "bench-only-" + "x" * 40  # a throwaway key for a throwaway database


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- PostgreSQL -----------------------------------------------------------------------------------


def pg_connect(server_url: str, dbname: str):
    import psycopg

    return psycopg.connect(f"{server_url.rstrip('/')}/{dbname}", autocommit=True)


def database_url(server_url: str, dbname: str) -> str:
    return f"{server_url.rstrip('/')}/{dbname}"


def recreate_database(server_url: str, dbname: str) -> None:
    with pg_connect(server_url, "postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')


def drop_database(server_url: str, dbname: str) -> None:
    with pg_connect(server_url, "postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


AUDIT_FILL = [
    # What the service layer writes when the books are built one action at a time.
    """INSERT INTO audit_entries (at, actor_id, actor_label, action, ip_address, client_id, detail)
       SELECT created_at, 1, 'admin', 'client.created', '127.0.0.1', id, '' FROM clients""",
    """INSERT INTO audit_entries (at, actor_id, actor_label, action, ip_address, client_id, invoice_id,
                                  amount_after, detail)
       SELECT (issue_date + time '09:00') AT TIME ZONE 'UTC', 1, 'admin', 'invoice.issued', '127.0.0.1',
              client_id, id, amount, invoice_no FROM invoices""",
    """INSERT INTO audit_entries (at, actor_id, actor_label, action, ip_address, client_id, invoice_id,
                                  payment_id, amount_after, detail)
       SELECT (date + time '15:00') AT TIME ZONE 'UTC', 1, 'admin', 'payment.recorded', '127.0.0.1',
              client_id, invoice_id, id, amount, method FROM payments""",
]


def prepare_books(server_url: str, dbname: str, size: str) -> dict:
    """Schema, gen-demo, the audit trail, ANALYZE; returns what the books hold and the page ids."""
    clients, invoices, payments = SIZES[size]
    env = app_env(database_url(server_url, dbname))
    flask = [str(VENV_BIN / "flask"), "--app", "ais"]
    started = time.perf_counter()
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    log(f"{dbname}: gen-demo --clients {clients} --invoices {invoices} --payments {payments}")
    result = subprocess.run(
        [*flask, "gen-demo", "--clients", str(clients), "--invoices", str(invoices), "--payments", str(payments)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"gen-demo failed:\n{result.stdout}\n{result.stderr}")
    generated = time.perf_counter() - started
    with pg_connect(server_url, dbname) as conn:
        for statement in AUDIT_FILL:
            conn.execute(statement)
        conn.execute("VACUUM ANALYZE")
        facts = {
            "clients": conn.execute("SELECT count(*) FROM clients").fetchone()[0],
            "invoices": conn.execute("SELECT count(*) FROM invoices").fetchone()[0],
            "installments": conn.execute("SELECT count(*) FROM installments").fetchone()[0],
            "payments": conn.execute("SELECT count(*) FROM payments").fetchone()[0],
            "reported": conn.execute("SELECT count(*) FROM payments WHERE state = 'reported'").fetchone()[0],
            "audit_entries": conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0],
            "client1_invoices": conn.execute("SELECT count(*) FROM invoices WHERE client_id = 1").fetchone()[0],
            "client1_payments": conn.execute("SELECT count(*) FROM payments WHERE client_id = 1").fetchone()[0],
            "db_size": conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0],
        }
        # Client 1's invoice with the most payments, then the longest schedule: its page has the most
        # rows to show, and it is as full on every data set (9 payments, 10-12 installments with seed 2026).
        invoice_id, invoice_payments, invoice_installments = conn.execute(
            """SELECT i.id, count(p.id), i.installment_count FROM invoices i JOIN payments p ON p.invoice_id = i.id
               WHERE i.client_id = 1 GROUP BY i.id
               ORDER BY count(p.id) DESC, i.installment_count DESC, i.id LIMIT 1"""
        ).fetchone()
        # The general ledger page of the busiest account: accounts receivable.
        receivable = conn.execute("SELECT id FROM accounts WHERE role = 'receivable'").fetchone()[0]
    this_month = dt.date.today().replace(day=1)
    months_from = (this_month - dt.timedelta(days=85)).replace(day=1)
    facts.update(
        months_from=months_from.isoformat(),
        months_to=(this_month - dt.timedelta(days=1)).isoformat(),
        year_end=dt.date(this_month.year - 1, 12, 31).isoformat(),
        invoice=invoice_id,
        receivable=receivable,
        invoice_payments=invoice_payments,
        invoice_installments=invoice_installments,
        generate_seconds=round(generated, 1),
        prepare_seconds=round(time.perf_counter() - started, 1),
    )
    return facts


# --- The app server ---------------------------------------------------------------------------


def app_env(db_url: str, **extra: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        AIS_ENV="development",  # gen-demo refuses production; the server runs the same code either way
        SECRET_KEY=SECRET_KEY,
        FLASK_SESSION_COOKIE_SECURE="false",
        RATELIMIT_STORAGE_URI="memory://",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, db_url: str, workers: int, log_path: Path):
        self.port = free_port()
        self.db_url = db_url
        self.workers = workers
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        env = app_env(
            self.db_url, HOST="127.0.0.1", PORT=str(self.port), WEB_CONCURRENCY=str(self.workers), LOG_LEVEL="warning"
        )
        self.log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "ais:create_app()"],
            cwd=ROOT,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.process.returncode}); see {self.log_path}")
            try:
                status, _, _ = http_request("GET", self.port, "/healthz")
                if status == 200:
                    log(f"gunicorn pid {self.process.pid}: {self.workers} workers on 127.0.0.1:{self.port}")
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer /healthz within 60 s; see {self.log_path}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the arbiter stops its own workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log_file.close()


# --- HTTP: signing in -----------------------------------------------------------------------------


def http_request(
    method: str,
    port: int,
    path: str,
    *,
    body: str | None = None,
    cookies: dict | None = None,
    headers: dict | None = None,
):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        all_headers = dict(headers or {})
        if cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, response.headers, data
    finally:
        conn.close()


def cookies_from(headers, jar: dict) -> dict:
    for value in headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def sign_in(port: int, username: str, password: str) -> str:
    """The ``ais_session`` cookie of a fresh sign-in, as a browser would get it."""
    jar: dict = {}
    status, headers, page = http_request("GET", port, "/login")
    cookies_from(headers, jar)
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    if status != 200 or not match:
        raise SystemExit(f"GET /login gave {status} and no csrf_token")
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrf_token": html.unescape(match.group(1).decode())}
    )
    status, headers, _ = http_request("POST", port, "/login", body=form, cookies=jar)
    cookies_from(headers, jar)
    if status != 302 or "ais_session" not in jar:
        raise SystemExit(f"sign-in as {username} failed: {status}")
    # Follow the redirect as a browser does: the first page after signing in gives the new session
    # its CSRF token, so its answer sets the cookie once more.  wrk sends one fixed cookie; without
    # this, every measured request would make a new token and set the cookie again.
    status, headers, _ = http_request("GET", port, headers["Location"], cookies=jar)
    cookies_from(headers, jar)
    if status != 200:
        raise SystemExit(f"the first page after signing in as {username} gave {status}")
    return jar["ais_session"]


def check_page(port: int, path: str, cookie: str) -> int:
    """A page must answer 200 to the signed-in user (a 302 would be the sign-in page)."""
    status, _, body = http_request("GET", port, path, cookies={"ais_session": cookie} if cookie else None)
    if status != 200:
        raise SystemExit(f"GET {path} gave {status}, not 200")
    return len(body)


# --- wrk --------------------------------------------------------------------------------------


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def to_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip()).groups()
    return float(number) * UNITS_MS[unit]


@dataclass
class Load:
    rps: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors
    cpu_ms_per_request: float = 0.0  # gunicorn + its PostgreSQL backends, per request
    db_cpu_ms_per_request: float = 0.0  # the PostgreSQL backends' part of it
    other_cores: float = 0.0  # CPU used meanwhile by everything else on the machine, in cores
    attempts: int = 1


def parse_wrk(output: str) -> Load:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    percentiles = {int(p): to_ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M)}
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", output))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Load(
        rps=rps,
        p50_ms=percentiles[50],
        p75_ms=percentiles[75],
        p90_ms=percentiles[90],
        p99_ms=percentiles[99],
        requests=requests,
        errors=errors,
    )


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def _our_ticks(server_pid: int, dbname: str, database_only: bool = False) -> dict[int, int]:
    """CPU ticks so far of gunicorn (arbiter and workers) and of PostgreSQL's backends for the bench
    database (only the latter with ``database_only``)."""
    ticks = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            pid, ppid, used = int(entry.name), int(fields[1]), int(fields[11]) + int(fields[12])
            if pid == server_pid or ppid == server_pid:
                if not database_only:
                    ticks[pid] = used
            elif "postgres" in stat.split(")", 1)[0]:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if command.startswith("postgres:") and f" {dbname} " in command:
                    ticks[pid] = used
        except (OSError, ValueError, IndexError):
            continue
    return ticks


def _postmaster_reaped_ticks(backend_pids) -> tuple[int, int]:
    """(postmaster pid, CPU ticks of its exited children so far). PostgreSQL's parallel workers live
    for one query, so snapshots before and after a run miss them; once reaped, their CPU time is
    added to the postmaster's cutime/cstime."""
    for pid in backend_pids:
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            fields = Path(f"/proc/{ppid}/stat").read_text()
            if "postgres" not in fields.split(")", 1)[0]:
                continue
            values = fields.rsplit(")", 1)[1].split()
            return ppid, int(values[13]) + int(values[14])
        except (OSError, ValueError, IndexError):
            continue
    return 0, 0


class CpuMeter:
    """What the measured processes used, and what everything else on the machine used meanwhile."""

    def __init__(self, server_pid: int, dbname: str):
        self.server_pid, self.dbname = server_pid, dbname

    def __enter__(self) -> CpuMeter:
        self.ours_before = _our_ticks(self.server_pid, self.dbname)
        self.postmaster, self.reaped_before = _postmaster_reaped_ticks(self.ours_before)
        self.machine_before = _machine_ticks()
        self.children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        elapsed = time.monotonic() - self.started
        machine_after = _machine_ticks()
        ours_after = _our_ticks(self.server_pid, self.dbname)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        _, reaped_after = _postmaster_reaped_ticks(self.ours_before)
        # Exited PostgreSQL processes: our parallel workers (and, on a busy machine, other programs' sessions).
        parallel = max(0, reaped_after - self.reaped_before) if self.postmaster else 0
        self.ours_seconds = (
            sum(t - self.ours_before.get(pid, 0) for pid, t in ours_after.items()) + parallel
        ) / CLK_TCK
        database_pids = _our_ticks(self.server_pid, self.dbname, database_only=True)
        self.database_seconds = (
            sum(ours_after.get(pid, t) - self.ours_before.get(pid, 0) for pid, t in database_pids.items()) + parallel
        ) / CLK_TCK
        load_generator = (
            children.ru_utime - self.children_before.ru_utime + children.ru_stime - self.children_before.ru_stime
        )  # wrk (a reaped child)
        busy = (machine_after[0] - self.machine_before[0]) / CLK_TCK
        self.other_cores = max(0.0, busy - self.ours_seconds - load_generator) / elapsed if elapsed else 0.0


def wait_until_quiet(args) -> None:
    """Wait (at most --max-wait seconds) until other programs use less than --max-other-cores: the
    app is idle between runs, so what the machine does in a 2-second window is someone else's."""
    deadline = time.monotonic() + args.max_wait
    waited = False
    while True:
        before = _machine_ticks()[0]
        time.sleep(2)
        other = (_machine_ticks()[0] - before) / CLK_TCK / 2
        if other <= args.max_other_cores or time.monotonic() >= deadline:
            if waited:
                log(
                    f"  machine {'quiet' if other <= args.max_other_cores else 'still busy'} "
                    f"({other:.2f} cores used by other programs)"
                )
            return
        if not waited:
            log(f"  other programs use {other:.2f} cores; waiting up to {args.max_wait:.0f} s for a quiet machine")
            waited = True


def run_wrk(port: int, path: str, cookie: str, args, raw_log, meter: tuple[int, str]) -> Load:
    """wrk on one URL; measured again (up to --retries times) when other programs took more than
    --max-other-cores of CPU meanwhile, keeping the least disturbed measurement."""
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if cookie:
        command += ["-H", f"Cookie: ais_session={cookie}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    shown = [c if not c.startswith("Cookie:") else "Cookie: ais_session=…" for c in command]
    best = None
    for attempt in range(1, args.retries + 2):
        wait_until_quiet(args)
        with CpuMeter(*meter) as cpu:
            result = subprocess.run(command, capture_output=True, text=True, timeout=args.duration + 60)
        raw_log.write(
            f"$ {shlex.join(shown)}   # attempt {attempt}, other programs {cpu.other_cores:.2f} cores\n"
            f"{result.stdout}{result.stderr}\n"
        )
        if result.returncode != 0:
            raise SystemExit(f"wrk failed on {path}: {result.stderr}")
        load = parse_wrk(result.stdout)
        load.cpu_ms_per_request = cpu.ours_seconds * 1000 / max(load.requests, 1)
        load.db_cpu_ms_per_request = cpu.database_seconds * 1000 / max(load.requests, 1)
        load.other_cores, load.attempts = cpu.other_cores, attempt
        if best is None or load.other_cores < best.other_cores:
            best = load
        if load.other_cores <= args.max_other_cores or attempt > args.retries:
            break
        log(f"  {path}: other programs used {load.other_cores:.2f} cores meanwhile; measuring again")
        time.sleep(args.settle)
    best.attempts = attempt
    return best


# --- Counting queries (child process) -----------------------------------------------------------


def count_queries_main(db_url: str, pages_json: str, sql_dir: str | None) -> None:
    """Child process: the statements each page runs, with a signed-in test client (printed as JSON)."""
    os.environ.update(app_env(db_url))
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import event

    from ais import create_app
    from ais.extensions import db

    app = create_app({"WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False})
    pages = json.loads(pages_json)
    counts = {}
    for (username, password), who in ((OWNER, "owner"), (CLIENT, "client")):
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, (username, response.status_code)
        for path in pages[who]:
            client.get(path)  # warm up: the session's last_seen_at is written at most once a minute
            statements = []

            def record(conn, cursor, statement, parameters, context, executemany):
                statements.append((statement, parameters))  # noqa: B023 -- removed before the next iteration

            with app.app_context():
                engine = db.engine
            event.listen(engine, "before_cursor_execute", record)
            try:
                response = client.get(path)
            finally:
                event.remove(engine, "before_cursor_execute", record)
            assert response.status_code == 200, (path, response.status_code)
            counts[f"{who} {path}"] = len(statements)
            if sql_dir:
                name = re.sub(r"[^a-z0-9]+", "_", f"{who} {path}".lower()).strip("_")
                with open(Path(sql_dir) / f"{name}.sql", "w") as out:
                    for statement, parameters in statements:
                        out.write(f"-- params: {parameters!r}\n{statement};\n\n")
    print(json.dumps(counts))


def count_queries(db_url: str, pages: dict, sql_dir: Path) -> dict:
    sql_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, __file__, "--count-queries", db_url, json.dumps(pages), "--sql-dir", str(sql_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=app_env(db_url),
    )
    if result.returncode != 0:
        raise SystemExit(f"counting queries failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- The data sets ---------------------------------------------------------------------------------


@dataclass
class PageResult:
    who: str
    page: str  # the path pattern, e.g. /portal/invoices/{invoice}
    url: str
    load: Load
    queries: int
    bytes: int
    # The ceiling measured just before and just after this page: the machine's speed drifts by
    # a quarter over minutes on a shared host, so a page is compared with its neighbours in time.
    ceiling_before: Load | None = None
    ceiling_after: Load | None = None

    @property
    def ceiling_rps(self) -> float:
        return (self.ceiling_before.rps + self.ceiling_after.rps) / 2

    @property
    def ratio(self) -> float:
        return self.load.rps / self.ceiling_rps


@dataclass
class SizeResult:
    size: str
    facts: dict
    ceiling_before: Load
    ceiling_after: Load
    pages: list[PageResult] = field(default_factory=list)

    @property
    def ceiling_rps(self) -> float:
        return (self.ceiling_before.rps + self.ceiling_after.rps) / 2


class DataSet:
    """One size's books, served by its own gunicorn for the whole run."""

    def __init__(self, size: str, args, stack: contextlib.ExitStack):
        self.size, self.args = size, args
        self.dbname = f"ais_bench_{size}"
        log(f"== {size}: preparing {self.dbname}")
        recreate_database(args.pg_url, self.dbname)
        if not args.keep:
            stack.callback(drop_database, args.pg_url, self.dbname)
        self.facts = facts = prepare_books(args.pg_url, self.dbname, size)
        log(
            f"{self.dbname}: {facts['payments']} payments, {facts['invoices']} invoices, {facts['clients']} clients, "
            f"{facts['audit_entries']} audit entries ({facts['db_size']}) in {facts['prepare_seconds']} s"
        )
        self.db_url = database_url(args.pg_url, self.dbname)
        self.urls = {
            "client": [p.format(**facts) for p in CLIENT_PAGES],
            "owner": [p.format(**facts) for p in OWNER_PAGES],
        }
        self.raw = stack.enter_context(open(OUTPUT_DIR / f"wrk-{size}.txt", "w"))  # noqa: SIM115 -- the stack closes it
        self.server = stack.enter_context(Server(self.db_url, args.workers, OUTPUT_DIR / f"gunicorn-{size}.log"))
        port = self.server.port
        self.cookies = {"client": sign_in(port, *CLIENT), "owner": sign_in(port, *OWNER)}
        self.lengths = {
            who: [check_page(port, url, self.cookies[who]) for url in urls] for who, urls in self.urls.items()
        }
        for who, urls in self.urls.items():  # warm both workers' caches and connection pools before measuring
            for url in urls:
                run_wrk_quick(port, url, self.cookies[who])
        self.meter = (self.server.process.pid, self.dbname)
        self.ceiling_args = argparse.Namespace(**{**vars(args), "duration": args.ceiling_duration})

    def ceiling(self) -> Load:
        return run_wrk(self.server.port, "/healthz", "", self.ceiling_args, self.raw, self.meter)

    def start(self) -> None:
        log(f"{self.size}: /healthz (ceiling)")
        first = self.ceiling()
        self.result = SizeResult(size=self.size, facts=self.facts, ceiling_before=first, ceiling_after=first)

    def measure(self, who: str, index: int) -> None:
        """One page under load, then the ceiling again: the page is compared with the runs around it."""
        url, port, cookie = self.urls[who][index], self.server.port, self.cookies[who]
        load = run_wrk(port, url, cookie, self.args, self.raw, self.meter)
        check_page(port, url, cookie)  # still signed in: every answer was the page
        before, after = self.result.ceiling_after, self.ceiling()
        page = PageResult(
            who=who,
            page=(CLIENT_PAGES if who == "client" else OWNER_PAGES)[index],
            url=url,
            load=load,
            queries=0,
            bytes=self.lengths[who][index],
            ceiling_before=before,
            ceiling_after=after,
        )
        log(
            f"{self.size}: {who} {url}: {load.rps:.0f} req/s (ceiling {before.rps:.0f} / {after.rps:.0f}, "
            f"ratio {page.ratio:.2f}), p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, "
            f"{load.errors} errors, {load.cpu_ms_per_request:.1f} CPU ms/request, "
            f"others {load.other_cores:.2f} cores"
        )
        self.result.pages.append(page)
        self.result.ceiling_after = after

    def finish(self) -> SizeResult:
        log(
            f"{self.size}: /healthz {self.result.ceiling_before.rps:.0f} first, "
            f"{self.result.ceiling_after.rps:.0f} last req/s"
        )
        self.facts["load_average_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        return self.result

    def count_queries(self) -> None:
        counts = count_queries(self.db_url, self.urls, OUTPUT_DIR / f"sql-{self.size}")
        for page in self.result.pages:
            page.queries = counts[f"{page.who} {page.url}"]


def bench(sizes: list[str], args) -> list[SizeResult]:
    """Every data set is served at once and each page is measured on one set right after the other:
    the machine's speed drifts over minutes, so the slowdown from the smallest books to the biggest
    compares runs a few seconds apart, not a whole pass apart."""
    with contextlib.ExitStack() as stack:
        data_sets = [DataSet(size, args, stack) for size in sizes]
        for data_set in data_sets:
            data_set.start()
        for who, patterns in (("client", CLIENT_PAGES), ("owner", OWNER_PAGES)):
            for index in range(len(patterns)):
                for data_set in data_sets:
                    data_set.measure(who, index)
        results = [data_set.finish() for data_set in data_sets]
        for data_set in data_sets:
            data_set.count_queries()
        return results


def run_wrk_quick(port: int, url: str, cookie: str) -> None:
    command = ["wrk", "-t1", "-c2", "-d1s"]
    if cookie:
        command += ["-H", f"Cookie: ais_session={cookie}"]
    subprocess.run([*command, f"http://127.0.0.1:{port}{url}"], capture_output=True, timeout=60)


# --- The machine ------------------------------------------------------------------------------


def machine(pg_url: str) -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    with pg_connect(pg_url, "postgres") as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    wrk_line = (wrk_version.stdout or wrk_version.stderr).strip().splitlines()[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "postgresql": pg_version,
        "python": platform.python_version(),
        "wrk": wrk_line.split(" [")[0],
        "os": platform.platform(),
        "commit": commit.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else ""),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# --- The report ---------------------------------------------------------------------------------


def fmt_rps(value: float) -> str:
    return f"{value:,.0f}"


def fmt_ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render(results: list[SizeResult], info: dict, args, command: str) -> str:
    by_size = {r.size: r for r in results}
    smallest, biggest = results[0], results[-1]
    lines = [
        BEGIN,
        "<!-- Written by bench/run.py; edit the text outside these markers. -->",
        "",
        "### The run",
        "",
        f"Command: `{command}` — wrk `-t{args.threads} -c{args.connections} -d{args.duration}s --latency` per "
        f"page, gunicorn with {args.workers} workers, all on 127.0.0.1.",
        "",
        "| machine | |",
        "| --- | --- |",
        f"| date | {info['date']} |",
        f"| nproc | {info['nproc']} |",
        f"| memory | {info['memory_gib']} GiB |",
        f"| CPU | {info['cpu']} |",
        f"| PostgreSQL | {info['postgresql']} (same machine) |",
        f"| Python / wrk | {info['python']} / {info['wrk']} |",
        f"| OS | {info['os']} |",
        f"| commit | {info['commit']} |",
        f"| load average at start | {info['load_average_at_start']} |",
        "",
        "| data set | payments | invoices | clients | audit entries | reported payments | database | "
        "client 1: invoices / payments | invoice page: id (payments, installments) | books built in | "
        "load average after |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        f = r.facts
        lines.append(
            f"| {r.size} | {f['payments']:,} | {f['invoices']:,} | {f['clients']:,} | {f['audit_entries']:,} | "
            f"{f['reported']:,} | {f['db_size']} | {f['client1_invoices']} / {f['client1_payments']} | "
            f"{f['invoice']} ({f['invoice_payments']}, {f.get('invoice_installments', '?')}) | "
            f"{f['prepare_seconds']:.0f} s | {f.get('load_average_after', '')} |"
        )
    lines += [
        "",
        "### Figures",
        "",
        "Each data set is served by its own gunicorn for the whole run, and each page is measured on every set "
        "in turn, so that sets are compared on runs seconds apart. "
        f"Ceiling: `/healthz` (no sign-in, one `SELECT 1`) on the same server, measured ({args.ceiling_duration} s) "
        "before the first page and after every page; a page's ratio uses the mean of the ceiling runs just before "
        "and just after it (the machine's speed drifts over minutes; its neighbours in time are the fair "
        "comparison). The ceiling's row shows the first and the last of those runs. p50/p99 in milliseconds, "
        "from wrk's latency distribution. Queries: SQL "
        "statements one request runs (session check included). CPU ms/request: CPU time of gunicorn and of "
        "its PostgreSQL backends over the run, per request (wrk's own CPU not included), and in brackets the "
        "PostgreSQL backends' part of it. Other programs: CPU "
        "used meanwhile by everything else on the machine, in cores (a page is measured again, up to "
        f"{args.retries} times, when that exceeds {args.max_other_cores:.2f}; the least disturbed run is kept).",
        "",
        "| page | who | data size | requests/s | p50 ms | p99 ms | queries/page | ratio to ceiling | page KB | "
        "CPU ms/request (database) | other programs (cores) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| `/healthz` (ceiling) | — | {r.size} ({r.facts['payments']:,}) | "
            f"{fmt_rps(r.ceiling_before.rps)} / {fmt_rps(r.ceiling_after.rps)} | "
            f"{fmt_ms(r.ceiling_before.p50_ms)} | {fmt_ms(r.ceiling_before.p99_ms)} | 1 | 1.00 | 0 | "
            f"{r.ceiling_before.cpu_ms_per_request:.1f} ({r.ceiling_before.db_cpu_ms_per_request:.1f}) | "
            f"{r.ceiling_before.other_cores:.2f} / {r.ceiling_after.other_cores:.2f} |"
        )
    for index in range(len(results[0].pages)):
        for r in results:
            p = r.pages[index]
            errors = f" ({p.load.errors} errors)" if p.load.errors else ""
            lines.append(
                f"| `{p.page}` | {p.who} | {r.size} ({r.facts['payments']:,}) | {fmt_rps(p.load.rps)}{errors} | "
                f"{fmt_ms(p.load.p50_ms)} | {fmt_ms(p.load.p99_ms)} | {p.queries} | "
                f"{p.ratio:.2f} | {p.bytes / 1024:.0f} | {p.load.cpu_ms_per_request:.1f} "
                f"({p.load.db_cpu_ms_per_request:.1f}) | "
                f"{p.load.other_cores:.2f} |"
            )
    compare = f"{biggest.size} ({biggest.facts['payments']:,}) vs {smallest.size} ({smallest.facts['payments']:,})"
    lines += [
        "",
        "### Against the targets",
        "",
        f"Ratio: requests/s over the ceiling's, at least {MIN_RATIO:.2f} on every data set (the lowest is shown). "
        f"p99: under {MAX_P99_MS:.0f} ms at {args.connections} connections on every data set (the highest is "
        f"shown); a PDF route (WeasyPrint lays each one out) has a p99 under {PDF_MAX_P99_MS:.0f} ms instead and no "
        f"ratio. Slowdown: {compare}, as requests/s on the small set over requests/s on the big one (at a fixed "
        f"number of connections, the ratio of mean latencies), at most {MAX_SLOWDOWN}×; the p50 ratio and the ratio "
        f"of CPU time per request (which other programs on the machine disturb much less) for reference.",
        "",
        f"| page | who | lowest ratio | target ≥ {MIN_RATIO:.2f} | highest p99 ms | "
        f"target < {MAX_P99_MS:.0f} ms | slowdown "
        f"{biggest.size}/{smallest.size} | p50 ratio | CPU/request ratio | target ≤ {MAX_SLOWDOWN}× |",
        "| --- | --- | ---: | --- | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    summary = {"ratio": [], "p99": [], "slowdown": []}
    for index, page in enumerate(results[0].pages):
        ratios = [r.pages[index].ratio for r in results]
        p99s = [r.pages[index].load.p99_ms for r in results]
        small_load, big_load = smallest.pages[index].load, biggest.pages[index].load
        slowdown = small_load.rps / big_load.rps
        p50_ratio = big_load.p50_ms / small_load.p50_ms
        cpu_ratio = big_load.cpu_ms_per_request / max(small_load.cpu_ms_per_request, 1e-9)
        min_ratio, max_p99 = targets(page.page)
        ok_ratio, ok_p99 = min_ratio is None or min(ratios) >= min_ratio, max(p99s) < max_p99
        ok_slow = slowdown <= MAX_SLOWDOWN
        for key, ok in (("ratio", ok_ratio), ("p99", ok_p99), ("slowdown", ok_slow)):
            if not ok:
                summary[key].append(f"{page.who} `{page.page}`")
        ratio_verdict = verdict(ok_ratio) if min_ratio is not None else "— (a PDF)"
        p99_verdict = verdict(ok_p99) if max_p99 == MAX_P99_MS else f"{verdict(ok_p99)} (< {max_p99:.0f} ms: a PDF)"
        lines.append(
            f"| `{page.page}` | {page.who} | {min(ratios):.2f} | {ratio_verdict} | {fmt_ms(max(p99s))} | "
            f"{p99_verdict} | {slowdown:.2f}× | {p50_ratio:.2f}× | {cpu_ratio:.2f}× | {verdict(ok_slow)} |"
        )
    lines += [
        "",
        "Missed: "
        + (
            "; ".join(
                f"{name}: {', '.join(pages) or 'none'}"
                for name, pages in (
                    ("ratio to ceiling", summary["ratio"]),
                    ("p99", summary["p99"]),
                    ("slowdown", summary["slowdown"]),
                )
            )
        )
        + ".",
        "",
    ]
    if "large" not in by_size:
        lines += [
            "The 600,000-payment set was not part of this run (`BENCH_SIZE=large make bench` adds it); "
            f"the slowdown column compares {compare}.",
            "",
        ]
    lines.append(END)
    return "\n".join(lines)


DOC_SKELETON = """# Performance

How fast the client portal and the owner's pages are, measured by `make bench` (bench/run.py).

{block}
"""


def write_doc(block: str) -> None:
    if DOC.exists():
        text = DOC.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            DOC.write_text(head + block + tail)
            return
        DOC.write_text(text.rstrip() + "\n\n" + block + "\n")
        return
    DOC.write_text(DOC_SKELETON.format(block=block))


# --- Main ---------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size_env = os.environ.get("BENCH_SIZE", "").strip()
    default_sizes = "small,default,large" if size_env == "large" else (size_env or "small,default")
    parser.add_argument("--sizes", default=default_sizes, help="comma-separated: small, default, large")
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION") or "10"))
    parser.add_argument(
        "--ceiling-duration",
        type=int,
        default=int(os.environ.get("BENCH_CEILING_DURATION") or "5"),
        help="seconds of each /healthz run (before the first page and after each page)",
    )
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS") or "8"))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS") or "2"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS") or "2"))
    parser.add_argument(
        "--max-other-cores",
        type=float,
        default=float(os.environ.get("BENCH_MAX_OTHER_CORES") or "0.15"),
        help="measure a page again when other programs used more CPU than this meanwhile",
    )
    parser.add_argument("--retries", type=int, default=int(os.environ.get("BENCH_RETRIES") or "2"))
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait before measuring again")
    parser.add_argument(
        "--max-wait",
        type=float,
        default=float(os.environ.get("BENCH_MAX_WAIT") or "90"),
        help="before each run, wait at most this many seconds for other programs to quiet down",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432"),
        help="the PostgreSQL server (no database name); the driver makes its own databases",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        default=os.environ.get("BENCH_KEEP") == "1",
        help="keep the ais_bench_* databases (or BENCH_KEEP=1)",
    )
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/PERFORMANCE.md")
    parser.add_argument("--count-queries", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("pages_json", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--sql-dir", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.count_queries:
        count_queries_main(args.count_queries, args.pages_json, args.sql_dir)
        return 0
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown or not sizes:
        raise SystemExit(f"unknown sizes {unknown}; choose from {', '.join(ORDER)}")
    sizes = sorted(set(sizes), key=ORDER.index)
    OUTPUT_DIR.mkdir(exist_ok=True)
    info = machine(args.pg_url)
    command = os.environ.get("BENCH_COMMAND") or "python bench/run.py " + shlex.join(sys.argv[1:])
    log(
        f"sizes {', '.join(sizes)}; {args.duration} s per page; machine: {info['nproc']} CPUs, "
        f"{info['memory_gib']} GiB, PostgreSQL {info['postgresql']}, load {info['load_average_at_start']}"
    )
    results = bench(sizes, args)
    (OUTPUT_DIR / "results.json").write_text(
        json.dumps({"machine": info, "results": [asdict(r) for r in results]}, indent=2, default=str)
    )
    block = render(results, info, args, command.strip())
    (OUTPUT_DIR / "report.md").write_text(block + "\n")
    if not args.no_doc:
        write_doc(block)
        log(f"wrote {DOC.relative_to(ROOT)}")
    print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
