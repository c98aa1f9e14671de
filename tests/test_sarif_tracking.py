"""SARIF that GitHub code scanning can track: URIs from the repository's root whatever the
working directory, fingerprints that survive line shifts, a level per rule, rule pages, and
the other file of a cross-file finding as a related location. Validated against the OASIS
schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.clitools import MODEL, TRAIN, run_cli, write_tree
from tests.test_output import SCHEMA_PATH

CONTRIB = "import tensorflow as tf\n" + "r = tf.contrib.layers.l2_regularizer(0.1)\n" * 2


def sarif(cwd: Path, *paths: str) -> dict[str, Any]:
    out = run_cli("check", "--no-cache", "-j", "1", "--output-format", "sarif", *paths, cwd=cwd)
    assert out.code in (0, 1), out.out
    log = json.loads(out.stdout)
    if SCHEMA_PATH.exists():
        jsonschema.Draft7Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).validate(log)
    return log


def _repo(tmp_path: Path) -> Path:
    write_tree(tmp_path, {".git/HEAD": "ref: refs/heads/main\n", "src/model.py": MODEL, "src/train.py": TRAIN})
    return tmp_path


def test_uris_start_at_the_repository_root_from_any_folder(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "docs").mkdir()
    for cwd, path in ((root, "src"), (root / "src", "."), (root / "docs", "../src/train.py")):
        run = sarif(cwd, path)["runs"][0]
        assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == root.resolve().as_uri() + "/"
        [result] = [r for r in run["results"] if r["ruleId"] == "REG001"]
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location == {"uri": "src/train.py", "uriBaseId": "%SRCROOT%"}, cwd


def test_a_cross_file_finding_names_the_other_file(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    [result] = sarif(root, "src")["runs"][0]["results"]
    [related] = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "src/model.py"
    assert related["physicalLocation"]["region"]["startLine"] == 4


def test_fingerprints_survive_line_shifts_and_tell_twins_apart(tmp_path: Path) -> None:
    write_tree(tmp_path, {".git/HEAD": "x\n", "m.py": CONTRIB})
    before = [r["partialFingerprints"] for r in sarif(tmp_path, ".")["runs"][0]["results"]]
    (tmp_path / "m.py").write_text("# a comment\n\n" + CONTRIB)
    after = [r["partialFingerprints"] for r in sarif(tmp_path, ".")["runs"][0]["results"]]
    assert before == after and len(before) == 2
    assert before[0] != before[1]  # the same line text twice: told apart by occurrence
    # the URI in the fingerprint is the one SARIF shows, from the repository's root: the
    # same run from a subfolder gives the same fingerprints
    (tmp_path / "src").mkdir()
    (tmp_path / "m.py").rename(tmp_path / "src" / "m.py")
    from_root = [r["partialFingerprints"] for r in sarif(tmp_path, "src")["runs"][0]["results"]]
    from_inside = [r["partialFingerprints"] for r in sarif(tmp_path / "src", ".")["runs"][0]["results"]]
    assert from_root == from_inside and len(from_root) == 2


@pytest.mark.parametrize(("code", "level"), [("REG001", "error"), ("REG005", "warning"), ("REG011", "note")])
def test_each_rule_has_its_level_and_page(tmp_path: Path, code: str, level: str) -> None:
    write_tree(tmp_path, {"m.py": "x = 1\n"})
    out = run_cli("check", "--no-cache", "--select", code, "--output-format", "sarif", ".", cwd=tmp_path)
    driver = json.loads(out.stdout)["runs"][0]["tool"]["driver"]
    [rule] = driver["rules"]
    assert driver["informationUri"].startswith("https://")
    assert rule["defaultConfiguration"]["level"] == level
    assert rule["helpUri"].endswith(f"/rules/{code}.md")
    assert rule["properties"]["problem.severity"] in ("error", "warning", "recommendation")
