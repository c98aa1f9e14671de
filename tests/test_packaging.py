"""The package as published: its metadata, and an sdist that holds what the tests need."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_metadata_is_complete() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"  # an SPDX expression, not the deprecated table
    assert project["license-files"] == ["LICENSE"] and (ROOT / "LICENSE").is_file()
    assert {"Homepage", "Issues"} <= set(project["urls"])
    assert project["keywords"] and any(c.startswith("Topic ::") for c in project["classifiers"])
    assert "numpy" in project["optional-dependencies"]["test"]  # the fast suite needs no more


@pytest.mark.network
def test_sdist_holds_what_the_tests_need(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [sdist] = tmp_path.glob("reglint-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        info = archive.extractfile(next(n for n in archive.getnames() if n.endswith("/PKG-INFO")))
        assert info is not None
        metadata = info.read().decode()
    for needed in ("LICENSE", "pyproject.toml", "tests/test_rules.py", "rules/REG001.md", "reglint/py.typed"):
        assert needed in names, needed
    assert any(name.startswith("fixtures/REG001") for name in names)
    assert "License-Expression: MIT" in metadata
