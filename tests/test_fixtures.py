"""Tests generated from every fixture folder.

For each case (before.py linted with the case's modules/, if any): reglint's findings on
before.py are the recorded ones; its fix produces after.py byte for byte and changes no
module; after.py is clean and fixing it again changes nothing; and, under TensorFlow
(marked `tf`), both programs run and show numerically what the fix changes."""

from __future__ import annotations

import pytest

from reglint.config import Settings
from reglint.rule import rules_by_code
from reglint.runner import run
from tests.fixture_harness import FixtureCase, check_expectations, fixture_cases, run_program

CASES = fixture_cases()


def _run(case: FixtureCase, data: bytes, *, fix: bool) -> object:
    rules = [rules_by_code()[c] for c in case.expect["select"]]
    return run(
        case.items(data),
        Settings(select=("ALL",)),
        fix=fix,
        unsafe_fixes=case.expect.get("unsafe_fixes", False),
        rules=rules,
    )


def _shown(result: object) -> list[str]:
    return [
        f"{f.range.start.line}:{f.range.start.column + 1} {f.code}"
        for f in result.findings  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_findings_match(case: FixtureCase) -> None:
    result = _run(case, case.source("before"), fix=False)
    assert _shown(result) == case.expect["findings"]
    assert not result.internal_errors  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fix_produces_after_exactly(case: FixtureCase) -> None:
    result = _run(case, case.source("before"), fix=True)
    assert not result.internal_errors  # type: ignore[attr-defined]
    change = result.changes.get("before.py")  # type: ignore[attr-defined]
    assert change is not None, "the fix changed nothing"
    assert set(result.changes) == {"before.py"}, "the fix changed the case's modules"  # type: ignore[attr-defined]
    assert change.fixed == case.source("after")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_after_is_clean_and_fix_is_idempotent(case: FixtureCase) -> None:
    after = case.source("after")
    result = _run(case, after, fix=True)
    remaining = [f for f in result.findings if f.code == case.rule_code]  # type: ignore[attr-defined]
    assert remaining == []
    assert result.changes == {}  # type: ignore[attr-defined]


@pytest.mark.tf
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@pytest.mark.parametrize("which", ["before", "after"])
def test_program_shows_what_the_fix_changes(case: FixtureCase, which: str) -> None:
    paths = (case.modules_dir,) if case.modules_dir is not None else ()
    code, values, stderr = run_program(case.folder / f"{which}.py", paths=paths)
    check_expectations(which, case.expect["tf"][which], code, values, stderr)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_prefilter_keeps_fixtures(case: FixtureCase) -> None:
    """The prefilter, with what project rules ask for after it, analyses every fixture."""
    from reglint.runner import analyse_project

    rules = [rules_by_code()[c] for c in case.expect["select"]]
    results = analyse_project(case.items(case.source("before")), rules)
    assert not results["before.py"].skipped
