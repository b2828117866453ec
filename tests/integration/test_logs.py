"""One log line per request reaches stderr: JSON in production, text in development, also under gunicorn."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ais import create_app
from ais.logs import HANDLER_NAME

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ais_logger():
    """The ``ais`` logger as a non-testing app leaves it, put back afterwards."""
    logger = logging.getLogger("ais")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    request_logger = logging.getLogger("ais.request")
    was_disabled = request_logger.disabled
    request_logger.disabled = False
    yield logger
    logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]
    request_logger.disabled = was_disabled


def app_logging_to(stream, tmp_path, **config):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'logs.db'}", **config})
    handler = next(h for h in logging.getLogger("ais").handlers if h.get_name() == HANDLER_NAME)
    handler.setStream(stream)
    return app


def test_production_logs_are_one_json_object_per_request(ais_logger, tmp_path):
    stream = io.StringIO()
    app = app_logging_to(stream, tmp_path, AIS_LOG_FORMAT="json")
    assert app.test_client().get("/healthz?token=secret-in-query").status_code == 200
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    request_lines = [line for line in lines if line["logger"] == "ais.request"]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert line["method"] == "GET" and line["path"] == "/healthz" and line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["user_id"] is None and line["level"] == "INFO"
    assert "secret-in-query" not in stream.getvalue()  # never the query string


def test_development_logs_are_text_lines(ais_logger, tmp_path):
    stream = io.StringIO()
    app = app_logging_to(stream, tmp_path, AIS_LOG_FORMAT="text")
    app.test_client().get("/healthz")
    assert " ais.request GET /healthz 200 " in stream.getvalue()
    assert "user=-" in stream.getvalue()


def test_creating_apps_again_does_not_print_lines_twice(ais_logger, tmp_path):
    create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}"})
    stream = io.StringIO()
    app = app_logging_to(stream, tmp_path, AIS_LOG_FORMAT="text")
    app.test_client().get("/healthz")
    assert stream.getvalue().count("GET /healthz") == 1
    assert [h.get_name() for h in logging.getLogger("ais").handlers].count(HANDLER_NAME) == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_request_lines_reach_stderr_under_gunicorn(tmp_path):
    """The bug this guards: under gunicorn the ``ais.request`` logger had no handler, so nothing was printed."""
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{tmp_path / 'gunicorn.db'}",
        AIS_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        PORT=str(port),
        HOST="127.0.0.1",
        WEB_CONCURRENCY="1",
        AIS_LOG_FORMAT="json",
    )
    env.pop("LOG_LEVEL", None)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "ais:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:  # nosec B310
                    assert response.status == 200
                    break
            except OSError:  # not listening yet
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            _, stderr = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            _, stderr = server.communicate()
    lines = []
    for text in stderr.decode().splitlines():
        if text.startswith("{"):
            lines.append(json.loads(text))
    assert any(
        line.get("logger") == "ais.request" and line.get("path") == "/healthz" and line.get("status") == 200
        for line in lines
    ), stderr.decode()[-2000:]
