"""Hostile and broken input (issue 8): every case gives one clear line naming the file and the
reason, no traceback, the other files are still checked, and the exit code is the documented
one (1 for a file that cannot be read or parsed, 2 for bad configuration or an internal error).

Files without any rule token are skipped by the prefilter and never parsed (README), so every
hostile file here contains a token (`bias_regularizer`, which alone makes a file matter) to make
sure it is really analysed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import reglint.cli
import reglint.runner
from reglint.rule import rules_by_code
from tests.clitools import KERAS2, MISSPELLED, no_traceback, run_cli, write_tree

ARGS = ("check", "--no-cache", "-j", "1")
GOOD = {"good.py": KERAS2, "other.py": MISSPELLED}


def _check(tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli(*ARGS, *args, cwd=tmp_path)


def _assert_others_checked(stdout: str) -> None:
    assert "good.py:2:30: REG010" in stdout
    assert "other.py:2:" in stdout and "REG004" in stdout


def _line_for(stdout: str, name: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith(name + ":")]
    assert len(lines) == 1, stdout
    return lines[0]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("nonutf8.py", b'x = "bias_regularizer \xff\xfe"\n', "not valid UTF-8"),
        ("badcookie.py", b"# -*- coding: klingon -*-\nbias_regularizer = 1\n", "unknown encoding"),
        ("nul.py", b"bias_regularizer = 1\nx = 2\x00\n", "NUL byte"),
        ("tabs.py", b"if True:\n\tx = 1\n        bias_regularizer = 2\n", "inconsistent use of tabs and spaces"),
        ("py2.py", b'print "bias_regularizer"\n', "SyntaxError"),
        ("py2b.py", b"bias_regularizer = 1\nexec 'x'\n", "SyntaxError"),
        ("truncated.py", b"bias_regularizer = dict(\n  a=1,\n", "SyntaxError"),
        ("unterminated.py", b'bias_regularizer = """abc\n', "SyntaxError"),
    ],
)
def test_unparsable_file_is_one_line_and_the_rest_is_checked(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    write_tree(tmp_path, {**GOOD, name: content})
    out = _check(tmp_path)
    assert out.code == 1
    line = _line_for(out.stdout, name)
    assert "cannot parse" in line and reason in line, line
    assert no_traceback(out.out) and out.stderr == ""
    _assert_others_checked(out.stdout)


def test_latin1_cookie_is_decoded(tmp_path: Path) -> None:
    source = (
        b"# -*- coding: latin-1 -*-\nimport tensorflow as tf\ns = 'caf\xe9'\nr = tf.keras.regularizers.l2(l=1e-4)\n"
    )
    write_tree(tmp_path, {**GOOD, "latin.py": source})
    out = _check(tmp_path)
    assert "latin.py:4:30: REG010" in out.stdout
    _assert_others_checked(out.stdout)


def test_non_ascii_positions_are_in_characters(tmp_path: Path) -> None:
    source = 'import tensorflow as tf\nr = ["ééé", tf.keras.regularizers.l2(l=1e-4)]\n'
    write_tree(tmp_path, {"u.py": source})
    out = _check(tmp_path)
    assert "u.py:2:38: REG010" in out.stdout  # 41 if columns counted bytes


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bom.py", b"\xef\xbb\xbfimport tensorflow as tf\nr = tf.keras.regularizers.l2(l=1e-4)\n"),
        ("crlf.py", b"import tensorflow as tf\r\nr = tf.keras.regularizers.l2(l=1e-4)\r\n"),
        ("cr.py", b"import tensorflow as tf\rr = tf.keras.regularizers.l2(l=1e-4)\r"),
        ("bomcrlf.py", b"\xef\xbb\xbfimport tensorflow as tf\r\nr = tf.keras.regularizers.l2(l=1e-4)"),
    ],
)
def test_bom_and_line_endings(tmp_path: Path, name: str, content: bytes) -> None:
    write_tree(tmp_path, {**GOOD, name: content})
    out = _check(tmp_path)
    assert f"{name}:2:30: REG010" in out.stdout
    _assert_others_checked(out.stdout)


def test_tabs_consistent_indentation_is_fine(tmp_path: Path) -> None:
    source = "import tensorflow as tf\nif True:\n\tr = tf.keras.regularizers.l2(l=1e-4)\n\tif r:\n\t\tpass\n"
    write_tree(tmp_path, {"tabs.py": source})
    out = _check(tmp_path)
    assert "tabs.py:3:31: REG010" in out.stdout


def test_empty_files(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"empty.py": b"", "blank.py": b"\n\n", "bomonly.py": b"\xef\xbb\xbf", "c.py": b"# bias_regularizer"}
    )
    out = _check(tmp_path)
    assert out.code == 0 and "All checks passed!" in out.stdout
    # and through the library without the prefilter, every one is parsed
    from reglint.config import Settings
    from reglint.runner import run

    items = [(p.name, p.read_bytes()) for p in sorted(tmp_path.glob("*.py"))]
    result = run(items, Settings(select=("ALL",)), prefilter=False)
    assert not result.findings and not result.parse_errors and not result.internal_errors


def test_ten_megabyte_generated_file(tmp_path: Path) -> None:
    # a generated module: a large embedded data blob (as weight dumps and protobuf
    # descriptors are) followed by code with one finding
    chunk = "b'" + "\\x00\\x01" * 2500 + "',\n"
    body = "DATA = [\n" + "    " + "    ".join([chunk] * 1000) + "]\n"
    source = body + KERAS2
    assert len(source.encode()) > 10_000_000
    write_tree(tmp_path, {**GOOD, "big.py": source})
    out = _check(tmp_path)
    line_no = body.count("\n") + 2
    assert f"big.py:{line_no}:30: REG010" in out.stdout
    _assert_others_checked(out.stdout)
    out = _check(tmp_path, "--fix")
    assert (tmp_path / "big.py").read_text().endswith("l2(l2=1e-4)\n")


@pytest.mark.parametrize(
    "expression",
    [
        "-" * 50_000 + "1",  # crashed libcst's native parser (stack overflow, SIGSEGV)
        "(" * 5_000 + "1" + ")" * 5_000,
        "[" * 5_000 + "]" * 5_000,
        "f(" * 5_000 + ")" * 5_000,
        "not " * 20_000 + "x",
        "+".join(["a"] * 5_000),
    ],
    ids=["unary50k", "parens5k", "lists5k", "calls5k", "not20k", "binop5k"],
)
def test_deeply_nested_expression(tmp_path: Path, expression: str) -> None:
    write_tree(tmp_path, {**GOOD, "deep.py": f"bias_regularizer = {expression}\n"})
    out = _check(tmp_path)
    assert out.code == 1, out.out
    line = _line_for(out.stdout, "deep.py")
    assert "too deeply nested" in line
    assert no_traceback(out.out)
    _assert_others_checked(out.stdout)


@pytest.mark.parametrize(
    "source",
    [
        # valid Python whose tree is deeper than the default recursion limit lets libcst walk:
        # analysed on a thread with a deep stack, the finding inside is reported
        "import tensorflow as tf\nx = " + "-" * 1_000 + "tf.keras.regularizers.l2(l=1)\n",
        "import tensorflow as tf\nx = " + "-" * 1_500 + "tf.keras.regularizers.l2(l=1)\n",
        "x = (\n" + "    b'ab'\n" * 3_000 + ")\nimport tensorflow as tf\nx = tf.keras.regularizers.l2(l=1)\n",
    ],
    ids=["unary1k", "unary1500", "concatenated3k"],
)
def test_deep_but_valid_code_is_analysed_and_fixed(tmp_path: Path, source: str) -> None:
    write_tree(tmp_path, {**GOOD, "deep.py": source})
    out = _check(tmp_path)
    assert out.code == 1 and out.stderr == ""
    line = _line_for(out.stdout, "deep.py")
    assert "REG010" in line
    _assert_others_checked(out.stdout)
    out = _check(tmp_path, "--fix")
    assert out.code == 0, out.out
    assert (tmp_path / "deep.py").read_text() == source.replace("l2(l=1)", "l2(l2=1)")


def test_deep_nesting_does_not_crash_a_worker_process(tmp_path: Path) -> None:
    write_tree(tmp_path, {**GOOD, "deep.py": "bias_regularizer = " + "-" * 50_000 + "1\n"})
    out = run_cli("check", "--no-cache", "-j", "2", cwd=tmp_path)
    assert out.code == 1 and "too deeply nested" in out.stdout
    _assert_others_checked(out.stdout)


def test_directory_named_like_a_python_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {**GOOD, "x.py/inner.py": KERAS2})
    out = _check(tmp_path)
    assert "x.py/inner.py:2:30: REG010" in out.stdout
    _assert_others_checked(out.stdout)
    out = _check(tmp_path, "x.py")  # named explicitly: walked as a directory
    assert out.stdout.startswith("x.py/inner.py:2:30: REG010")


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_symlink_loops(tmp_path: Path) -> None:
    write_tree(tmp_path, {**GOOD, "pkg/a.py": KERAS2})
    (tmp_path / "pkg" / "loop").symlink_to("..", target_is_directory=True)
    (tmp_path / "pkg" / "self.py").symlink_to("self.py")  # a link to itself
    (tmp_path / "pkg" / "dangling.py").symlink_to("nowhere.py")
    out = _check(tmp_path)
    assert out.stdout.count("pkg/a.py:2:30: REG010") == 1
    _assert_others_checked(out.stdout)
    assert no_traceback(out.out)
    out = _check(tmp_path, "pkg/self.py", "good.py")
    assert "pkg/self.py" in out.stdout and out.code == 1
    assert "good.py:2:30: REG010" in out.stdout


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {**GOOD, "secret.py": KERAS2})
    secret = tmp_path / "secret.py"
    if os.geteuid() == 0:  # root reads anything: simulate the permission error
        real = Path.read_bytes

        def read_bytes(self: Path) -> bytes:
            if self.name == "secret.py":
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    else:
        secret.chmod(0)
    try:
        out = _check(tmp_path)
    finally:
        secret.chmod(0o644)
    assert out.code == 1
    line = _line_for(out.stdout, "secret.py")
    assert "cannot read" in line and "Permission denied" in line
    _assert_others_checked(out.stdout)


def test_file_deleted_between_discovery_and_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {**GOOD, "gone.py": KERAS2})
    real = reglint.cli.discover

    def discover_then_delete(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = real(*args, **kwargs)
        (tmp_path / "gone.py").unlink()
        return found

    monkeypatch.setattr(reglint.cli, "discover", discover_then_delete)
    out = _check(tmp_path)
    assert out.code == 1
    assert "disappeared" in _line_for(out.stdout, "gone.py")
    _assert_others_checked(out.stdout)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("[tool.reglint]\nselect = [\n", "invalid TOML"),
        ("\xff\xfe = 1\n", "invalid TOML"),
        ("[tool.reglint]\nselect = 42\n", "select must be a list of strings"),
        ("[tool.reglint]\nexclude = [true]\n", "exclude must be a list of strings"),
        ('[tool.reglint]\nextend-select = ["REG00X"]\n', "'REG00X'"),
    ],
)
def test_bad_pyproject(tmp_path: Path, body: str, needle: str) -> None:
    write_tree(tmp_path, {**GOOD})
    (tmp_path / "pyproject.toml").write_bytes(body.encode("latin-1"))
    out = _check(tmp_path)
    assert out.code == 2
    assert needle in out.stderr and "pyproject.toml" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and no_traceback(out.out)


def test_an_unrelated_pyproject_with_bad_toml_further_up_is_reported(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "[project\n", "pkg/good.py": KERAS2})
    out = run_cli(*ARGS, cwd=tmp_path / "pkg")
    assert out.code == 2 and "pyproject.toml" in out.stderr and "invalid TOML" in out.stderr


def test_internal_error_in_one_rule_on_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = rules_by_code()["REG010"]
    real = rule.visit_Call  # type: ignore[attr-defined]

    def visit_call(self, node):  # type: ignore[no-untyped-def]
        if self.ctx.path.endswith("boom.py"):
            raise ValueError("simulated bug")
        return real(self, node)

    monkeypatch.setattr(rule, "visit_Call", visit_call)
    write_tree(tmp_path, {**GOOD, "boom.py": KERAS2 + MISSPELLED})
    out = _check(tmp_path)
    assert out.code == 2
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 1
    assert "REG010" in errors[0] and "boom.py" in errors[0] and "simulated bug" in errors[0]
    _assert_others_checked(out.stdout)
    assert "boom.py:4:" in out.stdout and "REG004" in out.stdout  # other rules still ran on it
    assert no_traceback(out.out)


def test_internal_error_in_a_project_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = rules_by_code()["REG004"]

    def check_project(cls, project):  # type: ignore[no-untyped-def]
        raise KeyError("simulated")

    monkeypatch.setattr(rule, "check_project", classmethod(check_project))
    write_tree(tmp_path, {**GOOD})
    out = _check(tmp_path)
    assert out.code == 2 and "REG004" in out.stderr and "simulated" in out.stderr
    assert "good.py:2:30: REG010" in out.stdout


def test_never_executes_the_checked_code(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    payload = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
    source = payload + KERAS2 + "if __name__ == '__main__':\n    " + payload.replace("\n", "\n    ") + "\n"
    write_tree(
        tmp_path,
        {
            "evil.py": source,
            "__init__.py": payload + "bias_regularizer = 1\n",
            "conftest.py": payload + "bias_regularizer = 1\n",
            "setup.py": payload + "bias_regularizer = 1\n",
            "__main__.py": payload + "bias_regularizer = 1\n",
            # config is data: a value that looks like code is rejected, never evaluated
            "pyproject.toml": "[tool.reglint]\nselect = [\"REG010\"]\ncache-dir = '.cache'\n",
        },
    )
    out = _check(tmp_path)
    assert out.code == 1 and "evil.py" in out.stdout
    assert check_marker(marker)
    out = _check(tmp_path, "--fix", "--unsafe-fixes")
    assert "l2(l2=1e-4)" in (tmp_path / "evil.py").read_text()
    assert check_marker(marker)
    out = run_cli("check", "--no-cache", "-j", "2", "--diff", cwd=tmp_path)
    assert check_marker(marker)


def check_marker(marker: Path) -> bool:
    return not marker.exists()


def test_every_parse_error_is_one_line(tmp_path: Path) -> None:
    # a long syntax error message is still one line of output
    write_tree(tmp_path, {"a.py": "bias_regularizer = (1,\n\n\n" + "x +\n" * 3})
    out = _check(tmp_path)
    assert len([line for line in out.stdout.splitlines() if line.startswith("a.py")]) == 1


def test_runner_survives_a_source_that_fails_to_load(monkeypatch: pytest.MonkeyPatch) -> None:
    # the library API: a file whose analysis raises RecursionError is reported, not raised
    from reglint.config import Settings

    def explode(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RecursionError

    monkeypatch.setattr(reglint.runner, "analyse_source", explode)
    result = reglint.runner.run([("a.py", KERAS2.encode())], Settings())
    assert result.parse_errors and "too deeply nested" in result.parse_errors[0].message


def test_a_bug_escaping_the_engine_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("simulated engine bug")

    monkeypatch.setattr(reglint.runner, "run", broken)
    monkeypatch.delenv("REGLINT_DEBUG", raising=False)
    write_tree(tmp_path, {**GOOD})
    out = _check(tmp_path)
    assert out.code == 2
    assert out.stderr.strip() == (
        "reglint: internal error: RuntimeError: simulated engine bug (REGLINT_DEBUG=1 shows the traceback)"
    )
