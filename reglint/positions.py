"""Where nodes are: positions of the nodes a rule reports on or records a fact at, computed
per module-level statement from the `ast` Outline's line numbers (libcst's PositionProvider
over a whole large module costs more than its parse), and the fixes built from them."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import libcst as cst

# private, but what Module.code_for_node generates with: the one way to generate a node's
# code with the indentation of the blocks around it (see Positions.code_at)
from libcst._nodes.internal import CodegenState
from libcst.metadata import (
    BaseMetadataProvider,
    CodePosition,
    CodeRange,
    PositionProvider,
    WhitespaceInclusivePositionProvider,
)

# the codegen state libcst's PositionProvider runs with (public module, not re-exported):
# _Units generates a unit with the indentation of the blocks around it
from libcst.metadata.position_provider import PositionProvidingCodegenState

from reglint.model import Edit, Fix, Position, Range
from reglint.nodes import child_nodes
from reglint.rule import Insert, PendingFix, Remove, Replace
from reglint.sources import Outline, Statement, encoding_of, line_starts


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


class Positions:
    """Positions of nodes, computed only for files where something is reported or asked.

    libcst's PositionProvider generates the code of the whole module, which on a large file
    costs more than its parse. So a node is placed within its unit (a line of statements, or
    a compound statement's header; see _Units): the unit's code is generated alone, and
    `ast` says on which line the unit starts. Where the unit cannot say (the parsers do not
    nest the statements alike, a node outside every header), the node is placed within its
    module-level statement, generated alone and placed by the Outline the same way (checked
    against where it ends, so that a disagreement of the two parsers falls back to the whole
    module). Names of module-level definitions are placed from the Outline alone."""

    def __init__(self, module: cst.Module, python: bytes | None = None, outline: Outline | None = None) -> None:
        self.module = module
        self._lines: list[str] | None = None
        self._text: str | None = None
        self._python = python  # the file's bytes, when it is a Python file
        self._definitions: dict[int, Range] | None = None
        # id of a node -> its unit (see _Units), for the module-level statements indexed so
        # far (one at a time, until the node asked for is found)
        self._unit: dict[int, cst.CSTNode] = {}
        self._units = _Units(module)
        self._indexing = _index_statements(module, self._unit, self._units)  # not a method: no cycle
        # per module-level statement, what `ast` says of it (where it starts and ends)
        self._aligned = None if outline is None else _aligned_statements(module, outline)
        self._ast = None if outline is None or self._aligned is None else _ast_statements(module, outline)
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
        found = self._definitions.get(id(node)) or self._in_unit(node, inclusive=False)
        if found is not None:
            return found
        return self._place(node, PositionProvider)

    def inclusive(self, node: cst.CSTNode) -> Range:
        found = self._in_unit(node, inclusive=True)
        if found is not None:
            return found
        return self._place(node, WhitespaceInclusivePositionProvider)

    def _in_unit(self, node: cst.CSTNode, *, inclusive: bool) -> Range | None:
        """The position of `node` from its unit's code alone (see _Units); None where the
        unit cannot say (then the module-level statement's code places it)."""
        if node is self.module or self._ast is None:
            return None
        unit = self._unit_of(node)
        if unit is None:
            return None
        index = self._units.index[id(unit)]
        module = self.module
        if index == len(module.body) - 1 and not module.has_trailing_newline:
            return None  # the module's code drops the last newline: placed with the module
        placed = self._units.place(unit, index, self._ast[index])
        if placed is None:
            return None
        found = placed.inclusive.get(node) if inclusive else placed.syntactic.get(node)
        if found is None:
            return None  # a part of the unit its header leaves out (an `else:`, a block's footer)
        offset = placed.offset
        return Range(
            Position(found.start.line + offset, found.start.column),
            Position(found.end.line + offset, found.end.column),
        )

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
        unit = self._unit_of(node)
        return None if unit is None else self._units.index[id(unit)]

    def _unit_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        found = self._unit.get(id(node))
        while found is None:
            if next(self._indexing, StopIteration) is StopIteration:
                return None  # the Module itself, or its header or footer
            found = self._unit.get(id(node))
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
            todo.extend((child, indents) for child in child_nodes(current))
        return []

    def text(self) -> str:
        """The module's text: the file's own when there is one (module.code generates it
        from the whole tree)."""
        if self._text is None:
            python = self._python
            self._text = self.module.code if python is None else python.decode(encoding_of(python))
        return self._text

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
            stack.extend(child_nodes(current))
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


def _index_statements(module: cst.Module, unit_of: dict[int, cst.CSTNode], units: _Units) -> Iterator[None]:
    """Map the id of every node of each module-level statement to its unit in `unit_of`,
    one module-level statement per step; tell `units` where each unit is."""
    default = module.default_indent
    for index, top in enumerate(module.body):
        pending: list[tuple[cst.CSTNode, tuple[str, ...]]] = [(top, ())]
        while pending:
            unit, around = pending.pop()
            units.index[id(unit)] = index
            units.indents[id(unit)] = around
            stack = [unit]
            while stack:
                node = stack.pop()
                unit_of[id(node)] = unit
                kind = type(node)
                if kind is cst.IndentedBlock:
                    assert isinstance(node, cst.IndentedBlock)
                    inner = (*around, default if node.indent is None else node.indent)
                    pending.extend((child, inner) for child in node.body)  # units of their own
                    stack.append(node.header)
                    stack.extend(node.footer)
                elif kind is cst.Match:
                    # its cases are indented by the match's own indent (units `ast` does not
                    # place: their patterns are placed with the module-level statement)
                    assert isinstance(node, cst.Match)
                    inner = (*around, default if node.indent is None else node.indent)
                    pending.extend((case, inner) for case in node.cases)
                    stack.extend(child for child in child_nodes(node) if type(child) is not cst.MatchCase)
                elif kind in _WITH_CLAUSES:
                    for child in child_nodes(node):
                        if type(child) in _CLAUSES or (kind is cst.If and type(child) is cst.If):
                            if type(child) is cst.If:
                                units.elifs.add(id(child))
                            pending.append((child, around))
                        else:
                            stack.append(child)
                else:
                    stack.extend(child_nodes(node))
        yield


# clauses placed as units of their own: they start where `ast` says (an `else:` or a
# `finally:` holds nothing to place but whitespace)
_CLAUSES = frozenset({cst.ExceptHandler, cst.ExceptStarHandler})
_WITH_CLAUSES = frozenset({cst.If, cst.Try, cst.TryStar})


class _Units:
    """Positions by unit: a line of simple statements, or the header of a compound statement
    or of an `elif` or `except` clause (its code without its blocks' statements, which are
    units of their own). A unit's code is generated alone, with the indentation of the blocks
    around it, and `ast` says on which line it starts (checked against where it ends, for a
    line of statements). A node is then placed by generating a line or two, where placing it
    in its module-level statement generated that statement's whole code: training scripts
    hold most of their code in a few large functions and classes, and record facts in most
    of their statements, so that cost more than the rest of the analysis but the parse."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.index: dict[int, int] = {}  # id of a unit -> the index of its module-level statement
        self.indents: dict[int, tuple[str, ...]] = {}  # id of a unit -> the indentation around it
        self.elifs: set[int] = set()  # ids of the `elif` clauses
        # id of a module-level statement -> where `ast` starts and ends each unit in it
        # (None if the two parsers do not nest its statements alike)
        self._lines: dict[int, dict[int, tuple[int, int]] | None] = {}
        self._placed: dict[int, _Placed | None] = {}

    def place(self, unit: cst.CSTNode, index: int, nodes: Sequence[ast.stmt]) -> _Placed | None:
        """The positions in `unit`'s code and how many lines precede it in the file."""
        if id(unit) in self._placed:
            return self._placed[id(unit)]
        top = self.module.body[index]
        if id(top) not in self._lines:
            lines: dict[int, tuple[int, int]] = {}
            self._lines[id(top)] = lines if _pair_block([top], nodes, lines) else None
        spans = self._lines[id(top)]
        found = None
        if spans is not None and id(unit) in spans:
            found = self._generate(unit, spans[id(unit)])
        self._placed[id(unit)] = found
        return found

    def _generate(self, unit: cst.CSTNode, span: tuple[int, int]) -> _Placed | None:
        header, options = _header(unit, id(unit) in self.elifs)
        provider = PositionProvider()
        state = _BothPositions(
            default_indent=self.module.default_indent,
            default_newline=self.module.default_newline,
            provider=provider,
            indent_tokens=list(self.indents.get(id(unit), ())),
        )
        header._codegen(state, **options)
        syntactic: Mapping[cst.CSTNode, Any] = provider._computed
        own = syntactic[header]
        first, last = span
        if type(unit) is cst.SimpleStatementLine and last - first != own.end.line - own.start.line:
            return None
        return _Placed(syntactic, state.inclusive, first - own.start.line)


class _Placed(NamedTuple):
    syntactic: Mapping[cst.CSTNode, Any]  # PositionProvider's positions in a unit's code
    inclusive: Mapping[cst.CSTNode, Any]  # WhitespaceInclusivePositionProvider's
    offset: int  # how many lines precede the unit's code in the file


@dataclass(frozen=False)
class _BothPositions(PositionProvidingCodegenState):
    """PositionProvider's codegen state that records the whitespace-inclusive positions too
    (in one generation of the code instead of two: a fix asks for both)."""

    inclusive: dict[cst.CSTNode, CodeRange] = field(default_factory=dict)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._stack.pop()
        span = CodeRange(start, CodePosition(self.line, self.column))
        self.inclusive[node] = span
        computed = self.provider._computed
        if node not in computed:  # a syntactic position was not recorded
            computed[node] = span


def _header(unit: cst.CSTNode, elif_: bool) -> tuple[cst.CSTNode, dict[str, Any]]:
    """What of `unit` is generated to place its nodes: a compound statement without its
    blocks' statements (which come after its header) and without what follows its first
    block. The nodes of the header are the unit's own objects."""
    kind = type(unit)
    if kind is cst.SimpleStatementLine:
        return unit, {}
    if isinstance(unit, (cst.If, cst.For, cst.While)):
        return unit.with_changes(body=_emptied(unit.body), orelse=None), {"is_elif": True} if elif_ else {}
    if isinstance(unit, (cst.FunctionDef, cst.ClassDef, cst.With, cst.ExceptHandler, cst.ExceptStarHandler)):
        return unit.with_changes(body=_emptied(unit.body)), {}
    return unit, {}  # `try` and `match`: whole (their headers hold little to place)


def _emptied(body: cst.BaseSuite) -> cst.BaseSuite:
    return body.with_changes(body=(), footer=()) if isinstance(body, cst.IndentedBlock) else body


_AST_OF: dict[type, tuple[type, ...]] = {
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
    cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.Try: (ast.Try,),
    cst.TryStar: (getattr(ast, "TryStar", ast.Try),),  # Python 3.11+ (3.10 cannot parse `except*`)
    cst.Match: (ast.Match,),
}


def _pair_block(
    statements: Sequence[cst.BaseStatement], nodes: Sequence[ast.stmt], lines: dict[int, tuple[int, int]]
) -> bool:
    """Record in `lines` where `ast` starts and ends each unit among `statements` and in
    them, from `nodes`, the `ast` statements of the same code. False if the two parsers do
    not split it alike."""
    at = 0
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            group = nodes[at : at + len(statement.body)]
            if len(group) != len(statement.body) or not group:
                return False
            lines[id(statement)] = (group[0].lineno, group[-1].end_lineno or group[-1].lineno)
            at += len(group)
        elif at < len(nodes) and _pair_compound(statement, nodes[at], lines):
            at += 1
        else:
            return False
    return at == len(nodes)


def _pair_compound(statement: cst.BaseStatement, node: ast.stmt, lines: dict[int, tuple[int, int]]) -> bool:
    if not isinstance(node, _AST_OF.get(type(statement), ())):
        return False
    lines[id(statement)] = (node.lineno, node.end_lineno or node.lineno)
    if not _pair_suite(getattr(statement, "body", None), getattr(node, "body", []), lines):
        return False
    otherwise: list[ast.stmt] = getattr(node, "orelse", [])
    if isinstance(statement, (cst.If, cst.For, cst.While)):
        orelse = statement.orelse
        if isinstance(orelse, cst.If):  # an `elif`
            return len(otherwise) == 1 and _pair_compound(orelse, otherwise[0], lines)
        return _pair_suite(orelse.body if orelse is not None else None, otherwise, lines)
    if isinstance(statement, (cst.Try, cst.TryStar)):
        handlers: list[ast.ExceptHandler] = getattr(node, "handlers", [])
        if len(statement.handlers) != len(handlers):
            return False
        clauses: Sequence[cst.ExceptHandler | cst.ExceptStarHandler] = statement.handlers
        for handler, pair in zip(clauses, handlers, strict=True):
            lines[id(handler)] = (pair.lineno, pair.end_lineno or pair.lineno)
            if not _pair_suite(handler.body, pair.body, lines):
                return False
        orelse, final = statement.orelse, statement.finalbody
        return _pair_suite(orelse.body if orelse is not None else None, otherwise, lines) and _pair_suite(
            final.body if final is not None else None, getattr(node, "finalbody", []), lines
        )
    if isinstance(statement, cst.Match):
        assert isinstance(node, ast.Match)
        return len(statement.cases) == len(node.cases) and all(
            _pair_suite(case.body, pair.body, lines) for case, pair in zip(statement.cases, node.cases, strict=True)
        )
    return True


def _pair_suite(body: cst.BaseSuite | None, nodes: Sequence[ast.stmt], lines: dict[int, tuple[int, int]]) -> bool:
    if body is None:
        return not nodes
    if isinstance(body, cst.IndentedBlock):
        return _pair_block(body.body, nodes, lines)
    return True  # a suite on the header's line: its statements are the header's


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


def _ast_statements(module: cst.Module, outline: Outline) -> list[Sequence[ast.stmt]] | None:
    """Per libcst module-level statement, its `ast` statements (several for a line of small
    statements). None when the Outline holds no nodes (see _aligned_statements)."""
    nodes = outline.nodes
    if len(nodes) != len(outline.statements):
        return None
    found: list[Sequence[ast.stmt]] = []
    index = 0
    for statement in module.body:
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        found.append(nodes[index : index + count])
        index += count
    return found


def _newlines(text: str, newline: str) -> str:
    if newline == "\n":
        return text
    return text.replace("\r\n", "\n").replace("\n", newline)
