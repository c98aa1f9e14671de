"""Writing fixes (issue 3, issue 8): encodings, BOM, line endings, final newline and
permissions kept; a broken fix leaves the file untouched (exit 2 naming the rule); a file
changed on disk is not overwritten; writes are atomic, even when the write fails or reglint
is killed in the middle of a fix."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import reglint.cli
import reglint.runner
import reglint.writer
from reglint.model import Safety
from reglint.rule import PendingFix, Replace, rules_by_code
from tests.clitools import KERAS2, KERAS2_FIXED, MISSPELLED, no_traceback, run_cli, write_tree
from tests.helpers import ROOT

ARGS = ("check", "--no-cache", "-j", "1")


def _fix(tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli(*ARGS, "--fix", *args, cwd=tmp_path)


def _litter(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".reglint-tmp")]


# ------------------------------------------------------------------------------------------
# what a fixed file keeps


def test_crlf_and_bom_utf8_are_kept(tmp_path: Path) -> None:
    # A BOM means UTF-8 (Python refuses a BOM together with a latin-1 cookie), so the BOM case
    # carries UTF-8 text; the latin-1 case is the next test.
    text = "import tensorflow as tf\r\ns = 'café ñ'\r\nr = tf.keras.regularizers.l2(l=1e-4)\r\n"
    path = tmp_path / "a.py"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    out = _fix(tmp_path)
    assert out.code == 0, out.out
    expected = b"\xef\xbb\xbf" + text.replace("l(l=", "l(l2=").replace("l2(l=", "l2(l2=").encode("utf-8")
    assert path.read_bytes() == expected


def test_crlf_and_latin1_cookie_are_kept(tmp_path: Path) -> None:
    head = b"# -*- coding: latin-1 -*-\r\nimport tensorflow as tf\r\ns = 'caf\xe9 \xf1 \xa3'\r\n"
    path = tmp_path / "a.py"
    path.write_bytes(head + b"r = tf.keras.regularizers.l2(l=1e-4)\r\n")
    out = _fix(tmp_path)
    assert out.code == 0, out.out
    assert path.read_bytes() == head + b"r = tf.keras.regularizers.l2(l2=1e-4)\r\n"


def test_bom_with_latin1_cookie_is_refused_untouched(tmp_path: Path) -> None:
    # contradictory: Python itself rejects it; reglint reports it and writes nothing
    data = b"\xef\xbb\xbf# -*- coding: latin-1 -*-\r\nimport tensorflow as tf\r\nr = tf.keras.regularizers.l2(l=1)\r\n"
    path = tmp_path / "a.py"
    path.write_bytes(data)
    out = _fix(tmp_path)
    assert out.code == 1 and "a.py:1:1" in out.stdout and "cannot" in out.stdout
    assert path.read_bytes() == data


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("final", [True, False])
def test_line_endings_and_final_newline(tmp_path: Path, newline: bytes, final: bool) -> None:
    lines = [b"import tensorflow as tf", b"r = tf.keras.regularizers.l2(l=1e-4)", b"q = tf.keras.regularizers.l1(l=2)"]
    data = newline.join(lines) + (newline if final else b"")
    path = tmp_path / "a.py"
    path.write_bytes(data)
    assert _fix(tmp_path).code == 0
    assert path.read_bytes() == data.replace(b"(l=", b"(l2=").replace(b"l1(l2=", b"l1(l1=")


def test_fix_with_an_added_import_keeps_crlf(tmp_path: Path) -> None:
    # REG004's fix may add nothing; whatever a fix adds uses the file's newline
    data = MISSPELLED.replace("\n", "\r\n").encode()
    path = tmp_path / "a.py"
    path.write_bytes(data)
    assert _fix(tmp_path).code == 0
    fixed = path.read_bytes()
    assert b"REGULARIZATION_LOSSES" in fixed
    assert fixed.count(b"\r\n") == fixed.count(b"\n")


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755, 0o444])
def test_permissions_are_kept(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "a.py"
    path.write_text(KERAS2)
    path.chmod(mode)
    try:
        assert _fix(tmp_path).code == 0
        assert stat.S_IMODE(path.stat().st_mode) == mode
        assert path.read_text() == KERAS2_FIXED
    finally:
        path.chmod(0o644)


def test_a_symlink_is_followed_not_replaced(tmp_path: Path) -> None:
    write_tree(tmp_path, {"real/a.py": KERAS2})
    (tmp_path / "link.py").symlink_to("real/a.py")
    out = run_cli(*ARGS, "--fix", "link.py", cwd=tmp_path)
    assert out.code == 0, out.out
    assert (tmp_path / "link.py").is_symlink()
    assert (tmp_path / "real" / "a.py").read_text() == KERAS2_FIXED
    assert not _litter(tmp_path)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another owner")
def test_owner_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text(KERAS2)
    os.chown(path, 12345, 23456)
    assert _fix(tmp_path).code == 0
    assert (path.stat().st_uid, path.stat().st_gid) == (12345, 23456)
    assert path.read_text() == KERAS2_FIXED


# ------------------------------------------------------------------------------------------
# fixes that would break the file


def _break_fix(monkeypatch: pytest.MonkeyPatch, code: str = "REG010", text: str = "l2=(((") -> None:
    rule = rules_by_code()[code]

    def make_fix(self, *edits, imports=()):  # type: ignore[no-untyped-def]
        return PendingFix(tuple(Replace(edit.node, text) for edit in edits), Safety.SAFE, ())

    monkeypatch.setattr(rule, "make_fix", make_fix)


def test_a_fix_producing_invalid_code_leaves_the_file_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_fix(monkeypatch)
    write_tree(tmp_path, {"a.py": KERAS2, "b.py": MISSPELLED})
    before = (tmp_path / "a.py").read_bytes()
    out = _fix(tmp_path)
    assert out.code == 2
    assert (tmp_path / "a.py").read_bytes() == before
    assert "REG010" in out.stderr and "a.py" in out.stderr and "invalid code" in out.stderr
    assert "a.py:2:30: REG010" in out.stdout  # the finding of the untouched file remains
    assert "REGULARIZATION_LOSSES)" in (tmp_path / "b.py").read_text()  # the other file was fixed
    assert no_traceback(out.out)


def test_broken_fix_with_diff_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _break_fix(monkeypatch)
    write_tree(tmp_path, {"a.py": KERAS2})
    out = run_cli(*ARGS, "--diff", cwd=tmp_path)
    assert out.code == 2 and out.stdout == "" and "REG010" in out.stderr
    out = run_cli(*ARGS, "--fix", "-", cwd=tmp_path, input=KERAS2.encode())
    assert out.code == 2 and out.stdout_bytes == KERAS2.encode() and "REG010" in out.stderr


def test_only_the_broken_rule_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _break_fix(monkeypatch, "REG004", "GraphKeys.(")
    write_tree(tmp_path, {"a.py": KERAS2 + MISSPELLED})
    before = (tmp_path / "a.py").read_bytes()
    out = _fix(tmp_path)
    assert out.code == 2 and "REG004" in out.stderr and "REG010" not in out.stderr
    assert (tmp_path / "a.py").read_bytes() == before


# ------------------------------------------------------------------------------------------
# the file on disk


def test_a_file_changed_on_disk_is_not_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {"a.py": KERAS2, "b.py": KERAS2})
    edited = KERAS2 + "# the user saved this meanwhile\n"
    real = reglint.runner.run

    def run_then_edit(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)
        (tmp_path / "a.py").write_text(edited)
        return result

    monkeypatch.setattr(reglint.runner, "run", run_then_edit)
    out = _fix(tmp_path)
    assert out.code == 2
    assert (tmp_path / "a.py").read_text() == edited
    assert "a.py" in out.stderr and "changed on disk" in out.stderr
    assert (tmp_path / "b.py").read_text() == KERAS2_FIXED


def test_a_file_deleted_before_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {"a.py": KERAS2})
    real = reglint.runner.run

    def run_then_delete(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)
        (tmp_path / "a.py").unlink()
        return result

    monkeypatch.setattr(reglint.runner, "run", run_then_delete)
    out = _fix(tmp_path)
    assert out.code == 2 and "a.py" in out.stderr
    assert not (tmp_path / "a.py").exists() and not _litter(tmp_path)


@pytest.mark.parametrize("where", ["replace", "fsync", "write", "mkstemp", "chmod"])
def test_a_failing_write_leaves_the_original_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    write_tree(tmp_path, {"a.py": KERAS2, "b.py": KERAS2})
    full = OSError(errno.ENOSPC, "No space left on device")

    def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise full

    if where == "replace":
        monkeypatch.setattr(reglint.writer.os, "replace", fail)
    elif where == "fsync":
        monkeypatch.setattr(reglint.writer.os, "fsync", fail)
    elif where == "chmod":
        monkeypatch.setattr(reglint.writer.os, "chmod", fail)
    elif where == "mkstemp":
        monkeypatch.setattr(reglint.writer.tempfile, "mkstemp", fail)
    else:
        real_fdopen = os.fdopen

        class Full:
            def __init__(self, fd: int) -> None:
                self.handle = real_fdopen(fd, "wb")

            def __enter__(self):  # type: ignore[no-untyped-def]
                return self

            def __exit__(self, *exc):  # type: ignore[no-untyped-def]
                self.handle.close()

            def write(self, data: bytes) -> int:
                self.handle.write(data[: len(data) // 2])
                raise full

            def flush(self) -> None: ...

            def fileno(self) -> int:
                return self.handle.fileno()

        monkeypatch.setattr(reglint.writer.os, "fdopen", lambda fd, mode: Full(fd))
    out = _fix(tmp_path)
    assert out.code == 2
    assert (tmp_path / "a.py").read_text() == KERAS2
    assert (tmp_path / "b.py").read_text() == KERAS2
    assert "No space left on device" in out.stderr and "a.py" in out.stderr and "b.py" in out.stderr
    assert not _litter(tmp_path)
    assert no_traceback(out.out)


def test_read_only_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {"ro/a.py": KERAS2})
    directory = tmp_path / "ro"
    if os.geteuid() == 0:  # root writes anywhere: simulate the refusal
        real = reglint.writer.tempfile.mkstemp

        def mkstemp(*args, **kwargs):  # type: ignore[no-untyped-def]
            if Path(kwargs.get("dir", "")).resolve() == directory.resolve():
                raise PermissionError(errno.EACCES, "Permission denied")
            return real(*args, **kwargs)

        monkeypatch.setattr(reglint.writer.tempfile, "mkstemp", mkstemp)
    directory.chmod(0o555)
    try:
        out = _fix(tmp_path)
    finally:
        directory.chmod(0o755)
    assert out.code == 2 and "Permission denied" in out.stderr and "a.py" in out.stderr
    assert (directory / "a.py").read_text() == KERAS2


def test_interrupted_between_temp_write_and_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {"a.py": KERAS2})

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(reglint.writer.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        reglint.writer.write_atomic(tmp_path / "a.py", KERAS2_FIXED.encode(), KERAS2.encode())
    assert (tmp_path / "a.py").read_text() == KERAS2
    assert not _litter(tmp_path)


_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import reglint.writer
    real = os.replace
    limit = int(sys.argv[1])
    count = 0
    def replace(src, dst):
        global count
        count += 1
        if count > limit:
            os.kill(os.getpid(), signal.SIGKILL)  # between the temporary file and the rename
        return real(src, dst)
    reglint.writer.os.replace = replace
    from reglint.cli import main
    sys.argv = ["reglint", "check", "--no-cache", "-j", "1", "--fix", "."]
    main()
    """
)


def _many_files(root: Path, count: int) -> None:
    for index in range(count):
        (root / f"m{index:03}.py").write_text(KERAS2 + f"x{index} = tf.keras.regularizers.l1(l=0.{index})\n" * 50)


def _expected_fixed(index: int) -> str:
    return KERAS2_FIXED + f"x{index} = tf.keras.regularizers.l1(l1=0.{index})\n" * 50


def test_killed_between_temp_write_and_rename(tmp_path: Path) -> None:
    _many_files(tmp_path, 6)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _KILLER, "3"], cwd=tmp_path, env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    states = []
    for index in range(6):
        text = (tmp_path / f"m{index:03}.py").read_text()
        original = KERAS2 + f"x{index} = tf.keras.regularizers.l1(l=0.{index})\n" * 50
        assert text in (original, _expected_fixed(index))
        states.append(text == original)
    assert states == [False, False, False, True, True, True]
    litter = _litter(tmp_path)
    assert len(litter) == 1  # the temporary file of the 4th: hidden, not *.py
    # a later run is not disturbed by it and finishes the job
    out = _fix(tmp_path)
    assert out.code == 0, out.out
    assert all((tmp_path / f"m{i:03}.py").read_text() == _expected_fixed(i) for i in range(6))
    assert "reglint-tmp" not in out.out


def test_sigkill_at_a_random_moment_of_a_large_fix(tmp_path: Path) -> None:
    count = 60
    _many_files(tmp_path, count)
    originals = {i: (tmp_path / f"m{i:03}.py").read_text() for i in range(count)}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reglint", "check", "--no-cache", "-j", "1", "--fix", "."],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # kill as soon as the first file has been rewritten (in the middle of the writes)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if any((tmp_path / f"m{i:03}.py").read_text() != originals[i] for i in range(count)):
            break
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    for index in range(count):
        text = (tmp_path / f"m{index:03}.py").read_text()
        assert text in (originals[index], _expected_fixed(index)), f"m{index:03}.py is corrupt"
    out = _fix(tmp_path)
    assert out.code == 0, out.out
    assert all((tmp_path / f"m{i:03}.py").read_text() == _expected_fixed(i) for i in range(count))
