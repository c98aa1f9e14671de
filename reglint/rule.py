"""The rule API: a rule is one class in one module under `reglint/rules/`.

A rule declares its code, kebab-case name, the byte tokens its pattern necessarily contains
(the prefilter's list), examples, and `visit_<Node>` / `leave_<Node>` methods that the engine
calls during its single traversal of the file. It reports findings with `self.report(...)` and
records project-wide facts with `self.fact(...)`; a rule that judges across files overrides
`check_project`. Registering a rule means adding its module: `all_rules()` imports every
module of the `reglint.rules` package and collects the Rule subclasses defined there.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, ClassVar

import libcst as cst

from reglint.model import Fact, Finding, Safety


class Word(bytes):
    """A prefilter token that a Python file holds only as a whole word: no letter, digit,
    underscore or non-ASCII byte touches it on either side (`sum` is in `sum(w)` and
    `np.sum(x)`, not in `cumsum`). For a recogniser that compares a whole name: the last part
    of a name the resolver resolves is written in the file as an identifier (an attribute, a
    name, an imported name), so it stands there as a word. In other files (a notebook's
    JSON, where `\\nsum` may start a line of code) it is matched as plain bytes."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is Word and bytes.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((Word, bytes(self)))

    def __repr__(self) -> str:
        return f"Word({bytes(self)!r})"


# a prefilter entry: one byte string (or Word), or a tuple of them a file must all contain
Token = bytes | tuple[bytes, ...]

if TYPE_CHECKING:
    from reglint.engine import FileContext
    from reglint.judge import ProjectFacts
    from reglint.target import Target


@dataclass(frozen=True)
class Valid:
    """Code that must stay silent. `files` gives several modules for project-wide rules."""

    code: str = ""
    files: dict[str, str] = field(default_factory=dict)
    select: tuple[str, ...] = ()  # extra codes to enable (for opt-in rules)
    target: str | None = None  # the TensorFlow the example runs on (`tensorflow-version`)


@dataclass(frozen=True)
class Invalid:
    """Code that must be flagged.

    `expected` is the number of findings of this rule; `fixed` the exact source the fix must
    produce (for `path` in multi-file examples); `unsafe` whether applying it needs
    --unsafe-fixes; `message` a substring the first message must contain.
    """

    code: str = ""
    expected: int = 1
    fixed: str | None = None
    message: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    path: str = "example.py"
    target: str | None = None  # the TensorFlow the example runs on (`tensorflow-version`)
    select: tuple[str, ...] = ()  # other codes to enable with the rule


Example = Valid | Invalid


@dataclass(slots=True)
class Replace:
    """Replace a node (with the whitespace it owns) by another node or by source text."""

    node: cst.CSTNode
    new: cst.CSTNode | str


@dataclass(slots=True)
class Insert:
    """Insert text before or after a node. With `own_line`, the text is inserted as whole
    lines after (or before) the node's lines, each indented like the node's first line."""

    node: cst.CSTNode
    text: str
    after: bool = True
    own_line: bool = False


@dataclass(slots=True)
class Remove:
    """Remove a node with the whitespace it owns (an argument with its comma)."""

    node: cst.CSTNode


NodeEdit = Replace | Insert | Remove


@dataclass(slots=True)
class PendingFix:
    """A fix still expressed on nodes; the engine turns it into text edits after the walk."""

    edits: Sequence[NodeEdit]
    safety: Safety
    imports: tuple[tuple[str, str | None, str | None], ...] = ()


_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
DOC_SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "Use instead", "## Fix safety")


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    # What every file this rule can flag (or take an unconditionally needed fact from)
    # contains: one of these tokens, or all tokens of one of these tuples (see reglint.rules).
    # The prefilter skips files that match none of the enabled rules' entries.
    TOKENS: ClassVar[tuple[Token, ...]]
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []
    # None: the rule has no fix; else the safety of the fixes it offers.
    fix_safety: ClassVar[Safety | None] = None
    default_enabled: ClassVar[bool] = True
    # True when some of the rule's fixes are safe and others unsafe (see its Fix safety docs)
    mixed_safety: ClassVar[bool] = False
    # how a finding weighs (SARIF's level): "error" for a bug that silently changes or breaks
    # training, "warning" for migration advice and judgement calls, "note" for opt-in advice
    severity: ClassVar[str] = "error"
    # how often a finding is right on real code (SARIF's `precision` for code scanning)
    precision: ClassVar[str] = "high"
    # what the flagged code is besides wrong, for an editor to show it so: "deprecated" (an
    # API that newer releases reject or drop), "unnecessary" (a comment that does nothing)
    tags: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx

    # -- reporting -----------------------------------------------------------------------
    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        fix: PendingFix | None = None,
    ) -> None:
        """Report at `node`. A message says what is wrong, then, after the first "; ", what to
        do: the one-line formats show the first part, `full`, JSON and SARIF the advice too."""
        self.ctx.add_report(self, node, message, fix)

    def fact(
        self,
        kind: str,
        node: cst.CSTNode,
        fix: PendingFix | None = None,
        **data: object,
    ) -> None:
        self.ctx.add_fact(self, kind, node, data, fix)

    def resolve(self, node: cst.CSTNode) -> str | None:
        return self.ctx.resolver.resolve(node)

    def make_fix(
        self,
        *edits: NodeEdit,
        imports: Iterable[tuple[str, str | None, str | None]] = (),
    ) -> PendingFix:
        assert self.fix_safety is not None, f"{self.code} declares no fix_safety"
        return PendingFix(edits, self.fix_safety, tuple(imports))

    # -- versions ------------------------------------------------------------------------
    @classmethod
    def reported_on(cls, target: Target) -> bool:
        """Whether this rule concerns a project running on `target` (see reglint/target.py;
        unknown: every rule does)."""
        return True

    @classmethod
    def fixes_run_on(cls, target: Target) -> bool:
        """Whether this rule's fixes produce code that runs on every release of `target`;
        where they do not, findings are reported without a fix."""
        return True

    # -- project-wide phase --------------------------------------------------------------
    @classmethod
    def check_project(cls, project: ProjectFacts) -> Iterable[Finding]:
        """Judge the facts every file recorded; per-file rules leave this empty."""
        return ()

    @classmethod
    def wanted_modules(cls, project: ProjectFacts) -> Iterable[str]:
        """Dotted names of project modules whose facts would complete a judgement (a chain of
        imports from a training loop to a model builder). A module the prefilter skipped is
        then analysed after all, so a chain never breaks at a file that names no token."""
        return ()

    @classmethod
    def wanted_tokens(cls, project: ProjectFacts) -> Iterable[Token]:
        """TOKENS entries (a token, or tokens needed together) of files whose facts a
        judgement needs only because of what the project holds so far: a fact that matters
        only in some projects (shape 2 of REG001 needs the training files only when
        regularizers are declared and the collection is never read) is not worth a parse of
        every file that could hold it. Files the prefilter skipped that match are analysed
        after all, until no rule wants more."""
        return ()

    # -- documentation -------------------------------------------------------------------
    @classmethod
    def documentation(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """The first sentence of the "What it does" section."""
        doc = cls.documentation()
        match = re.search(r"## What it does\s*\n(.+?)(?:\n\s*\n|\n##)", doc, re.S)
        text = " ".join((match.group(1) if match else doc).split())
        # the first ". " or ": " outside `code` (REG100's first sentence quotes a suppression
        # comment, colon included)
        first = text
        for end in re.finditer(r"(?<=[a-z)`'])(?:\. |: )", text):
            if text.count("`", 0, end.start()) % 2 == 0:
                first = text[: end.start()]
                break
        return first.rstrip(".:") + "."

    @classmethod
    def fix_label(cls) -> str:
        if cls.fix_safety is None:
            return "-"
        return "safe/unsafe" if cls.mixed_safety else cls.fix_safety.value


def _is_rule(obj: object, module: str) -> bool:
    return (
        isinstance(obj, type)
        and issubclass(obj, Rule)
        and obj is not Rule
        and obj.__module__ == module
        and "code" in obj.__dict__
    )


@cache
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule, by code: each module of reglint.rules contributes the rules it defines."""
    import reglint.rules as package

    found: list[type[Rule]] = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found.extend(obj for obj in vars(module).values() if _is_rule(obj, module.__name__))
    found.sort(key=lambda rule: rule.code)
    codes = [rule.code for rule in found]
    duplicates = {code for code in codes if codes.count(code) > 1}
    if duplicates:
        raise RuntimeError(f"rule codes defined twice: {sorted(duplicates)}")
    return tuple(found)


def rules_by_code() -> dict[str, type[Rule]]:
    return {rule.code: rule for rule in all_rules()}


def is_kebab(name: str) -> bool:
    return bool(_KEBAB.match(name))


__all__ = [
    "Fact",
    "Finding",
    "Insert",
    "Invalid",
    "PendingFix",
    "Remove",
    "Replace",
    "Rule",
    "Safety",
    "Valid",
    "all_rules",
]
