"""The chart of accounts every book starts with, and which account each payment method posts to.

Pure data: the migration that creates the ledger seeds a frozen copy, and ``ledger.ensure_chart``
adds any account missing from a database (a new one, or one emptied by the tests).
"""

from __future__ import annotations

from . import methods

# (code, name, type, role)
CHART = (
    ("1000", "Cash on hand", "asset", "cash"),
    ("1010", "Cash in bank", "asset", "bank_transfer"),
    ("1011", "Checks for deposit", "asset", "check"),
    ("1012", "Cash deposits in transit", "asset", "cash_deposit"),
    ("1013", "Online banking receipts", "asset", "online_banking"),
    ("1020", "GCash wallet", "asset", "gcash"),
    ("1021", "Maya wallet", "asset", "maya"),
    ("1022", "GrabPay wallet", "asset", "grabpay"),
    ("1023", "ShopeePay wallet", "asset", "shopeepay"),
    ("1030", "QR Ph clearing", "asset", "qr_ph"),
    ("1040", "Card clearing", "asset", "card"),
    ("1041", "BillEase clearing", "asset", "billease"),
    ("1042", "PayMongo clearing", "asset", "online_other"),
    ("1090", "Other receipts clearing", "asset", "other"),
    ("1100", "Accounts receivable", "asset", "receivable"),
    ("2100", "Output VAT payable", "liability", "output_vat"),
    ("2200", "Customer credits", "liability", "customer_credit"),
    ("3000", "Owner's capital", "equity", None),
    ("4000", "Sales", "income", "sales"),
    ("4010", "Sales, VAT-exempt", "income", "exempt_sales"),
    ("4020", "Sales, zero-rated", "income", "zero_rated_sales"),
    ("4100", "Late-fee income", "income", "late_fee_income"),
    ("4900", "Sales returns and allowances", "income", "sales_returns"),
)

# The role of the account each payment method posts to by default (the owner may remap them).
METHOD_ROLES = {
    methods.CASH: "cash",
    methods.BANK_TRANSFER: "bank_transfer",
    methods.GCASH: "gcash",
    methods.MAYA: "maya",
    methods.QR_PH: "qr_ph",
    methods.CHECK: "check",
    methods.CARD: "card",
    methods.GRABPAY: "grabpay",
    methods.SHOPEEPAY: "shopeepay",
    methods.BILLEASE: "billease",
    methods.ONLINE_BANKING: "online_banking",
    methods.CASH_DEPOSIT: "cash_deposit",
    methods.ONLINE_OTHER: "online_other",
    methods.OTHER: "other",
}
