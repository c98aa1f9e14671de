"""The command line. The only module that prints, writes files and chooses the exit code.

Exit codes (as Ruff): 0 nothing found; 1 findings, files that could not be parsed or read,
or (with --diff) a diff; 2 usage error, bad configuration, unknown rule code, or an internal
error (a rule that crashed, a fix that would have broken a file).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reglint import __version__
from reglint.config import (
    KEYS,
    ConfigError,
    Settings,
    check_globs,
    find_config,
    load_settings,
    parse_per_file_ignores,
    validate_codes,
)
from reglint.discovery import discover, is_excluded, read_files
from reglint.model import Finding, RunResult
from reglint.output import FORMATTERS, View
from reglint.project import names_files, project_context, repository_root, with_target
from reglint.sources import source_for
from reglint.writer import WriteError, unified_diff, write_atomic

if TYPE_CHECKING:
    from reglint.cache import Cache
    from reglint.requirements import Declaration

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(values: tuple[str, ...]) -> list[str]:
    return [code for value in values for code in value.split(",") if code.strip()]


def _err(message: str) -> None:
    click.echo(f"reglint: {message}", err=True)


def _warn(message: str) -> None:
    _err(f"warning: {message}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="reglint")
def main() -> None:
    """reglint: regularization pitfalls in TensorFlow and Keras code, found and fixed."""


@main.command()
@click.argument(
    "paths", nargs=-1, type=click.Path(path_type=str, readable=False)
)  # an unreadable file is a read error of its own, exit 1
@click.option("--fix/--no-fix", default=False, help="Apply safe fixes.")
@click.option(
    "--unsafe-fixes/--no-unsafe-fixes", default=False, help="Also apply (and offer) unsafe fixes (default: no)."
)
@click.option("-v", "--verbose", is_flag=True, help="Say which configuration, files, rules and cache are used.")
@click.option(
    "--add-noqa", is_flag=True, help="Add a noqa comment for each finding to its line (adopting reglint); no fix."
)
@click.option("--show-fixes", is_flag=True, help="With --fix: list the fixes applied, per file and rule.")
@click.option("--ignore-noqa", is_flag=True, help="Report findings that noqa comments suppress.")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when a fix was applied, even if nothing remains.")
@click.option("-o", "--output-file", type=click.Path(path_type=Path), help="Write the report to this file.")
@click.option("--diff", is_flag=True, help="Print a diff of the fixes instead of writing them; exit 1 if any.")
@click.option("--fix-only", is_flag=True, help="Apply fixes; do not report what remains.")
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (replaces the default set).")
@click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable in addition.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--exclude", multiple=True, help="Glob patterns of paths to skip (replaces the defaults).")
@click.option("--extend-exclude", multiple=True, help="Glob patterns of paths to skip in addition.")
@click.option("--per-file-ignores", multiple=True, help="GLOB:CODES pairs, e.g. 'tests/*:REG003'.")
@click.option(
    "--output-format",
    type=click.Choice(sorted(FORMATTERS)),
    default="text",
    show_default=True,
    help="How findings are printed: text (= concise), full (with source and fixes), json, sarif (code "
    "scanning), github (Actions annotations).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print findings only, no summary.")
@click.option("--statistics", is_flag=True, help="Print a count of findings per rule.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--stdin-filename", help="The path to report (and match config against) for `-`.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="A configuration file to use (pyproject.toml, reglint.toml or .reglint.toml).",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the results cache.")
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Where the cache lives.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: CPU count).")
@click.option(
    "--tensorflow-version",
    help="The TensorFlow the project runs on, a version ('1.15') or a specifier ('>=2.4,<2.16'); "
    "default: the configuration's, else inferred from the project's dependency declarations. "
    "Give a later one to see what moving to it changes.",
)
@click.option("--keras-version", help="The Keras the project runs on, as --tensorflow-version.")
@click.option(
    "--force-exclude",
    is_flag=True,
    default=None,
    help="Apply the excludes to paths named on the command line too (as the pre-commit hooks do).",
)
@click.option(
    "--isolated-files",
    is_flag=True,
    help="Judge named files on their own: do not read the rest of their project for the rules that judge across files.",
)
@click.option("--show-files", is_flag=True, help="Print the files that would be checked; check nothing.")
@click.option(
    "--show-settings", is_flag=True, help="Print the settings in use and where each came from; check nothing."
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour text output (default: only on a terminal, and never when NO_COLOR is set).",
)
def check(
    paths: tuple[str, ...],
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    fix_only: bool,
    verbose: bool,
    add_noqa: bool,
    show_fixes: bool,
    ignore_noqa: bool,
    exit_non_zero_on_fix: bool,
    output_file: Path | None,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    exclude: tuple[str, ...],
    extend_exclude: tuple[str, ...],
    per_file_ignores: tuple[str, ...],
    output_format: str,
    quiet: bool,
    statistics: bool,
    exit_zero: bool,
    stdin_filename: str | None,
    config_path: Path | None,
    no_cache: bool,
    cache_dir: Path | None,
    jobs: int | None,
    tensorflow_version: str | None,
    keras_version: str | None,
    force_exclude: bool | None,
    isolated_files: bool,
    show_files: bool,
    show_settings: bool,
    color: bool | None,
) -> None:
    """Check PATHS (default: the current directory) for regularization pitfalls."""
    try:
        settings = _settings(
            paths,
            stdin_filename,
            config_path,
            select,
            extend_select,
            ignore,
            exclude,
            extend_exclude,
            per_file_ignores,
        )
    except ConfigError as error:
        _err(str(error))
        sys.exit(EXIT_ERROR)
    if force_exclude:
        settings = replace(
            settings, force_exclude=True, origins=(*settings.origins, ("force-exclude", "--force-exclude"))
        )
    if ignore_noqa:
        settings = replace(settings, ignore_noqa=True)
    if stdin_filename and not paths:
        paths = ("-",)  # `--stdin-filename` alone reads standard input, as Ruff does
    fixing = fix or fix_only or diff
    from_stdin = paths == ("-",)
    nothing = False  # no file to check: a warning, and no "All checks passed!"
    stdin_data = b""
    if from_stdin:
        display = stdin_filename or "-"
        stdin_data = sys.stdin.buffer.read()
        items = [(display, stdin_data)]
        read_errors: list[tuple[str, str]] = []
        if stdin_filename and settings.force_exclude and is_excluded(Path(stdin_filename), settings):
            # not checked; but an editor replaces its buffer with what `--fix -` prints, so
            # the input still goes back out unchanged
            _err(f"warning: {display} is excluded by the configuration; not checked")
            items = []
    else:
        if "-" in paths:
            _err("`-` (standard input) cannot be combined with other paths")
            sys.exit(EXIT_ERROR)
        found = discover(paths or (".",), settings)
        items, read_errors = read_files(found.files)
        read_errors = found.errors + read_errors
        nothing = not items and not read_errors
        if nothing and not (show_settings or show_files):
            _err("warning: no Python files or notebooks found to check")
    try:
        anchors = ((stdin_filename,) if stdin_filename else ()) if from_stdin else paths
        settings, declared = with_target(
            settings, anchors, tensorflow_version, keras_version, [p for p, _ in items], _warn, dict(items)
        )
    except ConfigError as error:
        _err(str(error))
        sys.exit(EXIT_ERROR)
    if show_settings:
        _print_settings(settings, declared)
        sys.exit(EXIT_OK)
    if show_files:
        for path, _ in items:
            click.echo(path)
        sys.exit(EXIT_ERROR if read_errors else EXIT_OK)
    context: list[tuple[str, bytes]] = []
    if not isolated_files and names_files(paths, from_stdin, stdin_filename):
        context = project_context(settings, anchors, items, stdin_filename if from_stdin else None)
    if verbose:
        _err(f"configuration: {settings.config_file or 'none (defaults)'}; root: {settings.root}")
        for line in settings.target.describe():
            _err(line)
        _err(f"rules: {', '.join(rule.code for rule in settings.enabled_rules())}")
        _err(f"files: {len(items)} checked, {len(context)} more read from the project")
    cache = None
    run_keys = None
    result = None
    if not no_cache and not from_stdin:
        from reglint.cache import Cache, cache_directory

        directory, configured = cache_directory(settings, cache_dir)
        problem = _cache_problem(directory, configured=configured, settings=settings, items=items)
        if problem is not None:
            _err(problem)
            sys.exit(EXIT_ERROR)
        cache = Cache(directory, settings.fingerprint)
        if verbose:
            _err(f"cache: {directory}")
        if not fixing:
            # nothing changed since the last run of this project: its finished result
            run_keys = cache.run_keys([*items, *context], repr(settings))
            result = cache.get_run(run_keys)
            if verbose and result is not None:
                _err("cache: the whole run answered from the cache (nothing changed)")
    if result is None:
        result = _run(items, settings, fixing, unsafe_fixes, jobs, cache, output_format, context)
        if run_keys is not None and cache is not None and not result.internal_errors:
            cache.put_run(run_keys, result)
    result.read_errors = read_errors
    stream_err = from_stdin and fixing  # stdout carries the fixed source
    view = View(
        unsafe_fixes=unsafe_fixes,
        fixing=fixing,
        quiet=quiet,
        statistics=statistics,
        color=_use_color(color, sys.stderr if stream_err else sys.stdout) and output_format in COLOR_FORMATS,
        sources={path: (result.changes[path].fixed if path in result.changes else data) for path, data in items},
        rules=settings.enabled_rules,
        root=repository_root(anchors) if output_format == "sarif" else None,
    )
    write_failed = False
    if diff:
        _print_diffs(result)
    elif fixing and from_stdin:
        name, data = items[0] if items else ("-", stdin_data)
        change = result.changes.get(name)
        sys.stdout.buffer.write(change.fixed if change else data)
        sys.stdout.flush()
    elif fixing:
        failed = _write_changes(result)
        write_failed = bool(failed)
        if failed:
            # what was not written is not fixed: those files are reported as they are
            unfixed = [(path, result.changes[path].original) for path in failed]
            for path in failed:
                del result.changes[path]
            again = _run(unfixed, settings, False, unsafe_fixes, 1, None, output_format, context)
            result.findings = sorted(
                [f for f in result.findings if f.path not in failed] + again.findings, key=Finding.sort_key
            )
    if add_noqa:
        sys.exit(_add_noqa(result, items))
    if show_fixes and fixing and not diff and result.changes:
        click.echo(_fixes_listing(result), nl=False, err=stream_err)
    if nothing and output_format in HUMAN_FORMATS:
        pass
    elif not (fix_only or diff):
        report = FORMATTERS[output_format](result, view)
        if output_file is not None:
            try:
                output_file.write_text(report, encoding="utf-8")
            except OSError as error:
                _err(f"cannot write {output_file}: {error.strerror or error}")
                sys.exit(EXIT_ERROR)
        else:
            # colour was decided above (click would strip it from a pipe even with --color)
            click.echo(report, nl=False, err=stream_err, color=view.color)
    elif fix_only and not quiet and not diff:
        click.echo(f"Fixed {result.fixed} error{'s' if result.fixed != 1 else ''}.", err=from_stdin)
    for internal in result.internal_errors:
        code = f" {internal.code}" if internal.code else ""
        _err(f"internal error{code} in {internal.path}: {internal.message}")
    status = _exit_code(result, diff=diff, fix_only=fix_only, exit_zero=exit_zero, write_failed=write_failed)
    if exit_non_zero_on_fix and status == EXIT_OK and result.fixed and not diff:
        status = EXIT_FINDINGS
    sys.exit(status)


def _add_noqa(result: RunResult, items: list[tuple[str, bytes]]) -> int:
    """`--add-noqa`: each finding's line gets `# noqa: CODE` (merged into one there), the file
    written only if it still compiles to the same syntax. Notebooks are left alone."""
    import ast

    from reglint.suppress import add_noqa

    wanted: dict[str, dict[int, set[str]]] = {}
    for finding in result.findings:
        wanted.setdefault(finding.path, {}).setdefault(finding.range.start.line, set()).add(finding.code)
    raw = dict(items)
    added = 0
    for path, lines in sorted(wanted.items()):
        if path.endswith(".ipynb") or path not in raw:
            continue
        data = raw[path]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        new, count = add_noqa(text, lines)
        if not count:
            continue
        try:
            if ast.dump(ast.parse(new)) != ast.dump(ast.parse(text)):
                continue
        except SyntaxError:
            continue
        try:
            write_atomic(Path(path), new.encode("utf-8"), data)
        except WriteError as error:
            _err(f"cannot write {path}: {error}")
            return EXIT_ERROR
        added += count
    click.echo(f"Added {added} noqa directive{'s' if added != 1 else ''}.")
    return EXIT_OK


def _fixes_listing(result: RunResult) -> str:
    """`--show-fixes`: the fixes applied, per file and rule (Ruff's listing)."""
    total = sum(change.fixes_applied for change in result.changes.values())
    lines = [f"Fixed {total} error{'s' if total != 1 else ''}:"]
    for path in sorted(result.changes):
        lines.append(f"- {path}:")
        lines += [f"    {count} × {code} ({name})" for code, name, count in result.changes[path].by_rule]  # noqa: RUF001
    return "\n".join(lines) + "\n\n"


def _cache_problem(
    directory: Path, *, configured: bool, settings: Settings, items: list[tuple[str, bytes]]
) -> str | None:
    """Why the cache cannot live in `directory`: a folder that holds files being checked (the
    cache's entries and `.gitignore` would sit among the user's sources), or, from the
    configuration, a folder outside the project (a `pyproject.toml` could make every run
    write anywhere; the command line and REGLINT_CACHE_DIR may)."""
    from reglint.cache import outside_project

    where = directory.resolve()
    if configured and (outside := outside_project(directory, settings)) is not None:
        return outside
    folders: dict[str, Path] = {}  # each folder resolved once: thousands of files share few
    for path, _ in items:
        folder = os.path.dirname(path) or "."
        resolved = folders.get(folder)
        if resolved is None:
            resolved = folders[folder] = Path(folder).resolve()
        if where == resolved or where in resolved.parents:
            return (
                f"the cache directory {directory} holds files being checked ({path}); give the cache a folder "
                "of its own (--cache-dir, cache-dir)"
            )
    return None


def _run(
    items: list[tuple[str, bytes]],
    settings: Settings,
    fixing: bool,
    unsafe_fixes: bool,
    jobs: int | None,
    cache: Cache | None,
    output_format: str,
    context: list[tuple[str, bytes]],
) -> RunResult:
    from reglint.runner import default_jobs, run  # the engine, the rules and libcst

    progress = _Progress() if _show_progress(output_format) else None
    try:
        return run(
            items,
            settings,
            fix=fixing,
            unsafe_fixes=unsafe_fixes,
            jobs=jobs or default_jobs(),
            cache=cache,
            progress=progress,
            context=context,
        )
    except Exception as error:  # a bug in reglint, not in the user's code: one line, exit 2
        if os.environ.get("REGLINT_DEBUG"):
            raise
        _err(f"internal error: {type(error).__name__}: {error} (REGLINT_DEBUG=1 shows the traceback)")
        sys.exit(EXIT_ERROR)
    finally:
        if progress is not None:
            progress.clear()


COLOR_FORMATS = ("text", "concise", "full")


def _use_color(flag: bool | None, stream: object) -> bool:
    """--color / --no-color decide; otherwise colour only on a terminal, and never when the
    NO_COLOR environment variable is set to a non-empty value (https://no-color.org)."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


HUMAN_FORMATS = ("text", "concise", "full")


def _show_progress(output_format: str) -> bool:
    """A progress counter goes to stderr on a terminal, never with machine-readable output."""
    return output_format in HUMAN_FORMATS and sys.stderr.isatty() and "REGLINT_NO_PROGRESS" not in os.environ


class _Progress:
    """`reglint: 120/457 files` on one stderr line, redrawn at most ten times a second."""

    def __init__(self) -> None:
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        sys.stderr.write(f"\rreglint: {done}/{total} files")
        sys.stderr.flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.drawn = False


def _exit_code(result: RunResult, *, diff: bool, fix_only: bool, exit_zero: bool, write_failed: bool) -> int:
    if result.internal_errors or write_failed:
        return EXIT_ERROR
    if exit_zero:
        return EXIT_OK
    if diff:
        return EXIT_FINDINGS if result.changes else EXIT_OK
    if fix_only:
        return EXIT_OK
    problems = result.findings or result.parse_errors or result.read_errors
    return EXIT_FINDINGS if problems else EXIT_OK


def _settings(
    paths: tuple[str, ...],
    stdin_filename: str | None,
    config_path: Path | None,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    exclude: tuple[str, ...],
    extend_exclude: tuple[str, ...],
    per_file_ignores: tuple[str, ...],
) -> Settings:
    if config_path is not None:
        if not config_path.is_file():
            raise ConfigError(f"config file {config_path} does not exist")
        settings = load_settings(config_path)
    else:
        # found from what is checked (`cd / && reglint check ~/proj` uses ~/proj's), as Ruff does
        named = [p for p in paths if p != "-"]
        anchor = Path(stdin_filename).parent if stdin_filename else Path(named[0]) if named else Path.cwd()
        settings = load_settings(find_config(anchor if anchor.exists() else Path.cwd()))
        if settings.config_file is None:
            settings = replace(settings, root=Path.cwd())
    changes: dict[str, object] = {}
    if select:
        changes["select"] = validate_codes(_codes(select), "--select")
    if extend_select:
        changes["extend_select"] = settings.extend_select + validate_codes(_codes(extend_select), "--extend-select")
    if ignore:
        changes["ignore"] = settings.ignore + validate_codes(_codes(ignore), "--ignore")
    if exclude:
        changes["exclude"] = tuple(exclude)
    if extend_exclude:
        changes["extend_exclude"] = settings.extend_exclude + tuple(extend_exclude)
    if per_file_ignores:
        changes["per_file_ignores"] = settings.per_file_ignores + parse_per_file_ignores(per_file_ignores)
    flags = {key: f"--{key.replace('_', '-')}" for key in changes}
    origins = dict(settings.origins)
    origins.update({key.replace("_", "-"): flag for key, flag in flags.items()})
    settings = replace(settings, origins=tuple(origins.items()), **changes)  # type: ignore[arg-type]
    check_globs(settings)
    return settings


def _print_settings(settings: Settings, declared: list[Declaration]) -> None:
    """Every setting's value and where it came from (the configuration file, a flag, or the
    default), then the rules it enables and the target."""
    origins = dict(settings.origins)
    lines = [f"config file: {settings.config_file or 'none (defaults)'}", f"root: {settings.root}"]
    for key in KEYS:
        if key in ("tensorflow-version", "keras-version"):
            continue  # shown with the target, below
        value = getattr(settings, key.replace("-", "_"))
        if key == "per-file-ignores":
            value = {glob: list(codes) for glob, codes in value}
        shown = json.dumps(list(value) if isinstance(value, tuple) else value)
        lines.append(f"{key} = {shown} ({'from ' + origins[key] if key in origins else 'default'})")
    lines += [
        f"rules: {', '.join(rule.code for rule in settings.enabled_rules()) or 'none'}",
        *settings.target.describe(),
    ]
    if declared:
        lines.append("declarations found (the most specific of each library wins):")
        lines += [f"  {d.where}: {d.library}{d.spec or ' (any release)'}" for d in declared]
    click.echo("\n".join(lines))


def _decoded(path: str, data: bytes) -> str:
    try:
        source = source_for(path, data)
        # a notebook shows its cells as written (see reglint.notebook)
        return str(getattr(source, "display_text", source.text)())
    except Exception:
        return data.decode("utf-8", "replace")


def _print_diffs(result: RunResult) -> None:
    for path in sorted(result.changes):
        change = result.changes[path]
        text = unified_diff(path, _decoded(path, change.original), _decoded(path, change.fixed))
        encoding = _encoding(path, change.original)
        sys.stdout.buffer.write(_diff_bytes(text, encoding))
    sys.stdout.flush()
    if result.changes:
        count = result.fixed
        click.echo(
            f"Would fix {count} error{'s' if count != 1 else ''} in {len(result.changes)} file"
            f"{'s' if len(result.changes) != 1 else ''}.",
            err=True,
        )


def _diff_bytes(text: str, encoding: str) -> bytes:
    """A diff in bytes `patch` applies: the file names as the file system has them, the lines
    in the file's own encoding (a coding cookie may not be able to spell the path)."""
    out = []
    for line in text.splitlines(keepends=True):
        if line.startswith(("--- ", "+++ ")):
            out.append(os.fsencode(line))
        else:
            try:
                out.append(line.encode(encoding, "surrogateescape"))
            except UnicodeEncodeError:
                out.append(line.encode("utf-8", "surrogateescape"))
    return b"".join(out)


def _encoding(path: str, data: bytes) -> str:
    try:
        encoding = source_for(path, data).parse().encoding
    except Exception:
        return "utf-8"
    return "utf-8" if encoding == "utf-8-sig" else encoding


def _write_changes(result: RunResult) -> set[str]:
    """Write the fixed files; the paths whose write was refused or failed."""
    failed = set()
    for path in sorted(result.changes):
        change = result.changes[path]
        try:
            write_atomic(Path(path), change.fixed, change.original)
        except WriteError as error:
            _err(f"{path}: {error}")
            failed.add(path)
    return failed


@main.command()
@click.option("--cache-dir", type=click.Path(path_type=Path), help="The cache to remove (default: the project's).")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="A configuration file to use.")
def clean(cache_dir: Path | None, config_path: Path | None) -> None:
    """Remove the results cache: reglint's entries, and the folder itself when reglint made it."""
    import re
    import shutil

    from reglint.cache import CACHEDIR_TAG, TAG_TEXT, cache_directory

    try:
        settings = load_settings(config_path if config_path is not None else find_config(Path.cwd()))
    except ConfigError as error:
        _err(str(error))
        sys.exit(EXIT_ERROR)
    directory, _ = cache_directory(settings, cache_dir)
    if not directory.is_dir():
        click.echo(f"No cache at {directory}.")
        return
    tag = directory / CACHEDIR_TAG
    try:
        ours = tag.is_file() and TAG_TEXT.strip() in tag.read_text(encoding="utf-8", errors="replace")
        # only what reglint writes there: its versioned entry folders (a folder the user gave,
        # `--cache-dir .`, keeps everything else)
        entries = [p for p in directory.iterdir() if p.is_dir() and re.fullmatch(r"v\d+-.+", p.name)]
        for entry in entries:
            shutil.rmtree(entry)
        if ours:
            shutil.rmtree(directory)
    except OSError as error:
        _err(f"cannot remove the cache at {directory}: {error.strerror or error}")
        sys.exit(EXIT_ERROR)
    click.echo(f"Removed the cache at {directory}.")


@main.command()
@click.option("--tcp", is_flag=True, help="Listen on a TCP port instead of standard input and output.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --tcp: the address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=2087, show_default=True, help="With --tcp: the port.")
def server(tcp: bool, host: str, port: int) -> None:
    """Run the language server (diagnostics and quick fixes in any LSP editor)."""
    try:
        from reglint.lsp.handlers import serve
    except ImportError as error:
        _err(f"`reglint server` needs the server extra: pip install 'reglint[server]' ({error})")
        sys.exit(EXIT_ERROR)
    serve(tcp=tcp, host=host, port=port)


@main.command(name="rules")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text")
def list_rules(output_format: str) -> None:
    """List every rule: code, name, fix, safety, whether it is on by default."""
    from reglint.rule import all_rules

    rules = all_rules()
    if output_format == "json":
        import json

        click.echo(
            json.dumps(
                [
                    {
                        "code": r.code,
                        "name": r.name,
                        "summary": r.summary(),
                        "fix": None if r.fix_safety is None else r.fix_label(),
                        "default": r.default_enabled,
                    }
                    for r in rules
                ],
                indent=2,
            )
        )
        return
    click.echo(f"{'code':<8}{'name':<36}{'fix':<13}{'default':<9}summary")
    for r in rules:
        fix = r.fix_label()
        default = "on" if r.default_enabled else "off"
        click.echo(f"{r.code:<8}{r.name:<36}{fix:<13}{default:<9}{r.summary()}")


@main.command(name="rule")
@click.argument("code")
def show_rule(code: str) -> None:
    """Print the documentation of one rule (by code or name)."""
    wanted = code.strip()
    from reglint.rule import rules_by_code

    by_code = rules_by_code()
    rule = by_code.get(wanted.upper()) or next((r for r in by_code.values() if r.name == wanted), None)
    if rule is None:
        _err(f"unknown rule {code!r}; `reglint rules` lists them")
        sys.exit(EXIT_ERROR)
    fix = f"fix: {rule.fix_label()}" if rule.fix_safety else "no fix"
    state = "on by default" if rule.default_enabled else "off by default (enable with --select)"
    click.echo(f"# {rule.name} ({rule.code})\n\n{fix}; {state}\n\n{rule.documentation()}")
