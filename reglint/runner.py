"""A whole run: read files, analyse each (cache, worker processes), judge the project, filter
by configuration and suppressions, and, when asked, fix until nothing changes.

Everything here returns values; only the CLI prints, writes files and picks the exit code.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from reglint.cache import Cache
from reglint.config import Settings
from reglint.engine import analyse_source, judge_project, may_matter
from reglint.fixer import apply_fixes, select_fixes
from reglint.model import FileResult, Finding, InternalError, ParseError
from reglint.rule import Rule, rules_by_code
from reglint.sources import SourceError, source_for
from reglint.suppress import is_suppressed

MAX_FIX_PASSES = 10


@dataclass
class FileChange:
    path: str
    original: bytes
    fixed: bytes
    fixes_applied: int


@dataclass
class RunResult:
    findings: list[Finding] = field(default_factory=list)
    parse_errors: list[ParseError] = field(default_factory=list)
    internal_errors: list[InternalError] = field(default_factory=list)
    read_errors: list[tuple[str, str]] = field(default_factory=list)
    changes: dict[str, FileChange] = field(default_factory=dict)
    files_checked: int = 0
    # sources as analysed last (the fixed text where a fix was applied)
    sources: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def fixed(self) -> int:
        return sum(change.fixes_applied for change in self.changes.values())


# ------------------------------------------------------------------------------------
# worker processes

_WORKER_RULES: tuple[type[Rule], ...] = ()


def _init_worker(codes: tuple[str, ...]) -> None:
    global _WORKER_RULES
    by_code = rules_by_code()
    _WORKER_RULES = tuple(by_code[c] for c in codes)


def _analyse_in_worker(item: tuple[str, bytes]) -> FileResult:
    path, raw = item
    return _analyse(path, raw, _WORKER_RULES, prefilter=False)


def _analyse(path: str, raw: bytes, rules: Sequence[type[Rule]], *, prefilter: bool = False) -> FileResult:
    """Analyse one file; the caller has already applied the prefilter unless `prefilter`."""
    try:
        source = source_for(path, raw)
    except SourceError as error:
        return FileResult(path, parse_error=error.to_parse_error(path))
    try:
        return analyse_source(source, rules, prefilter=prefilter)
    except RecursionError:
        return FileResult(path, parse_error=ParseError(path, 1, 0, "too deeply nested to analyse"))


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def analyse_many(
    items: Sequence[tuple[str, bytes]],
    rules: Sequence[type[Rule]],
    *,
    jobs: int,
    cache: Cache | None,
    prefilter: bool = True,
) -> list[FileResult]:
    """Analyse files in order; the result list matches `items` whatever `jobs` is."""
    results: list[FileResult | None] = [None] * len(items)
    todo: list[int] = []
    keys: dict[int, str] = {}
    for index, (path, raw) in enumerate(items):
        if prefilter and not may_matter(raw, rules):
            results[index] = FileResult(path, skipped=True)
            continue
        if cache is not None:
            keys[index] = cache.key(path, raw)
            hit = cache.get(keys[index])
            if hit is not None:
                results[index] = hit
                continue
        todo.append(index)
    if len(todo) > 1 and jobs > 1:
        codes = tuple(rule.code for rule in rules)
        workers = min(jobs, len(todo))
        chunk = max(1, min(8, len(todo) // (workers * 4)))
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(codes,)) as pool:
            # larger files first, so one big file does not finish last on its own
            order = sorted(todo, key=lambda i: -len(items[i][1]))
            for index, result in zip(
                order, pool.map(_analyse_in_worker, (items[i] for i in order), chunksize=chunk), strict=True
            ):
                results[index] = result
    else:
        for index in todo:
            path, raw = items[index]
            results[index] = _analyse(path, raw, rules)
    if cache is not None:
        for index in todo:
            done = results[index]
            if done is not None and not done.internal_errors:
                cache.put(keys[index], done)
    return [r for r in results if r is not None]


# ------------------------------------------------------------------------------------
# filtering


def _per_file_ignored(settings: Settings) -> list[tuple[pathspec.PathSpec, frozenset[str]]]:
    return [(pathspec.GitIgnoreSpec.from_lines([glob]), frozenset(codes)) for glob, codes in settings.per_file_ignores]


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def filter_findings(findings: Iterable[Finding], results: dict[str, FileResult], settings: Settings) -> list[Finding]:
    ignores = _per_file_ignored(settings)
    kept = []
    for finding in findings:
        result = results.get(finding.path)
        if result is not None and is_suppressed(result.suppressions, finding.range.start.line, finding.code):
            continue
        if ignores:
            rel = _relative(finding.path, settings.root)
            if any(
                spec.match_file(rel) and any(finding.code.startswith(c) or c == "ALL" for c in codes)
                for spec, codes in ignores
            ):
                continue
        kept.append(finding)
    kept.sort(key=Finding.sort_key)
    return kept


# ------------------------------------------------------------------------------------
# the run


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
    return items, errors


def run(
    items: Sequence[tuple[str, bytes]],
    settings: Settings,
    *,
    fix: bool = False,
    unsafe_fixes: bool = False,
    jobs: int = 1,
    cache: Cache | None = None,
    rules: Sequence[type[Rule]] | None = None,
    prefilter: bool = True,
) -> RunResult:
    """Check (and with `fix`, fix in memory) the given (path, bytes) pairs."""
    rules = tuple(rules if rules is not None else settings.enabled_rules())
    out = RunResult()
    file_results = analyse_many(items, rules, jobs=jobs, cache=cache, prefilter=prefilter)
    by_path = {r.path: r for r in file_results}
    originals = dict(items)
    current = dict(items)
    applied_counts: dict[str, int] = {}
    frozen: set[str] = set()  # files whose fixes failed: left untouched
    fix_errors: list[InternalError] = []

    def judge() -> list[Finding]:
        project_findings, project_errors = judge_project(by_path.values(), rules)
        out.internal_errors[:] = [e for r in by_path.values() for e in r.internal_errors] + project_errors
        every = [f for r in by_path.values() for f in r.findings] + project_findings
        return filter_findings(every, by_path, settings)

    findings = judge()
    if fix:
        for _ in range(MAX_FIX_PASSES):
            changed: list[tuple[str, bytes]] = []
            by_file: dict[str, list[Finding]] = {}
            for finding in select_fixes(findings, unsafe_fixes):
                if finding.path not in frozen:
                    by_file.setdefault(finding.path, []).append(finding)
            for path, fixable in by_file.items():
                new = _fix_one(path, current[path], fixable, fix_errors)
                if new is None:
                    frozen.add(path)
                    current[path] = originals[path]
                    continue
                data, count = new
                if count and data != current[path]:
                    current[path] = data
                    applied_counts[path] = applied_counts.get(path, 0) + count
                    changed.append((path, data))
            if not changed:
                break
            for result in analyse_many(changed, rules, jobs=1, cache=None):
                by_path[result.path] = result
            findings = judge()
        for path in frozen:
            # report the findings of the untouched original
            by_path[path] = analyse_many([(path, originals[path])], rules, jobs=1, cache=None)[0]
        if frozen:
            findings = judge()
        for path, data in current.items():
            if data != originals[path] and path not in frozen:
                out.changes[path] = FileChange(path, originals[path], data, applied_counts.get(path, 0))
    out.internal_errors.extend(fix_errors)
    out.findings = findings
    out.parse_errors = sorted(
        (r.parse_error for r in by_path.values() if r.parse_error is not None), key=lambda e: e.path
    )
    out.files_checked = len(items)
    return out


def _fix_one(path: str, raw: bytes, fixable: list[Finding], errors: list[InternalError]) -> tuple[bytes, int] | None:
    """Apply one pass of fixes to a file; None if the result would not parse."""
    source = source_for(path, raw)
    try:
        text = source.text()
    except SourceError:
        return None
    try:
        applied = apply_fixes(text, fixable)
        fixed_source = source.reparse_text(applied.text)
    except Exception as error:
        culprits = _culprits(source, text, fixable)
        codes = ", ".join(sorted(culprits)) or ", ".join(sorted({f.code for f in fixable}))
        errors.append(
            InternalError(path, codes, f"fix by {codes} produced invalid code ({_short(error)}); file left unchanged")
        )
        return None
    return fixed_source, len(applied.applied)


def _culprits(source: object, text: str, fixable: list[Finding]) -> set[str]:
    bad = set()
    for finding in fixable:
        try:
            source.reparse_text(apply_fixes(text, [finding]).text)  # type: ignore[attr-defined]
        except Exception:
            bad.add(finding.code)
    return bad


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
