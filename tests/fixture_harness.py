"""Finding and running fixture folders: fixtures/<RULE>-<name>/<case>/{before,after}.py,
expect.json, and optionally modules/: files of the same project that before.py and after.py
import, linted beside them (as `modules/x.py` -> `x.py`) and put on the programs' path. The fix
may change before.py only. Shared by the fixture tests and the prefilter-safety test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.helpers import ROOT

FIXTURES = ROOT / "fixtures"
SUPPORT = FIXTURES / "_support"
MARK = "REGCHECK "


@dataclass
class FixtureCase:
    folder: Path
    expect: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.folder.parent.name}/{self.folder.name}"

    @property
    def rule_code(self) -> str:
        return self.folder.parent.name.split("-", 1)[0]

    def source(self, which: str) -> bytes:
        return (self.folder / f"{which}.py").read_bytes()

    @property
    def modules_dir(self) -> Path | None:
        folder = self.folder / "modules"
        return folder if folder.is_dir() else None

    def modules(self) -> list[tuple[str, bytes]]:
        """The case's other modules, as (path beside before.py, bytes)."""
        if self.modules_dir is None:
            return []
        return [
            (p.relative_to(self.modules_dir).as_posix(), p.read_bytes()) for p in sorted(self.modules_dir.rglob("*.py"))
        ]

    def items(self, data: bytes) -> list[tuple[str, bytes]]:
        """What is linted: `data` as before.py, and the case's modules."""
        return [("before.py", data), *self.modules()]


def fixture_cases() -> list[FixtureCase]:
    cases = []
    for expect in sorted(FIXTURES.glob("REG*/*/expect.json")):
        cases.append(FixtureCase(expect.parent, json.loads(expect.read_text(encoding="utf-8"))))
    return cases


def run_program(path: Path, timeout: int = 600, paths: tuple[Path, ...] = ()) -> tuple[int, dict[str, Any], str]:
    """Run a fixture program, with `paths` on its import path too; return its exit code,
    reported quantities and stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "PYTHONPATH")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(str(p) for p in (SUPPORT, *paths)),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "CUDA_VISIBLE_DEVICES": "-1",
            "PYTHONHASHSEED": "0",
        }
    )
    proc = subprocess.run(
        [sys.executable, path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    values: dict[str, Any] = {}
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            item = json.loads(line[len(MARK) :])
            values[item["name"]] = item["value"]
    return proc.returncode, values, proc.stderr


def check_expectations(which: str, spec: dict[str, Any], code: int, values: dict[str, Any], stderr: str) -> None:
    tail = stderr.strip().splitlines()[-5:]
    if "raises" in spec:
        assert code != 0, f"{which} was expected to fail with {spec['raises']}"
        assert spec["raises"] in stderr, f"{which}: expected {spec['raises']}, got: {tail}"
        return
    assert code == 0, f"{which} failed: {tail}"
    for a, b in spec.get("close", []):
        assert a in values and b in values, f"{which}: {a} or {b} not reported ({sorted(values)})"
        assert np.allclose(np.asarray(values[a], float), np.asarray(values[b], float), rtol=1e-6, atol=1e-6), (
            f"{which}: {a}={values[a]} differs from {b}={values[b]}"
        )
    for a, b in spec.get("not_close", []):
        assert a in values and b in values, f"{which}: {a} or {b} not reported ({sorted(values)})"
        assert not np.allclose(np.asarray(values[a], float), np.asarray(values[b], float), rtol=1e-6, atol=1e-6), (
            f"{which}: {a} and {b} should differ but are both {values[a]}"
        )
    for name, expected in spec.get("values", {}).items():
        assert name in values, f"{which}: {name} not reported"
        assert np.allclose(np.asarray(values[name], float), np.asarray(expected, float), rtol=1e-6, atol=1e-6), (
            f"{which}: {name}={values[name]}, expected {expected}"
        )
