"""Preview: grade a candidate's working tree as it is now, before anything is committed.

The official grade clones a commit; a candidate wants to know where they stand with the
edits they have not committed yet. The preview copies what git would commit from the work
tree (tracked and untracked files, ignored files left out) and grades that copy with the
same pipeline, tools and rubric, so a clean committed tree previews to exactly its grade.

The report is written where it cannot be committed by mistake: into the repository's git
folder (``.git/grader-report/``), or, for a folder that is not a git work tree, into the
user cache folder. An explicit ``--out`` wins.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from pathlib import Path

from grader.acquire.git import run_git
from grader.acquire.source import NOT_A_REPOSITORY
from grader.acquire.work_tree import WorkingTree, copy_working_tree, working_tree
from grader.acquire.workspace import remove_tree
from grader.core.errors import AcquireError
from grader.core.models import Report
from grader.core.progress import stage
from grader.environment.cache import default_cache_dir
from grader.pipeline import GradeOptions, grade

# The command line's --out default for preview: a folder of that name in the current
# folder, which is usually the candidate's work tree.
DEFAULT_OUT = Path("grader-report")
_EXCLUDE_NOTE = "# grader preview's reports (added by grader preview)"


def _git_path(folder: Path, *args: str) -> Path | None:
    """What ``git rev-parse ARGS`` prints in ``folder`` as an absolute path, or None."""
    result = run_git(["rev-parse", *args], folder)
    if result.exit_code != 0 or not result.stdout.strip():
        return None
    return (folder / result.stdout.strip()).resolve()


def report_folder(out: Path, folder: Path, cache_dir: Path | None = None) -> Path:
    """Where the preview of ``folder`` writes its report: ``out`` when given, else where
    it cannot be committed: ``<git folder>/grader-report`` for a git work tree (``.git/``,
    or a linked work tree's own git folder), else ``<cache>/previews/<name>-<digest>``."""
    if out != DEFAULT_OUT:
        return out
    folder = folder.resolve()
    git_dir = _git_path(folder, "--absolute-git-dir")
    if git_dir is not None:
        return git_dir / DEFAULT_OUT.name
    digest = hashlib.sha256(str(folder).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    name = f"{folder.name or 'root'}-{digest}"
    return (cache_dir or default_cache_dir()) / "previews" / name


def exclude_from_git(out: Path, folder: Path) -> None:
    """List ``out`` in the repository's ``info/exclude`` when it lies in ``folder``'s work
    tree and git would otherwise offer it for a commit; anything else is left alone."""
    top = _git_path(folder.resolve(), "--show-toplevel")
    exclude = _git_path(folder.resolve(), "--git-path", "info/exclude")
    target = out.resolve()
    if top is None or exclude is None or not target.is_relative_to(top) or target == top:
        return
    if run_git(["check-ignore", "--quiet", "--", str(target)], top).exit_code == 0:
        return  # already ignored
    line = f"/{target.relative_to(top).as_posix()}/"
    try:
        text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if line in text.splitlines():
            return
        exclude.parent.mkdir(parents=True, exist_ok=True)
        with exclude.open("a", encoding="utf-8") as stream:
            stream.write(
                ("" if not text or text.endswith("\n") else "\n") + f"{_EXCLUDE_NOTE}\n{line}\n"
            )
    except (OSError, UnicodeDecodeError):
        return  # a read-only repository: the report is still written, only not excluded


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
    A folder in ``skip`` inside the work tree is listed in the repository's
    ``info/exclude`` so that it is never committed by mistake.
    """
    if not folder.is_dir():
        raise AcquireError(f"{folder} is not a folder")
    for out in skip:
        exclude_from_git(out, folder)
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
