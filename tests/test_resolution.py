"""How a requirement set that uv refuses is turned into one that installs: table tests.

The messages are uv 0.13.9's own, recorded from `uv pip install --only-binary :all:` runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from grader.environment import cache as cache_module
from grader.environment import interpreters
from grader.environment.resolution import Dropped, Fault, Plan, lacking_wheels
from grader.environment.sdists import SourceRefusedError

PINS = ["pytest==9.0.3", "pytest-timeout==2.4.0", "coverage==7.17.5"]

NOT_FOUND = (
    "error: No solution found when resolving dependencies cause: Because grader-no-such-pkg "
    "was not found in the package registry and you require grader-no-such-pkg==1.0, we can "
    "conclude that your requirements are unsatisfiable."
)
NO_VERSION = (
    "error: No solution found when resolving dependencies cause: Because there is no version "
    "of attrs==99.0.0 and you require attrs==99.0.0, we can conclude that your requirements "
    "are unsatisfiable."
)
NO_WHEEL = (
    "error: No solution found when resolving dependencies cause: Because psycopg2==2.9.9 has "
    "no usable wheels and you require psycopg2==2.9.9, we can conclude that your requirements "
    "are unsatisfiable."
)
NEEDS_PYTHON = (
    "error: No solution found when resolving dependencies cause: Because the current Python "
    "version (3.11.7) does not satisfy Python>=3.12 and django==6.0 depends on Python>=3.12, "
    "we can conclude that django==6.0 cannot be used. And because you require django==6.0, "
    "we can conclude that your requirements are unsatisfiable."
)
OWN_CONFLICT = (
    "error: No solution found when resolving dependencies cause: Because requests==2.31.0 "
    "depends on urllib3>=1.21.1,<3 and you require requests==2.31.0, we can conclude that you "
    "require urllib3>=1.21.1,<3. And because you require urllib3==1.20, we can conclude that "
    "your requirements are unsatisfiable."
)
RUNNER_CONFLICT = (
    "error: No solution found when resolving dependencies cause: Because pytest==9.0.3 depends "
    "on pluggy>=1.5 and you require pluggy==0.13.1, we can conclude that your requirements and "
    "pytest==9.0.3 are incompatible. And because you require pytest==9.0.3, we can conclude "
    "that your requirements are unsatisfiable."
)
OFFLINE = (
    "error: No solution found when resolving dependencies cause: Because tabulate was not "
    "found in the cache and you require tabulate==0.9.0, we can conclude that your "
    "requirements are unsatisfiable."
)


def test_a_set_without_runner_pins_gets_graders_exact_runners() -> None:
    plan = Plan.start(("attrs==25.1.0",), PINS)
    assert plan.listing() == ["attrs==25.1.0", *PINS]
    assert plan.changes == ()


@pytest.mark.parametrize(
    ("items", "runner", "kept"),
    [
        # pluggy pinned: pytest may move within grader's range, the rest stays pinned
        (
            ("pluggy==1.0.0", "pytest==7.0.1"),
            ("pytest>=7.0", "pytest-timeout==2.4.0", "coverage==7.17.5"),
            ("pluggy==1.0.0", "pytest==7.0.1"),
        ),
        # pytest 6 is below what grader drives: overridden at once, and said
        (
            ("pytest==6.2.5", "attrs"),
            ("pytest>=7.0", "pytest-timeout==2.4.0", "coverage==7.17.5"),
            ("attrs",),
        ),
        (
            ("coverage==7.2.0",),
            ("pytest==9.0.3", "pytest-timeout==2.4.0", "coverage>=7.0"),
            ("coverage==7.2.0",),
        ),
    ],
)
def test_candidate_runner_pins_are_resolved_within_graders_range(
    items: tuple[str, ...], runner: tuple[str, ...], kept: tuple[str, ...]
) -> None:
    plan = Plan.start(items, PINS)
    assert plan.runner == runner
    assert plan.items == kept
    assert plan.stage == "ranged"
    assert plan.changes and "resolved your" in plan.changes[0]
    overridden = [i for i in items if i not in kept]
    assert bool(overridden) == any("overrode your" in c for c in plan.changes)


def test_runner_pins_are_overridden_only_when_the_range_fails() -> None:
    plan = Plan.start(("pluggy==0.13.1", "attrs"), PINS)
    following = plan.after(RUNNER_CONFLICT)
    assert following is not None
    assert following.items == ("attrs",)
    assert following.runner == tuple(PINS)
    assert "overrode your pluggy==0.13.1" in following.changes[-1]
    assert following.dropped == ()


OLD_PYTHON = (
    "error: No solution found when resolving dependencies:\n"
    "  Because the current Python version (3.7.16) does not satisfy Python>=3.10 and\n"
    "  pytest==9.0.3 depends on Python>=3.10, we can conclude that pytest==9.0.3 cannot\n"
    "  be used.\n  And because you require pytest==9.0.3, we can conclude that your\n"
    "  requirements are unsatisfiable."
)


def test_runners_too_new_for_the_python_a_project_asks_for_are_taken_older() -> None:
    """A project that stops at Python 3.10 gets 3.7 on a host without 3.8-3.10; grader's
    own pytest needs 3.10: the newest runners 3.7 runs are installed, and said."""
    plan = Plan.start(("pytest<7.0.0,>=6.2.5", "attrs"), PINS)
    overridden = plan.after(RUNNER_CONFLICT)
    assert overridden is not None and overridden.runner == tuple(PINS)
    older = overridden.after(OLD_PYTHON)
    assert older is not None
    assert older.items == ("attrs",)
    assert older.runner == ("pytest>=7.0", "pytest-timeout>=2.1", "coverage>=7.0")
    assert "the newest versions this Python runs" in older.changes[-1]
    assert older.dropped == ()
    assert older.after(OLD_PYTHON) is None  # once: a failure then is not the runners'


@pytest.mark.parametrize(
    ("items", "message", "dropped"),
    [
        (
            ("grader-no-such-pkg==1.0", "attrs"),
            NOT_FOUND,
            Dropped(
                "grader-no-such-pkg==1.0", "does not exist on the package index", Fault.CANDIDATE
            ),
        ),
        (
            ("attrs==99.0.0",),
            NO_VERSION,
            Dropped("attrs==99.0.0", "has no published version that matches", Fault.CANDIDATE),
        ),
        (
            ("django==6.0",),
            NEEDS_PYTHON,
            Dropped("django==6.0", "needs a newer Python than this host has", Fault.HOST),
        ),
        (
            # "depends on python-dateutil" is not "depends on Python"
            ("pandas>=0.24.2", "python-dateutil==2.8.0"),
            "No solution found when resolving dependencies: Because pandas>=1.5.0 depends on"
            " python-dateutil>=2.8.1 and pandas>=0.24.2,<=1.4.4 has no usable wheels, we can"
            " conclude that pandas>=0.24.2 depends on python-dateutil>=2.8.1. And because you"
            " require pandas>=0.24.2 and python-dateutil==2.8.0, we can conclude that your"
            " requirements are unsatisfiable.",
            Dropped(
                "pandas>=0.24.2",
                "has no wheel for this platform and source builds are off",
                Fault.HOST,
            ),
        ),
        (
            ("requests==2.31.0", "urllib3==1.20"),
            OWN_CONFLICT,
            Dropped("urllib3==1.20", "conflicts with your other requirements", Fault.CANDIDATE),
        ),
    ],
)
def test_the_requirement_uv_names_is_dropped_with_whose_fault_it_is(
    items: tuple[str, ...], message: str, dropped: Dropped
) -> None:
    following = Plan.start(items, PINS).after(message)
    assert following is not None
    assert following.dropped == (dropped,)
    assert dropped.requirement not in following.items
    assert following.fault is dropped.fault


def test_a_package_without_wheels_gets_its_binary_twin_before_being_dropped() -> None:
    plan = Plan.start(("psycopg2==2.9.9",), PINS)
    twin = plan.after(NO_WHEEL)
    assert twin is not None
    assert twin.items == ("psycopg2-binary==2.9.9",)
    assert twin.changes == ("installed psycopg2-binary==2.9.9 in place of psycopg2==2.9.9",)
    assert twin.dropped == ()
    # Had the twin not helped (its name is in the message again), its stale pin is raised,
    # and when no release has a wheel either, it goes, charged to the host.
    raised = twin.after(NO_WHEEL.replace("psycopg2", "psycopg2-binary"))
    assert raised is not None
    assert raised.items == ("psycopg2-binary<3,>=2.9.9",)
    assert raised.dropped == ()
    unbounded = raised.after(NO_WHEEL.replace("psycopg2", "psycopg2-binary"))
    assert unbounded is not None and unbounded.items == ("psycopg2-binary>=2.9.9",)
    gone = unbounded.after(NO_WHEEL.replace("psycopg2==2.9.9", "psycopg2-binary>=2.9.9"))
    assert gone is not None
    assert gone.items == ()
    assert gone.dropped[0].fault is Fault.HOST


def test_a_pin_with_a_marker_is_read_from_uvs_message_like_any_other() -> None:
    marked = "typed-ast==1.4.1; python_version < '4'"
    stale = (
        "No solution found when resolving dependencies: Because typed-ast{python_full_version"
        " < '4'}==1.4.1 has no usable wheels and you require typed-ast{python_full_version <"
        " '4'}==1.4.1, we can conclude that your requirements are unsatisfiable."
    )
    raised = Plan.start((marked,), PINS).after(stale)
    assert raised is not None
    assert raised.items == ('typed-ast<2,>=1.4.1; python_version < "4"',)


def test_an_old_exact_pin_without_a_wheel_for_this_python_is_raised_before_being_dropped() -> None:
    stale = (
        "No solution found when resolving dependencies: Because typed-ast==1.4.1 has no "
        "wheels with a matching Python ABI tag and you require typed-ast==1.4.1, we can "
        "conclude that your requirements are unsatisfiable."
    )
    plan = Plan.start(("typed-ast==1.4.1", "tabulate==0.9.0"), PINS)
    raised = plan.after(stale)
    assert raised is not None
    assert raised.items == ("typed-ast<2,>=1.4.1", "tabulate==0.9.0")
    assert raised.changes == (
        "raised your typed-ast==1.4.1 to typed-ast<2,>=1.4.1: that release has no wheel for "
        "this Python",
    )
    assert raised.dropped == () and raised.fault is Fault.NONE


def _no_wheel(name: str, wanted: str) -> str:
    return (
        f"No solution found when resolving dependencies: Because only {name}{wanted} is "
        f"available and {name}{wanted} has no wheels with a matching Python ABI tag, we can "
        "conclude that your requirements are unsatisfiable."
    )


def test_pins_without_a_wheel_are_raised_within_their_major_then_past_it() -> None:
    # numpy 2 under the pinned pandas 1.x of 2021 fails at import ("numpy.dtype size
    # changed"): the nearest releases that install keep their major version first.
    plan = Plan.start(("numpy==1.20.3", "pandas==1.2.4"), PINS)
    within = plan.after(_no_wheel("numpy", "==1.20.3") + " " + _no_wheel("pandas", "==1.2.4"))
    assert within is not None
    assert within.items == ("numpy<2,>=1.20.3", "pandas<2,>=1.2.4")
    further = within.after(_no_wheel("numpy", "==1.26.4"))
    assert further is not None
    assert further.items == ("numpy>=1.20.3", "pandas<2,>=1.2.4")
    assert further.changes[-1] == (
        "raised your numpy<2,>=1.20.3 to numpy>=1.20.3: no release of that major version "
        "has a wheel for this Python"
    )
    assert further.raised == {"numpy", "pandas"}
    # Nothing left to raise: the requirement uv still blames is dropped, as before.
    last = further.after(_no_wheel("numpy", "==2.4.6"))
    assert last is not None and [d.requirement for d in last.dropped] == ["numpy>=1.20.3"]


def test_an_unreachable_index_ends_the_rounds_as_the_hosts_fault() -> None:
    plan = Plan.start(("tabulate==0.9.0",), PINS)
    assert plan.after(OFFLINE) is None
    assert plan.failed_with(OFFLINE).failure_fault is Fault.HOST


def test_a_message_naming_nothing_of_the_candidates_ends_the_rounds() -> None:
    plan = Plan.start(("attrs",), PINS)
    assert plan.after("error: something unexpected happened") is None


def test_a_built_plan_survives_its_record() -> None:
    plan = Plan.start(("grader-no-such-pkg==1.0", "attrs"), PINS).after(NOT_FOUND)
    assert plan is not None
    again = Plan.from_record({"items": list(plan.items), **plan.record()})
    assert again.dropped == plan.dropped
    assert again.changes == plan.changes
    assert again.fault is Fault.CANDIDATE
    assert Plan.from_record({"dropped": [["x", "y", "nonsense"]], "changes": 3}).dropped == ()


def test_a_locked_pin_that_clashes_only_with_the_runners_is_unpinned_not_dropped() -> None:
    # After grader's pytest replaced theirs, their lock still pins pytest 7's packaging.
    plan = Plan.start(("packaging==21.3", "attrs==25.1.0"), PINS)
    message = (
        "error: No solution found when resolving dependencies cause: Because pytest==9.0.3 "
        "depends on packaging>=22 and you require packaging==21.3, we can conclude that your "
        "requirements and pytest==9.0.3 are incompatible. And because you require "
        "pytest==9.0.3, we can conclude that your requirements are unsatisfiable."
    )
    ranged = plan.after(message)
    assert ranged is not None and ranged.stage == "ranged"  # first: any supported pytest
    assert ranged.items == plan.items
    following = ranged.after(message.replace("pytest==9.0.3", "pytest>=7.0"))
    assert following is not None
    assert following.items == ("packaging", "attrs==25.1.0")
    assert following.dropped == ()
    assert "unpinned your packaging==21.3" in following.changes[-1]


def test_a_dependency_of_theirs_without_wheels_drops_their_requirement_as_the_hosts_fault() -> None:
    plan = Plan.start(("graphene-django==3.0.0", "django==4.2"), PINS)
    message = (
        "error: No solution found when resolving dependencies cause: Because all versions of "
        "promise have no usable wheels and graphene-django==3.0.0 depends on promise>=2.1, we "
        "can conclude that graphene-django==3.0.0 cannot be used. And because you require "
        "graphene-django==3.0.0, we can conclude that your requirements are unsatisfiable."
    )
    following = plan.after(message)
    assert following is not None
    assert following.dropped == (
        Dropped(
            "graphene-django==3.0.0",
            "needs promise, which has no wheel for this platform and source builds are off",
            Fault.HOST,
        ),
    )


@pytest.mark.parametrize(
    ("message", "items", "wanted"),
    [
        (NO_WHEEL, ("psycopg2==2.9.9",), {"psycopg2": "==2.9.9"}),
        (
            "Because all versions of promise have no usable wheels and graphene-django==3.0.0 "
            "depends on promise>=2.1, we can conclude that graphene-django==3.0.0 cannot be used.",
            ("graphene-django==3.0.0",),
            {"promise": ">=2.1"},
        ),
        (NOT_FOUND, ("grader-no-such-pkg==1.0",), {}),
    ],
)
def test_packages_without_wheels_are_named_with_the_versions_wanted(
    message: str, items: tuple[str, ...], wanted: dict[str, str]
) -> None:
    found = lacking_wheels(message, items)
    assert {name: str(spec) for name, spec in found.items()} == wanted


class _Builds:
    """Stands for SourceBuilds: refuses the large ones, builds the rest."""

    def __init__(self, refuse: set[str]) -> None:
        self.refuse = refuse
        self.asked: list[str] = []

    def kept(self, *_: object) -> None:
        return None

    def wheel_for(self, name: str, *_: object) -> Path:
        self.asked.append(name)
        if name in self.refuse:
            raise SourceRefusedError("its source distribution is larger than 32 MB")
        return Path(f"/wheels/{name}/{name}-1.0-py3-none-any.whl")


def test_refused_source_builds_leave_the_build_budget_to_the_ones_that_can_build() -> None:
    # Five compiled giants refused before any build ran, then a pure-Python package: it is
    # still built, as refusals cost no build time.
    names = [f"giant{n}" for n in range(9)] + ["small"]
    problem = " ".join(
        f"Because all versions of {name} have no usable wheels and app==1 depends on "
        f"{name}>=1, we can conclude that app==1 cannot be used."
        for name in names
    )
    builds = _Builds(refuse={n for n in names if n.startswith("giant")})
    plan, progress = cache_module._build_from_source(
        problem,
        Plan(items=("app==1",), runner=()),
        python=interpreters.host(),
        env={},
        source_builds=builds,  # type: ignore[arg-type]
        built={},
        refused=set(),
    )
    assert builds.asked == names
    assert progress
    assert any("installed small-1.0-py3-none-any.whl" in change for change in plan.changes)


def test_a_range_without_wheels_names_its_distribution_not_its_last_bound() -> None:
    problem = (
        "No solution found when resolving dependencies: Because typed-ast>=1.4.0,<=1.4.3 has "
        "no usable wheels and only the following versions of typed-ast are available: "
        "typed-ast<=1.4.3 typed-ast>=1.5.0 we can conclude that typed-ast>=1.4.0,<1.5.0 "
        "cannot be used. And because mypy==0.782 depends on typed-ast>=1.4.0,<1.5.0, we can "
        "conclude that your requirements are unsatisfiable."
    )
    assert lacking_wheels(problem, ("mypy==0.782",)) == {
        "typed-ast": SpecifierSet(">=1.4.0,<=1.4.3") & SpecifierSet(">=1.4.0,<1.5.0")
    }
