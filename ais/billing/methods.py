"""How money arrives: one spelling per payment method, everywhere a method is stored or shown.

The ledger posts each method to its own account (cash on hand, a bank, an e-wallet, card
clearing), and the payments list filters by it, so "cash" and "Cash" must not be two methods.
Every payment's method is one of ``METHODS``; ``canonical`` maps what people (and old data)
wrote onto it.  Which provider took an online payment is ``payments.provider``, not part of the
method's name: a card paid through Stripe is "Card".
"""

from __future__ import annotations

CASH = "Cash"
BANK_TRANSFER = "Bank transfer"
GCASH = "GCash"
MAYA = "Maya"
QR_PH = "QR Ph"
CHECK = "Check"
CARD = "Card"
GRABPAY = "GrabPay"
SHOPEEPAY = "ShopeePay"
BILLEASE = "BillEase"
ONLINE_BANKING = "Online banking"
CASH_DEPOSIT = "Cash deposit"
ONLINE_OTHER = "Online (PayMongo)"
OTHER = "Other"
# A customer credit (an overpayment or a credit note's credit) applied to an invoice: no money
# moves, so it posts to no method's account but from customer credits (ais.billing.credits).
CUSTOMER_CREDIT = "Customer credit"

METHODS = (
    CASH,
    BANK_TRANSFER,
    GCASH,
    MAYA,
    QR_PH,
    CHECK,
    CARD,
    GRABPAY,
    SHOPEEPAY,
    BILLEASE,
    ONLINE_BANKING,
    CASH_DEPOSIT,
    ONLINE_OTHER,
    OTHER,
    CUSTOMER_CREDIT,
)
# What the owner records by hand, and what a client may report having paid by.
OWNER_METHODS = (CASH, BANK_TRANSFER, GCASH, MAYA, QR_PH, CHECK, CARD, OTHER)
CLIENT_METHODS = (BANK_TRANSFER, GCASH, MAYA, QR_PH, CASH_DEPOSIT, CHECK, OTHER)
# Money that leaves the business: what a customer credit may be refunded by (its cash account is credited).
REFUND_METHODS = tuple(method for method in METHODS if method != CUSTOMER_CREDIT)

# Other spellings seen in data and in providers' vocabularies (lower case).
_SYNONYMS = {
    "card (stripe)": CARD,
    "credit card": CARD,
    "debit card": CARD,
    "paymaya": MAYA,
    "qrph": QR_PH,
    "qr ph": QR_PH,
    "cheque": CHECK,
    "bank": BANK_TRANSFER,
    "bank deposit": CASH_DEPOSIT,
    "grab pay": GRABPAY,
    "shopee pay": SHOPEEPAY,
}
_BY_LOWER = {method.lower(): method for method in METHODS} | _SYNONYMS


def canonical(name: str | None) -> str | None:
    """The one spelling of ``name`` ('bank transfer' -> 'Bank transfer'), or None if it is no method."""
    if not name:
        return None
    return _BY_LOWER.get(" ".join(name.split()).lower())
