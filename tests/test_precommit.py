"""The pre-commit hooks, run by the real pre-commit against this checkout.

pre-commit installs reglint from a git repository with pip (it needs PyPI for reglint's
dependencies), so the test copies this checkout's tracked files, as they are in the working
tree, into a temporary repository and points `pre-commit try-repo` at it; a project repository
with a bad Python file and a bad notebook is the one the hooks run in."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = [pytest.mark.precommit, pytest.mark.network]

BAD = (
    "from tensorflow.keras import layers, regularizers\n"
    "\n"
    "dense = layers.Dense(64, kernel_regularizer=regularizers.l2(l=1e-4))\n"
)
NOTEBOOK = ROOT / "fixtures" / "_notebooks" / "regularization.ipynb"


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "GIT_", "VIRTUAL_ENV"))}
    env.update(
        PRE_COMMIT_HOME=str(home),
        GIT_AUTHOR_NAME="reglint test",
        GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="reglint test",
        GIT_COMMITTER_EMAIL="test@example.invalid",
        NO_COLOR="1",
    )
    env.pop("PYTHONPATH", None)  # pre-commit's environment must use the reglint it installed
    return env


def _snapshot(target: Path, env: dict[str, str]) -> None:
    """A repository holding this checkout's tracked files as they are now, committed."""
    files = _git("ls-files", "-z", cwd=ROOT).split("\0")
    assert ".pre-commit-hooks.yaml" in files, ".pre-commit-hooks.yaml must be tracked (git add it)"
    for name in filter(None, files):
        source = ROOT / name
        if not source.is_file():
            continue  # deleted in the working tree
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=target, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=target, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "snapshot"], cwd=target, check=True, env=env)


@pytest.fixture(scope="module")
def pre_commit() -> list[str]:
    if importlib.util.find_spec("pre_commit") is not None:
        return [sys.executable, "-m", "pre_commit"]
    executable = shutil.which("pre-commit")
    if executable is None:
        pytest.skip("pre-commit is not installed")
    return [executable]


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """This checkout as a hooks repository, and an environment whose pre-commit home is shared
    by the tests (pre-commit installs reglint there once)."""
    try:
        _git("rev-parse", "--git-dir", cwd=ROOT)
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip("this checkout is not a git repository")
    base = tmp_path_factory.mktemp("hooks")
    env = _env(base / "pre-commit-home")
    hooks_repo = base / "reglint-src"
    hooks_repo.mkdir()
    _snapshot(hooks_repo, env)
    return hooks_repo, env


def _try_repo(
    pre_commit: list[str], hooks_repo: Path, hook: str, project: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*pre_commit, "try-repo", str(hooks_repo), hook, "--verbose", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_only_the_staged_training_file_is_judged_with_its_project(
    pre_commit: list[str], hooks: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """A normal commit passes the staged files only: the model built in model.py (committed
    earlier) is still seen when train.py is judged."""
    hooks_repo, env = hooks
    project = tmp_path / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True, env=env)
    (project / "model.py").write_text(
        "import tensorflow.compat.v1 as tf\n\n"
        "def build(x):\n"
        "    return tf.layers.dense(x, 10, kernel_regularizer=tf.keras.regularizers.l2(1e-4))\n",
        encoding="utf-8",
    )
    subprocess.run(["git", "add", "model.py"], cwd=project, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "model"], cwd=project, check=True, env=env)
    (project / "train.py").write_text(
        "import tensorflow.compat.v1 as tf\nfrom model import build\n\n"
        "x = tf.placeholder(tf.float32, [None, 4])\n"
        "loss = tf.reduce_mean(tf.square(build(x)))\n"
        "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
        encoding="utf-8",
    )
    subprocess.run(["git", "add", "train.py"], cwd=project, check=True, env=env)
    done = _try_repo(pre_commit, hooks_repo, "reglint", project, env)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "train.py:6:12: REG001 this loss trains without the regularizers declared at model.py:4" in out


def test_hooks_fail_on_findings_then_fix_then_pass(
    pre_commit: list[str], hooks: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    hooks_repo, env = hooks

    project = tmp_path / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True, env=env)
    (project / "model.py").write_text(BAD, encoding="utf-8")
    (project / "clean.py").write_text("print('nothing to see')\n", encoding="utf-8")
    shutil.copyfile(NOTEBOOK, project / "analysis.ipynb")
    subprocess.run(["git", "add", "-A"], cwd=project, check=True, env=env)

    def try_repo(hook: str) -> subprocess.CompletedProcess[str]:
        return _try_repo(pre_commit, hooks_repo, hook, project, env, "--all-files")

    first = try_repo("reglint")
    out = first.stdout + first.stderr
    assert first.returncode == 1, out
    assert "Failed" in out
    assert "model.py:3:61: REG010 [*]" in out
    assert "analysis.ipynb:cell 3:6:29: REG004 [*]" in out  # notebooks are passed too
    assert (project / "model.py").read_text(encoding="utf-8") == BAD

    fixing = try_repo("reglint-fix")
    out = fixing.stdout + fixing.stderr
    assert fixing.returncode == 1, out  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in out
    assert (project / "model.py").read_text(encoding="utf-8") == BAD.replace("l2(l=", "l2(l2=")
    fixed_notebook = (project / "analysis.ipynb").read_bytes()
    assert fixed_notebook == NOTEBOOK.read_bytes().replace(b"REGULARIZATOIN_LOSSES)\\n", b"REGULARIZATION_LOSSES)\\n")

    subprocess.run(["git", "add", "-A"], cwd=project, check=True, env=env)
    last = try_repo("reglint")
    assert last.returncode == 0, last.stdout + last.stderr
    assert "Passed" in last.stdout
