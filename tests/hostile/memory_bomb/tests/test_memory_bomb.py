# ruff: noqa
"""Hostile: ask for 50 GB at once, then grow until something gives."""

from app import add


def test_add():
    assert add(1, 2) == 3


def test_allocate_50_gb():
    block = bytearray(50 * 1024**3)
    assert len(block) > 0


def test_grow_until_refused():
    chunks = []
    while True:
        chunks.append(b"\x01" * (64 * 1024 * 1024))
