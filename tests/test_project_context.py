"""Named files are judged with their project: the other files are read for the facts the
rules judging across files need, and only the named files are reported on and fixed."""

from __future__ import annotations

from pathlib import Path

from tests.clitools import KERAS2, MODEL, TRAIN, run_cli, write_tree

ARGS = ("-j", "1", "--output-format", "concise")
CROSS = "train.py:6:12: REG001 this loss trains without the regularizers declared at model.py:4"


def _project(tmp_path: Path) -> None:
    write_tree(tmp_path, {".git/HEAD": "ref: refs/heads/main\n", "model.py": MODEL, "train.py": TRAIN})


def test_a_named_file_is_judged_with_its_project(tmp_path: Path) -> None:
    _project(tmp_path)
    out = run_cli("check", "--no-cache", *ARGS, "train.py", cwd=tmp_path)
    assert out.code == 1 and CROSS in out.stdout
    alone = run_cli("check", "--no-cache", *ARGS, "--isolated-files", "train.py", cwd=tmp_path)
    assert alone.code == 0, alone.out


def test_only_named_files_are_reported_and_fixed(tmp_path: Path) -> None:
    _project(tmp_path)
    write_tree(tmp_path, {"other.py": KERAS2})  # a finding of its own, not named
    out = run_cli("check", "--no-cache", *ARGS, "--fix", "--unsafe-fixes", "train.py", cwd=tmp_path)
    assert out.code == 0, out.out
    assert "other.py" not in out.out
    assert (tmp_path / "other.py").read_text() == KERAS2
    assert (tmp_path / "model.py").read_text() == MODEL
    assert "get_regularization_loss()" in (tmp_path / "train.py").read_text()


def test_from_a_subfolder_and_from_standard_input(tmp_path: Path) -> None:
    _project(tmp_path)
    sub = tmp_path / "notes"
    sub.mkdir()
    out = run_cli("check", "--no-cache", *ARGS, "../train.py", cwd=sub)
    assert out.code == 1 and "REG001 this loss trains without the regularizers declared at" in out.stdout
    piped = run_cli("check", *ARGS, "--stdin-filename", "train.py", "-", cwd=tmp_path, input=TRAIN.encode())
    assert piped.code == 1 and CROSS in piped.stdout


def test_the_cache_sees_a_change_in_the_project(tmp_path: Path) -> None:
    _project(tmp_path)
    assert run_cli("check", *ARGS, "train.py", cwd=tmp_path).code == 1
    (tmp_path / "model.py").write_text(MODEL.replace(", kernel_regularizer=tf.keras.regularizers.l2(1e-4)", ""))
    again = run_cli("check", *ARGS, "train.py", cwd=tmp_path)
    assert again.code == 0, again.out


def test_a_broken_file_elsewhere_in_the_project_is_not_reported(tmp_path: Path) -> None:
    _project(tmp_path)
    write_tree(tmp_path, {"broken.py": "def f(:\n"})
    out = run_cli("check", "--no-cache", *ARGS, "train.py", cwd=tmp_path)
    assert out.code == 1 and "broken.py" not in out.out
