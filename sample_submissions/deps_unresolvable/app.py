"""Formats a small table of answers."""

from tabulate import tabulate


def answer() -> int:
    """The answer."""
    return 42


def table() -> str:
    """The answer as a plain-text table."""
    return tabulate([["answer", answer()]], tablefmt="plain")
