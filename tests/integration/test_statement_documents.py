"""The statement of account as PDF (the pages' own partial, read back with poppler's
``pdftotext``), its download routes (a client only their own), and the monthly batch
``flask --app ais statements``: a PDF per client with something to state, one email per client
and month however often (or however concurrently) it runs, nothing for archived clients."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from datetime import date
from decimal import Decimal
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from portal_support import (
    ACTOR,
    ANN,
    BEN,
    DAY,
    OWNER,
    TODAY,
    fresh,
    make_client,
    make_invoice,
    make_user,
    number_of,
    pay,
    report,
    sign_in,
    text_of,
)
from sqlalchemy import func, select

from ais.billing import aging, services, statements
from ais.billing.statements import statement_of_account
from ais.extensions import db
from ais.formatting import format_money
from ais.models import AuditEntry, MonthlyStatement, OutboxMessage, Setting

D = Decimal
pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (make install) is missing")

# The month stated by the batch: February 2026 (TODAY is 16 March 2026).
FEB, FEB_END = date(2026, 2, 1), date(2026, 2, 28)
START, END = TODAY - 40 * DAY, TODAY - 5 * DAY


def statement_file_name(period: str, client_id: int) -> str:
    return f"statement-{period}-client-{client_id:06d}.pdf"


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return " ".join(out.stdout.decode("utf-8").split())


def money(value) -> str:
    return format_money(value, "PHP")


def page_buckets(html: str) -> dict[str, str]:
    """The aging figures a statement page shows, by bucket (data-bucket cells)."""
    return dict(re.findall(r'data-bucket="([a-z0-9_-]+)">([^<]+)<', html))


@pytest.fixture
def ann_books(books):
    """Ann: an old invoice (part paid before the period, part in it, some of it long overdue), one
    in the period, a reported payment (not counted); Ben: an invoice of his own."""
    ann = make_client("Ann Cruz", ANN[0])
    ben = make_client("Ben Santos", BEN[0])
    old = make_invoice(ann, "1000.00", issued=START - 130 * DAY, due=START - 120 * DAY, count=4)
    pay(old, "150.00", on=START - 10 * DAY)
    pay(old, "100.00", on=START + 3 * DAY, method="GCash", reference="G-1")
    new = make_invoice(ann, "900.00", issued=START + 3 * DAY, due=START + 10 * DAY, count=3)
    pay(new, "300.00", on=START + 20 * DAY)
    report(ann, new, "20.00", on=START + 21 * DAY)
    make_invoice(ben, "4321.09", issued=START + 4 * DAY)
    make_user(*OWNER)
    make_user(*ANN, role="client", client_id=ann)
    make_user(*BEN, role="client", client_id=ben)
    return ann, ben, old, new


def test_the_pdf_shows_the_figures_of_the_page(client, actions, ann_books):
    ann, ben, old, new = ann_books
    period = f"from={START.isoformat()}&to={END.isoformat()}"
    sign_in(actions, OWNER)
    page = text_of(client.get(f"/clients/{ann}/statement?{period}"))
    response = client.get(f"/clients/{ann}/statement.pdf?{period}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert (
        f'filename="statement-{START.isoformat()}-to-{END.isoformat()}.pdf"' in response.headers["Content-Disposition"]
    )
    text = pdf_text(response.data)
    statement = statement_of_account(ann, START, END)
    assert statement.opening == D("850.00") and statement.closing == D("1350.00")
    assert statement.aging.total == statement.closing and statement.aging.over_90 > 0  # every bucket is exercised
    assert "STATEMENT OF ACCOUNT" in text and "Ann Cruz" in text
    # Opening and closing balance, the running balance, each aging bucket: the page's figures.
    assert f"Opening balance {money(statement.opening)}" in text
    assert f"Closing balance {money(statement.closing)}" in text and money(statement.closing) in page
    for line in statement.lines:
        assert money(line.balance) in text and money(line.balance) in page
    buckets = page_buckets(page)
    assert set(buckets) == {*aging.BUCKETS, "total"}
    labels = " ".join(aging.BUCKET_LABELS[bucket] for bucket in aging.BUCKETS)
    # (the print shows column headings in capitals)
    assert f"{labels} total ".lower() + " ".join(buckets[b] for b in (*aging.BUCKETS, "total")) in text.lower()
    assert buckets["total"] == money(statement.aging.total)
    for item in statement.open_items:
        assert f"{item.invoice_no} {item.installment_number} of {item.installment_count}" in text
    assert number_of(new) in text and "GCash G-1" in text
    assert "4,321.09" not in text and "Ben Santos" not in text
    assert "href" not in text and "Show" not in text  # no links nor the period form in print


def test_the_pages_link_to_their_pdf_and_letter_size_works(client, actions, ann_books):
    ann, ben, old, new = ann_books
    period = f"from={START.isoformat()}&to={END.isoformat()}"
    sign_in(actions, OWNER)
    page = text_of(client.get(f"/clients/{ann}/statement?{period}"))
    assert f"/clients/{ann}/statement.pdf?from={START.isoformat()}&amp;to={END.isoformat()}" in page
    letter = client.get(f"/clients/{ann}/statement.pdf?{period}&size=letter")
    info = subprocess.run(["pdfinfo", "-"], input=letter.data, capture_output=True, check=True).stdout.decode()
    assert "612 x 792 pts (letter)" in info
    preview = text_of(client.get(f"/portal/statement?client={ann}&{period}"))
    assert f"/portal/statement.pdf?from={START.isoformat()}&amp;to={END.isoformat()}&amp;client={ann}" in preview
    assert client.get(f"/portal/statement.pdf?client={ann}&{period}").status_code == 200
    actions.logout()
    sign_in(actions, ANN)
    page = text_of(client.get(f"/portal/statement?{period}"))
    assert f"/portal/statement.pdf?from={START.isoformat()}&amp;to={END.isoformat()}" in page


def test_a_client_downloads_only_their_own_statement(client, actions, ann_books):
    ann, ben, old, new = ann_books
    sign_in(actions, BEN)
    # The portal's scope never comes from the URL: Ben asking for Ann's gets his own.
    text = pdf_text(client.get(f"/portal/statement.pdf?client={ann}&from={START.isoformat()}").data)
    assert "Ben Santos" in text and "4,321.09" in text and "Ann Cruz" not in text
    assert client.get(f"/clients/{ann}/statement.pdf").status_code in (403, 404)
    actions.logout()
    sign_in(actions, OWNER)
    assert client.get("/clients/999999/statement.pdf").status_code == 404
    assert client.get(f"/clients/{2**40}/statement.pdf").status_code == 404


@pytest.mark.parametrize(
    "query", ["?from=2026-13-01", "?to=soon", f"?from={TODAY.isoformat()}&to={(TODAY - DAY).isoformat()}"]
)
def test_a_bad_period_is_a_clear_400_for_the_pdf(client, actions, ann_books, query):
    ann = ann_books[0]
    sign_in(actions, ANN)
    response = client.get("/portal/statement.pdf" + query)
    assert response.status_code == 400 and b"%PDF" not in response.data
    actions.logout()
    sign_in(actions, OWNER)
    assert client.get(f"/clients/{ann}/statement.pdf" + query).status_code == 400


# --- The monthly batch ----------------------------------------------------------------------------


@pytest.fixture
def month_books(books):
    """Five clients with something to state in February (activity, or a balance carried in), one
    archived with an open invoice, one paid off before February with nothing since, one with no
    invoice at all; a void invoice alone states nothing."""
    stated = []
    for index in range(3):  # an invoice in February
        client_id = make_client(f"Client {index}", f"c{index}@example.com")
        make_invoice(client_id, f"{100 + index}.00", issued=FEB + index * DAY)
        stated.append(client_id)
    carried = make_client("Carried Balance", "carried@example.com")  # owes from January, nothing new
    make_invoice(carried, "500.00", issued=FEB - 20 * DAY)
    stated.append(carried)
    paid_in_feb = make_client("Paid In February", "paidfeb@example.com")  # paid off in February
    invoice = make_invoice(paid_in_feb, "80.00", issued=FEB - 20 * DAY)
    pay(invoice, "80.00", on=FEB + 5 * DAY)
    stated.append(paid_in_feb)
    archived = make_client("Archived Owing", "archived@example.com")
    make_invoice(archived, "700.00", issued=FEB + DAY)
    services.archive_client(ACTOR, archived)
    settled = make_client("Settled Earlier", "settled@example.com")
    invoice = make_invoice(settled, "60.00", issued=FEB - 40 * DAY)
    pay(invoice, "60.00", on=FEB - 30 * DAY)
    make_client("No Invoices", "none@example.com")
    voided = make_client("Only Void", "void@example.com")
    services.void_invoice(ACTOR, make_invoice(voided, "90.00", issued=FEB + DAY), "Raised twice")
    return stated


def statement_messages() -> list[OutboxMessage]:
    return list(
        fresh().scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like("statement:%")).order_by(OutboxMessage.id)
        )
    )


def turn_monthly_statements(on: bool) -> None:
    statements.set_monthly_statements(ACTOR, on)


def test_the_batch_writes_one_pdf_per_client_with_something_to_state(app, month_books, tmp_path):
    out = tmp_path / "statements"
    result = app.test_cli_runner().invoke(args=["statements", "--period", "2026-02", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert "Statements for February 2026" in result.output and "5 PDF file(s) written" in result.output
    files = sorted(path.name for path in out.iterdir())
    assert files == sorted(statement_file_name("2026-02", client_id) for client_id in month_books)
    for client_id in month_books:
        text = pdf_text((out / statement_file_name("2026-02", client_id)).read_bytes())
        statement = statement_of_account(client_id, FEB, FEB_END)
        assert statement.client_name in text and f"Closing balance {money(statement.closing)}" in text
        assert "February 1, 2026 – February 28, 2026" in text
    assert statement_messages() == []  # files only: nothing emailed


def test_a_dry_run_writes_nothing(app, month_books, tmp_path):
    turn_monthly_statements(True)
    out = tmp_path / "dry"
    result = app.test_cli_runner().invoke(
        args=["statements", "--period", "2026-02", "--output-dir", str(out), "--email", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "5 PDF file(s) would be written" in result.output and "5 email(s) would be queued" in result.output
    assert "nothing was written" in result.output
    assert not out.exists() and statement_messages() == []
    assert fresh().scalar(select(func.count()).select_from(MonthlyStatement)) == 0


def test_statements_are_emailed_once_per_client_and_month(app, month_books):
    runner = app.test_cli_runner()
    off = runner.invoke(args=["statements", "--period", "2026-02", "--email"])
    assert off.exit_code == 0 and "Monthly statements are off" in off.output and statement_messages() == []
    turn_monthly_statements(True)
    first = runner.invoke(args=["statements", "--period", "2026-02", "--email"])
    assert first.exit_code == 0 and "5 email(s) queued" in first.output, first.output
    again = runner.invoke(args=["statements", "--period", "2026-02", "--email"])
    assert "0 email(s) queued" in again.output
    messages = statement_messages()
    addresses = sorted(message.to_address for message in messages)
    assert addresses == [
        "c0@example.com",
        "c1@example.com",
        "c2@example.com",
        "carried@example.com",
        "paidfeb@example.com",
    ]
    rows = {row.id: row for row in fresh().scalars(select(MonthlyStatement))}
    assert {message.attachment for message in messages} == {f"statement:{row_id}" for row_id in rows}
    assert all(row.period == FEB for row in rows.values())
    # Another month is another statement.
    march = runner.invoke(args=["statements", "--period", "2026-03", "--email"])
    assert "queued" in march.output and len(statement_messages()) > len(messages)


def test_the_statement_email_attaches_the_pdf(app, month_books):
    from ais.mail.delivery import deliver_due

    turn_monthly_statements(True)
    carried = month_books[3]
    assert statements.email_monthly_statement(carried, FEB, FEB_END) is not None
    [message] = statement_messages()
    assert message.subject == "Your statement of account for February 2026"
    assert "Closing balance on Feb 28, 2026: ₱500.00" in message.body_text
    assert "/portal/statement?from=2026-02-01&to=2026-02-28" in message.body_text
    app.config["MAIL_SERVER"] = ""  # delivered as .eml files under instance/outbox
    deliver_due()
    mail = message_from_bytes(
        (Path(app.instance_path) / "outbox" / f"{message.id}.eml").read_bytes(), policy=policy.default
    )
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "statement-2026-02.pdf"
    text = pdf_text(attachment.get_content())
    assert "Carried Balance" in text and f"Opening balance {money(D('500.00'))}" in text


def test_the_owner_turns_monthly_statements_on_and_off(client, actions, books):
    make_user(*OWNER)
    sign_in(actions, OWNER)
    page = client.get("/settings/statements")
    assert page.status_code == 200 and "Off: no statement is emailed." in text_of(page)
    forged = client.post("/settings/statements", data={"enabled": "y"})  # no CSRF token
    assert forged.status_code == 400 and not statements.monthly_statements_enabled()
    response = actions.post("/settings/statements", {"enabled": "y"})
    assert response.status_code == 302 and statements.monthly_statements_enabled()
    assert "On: statements of account are emailed each month." in text_of(client.get("/settings/statements"))
    actions.post("/settings/statements", {})
    assert not statements.monthly_statements_enabled()
    assert fresh().scalar(select(Setting.value).where(Setting.key == "monthly_statements")) == "off"
    actions_logged = fresh().scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("statements.%")).order_by(AuditEntry.id)
    )
    assert list(actions_logged) == ["statements.monthly_on", "statements.monthly_off"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--period", "2026-13", "--output-dir", "x"], "is not a month: use YYYY-MM"),
        (["--period", "feb", "--email"], "is not a month: use YYYY-MM"),
        (["--period", "2026-02"], "Give --output-dir DIR"),
    ],
)
def test_the_command_refuses_what_it_cannot_read(app, books, args, message, tmp_path):
    result = app.test_cli_runner().invoke(args=["statements", *args])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "x").exists()


def test_the_period_defaults_to_last_month(app, month_books, tmp_path):
    result = app.test_cli_runner().invoke(args=["statements", "--output-dir", str(tmp_path)])
    assert result.exit_code == 0 and "Statements for February 2026" in result.output


def test_two_runs_at_once_email_each_client_once_on_postgresql(app, month_books):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set AIS_TEST_DATABASE_URL")
    turn_monthly_statements(True)
    db.session.commit()
    barrier = threading.Barrier(3)
    results: list = [None] * 3

    def run(index: int) -> None:
        with app.app_context():
            barrier.wait(timeout=10)
            try:
                results[index] = [
                    statements.email_monthly_statement(client_id, FEB, FEB_END)
                    for client_id in statements.clients_to_state(FEB_END)
                ]
            except Exception as error:  # noqa: BLE001 - the test inspects it
                results[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(isinstance(result, Exception) for result in results), results
    assert sum(1 for result in results for queued in result if queued is not None) == 5
    messages = statement_messages()
    assert len(messages) == 5 and len({message.to_address for message in messages}) == 5
