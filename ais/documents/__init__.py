"""Printable documents: the sales invoice and the payment acknowledgement receipt, as PDF.

``content`` gathers what a document shows from the stored rows (the figures the service layer
wrote: line amounts, VAT summary, schedule, payments; nothing is recomputed); ``pdf`` renders a
Jinja template from ``templates/documents/`` with WeasyPrint, fonts from the system (DejaVu) and
no network access.  The pages include the same partials (``documents/_parts.html``).
"""
