"""Preview: grade a candidate's working tree as it is now, before anything is committed.

The official grade clones a commit; a candidate wants to know where they stand with the
edits they have not committed yet. The preview copies what git would commit from the work
tree (tracked and untracked files, ignored files left out) and grades that copy with the
same pipeline, tools and rubric, so a clean committed tree previews to exactly its grade.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from grader.acquire.source import NOT_A_REPOSITORY, WorkingTree, copy_working_tree, working_tree
from grader.acquire.workspace import remove_tree
from grader.core.errors import AcquireError
from grader.core.models import Report
from grader.core.progress import stage
from grader.pipeline import GradeOptions, grade


def _note(head: str | None, changed: int) -> str:
    """What the report says was graded."""
    if head is None:
        return f"preview of a work tree with no commit yet ({changed} files)"
    if changed == 0:
        return f"preview of the work tree at {head[:12]}, no uncommitted changes"
    changes = "1 uncommitted change" if changed == 1 else f"{changed} uncommitted changes"
    return f"preview of the work tree at {head[:12]} with {changes}"


def preview(folder: Path, options: GradeOptions, skip: tuple[Path, ...] = ()) -> Report:
    """Grade the work tree at ``folder`` (``options.source`` and ``options.ref`` are ignored).

    Folders in ``skip`` (where the preview's own report goes) are left out of the copy.
    """
    if not folder.is_dir():
        raise AcquireError(f"{folder} is not a folder")
    label = str(folder)
    with stage("list", options.on_event):
        tree = working_tree(folder.resolve())
    if tree is not None:
        tree = _without(tree, folder.resolve(), skip)
    if tree is None:  # not a git work tree: every file counts, as grade counts them
        report = grade(dataclasses.replace(options, source=label, ref=None))
        return _relabel(report, label, None, (f"preview of {label}: {NOT_A_REPOSITORY}",))
    holder = Path(tempfile.mkdtemp(prefix="grader-preview-"))
    try:
        snapshot = holder / (folder.resolve().name or "submission")
        with stage("snapshot", options.on_event):
            copy_working_tree(folder.resolve(), tree, snapshot)
        report = grade(dataclasses.replace(options, source=str(snapshot), ref=None))
    finally:
        remove_tree(holder)
    commit = tree.head if not tree.changed else None
    return _relabel(report, label, commit, (_note(tree.head, len(tree.changed)),))


def _without(tree: WorkingTree, root: Path, skip: tuple[Path, ...]) -> WorkingTree:
    skipped = [s.resolve() for s in skip]

    def kept(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(
            name
            for name in names
            if not any((root / name).is_relative_to(folder) for folder in skipped)
        )

    return dataclasses.replace(tree, files=kept(tree.files), changed=kept(tree.changed))


def _relabel(report: Report, source: str, commit: str | None, notes: tuple[str, ...]) -> Report:
    """The report of the copy, told as the report of the folder the candidate named."""
    kept = tuple(w for w in report.submission.warnings if w != NOT_A_REPOSITORY)
    submission = dataclasses.replace(
        report.submission,
        source=str(Path(source).resolve()),
        commit=commit,
        commit_date=None,
        root_label=Path(source).resolve().name or source,
        warnings=(*notes, *kept),
    )
    return dataclasses.replace(report, submission=submission)
