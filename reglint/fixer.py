"""Applying fixes to a text: pure functions, no I/O.

Fixes are text edits on the decoded source. Those of one pass that do not overlap are
applied together, from the end of the file backwards so positions stay valid; an overlapping
fix waits for the next pass, when the file has been re-analysed. Imports a fix needs are
added after its edits by libcst's AddImportsVisitor, which never duplicates one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reglint.model import Finding, Position
from reglint.sources import line_starts


def _offset(starts: list[int], text_length: int, position: Position) -> int:
    if position.line - 1 >= len(starts):
        return text_length
    return min(starts[position.line - 1] + position.column, text_length)


@dataclass
class Applied:
    text: str
    applied: list[Finding]
    skipped: list[Finding]  # overlapping this pass; retried on the next one


def select_fixes(findings: Sequence[Finding], unsafe: bool) -> list[Finding]:
    return [f for f in findings if f.fix is not None and f.fix.applicable(unsafe)]


def apply_fixes(text: str, findings: Sequence[Finding]) -> Applied:
    """Apply the fixes of `findings` that do not overlap each other (first come first)."""
    starts = line_starts(text)
    taken: list[tuple[int, int]] = []
    chosen: list[tuple[Finding, list[tuple[int, int, str]]]] = []
    skipped: list[Finding] = []
    for finding in sorted(findings, key=Finding.sort_key):
        assert finding.fix is not None
        spans = [
            (_offset(starts, len(text), e.range.start), _offset(starts, len(text), e.range.end), e.content)
            for e in finding.fix.edits
        ]
        if any(_overlaps(a, b, taken) for a, b, _ in spans) or _self_overlap(spans):
            skipped.append(finding)
            continue
        taken.extend((a, b) for a, b, _ in spans)
        chosen.append((finding, spans))
    edits = sorted((span for _, spans in chosen for span in spans), key=lambda s: (s[0], s[1]))
    out = text
    for start, end, content in reversed(edits):
        if start == len(out) and content.endswith(("\n", "\r")) and out and not out.endswith(("\n", "\r")):
            content = _newline_of(out) + content  # a whole line added after an unterminated last line
        out = out[:start] + content + out[end:]
    imports = [imp for finding, _ in chosen for imp in (finding.fix.imports if finding.fix else ())]
    if imports:
        out = add_imports(out, imports)
    return Applied(out, [finding for finding, _ in chosen], skipped)


def _overlaps(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    for a, b in taken:
        if start < b and a < end:
            return True
        # two insertions at the same point, or an insertion at the edge of a replacement,
        # would depend on order: treat as overlapping
        if start == end and a <= start <= b and (a == b or start in (a, b)):
            return True
        if a == b and start <= a <= end and (start == end or a in (start, end)):
            return True
    return False


def _self_overlap(spans: list[tuple[int, int, str]]) -> bool:
    ordered = sorted((a, b) for a, b, _ in spans)
    return any(ordered[i][1] > ordered[i + 1][0] for i in range(len(ordered) - 1))


def _newline_of(text: str) -> str:
    if "\r\n" in text:
        return "\r\n"
    if "\r" in text and "\n" not in text:
        return "\r"
    return "\n"


def add_imports(text: str, imports: Sequence[tuple[str, str | None, str | None]]) -> str:
    """Add each import once, in the file's style, unless the file already has it."""
    # libcst's codemod machinery costs most of a second to import: only when a fix needs it
    import libcst as cst
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    module = cst.parse_module(text)
    context = CodemodContext()
    for module_name, obj, alias in dict.fromkeys(imports):
        AddImportsVisitor.add_needed_import(context, module_name, obj, alias)
    return AddImportsVisitor(context).transform_module(module).code
