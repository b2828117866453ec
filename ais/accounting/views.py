"""The accounting pages.  Thin views: parse the date, read, render.

* ``GET /ledger/trial-balance[?as_of=]``      backoffice.accounting.trial_balance      the trial balance
* ``GET /ledger/trial-balance.csv[?as_of=]``  backoffice.accounting.trial_balance_csv  the same as CSV

A date that cannot be read is a 400 with a sentence saying so.
"""

from __future__ import annotations

from flask import Response, render_template

from .. import clock
from ..billing import ledger
from ..collections import views as collections_views  # (a module: collections imports this package)
from ..collections.exports import csv_lines
from ..database import reads_only
from . import owner_bp


@owner_bp.get("/ledger/trial-balance")
@reads_only
def trial_balance():
    as_of = collections_views.date_arg("as_of") or clock.today()
    return render_template("accounting/trial_balance.html", report=ledger.trial_balance(as_of), today=clock.today())


def _csv_rows(report: ledger.TrialBalance):
    yield ["As of", report.as_of.isoformat()]
    yield ["Code", "Account", "Type", "Debit", "Credit"]
    for row in report.rows:
        yield [row.code, row.name, row.type, f"{row.debit:.2f}", f"{row.credit:.2f}"]
    yield ["", "Total", "", f"{report.total_debit:.2f}", f"{report.total_credit:.2f}"]


@owner_bp.get("/ledger/trial-balance.csv")
@reads_only
def trial_balance_csv():
    as_of = collections_views.date_arg("as_of") or clock.today()
    return Response(
        "".join(csv_lines(_csv_rows(ledger.trial_balance(as_of)))),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="trial-balance-{as_of.isoformat()}.csv"'},
    )
