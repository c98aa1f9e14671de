"""`--output-format sarif`: SARIF 2.1.0, as GitHub code scanning takes it.

One run; its driver describes each enabled rule (id, name, short description = the rule's
summary, full description and help from its documentation, default level `error`). Each
finding is a result with its rule, message, location (path relative to the working
directory, forward slashes; region with 1-based lines and columns counted in Unicode code
points, end column exclusive, as SARIF defines) and, where reglint has a fix, a `fixes` entry
whose replacements are exactly the text the fix changes.

A notebook's region is where the code sits in the `.ipynb` file itself (inside the JSON
string that holds the line), since that is the artifact code scanning shows; the result's
`properties` carry the cell (`cell`, 1-based over all cells) and the line and column inside
it. Files that could not be parsed or read are tool execution notifications, not results.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from reglint import __version__
from reglint.fixer import apply_fixes
from reglint.model import Finding, Position, Range, RunResult
from reglint.output.base import Files, View, valid_data
from reglint.sources import line_starts

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = "error"


def uri(path: str) -> str:
    """A relative URI (forward slashes, percent-encoded) for a path as reglint reports it."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            # the file's own bytes, percent-encoded (a name that is not UTF-8 stays exact)
            return "file://" + quote(os.fsencode(candidate.resolve().as_posix()), safe="/")
    return quote(os.fsencode(Path(os.path.normpath(candidate)).as_posix()), safe="/")


def _section(doc: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\s*\n(.*?)(?=^## |\Z)", doc, re.S | re.M)
    return " ".join(match.group(1).split()) if match else ""


def descriptor(rule: Any) -> dict[str, Any]:
    doc = rule.documentation()
    what = _section(doc, "What it does")
    why = _section(doc, "Why is this bad?")
    full = " ".join(part for part in (what, why) if part) or rule.summary()
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": full},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": LEVEL},
        "properties": {
            "tags": ["tensorflow", "keras", "regularization"],
            "fix": "none" if rule.fix_safety is None else rule.fix_label(),
        },
    }
    return descriptor


def region(start: Position, end: Position) -> dict[str, int]:
    start_line = max(start.line, 1)
    end_line = max(end.line, start_line)
    end_column = end.column + 1 if end_line > start_line else max(end.column, start.column) + 1
    return {
        "startLine": start_line,
        "startColumn": start.column + 1,
        "endLine": end_line,
        "endColumn": end_column,
    }


def _replacement(original: str, fixed: str) -> dict[str, Any] | None:
    """The one replacement that turns `original` into `fixed` (common ends kept)."""
    if original == fixed:
        return None
    prefix = 0
    limit = min(len(original), len(fixed))
    while prefix < limit and original[prefix] == fixed[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and original[-1 - suffix] == fixed[-1 - suffix]:
        suffix += 1
    starts = line_starts(original)
    return {
        "deletedRegion": region(_position(starts, prefix), _position(starts, len(original) - suffix)),
        "insertedContent": {"text": fixed[prefix : len(fixed) - suffix]},
    }


def _position(starts: list[int], offset: int) -> Position:
    import bisect

    line = bisect.bisect_right(starts, offset)
    return Position(line, offset - starts[line - 1])


def fix_object(finding: Finding, files: Files, view: View) -> dict[str, Any] | None:
    fix = finding.fix
    if fix is None:
        return None
    notebook = files.notebook(finding.path)
    replacements: list[dict[str, Any]] = []
    if notebook is None and not fix.imports:
        for edit in sorted(fix.edits, key=lambda e: e.range):
            replacements.append(
                {"deletedRegion": region(edit.range.start, edit.range.end), "insertedContent": {"text": edit.content}}
            )
    else:
        text = files.text(finding.path)
        if text is None:
            return None
        try:
            fixed = apply_fixes(text, [finding]).text
            if notebook is not None:
                original = notebook.json_text
                fixed = notebook.render(fixed).decode("utf-8").removeprefix("\ufeff")
            else:
                original = text
        except Exception:
            return None  # a fix that cannot be applied alone is not offered here
        replacement = _replacement(original, fixed)
        if replacement is None:
            return None
        replacements.append(replacement)
    applied = "applied by --fix" if fix.applicable(False) else "applied with --fix --unsafe-fixes"
    return {
        "description": {"text": f"{fix.safety.value.capitalize()} fix for {finding.code} ({applied})."},
        "artifactChanges": [{"artifactLocation": {"uri": uri(finding.path)}, "replacements": replacements}],
    }


def _location(files: Files, path: str, span: Range) -> dict[str, Any]:
    start = files.file_position(path, span.start)
    end = files.file_position(path, span.end)
    return {"physicalLocation": {"artifactLocation": {"uri": uri(path)}, "region": region(start, end)}}


def result_object(finding: Finding, index: int, files: Files, view: View) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": index,
        "level": LEVEL,
        "message": {"text": finding.message},
        "locations": [_location(files, finding.path, finding.range)],
    }
    fix = fix_object(finding, files, view)
    if fix is not None:
        result["fixes"] = [fix]
    cell = files.cell(finding.path, finding.range.start.line)
    if cell is not None:
        result["properties"] = {"cell": cell[0], "cellLine": cell[1], "cellColumn": finding.range.start.column + 1}
    return result


def sarif_log(result: RunResult, view: View) -> dict[str, Any]:
    from reglint.rule import all_rules  # the rule modules (and libcst): only for this format

    files = Files(view.sources)
    rules = list((view.rules() if callable(view.rules) else view.rules) or all_rules())
    known = {rule.code for rule in rules}
    by_code = {rule.code: rule for rule in all_rules()}
    rules.extend(by_code[code] for code in sorted({f.code for f in result.findings} - known) if code in by_code)
    index = {rule.code: i for i, rule in enumerate(rules)}
    results = []
    for finding in sorted(result.findings, key=Finding.sort_key):
        item = result_object(finding, index.get(finding.code, -1), files, view)
        if item["ruleIndex"] < 0:
            del item["ruleIndex"]
        results.append(item)
    notifications: list[dict[str, Any]] = []
    for error in result.parse_errors:
        where = Position(max(error.line, 1), error.column)
        notifications.append(
            {
                "level": "error",
                "message": {"text": f"cannot parse: {error.message}"},
                "locations": [_location(files, error.path, Range(where, where))],
            }
        )
    for path, reason in result.read_errors:
        notifications.append(
            {
                "level": "error",
                "message": {"text": reason},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri(path)}}}],
            }
        )
    for internal in result.internal_errors:
        code = f" {internal.code}" if internal.code else ""
        notifications.append(
            {"level": "error", "message": {"text": f"internal error{code} in {internal.path}: {internal.message}"}}
        )
    invocation: dict[str, Any] = {"executionSuccessful": not result.internal_errors}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "reglint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [descriptor(rule) for rule in rules],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
                "invocations": [invocation],
            }
        ],
    }


def format_sarif(result: RunResult, view: View) -> str:
    return json.dumps(valid_data(sarif_log(result, view)), indent=2, ensure_ascii=False) + "\n"
