"""gen-demo: the large demo data set respects every invariant and keeps the demo sign-ins."""

from sqlalchemy import func, select

from ais.billing.checks import find_problems
from ais.extensions import db
from ais.models import Client, DueDayBalance, Invoice, MonthlyTotal, Payment, User


def test_gen_demo_writes_consistent_books_with_the_demo_sign_ins(app):
    result = app.test_cli_runner().invoke(args=["gen-demo", "--clients", "12", "--invoices", "5", "--payments", "4"])
    assert result.exit_code == 0, result.output
    assert "done in" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Client.id))) == 12
        assert db.session.scalar(select(func.count(Invoice.id))) == 60
        assert db.session.scalar(select(func.count(Payment.id))) > 60
        alice = db.session.scalar(select(User).where(User.username == "client1@example.com"))
        assert alice.client.name == "Alice Johnson"
        assert db.session.scalar(select(func.count(Invoice.id)).where(Invoice.client_id == alice.client_id)) == 5
        assert db.session.scalar(select(User.role).where(User.username == "admin")) == "owner"
        assert db.session.scalar(select(func.count()).select_from(MonthlyTotal)) > 0
        assert db.session.scalar(select(func.count()).select_from(DueDayBalance)) > 0
        assert find_problems() == []


def test_gen_demo_refuses_a_database_that_has_books(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["gen-demo", "--clients", "2", "--invoices", "1"]).exit_code == 0
    again = runner.invoke(args=["gen-demo", "--clients", "2", "--invoices", "1"])
    assert again.exit_code != 0
    assert "empty database" in again.output


def test_gen_demo_refuses_in_production(app):
    app.config["AIS_ENV"] = "production"
    result = app.test_cli_runner().invoke(args=["gen-demo", "--clients", "2", "--invoices", "1"])
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count(Client.id))) == 0
