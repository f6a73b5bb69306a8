"""Command line: python -m invoices FILE [MONTHS]."""

import sys
from datetime import date
from pathlib import Path

from invoices.summary import due_within, read_invoices, render


def main(argv: list[str]) -> int:
    """Print the invoices due in the next MONTHS months (default 1)."""
    months = int(argv[1]) if len(argv) > 1 else 1
    sys.stdout.write(render(due_within(read_invoices(Path(argv[0])), date.today(), months)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
