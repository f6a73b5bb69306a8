"""Summarise invoices into a table of what is due when."""
