"""The command line end to end: exit codes, configuration, selection, suppression, discovery,
standard input, --fix/--diff, the rules commands, JSON output."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clitools import CLEAN, KERAS2, KERAS2_FIXED, MISSPELLED, no_traceback, run_cli, write_tree
from tests.helpers import ROOT, reglint_cli

ARGS = ("--no-cache", "-j", "1")


def check(tmp_path: Path, *args: str, input: bytes | None = None):  # type: ignore[no-untyped-def]
    return run_cli("check", *ARGS, *args, cwd=tmp_path, input=input)


# ------------------------------------------------------------------------------------------
# exit codes


def test_exit_0_on_clean_code(tmp_path: Path) -> None:
    write_tree(tmp_path, {"clean.py": CLEAN})
    out = check(tmp_path)
    assert out.code == 0, out.out
    assert "All checks passed!" in out.stdout


def test_exit_1_on_findings_and_exit_zero(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": KERAS2})
    out = check(tmp_path)
    assert out.code == 1
    assert "a.py:2:30: REG010 [*]" in out.stdout
    assert "Found 1 problem (1 fixable)." in out.stdout
    assert check(tmp_path, "--exit-zero").code == 0


def test_exit_1_on_unparsable_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {"py2.py": 'print "bias_regularizer"\n', "clean.py": CLEAN})
    out = check(tmp_path)
    assert out.code == 1
    assert out.stdout.startswith("py2.py:1:")
    assert "cannot parse" in out.stdout and no_traceback(out.out)


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
def test_unknown_code_exits_2_naming_it(tmp_path: Path, option: str) -> None:
    write_tree(tmp_path, {"a.py": KERAS2})
    out = check(tmp_path, option, "REG010,XYZ123")
    assert out.code == 2
    assert "'XYZ123'" in out.stderr and option in out.stderr


def test_unknown_path_is_reported(tmp_path: Path) -> None:
    out = check(tmp_path, "missing.py")
    assert out.code == 1
    assert "missing.py" in out.stdout and "no such file" in out.stdout


# ------------------------------------------------------------------------------------------
# configuration


def _pyproject(tmp_path: Path, body: str) -> None:
    (tmp_path / "pyproject.toml").write_text(body, encoding="utf-8")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('[tool.reglint]\nselekt = ["REG010"]\n', "'selekt'"),
        ('[tool.reglint]\nselect = "REG010"\n', "select must be a list of strings"),
        ("[tool.reglint]\nselect = [1]\n", "select must be a list of strings"),
        ('[tool.reglint]\nrespect-gitignore = "yes"\n', "respect-gitignore"),
        ("[tool.reglint]\ncache-dir = 3\n", "cache-dir"),
        ('[tool.reglint]\nper-file-ignores = ["x"]\n', "per-file-ignores"),
        ('[tool.reglint.per-file-ignores]\n"a.py" = "REG010"\n', "per-file-ignores.a.py"),
        ('[tool.reglint]\nignore = ["NOPE9"]\n', "'NOPE9'"),
        ("[tool.reglint]\nselect = [\n", "invalid TOML"),
        ("[tool.reglint\n", "invalid TOML"),
        ("[tool]\nreglint = 3\n", "[tool.reglint] must be a table"),
    ],
)
def test_bad_config_exits_2_naming_key_and_file(tmp_path: Path, body: str, needle: str) -> None:
    write_tree(tmp_path, {"a.py": KERAS2})
    _pyproject(tmp_path, body)
    out = check(tmp_path)
    assert out.code == 2, out.out
    assert needle in out.stderr
    assert "pyproject.toml" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and no_traceback(out.out)


def test_bad_config_given_with_config_flag(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": KERAS2, "conf/pyproject.toml": "[tool.reglint]\nbogus = 1\n"})
    out = check(tmp_path, "--config", "conf/pyproject.toml")
    assert out.code == 2 and "'bogus'" in out.stderr and "conf/pyproject.toml" in out.stderr
    out = check(tmp_path, "--config", "nowhere.toml")
    assert out.code == 2 and "nowhere.toml" in out.stderr


def test_config_select_and_ignore(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": KERAS2, "b.py": MISSPELLED})
    _pyproject(tmp_path, '[tool.reglint]\nselect = ["REG010"]\n')
    out = check(tmp_path)
    assert "REG010" in out.stdout and "REG004" not in out.stdout
    _pyproject(tmp_path, '[tool.reglint]\nignore = ["REG010"]\n')
    out = check(tmp_path)
    assert "REG010" not in out.stdout and "REG004" in out.stdout
    # the command line overrides the file: --select replaces the file's select
    _pyproject(tmp_path, '[tool.reglint]\nselect = ["REG010"]\n')
    out = check(tmp_path, "--select", "REG004")
    assert "REG010" not in out.stdout and "REG004" in out.stdout


def test_select_ignore_extend_select_semantics(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": KERAS2, "b.py": MISSPELLED})

    def codes(*args: str) -> set[str]:
        out = check(tmp_path, "--output-format", "json", *args)
        return {item["code"] for item in json.loads(out.stdout)}

    assert codes() == {"REG004", "REG010"}
    assert codes("--select", "REG010") == {"REG010"}
    assert codes("--select", "REG0") == {"REG004", "REG010"}  # a prefix
    assert codes("--select", "REG0", "--ignore", "REG004") == {"REG010"}
    # the more specific selector wins
    assert codes("--ignore", "REG0", "--extend-select", "REG004") == {"REG004"}
    assert codes("--select", "REG004", "--extend-select", "REG010") == {"REG004", "REG010"}
    assert codes("--select", "REG004,REG010", "--ignore", "REG010") == {"REG004"}
    assert codes("--select", "ALL", "--ignore", "REG004") == {"REG010"}


def test_per_file_ignores(tmp_path: Path) -> None:
    write_tree(tmp_path, {"tests/t.py": KERAS2, "src/s.py": KERAS2})
    _pyproject(tmp_path, '[tool.reglint.per-file-ignores]\n"tests/*" = ["REG010"]\n')
    out = check(tmp_path)
    assert "src/s.py" in out.stdout and "tests/t.py" not in out.stdout
    (tmp_path / "pyproject.toml").unlink()
    out = check(tmp_path, "--per-file-ignores", "src/*:REG01")
    assert "src/s.py" not in out.stdout and "tests/t.py" in out.stdout
    assert check(tmp_path, "--per-file-ignores", "nocolon").code == 2


# ------------------------------------------------------------------------------------------
# suppression


def test_noqa_forms(tmp_path: Path) -> None:
    line = "r = tf.keras.regularizers.l2(l=1e-4)"
    source = "\n".join(
        [
            "import tensorflow as tf",
            f"{line}  # noqa",  # 2: all codes
            f"{line}  # noqa: REG010",  # 3
            f"{line}  # NOQA:REG004, REG010",  # 4
            f"{line}  # reglint: ignore[REG010]",  # 5
            f"{line}  # reglint: ignore",  # 6
            f"{line}  # noqa: REG004",  # 7: another code: reported
            f"{line}  # reglint: ignore[REG004]",  # 8: reported
            f's = "# noqa"; {line}',  # 9: a noqa in a string does not count
            f"{line}  # not a noqa: REG010 here? no, 'noqa' later",  # 10 reported
            's = """',
            "# noqa",
            '"""',
            f"{line}",  # 14: reported (the "# noqa" above is in a string)
            "",
        ]
    )
    write_tree(tmp_path, {"a.py": source})
    out = check(tmp_path, "--output-format", "json")
    rows = sorted(item["location"]["row"] for item in json.loads(out.stdout))
    assert rows == [7, 8, 9, 10, 14]


def test_noqa_with_crlf_and_cr(tmp_path: Path) -> None:
    for newline in ("\r\n", "\r"):
        text = f"import tensorflow as tf{newline}r = tf.keras.regularizers.l2(l=1e-4)  # noqa: REG010{newline}"
        text += f"r = tf.keras.regularizers.l2(l=1e-4){newline}"
        (tmp_path / "a.py").write_bytes(text.encode())
        out = check(tmp_path, "--output-format", "json")
        assert [item["location"]["row"] for item in json.loads(out.stdout)] == [3]


# ------------------------------------------------------------------------------------------
# discovery


def test_gitignore_excludes_and_explicit_files(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".gitignore": "generated/\nskip_me.py\n",
            "generated/g.py": KERAS2,
            "skip_me.py": KERAS2,
            "pkg/.gitignore": "local.py\n",
            "pkg/local.py": KERAS2,
            "pkg/kept.py": KERAS2,
            "build/b.py": KERAS2,  # a default exclude
            "third_party/t.py": KERAS2,
            "notes.txt": KERAS2,
        },
    )
    (tmp_path / ".git").mkdir()
    out = check(tmp_path, "--output-format", "json")
    assert sorted({i["filename"] for i in json.loads(out.stdout)}) == ["pkg/kept.py", "third_party/t.py"]
    out = check(tmp_path, "--output-format", "json", "--extend-exclude", "third_party")
    assert sorted({i["filename"] for i in json.loads(out.stdout)}) == ["pkg/kept.py"]
    # a file named explicitly is always checked, gitignored or excluded
    out = check(tmp_path, "--output-format", "json", "skip_me.py", "generated/g.py", "build/b.py")
    assert sorted({i["filename"] for i in json.loads(out.stdout)}) == ["build/b.py", "generated/g.py", "skip_me.py"]
    # respect-gitignore = false
    _pyproject(tmp_path, "[tool.reglint]\nrespect-gitignore = false\n")
    out = check(tmp_path, "--output-format", "json")
    assert "skip_me.py" in {i["filename"] for i in json.loads(out.stdout)}


def test_exclude_replaces_defaults(tmp_path: Path) -> None:
    write_tree(tmp_path, {"build/b.py": KERAS2, "src/s.py": KERAS2})
    out = check(tmp_path, "--output-format", "json", "--exclude", "src")
    assert {i["filename"] for i in json.loads(out.stdout)} == {"build/b.py"}


# ------------------------------------------------------------------------------------------
# standard input


def test_stdin_with_filename_and_config(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": '[tool.reglint.per-file-ignores]\n"tests/*" = ["REG010"]\n'})
    (tmp_path / "tests").mkdir()
    out = check(tmp_path, "--stdin-filename", "pkg/model.py", "-", input=KERAS2.encode())
    assert out.code == 1 and out.stdout.startswith("pkg/model.py:2:30: REG010")
    out = check(tmp_path, "--stdin-filename", "tests/t.py", "-", input=KERAS2.encode())
    assert out.code == 0, out.out
    out = check(tmp_path, "-", input=KERAS2.encode())
    assert out.stdout.startswith("-:2:30: REG010")


def test_fix_stdin_writes_fixed_source_to_stdout(tmp_path: Path) -> None:
    out = check(tmp_path, "--fix", "--stdin-filename", "m.py", "-", input=KERAS2.encode())
    assert out.stdout_bytes == KERAS2_FIXED.encode()
    assert "1 fixed" in out.stderr
    assert out.code == 0
    # nothing to fix: the input comes back unchanged
    out = check(tmp_path, "--fix", "-", input=CLEAN.encode())
    assert out.stdout_bytes == CLEAN.encode()
    # an unparsable input comes back unchanged too
    out = check(tmp_path, "--fix", "-", input=b'print "bias_regularizer"\n')
    assert out.stdout_bytes == b'print "bias_regularizer"\n' and out.code == 1


def test_stdin_combined_with_paths_is_a_usage_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": KERAS2})
    out = check(tmp_path, "-", "a.py", input=b"")
    assert out.code == 2 and "standard input" in out.stderr


# ------------------------------------------------------------------------------------------
# --fix and --diff


def _project(tmp_path: Path) -> dict[str, str]:
    files = {
        "a.py": KERAS2,
        "sub/b.py": MISSPELLED + "r = tf.keras.regularizers.l1(l=0.5)\n",
        "c.py": "import tensorflow as tf\nx = tf.keras.regularizers.l2(l=1)",  # no final newline
        "d.py": CLEAN,
        "e.py": KERAS2.replace("\n", "\r\n"),
        "f.py": KERAS2.replace("\n", "\r"),
    }
    write_tree(tmp_path, files)
    return files


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def test_diff_writes_nothing_and_matches_fix_with_patch(tmp_path: Path) -> None:
    if shutil.which("patch") is None:
        pytest.skip("patch is not installed")
    work, fixed = tmp_path / "work", tmp_path / "fixed"
    work.mkdir()
    fixed.mkdir()
    _project(work)
    _project(fixed)
    before = _snapshot(work)
    out = check(work, "--diff")
    assert out.code == 1
    assert _snapshot(work) == before  # --diff writes nothing
    assert "Would fix 6 errors in 5 files." in out.stderr
    assert check(fixed, "--fix").code == 0
    assert _snapshot(fixed) != before
    subprocess.run(["patch", "-p0", "--quiet"], cwd=work, input=out.stdout_bytes, check=True)
    assert _snapshot(work) == _snapshot(fixed)
    # once fixed, there is no diff
    out = check(fixed, "--diff")
    assert out.code == 0 and out.stdout == ""


def test_diff_applies_with_git_apply(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    work, fixed = tmp_path / "work", tmp_path / "fixed"
    work.mkdir()
    fixed.mkdir()
    _project(work)
    _project(fixed)
    out = check(work, "--diff")
    check(fixed, "--fix")
    git = subprocess.run(
        ["git", "apply", "-p0", "--unsafe-paths", "--whitespace=nowarn", "-"],
        cwd=work,
        input=out.stdout_bytes,
        capture_output=True,
    )
    assert git.returncode == 0, git.stderr.decode()
    assert _snapshot(work) == _snapshot(fixed)


def test_fix_reports_remaining_and_is_idempotent(tmp_path: Path) -> None:
    _project(tmp_path)
    out = check(tmp_path, "--fix")
    assert out.code == 0
    assert "Found 6 errors (6 fixed, 0 remaining)." in out.stdout
    assert (tmp_path / "a.py").read_text() == KERAS2_FIXED
    assert (tmp_path / "c.py").read_bytes().endswith(b"l2=1)")
    after = _snapshot(tmp_path)
    out = check(tmp_path, "--fix")
    assert _snapshot(tmp_path) == after
    assert "All checks passed!" in out.stdout


def test_fix_only(tmp_path: Path) -> None:
    _project(tmp_path)
    out = check(tmp_path, "--fix-only")
    assert out.code == 0 and "Fixed 6 errors." in out.stdout
    assert "REG010" not in out.stdout


# ------------------------------------------------------------------------------------------
# rules commands, output


def test_rules_and_rule_commands(tmp_path: Path) -> None:
    out = run_cli("rules", cwd=tmp_path)
    assert out.code == 0
    assert any(line.startswith("REG004") and "misspelled-collection-key" in line for line in out.stdout.splitlines())
    rules = json.loads(run_cli("rules", "--output-format", "json", cwd=tmp_path).stdout)
    assert {"code", "name", "summary", "fix", "default"} <= set(rules[0])
    out = run_cli("rule", "REG004", cwd=tmp_path)
    assert out.code == 0 and "## What it does" in out.stdout and "REG004" in out.stdout
    assert run_cli("rule", "misspelled-collection-key", cwd=tmp_path).code == 0
    out = run_cli("rule", "REG999", cwd=tmp_path)
    assert out.code == 2 and "REG999" in out.stderr


def test_json_output_fields(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": KERAS2, "bad.py": "def f(:\n  bias_regularizer\n"})
    out = check(tmp_path, "--output-format", "json")
    assert out.code == 1
    items = json.loads(out.stdout)
    finding = next(i for i in items if i["code"] == "REG010")
    assert finding["name"] == "keras2-regularizer-keyword"
    assert finding["filename"] == "a.py"
    assert finding["location"] == {"row": 2, "column": 30}
    assert finding["end_location"] == {"row": 2, "column": 36}
    assert finding["fix"]["applicability"] == "safe" and finding["fix"]["available"] is True
    assert "l=" in finding["message"]
    error = next(i for i in items if i["filename"] == "bad.py")
    assert error["code"] is None and error["name"] == "parse-error"


def test_findings_sorted_by_path_and_position(tmp_path: Path) -> None:
    line = "r = tf.keras.regularizers.l2(l=1e-4)"
    body = f"import tensorflow as tf\n{line}; {line}\n{line}\n"
    write_tree(tmp_path, {"z.py": body, "a/b.py": body, "a.py": body, "m.py": 'print "bias_regularizer"\n'})
    out = check(tmp_path)
    lines = [line.split(": ")[0] for line in out.stdout.splitlines() if line.count(":") >= 3]
    keys = [(p.rsplit(":", 2)[0], int(p.rsplit(":", 2)[1]), int(p.rsplit(":", 2)[2])) for p in lines]
    assert keys == sorted(keys)
    assert [k[0] for k in keys] == ["a.py"] * 3 + ["a/b.py"] * 3 + ["m.py"] + ["z.py"] * 3
    # the same order with several worker processes
    parallel = run_cli("check", "--no-cache", "-j", "2", cwd=tmp_path)
    assert parallel.stdout == out.stdout


def test_python_dash_m_reglint(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": KERAS2})
    proc = reglint_cli("check", "--no-cache", "a.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert b"a.py:2:30: REG010" in proc.stdout
    assert reglint_cli("--version").returncode == 0


def test_examples_directory(tmp_path: Path) -> None:
    out = run_cli("check", *ARGS, str(ROOT / "examples"), cwd=tmp_path)
    assert out.code == 1 and "REG004" in out.stdout and "REG010" in out.stdout


def test_issue2_acceptance_mixed_directory(tmp_path: Path) -> None:
    # an unparsable file, a non-UTF-8 file with a coding cookie, a file with a BOM, the seeds
    write_tree(
        tmp_path,
        {
            "broken.py": "import tensorflow as tf\ndef f(:\n    tf.GraphKeys.REGULARIZATION_LOSSES\n",
            "cookie.py": b"# -*- coding: latin-1 -*-\nimport tensorflow as tf\n# caf\xe9\n"
            + MISSPELLED.split("\n", 1)[1].encode(),
            "bom.py": b"\xef\xbb\xbf" + KERAS2.encode(),
            "clean.py": CLEAN,
        },
    )
    for example in (ROOT / "examples").glob("*.py"):
        shutil.copy(example, tmp_path / example.name)
    out = check(tmp_path)
    assert out.code == 1 and no_traceback(out.out) and out.stderr == ""
    lines = out.stdout.splitlines()
    assert lines[0].startswith("bom.py:2:30: REG010")
    assert lines[1].startswith("broken.py:") and "error: cannot parse: SyntaxError" in lines[1]
    assert lines[2].startswith("cookie.py:4:") and "REG004" in lines[2]
    assert any(line.startswith("seed002_train.py:21:") and "REG004" in line for line in lines)
    assert any(line.startswith("keras2_model.py:7:") and "REG010" in line for line in lines)
    assert not any(line.startswith("clean") for line in lines)
