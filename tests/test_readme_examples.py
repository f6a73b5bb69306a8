"""The example output in README.md is what scripts/readme_examples.py makes from real runs."""

from __future__ import annotations

import pytest
import readme_examples
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_example_is_between_markers() -> None:
    for name in readme_examples.EXAMPLES:
        text = readme_examples.block(README, name)
        assert text.startswith("```") and text.endswith("```\n"), name


def test_splice_replaces_one_block_and_nothing_else() -> None:
    spliced = readme_examples.splice(README, "gains", "```\nnew\n```\n")
    assert readme_examples.block(spliced, "gains") == "```\nnew\n```\n"
    assert readme_examples.block(spliced, "explain") == readme_examples.block(README, "explain")
    assert (
        readme_examples.splice(spliced, "gains", readme_examples.block(README, "gains")) == README
    )
    with pytest.raises(ValueError, match="no example 'nope'"):
        readme_examples.splice(README, "nope", "")


def test_readme_explain_example_is_what_grader_prints() -> None:
    assert readme_examples.block(README, "explain") == readme_examples.explain_block()


@pytest.mark.slow
@pytest.mark.sandbox
def test_readme_gains_example_is_what_grading_the_sample_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Grades sample_submissions/average (about 30 s) as a user does: mutation testing at
    its default sample, which the rest of the suite turns off."""
    monkeypatch.delenv("GRADER_MUTANTS", raising=False)
    report = readme_examples.grade_sample()
    assert readme_examples.block(README, "gains") == readme_examples.gains_block(report)
