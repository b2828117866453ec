"""Database wiring: SQLite pragmas and the write transaction used by the service layer.

On PostgreSQL the service layer locks the invoice row with SELECT ... FOR UPDATE.  SQLite has
no row locks, so there a service transaction starts with BEGIN IMMEDIATE, which takes the
database's write lock up front: two concurrent payments are serialised instead of both
reading the same balance.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, cast

from flask import Flask, current_app, request
from sqlalchemy import CursorResult, Executable, event
from sqlalchemy.exc import OperationalError

from .extensions import db

IMMEDIATE = "ais_begin_immediate"
BEFORE_COMMIT = "ais_before_commit"  # callbacks run just before a write transaction commits
WROTE = "ais_wrote"  # on a connection's info: this transaction sent something other than a SELECT


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        _watch_for_writes(engine)
        if engine.dialect.name == "postgresql":
            # Registered before the session check (the auth blueprint's hook): it must come first.
            app.before_request(read_without_transaction)
    # Flask runs teardown functions in the reverse order of registration: this one, registered
    # after Flask-SQLAlchemy's, runs before the session is removed.
    app.teardown_appcontext(end_read_only_transaction)


def reads_only(view):
    """Mark a view that only reads the books (a page): on PostgreSQL its request runs its
    statements without a transaction around them (see ``read_without_transaction``)."""
    view.ais_reads_only = True
    return view


def read_without_transaction() -> None:
    """Before a GET of a page marked ``reads_only``: run the request's statements in autocommit.

    A page's statements each see the books as of their start either way (PostgreSQL's default
    isolation, READ COMMITTED, takes a snapshot per statement), so a transaction around them
    changes nothing they read; it only costs two more round trips per page (psycopg's BEGIN
    before the first statement, COMMIT after the last).  Writes stay in transactions: the
    service layer's ``write_transaction`` ends this one and starts its own on a connection reset
    to the default isolation, and the only other writes a page may make (the session check
    noting the time it was last used, or ending an expired session) are single statements.
    """
    if request.method not in ("GET", "HEAD"):
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "ais_reads_only", False) and not db.session().in_transaction():
        # (Already in one only when the request shares an app context that has, as tests do.)
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _watch_for_writes(engine) -> None:
    @event.listens_for(engine, "begin")
    def forget(connection):
        connection.info.pop(WROTE, None)

    @event.listens_for(engine, "before_cursor_execute")
    def note(connection, cursor, statement, parameters, context, executemany):
        if statement.lstrip()[:6].upper() not in ("SELECT", "BEGIN"):
            connection.info[WROTE] = True


def end_read_only_transaction(error: BaseException | None) -> None:
    """End a request's transaction with COMMIT when all it did was read.

    Flask-SQLAlchemy ends every request by closing the session, which rolls its transaction back.
    For a transaction that only ran SELECTs, COMMIT and ROLLBACK leave the database the same, but
    not the driver: psycopg forgets every prepared statement of the connection on ROLLBACK (and
    has the server deallocate them), so PostgreSQL would parse and plan each page's statements
    afresh on every request.  Anything else (an error, unsaved ORM changes, an INSERT/UPDATE/DELETE
    that was not committed) still ends in the usual rollback.
    """
    if error is not None or not db.session.registry.has():
        return
    session = db.session()
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    try:
        if session.connection().info.get(WROTE):
            return
        session.commit()
    except Exception:  # the connection failed: the usual close rolls back what is left
        session.rollback()


def _configure_sqlite(engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (pysqlite's own
        # handling would defeat BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if connection.get_execution_options().get(IMMEDIATE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def execute_dml(statement: Executable) -> int:
    """Run an UPDATE or DELETE in the current transaction; the number of rows it matched."""
    return cast(CursorResult[Any], db.session.execute(statement)).rowcount


BOOKKEEPING_WAIT_MS = 200  # how long a skippable write waits for SQLite's write lock
BUSY_TIMEOUT_MS = 15000  # every other statement's wait (PRAGMA busy_timeout, set on connect)


def skippable_write(statement: Executable) -> bool:
    """Run one bookkeeping UPDATE (a session's last_seen_at, ending an expired session) in its
    own transaction, or skip it when the database is busy.  True if it was written.

    On SQLite a read transaction cannot become a write transaction once another connection has
    written (in WAL mode that is SQLITE_BUSY at once, whatever the busy timeout), so the write
    never rides on the request's reads: it goes on a connection of its own that starts with
    BEGIN IMMEDIATE, waits at most BOOKKEEPING_WAIT_MS for the write lock, and gives up quietly
    if it is still held.  The request's reads go on either way: a page never fails because of a
    note that can be written on the next request.  On PostgreSQL a row update never has to wait
    for the whole database, so it simply runs and commits."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            connection.execute(statement)
        return True
    with engine.connect() as connection:
        raw = cast(Any, connection.connection.driver_connection)  # sqlite3.Connection, in autocommit
        raw.execute(f"PRAGMA busy_timeout={BOOKKEEPING_WAIT_MS}")
        try:
            immediate = connection.execution_options(**{IMMEDIATE: True})
            with immediate.begin():
                immediate.execute(statement)
            return True
        except OperationalError:  # "database is locked": another worker is writing; skip
            return False
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


@contextmanager
def write_transaction():
    """One transaction for one change to the books: commit on success, roll back on any error.

    Whatever the session had open (the request's reads) is ended first, so that the change
    starts from fresh rows and holds its lock from its first read.
    """
    session = db.session()  # the scoped session's current Session (the proxy has no in_transaction)
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={IMMEDIATE: True})
    try:
        yield session
        # Work the service layer asked to do last (e.g. posting monthly totals), in this transaction.
        for callback in session.info.pop(BEFORE_COMMIT, []):
            callback()
        session.commit()
    except BaseException:
        session.info.pop(BEFORE_COMMIT, None)
        session.info.pop("ais_monthly_snapshots", None)
        session.rollback()
        raise
