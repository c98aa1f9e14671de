"""The project-wide phase: the facts of every analysed file go to the rules that override
`check_project`, which judge across files."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reglint.model import Fact, FileResult, Finding, InternalError
from reglint.rule import Rule


@dataclass
class ProjectFacts:
    """Facts of every analysed file, for rules that judge across files."""

    facts: list[Fact]

    def of(self, rule: str, kind: str | None = None) -> list[Fact]:
        return [f for f in self.facts if f.rule == rule and (kind is None or f.kind == kind)]

    def by_kind(self, rule: str) -> dict[str, list[Fact]]:
        grouped: dict[str, list[Fact]] = defaultdict(list)
        for fact in self.facts:
            if fact.rule == rule:
                grouped[fact.kind].append(fact)
        return grouped


def judge_project(
    results: Iterable[FileResult], rule_types: Sequence[type[Rule]]
) -> tuple[list[Finding], list[InternalError]]:
    facts = [fact for result in results for fact in result.facts]
    project = ProjectFacts(facts)
    findings: list[Finding] = []
    errors: list[InternalError] = []
    for rule_type in rule_types:
        if rule_type.check_project.__func__ is Rule.check_project.__func__:  # type: ignore[attr-defined]
            continue
        try:
            findings.extend(rule_type.check_project(project))
        except Exception as error:
            errors.append(InternalError("<project>", rule_type.code, f"{type(error).__name__}: {error}"))
    return findings, errors
