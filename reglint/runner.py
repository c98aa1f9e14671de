"""A whole run: read files, analyse each (cache, worker processes), judge the project, filter
by configuration and suppressions, and, when asked, fix until nothing changes.

Everything here returns values; only the CLI prints, writes files and picks the exit code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pathspec

from reglint.cache import ResultStore, Screened
from reglint.config import Settings
from reglint.engine import analyse_source
from reglint.judge import ProjectFacts, judge_project
from reglint.model import FileChange, FileResult, Finding, InternalError, ParseError, RunResult
from reglint.prefilter import Group, as_groups, contains_token, prefilter_tokens
from reglint.rule import Rule, Token, rules_by_code
from reglint.rules.reg100_unused_noqa import UnusedNoqa
from reglint.sources import SourceError, is_notebook, source_for
from reglint.suppress import is_suppressed

MAX_FIX_PASSES = 10


# ------------------------------------------------------------------------------------
# worker processes

_WORKER_RULES: tuple[type[Rule], ...] = ()


def _init_worker(codes: tuple[str, ...]) -> None:
    global _WORKER_RULES
    by_code = rules_by_code()
    _WORKER_RULES = tuple(by_code[c] for c in codes)


def _analyse_batch_in_worker(batch: list[tuple[str, bytes]], prefilter: bool) -> list[FileResult]:
    return [_analyse(path, raw, _WORKER_RULES, prefilter=prefilter) for path, raw in batch]


# Files smaller than this are sent to workers in batches of about this many bytes (fewer
# round trips); larger files go alone.
BATCH_BYTES = 64 * 1024
# While files are being analysed in workers, the bytes in flight stay under the size of the
# largest file plus this margin: a parse tree takes about 300 times its file's size, so two
# of the largest files are never parsed at once and peak memory is bounded by the largest
# file (plus the margin), not by the number of workers times the largest file.
MEMORY_MARGIN_BYTES = 256 * 1024


def _batches(order: list[int], sizes: list[int]) -> list[tuple[list[int], int]]:
    """Group `order` (largest first) into (indices, bytes) batches, still largest first."""
    batches: list[tuple[list[int], int]] = []
    current: list[int] = []
    current_size = 0
    for index in order:
        size = sizes[index]
        if size >= BATCH_BYTES:
            batches.append(([index], size))
            continue
        if current and current_size + size > BATCH_BYTES:
            batches.append((current, current_size))
            current, current_size = [], 0
        current.append(index)
        current_size += size
    if current:
        batches.append((current, current_size))
    return batches


def _run_pool(
    items: Sequence[tuple[str, bytes]],
    todo: list[int],
    rules: Sequence[type[Rule]],
    jobs: int,
    on_result: Callable[[int, FileResult], None],
    prefilter: bool,
) -> None:
    """Analyse `todo` in worker processes, largest files first, within the memory budget. A
    worker that dies (killed when memory runs out) loses nothing: the files not reported yet
    are analysed again one by one, each in a worker of its own, and a file whose worker dies
    again is reported as too large to analyse."""
    remaining = set(todo)

    def done(index: int, result: FileResult) -> None:
        remaining.discard(index)
        on_result(index, result)

    codes = tuple(rule.code for rule in rules)
    with contextlib.suppress(BrokenProcessPool):
        _pool(items, todo, codes, jobs, done, prefilter)
    for index in sorted(remaining):
        on_result(index, _alone(items[index], codes, prefilter))


def _alone(item: tuple[str, bytes], codes: tuple[str, ...], prefilter: bool) -> FileResult:
    try:
        with ProcessPoolExecutor(1, initializer=_init_worker, initargs=(codes,)) as pool:
            return pool.submit(_analyse_batch_in_worker, [item], prefilter).result()[0]
    except BrokenProcessPool:
        path = item[0]
        return FileResult(
            path, parse_error=ParseError(path, 1, 0, "too large to analyse: its analysis was killed (out of memory)")
        )


def _pool(
    items: Sequence[tuple[str, bytes]],
    todo: list[int],
    codes: tuple[str, ...],
    jobs: int,
    on_result: Callable[[int, FileResult], None],
    prefilter: bool,
) -> None:
    sizes = [len(raw) for _, raw in items]
    order = sorted(todo, key=lambda i: (-sizes[i], i))
    pending = deque(_batches(order, sizes))
    budget = sizes[order[0]] + MEMORY_MARGIN_BYTES
    workers = min(jobs, len(pending))
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(codes,)) as pool:
        in_flight: dict[Future[list[FileResult]], tuple[list[int], int]] = {}
        used = 0
        while pending or in_flight:
            # keep every worker busy with one batch running and one queued, within budget:
            # the largest batch that fits, else the smallest (the tail) if that fits
            while pending and len(in_flight) < 2 * workers:
                if not in_flight or used + pending[0][1] <= budget:
                    batch, size = pending.popleft()
                elif used + pending[-1][1] <= budget:
                    batch, size = pending.pop()
                else:
                    break
                future = pool.submit(_analyse_batch_in_worker, [items[i] for i in batch], prefilter)
                in_flight[future] = (batch, size)
                used += size
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                batch, size = in_flight.pop(future)
                used -= size
                for index, result in zip(batch, future.result(), strict=True):
                    on_result(index, result)


def _analyse(path: str, raw: bytes, rules: Sequence[type[Rule]], *, prefilter: bool = False) -> FileResult:
    """Analyse one file; with `prefilter`, only by the rules whose tokens it holds (a file
    no rule wants never gets here)."""
    try:
        source = source_for(path, raw)
    except SourceError as error:
        return FileResult(path, parse_error=error.to_parse_error(path))
    except RecursionError:
        return FileResult(path, parse_error=ParseError(path, 1, 0, "too deeply nested to read"))
    try:
        return analyse_source(source, rules, prefilter=prefilter)
    except RecursionError:
        return FileResult(path, parse_error=ParseError(path, 1, 0, "too deeply nested to analyse"))
    except MemoryError:
        return FileResult(path, parse_error=ParseError(path, 1, 0, "too large to analyse (out of memory)"))
    except Exception as error:  # one file's failure is that file's error: the others are still checked
        return FileResult(
            path, internal_errors=[InternalError(path, None, f"cannot analyse: {type(error).__name__}: {error}")]
        )


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


Progress = Callable[[int, int], None]
"""Called as `progress(done, total)` while files are analysed (the CLI draws a counter)."""


def analyse_many(
    items: Sequence[tuple[str, bytes]],
    rules: Sequence[type[Rule]],
    *,
    jobs: int,
    cache: ResultStore | None,
    prefilter: bool = True,
    progress: Progress | None = None,
    cache_rules: str = "",
    screened: Screened | None = None,
) -> list[FileResult]:
    """Analyse files in order; the result list matches `items` whatever `jobs` is.
    `cache_rules`: see Cache.key; `screened`: what the prefilter found in the files before.

    Files the prefilter rules out and files found in the cache cost a byte scan and a hash;
    the rest are parsed, in `jobs` worker processes when there are several (see `_run_pool`
    for the order and the memory budget). Results hold no tree: a file's tree is freed as
    soon as its analysis returns."""
    total = len(items)
    results: list[FileResult | None] = [None] * total
    todo: list[int] = []
    keys: dict[int, Any] = {}
    tokens = prefilter_tokens(rules)
    for index, (path, raw) in enumerate(items):
        seen = screened.seen(path, raw) if screened is not None else None
        if prefilter and not contains_token(raw, tokens, python=not is_notebook(path), seen=seen):
            results[index] = FileResult(path, skipped=True)
            continue
        if cache is not None:
            keys[index] = cache.key(path, raw, cache_rules)
            hit = cache.get(keys[index])
            if hit is not None:
                hit.cached = True
                results[index] = hit
                continue
        todo.append(index)
    done = total - len(todo)
    if progress is not None:
        progress(done, total)
    if len(todo) > 1 and jobs > 1:

        def on_result(index: int, result: FileResult) -> None:
            nonlocal done
            results[index] = result
            done += 1
            if progress is not None:
                progress(done, total)

        _run_pool(items, todo, rules, jobs, on_result, prefilter)
    else:
        for index in todo:
            path, raw = items[index]
            results[index] = _analyse(path, raw, rules, prefilter=prefilter)
            done += 1
            if progress is not None:
                progress(done, total)
    if cache is not None:
        for index in todo:
            analysed = results[index]
            if analysed is not None and not analysed.internal_errors:
                cache.put(keys[index], analysed)
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
    """The findings that stand after suppressions and per-file ignores, without the fixes
    that would not run on the project's target (see `Rule.fixes_run_on`)."""
    ignores = _per_file_ignored(settings)
    fixless = {code for code, rule in rules_by_code().items() if not rule.fixes_run_on(settings.target)}
    kept = []
    for finding in findings:
        if finding.fix is not None and finding.code in fixless:
            finding = dataclasses.replace(finding, fix=None)
        result = results.get(finding.path)
        suppressions = result.suppressions if result is not None and not settings.ignore_noqa else {}
        if suppressions and is_suppressed(suppressions, finding.range.start.line, finding.code):
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


def analyse_project(
    items: Sequence[tuple[str, bytes]],
    rules: Sequence[type[Rule]],
    *,
    jobs: int = 1,
    cache: ResultStore | None = None,
    prefilter: bool = True,
    progress: Progress | None = None,
) -> dict[str, FileResult]:
    """Every file's result, including the prefilter-skipped files a project rule asked for."""
    screened = cache.screened if cache is not None else Screened()
    results = analyse_many(
        items, rules, jobs=jobs, cache=cache, prefilter=prefilter, progress=progress, screened=screened
    )
    by_path = {r.path: r for r in results}
    if prefilter:
        _analyse_wanted(items, by_path, rules, jobs=jobs, cache=cache, screened=screened)
    if cache is not None:
        cache.keep_screens()
    return by_path


@functools.lru_cache(maxsize=1 << 16)
def _path_endings(path: str) -> frozenset[str]:
    """Every trailing run of a path's parts (`b/c.py` and `c.py` for `a/b/c.py`): what a
    module's file path may end with. Kept: each round of `_analyse_wanted` asks again, and so
    does every check of a language server's project."""
    parts = Path(path).as_posix().split("/")
    return frozenset("/".join(parts[i:]) for i in range(len(parts)))


def _module_paths(module: str) -> tuple[str, ...]:
    stem = module.replace(".", "/")
    return (f"{stem}.py", f"{stem}/__init__.py")


@functools.lru_cache(maxsize=32)
def _wanted_groups(tokens: tuple[Token, ...]) -> tuple[Group, ...]:
    """`as_groups` of what the project rules ask for, kept: a process that judges the same
    project again (the language server, after each edit) asks for the same tokens."""
    return as_groups(tokens)


def _analyse_wanted(
    items: Sequence[tuple[str, bytes]],
    by_path: dict[str, FileResult],
    rules: Sequence[type[Rule]],
    *,
    jobs: int,
    cache: ResultStore | None,
    screened: Screened | None = None,
) -> None:
    """Analyse the files a project rule asks for, by module name or by tokens, with every
    rule that has not analysed them yet, until no rule asks for more. The prefilter lets a
    rule see only the files holding its tokens: a file skipped by all of them, or analysed
    by some (`core/common.py` makes regularized layers: REG008 looks at it, REG001 does not
    until a training loop elsewhere is built from it), gets the missing rules' facts."""
    askers = [
        r
        for r in rules
        if r.wanted_modules.__func__ is not Rule.wanted_modules.__func__  # type: ignore[attr-defined]
        or r.wanted_tokens.__func__ is not Rule.wanted_tokens.__func__  # type: ignore[attr-defined]
    ]
    if not askers:
        return
    raw_of = dict(items)
    codes = [rule.code for rule in rules]
    screened = screened or Screened()
    for _ in range(len(items)):
        project = ProjectFacts([f for r in by_path.values() for f in r.facts])
        wanted = {m for rule in askers for m in rule.wanted_modules(project)}
        endings = {ending for module in wanted for ending in _module_paths(module)}
        groups = _wanted_groups(tuple(t for rule in askers for t in rule.wanted_tokens(project)))
        # the files wanted, each with the rules that have not analysed it (all of them for a
        # file the prefilter skipped)
        todo: list[tuple[str, bytes]] = []
        missing: dict[str, tuple[str, ...]] = {}
        for path, result in by_path.items():
            lacking = tuple(code for code in codes if code not in result.rules)
            if (
                lacking
                and result.parse_error is None
                and path in raw_of
                and (
                    (endings and not endings.isdisjoint(_path_endings(path)))
                    or (
                        groups
                        and contains_token(
                            raw_of[path],
                            groups,
                            python=not is_notebook(path),
                            seen=screened.seen(path, raw_of[path]),
                        )
                    )
                )
            ):
                todo.append((path, raw_of[path]))
                missing[path] = lacking
        if not todo:
            return
        # one analysis of every wanted file by every rule missing from any of them (one pool
        # of workers per round), keeping of each file what its missing rules found; cached
        # apart from the first pass's results, which the prefilter chose the rules of
        chosen = [rule for rule in rules if any(rule.code in lacking for lacking in missing.values())]
        tag = "wanted:" + ",".join(rule.code for rule in chosen)
        for result in analyse_many(
            todo, chosen, jobs=jobs, cache=cache, prefilter=False, cache_rules=tag, screened=screened
        ):
            # what the missing rules found joins what the others had; they have run, so the
            # file is not asked for again. A syntax error is not kept: the prefilter had
            # skipped the file (a file it let in and that does not parse is never asked for)
            before, lacking = by_path[result.path], missing[result.path]
            by_path[result.path] = FileResult(
                result.path,
                findings=before.findings + [f for f in result.findings if f.code in lacking],
                facts=before.facts + [f for f in result.facts if f.rule in lacking],
                internal_errors=before.internal_errors + [e for e in result.internal_errors if e.code in lacking],
                suppressions=result.suppressions,
                rules=before.rules + lacking,
            )


def run(
    items: Sequence[tuple[str, bytes]],
    settings: Settings,
    *,
    fix: bool = False,
    unsafe_fixes: bool = False,
    jobs: int = 1,
    cache: ResultStore | None = None,
    rules: Sequence[type[Rule]] | None = None,
    prefilter: bool = True,
    progress: Progress | None = None,
    context: Sequence[tuple[str, bytes]] = (),
) -> RunResult:
    """Check (and with `fix`, fix in memory) the given (path, bytes) pairs. The `context`
    pairs are the project's other files: analysed with them, for the facts the rules judging
    across files need, and neither reported on nor fixed."""
    rules = tuple(
        rule for rule in (rules if rules is not None else settings.enabled_rules()) if rule.reported_on(settings.target)
    )
    out = RunResult()
    named = {path for path, _ in items}
    everything = [*items, *((path, data) for path, data in context if path not in named)]
    by_path = analyse_project(everything, rules, jobs=jobs, cache=cache, prefilter=prefilter, progress=progress)
    originals = dict(everything)
    current = dict(everything)
    context_only = set(current) - named
    applied_counts: dict[str, int] = {}
    applied_rules: dict[str, Counter[tuple[str, str]]] = {}
    frozen: set[str] = set()  # files whose fixes failed: left untouched
    fix_errors: list[InternalError] = []

    def judge() -> list[Finding]:
        project_findings, project_errors = judge_project(by_path.values(), rules)
        errors = [e for r in by_path.values() for e in r.internal_errors] + project_errors
        out.internal_errors[:] = [e for e in errors if e.path not in context_only]
        every = [f for r in by_path.values() for f in r.findings] + project_findings
        if any(rule.code == UnusedNoqa.code for rule in rules):
            named_results = [r for path, r in by_path.items() if path in named]
            every += UnusedNoqa.unused(every, named_results, {rule.code for rule in rules})
        return [f for f in filter_findings(every, by_path, settings) if f.path in named]

    findings = judge()
    if fix:
        from reglint.fixer import select_fixes  # libcst.codemod: imported only when fixing

        # A cache is data from elsewhere (a CI cache restored from a fork's pull request): a
        # file that is to be fixed is analysed afresh, and only its own fixes are applied.
        stale = [
            (path, originals[path])
            for path in dict.fromkeys(f.path for f in select_fixes(findings, unsafe_fixes))
            if path in by_path and by_path[path].cached
        ]
        if stale:
            for result in analyse_many(stale, rules, jobs=jobs, cache=None, prefilter=prefilter):
                by_path[result.path] = result
            if prefilter:
                _analyse_wanted(list(current.items()), by_path, rules, jobs=1, cache=None)
            findings = judge()

        for _ in range(MAX_FIX_PASSES):
            changed: list[tuple[str, bytes]] = []
            by_file: dict[str, list[Finding]] = {}
            for finding in select_fixes(findings, unsafe_fixes):
                if finding.path not in frozen:
                    by_file.setdefault(finding.path, []).append(finding)
            for path, fixable in by_file.items():
                new = fix_file(path, current[path], fixable, fix_errors)
                if new is None:
                    frozen.add(path)
                    current[path] = originals[path]
                    continue
                data, applied = new
                if applied and data != current[path]:
                    current[path] = data
                    applied_counts[path] = applied_counts.get(path, 0) + len(applied)
                    applied_rules.setdefault(path, Counter()).update((f.code, f.name) for f in applied)
                    changed.append((path, data))
            if not changed:
                break
            for result in analyse_many(changed, rules, jobs=1, cache=None, prefilter=prefilter):
                by_path[result.path] = result
            if prefilter:  # what a project rule asked of the fixed files, asked again
                _analyse_wanted(list(current.items()), by_path, rules, jobs=1, cache=None)
            findings = judge()
        for path in frozen:
            # report the findings of the untouched original
            by_path[path] = analyse_many([(path, originals[path])], rules, jobs=1, cache=None, prefilter=prefilter)[0]
        if frozen:
            if prefilter:
                _analyse_wanted(list(current.items()), by_path, rules, jobs=1, cache=None)
            findings = judge()
        for path, data in current.items():
            if data != originals[path] and path not in frozen:
                by_rule = tuple(
                    sorted((code, name, n) for (code, name), n in applied_rules.get(path, Counter()).items())
                )
                out.changes[path] = FileChange(path, originals[path], data, applied_counts.get(path, 0), by_rule)
    out.internal_errors.extend(fix_errors)
    out.findings = findings
    out.parse_errors = sorted(
        (r.parse_error for r in by_path.values() if r.parse_error is not None and r.path in named),
        key=lambda e: e.path,
    )
    out.files_checked = len(items)
    return out


def fix_file(
    path: str, raw: bytes, fixable: list[Finding], errors: list[InternalError]
) -> tuple[bytes, list[Finding]] | None:
    """Apply one pass of fixes to a file; None if the result would not parse."""
    from reglint.fixer import apply_fixes

    source = source_for(path, raw)
    try:
        text = source.text()
    except SourceError:
        return None
    original = getattr(source, "original_text", None)
    try:
        applied = apply_fixes(text, fixable, original() if original is not None else None)
        fixed_source = source.reparse_text(applied.text)
    except Exception as error:
        culprits = _culprits(source, text, fixable)
        codes = ", ".join(sorted(culprits)) or ", ".join(sorted({f.code for f in fixable}))
        errors.append(
            InternalError(path, codes, f"fix by {codes} produced invalid code ({_short(error)}); file left unchanged")
        )
        return None
    return fixed_source, applied.applied


def _culprits(source: object, text: str, fixable: list[Finding]) -> set[str]:
    from reglint.fixer import apply_fixes

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
