"""Plain data the engine passes around: findings, fixes, facts, file results.

Nothing here holds a CST node, so every value pickles (for worker processes and the cache)
and sorts and prints without the tree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Safety(str, enum.Enum):
    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in the decoded source: 1-based line, 0-based column in characters."""

    line: int
    column: int


@dataclass(frozen=True, slots=True, order=True)
class Range:
    start: Position
    end: Position


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text between two positions with `content` (insert when they are equal)."""

    range: Range
    content: str


@dataclass(frozen=True, slots=True)
class Fix:
    edits: tuple[Edit, ...]
    safety: Safety
    # Imports the fixed code needs, as (module, name or None, alias or None); added once
    # by libcst's AddImportsVisitor after the edits are applied.
    imports: tuple[tuple[str, str | None, str | None], ...] = ()

    def applicable(self, unsafe: bool) -> bool:
        return self.safety is Safety.SAFE or unsafe


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    name: str
    message: str
    path: str
    range: Range
    fix: Fix | None = None
    # other places the finding rests on, in this file or another one (the declaration a
    # cross-file REG001 finding cites): (path, range, what is there)
    related: tuple[tuple[str, Range, str], ...] = ()

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.range.start.line, self.range.start.column, self.code, self.message)

    # A message says what is wrong, then, after the first "; ", what to do: the short message
    # the one-line formats show, and the help that `full`, JSON and SARIF give as well.
    @property
    def summary(self) -> str:
        return self.message.split("; ", 1)[0]

    @property
    def help(self) -> str | None:
        parts = self.message.split("; ", 1)
        return parts[1] if len(parts) == 2 else None


@dataclass(frozen=True, slots=True)
class Fact:
    """Something a file says that a project-wide rule judges together with other files."""

    rule: str
    kind: str
    path: str
    range: Range
    data: dict[str, Any] = field(default_factory=dict)
    fix: Fix | None = None


@dataclass(frozen=True, slots=True)
class ParseError:
    path: str
    line: int
    column: int
    message: str


@dataclass(frozen=True, slots=True)
class InternalError:
    path: str
    code: str | None
    message: str


@dataclass(slots=True)
class FileResult:
    """Everything one file contributes to a run; small, so trees can be dropped."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    parse_error: ParseError | None = None
    internal_errors: list[InternalError] = field(default_factory=list)
    # line -> codes suppressed on it (an empty frozenset means every code: a bare noqa)
    suppressions: dict[int, frozenset[str]] = field(default_factory=dict)
    skipped: bool = False  # the prefilter found nothing a rule could care about
    # the codes of the rules that analysed the file (the prefilter lets each rule see only
    # the files holding its tokens; a project rule may ask for the others)
    rules: tuple[str, ...] = ()
    # read from the cache (data from elsewhere: its fixes are never applied, see runner.run)
    cached: bool = field(default=False, compare=False)


@dataclass
class FileChange:
    path: str
    original: bytes
    fixed: bytes
    fixes_applied: int
    # (code, name, how many) of the fixes applied, for --show-fixes
    by_rule: tuple[tuple[str, str, int], ...] = ()


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
