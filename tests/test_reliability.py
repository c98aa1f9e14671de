"""Regressions of the hostile review (the reliability issue): each test is one defect that lost a
user's bytes, wrote a wrong fix or stopped the run, reproduced and held."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest

from reglint.config import Settings
from reglint.fixer import split_lines
from reglint.notebook import MARKER_PREFIX
from reglint.rule import Invalid, Rule, all_rules, rules_by_code
from reglint.runner import run
from reglint.writer import WriteError, write_atomic
from tests.clitools import KERAS2, KERAS2_FIXED, run_cli, write_tree
from tests.fixture_harness import FixtureCase, fixture_cases
from tests.helpers import lint

ARGS = ("--no-cache", "-j", "1")


def check(tmp_path: Path, *args: str, input: bytes | None = None):  # type: ignore[no-untyped-def]
    return run_cli("check", *ARGS, *args, cwd=tmp_path, input=input)


# ------------------------------------------------------------------------------------------
# data loss


@pytest.mark.parametrize(
    ("config", "name"),
    [
        ("", "build/a.py"),
        ("", ".venv/lib/a.py"),
        ('[tool.reglint]\nextend-exclude = ["vendored"]\n', "vendored/a.py"),
    ],
)
def test_fix_of_an_excluded_stdin_filename_echoes_the_input(tmp_path: Path, config: str, name: str) -> None:
    """An editor replaces its buffer with what `--fix -` prints: an excluded name must not
    empty it. Excludes apply to a named path only with --force-exclude (Ruff's rule, which
    editor integrations pass); without it the buffer is checked and fixed like any file."""
    if config:
        write_tree(tmp_path, {"pyproject.toml": config})
    out = check(tmp_path, "--fix", "--force-exclude", "--stdin-filename", name, "-", input=KERAS2.encode())
    assert out.stdout_bytes == KERAS2.encode()
    assert out.code == 0
    assert "excluded" in out.stderr
    named = check(tmp_path, "--fix", "--stdin-filename", name, "-", input=KERAS2.encode())
    assert named.stdout_bytes == KERAS2_FIXED.encode()


# ------------------------------------------------------------------------------------------
# a fix changes the bytes of its edits and nothing else


def _roughen(text: str) -> str:
    """Bytes libcst does not give back: a form feed before each top-level `def` / `class`
    (pagination, as in CPython's sources), and `except E :` at the end."""
    out = "".join("\f" + line if line.startswith(("def ", "class ")) else line for line in split_lines(text))
    return out + ("" if out.endswith("\n") or not out else "\n") + "try:\n    pass\nexcept Exception :\n    pass\n"


def _fixed_examples() -> list[object]:
    cases = []
    for rule in all_rules():
        for index, example in enumerate(rule.INVALID):
            if example.fixed is not None and not example.files:
                cases.append(pytest.param(rule, example, id=f"{rule.code}-{index}"))
    return cases


@pytest.mark.parametrize(("rule", "example"), _fixed_examples())
def test_rule_example_fix_keeps_every_other_byte(rule: type[Rule], example: Invalid) -> None:
    source, expected = _roughen(example.code), _roughen(example.fixed or "")
    fixed = lint({"example.py": source}, [rule], fix=True, unsafe=True)
    assert not fixed.internal_errors
    assert fixed.changes["example.py"].fixed.decode("utf-8") == expected


FIXTURES = fixture_cases()


@pytest.mark.parametrize("case", FIXTURES, ids=[c.id for c in FIXTURES])
def test_fixture_fix_keeps_every_other_byte(case: FixtureCase) -> None:
    before = _roughen(case.source("before").decode("utf-8")).encode("utf-8")
    result = run(
        case.items(before),
        Settings(select=("ALL",)),
        fix=True,
        unsafe_fixes=case.expect.get("unsafe_fixes", False),
        rules=[rules_by_code()[c] for c in case.expect["select"]],
    )
    assert not result.internal_errors
    after = _roughen(case.source("after").decode("utf-8")).encode("utf-8")
    assert result.changes["before.py"].fixed == after


def test_diff_shows_the_file_as_it_is(tmp_path: Path) -> None:
    """`--diff` compares the file's own bytes with the fixed ones: nothing but the edit."""
    write_tree(tmp_path, {"m.py": _roughen(KERAS2)})
    out = check(tmp_path, "--diff", "m.py")
    changed = [line for line in out.stdout.splitlines() if line.startswith(("+", "-")) and line[1:2] not in "+-"]
    assert len(changed) == 2, out.stdout


# ------------------------------------------------------------------------------------------
# notebooks: a fix stays in its cell


def _one_cell_per_statement(code: str) -> bytes:
    import ast

    lines = split_lines(code)
    tree = ast.parse(code)
    bounds = [node.lineno - 1 for node in tree.body] + [len(lines)]
    bounds[0] = 0
    cells = [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": lines[a:b]}
        for a, b in itertools.pairwise(bounds)
        if a < b
    ]
    notebook = {"cells": cells, "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook).encode("utf-8")


@pytest.mark.parametrize(("rule", "example"), _fixed_examples())
def test_notebook_fix_never_leaks_a_cell_marker(rule: type[Rule], example: Invalid) -> None:
    """Every fixable example, one cell per top-level statement: a fix either stays inside a
    cell or is not offered, and no cell ever receives the joined text's marker."""
    data = _one_cell_per_statement(example.code)
    result = run([("example.ipynb", data)], Settings(select=("ALL",)), fix=True, unsafe_fixes=True, rules=[rule])
    assert not result.internal_errors
    change = result.changes.get("example.ipynb")
    if change is None:
        return
    cells = json.loads(change.fixed)["cells"]
    assert len(cells) == len(json.loads(data)["cells"])
    assert not any(MARKER_PREFIX in "".join(cell["source"]) for cell in cells)


@pytest.mark.parametrize("rule_code", ["REG006", "REG009"])
def test_notebook_fix_moving_a_statement_across_cells_is_refused(rule_code: str) -> None:
    cells = {
        "REG006": [
            "import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(1, "
            "kernel_regularizer=tf.keras.regularizers.l2(0.01))])\n",
            "reg = tf.add_n(model.losses)\n",
            "with tf.GradientTape() as tape:\n    loss = tf.reduce_mean(model(x)) + reg\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n",
        ],
        "REG009": [
            "import tensorflow.compat.v1 as tf\n",
            "reg = tf.losses.get_regularization_loss()\n",
            "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.1))\n"
            "loss = tf.reduce_mean(h) + reg\ntrain = tf.train.AdamOptimizer().minimize(loss)\n",
        ],
    }[rule_code]
    notebook = {
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": c} for c in cells],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    data = json.dumps(notebook).encode("utf-8")
    rules = [rules_by_code()[rule_code]]
    result = run([("nb.ipynb", data)], Settings(select=("ALL",)), fix=True, unsafe_fixes=True, rules=rules)
    assert [f.code for f in result.findings] == [rule_code]
    assert result.findings[0].fix is None
    assert result.changes == {}


# ------------------------------------------------------------------------------------------
# the cache never hides the project


@pytest.mark.parametrize(
    ("config", "args"),
    [
        ("", ("--cache-dir", ".")),
        ('[tool.reglint]\ncache-dir = "src"\n', ()),
        ('[tool.reglint]\ncache-dir = "../elsewhere"\n', ()),
    ],
)
def test_a_cache_folder_among_the_sources_is_refused(tmp_path: Path, config: str, args: tuple[str, ...]) -> None:
    project = tmp_path / "proj"
    write_tree(project, {"src/a.py": KERAS2, **({"pyproject.toml": config} if config else {})})
    out = run_cli("check", *args, ".", cwd=project)
    assert out.code == 2, out.out
    assert "cache" in out.stderr
    assert not (project / ".gitignore").exists() and not (project / "src" / ".gitignore").exists()
    assert not (tmp_path / "elsewhere").exists()


def test_cache_on_the_command_line_may_be_anywhere_and_hides_nothing(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    write_tree(project, {"src/a.py": KERAS2})
    for _ in range(2):  # the second run reads the cache the first wrote
        out = run_cli("check", "--cache-dir", str(tmp_path / "cache"), ".", cwd=project)
        assert out.code == 1 and "REG010" in out.stdout, out.out
    assert (tmp_path / "cache" / "CACHEDIR.TAG").exists()


def test_only_a_folder_reglint_creates_gets_its_gitignore(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    write_tree(project, {"src/a.py": KERAS2, "cache/notes.txt": "mine\n"})
    out = run_cli("check", "--cache-dir", "cache", "src", cwd=project)
    assert out.code == 1
    assert not (project / "cache" / ".gitignore").exists() and not (project / "cache" / "CACHEDIR.TAG").exists()
    for _ in range(2):  # the second run reads what the first wrote beside the sources
        out = run_cli("check", "--cache-dir", "made", ".", cwd=project)
        assert out.code == 1 and "src/a.py:2:30: REG010" in out.stdout, out.out
    assert (project / "made" / ".gitignore").read_text() == "*\n"
    assert (project / "made" / "CACHEDIR.TAG").exists()


# ------------------------------------------------------------------------------------------
# a cache is data from elsewhere


def _entries(cache: Path) -> list[Path]:
    return [p for p in cache.glob("v*/*/*.json") if p.parent.name != "runs"]


def test_fix_never_applies_a_fix_read_from_the_cache(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": KERAS2})
    cache = tmp_path / "cache"
    assert run_cli("check", "--cache-dir", str(cache), "m.py", cwd=tmp_path).code == 1
    entries = _entries(cache)
    assert entries
    for entry in entries:
        data = json.loads(entry.read_text())
        for finding in data["findings"]:
            if finding[5] is not None:
                finding[5]["edits"][0][1] = "__import__('os').system('echo pwned')"
        entry.write_text(json.dumps(data))
    out = run_cli("check", "--cache-dir", str(cache), "--fix", "m.py", cwd=tmp_path)
    fixed = (tmp_path / "m.py").read_text()
    assert "pwned" not in fixed and "l2=" in fixed, (fixed, out.out)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: {**data, "suppressions": [1, 2]},
        lambda data: {**data, "findings": [[*f[:4], [["1", "0"], ["1", "5"]], f[5]] for f in data["findings"]]},
        lambda data: {**data, "rules": "REG010"},
        lambda data: [data],
        lambda data: "[" * 100_000 + "]" * 100_000,
    ],
    ids=["suppressions-list", "string-positions", "rules-string", "list", "deep"],
)
def test_a_cache_entry_of_the_wrong_shape_is_a_miss(tmp_path: Path, corrupt: Any) -> None:
    write_tree(tmp_path, {"m.py": KERAS2})
    cache = tmp_path / "cache"
    fresh = run_cli("check", "--cache-dir", str(cache), "m.py", cwd=tmp_path)
    for entry in _entries(cache):
        bad = corrupt(json.loads(entry.read_text()))
        entry.write_text(bad if isinstance(bad, str) else json.dumps(bad))
    for runs in cache.glob("v*/runs/*.json"):
        runs.unlink()
    out = run_cli("check", "--cache-dir", str(cache), "m.py", cwd=tmp_path)
    assert (out.code, out.stdout) == (fresh.code, fresh.stdout), out.out
    assert "Traceback" not in out.stderr


# ------------------------------------------------------------------------------------------
# the write race: an edit saved while --fix writes is never overwritten


def test_an_edit_saved_while_the_fix_is_written_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "m.py"
    target.write_bytes(b"old\n")
    real_fsync = os.fsync

    def editor_saves(fd: int) -> None:  # while the temporary file is synced
        real_fsync(fd)
        target.write_bytes(b"the user's edit\n")

    monkeypatch.setattr(os, "fsync", editor_saves)
    with pytest.raises(WriteError, match="changed on disk"):
        write_atomic(target, b"fixed\n", b"old\n")
    assert target.read_bytes() == b"the user's edit\n"


def test_an_edit_saved_during_the_rename_is_put_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "m.py"
    target.write_bytes(b"old\n")
    real_replace = os.replace
    saved = []

    def editor_saves_then_rename(src: str, dst: object) -> None:
        if not saved:  # in place, into the inode about to be renamed over
            saved.append(True)
            target.write_bytes(b"the user's edit\n")
        real_replace(src, dst)  # type: ignore[arg-type]

    checks = iter([True, True])  # both checks before the rename see the file unchanged
    monkeypatch.setattr("reglint.writer._unchanged", lambda *a: next(checks))
    monkeypatch.setattr(os, "replace", editor_saves_then_rename)
    with pytest.raises(WriteError, match="new content was kept"):
        write_atomic(target, b"fixed\n", b"old\n")
    assert target.read_bytes() == b"the user's edit\n"


def test_a_hard_linked_file_is_not_split(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": KERAS2})
    os.link(tmp_path / "m.py", tmp_path / "other.py")
    out = check(tmp_path, "--fix", "m.py")
    assert out.code == 2 and "hard links" in out.stderr
    assert (tmp_path / "m.py").read_text() == KERAS2 == (tmp_path / "other.py").read_text()
    # what was not written is reported as it is, not counted as fixed
    assert "REG010" in out.stdout and "fixed" not in out.stdout, out.stdout


def test_summary_counts_in_the_right_number(tmp_path: Path) -> None:
    two = KERAS2 + "q = tf.keras.regularizers.l2(l=0.1)\n"
    write_tree(tmp_path, {"m.py": two + 'tf.compat.v1.get_collection("regularization_loss")\n'})
    out = check(tmp_path, "--fix", "m.py")
    assert "Found 3 problems (2 fixed, 1 remaining)." in out.stdout, out.stdout


def test_extended_attributes_are_kept(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": KERAS2})
    try:
        os.setxattr(tmp_path / "m.py", "user.reglint-test", b"kept")
    except (OSError, AttributeError):
        pytest.skip("no user extended attributes here")
    assert check(tmp_path, "--fix", "m.py").code == 0
    assert "l2=" in (tmp_path / "m.py").read_text()
    assert os.getxattr(tmp_path / "m.py", "user.reglint-test") == b"kept"


# ------------------------------------------------------------------------------------------
# wrong fixes


def test_reg001_offers_no_fix_that_a_call_would_repeat() -> None:
    """A function rebinding a global loss formed elsewhere: each call would add the term."""
    code = (
        "import tensorflow.compat.v1 as tf\n"
        "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.1))\n"
        "loss = tf.reduce_mean(h)\n\n"
        "def step():\n    global loss\n    loss += 0.0\n    return tf.train.AdamOptimizer().minimize(loss)\n"
    )
    result = lint({"m.py": code}, [rules_by_code()["REG001"]])
    assert [f.code for f in result.findings] == ["REG001"]
    assert result.findings[0].fix is None


@pytest.mark.parametrize(
    ("code", "rule_code"),
    [
        # REG006: moved into the tape, past `model = ...`, it would read the other model
        (
            "import keras\nimport tensorflow as tf\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n"
            "reg = tf.add_n(model.losses)\n"
            "model = keras.Sequential([keras.layers.Dense(1)])\n"
            "with tf.GradientTape() as tape:\n"
            "    loss = tf.reduce_mean(tf.square(model(x) - y)) + reg\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n",
            "REG006",
        ),
        # REG007: a duplicate mixed into a larger expression
        (
            "import tensorflow.compat.v1 as tf\n"
            "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.01))\n"
            "tf.losses.mean_squared_error(y, h)\n"
            "total_loss = tf.losses.get_total_loss()\n"
            "loss = total_loss + tf.losses.get_regularization_loss() * 2\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            "REG007",
        ),
        # REG007: the compile loss function is also what a GradientTape loop differentiates
        (
            "import keras\nimport tensorflow as tf\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n"
            "def loss_fn(y_true, y_pred):\n"
            "    return tf.reduce_mean(tf.square(y_true - y_pred)) + tf.add_n(model.losses)\n"
            "model.compile(optimizer='sgd', loss=loss_fn)\n"
            "with tf.GradientTape() as tape:\n"
            "    l = loss_fn(y, model(x))\n"
            "g = tape.gradient(l, model.trainable_variables)\n"
            "model.fit(x, y)\n",
            "REG007",
        ),
    ],
    ids=["reg006-rebind", "reg007-scaled", "reg007-shared-loss-fn"],
)
def test_no_fix_where_the_fix_would_change_what_else_is_computed(code: str, rule_code: str) -> None:
    result = lint({"m.py": code}, [rules_by_code()[rule_code]])
    mine = [f for f in result.findings if f.code == rule_code]
    assert mine and all(f.fix is None for f in mine), mine


@pytest.mark.parametrize(
    ("code", "fixed"),
    [
        # keras shadowed by a class attribute, a comprehension variable, a star import: no fix
        ("import tf_slim as slim\nclass Net:\n    keras = 'x'\n    r = slim.l2_regularizer(0.1)\n", None),
        ("import tf_slim as slim\nr = [slim.l2_regularizer(0.1) for keras in range(3)]\n", None),
        ("from helpers import *\nimport tf_slim as slim\nr = slim.l2_regularizer(0.1)\n", None),
        # a scale that halves to inf or to 0.0 is not folded
        (
            "import tensorflow as tf\nr = tf.contrib.layers.l2_regularizer(1e400)\n",
            "import tensorflow as tf\nr = tf.keras.regularizers.l2(0.5 * 1e400)\n",
        ),
        (
            "import tensorflow as tf\nr = tf.contrib.layers.l2_regularizer(5e-324)\n",
            "import tensorflow as tf\nr = tf.keras.regularizers.l2(0.5 * 5e-324)\n",
        ),
        # two contrib imports replaced: the Keras import is written once
        (
            "from tensorflow.contrib.layers import l2_regularizer\n"
            "from tensorflow.contrib.layers import l1_regularizer\n\n"
            "a = l2_regularizer(1e-4)\nb = l1_regularizer(2.0)\n",
            "from tensorflow import keras\n\na = keras.regularizers.l2(5e-05)\nb = keras.regularizers.l1(2.0)\n",
        ),
        # comments stay: on the import (kept), inside the call (no fix for it)
        (
            "import tensorflow as tf\nfrom tensorflow.contrib.layers import l2_regularizer  # why\n\n"
            "a = l2_regularizer(1e-4)\nb = tf.contrib.layers.l1_regularizer(0.1,  # strength\n    scope='l1')\n",
            "import tensorflow as tf\nfrom tensorflow.contrib.layers import l2_regularizer  # why\n\n"
            "a = tf.keras.regularizers.l2(5e-05)\nb = tf.contrib.layers.l1_regularizer(0.1,  # strength\n"
            "    scope='l1')\n",
        ),
    ],
    ids=["class-attribute", "comprehension", "star-import", "inf", "subnormal", "two-imports", "comments"],
)
def test_reg005_fix_is_right_or_absent(code: str, fixed: str | None) -> None:
    rule = rules_by_code()["REG005"]
    result = lint({"m.py": code}, [rule], fix=True, unsafe=True)
    assert not result.internal_errors
    change = result.changes.get("m.py")
    assert (change.fixed.decode() if change is not None else None) == fixed


def test_reg003_keeps_a_comment_written_on_the_dropped_keyword() -> None:
    code = "import keras\nd = keras.layers.Dense(\n    4,\n"
    code += '    bias_regularizer="l2",  # why\n    kernel_regularizer="l2",\n)\n'
    result = lint({"m.py": code}, [rules_by_code()["REG003"]])
    assert [f.code for f in result.findings] == ["REG003"] and result.findings[0].fix is None


def test_a_comprehension_variable_named_tf_is_not_tensorflow() -> None:
    code = (
        "import tensorflow as tf\nfrom mylib import frameworks\n"
        "r = [tf.contrib.layers.l2_regularizer(0.1) for tf in frameworks]\n"
        "s = tf.contrib.layers.l2_regularizer(0.1)\n"
    )
    result = lint({"m.py": code}, [rules_by_code()["REG005"]])
    assert [f.range.start.line for f in result.findings] == [4]


# ------------------------------------------------------------------------------------------
# one file's failure is that file's error


def test_a_hostile_notebook_is_one_files_error(tmp_path: Path) -> None:
    # (each holds a word the prefilter looks for, as a real training notebook does)
    deep = '{"kernel_regularizer": 1, "cells": ' + "[" * 5000 + "]" * 5000 + "}"
    surrogate = json.dumps(
        {
            "cells": [
                {"cell_type": "code", "source": "r = 'kernel_regularizer \ud800'\n", "metadata": {}, "outputs": []}
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )
    write_tree(tmp_path, {"deep.ipynb": deep, "surrogate.ipynb": surrogate, "ok.py": KERAS2})
    for jobs in ("1", "2"):
        out = run_cli("check", "--no-cache", "-j", jobs, ".", cwd=tmp_path)
        assert out.code == 1, out.out
        assert "ok.py:2:30: REG010" in out.stdout
        assert "deep.ipynb:1:1: error: cannot parse: not a notebook: JSON nested too deeply" in out.stdout
        assert "surrogate.ipynb:1:1: error: cannot parse: cell 1 holds" in out.stdout


def test_a_file_too_large_to_parse_is_reported_and_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 600,000 two-byte tokens on one line: about 1.6 GB to parse, over a budget of 1 GB
    dense = "x = [" + "1," * 600_000 + "]\n"
    write_tree(tmp_path, {"big.py": dense + KERAS2, "ok.py": KERAS2})
    monkeypatch.setenv("REGLINT_MAX_PARSE_BYTES", str(1 << 30))
    out = run_cli("check", "--no-cache", "-j", "1", ".", cwd=tmp_path)
    assert "big.py:1:1: error: cannot parse: too large to analyse" in out.stdout, out.out
    assert "ok.py:2:30: REG010" in out.stdout


def _dies_on_the_killer(batch: list[tuple[str, bytes]], prefilter: bool) -> list[object]:
    import reglint.runner as runner

    if any(path == "killer.py" for path, _ in batch):
        os._exit(9)  # as the kernel's OOM killer would
    return runner._real_batch(batch, prefilter)  # type: ignore[attr-defined,no-any-return]


def test_a_worker_that_dies_loses_no_other_files_results(monkeypatch: pytest.MonkeyPatch) -> None:
    import reglint.runner as runner

    items = [(f"m{i}.py", KERAS2.encode()) for i in range(4)] + [("killer.py", b"x = 1\n")]
    monkeypatch.setattr(runner, "_real_batch", runner._analyse_batch_in_worker, raising=False)
    monkeypatch.setattr(runner, "_analyse_batch_in_worker", _dies_on_the_killer)
    results = runner.analyse_many(items, [rules_by_code()["REG010"]], jobs=2, cache=None, prefilter=False)
    by_path = {r.path: r for r in results}
    assert all(len(by_path[f"m{i}.py"].findings) == 1 for i in range(4))
    error = by_path["killer.py"].parse_error
    assert error is not None and "killed" in error.message


# ------------------------------------------------------------------------------------------
# inputs that crashed


@pytest.mark.parametrize("line", ["!", "\\", "[z-a]"])
def test_a_gitignore_line_git_ignores_is_ignored_and_a_bad_exclude_is_an_error(tmp_path: Path, line: str) -> None:
    write_tree(tmp_path, {".gitignore": line + "\nbuild/\n", "a.py": KERAS2, "build/b.py": KERAS2})
    out = check(tmp_path, ".")
    assert out.code == 1 and "a.py:2:30" in out.stdout and "build/b.py" not in out.stdout, out.out
    out = check(tmp_path, "--extend-exclude", line, ".")
    assert out.code == 2 and "invalid pattern" in out.stderr and "Traceback" not in out.out
    out = check(tmp_path, "--per-file-ignores", f"{line}:REG010", ".")
    assert out.code == 2 and "invalid pattern" in out.stderr


@pytest.mark.parametrize(
    ("pyproject", "code"),
    [
        ("tool = 5\n", 1),  # no [tool.reglint]: the defaults
        ("a = " + "[" * 2000 + "]" * 2000 + "\n", 2),
        ("\ufeff[tool.reglint]\nselect = ['REG010']\n", 1),  # a BOM, as Windows editors write
    ],
    ids=["tool-not-a-table", "deep", "bom"],
)
def test_pyproject_oddities_are_read_or_a_clear_error(tmp_path: Path, pyproject: str, code: int) -> None:
    write_tree(tmp_path, {"pyproject.toml": pyproject, "a.py": KERAS2})
    out = check(tmp_path, ".")
    assert out.code == code, out.out
    assert "Traceback" not in out.out
    if code == 2:
        assert "pyproject.toml" in out.stderr


def test_outputs_of_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path) + b"/d\xff"
    os.makedirs(folder)
    with open(folder + b"/m\xe9.py", "wb") as handle:
        handle.write(KERAS2.encode())
    out = check(tmp_path, "--output-format", "json", ".")
    data = json.loads(out.stdout_bytes.decode("utf-8"))  # valid UTF-8, valid JSON
    assert data[0]["filename"] == "d\\xff/m\\xe9.py"
    sarif = json.loads(check(tmp_path, "--output-format", "sarif", ".").stdout)
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "d%FF/m%E9.py"


def test_diff_of_a_file_whose_coding_cannot_spell_its_path(tmp_path: Path) -> None:
    write_tree(tmp_path, {"dé/a.py": "# -*- coding: ascii -*-\n" + KERAS2})
    out = check(tmp_path, "--diff", "dé")
    assert out.code == 1 and "Traceback" not in out.out
    assert "--- dé/a.py".encode() in out.stdout_bytes and b"+r = tf.keras.regularizers.l2(l2=1e-4)" in out.stdout_bytes


# ------------------------------------------------------------------------------------------
# messages


def test_tokenizer_errors_say_where_and_what(tmp_path: Path) -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "notes"},
            {"cell_type": "code", "metadata": {}, "outputs": [], "source": 'a = 1\nb = "kernel_regularizer\n'},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    write_tree(
        tmp_path,
        {
            "tok.py": 'x = 1\ny = "kernel_regularizer\n',
            "u16.py": "# -*- coding: utf-16 -*-\nkernel_regularizer = 1\n",
            "nb.ipynb": json.dumps(notebook),
        },
    )
    out = check(tmp_path, ".")
    assert "tok.py:2:5: error: cannot parse: SyntaxError: unterminated string literal" in out.stdout, out.stdout
    assert "u16.py:1:1: error: cannot parse: cannot decode: the coding declaration names utf-16" in out.stdout
    assert "nb.ipynb:cell 2:2:5: error: cannot parse: SyntaxError: unterminated string literal\n" in out.stdout


def test_an_unknown_code_error_does_not_echo_a_huge_value(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": KERAS2})
    out = check(tmp_path, "--select", "X" * 5_000_000, "a.py")
    assert out.code == 2 and len(out.stderr) < 300


def test_a_path_too_long_to_read_is_reported_not_skipped(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": KERAS2})
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        for _ in range(25):  # about 5,000 characters: more than PATH_MAX
            os.mkdir("d" * 200)
            os.chdir("d" * 200)
        Path("deep.py").write_text(KERAS2)
    finally:
        os.chdir(old)
    out = check(tmp_path, ".")
    assert out.code == 1 and "a.py:2:30: REG010" in out.stdout, out.out
    assert "cannot read" in out.out and "too long" in out.out.lower()


def test_a_notebook_cell_whose_source_is_not_text_is_never_rewritten(tmp_path: Path) -> None:
    lines = ["import tensorflow as tf\n", 5, "r = tf.keras.regularizers.l2(l=0.1)\n", None]
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "source": lines}
    data = json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    write_tree(tmp_path, {"n.ipynb": data})
    out = check(tmp_path, "--fix", "n.ipynb")
    assert (tmp_path / "n.ipynb").read_text() == data
    assert "not text" in out.stdout


def test_moving_a_statement_keeps_the_blank_lines_around_it() -> None:
    code = (
        "import tensorflow.compat.v1 as tf\n\nreg = tf.losses.get_regularization_loss()\n\n"
        "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.1))\n\n"
        "loss = tf.reduce_mean(h) + reg\ntrain = tf.train.AdamOptimizer().minimize(loss)\n"
    )
    fixed = lint({"m.py": code}, [rules_by_code()["REG009"]], fix=True, unsafe=True).changes["m.py"].fixed.decode()
    assert fixed.count("\n") == code.count("\n")  # no line lost
    assert fixed.index("h = ") < fixed.index("reg = ")


def test_a_named_unreadable_file_is_a_read_error_not_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"a.py": KERAS2, "b.py": KERAS2})
    real_open = Path.read_bytes

    def unreadable(self: Path) -> bytes:
        if self.name == "a.py":
            raise PermissionError(13, "Permission denied")
        return real_open(self)

    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # what click asks (root may read anything)
    monkeypatch.setattr(Path, "read_bytes", unreadable)
    out = check(tmp_path, "a.py", "b.py")
    assert out.code == 1, out.out
    assert "a.py" in out.out and "Permission denied" in out.out
    assert "b.py:2:30: REG010" in out.stdout
