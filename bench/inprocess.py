#!/usr/bin/env python3
"""Where one request's time goes, in-process: `python bench/inprocess.py DATABASE_URL [PAGE ...]`.

A signed-in Flask test client loads each page (default: the benchmark's pages) a few hundred times
on an existing database (e.g. one kept by `make bench BENCH_KEEP=1`, or built by gen-demo) and
splits the mean time of a request into: SQL (time inside ``cursor.execute``), template rendering,
the before-request hooks (the session check), and the view's Python around its SQL (building
statements, SQLAlchemy's ORM, results).  One request at a time, so wall time is CPU time plus the
database's.  Not a load test: bench/run.py is.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402  (bench/run.py: the environment and sign-ins the benchmark uses)


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    url = sys.argv[1]
    os.environ.update(run.app_env(url))
    os.environ["LOG_LEVEL"] = "WARNING"
    import flask
    from sqlalchemy import event, select

    from ais import create_app
    from ais.extensions import db
    from ais.models import Account, Invoice, Payment

    app = create_app({"WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False})
    with app.app_context():
        from sqlalchemy import func

        invoice = db.session.scalar(
            select(Invoice.id)
            .join(Payment, Payment.invoice_id == Invoice.id)
            .where(Invoice.client_id == 1)
            .group_by(Invoice.id)
            .order_by(func.count(Payment.id).desc(), Invoice.id)
            .limit(1)
        )
        receivable = db.session.scalar(select(Account.id).where(Account.role == "receivable"))
        engine = db.engine
    pages = sys.argv[2:] or [
        p.format(invoice=invoice, receivable=receivable) for p in run.CLIENT_PAGES + run.OWNER_PAGES
    ]

    marks: dict[str, float] = {}
    spent = {"sql": 0.0, "render": 0.0}
    app.before_request_funcs.setdefault(None, []).insert(0, lambda: marks.__setitem__("hooks", time.perf_counter()))
    dispatch = app.dispatch_request

    def timed_dispatch():
        marks["view"], marks["sql_at_view"] = time.perf_counter(), spent["sql"]
        try:
            return dispatch()
        finally:
            marks["view_end"], marks["sql_at_view_end"] = time.perf_counter(), spent["sql"]

    app.dispatch_request = timed_dispatch
    render = flask.templating._render

    def timed_render(*args, **kwargs):
        started = time.perf_counter()
        try:
            return render(*args, **kwargs)
        finally:
            spent["render"] += time.perf_counter() - started

    flask.templating._render = timed_render

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        context._ais_started = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        spent["sql"] += time.perf_counter() - context._ais_started

    print("| page | total ms | SQL | template | hooks (session check) | Python around the SQL | rest |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    browsers = {}
    for page in pages:
        who = run.CLIENT if page.startswith("/portal") else run.OWNER
        if who not in browsers:
            browsers[who] = app.test_client()
            assert browsers[who].post("/login", data={"username": who[0], "password": who[1]}).status_code == 302
        browser = browsers[who]
        for _ in range(30):
            assert browser.get(page).status_code == 200, page
        n = 300
        total = hooks = view = view_sql = 0.0
        spent.update(sql=0.0, render=0.0)
        for _ in range(n):
            started = time.perf_counter()
            browser.get(page)
            total += time.perf_counter() - started
            hooks += marks["view"] - marks["hooks"]
            view += marks["view_end"] - marks["view"]
            view_sql += marks["sql_at_view_end"] - marks["sql_at_view"]
        sql, rendering = spent["sql"], spent["render"]
        # The view's time less its template and its own SQL (the session check's runs in the hooks).
        around = view - rendering - view_sql
        print(
            f"| `{page}` | {total / n * 1000:.1f} | {sql / n * 1000:.1f} | {rendering / n * 1000:.1f} | "
            f"{hooks / n * 1000:.1f} | {max(around, 0) / n * 1000:.1f} | "
            f"{(total - view - hooks) / n * 1000:.1f} |"
        )


if __name__ == "__main__":
    main()
