"""The migrations build exactly the schema the models describe (tables, columns, indexes), on
SQLite and on PostgreSQL: the test database was built by ``flask db upgrade`` (tests/conftest.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column

from ais.extensions import db


def _invoice(actor, client_id, amount, issued, due, count=1, issue=True) -> int:
    """An invoice of one line ("Goods") through the service layer: in full, or in ``count``
    monthly installments; issued unless ``issue`` is False."""
    from decimal import Decimal

    from ais.billing import services

    return services.create_invoice(
        actor,
        services.InvoiceInput(
            client_id=client_id,
            issue_date=issued,
            due_date=due,
            lines=[services.LineInput("Goods", Decimal("1"), Decimal(amount))],
            payment_type="installment" if count > 1 else "full",
            installment_count=count,
            frequency="monthly" if count > 1 else None,
        ),
        issue=issue,
    )


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # SQLite cannot reflect them; PostgreSQL compares them
def test_the_upgraded_schema_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = [
            d
            for d in compare_metadata(context, db.metadata)
            if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
        ]
    assert differences == []


def test_the_expression_indexes_survive_every_migration(app):
    """compare_metadata cannot see indexes on expressions (lower(username), lower(email), ...) on
    SQLite, and a batch migration that rebuilds a table there would silently lose them: they
    are looked up by name in the database's own catalogue instead."""
    expected = {
        index.name
        for table in db.metadata.tables.values()
        for index in table.indexes
        if any(not isinstance(expression, Column) for expression in index.expressions)
    }
    assert "uq_users_username_lower" in expected
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            present = set(connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'").scalars())
        else:
            present = set(
                connection.exec_driver_sql(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
                ).scalars()
            )
    assert expected <= present, expected - present


def test_upgrading_seals_the_totp_keys_already_stored_and_downgrading_opens_them(tmp_path):
    """0006 encrypts the plaintext users.totp_secret of an existing database with its SECRET_KEY."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from ais import create_app
    from ais.auth import sealing

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite3'}", "TESTING": True})
    with app.app_context():
        upgrade(revision="8e41c2d9f0a7")  # 0005: the key stored as is
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, username, role, is_enabled, totp_secret, totp_enabled, created_at) "
                    "VALUES (7, 'owner', 'owner', true, 'JBSWY3DPEHPK3PXP', true, '2026-01-01')"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            sealed = connection.execute(text("SELECT totp_secret_sealed FROM users WHERE id = 7")).scalar_one()
            columns = {row[1] for row in connection.exec_driver_sql("PRAGMA table_info(users)")}
        assert "totp_secret" not in columns and "JBSWY3DPEHPK3PXP" not in sealed
        assert sealing.unseal(sealed) == "JBSWY3DPEHPK3PXP"
        downgrade(revision="8e41c2d9f0a7")
        with db.engine.connect() as connection:
            assert (
                connection.execute(text("SELECT totp_secret FROM users WHERE id = 7")).scalar_one()
                == "JBSWY3DPEHPK3PXP"
            )
        db.engine.dispose()


def test_upgrading_gives_existing_invoices_their_vat_summary_from_their_lines(tmp_path):
    """0010: lines with a tax rate above zero become VATable, the others have no treatment; each
    invoice's VAT and VATable sales are its lines' sums, so `flask check` passes at once."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from ais import create_app
    from ais.billing.checks import find_problems

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite3'}", "TESTING": True})
    with app.app_context():
        upgrade(revision="3b9e7c51d2a4")  # 0006
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO clients (id, name, email, company, phone, tax_id, address, created_at) "
                    "VALUES (1, 'A', 'a@x', '', '', '', '', '2026-01-01')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO invoices (id, client_id, description, issue_date, due_date, amount, currency, "
                    "payment_type, installment_count, void_reason, paid_amount, held_amount, created_at) "
                    "VALUES (1, 1, '', '2026-01-05', '2026-02-05', 122000, 'PHP', 'full', 1, '', 0, 0, '2026-01-05')"
                )
            )
            # (SQLite keeps cents: 1,000.00 net + 120.00 tax at 12.00 %, and 100.00 untaxed)
            connection.execute(
                text(
                    "INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit_price, tax_rate, "
                    "net_amount, tax_amount) VALUES (1, 1, 'Taxed', 1000, 10000000, 1200, 100000, 12000), "
                    "(1, 2, 'Untaxed', 1000, 1000000, NULL, 10000, 0)"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            row = connection.execute(
                text("SELECT vatable_sales, vat_amount, exempt_sales, seller_vat_registered FROM invoices")
            ).one()
            treatments = connection.execute(text("SELECT vat_treatment FROM invoice_lines ORDER BY position")).scalars()
            assert tuple(row) == (100000, 12000, 0, 1) and list(treatments) == ["vatable", None]
        assert find_problems() == []
        downgrade(revision="3b9e7c51d2a4")
        db.engine.dispose()


def test_upgrading_gives_every_payment_method_one_spelling(tmp_path):
    """0008: old spellings become the canonical ones; an unknown method becomes Other, its name kept."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from ais import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite3'}", "TESTING": True})
    with app.app_context():
        upgrade(revision="3b9e7c51d2a4")  # 0006
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO clients (id, name, email, company, phone, tax_id, address, created_at) "
                    "VALUES (1, 'Ann', 'ann@example.com', '', '', '', '', '2026-01-01')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO invoices (id, client_id, currency, amount, paid_amount, held_amount, issue_date, "
                    "due_date, payment_type, installment_count, description, void_reason, created_at) "
                    "VALUES (1, 1, 'PHP', 100000, 0, 0, '2026-01-01', '2026-02-01', 'full', 1, '', '', '2026-01-01')"
                )
            )
            for number, (method, reference) in enumerate(
                [
                    ("cash", "OR-1"),
                    ("bank transfer", ""),
                    ("Card (Stripe)", "pi_1"),
                    ("Barter", "2 goats"),
                    ("GCash", ""),
                ],
                start=1,
            ):
                connection.execute(
                    text(
                        "INSERT INTO payments (id, invoice_id, client_id, amount, date, method, reference, state, "
                        "state_reason, provider, created_at) VALUES (:id, 1, 1, 1000, '2026-01-02', :method, "
                        ":reference, 'confirmed', '', 'manual', '2026-01-02')"
                    ),
                    {"id": number, "method": method, "reference": reference},
                )
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT method, reference FROM payments ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [
            ("Cash", "OR-1"),
            ("Bank transfer", ""),
            ("Card", "pi_1"),
            ("Other", "Barter · 2 goats"),
            ("GCash", ""),
        ]
        db.engine.dispose()


def test_upgrading_books_that_have_no_ledger_posts_their_history(app, freeze_today):
    """0013 (with env.py): an install upgraded from before the ledger (0011) with invoices,
    payments, a void and a credit note gets its ledger posted by the upgrade itself, and
    `flask check` passes at once.  Run on the test database (SQLite or PostgreSQL), which ends at
    the head again."""
    from datetime import date, timedelta
    from decimal import Decimal

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import func, select, text

    from ais.audit import Actor
    from ais.billing import services
    from ais.billing.checks import find_problems
    from ais.models import JournalEntry

    actor, today = Actor.system("test"), date(2026, 3, 16)
    freeze_today(today)
    with app.app_context():
        client_id = services.create_client(actor, services.ClientInput(name="Ann", email="ann@example.com"))
        invoices = [
            _invoice(actor, client_id, "1120.00", today - timedelta(days=40 - 10 * number), today)
            for number in range(3)
        ]
        services.record_payment(actor, invoices[0], Decimal("500.00"), today - timedelta(days=5), "GCash", "")
        bounced = services.record_payment(actor, invoices[1], Decimal("100.00"), today - timedelta(days=4), "Check", "")
        services.void_payment(actor, bounced, "Bounced")
        services.credit_invoice(actor, invoices[1], Decimal("112.00"), "Returned")
        services.void_invoice(actor, invoices[2], "Duplicate")
        posted = db.session.scalar(select(func.count()).select_from(JournalEntry))
        db.session.remove()
        try:
            downgrade(revision="7a4e2b91c0d6")  # 0011: the books as they were before the ledger
            with db.engine.connect() as connection:
                tables = set(db.inspect(connection).get_table_names())
            assert "journal_entries" not in tables and "invoices" in tables
        finally:
            upgrade()
        assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == posted
        assert db.session.scalar(text("SELECT count(*) FROM closed_periods")) == 0
        assert find_problems() == []
        db.session.remove()


def test_upgrading_a_ledger_fills_the_running_balances_per_day_and_the_line_dates(app, freeze_today):
    """0018: a ledger posted before the running balances per day (0017) gets its lines' dates and
    its running balances per account and per client and day from its lines, and `flask check`
    passes at once (on PostgreSQL through the append-only trigger, switched off for that copy)."""
    from datetime import date, timedelta
    from decimal import Decimal

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import func, select

    from ais.audit import Actor
    from ais.billing import services
    from ais.billing.checks import find_problems
    from ais.models import AccountDayBalance, ClientDayBalance

    actor, today = Actor.system("test"), date(2026, 3, 16)
    freeze_today(today)
    with app.app_context():
        client_id = services.create_client(actor, services.ClientInput(name="Ann", email="ann@example.com"))
        invoice = _invoice(actor, client_id, "1120.00", today - timedelta(days=30), today)
        services.record_payment(actor, invoice, Decimal("500.00"), today - timedelta(days=5), "GCash", "")
        services.record_payment(actor, invoice, Decimal("100.00"), today - timedelta(days=20), "Cash", "")
        days = db.session.scalar(select(func.count()).select_from(AccountDayBalance))
        client_days = db.session.scalar(select(func.count()).select_from(ClientDayBalance))
        assert days and client_days
        db.session.remove()
        try:
            downgrade(revision="3f6d1a8c2e57")  # 0017: the ledger without the running balances per day
            with db.engine.connect() as connection:
                inspector = db.inspect(connection)
                assert "account_day_balances" not in inspector.get_table_names()
                assert "date" not in {column["name"] for column in inspector.get_columns("journal_lines")}
        finally:
            upgrade()
        assert db.session.scalar(select(func.count()).select_from(AccountDayBalance)) == days
        assert db.session.scalar(select(func.count()).select_from(ClientDayBalance)) == client_days
        assert find_problems() == []
        db.session.remove()


def test_upgrading_lists_the_clients_of_each_account_from_the_running_balances(app, freeze_today):
    """0022: client_accounts is filled with the (account, client) pairs of client_day_balances, and
    `flask check` passes at once; the downgrade drops it."""
    from datetime import date, timedelta
    from decimal import Decimal

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select

    from ais.audit import Actor
    from ais.billing import services
    from ais.billing.checks import find_problems
    from ais.models import ClientAccount, ClientDayBalance

    actor, today = Actor.system("test"), date(2026, 3, 16)
    freeze_today(today)
    with app.app_context():
        for name in ("Ann", "Ben"):
            client_id = services.create_client(
                actor, services.ClientInput(name=name, email=f"{name.lower()}@example.com")
            )
            invoice = _invoice(actor, client_id, "1120.00", today - timedelta(days=30), today)
            services.record_payment(actor, invoice, Decimal("500.00"), today - timedelta(days=5), "GCash", "")
        services.create_client(actor, services.ClientInput(name="Cy", email="cy@example.com"))  # no line
        pairs = sorted(
            tuple(row)
            for row in db.session.execute(select(ClientDayBalance.account_id, ClientDayBalance.client_id).distinct())
        )
        assert len(pairs) == 2
        db.session.remove()
        try:
            downgrade(revision="2c9e7b4f1a86")  # 0021: no client_accounts
            with db.engine.connect() as connection:
                assert "client_accounts" not in db.inspect(connection).get_table_names()
        finally:
            upgrade()
        listed = sorted(
            tuple(row) for row in db.session.execute(select(ClientAccount.account_id, ClientAccount.client_id))
        )
        assert listed == pairs
        assert find_problems() == []
        db.session.remove()


def test_upgrading_keeps_each_clients_unpaid_installments_from_the_books(app, freeze_today):
    """0025: client_due_day_totals is filled with each client's unpaid installments of open invoices
    per due day (not a draft's, not a void invoice's, not a paid one's), and `flask check` passes at
    once.  0030 drops client_open_totals (0023), which no page reads; its downgrade creates it again
    with the same installments per client."""
    from datetime import date, timedelta
    from decimal import Decimal

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select

    from ais.audit import Actor
    from ais.billing import books, services
    from ais.billing.checks import find_problems
    from ais.db_types import Money
    from ais.models import ClientDueDayTotal, Installment

    actor, today = Actor.system("test"), date(2026, 3, 16)
    freeze_today(today)

    def invoice_for(client_id, amount, count=1, issue=True):
        return _invoice(actor, client_id, amount, today - timedelta(days=30), today - timedelta(days=20), count, issue)

    with app.app_context():
        ann = services.create_client(actor, services.ClientInput(name="Ann", email="ann@example.com"))
        ben = services.create_client(actor, services.ClientInput(name="Ben", email="ben@example.com"))
        plan = invoice_for(ann, "900.00", count=3)
        services.record_payment(actor, plan, Decimal("400.00"), today - timedelta(days=5), "GCash", "")
        invoice_for(ann, "50.00", issue=False)  # a draft owes nothing
        paid = invoice_for(ben, "75.00")
        services.record_payment(actor, paid, Decimal("75.00"), today - timedelta(days=2), "Cash", "")
        services.void_invoice(actor, invoice_for(ben, "60.00"), "Raised twice")
        db.session.remove()
        try:
            downgrade(revision="a12f4d07ebd2")  # 0022: no client_open_totals, no client_due_day_totals
            with db.engine.connect() as connection:
                tables = db.inspect(connection).get_table_names()
                assert "client_open_totals" not in tables and "client_due_day_totals" not in tables
        finally:
            upgrade()
        with db.engine.connect() as connection:
            assert "client_open_totals" not in db.inspect(connection).get_table_names()
        try:
            downgrade(revision="5c2a9e7d3b14")  # 0029: client_open_totals, filled again
            dropped = sa.table(
                "client_open_totals",
                sa.column("client_id"),
                sa.column("unpaid_due", Money()),
                sa.column("unpaid_count"),
            )
            with db.engine.connect() as connection:
                per_client = connection.execute(
                    select(dropped.c.client_id, dropped.c.unpaid_due, dropped.c.unpaid_count)
                )
                assert [tuple(row) for row in per_client] == [(ann, Decimal("500.00"), 2)]
        finally:
            upgrade()
        by_due_day = {
            (row.client_id, row.due_day): (row.unpaid_due, row.unpaid_count)
            for row in db.session.execute(
                select(
                    ClientDueDayTotal.client_id,
                    ClientDueDayTotal.due_day,
                    ClientDueDayTotal.unpaid_due,
                    ClientDueDayTotal.unpaid_count,
                )
            )
        }
        unpaid = db.session.execute(
            select(Installment.due_date, Installment.amount - Installment.paid_amount)
            .where(Installment.invoice_id == plan, Installment.paid_amount < Installment.amount)
            .order_by(Installment.due_date)
        ).all()
        assert by_due_day == {(ann, due_day): (amount, 1) for due_day, amount in unpaid}
        assert [amount for _, amount in unpaid] == [Decimal("200.00"), Decimal("300.00")]
        assert by_due_day == {key: tuple(values) for key, values in books.recomputed_client_due_days().items()}
        assert find_problems() == []
        db.session.remove()


def test_upgrading_fills_the_running_balances_per_due_month_from_those_per_due_day(app, freeze_today):
    """0026: due_month_balances holds, for each due month and day, the sum of its due days' running
    balances (balance_due_months lists the months), as the service layer would have kept them, and
    `flask check` passes at once; the downgrade drops both."""
    from datetime import date, timedelta
    from decimal import Decimal

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select

    from ais.audit import Actor
    from ais.billing import books, services
    from ais.billing.checks import find_problems
    from ais.models import BalanceDueMonth, DueMonthBalance

    actor, today = Actor.system("test"), date(2026, 3, 16)
    freeze_today(today)
    with app.app_context():
        ann = services.create_client(actor, services.ClientInput(name="Ann", email="ann@example.com"))
        plan = _invoice(actor, ann, "900.00", today - timedelta(days=100), today - timedelta(days=95), count=3)
        other = _invoice(actor, ann, "250.00", today - timedelta(days=70), today - timedelta(days=60))
        services.record_payment(actor, plan, Decimal("400.00"), today - timedelta(days=50), "GCash", "")
        services.record_payment(actor, other, Decimal("100.00"), today - timedelta(days=40), "Cash", "")
        services.record_payment(actor, plan, Decimal("120.00"), today - timedelta(days=45), "Cash", "")  # backdated
        kept = {
            (row.due_month, row.day): row.open
            for row in db.session.execute(select(DueMonthBalance.due_month, DueMonthBalance.day, DueMonthBalance.open))
        }
        assert len({month for month, _ in kept}) == 3
        db.session.remove()
        try:
            downgrade(revision="5c3e91d0a7b4")  # 0025: no running balances per due month
            with db.engine.connect() as connection:
                tables = db.inspect(connection).get_table_names()
                assert "due_month_balances" not in tables and "balance_due_months" not in tables
        finally:
            upgrade()
        filled = {
            (row.due_month, row.day): row.open
            for row in db.session.execute(select(DueMonthBalance.due_month, DueMonthBalance.day, DueMonthBalance.open))
        }
        assert filled == kept == books.recomputed_due_balances()[1]
        assert sorted(db.session.scalars(select(BalanceDueMonth.due_month))) == sorted({month for month, _ in kept})
        assert find_problems() == []
        db.session.remove()


def _index_definitions(connection) -> dict[str, str]:
    """Index name -> its definition as the database states it (PostgreSQL) or its columns (SQLite)."""
    if connection.dialect.name == "postgresql":
        return dict(
            connection.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename IN ('payments', 'allocations')"
            ).all()
        )
    inspector = db.inspect(connection)
    return {
        index["name"]: ", ".join(index["column_names"])
        for table in ("payments", "allocations")
        for index in inspector.get_indexes(table)
    }


def test_upgrading_makes_the_payments_after_a_day_readable_from_covering_indexes(app, freeze_today):
    """0027: the client's payments by date carry their state and a payment's allocations their
    amount (INCLUDE, on PostgreSQL); the index on allocations.payment_id alone, which the unique
    constraint's index already covers, is gone; a downgrade restores the indexes as they were and
    every row stays."""
    from datetime import date, timedelta
    from decimal import Decimal

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from ais.audit import Actor
    from ais.billing import services
    from ais.billing.checks import find_problems
    from ais.models import Allocation

    actor, today = Actor.system("test"), date(2026, 3, 16)
    freeze_today(today)
    with app.app_context():
        ann = services.create_client(actor, services.ClientInput(name="Ann", email="ann@example.com"))
        plan = _invoice(actor, ann, "900.00", today - timedelta(days=100), today - timedelta(days=95), count=3)
        services.record_payment(actor, plan, Decimal("400.00"), today - timedelta(days=50), "GCash", "")
        allocations = sorted(
            db.session.execute(select(Allocation.payment_id, Allocation.installment_id, Allocation.amount))
        )
        assert len(allocations) == 2
        db.session.remove()
        with db.engine.connect() as connection:
            upgraded = _index_definitions(connection)
            postgresql = connection.dialect.name == "postgresql"
        assert "ix_allocations_payment_id" not in upgraded
        if postgresql:
            assert upgraded["ix_payments_client_date_id"].endswith("(client_id, date, id) INCLUDE (state)")
            assert upgraded["uq_allocations_payment_installment"].endswith(
                "(payment_id, installment_id) INCLUDE (amount)"
            )
            assert upgraded["uq_allocations_payment_installment"].startswith("CREATE UNIQUE INDEX")
        try:
            downgrade(revision="3d8a6f0c2b91")  # 0026
            with db.engine.connect() as connection:
                downgraded = _index_definitions(connection)
            assert "ix_allocations_payment_id" in downgraded
            assert not any("INCLUDE" in definition for definition in downgraded.values())
        finally:
            upgrade()
        with db.engine.connect() as connection:
            assert _index_definitions(connection) == upgraded
        assert (
            sorted(db.session.execute(select(Allocation.payment_id, Allocation.installment_id, Allocation.amount)))
            == allocations
        )
        assert find_problems() == []
        with pytest.raises(IntegrityError, match="uq_allocations_payment_installment|UNIQUE"):
            db.session.execute(
                Allocation.__table__.insert().values(
                    payment_id=allocations[0][0], installment_id=allocations[0][1], amount=Decimal("1.00")
                )
            )
        db.session.rollback()
        db.session.remove()


def test_upgrading_gives_the_confirmation_queue_an_index_in_its_own_order(app):
    """0028: ix_payments_state_date (state, date) becomes ix_payments_state_date_id (state, date,
    id), the queue's order (oldest first, by date and id); a downgrade restores the old one."""
    from flask_migrate import downgrade, upgrade

    def payment_indexes() -> dict[str, list[str]]:
        with db.engine.connect() as connection:
            return {index["name"]: index["column_names"] for index in db.inspect(connection).get_indexes("payments")}

    with app.app_context():
        upgraded = payment_indexes()
        assert upgraded["ix_payments_state_date_id"] == ["state", "date", "id"]
        assert "ix_payments_state_date" not in upgraded
        try:
            downgrade(revision="8b4f2e6a1c07")  # 0027
            downgraded = payment_indexes()
            assert downgraded["ix_payments_state_date"] == ["state", "date"]
            assert "ix_payments_state_date_id" not in downgraded
        finally:
            upgrade()
        assert payment_indexes() == upgraded


def test_upgrading_fills_the_clients_changes_and_the_number_of_owing_clients(app, freeze_today):
    """0029: client_open_changes holds what each client's installments opened and what payments
    took off them per day and due day, and owing_client_counts the number of clients owing at the
    end of each day on which it changed, as the service layer would have kept them (a void
    invoice left out, a client cleared for a while, a backdated payment); `flask check` passes at
    once; the downgrade drops both."""
    from datetime import date, timedelta
    from decimal import Decimal

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select

    from ais.audit import Actor
    from ais.billing import services
    from ais.billing.checks import find_problems
    from ais.models import ClientOpenChange, OwingClientCount

    actor, today = Actor.system("test"), date(2026, 3, 16)
    day = timedelta(days=1)
    freeze_today(today)
    with app.app_context():
        ann = services.create_client(actor, services.ClientInput(name="Ann", email="ann@example.com"))
        ben = services.create_client(actor, services.ClientInput(name="Ben", email="ben@example.com"))
        plan = _invoice(actor, ann, "900.00", today - 100 * day, today - 95 * day, count=3)
        other = _invoice(actor, ben, "250.00", today - 70 * day, today - 60 * day)
        voided = _invoice(actor, ben, "80.00", today - 90 * day, today - 80 * day)
        services.void_invoice(actor, voided, "Raised twice")
        services.record_payment(actor, other, Decimal("250.00"), today - 40 * day, "GCash", "")
        services.record_payment(actor, plan, Decimal("120.00"), today - 45 * day, "Cash", "")  # backdated
        _invoice(actor, ben, "60.00", today - 10 * day, today + 20 * day)

        def changes():
            return {
                (row.client_id, row.day, row.due_day): row.change
                for row in db.session.execute(
                    select(
                        ClientOpenChange.client_id,
                        ClientOpenChange.day,
                        ClientOpenChange.due_day,
                        ClientOpenChange.change,
                    )
                )
                if row.change
            }

        def counts():
            return dict(db.session.execute(select(OwingClientCount.day, OwingClientCount.owing)).all())

        kept = changes()
        filled_counts = {today - 100 * day: 1, today - 70 * day: 2, today - 40 * day: 1, today - 10 * day: 2}
        # The void left its day's row, holding the number of the day before (as the fill leaves it out).
        assert counts() == {**filled_counts, today - 90 * day: 1}
        db.session.remove()
        try:
            downgrade(revision="4e1d7c9a2f58")  # 0028
            with db.engine.connect() as connection:
                tables = db.inspect(connection).get_table_names()
                assert "client_open_changes" not in tables and "owing_client_counts" not in tables
        finally:
            upgrade()
        assert changes() == kept
        assert (ann, today - 45 * day, today - 95 * day) in kept  # the backdated payment, on its day
        assert not any(client == ben and due == today - 80 * day for client, _, due in kept)  # the void invoice
        assert counts() == filled_counts
        assert find_problems() == []
        db.session.remove()
