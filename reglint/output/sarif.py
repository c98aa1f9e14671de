"""`--output-format sarif`: SARIF 2.1.0, as GitHub code scanning takes it.

One run; its driver (with `informationUri`) describes each enabled rule (id, name, short
description = the rule's summary, full description and help from its documentation, `helpUri`
= its page under rules/, the rule's level: `error` for a bug that silently changes or breaks
training, `warning` for migration advice and judgement calls, `note` for opt-in advice, and
`precision` / `problem.severity` for code scanning). Each finding is a result with its rule,
level, message, location (a URI relative to the repository's root, `%SRCROOT%` in
`originalUriBaseIds`, whatever the working directory; region with 1-based lines and columns
counted in Unicode code points, end column exclusive, as SARIF defines), a
`partialFingerprints` entry that stays the same across runs and line shifts, the other places
a cross-file finding rests on as `relatedLocations`, and, where reglint has a fix, a `fixes`
entry whose replacements are exactly the text the fix changes.

A notebook's region is where the code sits in the `.ipynb` file itself (inside the JSON
string that holds the line), since that is the artifact code scanning shows; the result's
`properties` carry the cell (`cell`, 1-based over all cells) and the line and column inside
it. Files that could not be parsed or read are tool execution notifications, not results.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from reglint import __url__, __version__, rule_url
from reglint.fixer import apply_fixes
from reglint.model import Finding, Position, Range, RunResult
from reglint.output.base import Files, View, valid_data
from reglint.sources import changed_span, line_starts

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ROOT_ID = "%SRCROOT%"
# SARIF's `problem.severity` (GitHub code scanning) for each rule severity
PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "note": "recommendation"}


def uri(path: str, root: Path | None = None) -> str:
    """A relative URI (forward slashes, percent-encoded) for a path as reglint reports it:
    relative to `root` (the repository's root, `%SRCROOT%`) when given and the file is in it,
    else to the current folder."""
    candidate = Path(path)
    base = root if root is not None else Path.cwd()
    if candidate.is_absolute() or root is not None:
        try:
            candidate = candidate.resolve().relative_to(base.resolve())
        except (ValueError, OSError, RuntimeError):
            # the file's own bytes, percent-encoded (a name that is not UTF-8 stays exact)
            return "file://" + quote(os.fsencode(candidate.absolute().as_posix()), safe="/")
    return quote(os.fsencode(Path(os.path.normpath(candidate)).as_posix()), safe="/")


def _artifact(path: str, root: Path | None) -> dict[str, Any]:
    location: dict[str, Any] = {"uri": uri(path, root)}
    if root is not None and not location["uri"].startswith("file://"):
        location["uriBaseId"] = ROOT_ID
    return location


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
        "helpUri": rule_url(rule.code),
        "defaultConfiguration": {"level": rule.severity},
        "properties": {
            "tags": ["tensorflow", "keras", "regularization"],
            "fix": "none" if rule.fix_safety is None else rule.fix_label(),
            "precision": rule.precision,
            "problem.severity": PROBLEM_SEVERITY[rule.severity],
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
    span = changed_span(original, fixed)
    if span is None:
        return None
    start, end, text = span
    starts = line_starts(original)
    return {
        "deletedRegion": region(_position(starts, start), _position(starts, end)),
        "insertedContent": {"text": text},
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
        "artifactChanges": [{"artifactLocation": _artifact(finding.path, view.root), "replacements": replacements}],
    }


def _location(files: Files, path: str, span: Range, root: Path | None) -> dict[str, Any]:
    start = files.file_position(path, span.start)
    end = files.file_position(path, span.end)
    return {"physicalLocation": {"artifactLocation": _artifact(path, root), "region": region(start, end)}}


def fingerprint(finding: Finding, files: Files, seen: dict[tuple[str, str, str], int], root: Path | None = None) -> str:
    """A finding's identity across runs and line shifts (SARIF `partialFingerprints`): its
    rule, file and the text of its first line (blanks squeezed), with how many identical ones
    come before it in the file; not its line number."""
    text = files.text(finding.path) or ""
    lines = text.splitlines()
    line = lines[finding.range.start.line - 1] if 0 < finding.range.start.line <= len(lines) else ""
    key = (finding.code, uri(finding.path, root), " ".join(line.split()))  # the URI SARIF shows
    occurrence = seen.get(key, 0)
    seen[key] = occurrence + 1
    digest = hashlib.sha256("\0".join((*key, str(occurrence))).encode("utf-8", "surrogateescape")).hexdigest()
    return f"{digest[:32]}:{occurrence + 1}"


def result_object(
    finding: Finding, index: int, files: Files, view: View, level: str, seen: dict[tuple[str, str, str], int]
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": index,
        "level": level,
        "message": {"text": files.cited(finding.path, finding.message)},
        "locations": [_location(files, finding.path, finding.range, view.root)],
        "partialFingerprints": {"reglintFingerprint/v1": fingerprint(finding, files, seen, view.root)},
    }
    if finding.related:
        result["relatedLocations"] = [
            {**_location(files, path, span, view.root), "id": number, "message": {"text": what}}
            for number, (path, span, what) in enumerate(finding.related, 1)
        ]
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
    levels = {rule.code: rule.severity for rule in rules}
    seen: dict[tuple[str, str, str], int] = {}
    results = []
    for finding in sorted(result.findings, key=Finding.sort_key):
        item = result_object(finding, index.get(finding.code, -1), files, view, levels.get(finding.code, "error"), seen)
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
                "locations": [_location(files, error.path, Range(where, where), view.root)],
            }
        )
    for path, reason in result.read_errors:
        notifications.append(
            {
                "level": "error",
                "message": {"text": reason},
                "locations": [{"physicalLocation": {"artifactLocation": _artifact(path, view.root)}}],
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
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "reglint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": __url__,
                "rules": [descriptor(rule) for rule in rules],
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [invocation],
    }
    if view.root is not None:
        base = view.root.resolve().as_posix().rstrip("/") + "/"
        run["originalUriBaseIds"] = {ROOT_ID: {"uri": "file://" + quote(os.fsencode(base), safe="/")}}
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def format_sarif(result: RunResult, view: View) -> str:
    return json.dumps(valid_data(sarif_log(result, view)), indent=2, ensure_ascii=False) + "\n"
