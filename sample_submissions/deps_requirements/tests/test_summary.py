from datetime import date
from pathlib import Path

import pytest

from invoices.summary import Invoice, due_within, parse_row, read_invoices, render


def test_parse_row_accepts_common_date_formats() -> None:
    assert parse_row({"customer": " ACME ", "amount": "12.5", "due": "3 March 2026"}) == Invoice(
        "ACME", 1250, date(2026, 3, 3)
    )


def test_negative_amounts_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_row({"customer": "x", "amount": "-1", "due": "2026-01-01"})


def test_read_skips_bad_rows(tmp_path: Path) -> None:
    data = tmp_path / "invoices.csv"
    data.write_text("customer,amount,due\nA,10,2026-01-05\nB,oops,2026-01-06\n", encoding="utf-8")
    assert [i.customer for i in read_invoices(data)] == ["A"]


def test_due_within_uses_calendar_months() -> None:
    invoices = [Invoice("late", 1, date(2026, 3, 1)), Invoice("soon", 1, date(2026, 2, 27))]
    # One month after 31 January is 28 February, not 3 March.
    assert [i.customer for i in due_within(invoices, date(2026, 1, 31), 1)] == ["soon"]
    assert [i.customer for i in due_within(invoices, date(2026, 1, 31), 2)] == ["soon", "late"]


def test_render_has_a_total_row() -> None:
    table = render([Invoice("A", 1050, date(2026, 1, 1)), Invoice("B", 50, date(2026, 1, 2))])
    assert "| TOTAL" in table and "11.00" in table
