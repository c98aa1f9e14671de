"""Output formats: SARIF that validates and whose fixes are the real fixes, GitHub workflow
commands escaped as the runner needs, `full` with source and fix, statistics, and colour only
on a terminal without NO_COLOR."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reglint.config import Settings
from reglint.fixer import apply_fixes
from reglint.model import Edit, Finding, Fix, ParseError, Position, Range, Safety
from reglint.output import FORMATTERS, View
from reglint.output.github import escape_data, escape_property
from reglint.output.sarif import uri
from reglint.rule import all_rules, rules_by_code
from reglint.runner import RunResult, run
from reglint.sources import line_starts
from tests.clitools import run_cli
from tests.fixture_harness import fixture_cases
from tests.helpers import ROOT

SCHEMA_PATH = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
if not SCHEMA_PATH.exists():  # a worktree: shared/ sits beside the main checkout
    SCHEMA_PATH = Path("/work/shared/schemas/sarif-schema-2.1.0.json")
CASES = fixture_cases()
NOTEBOOK = "fixtures/_notebooks/regularization.ipynb"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    if not SCHEMA_PATH.exists():
        pytest.skip("the SARIF schema (shared/schemas) is not beside this checkout")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def _run(paths: list[str], rules: list[Any] | None = None) -> tuple[RunResult, View]:
    items = [(p, (ROOT / p).read_bytes()) for p in paths]
    result = run(items, Settings(select=("ALL",)), rules=rules)
    view = View(sources=dict(items), rules=tuple(rules or all_rules()))
    return result, view


def _offset(text: str, line: int, column: int) -> int:
    starts = line_starts(text)
    if line - 1 >= len(starts):
        return len(text)
    return min(starts[line - 1] + column - 1, len(text))


def _apply_replacements(text: str, replacements: list[dict[str, Any]]) -> str:
    spans = []
    for r in replacements:
        region = r["deletedRegion"]
        start = _offset(text, region["startLine"], region["startColumn"])
        end = _offset(text, region["endLine"], region["endColumn"])
        spans.append((start, end, r.get("insertedContent", {}).get("text", "")))
    for start, end, content in sorted(spans, reverse=True):
        text = text[:start] + content + text[end:]
    return text


# --------------------------------------------------------------------------------------
# SARIF


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_sarif_of_each_fixture_validates_and_carries_its_fix(
    case: Any, validator: jsonschema.Draft7Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    path = (case.folder / "before.py").relative_to(ROOT).as_posix()
    modules = [p.relative_to(ROOT).as_posix() for p in sorted((case.folder / "modules").rglob("*.py"))]
    rules = [rules_by_code()[c] for c in case.expect["select"]]
    result, view = _run([path, *modules], rules)  # before.py judged with the modules it imports
    log = json.loads(FORMATTERS["sarif"](result, view))
    validator.validate(log)
    [sarif_run] = log["runs"]
    driver = sarif_run["tool"]["driver"]
    assert [r["id"] for r in driver["rules"]] == case.expect["select"]
    shown = [
        f"{r['locations'][0]['physicalLocation']['region']['startLine']}:"
        f"{r['locations'][0]['physicalLocation']['region']['startColumn']} {r['ruleId']}"
        for r in sarif_run["results"]
    ]
    assert shown == case.expect["findings"]
    text = (ROOT / path).read_text(encoding="utf-8")
    for sarif_result, finding in zip(sarif_run["results"], result.findings, strict=True):
        assert sarif_result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == path
        assert driver["rules"][sarif_result["ruleIndex"]]["id"] == finding.code
        if finding.fix is None:
            assert "fixes" not in sarif_result
            continue
        if "fixes" not in sarif_result:  # only a fix that cannot apply on its own, or changes nothing
            try:
                assert apply_fixes(text, [finding]).text == text
            except AssertionError:
                raise
            except Exception:
                pass
            continue
        [change] = sarif_result["fixes"][0]["artifactChanges"]
        assert change["artifactLocation"]["uri"] == path
        # the replacements make exactly the text reglint's own fix makes
        assert _apply_replacements(text, change["replacements"]) == apply_fixes(text, [finding]).text


def test_sarif_describes_every_enabled_rule(validator: jsonschema.Draft7Validator) -> None:
    result, view = _run([c.folder.relative_to(ROOT).as_posix() + "/before.py" for c in CASES])
    log = json.loads(FORMATTERS["sarif"](result, view))
    validator.validate(log)
    descriptors = log["runs"][0]["tool"]["driver"]["rules"]
    assert [d["id"] for d in descriptors] == [r.code for r in all_rules()]
    for descriptor, rule in zip(descriptors, all_rules(), strict=True):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary()
        assert descriptor["help"]["text"] == rule.documentation()
        assert descriptor["fullDescription"]["text"].split()[0] in rule.documentation()
        assert descriptor["defaultConfiguration"]["level"] in ("error", "warning", "note")


def test_sarif_for_a_notebook_points_into_the_ipynb(
    validator: jsonschema.Draft7Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    result, view = _run([NOTEBOOK])
    log = json.loads(FORMATTERS["sarif"](result, view))
    validator.validate(log)
    [sarif_result] = log["runs"][0]["results"]
    assert sarif_result["properties"] == {"cell": 3, "cellLine": 6, "cellColumn": 29}
    location = sarif_result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == NOTEBOOK
    raw = (ROOT / NOTEBOOK).read_text(encoding="utf-8")
    region = location["region"]
    line = raw.splitlines()[region["startLine"] - 1]
    assert line[region["startColumn"] - 1 : region["endColumn"] - 1] == "tf.GraphKeys.REGULARIZATOIN_LOSSES"
    [change] = sarif_result["fixes"][0]["artifactChanges"]
    fixed = _apply_replacements(raw, change["replacements"])
    assert fixed == raw.replace("REGULARIZATOIN_LOSSES)\\n", "REGULARIZATION_LOSSES)\\n", 1)


def test_sarif_reports_unparsable_and_unreadable_files_as_notifications(
    validator: jsonschema.Draft7Validator,
) -> None:
    result = RunResult(
        parse_errors=[ParseError("pkg/bad file.py", 3, 4, "SyntaxError: x")],
        read_errors=[("pkg/gone.py", "file disappeared before it could be read")],
    )
    log = json.loads(FORMATTERS["sarif"](result, View()))
    validator.validate(log)
    [invocation] = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True
    notes = invocation["toolExecutionNotifications"]
    assert notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/bad%20file.py"
    assert notes[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert notes[1]["message"]["text"] == "file disappeared before it could be read"
    assert log["runs"][0]["results"] == []


def test_sarif_uris_are_relative_with_forward_slashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert uri("./src/model.py") == "src/model.py"
    assert uri(str(tmp_path / "src" / "m.py")) == "src/m.py"
    assert uri("src/my model#1.py") == "src/my%20model%231.py"


# --------------------------------------------------------------------------------------
# GitHub workflow commands


def test_github_escaping() -> None:
    assert escape_data("100% sure\r\nnext: a, b") == "100%25 sure%0D%0Anext: a, b"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"


def test_github_annotation_line() -> None:
    span = Range(Position(3, 4), Position(3, 10))
    finding = Finding("REG004", "misspelled-collection-key", "50% off,\nreally: yes", "dir/a,b:c.py", span)
    out = FORMATTERS["github"](RunResult(findings=[finding]), View())
    assert out == (
        "::error file=dir/a%2Cb%3Ac.py,line=3,col=5,endLine=3,endColumn=11,"
        "title=REG004 (misspelled-collection-key)::REG004 50%25 off,%0Areally: yes\n"
    )


def test_github_for_fixtures_and_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    path = "fixtures/REG010-keras2-regularizer-keyword/keras3-dense/before.py"
    result, view = _run([path, NOTEBOOK])
    lines = FORMATTERS["github"](result, view).splitlines()
    assert lines[0].startswith(f"::warning file={path},line=8,col=76,endLine=8,endColumn=82,title=REG010 (")
    assert lines[1].startswith(f"::error file={NOTEBOOK},line=")
    assert "::cell 3:6:29: REG004 " in lines[1]
    assert len(lines) == 2  # nothing but annotations


# --------------------------------------------------------------------------------------
# full and concise text


def test_full_shows_source_caret_and_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    path = "fixtures/REG010-keras2-regularizer-keyword/keras3-dense/before.py"
    result, view = _run([path])
    out = FORMATTERS["full"](result, view)
    line = "dense = layers.Dense(2, use_bias=False, kernel_regularizer=regularizers.l2(l=0.01))"
    assert out.splitlines()[:11] == [
        f"{path}:8:76: REG010 [*] Keras 3 (TensorFlow >= 2.16) rejects `l=` with a TypeError",
        "  |",
        f"8 | {line}",
        "  | " + " " * 75 + "^^^^^^ REG010",
        "  |",
        "  help: use `l2=`",
        "  = https://github.com/reglint/reglint/blob/main/rules/REG010.md",
        "  = fix (safe):",
        f"    - {line}",
        "    + " + line.replace("l2(l=", "l2(l2="),
        "",
    ]
    assert out.endswith("Found 1 problem (1 fixable).\n[*] 1 fixable with the `--fix` option.\n")


def test_full_underlines_every_line_of_a_long_range(tmp_path: Path) -> None:
    text = "x = f(\n    a,\n    b,\n)\n"
    span = Range(Position(1, 4), Position(4, 1))
    finding = Finding("REG999", "demo", "message", "m.py", span)
    out = FORMATTERS["full"](RunResult(findings=[finding]), View(quiet=True, sources={"m.py": text.encode()}))
    assert out.splitlines() == [
        "m.py:1:5: REG999 message",
        "  |",
        "1 | x = f(",
        "  |     ^^",
        "2 |     a,",
        "  |     ^^",
        "3 |     b,",
        "  |     ^^",
        "4 | )",
        "  | ^ REG999",
        "  |",
        "  = https://github.com/reglint/reglint/blob/main/rules/REG999.md",
    ]


def test_a_notebook_finding_cites_cells_and_help_is_separate(tmp_path: Path) -> None:
    """The lines a message cites in a notebook are `cell N:line`; the short message is the
    concise line, the advice is `help` in JSON."""

    def code(*lines: str) -> dict[str, Any]:
        return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": list(lines)}

    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# a model\n"]},
        code(
            "import tensorflow.compat.v1 as tf\n",
            "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.1))",
        ),
        code("loss = tf.reduce_mean(h)\n", "train_op = tf.train.AdamOptimizer().minimize(loss)"),
    ]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "nb.ipynb").write_text(json.dumps(notebook))
    out = run_cli("check", "--no-cache", "--output-format", "json", "nb.ipynb", cwd=tmp_path)
    [item] = json.loads(out.stdout)
    assert item["code"] == "REG001" and item["cell"] == 3
    assert "declared at nb.ipynb:cell 2:2" in item["message"], item["message"]
    assert item["help"].endswith("add `tf.losses.get_regularization_loss()` to it")
    assert item["url"].endswith("/rules/REG001.md")


def test_concise_is_the_default_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result, view = _run([c.folder.relative_to(ROOT).as_posix() + "/before.py" for c in CASES] + [NOTEBOOK])
    assert FORMATTERS["concise"](result, view) == FORMATTERS["text"](result, view)


# --------------------------------------------------------------------------------------
# the command line: statistics, colour


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full_env.update(PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "reglint", *args], cwd=ROOT, capture_output=True, env=full_env, timeout=300
    )


FIXTURES = [
    "fixtures/REG004-misspelled-collection-key/seed002-graphkeys-typo/before.py",
    "fixtures/REG010-keras2-regularizer-keyword/keras3-dense/before.py",
]


def test_statistics_counts_per_rule() -> None:
    done = _cli("check", "--no-cache", "--statistics", "--select", "REG004,REG010", *FIXTURES, NOTEBOOK)
    out = done.stdout.decode().splitlines()
    assert "    2\tREG004\t[*]\tmisspelled-collection-key" in out
    assert "    1\tREG010\t[*]\tkeras2-regularizer-keyword" in out
    assert not any(": REG0" in line for line in out)  # the table alone, no line per finding
    done = _cli("check", "--no-cache", "--statistics", "--output-format", "json", *FIXTURES, NOTEBOOK)
    stats = json.loads(done.stdout)
    assert {"code": "REG004", "name": "misspelled-collection-key", "count": 2, "fixable": True} in stats


def test_machine_formats_are_pure(tmp_path: Path) -> None:
    for fmt in ("json", "sarif"):
        done = _cli("check", "--no-cache", "--color", "--output-format", fmt, *FIXTURES)
        json.loads(done.stdout)  # nothing but the document, even with --color
        assert b"\x1b[" not in done.stdout


def _on_a_terminal(*args: str, env: dict[str, str]) -> bytes:
    """Run the CLI with stdout on a pseudo-terminal; return what it printed."""
    primary, secondary = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full_env.update(PYTHONPATH=str(ROOT), **env)
    process = subprocess.Popen(
        [sys.executable, "-m", "reglint", *args], cwd=ROOT, stdout=secondary, stderr=subprocess.PIPE, env=full_env
    )
    os.close(secondary)
    chunks = []
    while True:
        ready, _, _ = select.select([primary], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(primary)
    return b"".join(chunks)


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    args = ("check", "--no-cache", FIXTURES[0])
    assert b"\x1b[" in _on_a_terminal(*args, env={})
    assert b"\x1b[" not in _on_a_terminal(*args, env={"NO_COLOR": "1"})
    assert b"\x1b[" not in _on_a_terminal(*args, "--no-color", env={})
    assert b"\x1b[" not in _cli(*args).stdout  # a pipe
    assert b"\x1b[" in _cli(*args, "--color").stdout  # asked for explicitly
    assert b"\x1b[" in _on_a_terminal(*args, "--output-format", "full", env={})
    assert b"\x1b[" not in _on_a_terminal(*args, "--output-format", "github", env={})


def test_sarif_fix_with_imports_is_the_applied_fix(validator: jsonschema.Draft7Validator) -> None:
    """A fix that needs an import: its replacement is computed by applying it and diffing."""
    text = "import os\n\nx = zeros(3)\n"
    at = Range(Position(3, 4), Position(3, 9))
    finding = Finding(
        "REG010",
        "keras2-regularizer-keyword",
        "message",
        "m.py",
        at,
        Fix((Edit(at, "np.zeros"),), Safety.SAFE, (("numpy", None, "np"),)),
    )
    view = View(sources={"m.py": text.encode()})
    log = json.loads(FORMATTERS["sarif"](RunResult(findings=[finding]), view))
    validator.validate(log)
    [change] = log["runs"][0]["results"][0]["fixes"][0]["artifactChanges"]
    fixed = _apply_replacements(text, change["replacements"])
    assert fixed == apply_fixes(text, [finding]).text == "import os\nimport numpy as np\n\nx = np.zeros(3)\n"


def test_one_cause_one_finding_and_the_fix_counts_add_up(tmp_path: Path) -> None:
    """A misspelled GraphKeys key is REG004's finding alone (not also REG001's "nothing reads
    the collection"), and its fix is the only one: no `loss = loss` left behind."""
    source = (
        "import tensorflow.compat.v1 as tf\n\n"
        "x = tf.placeholder(tf.float32, [None, 4])\n"
        "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.01))\n"
        "loss = tf.reduce_mean(tf.square(h))\n"
        "loss = loss + tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATOIN_LOSSES))\n"
        "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
    )
    (tmp_path / "train.py").write_text(source)
    found = run_cli("check", "--no-cache", "--unsafe-fixes", "--output-format", "concise", ".", cwd=tmp_path)
    assert [line.split()[1] for line in found.stdout.splitlines() if ": REG" in line] == ["REG004"]
    fixed = run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert fixed.code == 0 and "Found 1 error (1 fixed, 0 remaining)." in fixed.stdout
    assert (tmp_path / "train.py").read_text() == source.replace("REGULARIZATOIN", "REGULARIZATION")
