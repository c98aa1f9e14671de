"""The composite GitHub Action, run as the Actions runner runs it: each step's script under
`bash -eo pipefail` with the step's `env:` (inputs substituted), RUNNER_TEMP and
GITHUB_ACTION_PATH set. Its install step pip-installs this checkout into a fresh virtual
environment, so the test needs PyPI for reglint's dependencies (as CI has)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

yaml = pytest.importorskip("yaml")

ACTION = ROOT / "action.yml"
BAD = "from tensorflow.keras import regularizers\n\nr = regularizers.l2(l=1e-4)\n"


def _substitute(value: str, inputs: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*inputs\.(\w+)\s*\}\}", lambda m: inputs[m.group(1)], value)


def _action_checkout(target: Path) -> Path:
    """A copy of this checkout as the runner would check the action out (pip builds in the
    source tree, which must not be this one)."""
    try:
        names = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split("\0")
    except (subprocess.CalledProcessError, FileNotFoundError):
        names = []
    if not names or "action.yml" not in names:
        shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(".venv", ".git", "*_cache", "build", "*.egg-info"))
        return target
    for name in filter(None, names):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def _run_action(
    inputs: dict[str, str], workspace: Path, temp: Path, action_path: Path, *, install: bool = True
) -> list[subprocess.CompletedProcess[str]]:
    """Run the action's steps; without `install`, its environment is this one (the install
    step is replaced by links to this Python and its `reglint`)."""
    if not install:
        venv = temp / "reglint-venv" / "bin"
        venv.mkdir(parents=True)
        for name, command in (("python", ""), ("reglint", " -m reglint")):
            (venv / name).write_text(f'#!/bin/sh\nexec "{sys.executable}"{command} "$@"\n', encoding="utf-8")
            (venv / name).chmod(0o755)
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    given = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    given.update(inputs)
    done = []
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"].startswith("actions/setup-python@")  # the runner's Python here
            continue
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], "inputs must reach scripts through env, not be pasted in"
        if not install and step["name"] == "Install reglint":
            continue
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(RUNNER_TEMP=str(temp), GITHUB_ACTION_PATH=str(action_path), RUNNER_OS="Linux", NO_COLOR="1")
        env.update(GITHUB_OUTPUT=str(temp / "output"), GITHUB_STEP_SUMMARY=str(temp / "summary"))
        env.update({k: _substitute(str(v), given) for k, v in step.get("env", {}).items()})
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        done.append(result)
        if result.returncode != 0:
            break
    return done


@pytest.mark.network
def test_action_installs_reglint_and_annotates(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    workspace = tmp_path / "workspace"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "model.py").write_text(BAD, encoding="utf-8")
    (workspace / "docs").mkdir()
    (workspace / "docs" / "other.py").write_text(BAD, encoding="utf-8")
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    action_path = _action_checkout(tmp_path / "action")

    install, check = _run_action({"paths": "src", "args": "--select REG010"}, workspace, temp, action_path)
    assert install.returncode == 0, install.stderr
    assert check.returncode == 1, check.stdout + check.stderr
    assert check.stdout == (
        "::warning file=src/model.py,line=3,col=21,endLine=3,endColumn=27,title=REG010 (keras2-regularizer-keyword)::"
        "REG010 Keras 3 (TensorFlow >= 2.16) rejects `l=` with a TypeError; use `l2=`\n"
    )
    assert (temp / "output").read_text() == "findings=1\nexit-code=1\n"
    summary = (temp / "summary").read_text()
    assert "| [REG010](" in summary and "/rules/REG010.md) | keras2-regularizer-keyword | 1 | yes |" in summary

    # paths one per line (one with a space), arguments split into words; --exit-zero turns
    # the failure off
    (workspace / "my docs").mkdir()
    (workspace / "my docs" / "more.py").write_text(BAD, encoding="utf-8")
    (temp / "output").unlink()
    _, again = _run_action({"paths": "src\ndocs\nmy docs\n", "args": "--exit-zero"}, workspace, temp, action_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("::warning file=") == 3
    assert (temp / "output").read_text() == "findings=3\nexit-code=0\n"


@pytest.mark.skipif(shutil.which("bash") is None or sys.platform == "win32", reason="the action's scripts need bash")
def test_the_job_summary_counts_findings_whatever_the_output_arguments(tmp_path: Path) -> None:
    """The summary and the outputs come from a second run printing JSON: arguments that send
    the report elsewhere or print something else (an output file, another format, a diff)
    must not reach that run (the summary said "No findings" and the output 0)."""
    workspace = tmp_path / "workspace"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "model.py").write_text(BAD, encoding="utf-8")
    for args in ("--select REG010 -o report.txt", "--select=REG010 --output-format=concise --diff --exit-zero"):
        temp = tmp_path / f"runner-temp-{len(args)}"
        temp.mkdir()
        (check,) = _run_action({"paths": "src", "args": args}, workspace, temp, ROOT, install=False)
        assert check.returncode in (0, 1), check.stderr
        assert (temp / "output").read_text().startswith("findings=1\n"), args
        assert "/rules/REG010.md) | keras2-regularizer-keyword | 1 | yes |" in (temp / "summary").read_text(), args
    assert "REG010" in (workspace / "report.txt").read_text()
