"""Where nodes are: positions of the nodes a rule reports on or records a fact at, computed
per module-level statement from the `ast` Outline's line numbers (libcst's PositionProvider
over a whole large module costs more than its parse), and the fixes built from them."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import libcst as cst

# private, but what Module.code_for_node generates with: the one way to generate a node's
# code with the indentation of the blocks around it (see Positions.code_at)
from libcst._nodes.internal import CodegenState
from libcst.metadata import BaseMetadataProvider, PositionProvider, WhitespaceInclusivePositionProvider

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
            todo.extend((child, indents) for child in child_nodes(current))
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


def _index_statements(module: cst.Module, statement: dict[int, int]) -> Iterator[None]:
    """Map the id of every node of each module-level statement to the statement's index in
    `statement`, one statement per step."""
    for index, top in enumerate(module.body):
        stack: list[cst.CSTNode] = [top]
        while stack:
            node = stack.pop()
            statement[id(node)] = index
            stack.extend(child_nodes(node))
        yield


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
