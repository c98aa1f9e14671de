"""Every rule is complete: registered once, documented, exemplified, and proven by fixtures."""

from __future__ import annotations

import re

import libcst as cst
import pytest

from reglint.rule import DOC_SECTIONS, Rule, all_rules, is_kebab
from tests.helpers import ROOT

RULES = all_rules()
IDS = [rule.code for rule in RULES]


def test_codes_and_names_are_unique() -> None:
    codes = [r.code for r in RULES]
    names = [r.name for r in RULES]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_rule_is_complete(rule: type[Rule]) -> None:
    assert re.fullmatch(r"REG\d{3}", rule.code)
    assert is_kebab(rule.name), rule.name
    assert rule.TOKENS and all(
        (isinstance(t, bytes) and t) or (isinstance(t, tuple) and t and all(isinstance(b, bytes) and b for b in t))
        for t in rule.TOKENS
    )
    assert rule.VALID, "at least one VALID example"
    assert rule.INVALID, "at least one INVALID example"
    # the module is named after the rule
    assert rule.__module__.rsplit(".", 1)[1] == f"{rule.code.lower()}_{rule.name.replace('-', '_')}"


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_docs_have_every_section_and_their_code_parses(rule: type[Rule]) -> None:
    doc = rule.documentation()
    for section in (*DOC_SECTIONS, "## References"):
        assert section in doc, f"{rule.code} docs lack {section!r}"
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert len(blocks) >= 2, "an Example and a Use instead block"
    for block in blocks:
        cst.parse_module(block)
    assert rule.summary().endswith(".")


@pytest.mark.parametrize("rule", [r for r in RULES if r.fix_safety is not None], ids=lambda r: r.code)
def test_every_fix_has_examples_and_a_fixture(rule: type[Rule]) -> None:
    assert any(example.fixed is not None for example in rule.INVALID), "an INVALID example with its fix"
    folder = ROOT / "fixtures" / f"{rule.code}-{rule.name}"
    cases = [p for p in folder.glob("*/expect.json")]
    assert cases, f"no fixture case under {folder.relative_to(ROOT)}"


def test_rules_page_is_generated_from_the_docstrings() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_rules_doc.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
