"""The owner's chart of accounts: add an account, rename it, deactivate or reactivate it; and the
settings of which account each payment method and each tax treatment of sales posts to.  Every
change is audited.  Accounts are never deleted (an account added by mistake is deactivated).

* An account a posting rule uses (it has a posting role: receivable, output VAT, a sales account,
  ...) or that a payment method posts to cannot be deactivated; an inactive account cannot be
  chosen in the settings.
* Which account VATable, VAT-exempt and zero-rated sales post to is the account holding the
  ``sales``, ``exempt_sales`` and ``zero_rated_sales`` role: choosing another income account moves
  the role to it (from then on; what was posted stays where it is).  An account holds one role, so
  each treatment has an account of its own.
* Pointing a payment method at another account posts, the same day, a transfer of the method's
  money from its old account to the new one (general journal): each method's account then holds
  exactly its confirmed payments, which ``flask check`` proves, and a payment voided later is
  reversed out of the account its method posts to now (``ledger.payment_voided``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import audit, clock
from ..audit import Actor
from ..database import write_transaction
from ..extensions import db
from ..models import GENERAL_JOURNAL, Account, AccountBalance, JournalEntry, JournalLine, MethodAccount, Payment
from . import ledger, methods
from .services import BillingError, InvalidInput, NotFound

ZERO = Decimal("0.00")
TYPES = ("asset", "liability", "equity", "income", "expense")
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,19}")

# The roles a posting rule uses (ais/billing/ledger.py), in the bookkeeper's words.
POSTING_ROLES = {
    "receivable": "Receivables (invoices, payments, credit notes)",
    "output_vat": "Output VAT",
    "customer_credit": "Customer credits",
    "sales": "VATable sales",
    "exempt_sales": "VAT-exempt sales",
    "zero_rated_sales": "Zero-rated sales",
    "late_fee_income": "Late fees",
    "sales_returns": "Sales returns (credit notes)",
}
# Tax treatment of a sale -> the role of the account it posts to (the setting).
TREATMENTS = {"sales": "VATable sales", "exempt_sales": "VAT-exempt sales", "zero_rated_sales": "Zero-rated sales"}
# The source of a transfer of a method's money to its new account (source_id: the new account; the
# memo starts with the method's name).
TRANSFER = "method_account"


class AccountRefused(BillingError):
    """The change to the chart cannot be made (a code taken, an account in use, an inactive choice)."""


@dataclass(frozen=True)
class AccountRow:
    id: int
    code: str
    name: str
    type: str
    active: bool
    uses: list[str]  # what posts to it: its posting role, the methods set to it
    balance: Decimal  # debits less credits


def account_rows() -> list[AccountRow]:
    """Every account with its balance (from the running balances) and what posts to it: three
    queries, bounded by the number of accounts."""
    balances = {
        account_id: Decimal(net)
        for account_id, net in db.session.execute(
            select(
                AccountBalance.account_id, func.sum(AccountBalance.debit) - func.sum(AccountBalance.credit)
            ).group_by(AccountBalance.account_id)
        )
    }
    by_method: dict[int, list[str]] = defaultdict(list)
    for method, account_id in db.session.execute(select(MethodAccount.method, MethodAccount.account_id)):
        by_method[account_id].append(f"Payments by {method}")
    rows = []
    for account in db.session.scalars(select(Account).order_by(Account.code)):
        uses = ([POSTING_ROLES[account.role]] if account.role in POSTING_ROLES else []) + sorted(by_method[account.id])
        rows.append(
            AccountRow(
                account.id,
                account.code,
                account.name,
                account.type,
                account.active,
                uses,
                balances.get(account.id, ZERO),
            )
        )
    return rows


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Give the account a name.", "name")
    if len(name) > 120:
        raise InvalidInput("The name is too long (120 characters at most).", "name")
    return name


def add_account(actor: Actor, code: str, name: str, kind: str) -> int:
    """Add an active account with no posting role; its code must be new."""
    code = (code or "").strip()
    if not CODE_PATTERN.fullmatch(code):
        raise InvalidInput("Use 1 to 20 letters, digits, dots or dashes for the code, e.g. 1015.", "code")
    name = _clean_name(name)
    if kind not in TYPES:
        raise InvalidInput("Choose the account's type.", "type")
    try:
        with write_transaction():
            if db.session.scalar(select(Account.id).where(func.lower(Account.code) == code.lower())) is not None:
                raise AccountRefused(f"Another account already has the code {code}.", "code")
            account = Account(code=code, name=name, type=kind, active=True, role=None)
            db.session.add(account)
            db.session.flush()
            audit.record(actor, "ledger.account_added", detail=f"{code} {name} ({kind})")
            account_id = account.id
    except IntegrityError:  # the same code added at the same moment
        raise AccountRefused(f"Another account already has the code {code}.", "code") from None
    return account_id


def _locked_account(account_id: int) -> Account:
    account = db.session.get(Account, account_id, with_for_update=True)
    if account is None:
        raise NotFound("No such account.")
    return account


def rename_account(actor: Actor, account_id: int, name: str) -> None:
    name = _clean_name(name)
    with write_transaction():
        account = _locked_account(account_id)
        if account.name != name:
            audit.record(actor, "ledger.account_renamed", detail=f"{account.code}: {account.name} -> {name}")
            account.name = name


def set_active(actor: Actor, account_id: int, active: bool) -> None:
    """Deactivate (nothing may be set to post to it) or reactivate an account.  An account a
    posting rule or a payment method posts to stays active."""
    with write_transaction():
        account = _locked_account(account_id)
        if account.active == active:
            return
        if not active:
            if account.role in POSTING_ROLES:
                raise AccountRefused(
                    f"{account.code} {account.name} is where {POSTING_ROLES[account.role].lower()} post: "
                    "it stays active.",
                )
            used_by = list(
                db.session.scalars(select(MethodAccount.method).where(MethodAccount.account_id == account.id))
            )
            if used_by:
                raise AccountRefused(
                    f"Payments by {', '.join(sorted(used_by))} post to {account.code} {account.name}: "
                    "point the method at another account first."
                )
        account.active = active
        audit.record(
            actor, "ledger.account_reactivated" if active else "ledger.account_deactivated", detail=account.code
        )


# --- Which account each method and each tax treatment posts to ---------------------------------------


@dataclass(frozen=True)
class PostingSettings:
    methods: dict[str, int]  # method -> account id
    treatments: dict[str, int | None]  # role -> account id
    asset_choices: list[tuple[int, str]]  # active asset accounts (what a method may post to)
    income_choices: list[tuple[int, str]]  # active income accounts with no other posting role


def posting_settings() -> PostingSettings:
    ledger.role_accounts()  # (a database with no chart gets the standard one)
    current = dict(db.session.execute(select(MethodAccount.method, MethodAccount.account_id)).all())
    roles = dict(db.session.execute(select(Account.role, Account.id).where(Account.role.in_(TREATMENTS))).all())
    accounts = db.session.execute(
        select(Account.id, Account.code, Account.name, Account.type, Account.role)
        .where(Account.active.is_(True))
        .order_by(Account.code)
    ).all()
    return PostingSettings(
        methods={method: current[method] for method in methods.METHODS if method in current},
        treatments={role: roles.get(role) for role in TREATMENTS},
        asset_choices=[(row.id, f"{row.code} {row.name}") for row in accounts if row.type == "asset"],
        income_choices=[
            (row.id, f"{row.code} {row.name}")
            for row in accounts
            if row.type == "income" and (row.role is None or row.role in TREATMENTS)
        ],
    )


def _method_balance(method: str, account_id: int) -> Decimal:
    """What the payments of one method left in an account (their receipts less their reversals)."""
    net = db.session.scalar(
        select(func.coalesce(func.sum(JournalLine.debit) - func.sum(JournalLine.credit), 0))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Payment, Payment.id == JournalEntry.source_id)
        .where(
            JournalEntry.source_type == ledger.PAYMENT,
            JournalLine.account_id == account_id,
            Payment.method == method,
        )
    )
    transferred = db.session.scalar(
        select(func.coalesce(func.sum(JournalLine.debit) - func.sum(JournalLine.credit), 0))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(
            JournalEntry.source_type == TRANSFER,
            JournalEntry.memo.startswith(f"{method}: "),
            JournalLine.account_id == account_id,
        )
    )
    return Decimal(net or 0) + Decimal(transferred or 0)


def save_posting_settings(actor: Actor, method_accounts: dict[str, int], treatment_accounts: dict[str, int]) -> int:
    """Set the account of each method and tax treatment given; the number of settings changed.
    A method's money moves with it (a transfer entry, dated today)."""
    unknown = set(method_accounts) - set(methods.REFUND_METHODS)  # (a customer credit has no account of its own)
    if unknown or set(treatment_accounts) - set(TREATMENTS):
        raise InvalidInput("Unknown payment method or tax treatment.")
    changed = 0
    with write_transaction():
        accounts = {row.id: row for row in db.session.scalars(select(Account).with_for_update())}
        for method, account_id in method_accounts.items():
            account = accounts.get(account_id)
            if account is None or not account.active or account.type != "asset":
                raise InvalidInput(f"Choose an active asset account for {method}.", f"method:{method}")
        for role, account_id in treatment_accounts.items():
            account = accounts.get(account_id)
            if account is None or not account.active or account.type != "income":
                raise InvalidInput(f"Choose an active income account for {TREATMENTS[role]}.", f"treatment:{role}")
            if account.role is not None and account.role != role:
                raise InvalidInput(
                    f"{account.code} {account.name} already takes "
                    f"{POSTING_ROLES.get(account.role, account.role).lower()}: choose an account of its own.",
                    f"treatment:{role}",
                )
        if len(set(treatment_accounts.values())) != len(treatment_accounts):
            raise InvalidInput("Each tax treatment needs an account of its own.")
        settings = {row.method: row for row in db.session.scalars(select(MethodAccount).with_for_update())}
        for method, account_id in sorted(method_accounts.items()):
            setting = settings.get(method)
            old = setting.account_id if setting else None
            if old == account_id:
                continue
            if setting is None:
                db.session.add(MethodAccount(method=method, account_id=account_id))
            else:
                setting.account_id = account_id
            db.session.flush()
            if old is not None:
                moved = _method_balance(method, old)
                memo = (
                    f"{method}: now posts to {accounts[account_id].code} {accounts[account_id].name}; "
                    f"its balance moved from {accounts[old].code} {accounts[old].name}"
                )
                ledger.post(
                    GENERAL_JOURNAL,
                    clock.today(),
                    memo,
                    TRANSFER,
                    account_id,
                    [
                        ledger.Line(account_id, debit=max(moved, ZERO), credit=max(-moved, ZERO)),
                        ledger.Line(old, debit=max(-moved, ZERO), credit=max(moved, ZERO)),
                    ],
                )
            audit.record(
                actor,
                "ledger.method_account_changed",
                detail=f"{method}: {accounts[old].code if old else '-'} -> {accounts[account_id].code}",
            )
            changed += 1
        holders = {row.role: row for row in accounts.values() if row.role in TREATMENTS}
        moves = {
            role: account_id
            for role, account_id in treatment_accounts.items()
            if holders.get(role) is None or holders[role].id != account_id
        }
        for role in moves:  # free the roles first (a role is unique), then give them
            if holders.get(role) is not None:
                holders[role].role = None
        db.session.flush()
        for role, account_id in sorted(moves.items()):
            accounts[account_id].role = role
            before = holders.get(role)
            audit.record(
                actor,
                "ledger.sales_account_changed",
                detail=f"{TREATMENTS[role]}: {before.code if before else '-'} -> {accounts[account_id].code}",
            )
            changed += 1
        db.session.flush()
    return changed
