"""The project around the checked files: where it starts, which TensorFlow it runs on, and
its other files, read when named files are judged with their project.

- `project_root`: where the dependency declarations and the project's files are (the
  configuration's folder, else the nearest folder with a repository or a declaration file);
- `repository_root`: where code scanning's paths start (SARIF's `%SRCROOT%`);
- `with_target`: the settings with the target (command line, configuration, declarations);
- `project_context`: the project's other files, for the rules that judge across files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from reglint.config import OWN_CONFIG_FILES, Settings, version_setting
from reglint.discovery import discover, read_files
from reglint.requirements import Declaration, infer_target


def with_target(
    settings: Settings,
    paths: tuple[str, ...],
    tensorflow_version: str | None,
    keras_version: str | None,
    checked: list[str],
    warn: Callable[[str], None],
    contents: Mapping[str, bytes] | None = None,
) -> tuple[Settings, list[Declaration]]:
    """The settings with the project's target: the command line's, else the configuration's,
    else inferred from the dependency declarations in the project's root (for each library on
    its own). A malformed declaration file is a warning, and the target stays unknown."""
    config = settings.config_file
    where = "" if config is None else f"{config}" if config.name in OWN_CONFIG_FILES else f"{config} [tool.reglint]"
    tensorflow = (tensorflow_version, "--tensorflow-version") if tensorflow_version else None
    if tensorflow is None and settings.tensorflow_version:
        tensorflow = (settings.tensorflow_version, f"{where} tensorflow-version")
    keras = (keras_version, "--keras-version") if keras_version else None
    if keras is None and settings.keras_version:
        keras = (settings.keras_version, f"{where} keras-version")
    for given, flag in ((tensorflow_version, "--tensorflow-version"), (keras_version, "--keras-version")):
        if given:
            version_setting(given, flag)
    root = project_root(settings, paths)
    # the checked notebooks' bytes when they are read already (their `!pip install` lines)
    known = contents or {}
    notebooks = {Path(p): known.get(p) for p in checked if p.endswith(".ipynb")}
    inferred, declared = infer_target(root, warn, notebooks)
    target = replace(
        inferred,
        tensorflow=tensorflow[0] if tensorflow else inferred.tensorflow,
        tensorflow_origin=tensorflow[1] if tensorflow else inferred.tensorflow_origin,
        keras=keras[0] if keras else inferred.keras,
        keras_origin=keras[1] if keras else inferred.keras_origin,
    )
    return replace(settings, target=target), declared


def project_root(settings: Settings, paths: tuple[str, ...]) -> Path:
    """Where the project's dependency declarations are: the configuration's folder, else the
    nearest folder above the first path (or the current one) that holds a repository or a
    declaration file, else the current folder."""
    if settings.config_file is not None:
        return settings.config_file.parent
    first = Path(paths[0]) if paths and paths[0] != "-" else Path.cwd()
    try:
        start = first.resolve() if first.is_dir() else first.resolve().parent
    except (OSError, RuntimeError):  # a symlink loop: reported when the path is checked
        start = first.absolute().parent
    for directory in (start, *start.parents):
        if any((directory / marker).exists() for marker in PROJECT_MARKERS):
            return directory
    return Path.cwd()


def names_files(paths: tuple[str, ...], from_stdin: bool, stdin_filename: str | None) -> bool:
    """Whether files are named (a pre-commit hook's staged files, an editor's buffer): they
    are then judged with their project. Directories alone are judged as walked."""
    if from_stdin:
        return stdin_filename is not None
    return any(os.path.isfile(path) for path in paths)


def project_context(
    settings: Settings, anchors: tuple[str, ...], items: list[tuple[str, bytes]], stdin_filename: str | None
) -> list[tuple[str, bytes]]:
    """The files of the named files' project (its root: see `project_root`) other than them,
    walked with the same excludes, named relative to the current folder where they can be.
    Files that cannot be read are left out: they are not being checked."""
    root = project_root(settings, anchors)
    named = {_key(path) for path, _ in items}
    if stdin_filename:
        named.add(_key(stdin_filename))
    found = discover((str(root),), settings)
    here = Path.cwd()
    others = []
    for path in found.files:
        if _key(str(path)) in named:
            continue
        try:
            shown = path.resolve().relative_to(here.resolve())
        except (ValueError, OSError, RuntimeError):
            shown = path
        others.append(shown)
    context, _ = read_files(others)
    return context


def _key(path: str) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):
        return os.path.abspath(path)


def repository_root(anchors: tuple[str, ...]) -> Path:
    """The root of the repository the first checked path is in (where code scanning's paths
    start), else the current folder."""
    first = Path(anchors[0]) if anchors else Path.cwd()
    try:
        start = first.resolve() if first.is_dir() else first.resolve().parent
    except (OSError, RuntimeError):
        return Path.cwd()
    for directory in (start, *start.parents):
        if (directory / ".git").exists() or (directory / ".hg").exists():
            return directory
    return Path.cwd()


PROJECT_MARKERS = (".git", ".hg", "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "Pipfile")
