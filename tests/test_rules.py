"""Tests generated from every rule's VALID and INVALID examples."""

from __future__ import annotations

import pytest

from reglint.rule import Invalid, Rule, Valid, all_rules, rules_by_code
from tests.helpers import lint


def _files(example: Valid | Invalid) -> dict[str, str]:
    return dict(example.files) if example.files else {"example.py": example.code}


def _cases(kind: type) -> list[object]:
    cases = []
    for rule in all_rules():
        examples = rule.VALID if kind is Valid else rule.INVALID
        for index, example in enumerate(examples):
            cases.append(pytest.param(rule, example, id=f"{rule.code}-{rule.name}-{index}"))
    return cases


def _rules(rule: type[Rule], example: Valid | Invalid) -> list[type[Rule]]:
    extra = [rules_by_code()[c] for c in getattr(example, "select", ())]
    return [rule, *extra]


@pytest.mark.parametrize(("rule", "example"), _cases(Valid))
def test_valid_stays_silent(rule: type[Rule], example: Valid) -> None:
    result = lint(_files(example), _rules(rule, example), target=example.target)
    assert [f for f in result.findings if f.code == rule.code] == []
    assert not result.internal_errors
    assert not result.parse_errors


@pytest.mark.parametrize(("rule", "example"), _cases(Invalid))
def test_invalid_is_flagged_and_fixed(rule: type[Rule], example: Invalid) -> None:
    files = _files(example)
    result = lint(files, _rules(rule, example), target=example.target)
    mine = [f for f in result.findings if f.code == rule.code]
    assert len(mine) == example.expected, [f.message for f in mine]
    assert not result.internal_errors
    if example.message is not None:
        assert example.message in mine[0].message
    if example.fixed is None:
        return
    assert any(f.fix is not None for f in mine), "the example expects a fix"
    fixed = lint(files, _rules(rule, example), fix=True, unsafe=True, target=example.target)
    assert not fixed.internal_errors
    change = fixed.changes[example.path]
    assert change.fixed.decode("utf-8") == example.fixed
    # the fixed code is clean for this rule, and fixing it again changes nothing
    after = {**files, example.path: example.fixed}
    again = lint(after, _rules(rule, example), fix=True, unsafe=True, target=example.target)
    assert [f for f in again.findings if f.code == rule.code] == []
    assert again.changes == {}


@pytest.mark.parametrize("every_rule", [False, True], ids=["alone", "with-every-rule"])
@pytest.mark.parametrize(("rule", "example"), _cases(Invalid) + _cases(Valid))
def test_prefilter_never_skips_what_matters(rule: type[Rule], example: Valid | Invalid, every_rule: bool) -> None:
    """The byte prefilter may only skip files that cannot produce a finding, or a fact that the
    project judgement needs (a rule asks for conditional facts through wanted_tokens). With
    every rule enabled too, as users run it: another rule's tokens may let a file in that this
    rule's do not (YunYang1994's YOLOv3 layers module: REG008 analysed it, REG001 never did)."""
    files = _files(example)
    rules = _rules(rule, example)
    if every_rule:
        rules = [*rules, *(r for r in all_rules() if r.default_enabled and r not in rules)]
    with_filter = lint(files, rules, prefilter=True, target=example.target)
    without = lint(files, rules, prefilter=False, target=example.target)
    assert with_filter.findings == without.findings
    facts_on = [f for r in _file_results(files, rules, True) for f in r.facts]
    facts_off = [f for r in _file_results(files, rules, False) for f in r.facts]
    assert all(fact in facts_off for fact in facts_on)


def _file_results(files: dict[str, str], rules: list[type[Rule]], prefilter: bool) -> list[object]:
    from reglint.runner import analyse_project

    items = [(p, t.encode()) for p, t in files.items()]
    return list(analyse_project(items, rules, prefilter=prefilter).values())
