"""`--output-format full`: each finding with the source lines it points at, underlined, and,
for a finding with a fix, the change the fix makes as a small diff."""

from __future__ import annotations

import difflib

from reglint import rule_url
from reglint.fixer import apply_fixes
from reglint.model import Finding, Position, Range, RunResult
from reglint.output.base import Files, View, fixable_now, paint

MAX_LINES = 6  # source lines shown for one finding; longer ranges show their ends
MAX_DIFF_LINES = 16


def format_full(result: RunResult, view: View) -> str:
    from reglint.output import statistics_lines, summary_lines

    files = Files(view.sources)
    blocks: list[tuple[tuple[object, ...], str]] = []
    for finding in () if view.statistics else result.findings:  # the table stands alone
        blocks.append((finding.sort_key(), _finding_block(finding, files, view)))
    for error in result.parse_errors:
        where = Position(error.line, error.column)
        head = f"{paint(files.location(error.path, where), '1', view)}: {paint('error', '1;31', view)}: "
        head += f"cannot parse: {error.message}"
        snippet = _snippet(files, error.path, Range(where, where), view, label="")
        blocks.append(((error.path, error.line, error.column, "", ""), "\n".join([head, *snippet])))
    for path, reason in result.read_errors:
        blocks.append(((path, 0, 0, "", ""), f"{path}:1:1: {paint('error', '1;31', view)}: {reason}"))
    out = [text + "\n" for _, text in sorted(blocks, key=lambda b: b[0])]
    tail: list[str] = []
    if view.statistics:
        tail.extend(statistics_lines(result, view))
    if not view.quiet:
        tail.extend(summary_lines(result, view))
    return "\n".join(out) + ("\n" if out and tail else "") + "".join(line + "\n" for line in tail)


def _finding_block(finding: Finding, files: Files, view: View) -> str:
    mark = " [*]" if fixable_now(finding, view) else ""
    where = paint(files.location(finding.path, finding.range.start), "1", view)
    lines = [f"{where}: {paint(finding.code, '1;31', view)}{mark} {files.cited(finding.path, finding.summary)}"]
    lines.extend(_snippet(files, finding.path, finding.range, view, label=finding.code))
    if finding.help is not None:
        lines.append(f"  {paint('help', '1;36', view)}: {files.cited(finding.path, finding.help)}")
    lines.append(f"  = {rule_url(finding.code)}")
    if finding.fix is not None:
        lines.extend(_fix_lines(finding, files, view))
    return "\n".join(lines)


def _gutter_width(files: Files, path: str, span: Range) -> int:
    labels = [_line_label(files, path, line) for line in (span.start.line, span.end.line)]
    return max(len(label) for label in labels)


def _line_label(files: Files, path: str, line: int) -> str:
    cell = files.cell(path, line)
    return str(line if cell is None else cell[1])


def _snippet(files: Files, path: str, span: Range, view: View, *, label: str) -> list[str]:
    first, last = span.start.line, max(span.end.line, span.start.line)
    if span.end.line > span.start.line and span.end.column == 0:
        last -= 1  # a range that ends at the start of a line does not cover that line
    texts = {line: files.line(path, line) for line in range(first, last + 1)}
    if texts.get(first) is None:
        return []
    width = max(_gutter_width(files, path, span), 1)
    bar = paint(" " * width + " |", "1;34", view)
    out = [bar]
    shown = list(range(first, last + 1))
    if len(shown) > MAX_LINES:
        shown = [*shown[: MAX_LINES // 2], -1, *shown[-(MAX_LINES // 2) :]]
    for line in shown:
        if line == -1:
            out.append(paint(" " * width + " :", "1;34", view))
            continue
        text = texts.get(line) or ""
        gutter = paint(f"{_line_label(files, path, line):>{width}} |", "1;34", view)
        out.append(f"{gutter} {text}".rstrip())
        start = span.start.column if line == first else len(text) - len(text.lstrip())
        end = span.end.column if line == span.end.line else len(text)
        end = max(min(end, len(text)), start + 1)
        pad = "".join("\t" if char == "\t" else " " for char in text[:start])
        carets = "^" * (end - start)
        suffix = f" {label}" if label and line == shown[-1] else ""
        out.append(f"{bar} {pad}{paint(carets + suffix, '1;31', view)}")
    out.append(bar)
    return out


def _fix_lines(finding: Finding, files: Files, view: View) -> list[str]:
    assert finding.fix is not None
    text = files.text(finding.path)
    if text is None:
        return []
    try:
        fixed = apply_fixes(text, [finding]).text
    except Exception:
        return []
    if finding.fix.applicable(view.unsafe_fixes):
        title = f"fix ({finding.fix.safety.value}):"
    else:
        title = f"fix ({finding.fix.safety.value}, applied with --unsafe-fixes):"
    width = max(_gutter_width(files, finding.path, finding.range), 1)
    indent = " " * width + " "
    out = [f"{indent}= {paint(title, '1', view)}"]
    diff = list(difflib.unified_diff(text.splitlines(), fixed.splitlines(), lineterm="", n=0))
    body = [line for line in diff[2:]]  # drop the ---/+++ header
    shown = 0
    for index, line in enumerate(body):
        if line.startswith("@@"):
            if index:
                out.append(f"{indent}  ...")
            continue
        if shown == MAX_DIFF_LINES:
            rest = sum(1 for rest_line in body[index:] if not rest_line.startswith("@@"))
            out.append(f"{indent}  ... ({rest} more changed lines)")
            break
        color = "31" if line.startswith("-") else "32"
        out.append(f"{indent}  {paint(line[0] + ' ' + line[1:], color, view)}".rstrip())
        shown += 1
    return out
