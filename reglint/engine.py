"""Analyse one file: prefilter -> parse once -> resolve names -> one traversal running every
enabled rule -> positions for what was reported -> plain FileResult (the tree is dropped).

And judge a project: the facts of every file go to the rules that override `check_project`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import re
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import libcst as cst

# private, but what Module.code_for_node generates with: the one way to generate a node's
# code with the indentation of the blocks around it (see _Positions.code_at)
from libcst._nodes.internal import CodegenState
from libcst.metadata import BaseMetadataProvider, PositionProvider, WhitespaceInclusivePositionProvider

from reglint import sources
from reglint.model import Edit, Fact, FileResult, Finding, Fix, InternalError, ParseError, Position, Range
from reglint.names import Resolver, package_of
from reglint.notebook import MARKER_PREFIX
from reglint.rule import Insert, PendingFix, Remove, Replace, Rule, Token, Word
from reglint.sources import Outline, SourceError, Statement, encoding_of, line_starts, on_deep_stack
from reglint.suppress import find_suppressions

# --------------------------------------------------------------------------------------
# prefilter


Group = tuple[bytes, ...]  # tokens that must ALL be in a file


def as_groups(tokens: Iterable[Token]) -> tuple[Group, ...]:
    """Normalise TOKENS entries (a token, or a tuple of tokens needed together) to groups,
    without the redundant ones: a group is implied by another when each token of the other
    is part of one of its tokens (then whenever it matches, so does the other)."""
    found: dict[frozenset[bytes], Group] = {}
    for entry in tokens:
        members = frozenset((entry,) if isinstance(entry, bytes) else entry)
        found.setdefault(members, tuple(sorted(members, key=lambda b: (-len(b), b))))
    # what each token implies, over the few dozen distinct tokens (testing every token of
    # every pair of groups instead cost 0.8 s for the default rules, in every process)
    every = frozenset().union(*found)
    implies = {by: frozenset(token for token in every if _implied(token, by)) for by in every}
    kept = []
    for members, group in found.items():
        covered = frozenset().union(*(implies[token] for token in members))
        if not any(covered >= other and other != members for other in found):
            kept.append(group)
    # the longest (usually rarest) first token first: most files fail there
    return tuple(sorted(kept, key=lambda g: (-len(g[0]), g)))


def _implied(token: bytes, by: bytes) -> bool:
    """Whether every file that holds `by` holds `token`."""
    return token == by if type(token) is Word else token in by


@lru_cache(maxsize=64)
def _groups(rules: tuple[type[Rule], ...]) -> tuple[Group, ...]:
    return as_groups(token for rule in rules for token in rule.TOKENS)


def prefilter_tokens(rules: Iterable[type[Rule]]) -> tuple[Group, ...]:
    """What the prefilter looks for: every enabled rule's TOKENS as groups of byte strings
    (see the docstring of reglint.rules for the contract)."""
    return _groups(tuple(rules))


def contains_token(
    raw: bytes, groups: Sequence[Group], *, python: bool = True, seen: dict[bytes, bool] | None = None
) -> bool:
    """Whether every token of some group is in `raw` (a Word as a whole word, if `raw` is
    Python source). One `in` per token (a vectorised substring search; 3x faster than one
    scan with a regular-expression alternation, which tries every alternative at every
    byte), each token searched at most once per file. `seen` keeps what was found in these
    bytes before (a process that screens the same files again and again passes it)."""
    return _matches(raw, groups, {} if seen is None else seen, python)


def rules_for(raw: bytes, rules: Sequence[type[Rule]], *, python: bool = True) -> list[type[Rule]]:
    """The rules whose own TOKENS a file matches: by the contract, only they can report on it
    (or record a fact the project needs), so only they run on it. A file that passes the
    prefilter for one rule's tokens is not analysed by all the others (on a TensorFlow code
    base, the dataflow of REG001 on every file REG002 lets in would cost more than the parse)."""
    seen: dict[bytes, bool] = {}
    return [rule for rule in rules if _matches(raw, _groups((rule,)), seen, python)]


def _matches(raw: bytes, groups: Sequence[Group], seen: dict[bytes, bool], python: bool) -> bool:
    for first, rests in _by_first_token(groups):
        if not _present(raw, first, seen, python):
            continue  # every group starting with it fails: most files stop here
        for rest in rests:
            for token in rest:
                if not _present(raw, token, seen, python):
                    break
            else:
                return True
    return False


def _by_first_token(groups: Sequence[Group]) -> tuple[tuple[bytes, tuple[Group, ...]], ...]:
    """The groups by their first (longest) token, with the rest of each; kept per groups
    object (by identity: hashing hundreds of groups for every file would cost more)."""
    kept = _BY_FIRST_TOKEN.get(id(groups))
    if kept is not None and kept[0] is groups:
        return kept[1]
    rests: dict[bytes, list[Group]] = {}
    for group in groups:
        rests.setdefault(group[0], []).append(group[1:])
    index = tuple((first, tuple(rest)) for first, rest in rests.items())
    if len(_BY_FIRST_TOKEN) > 256:
        _BY_FIRST_TOKEN.clear()
    _BY_FIRST_TOKEN[id(groups)] = (groups, index)
    return index


_BY_FIRST_TOKEN: dict[int, tuple[Sequence[Group], tuple[tuple[bytes, tuple[Group, ...]], ...]]] = {}


def _present(raw: bytes, token: bytes, seen: dict[bytes, bool], python: bool) -> bool:
    found = seen.get(token)
    if found is None:
        found = token in raw
        if found and python and type(token) is Word:
            found = _has_word(raw, token)
        seen[token] = found
    return found


# what continues an identifier: a byte of one of these next to a Word makes it part of a
# longer name (non-ASCII bytes too: they can only belong to an identifier, a string or a
# comment in valid Python source)
_NAME_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_" + bytes(range(0x80, 0x100)))


def _has_word(raw: bytes, word: bytes) -> bool:
    """Whether `word` occurs in `raw` with no identifier byte right before or after it.
    Written by hand: a regular expression with lookarounds has no fast literal search."""
    size, end_of_raw = len(word), len(raw)
    at = raw.find(word)
    while at >= 0:
        end = at + size
        if (at == 0 or raw[at - 1] not in _NAME_BYTES) and (end == end_of_raw or raw[end] not in _NAME_BYTES):
            return True
        at = raw.find(word, at + 1)
    return False


def without_docstrings(raw: bytes) -> bytes | None:
    """`raw` with every docstring (module, class, function) replaced by spaces, or None when
    that cannot be done exactly (not UTF-8, not parsable by `ast`). No rule reads a
    docstring, so a file whose tokens are all in docstrings cannot produce a finding: on a
    TensorFlow code base, the generated `gen_*_ops.py` ("Computes gradients of ...") then
    cost nothing. This screen only decides *whether* rules run; the analysis is the same
    libcst one."""
    try:
        found = sources.outline(raw)
    except SourceError:
        return None
    return None if found is None or not found.utf8 else _blanked(raw, found.docstrings)


def _blanked(raw: bytes, spans: Sequence[tuple[int, int]]) -> bytes:
    out = bytearray(raw)
    for begin, end in spans:
        out[begin:end] = b" " * (end - begin)
    return bytes(out)


def rules_to_run(
    raw: bytes,
    rules: Sequence[type[Rule]],
    *,
    python: bool = True,
    outline: Callable[[], Outline | None] | None = None,
) -> list[type[Rule]]:
    """The rules that analyse a file: those whose tokens its bytes hold, and, for a Python
    file, still hold once its docstrings are blanked. `outline`: what gives the file's
    Outline, if the caller keeps it (a source's `outline`); a file too deeply nested to read
    keeps its rules, and its parse reports it."""
    chosen = rules_for(raw, rules, python=python)
    if chosen and python:
        with contextlib.suppress(SourceError):
            found = outline() if outline is not None else sources.outline(raw)
            if found is not None and found.docstrings:
                chosen = rules_for(_blanked(raw, found.docstrings), chosen)
    return chosen


def may_matter(raw: bytes, rules: Sequence[type[Rule]], *, python: bool = True) -> bool:
    """Whether a file holds all the tokens of one of the groups `rules` need: files without
    cannot produce a finding or a fact any project judgement needs unconditionally, so they
    are not parsed (a project rule asks for the rest through `Rule.wanted_tokens`). The
    tests prove this for every example."""
    return contains_token(raw, prefilter_tokens(rules), python=python)


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
    _positions: _Positions | None = None

    def positions(self) -> _Positions:
        """Where nodes are (computed on demand; see _Positions)."""
        if self._positions is None:
            self._positions = _Positions(self.module, self.python, self.outline)
        return self._positions

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
        brackets keep the indentation of the blocks around it (see _Positions.code_at)."""
        text = self.module.code_for_node(node)
        if "\n" not in text and "\r" not in text:
            return text
        return self.positions().code_at(node, node)


# comprehensions have a scope of their own: `[tf for tf in layers]` does not name TensorFlow
_COMPREHENSIONS = frozenset({"ListComp", "SetComp", "GeneratorExp", "DictComp"})

_VISITED_FIELD = re.compile(
    r"visit_(?:required|optional|sentinel|sequence|iterable|body_sequence|body_iterable)\(\s*self,\s*\"(\w+)\""
)
_CHILD_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}
_IS_NODE: dict[type, bool] = {}


def _is_node(kind: type) -> bool:
    found = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return found


def child_fields(kind: type[cst.CSTNode]) -> tuple[str, ...]:
    """The fields of a node type that hold child nodes, in the order libcst visits them.

    Read once per type from the source of libcst's own `_visit_and_replace_children` (the
    `visit_*(self, "field", ...)` calls), so the walk follows exactly libcst's order;
    tests/test_parallel_cache.py checks the event sequence against `node.visit` on real
    files. A type whose source cannot be read falls back to every dataclass field holding
    nodes, in declaration order."""
    found = _CHILD_FIELDS.get(kind)
    if found is None:
        import dataclasses
        import inspect

        names: list[str] = []
        try:
            source = inspect.getsource(kind._visit_and_replace_children)
            for name in _VISITED_FIELD.findall(source):
                if name not in names:
                    names.append(name)
        except (OSError, TypeError):
            names = [f.name for f in dataclasses.fields(kind)]
        found = _CHILD_FIELDS[kind] = tuple(names)
    return found


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
            fields = _CHILD_FIELDS.get(type(node))
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
                    is_node = _IS_NODE.get(kind)
                    if is_node is None:
                        is_node = _is_node(kind)
                    if is_node:
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


def _definition_names(module: cst.Module, python: bytes, aligned: list[Statement]) -> dict[int, Range]:
    """The ranges of the names of the module-level functions and classes, from the file's
    `ast` statements (`aligned` with libcst's, see _aligned_statements). Empty where the
    text does not say what `ast` says."""
    if not any(isinstance(s, (cst.FunctionDef, cst.ClassDef)) for s in module.body):
        return {}
    try:
        text = python.decode(encoding_of(python))
    except (SyntaxError, UnicodeError, LookupError):
        return {}
    starts = line_starts(text)
    found: dict[int, Range] = {}
    for statement, (line, _, name, _) in zip(module.body, aligned, strict=True):
        if not isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        if name != statement.name.value or line > len(starts):
            return {}
        begin = starts[line - 1]
        keyword = _DEFINITION.match(text, begin)
        if keyword is None or not text.startswith(name, keyword.end()):
            return {}
        column = keyword.end() - begin
        found[id(statement.name)] = Range(Position(line, column), Position(line, column + len(name)))
    return found


_DEFINITION = re.compile(r"(?:async[ \t\f]+def|def|class)[ \t\f]+")


def node_positions(module: cst.Module, provider: type[BaseMetadataProvider[Any]]) -> Mapping[cst.CSTNode, Any]:
    """What `MetadataWrapper(module).resolve(provider)` gives for libcst's position providers
    (they depend on nothing), by running the provider alone. Written by hand because the
    wrapper, after running it, visits the whole tree once more for the batchable providers
    even when there are none (libcst 1.9's `_gen_batchable`): that visit rebuilds every node
    and cost more than the positions themselves (about 40% of the analysis of training
    scripts, which record facts in most statements). `_gen_impl` is the method libcst's
    providers implement; tests compare the result with the wrapper's."""
    instance = provider()
    instance._gen_impl(module)
    return instance._computed


def _range(code_range: Any) -> Range:
    return Range(
        Position(code_range.start.line, code_range.start.column),
        Position(code_range.end.line, code_range.end.column),
    )


class _Positions:
    """Positions of nodes, computed only for files where something is reported or asked.

    libcst's PositionProvider generates the code of the whole module, which on a large file
    costs more than its parse. So a node is placed within its module-level statement: the
    provider runs on a module made of that statement alone, and the `ast` Outline says on
    which line the statement starts (checked against where it ends, so that a disagreement
    of the two parsers falls back to the whole module). Names of module-level definitions
    are placed from the Outline alone."""

    def __init__(self, module: cst.Module, python: bytes | None = None, outline: Outline | None = None) -> None:
        self.module = module
        self._lines: list[str] | None = None
        self._python = python  # the file's bytes, when it is a Python file
        self._definitions: dict[int, Range] | None = None
        # id of a node -> index of its module-level statement, for the statements indexed
        # so far (one statement at a time, until the node asked for is found)
        self._statement: dict[int, int] = {}
        self._indexing = _index_statements(module, self._statement)  # not a method: no cycle with self
        # per module-level statement, what `ast` says of it (where it starts and ends)
        self._aligned = None if outline is None else _aligned_statements(module, outline)
        self._offsets: dict[int, int | None] = {}  # per statement: its first line - 1, if checked
        self._local: dict[tuple[int, type], Any] = {}
        self._whole: dict[type, Any] = {}

    def of(self, node: cst.CSTNode) -> Range:
        # the name of a module-level def or class (what project facts about builders point
        # at) is placed from the Outline alone
        if self._definitions is None:
            python, aligned = self._python, self._aligned
            self._definitions = {}
            if python is not None and aligned is not None:
                self._definitions = _definition_names(self.module, python, aligned)
        found = self._definitions.get(id(node))
        if found is not None:
            return found
        return self._place(node, PositionProvider)

    def inclusive(self, node: cst.CSTNode) -> Range:
        return self._place(node, WhitespaceInclusivePositionProvider)

    def _place(self, node: cst.CSTNode, provider: type) -> Range:
        index = None if node is self.module else self._statement_of(node)
        offset = None if index is None else self._offset(index)
        if index is None or offset is None:
            whole = self._whole.get(provider)
            if whole is None:
                whole = self._whole[provider] = node_positions(self.module, provider)
            return _range(whole[node])
        local = self._positions_in(index, provider)[node]
        return Range(
            Position(local.start.line + offset, local.start.column),
            Position(local.end.line + offset, local.end.column),
        )

    def _statement_of(self, node: cst.CSTNode) -> int | None:
        found = self._statement.get(id(node))
        while found is None:
            if next(self._indexing, StopIteration) is StopIteration:
                return None  # the Module itself, or its header or footer
            found = self._statement.get(id(node))
        return found

    def _positions_in(self, index: int, provider: type) -> Any:
        """`provider`'s positions in a module made of statement `index` alone."""
        found = self._local.get((index, provider))
        if found is None:
            module = self.module
            last = index == len(module.body) - 1
            alone = cst.Module(
                body=[module.body[index]],
                header=(),
                footer=module.footer if last else (),
                encoding=module.encoding,
                default_indent=module.default_indent,
                default_newline=module.default_newline,
                has_trailing_newline=module.has_trailing_newline if last else True,
            )
            found = self._local[(index, provider)] = node_positions(alone, provider)
        return found

    def _offset(self, index: int) -> int | None:
        """How many lines precede statement `index` in the file, from the Outline, if its
        libcst statement spans exactly the lines its `ast` statements span."""
        if index in self._offsets:
            return self._offsets[index]
        aligned = self._aligned
        offset = None
        if aligned is not None:
            first, last, _, _ = aligned[index]
            span = self._positions_in(index, PositionProvider)[self.module.body[index]]
            if last - first == span.end.line - span.start.line:
                offset = first - span.start.line
        self._offsets[index] = offset
        return offset

    def code_at(self, node: cst.CSTNode, at: cst.CSTNode) -> str:
        """The code of `node` written in place of the node `at` of this module: with the
        indentation of the blocks around `at`. `module.code_for_node` generates a node
        alone, so a line break inside brackets (`f(a,\\n      b)` in a function) lost the
        indentation of the function's body: a fix moved the continuation lines left."""
        state = CodegenState(
            default_indent=self.module.default_indent,
            default_newline=self.module.default_newline,
            indent_tokens=self._indents_around(at),
        )
        node._codegen(state)
        return "".join(state.tokens)

    def _indents_around(self, node: cst.CSTNode) -> list[str]:
        """The indentation of each block enclosing `node`, outermost first."""
        index = None if node is self.module else self._statement_of(node)
        if index is None:
            return []
        default = self.module.default_indent
        todo: list[tuple[cst.CSTNode, tuple[str, ...]]] = [(self.module.body[index], ())]
        while todo:
            current, indents = todo.pop()
            if current is node:
                return list(indents)
            if type(current) is cst.IndentedBlock:
                indents = (*indents, default if current.indent is None else current.indent)
            todo.extend((child, indents) for child in _child_nodes(current))
        return []

    def text(self) -> str:
        """The module's text: the file's own when there is one (module.code generates it
        from the whole tree)."""
        return self.module.code if self._python is None else self._python.decode(encoding_of(self._python))

    def indent_of_line(self, line: int) -> str:
        if self._lines is None:
            # the file's own text when there is one: module.code generates the whole module
            code = self.text()
            starts = line_starts(code)
            self._lines = [code[a:b] for a, b in zip(starts, [*starts[1:], len(code)], strict=True)]
        text = self._lines[line - 1] if 0 < line <= len(self._lines) else ""
        return text[: len(text) - len(text.lstrip(" \t"))]

    def fix(self, pending: PendingFix) -> Fix:
        newline = self.module.default_newline
        edits: list[Edit] = []
        for edit in pending.edits:
            if isinstance(edit, Replace):
                new = edit.new if isinstance(edit.new, str) else self.code_at(edit.new, edit.node)
                edits.append(Edit(self.inclusive(edit.node), _newlines(new, newline)))
            elif isinstance(edit, Remove):
                if self._only_statement(edit.node):
                    # an empty block is a syntax error: the block keeps a `pass`
                    indent = self.indent_of_line(self.of(edit.node).start.line)
                    edits.append(Edit(self.inclusive(edit.node), f"{indent}pass{newline}"))
                else:
                    edits.append(Edit(self._removal(edit.node), ""))
            elif isinstance(edit, Insert):
                edits.append(self._insert(edit, newline))
        return Fix(tuple(edits), pending.safety, pending.imports)

    def _removal(self, node: cst.CSTNode) -> Range:
        """What removing a statement removes: its lines and the comment lines above it (a
        move takes those along), not the blank lines before them, which separate it from
        what precedes and stay."""
        span = self.inclusive(node)
        leading = getattr(node, "leading_lines", None)
        if not leading:
            return span
        first = next((i for i, line in enumerate(leading) if line.comment is not None), len(leading))
        if first == 0:
            return span
        start = self.of(node).start.line - len(leading) + first
        return Range(Position(start, 0), span.end)

    def _only_statement(self, node: cst.CSTNode) -> bool:
        """Whether `node` is the only statement of an indented block (a walk of the module:
        fixes that remove a statement are rare)."""
        stack: list[cst.CSTNode] = [self.module]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.IndentedBlock) and any(stmt is node for stmt in current.body):
                return len(current.body) == 1
            stack.extend(_child_nodes(current))
        return False

    def _insert(self, edit: Insert, newline: str) -> Edit:
        if not edit.own_line:
            span = self.inclusive(edit.node)
            at = span.end if edit.after else span.start
            return Edit(Range(at, at), _newlines(edit.text, newline))
        span = self.of(edit.node)
        indent = self.indent_of_line(span.start.line)
        lines = edit.text.rstrip("\n").split("\n")
        text = "".join(f"{indent}{line}{newline}" if line else newline for line in lines)
        at = Position(span.end.line + 1, 0) if edit.after else Position(span.start.line, 0)
        return Edit(Range(at, at), text)


def _index_statements(module: cst.Module, statement: dict[int, int]) -> Iterator[None]:
    """Map the id of every node of each module-level statement to the statement's index in
    `statement`, one statement per step."""
    for index, top in enumerate(module.body):
        stack: list[cst.CSTNode] = [top]
        while stack:
            node = stack.pop()
            statement[id(node)] = index
            stack.extend(_child_nodes(node))
        yield


def _child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The children of a node, from its fields (see `child_fields`): libcst's `children`
    property visits the node to collect them, which costs several times more."""
    fields = _CHILD_FIELDS.get(type(node))
    if fields is None:
        fields = child_fields(type(node))
    children: list[cst.CSTNode] = []
    for name in fields:
        value = getattr(node, name)
        if type(value) is tuple or type(value) is list:
            children.extend(value)
        elif isinstance(value, cst.CSTNode):
            children.append(value)
    return children


# for the rules that walk a whole module once (cheaper than libcst's `children`)
child_nodes = _child_nodes


def _aligned_statements(module: cst.Module, outline: Outline) -> list[Statement] | None:
    """Per libcst module-level statement, what `ast` says of it: a line of small statements
    is several `ast` statements, joined here (the first one's line and name, the last one's
    end). None when the two parsers do not split the module alike."""
    statements = outline.statements
    aligned: list[Statement] = []
    index = 0
    for statement in module.body:
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        if index + count > len(statements):
            return None
        aligned.append(statements[index]._replace(end=statements[index + count - 1].end))
        index += count
    return aligned if index == len(statements) else None


def _newlines(text: str, newline: str) -> str:
    if newline == "\n":
        return text
    return text.replace("\r\n", "\n").replace("\n", newline)


def analyse_module(
    path: str,
    module: cst.Module,
    rule_types: Sequence[type[Rule]],
    raw: bytes | None = None,
    *,
    outline: Outline | None = None,
) -> FileResult:
    """Run every rule over one parsed module; return plain data.

    With `raw` (the file's bytes), whitespace subtrees are skipped when the file cannot
    hold a suppression comment (see `prunable`); with its `outline` too (`raw` is then the
    Python source the module was parsed from, not a notebook), definitions are placed from
    that. A tree deeper than the recursion limit is analysed again on a thread with a deep
    stack."""
    try:
        return _analyse_once(path, module, rule_types, raw, outline)
    except RecursionError:
        pass
    deep = on_deep_stack(lambda: _analyse_once(path, module, rule_types, raw, outline))
    # a limit of the analysis, not a bug: reported like a file that cannot be parsed
    return deep or FileResult(path, parse_error=ParseError(path, 1, 0, "too deeply nested to analyse"))


def _analyse_once(
    path: str,
    module: cst.Module,
    rule_types: Sequence[type[Rule]],
    raw: bytes | None,
    outline: Outline | None,
) -> FileResult:
    resolver = Resolver(module, package_of(path))
    ctx = FileContext(path, module, resolver, python=raw if outline is not None else None, outline=outline)
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


def _build_fix(positions: _Positions, rule: Rule, pending: PendingFix | None, result: FileResult) -> Fix | None:
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
    outline = source.outline() if python else None
    result = analyse_module(source.path, module, rule_types, raw=source.raw, outline=outline)
    if not python:
        _keep_fixes_in_cells(source, result)
    return result


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


# --------------------------------------------------------------------------------------
# project-wide phase


@dataclass
class ProjectFacts:
    """Facts of every analysed file, for rules that judge across files."""

    facts: list[Fact]

    def of(self, rule: str, kind: str | None = None) -> list[Fact]:
        return [f for f in self.facts if f.rule == rule and (kind is None or f.kind == kind)]

    def by_kind(self, rule: str) -> dict[str, list[Fact]]:
        grouped: dict[str, list[Fact]] = defaultdict(list)
        for fact in self.facts:
            if fact.rule == rule:
                grouped[fact.kind].append(fact)
        return grouped


def judge_project(
    results: Iterable[FileResult], rule_types: Sequence[type[Rule]]
) -> tuple[list[Finding], list[InternalError]]:
    facts = [fact for result in results for fact in result.facts]
    project = ProjectFacts(facts)
    findings: list[Finding] = []
    errors: list[InternalError] = []
    for rule_type in rule_types:
        if rule_type.check_project.__func__ is Rule.check_project.__func__:  # type: ignore[attr-defined]
            continue
        try:
            findings.extend(rule_type.check_project(project))
        except Exception as error:
            errors.append(InternalError("<project>", rule_type.code, f"{type(error).__name__}: {error}"))
    return findings, errors
