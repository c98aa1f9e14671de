"""Output formats. Each formatter takes a finished run and returns the text to print;
none of them prints or decides the exit code."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reglint.model import Finding, Position
from reglint.runner import RunResult


@dataclass(frozen=True)
class View:
    """How the CLI wants the run shown."""

    unsafe_fixes: bool = False
    fixing: bool = False
    quiet: bool = False
    statistics: bool = False
    color: bool = False


def location(path: str, position: Position) -> str:
    """`path:line:col` with a 1-based column, as editors and Ruff users expect."""
    return f"{path}:{position.line}:{position.column + 1}"


def fixable_now(finding: Finding, view: View) -> bool:
    return finding.fix is not None and finding.fix.applicable(view.unsafe_fixes)


def _paint(text: str, code: str, view: View) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if view.color else text


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
        noun = "problem" if problems == 1 else "problems"
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
    entries: list[tuple[tuple[Any, ...], str]] = []
    for f in result.findings:
        mark = " [*]" if fixable_now(f, view) else ""
        code = _paint(f.code, "1;31", view)
        where = _paint(location(f.path, f.range.start), "1", view)
        entries.append((f.sort_key(), f"{where}: {code}{mark} {f.message}"))
    for e in result.parse_errors:
        where = location(e.path, Position(e.line, e.column))
        entries.append(
            ((e.path, e.line, e.column, "", ""), f"{where}: {_paint('error', '1;31', view)}: cannot parse: {e.message}")
        )
    for path, reason in result.read_errors:
        entries.append(((path, 0, 0, "", ""), f"{path}:1:1: {_paint('error', '1;31', view)}: {reason}"))
    out.extend(text for _, text in sorted(entries, key=lambda e: e[0]))
    if view.statistics:
        out.extend(statistics_lines(result))
    if not view.quiet:
        out.extend(summary_lines(result, view))
    return "\n".join(out) + ("\n" if out else "")


def statistics_lines(result: RunResult) -> list[str]:
    counts = Counter((f.code, f.name) for f in result.findings)
    fixable = Counter(f.code for f in result.findings if f.fix is not None)
    return [
        f"{count:>5}\t{code}\t{'[*]' if fixable[code] else '   '}\t{name}"
        for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def finding_json(f: Finding, view: View) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": f.name,
        "message": f.message,
        "filename": f.path,
        "location": {"row": f.range.start.line, "column": f.range.start.column + 1},
        "end_location": {"row": f.range.end.line, "column": f.range.end.column + 1},
        "fix": None
        if f.fix is None
        else {
            "applicability": f.fix.safety.value,
            "available": fixable_now(f, view),
            "edits": [
                {
                    "content": e.content,
                    "location": {"row": e.range.start.line, "column": e.range.start.column + 1},
                    "end_location": {"row": e.range.end.line, "column": e.range.end.column + 1},
                }
                for e in f.fix.edits
            ],
            "imports": [list(i) for i in f.fix.imports],
        },
    }


def format_json(result: RunResult, view: View) -> str:
    items: list[dict[str, Any]] = [finding_json(f, view) for f in result.findings]
    for e in result.parse_errors:
        items.append(
            {
                "code": None,
                "name": "parse-error",
                "message": e.message,
                "filename": e.path,
                "location": {"row": e.line, "column": e.column + 1},
                "end_location": {"row": e.line, "column": e.column + 1},
                "fix": None,
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
    items.sort(key=lambda i: (i["filename"], i["location"]["row"], i["location"]["column"], i["code"] or ""))
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


FORMATTERS: dict[str, Callable[[RunResult, View], str]] = {
    "text": format_text,
    "concise": format_text,
    "json": format_json,
}
