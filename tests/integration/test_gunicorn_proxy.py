"""gunicorn with gunicorn.conf.py: proxy trust comes from PROXY_COUNT only, stderr carries one log
format (JSON in production) with UTC timestamps, and a graceful reload drops no request."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from auth_support import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def gunicorn(tmp_path, **settings):
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{tmp_path / 'gunicorn.db'}",
        AIS_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        PORT=str(port),
    )
    env.update({"WEB_CONCURRENCY": "1", **settings})
    if env["WEB_CONCURRENCY"] != "1":  # production refuses per-process throttling counters then
        env.setdefault("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/8")
    env.pop("HOST", None)  # the default bind: loopback
    for name in ("LOG_LEVEL", "AIS_LOG_FORMAT", "PROXY_COUNT", "FORCE_HTTPS"):
        if name not in settings:
            env.pop(name, None)
    # stderr goes to a file, not a pipe: nobody reads a pipe while requests run, and once its 64 KB
    # buffer is full (a few hundred request log lines) every worker blocks on its next log write.
    stderr_path = tmp_path / "gunicorn-stderr.log"
    stderr_file = stderr_path.open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "ais:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr_file,
        start_new_session=True,
    )
    handle = {"port": port, "stderr": "", "pid": server.pid}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(port, "/healthz")
                break
            except OSError:
                assert server.poll() is None, stderr_path.read_text()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield handle
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        stderr_file.close()
        handle["stderr"] = stderr_path.read_text()


def get(port: int, path: str, headers: dict | None = None, timeout: float = 5) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_forwarded_proto_from_loopback_does_not_defeat_force_https_without_a_proxy(tmp_path):
    # FORWARDED_ALLOW_IPS asks gunicorn to trust everyone: gunicorn.conf.py ignores it.
    with gunicorn(tmp_path, FORCE_HTTPS="true", PROXY_COUNT="0", FORWARDED_ALLOW_IPS="*") as server:
        response = get(server["port"], "/login", {"X-Forwarded-Proto": "https"})
        assert response.status == 301
        assert response.getheader("Location").startswith("https://")


def test_with_one_proxy_its_forwarded_proto_counts(tmp_path):
    with gunicorn(tmp_path, FORCE_HTTPS="true", PROXY_COUNT="1") as server:
        assert get(server["port"], "/login", {"X-Forwarded-Proto": "https"}).status == 200
        assert get(server["port"], "/login", {"X-Forwarded-Proto": "http"}).status == 301


def test_stderr_holds_json_lines_only_with_utc_times(tmp_path):
    with gunicorn(tmp_path, AIS_LOG_FORMAT="json") as server:
        get(server["port"], "/healthz")
    lines = [line for line in server["stderr"].splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    records = [json.loads(line) for line in lines]  # every line: gunicorn's own ones too
    loggers = {record["logger"] for record in records}
    assert "ais.request" in loggers and "gunicorn.error" in loggers
    for record in records:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", record["time"]), record


def test_a_graceful_reload_drops_no_request(tmp_path):
    """SIGHUP (systemctl reload): new workers start, old ones finish; requests queue meanwhile."""
    with gunicorn(tmp_path, WEB_CONCURRENCY="2") as server:
        statuses = []
        deadline = time.monotonic() + 6
        reloaded = False
        while time.monotonic() < deadline:
            if not reloaded and time.monotonic() > deadline - 5:
                os.kill(server["pid"], signal.SIGHUP)  # systemctl reload ais-web
                reloaded = True
            try:
                # New workers load the app before they answer: a request may wait that long.
                statuses.append(get(server["port"], "/login", timeout=30).status)
            except OSError as error:
                statuses.append(repr(error))
        assert reloaded and len(statuses) > 10
        assert set(statuses) == {200}, [s for s in statuses if s != 200][:5]
    assert "Hang up" in server["stderr"] or "Handling signal: hup" in server["stderr"]
