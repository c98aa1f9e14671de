"""Helpers the tests share: lint in-memory files through the real engine, no subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from reglint.config import Settings
from reglint.rule import Rule
from reglint.runner import RunResult, run
from reglint.target import Target

ROOT = Path(__file__).resolve().parent.parent


def lint(
    files: dict[str, str] | str,
    rules: Sequence[type[Rule]] | None = None,
    *,
    fix: bool = False,
    unsafe: bool = False,
    prefilter: bool = True,
    jobs: int = 1,
    target: str | None = None,
) -> RunResult:
    if isinstance(files, str):
        files = {"example.py": files}
    items = [(path, text.encode("utf-8")) for path, text in files.items()]
    return run(
        items,
        Settings(select=("ALL",), target=Target(tensorflow=target, tensorflow_origin="the example")),
        fix=fix,
        unsafe_fixes=unsafe,
        rules=rules,
        prefilter=prefilter,
        jobs=jobs,
    )


def codes(result: RunResult) -> list[str]:
    return [f.code for f in result.findings]


def reglint_cli(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the real command line in a subprocess, with this checkout first on the path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "reglint", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=env,
        timeout=300,
    )
