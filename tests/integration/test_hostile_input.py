"""No input gives a 500 or writes anything: every route of the URL map, as anonymous, client and
owner, gets a table of hostile values in its path, its query string and its form fields.

Ids that are malformed or out of range answer 404, other malformed values 400 or the form again
with a message (ais.params); the row counts of every table stay the same (only the audit trail
may note failed sign-ins).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from stripe_support import (
    ACTOR,
    TODAY,
    client_with_invoice,
    deliver,
    make_user,
    session_event,
    sign_in,
)

from ais import clock, create_app, params
from ais.billing import rules, services
from ais.billing.checks import find_problems
from ais.extensions import db
from ais.forms import DEFAULT_FIELD_LIMIT, AppForm
from ais.models import AuditEntry, Payment

HOSTILE = [
    "²",
    "١",
    "١٢",
    "-1",
    "0",
    str(2**31),
    str(2**63),
    str(2**64),
    "1e20",
    "9" * 10_000,
    "0001-01-01",
    "9999-12-31",
    "",
    " ",
    "1.5",
    "NaN",
    "%00",
    "9999-99-99",
    "٢٠٢٦-٠١-٠١",
]
ROOT = Path(__file__).resolve().parents[2]
# The app as the test client sees it; its URL map is the list of routes to walk (every blueprint,
# nested ones such as portal.checkout and backoffice.overpayments included).
MAPPED = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
# Names a view or a before_request hook reads from the query string or the form by hand.
READ_BY_HAND = re.compile(r"""request\.(?:args|form|values)\.get\(["']([a-z_]+)["']""")
# A re-plan's and an invoice's sub-form fields (FieldList entries are named like this).
SUB_FIELDS = {"lines-0-description", "lines-0-quantity", "lines-0-unit_price", "lines-0-tax_rate"}
OWNER, CLIENT = "owner", "ann@example.com"
# Actions that take no value at all (a bare signed POST is the whole request): what they write does
# not depend on the values under test, so they are left out.
ACTS_WITHOUT_INPUT = {"auth.end_other_sessions", "auth.twofactor_require"}
# Settings forms: some of the values under test are valid choices there (an empty list of reminder
# steps turns reminders off, any value of a toggle flips it), so they may write.  They get their
# own walk below (no 5xx, no echo, the books consistent).
SETTINGS_POSTS = {
    ("backoffice.collections.reminder_settings", "POST"),
    ("backoffice.collections.statement_settings", "POST"),  # a checkbox: any value is "on"
    ("portal.collections.reminders_save", "POST"),
    ("portal.collections.calendar_reset", "POST"),
    ("backoffice.payment_instructions", "POST"),  # free text: any of the values is valid there
    ("backoffice.collections.late_fee_settings", "POST"),  # a toggle off with empty values is valid
    ("backoffice.collections.proposal_settings", "POST"),  # a toggle: turning proposals off is valid
}
# Failed sign-ins are audited on purpose; nothing else may be.
AUDITED_FAILURES = {"auth.sign_in_failed", "auth.locked_out", "auth.2fa_failed"}


def _names_read_by_hand() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "ais").rglob("*.py"):
        names.update(READ_BY_HAND.findall(path.read_text()))
    return names


def _form_field_names() -> set[str]:
    """Every field name of every form class in the app (the app above has imported them all)."""
    names: set[str] = set()
    pending = list(AppForm.__subclasses__())
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        for name, value in vars(form_class).items():
            if hasattr(value, "field_class"):
                names.add(name)
    return names


FIELD_NAMES = sorted(_form_field_names() | _names_read_by_hand() | SUB_FIELDS)
RULES = sorted(
    (rule.endpoint, rule.rule, method)
    for rule in MAPPED.url_map.iter_rules()
    for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
)


def _path(rule: str, value: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?[a-z_]+>", quote(value, safe=""), rule)


def _echoes_too_much(response, value: str) -> bool:
    """A page (not a redirect, whose Location may carry the path) showing more of a long value
    than any field may hold."""
    if len(value) <= DEFAULT_FIELD_LIMIT or 300 <= response.status_code < 400:
        return False
    if not (response.mimetype.startswith("text/") or response.is_json):
        return False  # a document (a PDF) shows what the books hold, never what was sent
    return value[: DEFAULT_FIELD_LIMIT + 1] in response.get_data(as_text=True)


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name != "audit_entries"
    }


@pytest.fixture
def ann_books(app, stripe_on):
    """An owner, a client with a portal login, an installment invoice and a reported payment."""
    ids = client_with_invoice(amount="900.00", count=3, email=CLIENT)
    make_user(OWNER, "owner")
    services.report_payment(ACTOR, ids.client_id, ids.invoice_id, Decimal("100.00"), TODAY, "Cash", "")
    db.session.commit()
    return ids


def test_the_walk_covers_every_blueprint_including_nested_ones():
    walked = {endpoint.rpartition(".")[0] for endpoint, _, _ in RULES}
    # Every blueprint with a route of its own (one registered only to be nested has none).
    routed = {rule.endpoint.rpartition(".")[0] for rule in MAPPED.url_map.iter_rules()}
    assert routed <= walked
    assert {"portal.checkout", "backoffice.overpayments", "backoffice.collections", "portal.collections"} <= walked
    assert {"webhooks", "calendar"} <= walked
    assert {(endpoint, method) for endpoint, _, method in RULES} >= SETTINGS_POSTS


@pytest.mark.parametrize("who", ["anonymous", CLIENT, OWNER])
def test_hostile_values_in_every_route_answer_no_5xx_and_write_nothing(app, actions, ann_books, who):
    if who != "anonymous":
        sign_in(actions, who)
    before = _row_counts()
    audit_before = db.session.scalar(select(func.max(AuditEntry.id))) or 0
    failures = []
    for endpoint, rule, method in RULES:
        if endpoint in ACTS_WITHOUT_INPUT or (endpoint == "auth.logout" and who != "anonymous"):
            continue  # logging out would end the very session under test
        if (endpoint, method) in SETTINGS_POSTS and who != "anonymous":
            continue  # walked by test_hostile_values_in_settings_forms
        has_path_values = "<" in rule
        for value in HOSTILE:
            fields = {name: value for name in FIELD_NAMES}
            # 1. the hostile value in the path; 2. a real (or the largest valid) id in the path and
            # the hostile value in every query or form field.
            urls = [_path(rule, value)] if has_path_values else []
            real = str(ann_books.invoice_id) if method == "GET" else str(params.MAX_ID)  # POSTs: no real row to change
            urls.append(_path(rule, real))
            for url in urls:
                if method == "GET":
                    response = actions.client.get(url, query_string=fields)
                else:
                    response = actions.post(url, fields)
                if response.status_code >= 500:
                    failures.append((endpoint, method, url[:80], value[:20], response.status_code))
                elif _echoes_too_much(response, value):
                    failures.append((endpoint, method, url[:80], value[:20], "echoed"))
        db.session.rollback()
    assert not failures, failures[:20]
    db.session.rollback()
    assert _row_counts() == before
    added = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.id > audit_before)))
    assert added <= AUDITED_FAILURES, added


@pytest.mark.parametrize("who", [CLIENT, OWNER])
def test_hostile_values_in_settings_forms_answer_no_5xx_and_leave_the_books_consistent(app, actions, ann_books, who):
    sign_in(actions, who)
    failures = []
    for endpoint, rule, method in RULES:
        if (endpoint, method) not in SETTINGS_POSTS:
            continue
        for value in HOSTILE:
            response = actions.post(_path(rule, "1"), {name: value for name in FIELD_NAMES})
            if response.status_code >= 500:
                failures.append((endpoint, value[:20], response.status_code))
            elif _echoes_too_much(response, value):
                failures.append((endpoint, value[:20], "echoed"))
        db.session.rollback()
    assert not failures, failures[:20]
    db.session.rollback()
    assert find_problems() == []


@pytest.mark.parametrize("who", [CLIENT, OWNER])
def test_hostile_values_posted_to_real_rows_answer_no_5xx_and_leave_the_books_consistent(app, actions, ann_books, who):
    """The same values posted to the real client, invoice and payment (the walk above posts to ids
    with no row, so that nothing is written): a value some form accepts may change the books (a
    void's reason, say), but no answer is a 5xx and every bookkeeping invariant still holds."""
    sign_in(actions, who)
    real = {
        "client_id": ann_books.client_id,
        "invoice_id": ann_books.invoice_id,
        "payment_id": db.session.scalar(select(Payment.id)),
    }
    failures = []
    for endpoint, rule, method in RULES:
        parameter = re.search(r"<(?:[a-z]+:)?([a-z_]+)>", rule)
        if method != "POST" or parameter is None or parameter.group(1) not in real or endpoint in ACTS_WITHOUT_INPUT:
            continue
        url = _path(rule, str(real[parameter.group(1)]))
        for value in HOSTILE:
            response = actions.post(url, {name: value for name in FIELD_NAMES})
            if response.status_code >= 500:
                failures.append((endpoint, value[:20], response.status_code))
        db.session.rollback()
    assert not failures, failures[:20]
    db.session.rollback()
    assert find_problems() == []


@pytest.mark.parametrize(
    "field,value",
    [
        ("created", 2**63),
        ("created", -1),
        ("created", 10**20),
        ("created", "²"),
        ("created", 1e20),
        ("amount_total", 2**64),
        ("amount_total", -1),
        ("amount_total", 10**30),
        ("amount_total", "١"),
        ("metadata.invoice_id", str(2**64)),
        ("metadata.invoice_id", "²"),
        ("metadata.checkout_id", str(2**63)),
        ("metadata.client_id", "9" * 1000),
        ("payment_intent", "pi_" + "x" * 5000),
    ],
)
def test_a_signed_webhook_event_with_absurd_numbers_is_answered_without_a_500(app, client, ann_books, field, value):
    event = session_event(
        "completed",
        {
            "id": "cs_test_absurd",
            "metadata": {
                "invoice_id": str(ann_books.invoice_id),
                "client_id": str(ann_books.client_id),
                "checkout_id": "1",
            },
            "amount_total": 10000,
            "currency": "php",
        },
    )
    target = event if field == "created" else event["data"]["object"]
    if field.startswith("metadata."):
        target = target["metadata"]
        field = field.split(".", 1)[1]
    target[field] = value
    response = deliver(client, event)
    assert response.status_code < 500
    # An absurd amount or id is never booked as money on the invoice.
    if field in ("amount_total",):
        assert all(p.amount <= Decimal("900.00") for p in db.session.scalars(select(Payment)))


@pytest.mark.parametrize(
    "first_due,frequency,count",
    [
        (date(9999, 12, 1), rules.MONTHLY, 3),
        (date(9999, 12, 28), rules.WEEKLY, 2),
        (date.max, rules.BIWEEKLY, 2),
    ],
)
def test_schedule_rules_refuse_dates_they_cannot_represent(first_due, frequency, count):
    with pytest.raises(rules.ScheduleOutOfRange, match="past the last date"):
        rules.due_dates(first_due, count, frequency)


def test_a_far_future_invoice_is_refused_with_a_message(app, stripe_on):
    ids = client_with_invoice(amount="900.00", count=3, email="far@example.com", name="Far Future")
    data = services.InvoiceInput(
        client_id=ids.client_id,
        issue_date=clock.today(),
        due_date=date(9999, 12, 1),
        lines=[services.LineInput("Goods", Decimal("1"), Decimal("10"))],
        payment_type="installment",
        installment_count=3,
        frequency=rules.MONTHLY,
    )
    with pytest.raises(services.InvalidInput, match="past the last date") as refused:
        services.create_invoice(ACTOR, data)
    assert refused.value.field == "due_date"
    with pytest.raises(services.InvalidInput, match="past the last date"):
        services.replan_invoice(ACTOR, ids.invoice_id, 3, rules.MONTHLY, date(9999, 12, 1))
    # An issue date that far ahead is refused before its schedule is even made.
    far = dataclasses.replace(data, issue_date=date(9999, 1, 1))
    with pytest.raises(services.InvalidInput, match="check the year") as refused:
        services.create_invoice(ACTOR, far)
    assert refused.value.field == "issue_date"


@pytest.mark.parametrize(
    "value,expected",
    [
        ("1", 1),
        ("2147483647", params.MAX_ID),
        (" 7 ", 7),
        (7, 7),
        ("0", None),
        ("-1", None),
        ("²", None),
        ("١", None),
        (str(2**31), None),
        (str(2**63), None),
        ("1e20", None),
        ("9" * 10_000, None),
        ("", None),
        (None, None),
        (True, None),
        ("0x10", None),
        ("1_000", None),
    ],
)
def test_an_id_is_plain_ascii_digits_within_the_range_of_ids(value, expected):
    assert params.parse_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01",
        "9999-12-31",
        "1899-12-31",
        "3000-01-01",
        "2026-02-30",
        "٢٠٢٦-٠١-٠١",
        "2026-1-1",
        "20260101",
        "",
        "x",
    ],
)
def test_parse_day_refuses_days_outside_the_books(value):
    assert params.parse_day(value) is None


def test_parse_day_and_page_number_accept_plain_values():
    assert params.parse_day("2026-03-31") == date(2026, 3, 31)
    assert params.page_number("") == 1 and params.page_number("3") == 3
    for junk in ("0", "-1", "²", str(2**63), "1e20"):
        with pytest.raises(params.BadParameter):
            params.page_number(junk)


def test_bad_query_values_get_a_400_with_a_clear_message(app, actions, ann_books):
    sign_in(actions, OWNER)
    response = actions.client.get("/audit", query_string={"date_to": "9999-12-31"})
    assert response.status_code == 400 and "between 1900-01-01 and 2999-12-31" in response.get_data(as_text=True)
    response = actions.client.get("/payments", query_string={"page": str(2**64)})
    assert response.status_code == 400 and "whole number from 1 to 100,000" in response.get_data(as_text=True)
    assert actions.client.get(f"/clients/{2**63}/edit").status_code == 404
    assert actions.client.get("/invoices", query_string={"client": "²"}).status_code == 404
