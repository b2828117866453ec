"""The accounting: the ledger's commands and the owner's reports (docs/ACCOUNTING.md)."""
