"""Property tests (issue 8): over generated programs (hypothesmith) and over mutations of the
fixtures, examples and rule examples, reglint never raises, never reports an internal error,
every fix it applies re-parses, and fixing is idempotent.

Bounded for CI: REGLINT_FUZZ_EXAMPLES (default 25) examples per property, no deadline. A longer
run: `REGLINT_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py` (README, Developing).
Failing examples found so far are kept below as @example regression cases.
"""

from __future__ import annotations

import itertools
import json
import os

import libcst as cst
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reglint.config import Settings
from reglint.rule import all_rules
from reglint.runner import run
from tests.helpers import ROOT

EXAMPLES = int(os.environ.get("REGLINT_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("REGLINT_FUZZ_RANDOM") is None,  # reproducible in CI
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def _seeds() -> list[str]:
    seeds: list[str] = []
    for path in sorted([*ROOT.glob("fixtures/*/*/*.py"), *ROOT.glob("examples/*.py")]):
        seeds.append(path.read_text(encoding="utf-8"))
    for rule in all_rules():
        for case in [*rule.VALID, *rule.INVALID]:
            if case.code:
                seeds.append(case.code)
            seeds.extend(case.files.values())
    return seeds


SEEDS = _seeds()

# pieces of code that trigger rules or stress the parser and the fixer
SNIPPETS = [
    "tf.keras.regularizers.l2(l=1e-4)",
    "regularizers.l1(l=0.5)",
    "tf.GraphKeys.REGULARIZATOIN_LOSSES",
    "tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)",
    "kernel_regularizer=tf.contrib.layers.l2_regularizer(0.1)",
    "kernel_initializer=tf.keras.regularizers.l2(0.01)",
    "import tensorflow as tf\n",
    "from tensorflow.keras import regularizers\n",
    "  # noqa\n",
    "  # noqa: REG010\n",
    "\\\n",
    "(",
    ")",
    ",",
    ":",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "    ",
    '"""',
    "#",
    "lambda: ",
    "async ",
    "@",
    "é",
]


def _lint_everything(items: list[tuple[str, bytes]], *, fix: bool) -> object:
    return run(items, Settings(select=("ALL",)), fix=fix, unsafe_fixes=True, rules=all_rules(), prefilter=False)


def check_invariants(data: bytes, path: str = "fuzz.py") -> None:
    """reglint never raises; no internal error; fixes re-parse; fixing twice changes nothing."""
    result = _lint_everything([(path, data)], fix=True)
    assert not result.internal_errors, result.internal_errors  # type: ignore[attr-defined]
    change = result.changes.get(path)  # type: ignore[attr-defined]
    if change is None:
        return
    assert change.original == data
    cst.parse_module(change.fixed)  # the written bytes parse
    again = _lint_everything([(path, change.fixed)], fix=True)
    assert not again.internal_errors, again.internal_errors  # type: ignore[attr-defined]
    assert path not in again.changes, "fixing a second time changed the file"  # type: ignore[attr-defined]
    # a file without findings left after --unsafe-fixes must not offer fixes any more
    remaining = [f for f in again.findings if f.fix is not None]  # type: ignore[attr-defined]
    assert not remaining, remaining


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "duplicate", "swap", "newline", "replace"]))
        lines = text.splitlines(keepends=True) or [""]
        if kind == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at:]
        elif kind == "delete" and text:
            a = draw(st.integers(0, len(text) - 1))
            b = draw(st.integers(a, min(len(text), a + 20)))
            text = text[:a] + text[b:]
        elif kind == "duplicate":
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            text = "".join(lines)
        elif kind == "swap" and len(lines) > 1:
            i = draw(st.integers(0, len(lines) - 2))
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
            text = "".join(lines)
        elif kind == "newline":
            newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
            text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", newline)
        elif kind == "replace":
            old = draw(st.sampled_from(["tf", "keras", "regularizers", "l2", "l=", "GraphKeys", "(", "="]))
            new = draw(st.sampled_from(["tf", "k", "regularizers.l1", "l1", "l =", "GraphKeys.X", "((", "=="]))
            text = text.replace(old, new, 1)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]))
    if encoding == "latin-1":
        return b"# -*- coding: latin-1 -*-\n" + text.encode("latin-1", "replace")
    return text.encode(encoding)


def test_seeds_are_not_empty() -> None:
    assert len(SEEDS) > 10


@pytest.mark.parametrize("index", range(len(SEEDS)))
def test_every_seed(index: int) -> None:
    check_invariants(SEEDS[index].encode())


@FUZZ
@given(mutated())
@example(b"import tensorflow as tf\rr = tf.keras.regularizers.l2(l=1e-4)\r")  # CR-only: final \r was lost
@example(b"regularizer = " + b"-" * 50_000 + b"1\n")  # crashed the native parser
@example(b"import tensorflow as tf\nx = " + b"-" * 1_000 + b"tf.keras.regularizers.l2(l=1)\n")  # deep walk
@example(b'import tensorflow as tf\ns = "# noqa"; r = tf.keras.regularizers.l2(l=1)\n')
@example(b"\xef\xbb\xbfimport tensorflow as tf\r\nr = tf.keras.regularizers.l2(l=1)")
def test_mutated_sources(data: bytes) -> None:
    check_invariants(data)


@FUZZ
@given(st.binary(max_size=300).map(lambda b: b"import tensorflow as tf\nregularizer = 1\n" + b))
def test_random_bytes(data: bytes) -> None:
    check_invariants(data)


try:
    import hypothesmith
except Exception:  # pragma: no cover - hypothesmith does not install everywhere
    hypothesmith = None


@pytest.mark.skipif(hypothesmith is None, reason="hypothesmith is not installed")
@FUZZ
@given(
    st.builds(
        lambda code, snippet: "import tensorflow as tf\n" + code + "\nr = " + snippet + "\n",
        hypothesmith.from_grammar() if hypothesmith else st.just(""),
        st.sampled_from(SNIPPETS[:6]),
    )
)
def test_generated_programs(source: str) -> None:
    try:
        cst.parse_module(source)
    except Exception:
        return  # the grammar generator can produce code libcst rejects: not our concern here
    check_invariants(source.encode("utf-8", "surrogatepass"))


@pytest.mark.skipif(hypothesmith is None, reason="hypothesmith is not installed")
@FUZZ
@given(hypothesmith.from_node() if hypothesmith else st.just(""))
def test_generated_modules(source: str) -> None:
    check_invariants(("import tensorflow as tf\n" + source).encode("utf-8", "surrogatepass"))


def test_multi_file_project_fix_is_idempotent() -> None:
    # the project-wide phase on every seed at once
    items = [(f"seed{i}.py", text.encode()) for i, text in enumerate(SEEDS)]
    result = _lint_everything(items, fix=True)
    assert not result.internal_errors  # type: ignore[attr-defined]
    fixed = [(path, change.fixed) for path, change in result.changes.items()]  # type: ignore[attr-defined]
    for _path, data in fixed:
        cst.parse_module(data)
    again = _lint_everything([*fixed, *(i for i in items if i[0] not in dict(fixed))], fix=True)
    assert not again.changes  # type: ignore[attr-defined]


def test_fuzz_examples_env_is_read() -> None:
    assert FUZZ.max_examples == EXAMPLES


# -- a fix changes its edits' bytes and nothing else; a notebook fix stays in its cell ---------


@st.composite
def roughened(draw: st.DrawFn) -> str:
    """A seed with bytes libcst does not give back: form feeds starting some lines, blanks
    before the colon of an `except`."""
    text = draw(st.sampled_from(SEEDS))
    lines = text.splitlines(keepends=True)
    for index in draw(st.lists(st.integers(0, max(len(lines) - 1, 0)), max_size=4)):
        if lines and lines[index].startswith(("def ", "class ", "import ", "from ")):
            lines[index] = "\f" + lines[index]
    out = "".join(lines)
    return out + ("" if out.endswith("\n") or not out else "\n") + "try:\n    pass\nexcept Exception :\n    pass\n"


@given(roughened())
@FUZZ
def test_fixes_keep_the_bytes_they_do_not_edit(text: str) -> None:
    data = text.encode("utf-8")
    result = _lint_everything([("fuzz.py", data)], fix=True)
    change = result.changes.get("fuzz.py")  # type: ignore[attr-defined]
    if change is None:
        return
    assert change.fixed.count(b"\f") == data.count(b"\f")
    assert b"except Exception :\n" in change.fixed


@st.composite
def split_notebook(draw: st.DrawFn) -> tuple[bytes, int]:
    """A seed as a notebook, cut into cells at random top-level statements."""
    import ast

    text = draw(st.sampled_from(SEEDS))
    try:
        body = ast.parse(text).body
    except SyntaxError:
        body = []
    lines = text.splitlines(keepends=True)
    starts = sorted({0, *(node.lineno - 1 for node in body if draw(st.booleans()))})
    bounds = [*starts, len(lines)]
    cells = [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": lines[a:b]}
        for a, b in itertools.pairwise(bounds)
        if a < b
    ]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook).encode("utf-8"), len(cells)


@given(split_notebook())
@FUZZ
def test_notebook_fixes_stay_in_their_cells(case: tuple[bytes, int]) -> None:
    data, count = case
    result = _lint_everything([("fuzz.ipynb", data)], fix=True)
    assert not result.internal_errors, result.internal_errors  # type: ignore[attr-defined]
    change = result.changes.get("fuzz.ipynb")  # type: ignore[attr-defined]
    if change is None:
        return
    cells = json.loads(change.fixed)["cells"]
    assert len(cells) == count
    assert not any("[reglint] cell" in "".join(cell["source"]) for cell in cells)
