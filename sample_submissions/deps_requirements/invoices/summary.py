"""Parse invoice rows and render the ones due soon as a table."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta
from tabulate import tabulate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Invoice:
    """One invoice: who owes how much by when."""

    customer: str
    amount_cents: int
    due: date


def parse_row(row: dict[str, str]) -> Invoice:
    """Build an invoice from a CSV row; dates may be in any common format."""
    amount = round(float(row["amount"]) * 100)
    if amount < 0:
        raise ValueError(f"negative amount for {row['customer']}")
    return Invoice(row["customer"].strip(), amount, date_parser.parse(row["due"]).date())


def read_invoices(path: Path) -> list[Invoice]:
    """Every valid invoice in a CSV file; invalid rows are logged and skipped."""
    invoices = []
    with path.open(newline="", encoding="utf-8") as stream:
        for number, row in enumerate(csv.DictReader(stream), start=2):
            try:
                invoices.append(parse_row(row))
            except (KeyError, ValueError) as exc:
                log.warning("skipping line %d: %s", number, exc)
    return invoices


def due_within(invoices: Iterable[Invoice], today: date, months: int) -> list[Invoice]:
    """Invoices due between today and ``months`` from now, soonest first."""
    horizon = today + relativedelta(months=months)
    return sorted((i for i in invoices if today <= i.due <= horizon), key=lambda i: i.due)


def render(invoices: Iterable[Invoice]) -> str:
    """A plain-text table of invoices with a total row."""
    chosen = list(invoices)
    rows = [(i.customer, f"{i.amount_cents / 100:.2f}", i.due.isoformat()) for i in chosen]
    total = sum(i.amount_cents for i in chosen) / 100
    rows.append(("TOTAL", f"{total:.2f}", ""))
    return tabulate(
        rows, headers=["customer", "amount", "due"], tablefmt="github", disable_numparse=True
    )
