"""Find the files to check: directories walked for Python sources (and notebooks), honouring
`.gitignore` files (pathspec's GitIgnoreSpec, git's own matching rules) and the configured
excludes; a file named explicitly is always checked."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pathspec

from reglint.config import Settings

SOURCE_SUFFIXES = (".py", ".pyi", ".ipynb")


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    # (path, reason) for paths given that cannot be checked
    errors: list[tuple[str, str]] = field(default_factory=list)


def _spec(patterns: Iterable[str]) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(list(patterns))


def _lenient_spec(lines: list[str]) -> pathspec.PathSpec:
    """A `.gitignore`'s patterns as git reads them: a line git cannot use (`!`, `\\`,
    `[z-a]`) is ignored, not an error."""
    try:
        return _spec(lines)
    except (ValueError, re.error):
        kept = []
        for line in lines:
            try:
                _spec([line])
            except (ValueError, re.error):
                continue
            kept.append(line)
        return _spec(kept)


def _gitignore(directory: Path) -> pathspec.PathSpec | None:
    ignore = directory / ".gitignore"
    try:
        lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return _lenient_spec(lines) if lines else None


@lru_cache(maxsize=16)
def _resolved(root: Path) -> Path:
    return root.resolve()


def _relative(path: Path, root: Path, resolved: Path | None = None) -> str | None:
    """`path` relative to `root`, both resolved (`resolved`: the path, already resolved)."""
    try:
        return (resolved or path.resolve()).relative_to(_resolved(root)).as_posix()
    except ValueError:
        return None


def is_excluded(path: Path, settings: Settings, excludes: pathspec.PathSpec | None = None) -> bool:
    """Whether a configured exclude matches the path (relative to the config's root) or any
    of its parent directories by name."""
    spec = excludes or _spec((*settings.exclude, *settings.extend_exclude))
    rel = _relative(path, settings.root)
    candidates = [rel] if rel is not None else []
    candidates.append(path.name)
    if path.is_dir():
        candidates = [c + "/" for c in candidates] + candidates
    return any(spec.match_file(c) for c in candidates)


def discover(paths: Iterable[str], settings: Settings) -> Discovery:
    found = Discovery()
    excludes = _spec((*settings.exclude, *settings.extend_exclude))
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if not os.path.lexists(path):
            found.errors.append((given, "no such file or directory"))
            continue
        if settings.force_exclude and _excluded_path(path, settings, excludes):
            continue  # named, but excluded, and the caller (a hook) asked for excludes to count
        if path.is_file():
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                found.files.append(path)
            continue
        if path.is_dir():
            for file, key in _walk(path, settings, excludes, found.errors):
                if key not in seen:
                    seen.add(key)
                    found.files.append(file)
            continue
        found.errors.append((given, "not a regular file or directory"))
    found.files.sort(key=lambda p: p.as_posix())
    return found


def _walk(
    top: Path, settings: Settings, excludes: pathspec.PathSpec, errors: list[tuple[str, str]]
) -> Iterator[tuple[Path, Path]]:
    """(path, resolved path) of every source file under `top` that is not excluded.

    Each directory is resolved once; an entry that is not a symbolic link resolves to the
    resolved directory joined with its name, so only symbolic links cost a `resolve()`."""
    # (directory, gitignore specs that apply with the directory each is anchored at)
    root_ignores: list[tuple[Path, pathspec.PathSpec]] = []
    # A directory named on the command line is checked even when an exclude or a .gitignore
    # matches it (ML projects have packages named `build`): then what is below it is matched
    # relative to it, not through the name of a folder the user asked for.
    named_excluded = _excluded_path(top, settings, excludes)
    anchor = top if named_excluded else settings.root
    if settings.respect_gitignore and not named_excluded:
        # .gitignore files of the parents up to the repository root apply too
        for parent in [top.resolve(), *top.resolve().parents]:
            spec = _gitignore(parent)
            if spec is not None:
                root_ignores.append((parent, spec))
            if (parent / ".git").exists():
                break
    visited: set[tuple[int, int]] = set()
    stack: list[tuple[Path, Path, list[tuple[Path, pathspec.PathSpec]]]] = [(top, top.resolve(), root_ignores)]
    while stack:
        directory, resolved_dir, ignores = stack.pop()
        try:
            stat = directory.stat()
        except OSError as error:
            errors.append((str(directory), f"cannot read directory: {error.strerror or error}"))
            continue
        if (stat.st_dev, stat.st_ino) in visited:  # a symlink loop
            continue
        visited.add((stat.st_dev, stat.st_ino))
        if settings.respect_gitignore and directory != top:
            spec = _gitignore(directory)
            if spec is not None:
                ignores = [*ignores, (resolved_dir, spec)]
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            # an unreadable folder, a path longer than the system allows: said, not skipped
            errors.append((str(directory), f"cannot read directory: {error.strerror or error}"))
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
                resolved = path.resolve() if entry.is_symlink() else resolved_dir / entry.name
            except OSError as error:
                errors.append((str(path), f"cannot read: {error.strerror or error}"))
                continue
            if is_dir:
                if not _ignored(path, True, anchor, excludes, ignores, resolved):
                    stack.append((path, resolved, ignores))
            elif (
                is_file
                and path.suffix in SOURCE_SUFFIXES
                and not _ignored(path, False, anchor, excludes, ignores, resolved)
            ):
                yield path, resolved


def _excluded_path(path: Path, settings: Settings, excludes: pathspec.PathSpec) -> bool:
    """Whether a path named on the command line is excluded: by the configuration (itself or a
    parent folder, see `is_excluded`), or, with `respect-gitignore`, by a `.gitignore` of the
    repository it is in."""
    if is_excluded(path, settings, excludes):
        return True
    if not settings.respect_gitignore:
        return False
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return False
    suffix = "/" if path.is_dir() else ""
    for parent in resolved.parents:
        spec = _gitignore(parent)
        if spec is not None and spec.match_file(resolved.relative_to(parent).as_posix() + suffix):
            return True
        if (parent / ".git").exists():
            break
    return False


def _ignored(
    path: Path,
    is_dir: bool,
    root: Path,
    excludes: pathspec.PathSpec,
    ignores: list[tuple[Path, pathspec.PathSpec]],
    resolved: Path,
) -> bool:
    suffix = "/" if is_dir else ""
    if excludes.match_file(path.name + suffix):
        return True
    rel = _relative(path, root, resolved)
    if rel is not None and excludes.match_file(rel + suffix):
        return True
    for anchor, spec in ignores:
        try:
            inner = resolved.relative_to(anchor).as_posix()
        except ValueError:
            continue
        if spec.match_file(inner + suffix):
            return True
    return False


def read_files(paths: Iterable[Path]) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    items: list[tuple[str, bytes]] = []
    errors: list[tuple[str, str]] = []
    for path in paths:
        try:
            items.append((str(path), path.read_bytes()))
        except FileNotFoundError:
            errors.append((str(path), "file disappeared before it could be read"))
        except IsADirectoryError:
            errors.append((str(path), "is a directory"))
        except OSError as error:
            errors.append((str(path), f"cannot read: {error.strerror or error}"))
        except MemoryError:
            errors.append((str(path), "too large to read into memory"))
    return items, errors
