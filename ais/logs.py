"""Where the app's log lines go: stderr, one line each, as JSON in production.

gunicorn configures its own loggers only, and Python drops INFO records of a logger without a
handler, so the app sets up the ``ais`` logger itself: otherwise the one-line-per-request log
(``ais.request``, written by ``web.py``) would be lost under gunicorn.  ``AIS_LOG_FORMAT`` chooses
``json`` (the default in production: one object per line, for the log collector) or ``text``
(the default in development: ``GET /portal 200 4.1ms user=7``).  ``LOG_LEVEL`` sets the level.

Every timestamp is ISO 8601 in UTC with its offset (``2026-11-25T05:29:22.462+00:00``).  Under
gunicorn, its own error log (start, stop, worker crashes) uses the same formatter
(``gunicorn.conf.py``): one format on stderr.

Under tests (``TESTING``) nothing is installed: pytest captures records through the root logger.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys

from flask import Flask
from pythonjsonlogger.json import JsonFormatter

HANDLER_NAME = "ais-stderr"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


class UtcTimeMixin:
    """``asctime`` as ISO 8601 in UTC with the offset, milliseconds included."""

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's name
        return dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds")


class TextFormatter(UtcTimeMixin, logging.Formatter):
    pass


class JsonLineFormatter(UtcTimeMixin, JsonFormatter):
    pass


def make_formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        # Fields passed with extra= (method, path, status, duration_ms, user_id) become JSON keys.
        return JsonLineFormatter(
            JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}, timestamp=False
        )
    return TextFormatter(TEXT_FORMAT)


def configure_logging(app: Flask) -> None:
    """Send the ``ais`` loggers to stderr (once per process, whatever the number of apps created)."""
    if app.testing:
        return
    logger = logging.getLogger("ais")
    logger.setLevel(str(app.config.get("LOG_LEVEL") or "INFO").upper())
    handler = next((h for h in logger.handlers if h.get_name() == HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(HANDLER_NAME)
        logger.addHandler(handler)
    handler.setFormatter(make_formatter(app.config["AIS_LOG_FORMAT"]))
    # The lines are written here; a root handler someone else configured must not print them twice.
    logger.propagate = False
