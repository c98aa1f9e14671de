"""The TensorFlow / Keras target: specifiers, inference from every declaration source (read
as data, never run), conflicts, and what rules and fixes do on each target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reglint.requirements import infer_target
from reglint.target import Target, TargetError, parse_spec
from tests.clitools import KERAS2, KERAS2_FIXED, run_cli, write_tree

ARGS = ("--no-cache", "-j", "1", "--output-format", "concise")
CONTRIB = "import tensorflow as tf\nr = tf.contrib.layers.l2_regularizer(0.1)\n"


def check(tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli("check", *ARGS, *args, cwd=tmp_path)


def infer(root: Path, notebooks: tuple[Path, ...] = ()) -> tuple[Target, list[str]]:
    warnings: list[str] = []
    target, _ = infer_target(root, warnings.append, dict.fromkeys(notebooks))
    return target, warnings


def lines(spec: str) -> list[str]:
    return [str(v) for v in Target(tensorflow=spec).tensorflow_lines or ()]


# -- specifiers -----------------------------------------------------------------------------
def test_a_bare_version_is_its_line_and_specifiers_are_ranges() -> None:
    assert lines("1.15") == ["1.15"]
    assert lines("2.16.1") == ["2.16"]
    assert lines(">=2.4,<2.7") == ["2.4", "2.5", "2.6"]
    assert lines("<1.2") == ["0.12", "1.0", "1.1"]
    assert lines("==2.3.0rc0") == ["2.3"]
    with pytest.raises(TargetError):
        parse_spec("one point fifteen")
    with pytest.raises(TargetError):
        parse_spec("1.15.x")


def test_what_a_target_admits() -> None:
    assert Target(tensorflow="1.15").tensorflow_1_only()
    assert Target(tensorflow="<2").tensorflow_1_only()
    assert not Target(tensorflow=">=1.15").tensorflow_1_only()
    assert not Target().tensorflow_1_only()
    assert Target().admits_keras_3()  # unknown: it may
    assert not Target(tensorflow=">=2.4,<2.16").admits_keras_3()
    assert Target(tensorflow=">=2.4").admits_keras_3()
    assert Target(keras=">=3").admits_keras_3()
    assert not Target(keras="2.15").admits_keras_3()
    assert Target(tensorflow="2.16").tensorflow_at_least("2.3")
    assert not Target(tensorflow=">=2.0").tensorflow_at_least("2.3")


# -- inference sources --------------------------------------------------------------------
def test_requirements_with_includes_and_a_cycle(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "requirements.txt": "numpy  # maths\n-r requirements/base.txt\n",
            "requirements/base.txt": "-r ../requirements.txt\n--index-url https://example.org/simple\n"
            "tensorflow-gpu==1.14.0 ; python_version < '3.8'\n",
        },
    )
    target, warnings = infer(tmp_path)
    assert target.tensorflow == "==1.14.0"
    assert target.tensorflow_origin == "requirements/base.txt:3"
    assert warnings == []


def test_a_missing_include_is_a_warning(tmp_path: Path) -> None:
    write_tree(tmp_path, {"requirements.txt": "-r missing.txt\ntensorflow<2\n"})
    target, warnings = infer(tmp_path)
    assert target.tensorflow == "<2"
    assert len(warnings) == 1 and "missing.txt" in warnings[0]


def test_pyproject_project_optional_and_poetry(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "p"\ndependencies = ["numpy"]\n'
            '[project.optional-dependencies]\ngpu = ["tensorflow-gpu>=2.4,<2.11"]\n'
        },
    )
    assert infer(tmp_path)[0].tensorflow == "<2.11,>=2.4"
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry.dependencies]\npython = "^3.7"\ntensorflow = "^1.15"\nkeras = {version = "~2.3"}\n'
    )
    target, _ = infer(tmp_path)
    assert target.tensorflow_lines is not None and [str(v) for v in target.tensorflow_lines] == ["1.15"]
    assert [str(v) for v in target.keras_lines or ()] == ["2.3"]


def test_setup_cfg_and_setup_py_are_read_not_run(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "setup.cfg": "[options]\ninstall_requires =\n    numpy\n    tensorflow>=1.12,<2\n",
            "setup.py": "raise SystemExit('setup.py must never run')\n"
            "from setuptools import setup\n"
            "REQUIRED = ['tensorflow==1.15.2', 'tf-keras']\n"
            "setup(name='p', install_requires=REQUIRED)\n",
        },
    )
    target, warnings = infer(tmp_path)
    assert target.tensorflow == "==1.15.2"  # the most specific of the two
    assert target.tensorflow_origin == "setup.py:3 install_requires"
    assert target.tf_keras
    assert warnings == []


def test_environment_yml_conda_and_pip(tmp_path: Path) -> None:
    write_tree(tmp_path, {"environment.yml": "name: e\ndependencies:\n  - python=3.7\n  - tensorflow-gpu=1.15\n"})
    assert lines(infer(tmp_path)[0].tensorflow or "") == ["1.15"]
    (tmp_path / "environment.yml").write_text(
        "dependencies:\n  - conda-forge::numpy\n  - pip:\n    - keras==2.3.1\n    - tensorflow>=2.8\n"
    )
    target, _ = infer(tmp_path)
    assert target.tensorflow == ">=2.8" and target.keras == "==2.3.1"


def test_pipfile(tmp_path: Path) -> None:
    write_tree(tmp_path, {"Pipfile": '[packages]\ntensorflow = "==2.2.0"\nnumpy = "*"\n'})
    assert infer(tmp_path)[0].tensorflow == "==2.2.0"
    (tmp_path / "Pipfile").write_text('[packages]\ntensorflow = {version = "<2", index = "pypi"}\n')
    assert infer(tmp_path)[0].tensorflow == "<2"


def test_notebook_pip_install_lines(tmp_path: Path) -> None:
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["!pip install -q tensorflow==1.15 keras\n"]}
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    write_tree(tmp_path, {"train.ipynb": json.dumps(notebook)})
    target, _ = infer(tmp_path, (tmp_path / "train.ipynb",))
    assert target.tensorflow == "==1.15" and target.tensorflow_origin == "train.ipynb cell 1"


def test_nothing_declared_is_unknown(tmp_path: Path) -> None:
    write_tree(tmp_path, {"requirements.txt": "numpy\n", "setup.py": "print('hello')\n"})
    target, warnings = infer(tmp_path)
    assert target == Target() and warnings == []


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("pyproject.toml", "[project\ndependencies = ['tensorflow==1.15']\n"),
        ("setup.py", "setup(install_requires=['tensorflow==1.15']\n"),
        ("environment.yml", "dependencies: [tensorflow=1.15\n"),
        ("Pipfile", "[packages\n"),
        ("setup.cfg", "[options\ninstall_requires = tensorflow\n"),
        ("requirements.txt", "tensorflow==1.15.x.y\n"),
    ],
)
def test_a_malformed_file_is_one_warning_then_unknown(tmp_path: Path, name: str, content: str) -> None:
    write_tree(tmp_path, {name: content})
    target, warnings = infer(tmp_path)
    assert target.tensorflow is None
    assert len(warnings) == 1 and "\n" not in warnings[0], warnings


# -- rules and fixes on a target ------------------------------------------------------------
def test_reg005_is_not_reported_on_a_tensorflow_1_project(tmp_path: Path) -> None:
    write_tree(tmp_path, {"requirements.txt": "tensorflow-gpu==1.14\n", "model.py": CONTRIB})
    assert check(tmp_path).code == 0
    upgrade = check(tmp_path, "--tensorflow-version", "2.16")
    assert upgrade.code == 1 and "REG005" in upgrade.out


def test_reg010_only_where_keras_3_may_run_and_fixed_only_where_l2_exists(tmp_path: Path) -> None:
    write_tree(tmp_path, {"model.py": KERAS2})
    assert check(tmp_path, "--tensorflow-version", ">=2.4,<2.16").code == 0
    # may run on TensorFlow 2.0 to 2.2, whose l2() takes only `l`: reported, never fixed
    wide = check(tmp_path, "--tensorflow-version", ">=2.0", "--fix")
    assert wide.code == 1 and "REG010" in wide.out and "Keras 3 (TensorFlow >= 2.16)" in wide.out
    assert (tmp_path / "model.py").read_text() == KERAS2
    fixed = check(tmp_path, "--tensorflow-version", "2.16", "--fix")
    assert fixed.code == 0, fixed.out
    assert (tmp_path / "model.py").read_text() == KERAS2_FIXED


def test_configured_target_wins_over_declarations_and_show_settings_says_so(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.reglint]\ntensorflow-version = "2.16"\n',
            "requirements.txt": "tensorflow==1.15\nkeras==2.3.1\n",
            "model.py": CONTRIB,
        },
    )
    out = check(tmp_path, "--show-settings")
    assert out.code == 0
    assert "tensorflow-version: 2.16 (from " in out.stdout and "[tool.reglint] tensorflow-version;" in out.stdout
    assert "keras-version: ==2.3.1 (from requirements.txt:2" in out.stdout
    assert "requirements.txt:1: tensorflow==1.15" in out.stdout
    assert check(tmp_path).code == 1
    # a reglint.toml holds its settings at top level: no [tool.reglint] in the origin
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "reglint.toml").write_text('tensorflow-version = "2.16"\n')
    out = check(tmp_path, "--show-settings")
    assert "reglint.toml tensorflow-version;" in out.stdout and "[tool.reglint]" not in out.stdout


@pytest.mark.parametrize("args", [("--tensorflow-version", "banana"), ("--keras-version", ">=three")])
def test_a_bad_version_is_a_usage_error(tmp_path: Path, args: tuple[str, ...]) -> None:
    write_tree(tmp_path, {"model.py": KERAS2})
    out = check(tmp_path, *args)
    assert out.code == 2 and "not a version" in out.stderr


def test_a_bad_configured_version_names_the_key(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "[tool.reglint]\ntensorflow-version = 1.15\n", "m.py": KERAS2})
    out = check(tmp_path)
    assert out.code == 2 and "tensorflow-version must be a string" in out.stderr


def test_the_cache_keeps_targets_apart(tmp_path: Path) -> None:
    write_tree(tmp_path, {"model.py": CONTRIB})
    cached = ("-j", "1", "--output-format", "concise")
    first = run_cli("check", *cached, "--tensorflow-version", "1.15", cwd=tmp_path)
    second = run_cli("check", *cached, "--tensorflow-version", "2.16", cwd=tmp_path)
    assert first.code == 0 and second.code == 1, (first.out, second.out)


def test_a_new_target_keeps_the_files_results_and_still_withholds_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target chooses the rules and the fixes that run; a file's analysis does not read
    it. Editing a requirements file keeps every file's cached result (the same rules run),
    and the fixes the new target cannot run are still withheld."""
    from dataclasses import replace

    from reglint import runner
    from reglint.cache import Cache
    from reglint.config import Settings

    analysed: list[str] = []
    real = runner._analyse

    def counting(path: str, raw: bytes, *args: object, **kwargs: object) -> object:
        analysed.append(path)
        return real(path, raw, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "_analyse", counting)
    items = [("m.py", KERAS2.encode())]

    def check(spec: str) -> list[bool]:
        settings = replace(Settings(), target=Target(tensorflow=spec))
        cache = Cache(tmp_path / ".reglint_cache", settings.fingerprint)
        result = runner.run(items, settings, jobs=1, cache=cache)
        return [f.fix is not None for f in result.findings if f.code == "REG010"]

    assert check("2.16") == [True]
    assert analysed == ["m.py"]
    assert check(">=2.0") == [False]  # TensorFlow 2.2 has no `l2=`: reported, not fixed
    assert analysed == ["m.py"]  # answered from the cache


def test_stdin_is_judged_with_the_project_of_its_filename(tmp_path: Path) -> None:
    write_tree(tmp_path, {"proj/requirements.txt": "tensorflow==1.15\n"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    name = str(tmp_path / "proj" / "pkg" / "model.py")
    out = run_cli("check", *ARGS, "--stdin-filename", name, "-", cwd=elsewhere, input=CONTRIB.encode())
    assert out.code == 0, out.out
    out = run_cli(
        "check", *ARGS, "--stdin-filename", str(elsewhere / "m.py"), "-", cwd=elsewhere, input=CONTRIB.encode()
    )
    assert out.code == 1 and "REG005" in out.out
