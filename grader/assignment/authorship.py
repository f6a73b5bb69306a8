"""Which lines the candidate wrote: a diff of the submission against the starter code.

Both trees are written into a private bare repository with a throw-away index (``git add
-A -f``, so a candidate's .gitignore cannot hide a file) and compared with ``git diff -U0
-M``: every line of an added file, and every new-side line of a changed hunk, is the
candidate's. A file moved without change keeps its starter lines. Findings on other lines
are not scored, and the size-normalised counts are recomputed over the candidate's lines.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from grader.acquire.git import run_git
from grader.acquire.workspace import Workspace
from grader.core.errors import AcquireError
from grader.core.models import Authorship, Finding, Metric, Severity
from grader.tools import bandit

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class _FileDiff:
    status: str = "changed"
    path: str | None = None
    lines: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Lines:
    """The candidate's lines: whole files they added, and lines of files they changed."""

    added_files: frozenset[str]
    changed_lines: Mapping[str, frozenset[int]]
    starter_tree: str = ""
    """git's id of the starter's tree (to find the starter commit in the history)."""

    def authored(self, path: str, line: int | None) -> bool:
        """Whether a finding at ``path:line`` is on the candidate's code.

        Findings about the submission as a whole (no file) are the candidate's; a finding
        on a file without a line counts when the candidate touched that file.
        """
        if path in {"", "."} or path in self.added_files:
            return True
        changed = self.changed_lines.get(path)
        if changed is None:
            return False
        return line is None or line in changed


def _unquote(path: str) -> str:
    """git's C-style quoting of unusual file names."""
    if not (path.startswith('"') and path.endswith('"')):
        return path
    raw = codecs.escape_decode(path[1:-1].encode("utf-8"))[0]
    return bytes(raw).decode("utf-8", errors="surrogateescape")


def _tree(git_dir: Path, root: Path, index: Path) -> str:
    env = {"GIT_INDEX_FILE": str(index)}
    added = run_git(
        [f"--git-dir={git_dir}", f"--work-tree={root}", "add", "-A", "-f", "--", "."],
        root,
        env,
    )
    if added.exit_code != 0:
        raise AcquireError(f"cannot compare with the starter: {added.stderr.strip()[:200]}")
    return run_git([f"--git-dir={git_dir}", "write-tree"], root, env).stdout.strip()


@dataclass
class _Patch:
    """A parsed ``git diff -U0``: the files it touches and its line counts."""

    files: list[_FileDiff] = field(default_factory=list)
    added: int = 0
    changed: int = 0
    deleted: int = 0

    def hunk(self, old: int, new: int) -> None:
        self.changed += min(old, new)
        self.added += max(new - old, 0)
        self.deleted += max(old - new, 0)


def _header(line: str, diff: _FileDiff) -> None:
    """One line of a file's header (between ``diff --git`` and its first hunk)."""
    if line.startswith("new file mode"):
        diff.status = "added"
    elif line.startswith("deleted file mode"):
        diff.status = "deleted"
    elif line.startswith(("+++ ", "rename to ")):
        target = _unquote(line.split(" ", 2)[-1] if line.startswith("rename") else line[4:])
        if target != "/dev/null":
            diff.path = target


def _parse(patch: str) -> _Patch:
    """The files and counts of a patch, reading each hunk for exactly as many lines as its
    header announces: a line of the candidate's that starts with ``++ `` or ``@@`` is
    content, never taken for a header."""
    parsed = _Patch()
    old_left = new_left = 0
    for line in patch.splitlines():
        if old_left or new_left:
            if line.startswith("-"):
                old_left -= 1
            elif line.startswith("+"):
                new_left -= 1
            elif line.startswith(" "):
                old_left, new_left = old_left - 1, new_left - 1
            continue  # "\\ No newline at end of file" counts for neither side
        if line.startswith("diff --git "):
            parsed.files.append(_FileDiff())
        elif not parsed.files:
            continue
        elif match := _HUNK.match(line):
            old = int(match.group(1)) if match.group(1) is not None else 1
            start, new = int(match.group(2)), int(match.group(3) or 1)
            parsed.files[-1].lines.update(range(start, start + new))
            parsed.hunk(old, new)
            old_left, new_left = old, new
        else:
            _header(line, parsed.files[-1])
    return parsed


def compare(starter: Path, submission: Path, workdir: Path, label: str) -> tuple[Authorship, Lines]:
    """What the candidate added, changed and deleted relative to ``starter``."""
    git_dir = workdir / "authorship.git"
    init = run_git(["init", "--quiet", "--bare", str(git_dir)], workdir)
    if init.exit_code != 0:
        raise AcquireError(f"cannot compare with the starter: {init.stderr.strip()[:200]}")
    before = _tree(git_dir, starter, workdir / "starter.index")
    after = _tree(git_dir, submission, workdir / "submission.index")
    diff = run_git(
        [
            f"--git-dir={git_dir}",
            "-c",
            "core.quotePath=false",
            "diff",
            "-U0",
            "-M",
            "--no-prefix",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            before,
            after,
        ],
        workdir,
    )
    patch = _parse(diff.stdout)
    files = patch.files
    added, changed, deleted = patch.added, patch.changed, patch.deleted
    status = [f.status for f in files]
    lines = Lines(
        added_files=frozenset(f.path for f in files if f.status == "added" and f.path),
        changed_lines={
            f.path: frozenset(f.lines) for f in files if f.status == "changed" and f.path
        },
        starter_tree=before,
    )
    summary = Authorship(
        base=label,
        files_added=status.count("added"),
        files_changed=status.count("changed"),
        files_deleted=status.count("deleted"),
        lines_added=added,
        lines_changed=changed,
        lines_deleted=deleted,
    )
    return summary, lines


def export(git_dir: Path, ref: str, dest: Path, workdir: Path) -> Path:
    """The tree of commit ``ref`` of the submission's history, written to ``dest``."""
    check = run_git(
        [f"--git-dir={git_dir}", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], workdir
    )
    if check.exit_code != 0:
        raise AcquireError(f"--base: unknown ref {ref!r} in the submission's history")
    dest.mkdir()
    env = {"GIT_INDEX_FILE": str(workdir / "base.index")}
    done = run_git(
        [
            f"--git-dir={git_dir}",
            f"--work-tree={dest}",
            "checkout",
            check.stdout.strip(),
            "--",
            ".",
        ],
        dest,
        env,
    )
    if done.exit_code != 0:
        raise AcquireError(f"--base: cannot read {ref}: {done.stderr.strip()[:200]}")
    return dest


def _is_code(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and not stripped.startswith("#")


def candidate_sloc(workspace: Workspace, lines: Lines) -> tuple[int, int]:
    """Non-blank, non-comment lines the candidate wrote: in code, and in tests."""
    code = tests = 0
    for relative in workspace.python_files:
        try:
            text = workspace.path(relative).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        mine = sum(
            1
            for number, line in enumerate(text.splitlines(), 1)
            if _is_code(line) and lines.authored(relative, number)
        )
        if relative in workspace.test_files:
            tests += mine
        else:
            code += mine
    return code, tests


def _count(
    findings: Iterable[Finding], tool: str, rule: str = "", floor: Severity = Severity.INFO
) -> int:
    return sum(
        1
        for f in findings
        if f.tool == tool and f.rule_id.startswith(rule) and f.severity.rank >= floor.rank
    )


def recount(
    metrics: Mapping[str, Metric], kept: tuple[Finding, ...], sloc: tuple[int, int]
) -> dict[str, Metric]:
    """Counts over the candidate's findings and sizes over the candidate's lines; the
    derived rates are recomputed from these by grader.scoring.normalize."""
    code, tests = sloc
    bandit_findings = tuple(f for f in kept if f.tool == "bandit")
    counted = {
        "lint.issues": _count(kept, "ruff"),
        "lint.serious_issues": _count(kept, "ruff", floor=Severity.MEDIUM),
        "types.errors": _count(kept, "mypy"),
        "observability.prints": _count(kept, "facts", "print-call"),
        "suppressions.count": _count(kept, "facts", "suppression"),
        "security.hardcoded_secrets": _count(kept, "facts", "hardcoded-secret"),
        "security.development_secrets": _count(kept, "facts", "development-secret"),
        "security.debug_in_settings": _count(kept, "facts", "debug-in-settings"),
        **{m.name: m.value for m in bandit.metrics_of(bandit_findings)},
        "code.sloc": code,
        "code.test_sloc": tests,
        "code.total_sloc": code + tests,
    }
    updated = dict(metrics)
    for name, value in counted.items():
        metric = metrics.get(name)
        if metric is not None and metric.value is not None:
            updated[name] = dataclasses.replace(metric, value=value)
    return updated
