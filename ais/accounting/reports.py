"""The books and reports of the ledger: each a page, a CSV and an A4 PDF drawn from the same
partial (docs/ACCOUNTING.md, "Reports").  Thin views: parse the dates (ais.params), read with
ais.billing.reports, render.

* ``GET /ledger``: reports_index, the list of books and reports
* ``GET /ledger/accounts/<id>[.csv|.pdf]?from=&to=&page=``: general_ledger, one account
* ``GET /ledger/journal[.csv|.pdf]?journal=&from=&to=&page=``: journal (the general journal: journal=general)
* ``GET /ledger/sales-journal[.csv|.pdf]?from=&to=&page=``: sales_journal
* ``GET /ledger/cash-receipts-journal[.csv|.pdf]?from=&to=&page=``: cash_receipts_journal
* ``GET /ledger/income-statement[.csv|.pdf]?from=&to=``: income_statement
* ``GET /ledger/balance-sheet[.csv|.pdf]?as_of=``: balance_sheet
* ``GET /ledger/receivables[.csv|.pdf]?as_of=&page=``: receivables, the balance per client
* ``GET /ledger/receivables/clients/<id>[.csv|.pdf]?from=&to=&page=``: client_receivable

(endpoints ``backoffice.accounting.<name>``, ``<name>_csv``, ``<name>_pdf``).

A period defaults to the current month; an "as of" date to today.  A date that cannot be read, a
period that ends before it starts or an unknown journal is a 400 with a sentence saying so; an
unknown account or client a 404; a PDF of more than ``reports.PDF_MAX_ROWS`` rows a 400 that says
to narrow the period or take the CSV.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from flask import Response, abort, render_template, request

from .. import clock, params
from ..billing import reports, services
from ..collections.exports import csv_lines
from ..database import reads_only
from ..documents.pdf import pdf_response, render_pdf
from . import owner_bp
from .cells import Cells

PER_PAGE = 50


# --- Parsing ---------------------------------------------------------------------------------


def _period() -> tuple[dt.date, dt.date]:
    """``from`` and ``to`` (both included); by default the current month."""
    today = clock.today()
    start = params.day(request.args.get("from"), "start date (from)") or today.replace(day=1)
    end = params.day(request.args.get("to"), "end date (to)") or reports.month_end(start)
    if start > end:
        abort(400, description="The period starts after it ends: choose a “from” date on or before the “to” date.")
    return start, end


def _as_of() -> dt.date:
    return params.day(request.args.get("as_of"), "date (as of)") or clock.today()


def _page() -> int:
    return params.page_number(request.args.get("page"))


def _journal() -> str | None:
    value = (request.args.get("journal") or "").strip() or None
    if not reports.journal_known(value):
        raise params.BadParameter("journal", "Choose sales, cash_receipts, general, or leave it empty for all.")
    return value


# --- Output ------------------------------------------------------------------------------------


def _csv(rows: Iterable[Iterable[object]], filename: str) -> Response:
    return Response(
        "".join(csv_lines(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _pdf(partial: str, title: str, subtitle: str, filename: str, **context) -> Response:
    profile = services.business_profile()
    data = render_pdf(
        "accounting/report_pdf.html",
        partial=partial,
        title=title,
        subtitle=subtitle,
        profile=profile,
        printing=True,
        printed_on=clock.today(),
        cells=Cells(),
        **context,
    )
    return pdf_response(data, filename)


def _printable(rows: Iterator) -> list:
    """At most PDF_MAX_ROWS rows, or the 400 saying the period is too long to print."""
    taken = []
    for row in rows:
        taken.append(row)
        if len(taken) > reports.PDF_MAX_ROWS:
            abort(
                400,
                description=f"This report has more than {reports.PDF_MAX_ROWS:,} rows for the period: choose a "
                "shorter period, or download the CSV, which has every row.",
            )
    return taken


def _span(start: dt.date, end: dt.date) -> str:
    return f"{start.isoformat()}-to-{end.isoformat()}"


def _money(value) -> str:
    return f"{value:.2f}"


def _side(balance) -> tuple[str, str]:
    """A balance as (amount, "Dr"/"Cr")."""
    if balance > 0:
        return _money(balance), "Dr"
    if balance < 0:
        return _money(-balance), "Cr"
    return _money(balance), ""


# --- The index ---------------------------------------------------------------------------------


@owner_bp.get("/ledger")
@reads_only
def reports_index():
    today = clock.today()
    return render_template(
        "accounting/index.html", accounts=reports.accounts(), month_start=today.replace(day=1), today=today
    )


# --- General ledger ----------------------------------------------------------------------------


def _ledger_or_404(account_id: int, start, end, page, per_page):
    found = reports.general_ledger(account_id, start, end, page, per_page)
    if found is None:
        abort(404)
    return found


@owner_bp.get("/ledger/accounts/<int:account_id>")
@reads_only
def general_ledger(account_id: int):
    start, end = _period()
    report = _ledger_or_404(account_id, start, end, _page(), PER_PAGE)
    pages = reports.Page(report.lines, report.page, report.per_page, report.total, report.total_capped)
    return render_template(
        "accounting/general_ledger.html", report=report, report_pages=pages, start=start, end=end, cells=Cells()
    )


@owner_bp.get("/ledger/accounts/<int:account_id>.csv")
@reads_only
def general_ledger_csv(account_id: int):
    start, end = _period()
    found = reports.account(account_id)
    if found is None:
        abort(404)

    def rows():
        opening = reports.balance_before(start, account_id)
        yield ["Account", found.code, found.name]
        yield ["From", start.isoformat(), "To", end.isoformat()]
        yield ["Date", "Entry", "Memo", "Client", "Debit", "Credit", "Balance", "Dr/Cr"]
        yield [start.isoformat(), "", "Opening balance", "", "", "", *_side(opening)]
        debits = credits = reports.ZERO
        balance = opening
        for line in reports.general_ledger_csv_lines(account_id, start, end):
            debits, credits, balance = debits + line.debit, credits + line.credit, line.balance
            yield [
                line.date.isoformat(),
                line.entry_ref,
                line.memo,
                line.client_name or "",
                _money(line.debit),
                _money(line.credit),
                *_side(line.balance),
            ]
        yield [end.isoformat(), "", "Closing balance", "", _money(debits), _money(credits), *_side(balance)]

    return _csv(rows(), f"general-ledger-{found.code}-{_span(start, end)}.csv")


@owner_bp.get("/ledger/accounts/<int:account_id>.pdf")
@reads_only
def general_ledger_pdf(account_id: int):
    start, end = _period()
    report = _ledger_or_404(account_id, start, end, None, reports.PDF_MAX_ROWS + 1)
    _printable(iter(report.lines))
    return _pdf(
        "accounting/_general_ledger.html",
        "General ledger",
        f"{report.account.code} {report.account.name}",
        f"general-ledger-{report.account.code}-{_span(start, end)}.pdf",
        report=report,
        start=start,
        end=end,
    )


# --- Journals ------------------------------------------------------------------------------------


def _journal_title(journal: str | None) -> str:
    return f"{reports.JOURNAL_NAMES[journal]} journal" if journal else "Journal (all journals)"


@owner_bp.get("/ledger/journal")
@reads_only
def journal():
    start, end = _period()
    chosen = _journal()
    entries = reports.journal_page(chosen, start, end, _page(), PER_PAGE // 2)
    return render_template(
        "accounting/journal.html",
        entries=entries,
        journal=chosen,
        title=_journal_title(chosen),
        journals=reports.JOURNAL_NAMES,
        start=start,
        end=end,
        cells=Cells(),
    )


@owner_bp.get("/ledger/journal.csv")
@reads_only
def journal_csv():
    start, end = _period()
    chosen = _journal()

    def rows():
        yield [_journal_title(chosen)]
        yield ["From", start.isoformat(), "To", end.isoformat()]
        yield ["Date", "Entry", "Account code", "Account title and explanation", "Client", "Debit", "Credit"]
        for entry in reports.journal_entries(chosen, start, end):
            for line in entry.lines:
                yield [
                    entry.date.isoformat(),
                    entry.ref,
                    line.code,
                    line.account_name,
                    line.client_name or "",
                    _money(line.debit),
                    _money(line.credit),
                ]
            yield [entry.date.isoformat(), entry.ref, "", entry.memo, "", "", ""]

    return _csv(rows(), f"journal-{chosen or 'all'}-{_span(start, end)}.csv")


@owner_bp.get("/ledger/journal.pdf")
@reads_only
def journal_pdf():
    start, end = _period()
    chosen = _journal()
    entries = _printable(reports.journal_entries(chosen, start, end, reports.PDF_MAX_ROWS + 1))
    return _pdf(
        "accounting/_journal.html",
        _journal_title(chosen),
        f"{start.isoformat()} to {end.isoformat()}",
        f"journal-{chosen or 'all'}-{_span(start, end)}.pdf",
        entries=reports.Page(entries, 1, 0, len(entries), False),
        journal=chosen,
        start=start,
        end=end,
    )


# --- Sales journal -----------------------------------------------------------------------------

SALES_HEADER = [
    "Date",
    "Entry",
    "Invoice / credit note",
    "Against invoice",
    "Customer",
    "TIN",
    "VATable sales",
    "VAT-exempt sales",
    "Zero-rated sales",
    "Non-VAT sales",
    "Output VAT",
    "Gross amount",
]


@owner_bp.get("/ledger/sales-journal")
@reads_only
def sales_journal():
    start, end = _period()
    rows = reports.sales_journal_page(start, end, _page(), PER_PAGE)
    return render_template(
        "accounting/sales_journal.html",
        rows=rows,
        totals=reports.sales_totals(rows.items),
        start=start,
        end=end,
        cells=Cells(),
    )


@owner_bp.get("/ledger/sales-journal.csv")
@reads_only
def sales_journal_csv():
    start, end = _period()

    def rows():
        yield ["Sales journal"]
        yield ["From", start.isoformat(), "To", end.isoformat()]
        yield SALES_HEADER
        totals = dict.fromkeys(reports.SALES_COLUMNS, reports.ZERO)
        for row in reports.sales_journal_rows(start, end):
            for name in reports.SALES_COLUMNS:
                totals[name] += getattr(row, name)
            yield [
                row.date.isoformat(),
                row.ref,
                row.document,
                row.against,
                row.customer,
                row.tin,
                *(getattr(row, name) for name in reports.SALES_COLUMNS),
            ]
        yield ["", "", "", "", "Total", "", *(totals[name] for name in reports.SALES_COLUMNS)]

    return _csv(rows(), f"sales-journal-{_span(start, end)}.csv")


@owner_bp.get("/ledger/sales-journal.pdf")
@reads_only
def sales_journal_pdf():
    start, end = _period()
    rows = _printable(reports.sales_journal_rows(start, end, reports.PDF_MAX_ROWS + 1))
    return _pdf(
        "accounting/_sales_journal.html",
        "Sales journal",
        f"{start.isoformat()} to {end.isoformat()}",
        f"sales-journal-{_span(start, end)}.pdf",
        wide=True,
        rows=reports.Page(rows, 1, 0, len(rows), False),
        totals=reports.sales_totals(rows),
        start=start,
        end=end,
    )


# --- Cash receipts journal ---------------------------------------------------------------------


@owner_bp.get("/ledger/cash-receipts-journal")
@reads_only
def cash_receipts_journal():
    start, end = _period()
    rows = reports.cash_receipts_page(start, end, _page(), PER_PAGE)
    return render_template(
        "accounting/cash_receipts_journal.html",
        rows=rows,
        totals=_receipt_totals(rows.items),
        start=start,
        end=end,
        cells=Cells(),
    )


def _receipt_totals(rows) -> dict:
    return {
        name: sum((getattr(row, name) for row in rows), reports.ZERO)
        for name in ("amount", "receivable", "customer_credit")
    }


@owner_bp.get("/ledger/cash-receipts-journal.csv")
@reads_only
def cash_receipts_journal_csv():
    start, end = _period()

    def rows():
        yield ["Cash receipts journal"]
        yield ["From", start.isoformat(), "To", end.isoformat()]
        yield [
            "Date",
            "Entry",
            "Reference",
            "Received from",
            "Account debited",
            "Amount",
            "Accounts receivable credited",
            "Customer credits credited",
        ]
        totals = dict.fromkeys(("amount", "receivable", "customer_credit"), reports.ZERO)
        for row in reports.cash_receipts_rows(start, end):
            for name in totals:
                totals[name] += getattr(row, name)
            yield [
                row.date.isoformat(),
                row.ref,
                row.reference,
                row.received_from,
                row.account,
                row.amount,
                row.receivable,
                row.customer_credit,
            ]
        yield ["", "", "", "", "Total", *totals.values()]

    return _csv(rows(), f"cash-receipts-journal-{_span(start, end)}.csv")


@owner_bp.get("/ledger/cash-receipts-journal.pdf")
@reads_only
def cash_receipts_journal_pdf():
    start, end = _period()
    rows = _printable(reports.cash_receipts_rows(start, end, reports.PDF_MAX_ROWS + 1))
    return _pdf(
        "accounting/_cash_receipts_journal.html",
        "Cash receipts journal",
        f"{start.isoformat()} to {end.isoformat()}",
        f"cash-receipts-journal-{_span(start, end)}.pdf",
        wide=True,
        rows=reports.Page(rows, 1, 0, len(rows), False),
        totals=_receipt_totals(rows),
        start=start,
        end=end,
    )


# --- Income statement and balance sheet --------------------------------------------------------


@owner_bp.get("/ledger/income-statement")
@reads_only
def income_statement():
    start, end = _period()
    return render_template("accounting/income_statement.html", report=reports.income_statement(start, end))


@owner_bp.get("/ledger/income-statement.csv")
@reads_only
def income_statement_csv():
    start, end = _period()
    report = reports.income_statement(start, end)

    def rows():
        yield ["Income statement"]
        yield ["From", start.isoformat(), "To", end.isoformat()]
        yield ["Section", "Code", "Account", "Amount"]
        for section, lines in (("Income", report.income), ("Less: sales returns", report.returns)):
            for line in lines:
                yield [section, line.account.code, line.account.name, line.amount]
        yield ["Net sales", "", "", report.net_sales]
        for line in report.expenses:
            yield ["Expenses", line.account.code, line.account.name, line.amount]
        yield ["Total expenses", "", "", report.total_expenses]
        yield ["Net income", "", "", report.net_income]

    return _csv(rows(), f"income-statement-{_span(start, end)}.csv")


@owner_bp.get("/ledger/income-statement.pdf")
@reads_only
def income_statement_pdf():
    start, end = _period()
    return _pdf(
        "accounting/_income_statement.html",
        "Income statement",
        f"{start.isoformat()} to {end.isoformat()}",
        f"income-statement-{_span(start, end)}.pdf",
        report=reports.income_statement(start, end),
    )


@owner_bp.get("/ledger/balance-sheet")
@reads_only
def balance_sheet():
    as_of = _as_of()
    return render_template(
        "accounting/balance_sheet.html", report=reports.balance_sheet(as_of), today=clock.today(), cells=Cells()
    )


@owner_bp.get("/ledger/balance-sheet.csv")
@reads_only
def balance_sheet_csv():
    as_of = _as_of()
    report = reports.balance_sheet(as_of)

    def rows():
        yield ["Balance sheet"]
        yield ["As of", as_of.isoformat()]
        yield ["Section", "Code", "Account", "Amount"]
        for line in report.assets:
            yield ["Assets", line.account.code, line.account.name, line.amount]
        yield ["Total assets", "", "", report.total_assets]
        for line in report.liabilities:
            yield ["Liabilities", line.account.code, line.account.name, line.amount]
        yield ["Total liabilities", "", "", report.total_liabilities]
        for line in report.equity:
            yield ["Equity", line.account.code, line.account.name, line.amount]
        yield ["Equity", "", "Retained earnings", report.retained_earnings]
        yield ["Equity", "", "Current year's earnings", report.current_earnings]
        yield ["Total equity", "", "", report.total_equity]
        yield ["Total liabilities and equity", "", "", report.total_liabilities + report.total_equity]
        yield ["Difference", "", "", report.difference]

    return _csv(rows(), f"balance-sheet-{as_of.isoformat()}.csv")


@owner_bp.get("/ledger/balance-sheet.pdf")
@reads_only
def balance_sheet_pdf():
    as_of = _as_of()
    return _pdf(
        "accounting/_balance_sheet.html",
        "Balance sheet",
        f"as of {as_of.isoformat()}",
        f"balance-sheet-{as_of.isoformat()}.pdf",
        report=reports.balance_sheet(as_of),
    )


# --- Receivables sub-ledger ----------------------------------------------------------------------


@owner_bp.get("/ledger/receivables")
@reads_only
def receivables():
    as_of = _as_of()
    return render_template(
        "accounting/receivables.html",
        report=reports.receivables(as_of, _page(), PER_PAGE),
        today=clock.today(),
        month_start=as_of.replace(day=1),
        cells=Cells(),
    )


@owner_bp.get("/ledger/receivables.csv")
@reads_only
def receivables_csv():
    as_of = _as_of()

    def rows():
        yield ["Receivables sub-ledger"]
        yield ["As of", as_of.isoformat()]
        yield ["Client ID", "Client", "Balance"]
        total = reports.ZERO
        for row in reports.receivables_rows(as_of):
            total += row.balance
            yield [row.client_id, row.name, row.balance]
        yield ["", "Total of the clients", total]
        yield ["", "Receivable control account", reports.receivable_control(as_of)]

    return _csv(rows(), f"receivables-{as_of.isoformat()}.csv")


@owner_bp.get("/ledger/receivables.pdf")
@reads_only
def receivables_pdf():
    as_of = _as_of()
    clients = _printable(reports.receivables_rows(as_of))
    return _pdf(
        "accounting/_receivables.html",
        "Receivables sub-ledger",
        f"as of {as_of.isoformat()}",
        f"receivables-{as_of.isoformat()}.pdf",
        report=reports.Receivables(
            as_of, reports.receivable_control(as_of), reports.Page(clients, 1, 0, len(clients), False)
        ),
        clients_total=sum((row.balance for row in clients), reports.ZERO),
        month_start=as_of.replace(day=1),
    )


def _client_ledger_or_404(client_id: int, start, end, page):
    found = reports.client_ledger(client_id, start, end, page, PER_PAGE)
    if found is None:
        abort(404)
    return found


@owner_bp.get("/ledger/receivables/clients/<int:client_id>")
@reads_only
def client_receivable(client_id: int):
    start, end = _period()
    report = _client_ledger_or_404(client_id, start, end, _page())
    return render_template("accounting/client_receivable.html", report=report, start=start, end=end, cells=Cells())


@owner_bp.get("/ledger/receivables/clients/<int:client_id>.csv")
@reads_only
def client_receivable_csv(client_id: int):
    start, end = _period()
    report = _client_ledger_or_404(client_id, start, end, None)

    def rows():
        yield ["Receivable of", report.name]
        yield ["From", start.isoformat(), "To", end.isoformat()]
        yield ["Date", "Entry", "Memo", "Debit", "Credit", "Balance"]
        yield [start.isoformat(), "", "Opening balance", "", "", report.opening]
        for line in report.lines.items:
            yield [line.date.isoformat(), line.entry_ref, line.memo, line.debit, line.credit, line.balance]
        yield [end.isoformat(), "", "Closing balance", "", "", report.closing]

    return _csv(rows(), f"receivable-client-{client_id}-{_span(start, end)}.csv")


@owner_bp.get("/ledger/receivables/clients/<int:client_id>.pdf")
@reads_only
def client_receivable_pdf(client_id: int):
    start, end = _period()
    report = _client_ledger_or_404(client_id, start, end, None)
    _printable(iter(report.lines.items))
    return _pdf(
        "accounting/_client_receivable.html",
        "Receivable of a client",
        f"{report.name}, {start.isoformat()} to {end.isoformat()}",
        f"receivable-client-{client_id}-{_span(start, end)}.pdf",
        report=report,
        start=start,
        end=end,
    )
