"""Output formats. Each formatter takes a finished run and returns the text to print;
none of them prints or decides the exit code.

`text` / `concise` and `json` live here; `full` (source and fix shown), `sarif` (code
scanning) and `github` (Actions annotations) have a module each; `base` holds what they share
(View, and Files, which places a notebook's findings in their cells). FORMATTERS is the
registry the CLI's `--output-format` offers."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from reglint import rule_url
from reglint.model import Finding, Position, RunResult
from reglint.output.base import Files, View, fixable_now, paint, valid_data

__all__ = ["FORMATTERS", "Files", "View", "fixable_now", "format_json", "format_text", "location"]


def location(path: str, position: Position) -> str:
    """`path:line:col` with a 1-based column, as editors and Ruff users expect."""
    return f"{path}:{position.line}:{position.column + 1}"


_paint = paint


def summary_lines(result: RunResult, view: View) -> list[str]:
    problems = len(result.findings) + len(result.parse_errors) + len(result.read_errors)
    fixable = sum(1 for f in result.findings if fixable_now(f, view))
    hidden = sum(1 for f in result.findings if f.fix is not None and not fixable_now(f, view))
    lines = []
    if problems == 0:
        if result.fixed:
            plural = "s" if result.fixed != 1 else ""
            lines.append(f"Found {result.fixed} error{plural} ({result.fixed} fixed, 0 remaining).")
        else:
            lines.append("All checks passed!")
    else:
        noun = "problem" if problems + result.fixed == 1 else "problems"
        if result.fixed:
            lines.append(f"Found {problems + result.fixed} {noun} ({result.fixed} fixed, {problems} remaining).")
        else:
            lines.append(f"Found {problems} {noun}" + (f" ({fixable} fixable)." if fixable else "."))
        if fixable and not view.fixing:
            lines.append(f"[*] {fixable} fixable with the `--fix` option.")
    if hidden:
        lines.append(
            f"{hidden} hidden fix{'es' if hidden != 1 else ''} can be enabled with the `--unsafe-fixes` option."
        )
    return lines


def format_text(result: RunResult, view: View) -> str:
    out: list[str] = []
    files = Files(view.sources)
    entries: list[tuple[tuple[Any, ...], str]] = []
    # with --statistics, the table stands alone (Ruff's way): no line per finding
    for f in () if view.statistics else result.findings:
        mark = " [*]" if fixable_now(f, view) else ""
        code = _paint(f.code, "1;31", view)
        where = _paint(files.location(f.path, f.range.start), "1", view)
        entries.append((f.sort_key(), f"{where}: {code}{mark} {files.cited(f.path, f.summary)}"))
    for e in result.parse_errors:
        where = files.location(e.path, Position(e.line, e.column))
        entries.append(
            ((e.path, e.line, e.column, "", ""), f"{where}: {_paint('error', '1;31', view)}: cannot parse: {e.message}")
        )
    for path, reason in result.read_errors:
        entries.append(((path, 0, 0, "", ""), f"{path}:1:1: {_paint('error', '1;31', view)}: {reason}"))
    out.extend(text for _, text in sorted(entries, key=lambda e: e[0]))
    if view.statistics:
        out.extend(statistics_lines(result, view))
    if not view.quiet:
        out.extend(summary_lines(result, view))
    return "\n".join(out) + ("\n" if out else "")


def statistics_lines(result: RunResult, view: View) -> list[str]:
    """A count per rule; `[*]` when `--fix` (as given: with `--unsafe-fixes` or not) fixes some."""
    counts = Counter((f.code, f.name) for f in result.findings)
    fixable = Counter(f.code for f in result.findings if fixable_now(f, view))
    return [
        f"{count:>5}\t{code}\t{'[*]' if fixable[code] else '   '}\t{name}"
        for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def _point(files: Files, path: str, position: Position) -> dict[str, int]:
    cell = files.cell(path, position.line)
    row = position.line if cell is None else cell[1]
    return {"row": row, "column": position.column + 1}


def finding_json(f: Finding, view: View, files: Files | None = None) -> dict[str, Any]:
    """One finding as JSON. In a notebook, rows count from the top of the cell and `cell`
    (1-based, counting every cell) says which; Python files have no `cell` key."""
    files = files or Files(view.sources)
    item: dict[str, Any] = {
        "code": f.code,
        "name": f.name,
        "message": files.cited(f.path, f.summary),
        "help": files.cited(f.path, f.help) if f.help is not None else None,
        "url": rule_url(f.code),
        "filename": f.path,
        "location": _point(files, f.path, f.range.start),
        "end_location": _point(files, f.path, f.range.end),
        "fix": None
        if f.fix is None
        else {
            "applicability": f.fix.safety.value,
            "available": fixable_now(f, view),
            "edits": [
                {
                    "content": e.content,
                    "location": _point(files, f.path, e.range.start),
                    "end_location": _point(files, f.path, e.range.end),
                    **_cell_key(files, f.path, e.range.start),
                }
                for e in f.fix.edits
            ],
            "imports": [list(i) for i in f.fix.imports],
        },
    }
    item.update(_cell_key(files, f.path, f.range.start))
    return item


def _cell_key(files: Files, path: str, position: Position) -> dict[str, int]:
    cell = files.cell(path, position.line)
    return {} if cell is None else {"cell": cell[0]}


def format_json(result: RunResult, view: View) -> str:
    if view.statistics:
        return json.dumps(statistics_json(result, view), indent=2) + "\n"
    files = Files(view.sources)
    items: list[dict[str, Any]] = [finding_json(f, view, files) for f in result.findings]
    for e in result.parse_errors:
        where = Position(e.line, e.column)
        items.append(
            {
                "code": None,
                "name": "parse-error",
                "message": e.message,
                "filename": e.path,
                "location": _point(files, e.path, where),
                "end_location": _point(files, e.path, where),
                "fix": None,
                **_cell_key(files, e.path, where),
            }
        )
    for path, reason in result.read_errors:
        items.append(
            {
                "code": None,
                "name": "io-error",
                "message": reason,
                "filename": path,
                "location": {"row": 1, "column": 1},
                "end_location": {"row": 1, "column": 1},
                "fix": None,
            }
        )
    items.sort(
        key=lambda i: (i["filename"], i.get("cell", 0), i["location"]["row"], i["location"]["column"], i["code"] or "")
    )
    return json.dumps(valid_data(items), indent=2, ensure_ascii=False) + "\n"


def statistics_json(result: RunResult, view: View) -> list[dict[str, Any]]:
    counts = Counter((f.code, f.name) for f in result.findings)
    fixable = Counter(f.code for f in result.findings if fixable_now(f, view))
    return [
        {"code": code, "name": name, "count": count, "fixable": bool(fixable[code])}
        for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


from reglint.output.full import format_full  # noqa: E402  (they use the helpers above)
from reglint.output.github import format_github  # noqa: E402
from reglint.output.sarif import format_sarif  # noqa: E402

FORMATTERS: dict[str, Callable[[RunResult, View], str]] = {
    "text": format_text,
    "concise": format_text,
    "full": format_full,
    "json": format_json,
    "sarif": format_sarif,
    "github": format_github,
}
