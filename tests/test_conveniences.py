"""The Ruff conveniences: -V, --no-unsafe-fixes, --ignore-noqa, file-level noqa,
--output-file, --exit-non-zero-on-fix, --stdin-filename without `-`, `reglint clean`."""

from __future__ import annotations

from pathlib import Path

from tests.clitools import KERAS2, KERAS2_FIXED, MISSPELLED, run_cli, write_tree

ARGS = ("--no-cache", "-j", "1", "--output-format", "concise")


def test_short_version_flag(tmp_path: Path) -> None:
    out = run_cli("-V", cwd=tmp_path)
    assert out.code == 0 and out.stdout.startswith("reglint, version ")


def test_file_level_noqa_and_ignore_noqa(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "# reglint: noqa\n" + KERAS2, "b.py": "# reglint: noqa: REG004\n" + KERAS2})
    out = run_cli("check", *ARGS, ".", cwd=tmp_path)
    assert out.code == 1 and "a.py" not in out.stdout and "b.py:3:" in out.stdout
    every = run_cli("check", *ARGS, "--ignore-noqa", ".", cwd=tmp_path)
    assert "a.py:3:" in every.stdout and "b.py:3:" in every.stdout


def test_an_unused_file_level_noqa_is_reported_on_its_own_line(tmp_path: Path) -> None:
    """REG100 points at the comment that suppresses nothing, wherever it is in the file (a
    file-level one was reported on line 1), and judges each file-level comment by itself."""
    source = "import tensorflow as tf\n\n# reglint: noqa: REG010\n# reglint: noqa: REG004\n" + KERAS2.split("\n", 1)[1]
    write_tree(tmp_path, {"a.py": source})
    out = run_cli("check", *ARGS, "--select", "REG004,REG010,REG100", ".", cwd=tmp_path)
    assert "a.py:5:" not in out.stdout  # REG010's finding is suppressed
    assert "a.py:4:1: REG100 `# reglint: noqa: REG004` suppresses nothing in this file" in out.stdout
    assert "a.py:3:" not in out.stdout and "a.py:1:" not in out.stdout


def test_no_unsafe_fixes_undoes_unsafe_fixes(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": MISSPELLED.replace("tf.GraphKeys.REGULARIZATOIN_LOSSES", "'regularization_loss'")})
    on = run_cli("check", *ARGS, "--unsafe-fixes", "--statistics", ".", cwd=tmp_path)
    off = run_cli("check", *ARGS, "--unsafe-fixes", "--no-unsafe-fixes", "--statistics", ".", cwd=tmp_path)
    assert "[*]" in on.stdout and "[*]" not in off.stdout


def test_output_file_and_exit_non_zero_on_fix(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": KERAS2})
    out = run_cli("check", *ARGS, "-o", "report.txt", ".", cwd=tmp_path)
    assert out.code == 1 and out.stdout == ""
    assert "m.py:2:" in (tmp_path / "report.txt").read_text()
    fixed = run_cli("check", *ARGS, "--fix", "--exit-non-zero-on-fix", ".", cwd=tmp_path)
    assert fixed.code == 1 and (tmp_path / "m.py").read_text() == KERAS2_FIXED
    assert run_cli("check", *ARGS, "--fix", "--exit-non-zero-on-fix", ".", cwd=tmp_path).code == 0


def test_stdin_filename_alone_reads_standard_input(tmp_path: Path) -> None:
    out = run_cli("check", *ARGS, "--stdin-filename", "m.py", cwd=tmp_path, input=KERAS2.encode())
    assert out.code == 1 and "m.py:2:" in out.stdout


def test_clean_removes_the_cache_it_made_and_nothing_else(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": KERAS2})
    assert run_cli("check", "-j", "1", ".", cwd=tmp_path).code == 1
    assert (tmp_path / ".reglint_cache").is_dir()
    out = run_cli("clean", cwd=tmp_path)
    assert out.code == 0 and not (tmp_path / ".reglint_cache").exists()
    mine = tmp_path / "mine"
    write_tree(mine, {"notes.txt": "keep me\n"})
    assert run_cli("check", "-j", "1", "--cache-dir", "mine", "m.py", cwd=tmp_path).code == 1
    assert run_cli("clean", "--cache-dir", "mine", cwd=tmp_path).code == 0
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_show_fixes_lists_the_fixes_per_file_and_rule(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": KERAS2 + "q = tf.keras.regularizers.l1(l=0.1)\n"})
    out = run_cli("check", *ARGS, "--fix", "--show-fixes", ".", cwd=tmp_path)
    assert out.code == 0
    assert "Fixed 2 errors:\n- m.py:\n    2 × REG010 (keras2-regularizer-keyword)\n" in out.stdout  # noqa: RUF001


def test_add_noqa_suppresses_every_finding_and_changes_nothing_else(tmp_path: Path) -> None:
    source = (
        "import tensorflow as tf\n"
        "r = tf.keras.regularizers.l2(l=1e-4)  # noqa: REG004\n"
        'doc = """\n'
        'tf.keras.regularizers.l2(l=1)"""\n'
        "s = tf.keras.regularizers.l1(l=0.1)\r\n"
        "t = tf.get_collection(tf.GraphKeys.REGULARIZATOIN_LOSSES)\n"
    )
    (tmp_path / "m.py").write_bytes(source.encode())
    out = run_cli("check", *ARGS, "--add-noqa", ".", cwd=tmp_path)
    assert out.code == 0 and "Added 3 noqa directives." in out.stdout
    assert (tmp_path / "m.py").read_bytes().decode() == (
        "import tensorflow as tf\n"
        "r = tf.keras.regularizers.l2(l=1e-4)  # noqa: REG004, REG010\n"
        'doc = """\n'
        'tf.keras.regularizers.l2(l=1)"""\n'
        "s = tf.keras.regularizers.l1(l=0.1)  # noqa: REG010\r\n"
        "t = tf.get_collection(tf.GraphKeys.REGULARIZATOIN_LOSSES)  # noqa: REG004\n"
    )
    assert run_cli("check", *ARGS, ".", cwd=tmp_path).code == 0


def test_add_noqa_counts_lines_as_python_does(tmp_path: Path) -> None:
    # a form feed (as in CPython's own sources) and U+2028 are not line breaks for Python
    source = "import tensorflow as tf\n\x0c\nx = 1  # \u2028 inside a comment\nr = tf.keras.regularizers.l2(l=1e-4)\n"
    (tmp_path / "m.py").write_bytes(source.encode())
    out = run_cli("check", *ARGS, "--add-noqa", ".", cwd=tmp_path)
    assert out.code == 0 and "Added 1 noqa directive." in out.stdout
    assert (tmp_path / "m.py").read_bytes().decode() == source.replace("(l=1e-4)\n", "(l=1e-4)  # noqa: REG010\n")
    assert run_cli("check", *ARGS, ".", cwd=tmp_path).code == 0


def test_verbose_says_what_is_used(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.py": KERAS2, "requirements.txt": "tensorflow==2.16.1\n"})
    out = run_cli("check", "-j", "1", "-v", ".", cwd=tmp_path)
    assert "tensorflow-version: ==2.16.1 (from requirements.txt:1" in out.stderr
    assert "files: 1 checked" in out.stderr and "cache: " in out.stderr
