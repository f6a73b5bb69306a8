"""SQL built from strings: names interpolated are asked about, values are rejected."""

from __future__ import annotations

import pytest

from grader.tools.sql_strings import interpolates_names_only


@pytest.mark.parametrize(
    ("source", "names_only"),
    [
        ('cur.execute(f"SELECT * FROM {table} LIMIT 0;")', True),
        ('q = f"INSERT INTO {table} ({columns}) VALUES (?, ?)"', True),
        ('q = f"SELECT {column}, snapshot FROM {table} ORDER BY {column}"', True),
        ('q = f\'SELECT * FROM "{schema}"."{table}"\'', True),
        ('q = "DROP TABLE IF EXISTS {}".format(name)', True),
        # a value interpolated: injection
        ('q = f"SELECT * FROM users WHERE id = {user_id}"', False),
        ("q = f\"SELECT * FROM {table} WHERE name = '{name}'\"", False),
        ('q = f"INSERT INTO t (a) VALUES ({value})"', False),
        ('q = f"UPDATE {table} SET total = {total}"', False),
        ('q = "SELECT * FROM t WHERE a = {}".format(a)', False),
        # what it cannot read counts as a value
        ('q = "SELECT * FROM " + table', False),
        ('q = "SELECT * FROM %s" % table', False),
    ],
)
def test_only_names_in_identifier_positions_are_spared(source: str, names_only: bool) -> None:
    assert interpolates_names_only(source + "\n", 1) is names_only


def test_a_statement_over_several_lines_is_read_whole() -> None:
    source = 'sql = f"""\n    SELECT website, {column}\n    FROM {table}\n"""\n'
    assert interpolates_names_only(source, 1)
