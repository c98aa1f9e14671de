"""The language server's state without the protocol (in process, fast): projects, documents
over the disk, the memory of results, and a failing rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from reglint import runner
from reglint.lsp.session import Session, is_settings_file
from reglint.rules.reg010_keras2_regularizer_keyword import Keras2RegularizerKeyword

KERAS2 = (
    "from tensorflow.keras import layers, regularizers\n"
    "a = layers.Dense(1, kernel_regularizer=regularizers.l2(l=0.1))\n"
    "b = layers.Dense(1, kernel_initializer=regularizers.l2(0.1))\n"
)
MODEL = (
    "import tensorflow.compat.v1 as tf\n\n\ndef build(x):\n"
    "    return tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.1))\n"
)
TRAIN = (
    "import tensorflow.compat.v1 as tf\nfrom model import build\n\n"
    "loss = tf.reduce_mean(tf.square(build(x) - y))\n"
    "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
)


def session(root: Path) -> tuple[Session, list[str]]:
    lines: list[str] = []
    return Session([root], lines.append, jobs=1), lines


def codes(found: object) -> list[str]:
    return sorted(f.code for f in found.findings)  # type: ignore[attr-defined]


def test_the_editors_text_wins_over_the_disk_for_the_document_and_its_project(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(TRAIN)
    state, _ = session(tmp_path)
    train = str(tmp_path / "train.py")
    assert codes(state.check([train])[train]) == ["REG001"]
    # model.py edited in the editor, not saved: train.py is judged with the edit
    state.open(
        str(tmp_path / "model.py"), MODEL.replace(", kernel_regularizer=tf.keras.regularizers.l2(0.1)", "").encode()
    )
    assert codes(state.check([train])[train]) == []
    state.close(str(tmp_path / "model.py"))
    assert codes(state.check([train])[train]) == ["REG001"]


def test_an_unchanged_file_is_not_analysed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "k.py").write_text(KERAS2)
    analysed: list[str] = []
    real = runner._analyse

    def counting(path: str, raw: bytes, *args: object, **kwargs: object) -> object:
        analysed.append(Path(path).name)
        return real(path, raw, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "_analyse", counting)
    monkeypatch.setenv("REGLINT_CACHE_DIR", str(tmp_path / "cache"))
    state, _ = session(tmp_path)
    k = str(tmp_path / "k.py")
    state.check([k])
    assert sorted(set(analysed)) == ["k.py", "model.py", "train.py"]
    analysed.clear()
    state.check([k])
    assert analysed == []
    state.open(k, (KERAS2 + "# edited\n").encode())
    assert codes(state.check([k])[k]) == ["REG002", "REG010"]
    assert set(analysed) == {"k.py"}  # (twice, when a project rule asks for the rules it skipped)


def test_files_changed_on_disk_and_settings_files(tmp_path: Path) -> None:
    (tmp_path / "k.py").write_text(KERAS2)
    state, _ = session(tmp_path)
    k = str(tmp_path / "k.py")
    assert codes(state.check([k])[k]) == ["REG002", "REG010"]
    (tmp_path / "reglint.toml").write_text('ignore = ["REG002"]\n')
    assert state.disk_changed([str(tmp_path / "reglint.toml")]) is True
    assert codes(state.check([k])[k]) == ["REG010"]
    new = tmp_path / "new.py"
    new.write_text(KERAS2)
    assert state.disk_changed([str(new)]) is False
    assert str(new) in state.project_of(k).files
    new.unlink()
    state.disk_changed([str(new)])
    assert str(new) not in state.project_of(k).files
    assert all(is_settings_file(p) for p in ("a/pyproject.toml", "requirements-dev.txt", "requirements/gpu.txt"))
    assert not any(is_settings_file(p) for p in ("a/model.py", "notes.txt"))


def test_excluded_documents_report_nothing(tmp_path: Path) -> None:
    (tmp_path / "reglint.toml").write_text('extend-exclude = ["vendor"]\n')
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "k.py").write_text(KERAS2)
    state, _ = session(tmp_path)
    k = str(tmp_path / "vendor" / "k.py")
    outcome = state.check([k])[k]
    assert outcome.excluded and outcome.findings == []


def test_a_failing_rule_is_reported_and_the_others_still_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "k.py").write_text(KERAS2)

    def broken(self: object, node: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(Keras2RegularizerKeyword, "visit_Call", broken, raising=False)
    state, _ = session(tmp_path)
    k = str(tmp_path / "k.py")
    outcome = state.check([k])[k]
    assert codes(outcome) == ["REG002"]
    assert [(e.code, "a bug" in e.message) for e in outcome.internal_errors] == [("REG010", True)]


def test_a_configuration_that_does_not_load_is_told_once_and_the_defaults_hold(tmp_path: Path) -> None:
    (tmp_path / "reglint.toml").write_text("no-such-key = 1\n")
    (tmp_path / "k.py").write_text(KERAS2)
    state, told = session(tmp_path)
    k = str(tmp_path / "k.py")
    assert codes(state.check([k])[k]) == ["REG002", "REG010"]
    state.check([k])
    assert len([line for line in told if "no-such-key" in line]) == 1


def test_a_file_outside_the_workspace_and_any_project_is_judged_alone(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "k.py").write_text(KERAS2)
    (loose / "other.py").write_text(KERAS2)
    state = Session([workspace], lambda line: None, jobs=1)
    k = str(loose / "k.py")
    assert codes(state.check([k])[k]) == ["REG002", "REG010"]
    assert state.project_of(k).files == {}


def test_a_file_that_cannot_be_read_says_so(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "pipe.py")  # not a regular file: never read (it would block)
    state, _ = session(tmp_path)
    pipe = str(tmp_path / "pipe.py")
    outcome = state.check([pipe])[pipe]
    assert outcome.read_error == "cannot read: not a regular file" and outcome.findings == []


def test_a_configured_cache_outside_the_project_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as on the command line (exit 2 there): a configuration may not make the server write anywhere
    monkeypatch.delenv("REGLINT_CACHE_DIR", raising=False)
    project = tmp_path / "project"
    project.mkdir()
    outside = tmp_path / "elsewhere"
    (project / "reglint.toml").write_text(f"cache-dir = {str(outside)!r}\n")
    (project / "k.py").write_text(KERAS2)
    state, told = session(project)
    k = str(project / "k.py")
    assert codes(state.check([k])[k]) == ["REG002", "REG010"]
    assert not outside.exists()
    assert any("outside the project" in line for line in told)
