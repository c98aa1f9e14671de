"""Analyse one file: parse once -> resolve names -> one traversal running every enabled
rule -> positions for what was reported -> plain FileResult (the tree is dropped).

The steps around it each have a module: `prefilter` (bytes -> the rules that run),
`sources` (bytes -> tree), `nodes` (reading the tree fast), `positions` (nodes -> places and
fixes), `judge` (every file's facts -> the project rules' findings).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import re
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import libcst as cst

from reglint.model import Fact, FileResult, Finding, Fix, InternalError, ParseError
from reglint.names import Resolver, package_of
from reglint.nodes import CHILD_FIELDS, IS_NODE, child_fields, is_node
from reglint.notebook import MARKER_PREFIX
from reglint.positions import Positions
from reglint.prefilter import rules_to_run
from reglint.rule import PendingFix, Rule
from reglint.sources import Outline, SourceError, on_deep_stack
from reglint.sources import outline as outline_of
from reglint.suppress import find_suppressions

# --------------------------------------------------------------------------------------
# per-file analysis

# what a suppression comment necessarily contains (see reglint.suppress), in any case
_SUPPRESSION_WORD = re.compile(rb"noqa|reglint", re.IGNORECASE)


@dataclass
class _Report:
    rule: Rule
    node: cst.CSTNode
    message: str
    fix: PendingFix | None


@dataclass
class _PendingFact:
    rule: Rule
    kind: str
    node: cst.CSTNode
    data: dict[str, Any]
    fix: PendingFix | None


@dataclass
class FileContext:
    """What a rule sees of the file being analysed."""

    path: str
    module: cst.Module
    resolver: Resolver
    # the nodes enclosing the one being visited, outermost first
    ancestors: list[cst.CSTNode] = field(default_factory=list)
    reports: list[_Report] = field(default_factory=list)
    facts: list[_PendingFact] = field(default_factory=list)
    # the Python source the module was parsed from and its `ast` Outline (not for notebooks)
    python: bytes | None = None
    outline: Outline | None = None
    # the file's bytes as read (a notebook's JSON), when the engine was given them
    raw: bytes | None = None
    _positions: Positions | None = None

    def positions(self) -> Positions:
        """Where nodes are (computed on demand; see Positions)."""
        if self._positions is None:
            self._positions = Positions(self.module, self.python, self.outline)
        return self._positions

    def text(self) -> str:
        """The module's code: the file's own text when there is one (see Positions.text)."""
        return self.positions().text()

    def line(self, node: cst.CSTNode) -> int:
        """The line a node starts on."""
        return self.positions().of(node).start.line

    def add_report(self, rule: Rule, node: cst.CSTNode, message: str, fix: PendingFix | None) -> None:
        self.reports.append(_Report(rule, node, message, fix))

    def add_fact(self, rule: Rule, kind: str, node: cst.CSTNode, data: dict[str, Any], fix: PendingFix | None) -> None:
        self.facts.append(_PendingFact(rule, kind, node, data, fix))

    def parent(self, depth: int = 1) -> cst.CSTNode | None:
        """The enclosing node `depth` levels up from the node being visited."""
        return self.ancestors[-depth - 1] if len(self.ancestors) > depth else None

    def enclosing(self, *types: type[cst.CSTNode]) -> cst.CSTNode | None:
        """The innermost enclosing node of one of `types` (the visited node excluded)."""
        for node in reversed(self.ancestors[:-1]):
            if isinstance(node, types):
                return node
        return None

    def code(self, node: cst.CSTNode) -> str:
        """The code of a node of this file as the file has it: lines that continue it inside
        brackets keep the indentation of the blocks around it (see Positions.code_at)."""
        text = self.module.code_for_node(node)
        if "\n" not in text and "\r" not in text:
            return text
        return self.positions().code_at(node, node)


# comprehensions have a scope of their own: `[tf for tf in layers]` does not name TensorFlow
_COMPREHENSIONS = frozenset({"ListComp", "SetComp", "GeneratorExp", "DictComp"})


_WHITESPACE: tuple[type[cst.CSTNode], ...] = (
    cst.SimpleWhitespace,
    cst.ParenthesizedWhitespace,
    cst.TrailingWhitespace,
    cst.EmptyLine,
    cst.Newline,
    cst.Comment,
)


@lru_cache(maxsize=64)
def prunable(visited: frozenset[str]) -> frozenset[type]:
    """Node types the walk may skip with their subtrees when rules visit only `visited`.

    Whitespace nodes (comments included) hold only whitespace, and punctuation nodes
    (`Comma`, `Dot`, operators, brackets: every child field named `whitespace*`) hold only
    whitespace: when no rule visits any whitespace type, skipping them changes nothing a
    rule sees (two thirds of all nodes are in such subtrees). A punctuation type a rule does
    visit is kept. Comments are still needed for suppressions: the engine only prunes when
    the file contains neither `noqa` nor `reglint`."""
    if any(kind.__name__ in visited for kind in _WHITESPACE):
        return frozenset()
    import libcst._nodes.base as base

    pruned: set[type] = set(_WHITESPACE)
    stack: list[type[cst.CSTNode]] = [base.CSTNode]  # type: ignore[type-abstract]
    while stack:
        kind = stack.pop()
        stack.extend(kind.__subclasses__())
        if kind.__name__ in visited or getattr(kind, "__abstractmethods__", None):
            continue
        try:
            fields = child_fields(kind)
        except Exception:  # pragma: no cover - a type we cannot read is simply walked
            continue
        if fields and all(name.startswith("whitespace") for name in fields):
            pruned.add(kind)
    return frozenset(pruned)


class _Walker(cst.CSTVisitor):
    """One traversal of the tree dispatching to every rule's visit_/leave_ methods.

    Written instead of libcst's visit_batched so that the ancestor stack and the resolver's
    scope stack are kept once for all rules, and so that a rule that raises is disabled for
    the rest of the file (reported as an internal error) without stopping the others."""

    def __init__(self, ctx: FileContext, rules: Sequence[Rule], errors: list[InternalError]) -> None:
        self.ctx = ctx
        self.errors = errors
        self.visits: dict[str, list[tuple[Rule, Callable[[Any], Any]]]] = defaultdict(list)
        self.leaves: dict[str, list[tuple[Rule, Callable[[Any], Any]]]] = defaultdict(list)
        self.comments: list[str] = []
        for rule in rules:
            for attr in dir(type(rule)):
                if attr.startswith("visit_"):
                    self.visits[attr[6:]].append((rule, getattr(rule, attr)))
                elif attr.startswith("leave_"):
                    self.leaves[attr[6:]].append((rule, getattr(rule, attr)))
        self.failed: set[int] = set()
        # node types whose subtrees no rule and nothing in the engine looks at (see prunable)
        self.prune: frozenset[type] = frozenset()

    def prune_whitespace(self) -> None:
        """Skip whitespace and punctuation subtrees no rule visits; see `prunable`."""
        self.prune = prunable(frozenset(self.visits) | frozenset(self.leaves))

    def _call(self, rule: Rule, method: Callable[[Any], Any], node: cst.CSTNode) -> Any:
        if id(rule) in self.failed:
            return None
        try:
            return method(node)
        except RecursionError:
            raise
        except Exception as error:  # a bug in one rule must not stop the run
            self.failed.add(id(rule))
            where = traceback.extract_tb(error.__traceback__)[-1]
            self.errors.append(
                InternalError(
                    self.ctx.path,
                    rule.code,
                    f"{type(error).__name__}: {error} ({where.filename.rsplit('/', 1)[-1]}:{where.lineno})",
                )
            )
            return None

    def walk(self, node: cst.CSTNode) -> None:
        """Visit `node` and its descendants in libcst's order, like `node.visit(self)` but
        without rebuilding every node on the way back up (libcst's visit reconstructs the
        whole tree, and validates every rebuilt node, even for a read-only visitor: that
        cost 4x the parse). The order of children comes from `child_fields`."""
        prune = self.prune
        if self.on_visit(node):
            fields = CHILD_FIELDS.get(type(node))
            if fields is None:
                fields = child_fields(type(node))
            for name in fields:
                value = getattr(node, name)
                kind = type(value)
                if kind is tuple or kind is list:
                    for child in value:
                        if type(child) not in prune:
                            self.walk(child)
                elif kind not in prune:
                    holds_node = IS_NODE.get(kind)
                    if holds_node is None:
                        holds_node = is_node(kind)
                    if holds_node:
                        self.walk(value)
        self.on_leave(node)

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.ctx.ancestors.append(node)
        kind = type(node).__name__
        if kind in ("FunctionDef", "Lambda"):
            self.ctx.resolver.push_function(node)  # type: ignore[arg-type]
        elif kind in _COMPREHENSIONS:
            self.ctx.resolver.push_comprehension(node)  # type: ignore[arg-type]
        elif kind == "Comment":
            self.comments.append(node.value)  # type: ignore[attr-defined]
        # a rule cannot prune the traversal: the other rules still need the children
        for rule, method in self.visits.get(kind, ()):
            self._call(rule, method, node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        kind = type(original_node).__name__
        for rule, method in self.leaves.get(kind, ()):
            self._call(rule, method, original_node)
        if kind in ("FunctionDef", "Lambda") or kind in _COMPREHENSIONS:
            self.ctx.resolver.pop_function()
        self.ctx.ancestors.pop()


def analyse_module(
    path: str,
    module: cst.Module,
    rule_types: Sequence[type[Rule]],
    raw: bytes | None = None,
    *,
    outline: Outline | None = None,
    python: bool = True,
) -> FileResult:
    """Run every rule over one parsed module; return plain data.

    With `raw` (the file's bytes), whitespace subtrees are skipped when the file cannot
    hold a suppression comment (see `prunable`). The `outline` of the code the module was
    parsed from places nodes without generating much code (see positions.Positions); with
    `python` (`raw` is then that code, not a notebook's JSON), definitions are placed from
    the bytes. A tree deeper than the recursion limit is analysed again on a thread with a
    deep stack."""
    source = raw if python and outline is not None else None
    try:
        return _analyse_once(path, module, rule_types, raw, outline, source)
    except RecursionError:
        pass
    deep = on_deep_stack(lambda: _analyse_once(path, module, rule_types, raw, outline, source))
    # a limit of the analysis, not a bug: reported like a file that cannot be parsed
    return deep or FileResult(path, parse_error=ParseError(path, 1, 0, "too deeply nested to analyse"))


def _analyse_once(
    path: str,
    module: cst.Module,
    rule_types: Sequence[type[Rule]],
    raw: bytes | None,
    outline: Outline | None,
    python: bytes | None,
) -> FileResult:
    resolver = Resolver(module, package_of(path))
    ctx = FileContext(path, module, resolver, python=python, outline=outline, raw=raw)
    rules = [rule_type(ctx) for rule_type in rule_types]
    try:
        return _analyse_module(ctx, rules, raw)
    finally:
        # Break the reference cycles between rules and the context (rule.ctx -> ctx ->
        # reports -> rule, and whatever a rule keeps on itself), so that the tree is freed
        # when this returns, not at the next full garbage collection: with several large
        # files, memory would otherwise grow with the repository instead of the largest file.
        ctx.reports.clear()
        ctx.facts.clear()
        ctx.ancestors.clear()
        for rule in rules:
            vars(rule).clear()
        vars(ctx).clear()  # and whatever analyses cached on the context (dataflow's Flow)


def _analyse_module(ctx: FileContext, rules: list[Rule], raw: bytes | None) -> FileResult:
    path, module = ctx.path, ctx.module
    result = FileResult(path, rules=tuple(rule.code for rule in rules))
    walker = _Walker(ctx, rules, result.internal_errors)
    if raw is not None and _SUPPRESSION_WORD.search(raw) is None:
        walker.prune_whitespace()
    walker.walk(module)  # a RecursionError propagates: analyse_module retries on a deep stack
    failed = walker.failed
    if ctx.reports or ctx.facts:
        positions = ctx.positions()
        for report in ctx.reports:
            if id(report.rule) in failed:
                continue
            fix = _build_fix(positions, report.rule, report.fix, result)
            result.findings.append(
                Finding(
                    report.rule.code,
                    report.rule.name,
                    report.message,
                    path,
                    positions.of(report.node),
                    fix,
                )
            )
        for fact in ctx.facts:
            if id(fact.rule) in failed:
                continue
            fix = _build_fix(positions, fact.rule, fact.fix, result)
            result.facts.append(Fact(fact.rule.code, fact.kind, path, positions.of(fact.node), fact.data, fix))
    if any("noqa" in c.lower() or "reglint" in c.lower() for c in walker.comments):
        # only when a comment may suppress something: the file's text is decoded again (or,
        # for a notebook, generated from the tree)
        result.suppressions = find_suppressions(ctx.positions().text(), walker.comments)
    result.findings.sort(key=Finding.sort_key)
    return result


def _build_fix(positions: Positions, rule: Rule, pending: PendingFix | None, result: FileResult) -> Fix | None:
    if pending is None:
        return None
    try:
        return positions.fix(pending)
    except Exception as error:  # a fix that cannot be placed is dropped, not fatal
        result.internal_errors.append(
            InternalError(result.path, rule.code, f"could not build fix: {type(error).__name__}: {error}")
        )
        return None


def analyse_source(source: Any, rule_types: Sequence[type[Rule]], *, prefilter: bool = True) -> FileResult:
    """Analyse a source object (see reglint.sources): prefilter, parse, run the rules (with
    the prefilter, only those whose tokens the file holds, outside its docstrings). A Python
    file is read by `ast` once (its Outline) before libcst parses it."""
    with _cyclic_gc_paused():
        return _analyse_source(source, rule_types, prefilter)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a file is analysed. A libcst tree is
    millions of objects, and every full collection during its analysis walks them all, for
    nothing: the tree holds no cycle, and is freed by reference counting once the engine has
    broken its own cycles (see `_analyse_once`). The pauses cost about a seventh of the
    analysis. Garbage cycles made meanwhile are collected after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _analyse_source(source: Any, rule_types: Sequence[type[Rule]], prefilter: bool) -> FileResult:
    python = source.kind == "python"
    try:
        if prefilter:
            rule_types = rules_to_run(source.raw, rule_types, python=python, outline=source.outline if python else None)
            if not rule_types:
                return FileResult(source.path, skipped=True)
        module = source.parse()
    except SourceError as error:
        return FileResult(source.path, parse_error=error.to_parse_error(source.path))
    outline = source.outline() if python else _joined_outline(source.text())
    result = analyse_module(source.path, module, rule_types, raw=source.raw, outline=outline, python=python)
    if not python:
        _keep_fixes_in_cells(source, result)
    return result


def _joined_outline(text: str) -> Outline | None:
    """The Outline of a notebook's joined cells (the code its module was parsed from)."""
    try:
        return outline_of(text)
    except SourceError:
        return None  # libcst parsed it: positions are then generated from its tree


def _keep_fixes_in_cells(notebook: Any, result: FileResult) -> None:
    """A notebook's fix may edit one cell only: one that moves a statement into another cell
    (REG006, REG009) would change what running the cells in another order does, and would
    write the joined text's cell marker into the user's cell. Such a finding stays, without
    its fix."""
    mapping = notebook.line_map()

    def cell(line: int, column: int, insertion: bool) -> int | None:
        if not mapping:
            return 1
        number, inner = mapping[min(max(line, 1), len(mapping)) - 1]
        if inner == 0:
            # a marker line: only an insertion at its very start (the end of the cell before)
            if not (insertion and column == 0 and line > 1):
                return None
            return mapping[line - 2][0]
        return int(number)

    def confined(fix: Fix | None) -> bool:
        if fix is None:
            return True
        cells = set()
        for edit in fix.edits:
            insertion = edit.range.start == edit.range.end
            cells.add(cell(edit.range.start.line, edit.range.start.column, insertion))
            cells.add(cell(edit.range.end.line, edit.range.end.column, insertion))
        return None not in cells and len(cells) == 1 and not any(MARKER_PREFIX in e.content for e in fix.edits)

    result.findings[:] = [f if confined(f.fix) else dataclasses.replace(f, fix=None) for f in result.findings]
    result.facts[:] = [f if confined(f.fix) else dataclasses.replace(f, fix=None) for f in result.facts]
