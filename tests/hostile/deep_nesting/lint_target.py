# ruff: noqa
"""Ordinary code with a type error: what the deep files must not hide from mypy."""


def half(value: int) -> int:
    """Returns a float where an int is declared."""
    return value / 2
