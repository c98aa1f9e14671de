"""Jupyter notebooks: code cells checked as one module, findings placed in their cells, IPython
syntax masked, suppressions honoured, and `--fix` touching only the cells it fixes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from reglint import cli
from reglint.config import Settings
from reglint.discovery import discover
from reglint.fixer import apply_fixes
from reglint.model import Edit, Finding, Fix, Position, Range, Safety
from reglint.notebook import MASK_COMMENT, NotebookError, NotebookSource, mask_cell
from reglint.rule import rules_by_code
from reglint.runner import run
from reglint.sources import SourceError
from tests.helpers import ROOT, reglint_cli

NOTEBOOK = ROOT / "fixtures" / "_notebooks" / "regularization.ipynb"
REG001_NOTEBOOK = ROOT / "fixtures" / "_notebooks" / "reg001-collected-not-added.ipynb"
BAD = "l2_loss = tf.get_collection(tf.GraphKeys.REGULARIZATOIN_LOSSES)"
GOOD = "l2_loss = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)"


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "regularization.ipynb"
    shutil.copyfile(NOTEBOOK, target)
    return target


def _notebook(cells: list[object], **metadata: object) -> bytes:
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": c}
            if not isinstance(c, dict)
            else c
            for c in cells
        ],
        "metadata": metadata or {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode()


def _check(data: bytes, *, fix: bool = False, path: str = "nb.ipynb") -> object:
    return run([(path, data)], Settings(select=("ALL",)), fix=fix)


# --------------------------------------------------------------------------------------
# the fixture notebook, through the real command line


def test_finding_is_reported_with_its_cell(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    done = reglint_cli("check", "--no-cache", target.name, cwd=tmp_path)
    out = done.stdout.decode()
    assert done.returncode == 1, out + done.stderr.decode()
    # cell 3 (counting the markdown cell 1), line 6 of that cell, column 29; the suppressed
    # copy of the same typo in cell 6 and the masked magics report nothing
    assert out.splitlines()[0].startswith("regularization.ipynb:cell 3:6:29: REG004 [*] ")
    assert "Found 1 problem (1 fixable)." in out
    assert "cell 6" not in out
    assert done.stderr == b""


def test_json_carries_the_cell(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    done = reglint_cli("check", "--no-cache", "--output-format", "json", target.name, cwd=tmp_path)
    [item] = json.loads(done.stdout)
    assert item["cell"] == 3
    assert item["location"] == {"row": 6, "column": 29}
    assert item["end_location"] == {"row": 6, "column": 63}
    assert item["fix"]["edits"][0]["cell"] == 3


def test_fix_changes_only_that_cell(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    before = target.read_bytes()
    done = reglint_cli("check", "--no-cache", "--fix", target.name, cwd=tmp_path)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    after = target.read_bytes()
    # byte for byte: the one line of cell 3 changed, nothing else (outputs, metadata, ids,
    # key order, indentation, non-ASCII text, final newline)
    assert after == before.replace(BAD.encode(), GOOD.encode(), 1)
    old, new = json.loads(before), json.loads(after)
    changed = [i for i, (a, b) in enumerate(zip(old["cells"], new["cells"], strict=True)) if a != b]
    assert changed == [2]  # cell 3
    assert new["cells"][2]["source"][5] == GOOD + "\n"
    assert reglint_cli("check", "--no-cache", target.name, cwd=tmp_path).returncode == 0


def test_diff_shows_cells_as_written(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    done = reglint_cli("check", "--no-cache", "--diff", target.name, cwd=tmp_path)
    out = done.stdout.decode()
    assert done.returncode == 1
    assert f"-{BAD}\n+{GOOD}\n" in out
    assert MASK_COMMENT not in out
    assert target.read_bytes() == NOTEBOOK.read_bytes()


def test_directories_are_walked_for_notebooks(tmp_path: Path) -> None:
    _copy(tmp_path)
    (tmp_path / "train.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("x\n")
    found = discover([str(tmp_path)], Settings(root=tmp_path))
    assert sorted(p.name for p in found.files) == ["regularization.ipynb", "train.py"]


def test_cached_results_still_show_the_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook's result from the cache is never parsed again; its cell comes from the JSON."""
    target = _copy(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    args = ["check", "--cache-dir", str(tmp_path / "cache"), target.name]
    first = CliRunner().invoke(cli.main, args)
    assert "cell 3:6:29: REG004" in first.output

    def no_parse(self: NotebookSource) -> None:
        raise AssertionError("parsed although cached")

    monkeypatch.setattr(NotebookSource, "parse", no_parse)
    second = CliRunner().invoke(cli.main, args)
    assert second.output == first.output
    assert second.exit_code == 1


# --------------------------------------------------------------------------------------
# IPython syntax


def test_magics_and_shell_lines_are_masked() -> None:
    source = NotebookSource.load(
        "nb.ipynb",
        _notebook(
            [
                [
                    "!pip install tensorflow\n",
                    "%load_ext autoreload\n",
                    "x = (1\n",
                    "     %2)\n",
                    "s = '''\n",
                    "%notmagic\n",
                    "'''",
                ],
                [
                    "%%time\n",
                    "if x:\n",
                    "    %timeit f()\n",
                    "    y = !ls\n",
                    "obj?\n",
                    "??obj\n",
                    "%pip install a \\\n",
                    "    b",
                ],
                ["%%bash\n", "for f in *; do echo $f; done"],
            ]
        ),
    )
    text = source.text()
    source.parse()  # masked lines keep the module valid
    lines = text.splitlines()
    assert lines[0] == "# %% [reglint] cell 1"
    assert lines[1] == f"pass  {MASK_COMMENT}"
    assert lines[4] == "     %2)"  # inside brackets: Python's modulo, not a magic
    assert lines[6] == "%notmagic"  # inside a string
    assert lines[11] == "    pass  " + MASK_COMMENT  # keeps the `if` block valid
    assert lines[12] == "    pass  " + MASK_COMMENT
    assert lines[13:16] == [f"pass  {MASK_COMMENT}"] * 3
    assert lines[16] == MASK_COMMENT  # the continuation of a magic
    assert lines[17] == "# %% [reglint] cell 3"
    assert lines[18:] == [MASK_COMMENT, MASK_COMMENT]
    assert source.original_line(12) == "    %timeit f()"
    assert source.display(12) == "cell 2:3"
    assert source.display_text().splitlines()[11] == "    %timeit f()"


def test_mask_keeps_line_count() -> None:
    lines = ["%%capture\n", "x = 1\n", "!ls\n"]
    masked, originals = mask_cell(lines)
    assert len(masked) == 3
    assert masked[1] == "x = 1\n"
    assert originals == {0: "%%capture\n", 2: "!ls\n"}


def test_fix_may_not_touch_a_masked_line() -> None:
    source = NotebookSource.load("nb.ipynb", _notebook([["x = 1\n", "%timeit x\n"]]))
    text = source.text()
    with pytest.raises(NotebookError, match="magic"):
        source.render(text.replace(f"pass  {MASK_COMMENT}", "pass"))


def test_fix_touching_a_magic_leaves_the_file_untouched() -> None:
    data = _notebook([["import tensorflow as tf\n", "%timeit tf.GraphKeys.REGULARIZATOIN_LOSSES\n"]])
    source = NotebookSource.load("nb.ipynb", data)
    line = 3  # the masked %timeit line, in joined coordinates
    edit_range = Range(Position(line, 0), Position(line, 4))
    finding = Finding("REG004", "x", "m", "nb.ipynb", edit_range, Fix((Edit(edit_range, "oops"),), Safety.SAFE))
    with pytest.raises(NotebookError):
        source.reparse_text(apply_fixes(source.text(), [finding]).text)


def test_suppression_comment_in_a_cell_is_honoured() -> None:
    bad = "import tensorflow as tf\nloss = tf.get_collection(tf.GraphKeys.REGULARIZATOIN_LOSSES)"
    result = _check(_notebook([bad, bad + "  # noqa: REG004", bad + "  # reglint: ignore[REG004]"]))
    assert [(f.code, f.range.start.line) for f in result.findings] == [("REG004", 3)]  # type: ignore[attr-defined]


def test_cells_of_other_languages_and_other_kernels_are_skipped() -> None:
    bad = "import tensorflow as tf\nloss = tf.get_collection(tf.GraphKeys.REGULARIZATOIN_LOSSES)\n"
    markdown = {"cell_type": "markdown", "metadata": {}, "source": bad}
    assert _check(_notebook([markdown])).findings == []  # type: ignore[attr-defined]
    r_kernel = _notebook([bad], kernelspec={"language": "R", "name": "ir"})
    assert _check(r_kernel).findings == []  # type: ignore[attr-defined]


def test_invalid_notebook_is_a_parse_error() -> None:
    result = _check(b'{"cells": [ "get_collection" }')
    [error] = result.parse_errors  # type: ignore[attr-defined]
    assert "not a notebook" in error.message
    with pytest.raises(SourceError):
        NotebookSource.load("x.ipynb", b'{"nbformat": 4}')


def test_syntax_error_is_placed_in_its_cell(tmp_path: Path) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_bytes(_notebook(["import tensorflow as tf\n", "x = tf.GraphKeys.REGULARIZATION_LOSSES\ny = (\n"]))
    done = reglint_cli("check", "--no-cache", path.name, cwd=tmp_path)
    assert "broken.ipynb:cell 2:" in done.stdout.decode()
    assert "cannot parse" in done.stdout.decode()


# --------------------------------------------------------------------------------------
# writing back


def test_source_as_one_string_stays_one_string() -> None:
    data = _notebook(["import tensorflow as tf\nk = tf.GraphKeys.REGULARIZATOIN_LOSSES\n"])
    result = _check(data, fix=True)
    fixed = result.changes["nb.ipynb"].fixed  # type: ignore[attr-defined]
    assert fixed == data.replace(b"REGULARIZATOIN", b"REGULARIZATION")
    expected = "import tensorflow as tf\nk = tf.GraphKeys.REGULARIZATION_LOSSES\n"
    assert json.loads(fixed)["cells"][0]["source"] == expected


def test_compact_json_is_written_compact() -> None:
    nb = json.loads(_notebook([["import tensorflow as tf\n", "k = tf.GraphKeys.REGULARIZATOIN_LOSSES"]]))
    data = json.dumps(nb, separators=(",", ":")).encode()
    fixed = _check(data, fix=True).changes["nb.ipynb"].fixed  # type: ignore[attr-defined]
    assert fixed == data.replace(b"REGULARIZATOIN", b"REGULARIZATION")


def test_cell_boundary_removed_by_a_fix_is_recovered() -> None:
    """A fix that replaces the first statement of a cell (whose leading lines hold the cell's
    marker) by text of its own still lands in that cell."""
    source = NotebookSource.load("nb.ipynb", _notebook([["a = 1\n"], ["b = 2\n", "c = 3"], ["d = 4"]]))
    text = source.text()
    fixed = text.replace("# %% [reglint] cell 2\nb = 2\n", "b = 20\n")
    sources = source.cell_sources(fixed)
    assert sources == {0: "a = 1\n", 1: "b = 20\nc = 3", 2: "d = 4"}
    rendered = json.loads(source.render(fixed))
    assert rendered["cells"][1]["source"] == ["b = 20\n", "c = 3"]
    assert rendered["cells"][2]["source"] == ["d = 4"]


def test_imports_a_fix_adds_go_to_the_first_code_cell() -> None:
    data = _notebook(
        [{"cell_type": "markdown", "metadata": {}, "source": ["# title"]}, ["x = 1\n"], ["y = np.zeros(3)\n"]]
    )
    source = NotebookSource.load("nb.ipynb", data)
    at = Position(source.text().splitlines().index("y = np.zeros(3)") + 1, 0)
    finding = Finding("REG000", "x", "m", "nb.ipynb", Range(at, at), Fix((), Safety.SAFE, (("numpy", None, "np"),)))
    rendered = json.loads(source.render(apply_fixes(source.text(), [finding]).text))
    assert rendered["cells"][1]["source"] == ["import numpy as np\n", "\n", "x = 1\n"]
    assert rendered["cells"][2]["source"] == ["y = np.zeros(3)\n"]
    assert rendered["cells"][0] == json.loads(data)["cells"][0]


def test_empty_source_list_gets_the_files_indentation() -> None:
    data = _notebook([[], ["import tensorflow as tf\n"]])
    source = NotebookSource.load("nb.ipynb", data)
    fixed = source.text().replace("# %% [reglint] cell 1\n", "# %% [reglint] cell 1\nz = 0\n")
    out = source.render(fixed).decode()
    assert '   "source": [\n    "z = 0"\n   ]' in out
    assert json.loads(out)["cells"][0]["source"] == ["z = 0"]


def test_file_positions_point_into_the_json() -> None:
    source = NotebookSource.load("nb.ipynb", NOTEBOOK.read_bytes())
    lines = source.json_text.splitlines()
    joined = source.text().splitlines()
    for number, line in enumerate(joined, start=1):
        if line.startswith("# %%") or MASK_COMMENT in line or not line.strip():
            continue
        column = len(line) - len(line.lstrip())
        where = source.file_position(Position(number, column))
        raw = lines[where.line - 1]
        # the JSON string literal holding the line has the line's text at that column
        # (the fixture's one non-ASCII line ends after its last escape-free character)
        assert raw[where.column :].startswith(json.dumps(line.strip(), ensure_ascii=False)[1:-1][:20]), (line, raw)


# --------------------------------------------------------------------------------------
# round trips


LINES = st.sampled_from(
    [
        "x = 1",
        "    y = 2",
        "if x:",
        "%timeit f()",
        "    %time g()",
        "!pip install a \\",
        "files = !ls",
        "obj?",
        "%%time",
        "%%bash",
        "s = '''",
        "%d'''",
        "",
        "# comment",
        "z = (1",
        "     % 2)",
        "caf\u00e9 = '\u201cq\u201d'",
    ]
)
CELLS = st.lists(st.tuples(st.lists(LINES, max_size=6), st.booleans(), st.booleans()), max_size=5)


@given(CELLS)
@settings(max_examples=200, deadline=None)
def test_cells_round_trip(cells: list[tuple[list[str], bool, bool]]) -> None:
    """Whatever the cells hold, the joined text maps back to exactly the cells' sources, and
    rendering it unchanged gives back the very same bytes."""
    sources = []
    for lines, final_newline, as_string in cells:
        text = "\n".join(lines) + ("\n" if final_newline and lines else "")
        sources.append(text if as_string else [line for line in re.findall(r"[^\n]*\n|[^\n]+$", text)])
    data = _notebook(sources)
    source = NotebookSource.load("nb.ipynb", data)
    expected = {i: s if isinstance(s, str) else "".join(s) for i, s in enumerate(sources)}
    assert source.cell_sources(source.text()) == expected
    assert len(source.text().splitlines()) == len(source.line_map())
    # an edit of code lines lands in their cells, in each cell's own JSON shape; masked
    # lines (a magic's continuation `x = 1` included) are not code and stay as they were
    rendered = json.loads(source.render(source.text().replace("x = 1", "x = 22")))
    for cell in source.cells:
        lines = re.findall(r"[^\n]*\n|[^\n]+$", cell.source)
        want = "".join(line if i in cell.masked else line.replace("x = 1", "x = 22") for i, line in enumerate(lines))
        cell_source = rendered["cells"][cell.index]["source"]
        assert isinstance(cell_source, str) == isinstance(sources[cell.index], str)
        assert (cell_source if isinstance(cell_source, str) else "".join(cell_source)) == want


# --------------------------------------------------------------------------------------
# the acceptance case: a REG001 pitfall in cell 3


def test_reg001_in_cell_3_is_reported_there_and_fixed_there_only(tmp_path: Path) -> None:
    if "REG001" not in rules_by_code():
        pytest.skip("REG001 is not in this checkout yet")
    target = tmp_path / "collected.ipynb"
    shutil.copyfile(REG001_NOTEBOOK, target)
    before = target.read_bytes()
    done = reglint_cli(
        "check", "--no-cache", "--select", "REG001", "--output-format", "json", target.name, cwd=tmp_path
    )
    items = json.loads(done.stdout)
    assert items, done.stderr.decode()
    assert {item["cell"] for item in items} == {3}
    assert {item["code"] for item in items} == {"REG001"}

    fixed = reglint_cli(
        "check", "--no-cache", "--select", "REG001", "--fix", "--unsafe-fixes", target.name, cwd=tmp_path
    )
    assert fixed.returncode == 0, fixed.stdout.decode() + fixed.stderr.decode()
    after = target.read_bytes()
    assert after != before
    old, new = json.loads(before), json.loads(after)
    assert [i for i, (a, b) in enumerate(zip(old["cells"], new["cells"], strict=True)) if a != b] == [2]
    assert {k: v for k, v in old["cells"][2].items() if k != "source"} == {
        k: v for k, v in new["cells"][2].items() if k != "source"
    }
    # in the file's bytes, only lines inside cell 3's `source` list changed
    span = NotebookSource.load("x.ipynb", before).spans().children["cells"].children[2].children["source"]
    text = before.decode()
    first, last = text.count("\n", 0, span.start), text.count("\n", 0, span.end)
    old_lines, new_lines = text.splitlines(), after.decode().splitlines()
    assert old_lines[: first + 1] == new_lines[: first + 1]
    assert old_lines[last:] == new_lines[len(new_lines) - (len(old_lines) - last) :]


# --------------------------------------------------------------------------------------
# a notebook in a project: judged by what it builds, imports or runs


_OWN_GRAPH = (
    "import tensorflow.compat.v1 as tf\n"
    "x = tf.placeholder(tf.float32, [None, 4])\n"
    "loss = tf.reduce_mean(tf.square(tf.layers.dense(x, 1)))\n"
    "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
)
_MODEL = (
    "import tensorflow.compat.v1 as tf\n\n"
    "def build(x):\n"
    "    return tf.layers.dense(x, 10, kernel_regularizer=tf.keras.regularizers.l2(1e-4))\n"
)


def test_a_notebook_is_judged_by_the_regularizers_it_can_reach(tmp_path: Path) -> None:
    """Regularizers declared in a project module concern a notebook only when the notebook
    imports that module (directly or through the project's modules) or runs other code: a
    tutorial notebook that builds its own graph was told to add the collection of a model it
    never builds. A script keeps being judged by every declaration of the project (it may
    train a model it is handed)."""
    files = {
        "model.py": _MODEL,
        "data.py": "import numpy as np\n",
        "net.py": "from model import build\n",
        "alone.ipynb": _notebook(["from data import *\n" + _OWN_GRAPH]),
        "through.ipynb": _notebook(["from net import *\n", _OWN_GRAPH.replace("tf.layers.dense(x, 1)", "build(x)")]),
        "runs.ipynb": _notebook(["%run model.py\n", _OWN_GRAPH]),
        "script.py": _OWN_GRAPH,
    }
    for name, text in files.items():
        (tmp_path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    result = run(
        [(str(tmp_path / name), (tmp_path / name).read_bytes()) for name in sorted(files)],
        Settings(select=("REG001",), root=tmp_path),
    )
    flagged = sorted(Path(f.path).name for f in result.findings if f.code == "REG001")
    assert flagged == ["runs.ipynb", "script.py", "through.ipynb"]
