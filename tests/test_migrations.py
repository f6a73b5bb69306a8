"""Database migrations are written by a tool: type checking, complexity, size and security
leave them out."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.acquire.workspace import inventory, migration_files
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools.bandit import Bandit
from grader.tools.base import ToolContext
from grader.tools.facts import Facts
from grader.tools.mypy import Mypy
from grader.tools.radon import Radon

# A generated migration's shape: long, branching, untyped, never the candidate's design.
_BRANCHY = "def upgrade(kind):\n" + "".join(
    f"    if kind == {i}:\n        return {i}\n" for i in range(30)
)


@pytest.mark.parametrize(
    ("files", "migrations"),
    [
        (("app/migrations/0001_initial.py", "app/models.py"), ("app/migrations/0001_initial.py",)),
        (
            ("alembic/env.py", "alembic/versions/1a2b_add.py", "app.py"),
            ("alembic/env.py", "alembic/versions/1a2b_add.py"),
        ),
        (  # Alembic's layout under another name
            ("db/env.py", "db/versions/1a2b_add.py", "db/session.py"),
            ("db/env.py", "db/versions/1a2b_add.py", "db/session.py"),
        ),
        (("env.py", "app.py"), ()),  # an env.py without versions/ is not Alembic's
        (("migrations.py", "app.py"), ()),  # a module named migrations is the candidate's
    ],
)
def test_migration_files_are_known_by_their_layout(
    files: tuple[str, ...], migrations: tuple[str, ...]
) -> None:
    assert migration_files(files) == migrations


def _submission(root: Path) -> Path:
    (root / "alembic" / "versions").mkdir(parents=True)
    # The repository's own alembic/ folder shadows the installed package for mypy.
    (root / "alembic" / "env.py").write_text(
        "from alembic import context\n\ncontext.configure()\n", encoding="utf-8"
    )
    (root / "alembic" / "versions" / "1a2b_add.py").write_text(_BRANCHY, encoding="utf-8")
    (root / "app.py").write_text(
        'def greet(name: str) -> str:\n    return f"hi {name}"\n', encoding="utf-8"
    )
    return root


def _context(root: Path, work: Path) -> ToolContext:
    work.mkdir()
    return ToolContext(inventory(root), work, NotNeeded(), Limits())


def test_a_migrations_folder_named_like_a_package_causes_no_type_error(tmp_path: Path) -> None:
    root = _submission(tmp_path / "sub")
    result = Mypy().run(_context(root, tmp_path / "work"))
    assert [f.message for f in result.findings] == []
    assert {m.name: m.value for m in result.metrics}["types.errors"] == 0
    assert any("migration" in note for note in result.notes)


def test_complexity_leaves_migrations_out_and_says_so(tmp_path: Path) -> None:
    root = _submission(tmp_path / "sub")
    result = Radon().run(_context(root, tmp_path / "work"))
    metrics = {m.name: m.value for m in result.metrics}
    assert metrics["complexity.max"] is not None and metrics["complexity.max"] < 10
    assert any("migration" in note for note in result.notes)


def test_a_migrations_size_and_sql_are_not_the_candidates(tmp_path: Path) -> None:
    root = _submission(tmp_path / "sub")
    (root / "alembic" / "versions" / "2b3c_sql.py").write_text(
        'def upgrade(op, table):\n    op.execute("DELETE FROM %s" % table)\n', encoding="utf-8"
    )
    sized = {m.name: m.value for m in Radon().run(_context(root, tmp_path / "r")).metrics}
    assert (sized["code.sloc"], sized["code.test_sloc"]) == (2, 0)  # app.py alone
    found = Bandit().run(_context(root, tmp_path / "b")).findings
    assert not [f for f in found if "alembic" in f.location.path]


def test_a_migrations_docstrings_annotations_and_logging_are_not_the_candidates(
    tmp_path: Path,
) -> None:
    """Alembic writes env.py and each revision with docstrings, and env.py sets logging up
    for its own runs: none of it documents, types or logs the candidate's code."""
    root = _submission(tmp_path / "sub")
    (root / "alembic" / "env.py").write_text(
        '"""Alembic environment."""\nimport logging.config\n\n'
        "logging.config.fileConfig('alembic.ini')\n\n\n"
        'def run_migrations_online() -> None:\n    """Run migrations online."""\n',
        encoding="utf-8",
    )
    (root / "app.py").write_text("def greet(name):\n    return name\n", encoding="utf-8")
    metrics = {m.name: m.value for m in Facts().run(_context(root, tmp_path / "work")).metrics}
    assert metrics["docs.docstring_coverage"] == 0
    assert metrics["types.annotation_coverage"] == 0
    assert metrics["observability.logging"] == 0
