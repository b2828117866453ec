#!/usr/bin/env python3
"""One page's request time, in-process: `python bench/page_timing.py DATABASE_URL PAGE [N]`.

A Flask test client signed in as the benchmark's owner (or client, for /portal pages) loads PAGE a
few times to warm up, freezes what is loaded from the garbage collector (as the gunicorn workers
do), then loads it N times (default 20) and prints p50 and p99 in milliseconds.  One
request at a time on an existing database (e.g. one built by `flask gen-demo`).
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402  (bench/run.py: the environment and sign-ins the benchmark uses)


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    url, page = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    os.environ.update(run.app_env(url))
    os.environ["LOG_LEVEL"] = "WARNING"
    from ais import create_app

    app = create_app({"WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False})
    who = run.CLIENT if page.startswith("/portal") else run.OWNER
    browser = app.test_client()
    assert browser.post("/login", data={"username": who[0], "password": who[1]}).status_code == 302
    for _ in range(5):
        assert browser.get(page).status_code == 200, page
    # As a gunicorn worker does once it has loaded the app (gunicorn.conf.py): otherwise one
    # request in ~30 pays a full garbage collection of everything loaded so far (~100 ms).
    gc.freeze()
    times = []
    for _ in range(n):
        started = time.perf_counter()
        assert browser.get(page).status_code == 200, page
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    print(f"{page}: n={n} p50={statistics.median(times):.1f} ms p99={p99:.1f} ms max={times[-1]:.1f} ms")


if __name__ == "__main__":
    main()
