"""Applying fixes to a text: pure functions, no I/O.

Fixes are text edits on the decoded source. Those of one pass that do not overlap are
applied together, from the end of the file backwards so positions stay valid; an overlapping
fix waits for the next pass, when the file has been re-analysed. Imports a fix needs are
added after its edits by libcst's AddImportsVisitor, which never duplicates one.

A fix changes the bytes of its edits and nothing else. Positions come from libcst, whose
regenerated text is not always the file's (it drops a form feed that starts a line and the
blank in `except E :`); the edits are moved onto the file's own text line by line (`Lines`),
and the imports' changes are taken as the lines AddImportsVisitor adds or rewrites.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
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


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> list[str]:
    """The lines of a text with their breaks, broken where Python breaks source lines (at
    `\n`, `\r\n` and `\r` only: `str.splitlines` also breaks at a form feed)."""
    return _LINE.findall(text)


class Lines:
    """Where a position of libcst's regenerated text lies in the file's own text, which has
    the same lines (libcst keeps every line break) but not always the same characters on
    them. Positions inside what only the file has (a form feed) open after it and close
    before it."""

    def __init__(self, generated: str, original: str) -> None:
        self.generated = split_lines(generated)
        self.original = split_lines(original)
        self.starts = line_starts(original)
        self.length = len(original)
        self._maps: dict[int, tuple[list[int], list[int]]] = {}

    @classmethod
    def between(cls, generated: str, original: str) -> Lines | None:
        """None when the texts are the same, or do not have the same lines."""
        if generated == original:
            return None
        lines = cls(generated, original)
        return lines if len(lines.generated) == len(lines.original) else None

    def offset(self, position: Position, *, end: bool) -> int:
        index = position.line - 1
        if index >= len(self.original):
            return self.length
        gen, orig = self.generated[index], self.original[index]
        column = min(position.column, len(gen))
        if gen != orig:
            low, high = self._map(index)
            column = low[column] if end else high[column]
        return min(self.starts[index] + column, self.length)

    def _map(self, index: int) -> tuple[list[int], list[int]]:
        found = self._maps.get(index)
        if found is None:
            gen, orig = self.generated[index], self.original[index]
            low = [len(orig)] * (len(gen) + 1)
            high = [0] * (len(gen) + 1)
            matcher = difflib.SequenceMatcher(None, gen, orig, autojunk=False)
            for _, i1, i2, j1, j2 in matcher.get_opcodes():
                for k in range(i1, i2 + 1):
                    # equal runs map one to one; elsewhere the run's two ends
                    at = j1 + (k - i1) if i2 - i1 == j2 - j1 else (j1 if k == i1 else j2)
                    first, last = (j1, j2) if i1 == i2 else (at, at)
                    low[k], high[k] = min(low[k], first), max(high[k], last)
            found = self._maps[index] = (low, high)
        return found


def apply_fixes(text: str, findings: Sequence[Finding], original: str | None = None) -> Applied:
    """Apply the fixes of `findings` that do not overlap each other (first come first).
    `text` is what the findings' positions refer to (libcst's text of the file); with
    `original`, the file's own text, the edits are made there and every other byte is kept."""
    lines = Lines.between(text, original) if original is not None else None
    if lines is not None:
        assert original is not None
        return _apply(original, findings, lambda p, end: lines.offset(p, end=end), preserve=True)
    starts = line_starts(text)
    return _apply(text, findings, lambda p, end: _offset(starts, len(text), p), preserve=False)


def _apply(text: str, findings: Sequence[Finding], offset: Callable[[Position, bool], int], preserve: bool) -> Applied:
    taken: list[tuple[int, int]] = []
    chosen: list[tuple[Finding, list[tuple[int, int, str]]]] = []
    skipped: list[Finding] = []
    for finding in sorted(findings, key=Finding.sort_key):
        assert finding.fix is not None
        spans = []
        for edit in finding.fix.edits:
            start = offset(edit.range.start, False)
            spans.append((start, max(start, offset(edit.range.end, True)), edit.content))
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
        out = add_imports_preserving(out, imports) if preserve else add_imports(out, imports)
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


def add_imports_preserving(text: str, imports: Sequence[tuple[str, str | None, str | None]]) -> str:
    """`add_imports`, keeping every line the imports do not change: the lines it adds or
    rewrites are found by comparing libcst's text of the file before and after."""
    import libcst as cst

    before = cst.parse_module(text).code
    after = add_imports(text, imports)
    mine = split_lines(text)
    generated = split_lines(before)
    if len(mine) != len(generated):
        return after
    out: list[str] = []
    new = split_lines(after)
    matcher = difflib.SequenceMatcher(None, generated, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        out.extend(mine[i1:i2] if tag == "equal" else new[j1:j2])
    return "".join(out)


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
