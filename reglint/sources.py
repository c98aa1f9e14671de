"""What the engine reads: a file's bytes, how to parse them, and how to write a fixed text back.

Python files are handed to libcst as bytes, so that it decodes them as Python does (PEP 263
cookie, BOM); the fixed text is encoded back with the same encoding, so a latin-1 file stays
latin-1 and a BOM stays. Other kinds of source (notebooks) implement the same interface.
"""

from __future__ import annotations

import ast
import itertools
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from reglint.model import ParseError

if TYPE_CHECKING:  # libcst is imported when a file is parsed, not to read a cached run
    import libcst as cst

_ERROR_AT = re.compile(r"error at (\d+):(\d+)")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_NEWLINE_BYTES = re.compile(rb"\r\n|\r|\n")


def line_starts(text: str | bytes) -> list[int]:
    """Offsets of the start of each line (index 0 is line 1), counting \\r\\n, \\r and \\n
    as line breaks, as Python, libcst's positions and `ast` do (not str.splitlines, which
    also breaks at form feeds and other separators)."""
    starts = [0]
    breaks = _NEWLINE_BYTES.finditer(text) if isinstance(text, bytes) else _NEWLINE.finditer(text)
    starts.extend(match.end() for match in breaks)
    return starts


def changed_span(old: str, new: str) -> tuple[int, int, str] | None:
    """The one replacement that turns `old` into `new`, common ends kept: (start, end) in
    `old` and the text that replaces them; None if they are equal. For a SARIF fix and an
    editor's edit, which keep the marks and folds outside the change."""
    if old == new:
        return None
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    return prefix, len(old) - suffix, new[prefix : len(new) - suffix]


DEEP_STACK_BYTES = 512 * 1024 * 1024  # reserved address space, committed only as used
DEEP_RECURSION_LIMIT = 200_000
T = TypeVar("T")


def on_deep_stack(work: Callable[[], T]) -> T | None:
    """Run `work` in a thread with a large stack and recursion limit, for trees deeper than
    the default limit lets libcst walk or print (a thousand implicitly concatenated strings,
    a long chain of unary operators). None if even that is not deep enough."""
    outcome: list[Any] = [None]

    def target() -> None:
        try:
            outcome[0] = work()
        except RecursionError:
            outcome[0] = None
        except BaseException as error:  # re-raised in the caller's thread
            outcome[0] = error

    with _DEEP_LOCK:
        old_size = threading.stack_size(DEEP_STACK_BYTES)
        old_limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old_limit, DEEP_RECURSION_LIMIT))
        try:
            thread = threading.Thread(target=target, name="reglint-deep")
            thread.start()
            thread.join()
        finally:
            sys.setrecursionlimit(old_limit)
            threading.stack_size(old_size)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


_DEEP_LOCK = threading.Lock()


class SourceError(Exception):
    """The file cannot be analysed: it does not decode or does not parse."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message

    def to_parse_error(self, path: str) -> ParseError:
        return ParseError(path, self.line, self.column, self.message)


@dataclass(frozen=True)
class Outline:
    """What CPython's own parser tells about a Python source, from one `ast` parse (a tenth
    of libcst's cost), taken before libcst's: that the source does not nest too deeply for
    libcst's native parser (which can crash the process on such input, where CPython's fails
    with an exception), where its docstrings are (for the prefilter's screen), and where each
    module-level statement starts (to place definitions without libcst's PositionProvider)."""

    # whether the source is bytes read as UTF-8: `ast`'s offsets are then offsets in them
    utf8: bool
    # byte spans of the module, class and function docstrings (only in UTF-8 bytes)
    docstrings: tuple[tuple[int, int], ...]
    # the top-level statements of `ast` (one per small statement of a line)
    statements: tuple[Statement, ...]
    # the same statements' `ast` nodes (positions.Positions places nested statements by them)
    nodes: tuple[ast.stmt, ...] = field(default=(), compare=False, repr=False)


class Statement(NamedTuple):
    """A module-level statement as `ast` reads it."""

    line: int  # where the statement starts (the `def` line of a decorated function)
    end: int  # its last line
    name: str | None  # of a def or class
    first: int  # its first line: the first decorator's, if any


def outline(data: bytes | str) -> Outline | None:
    """The Outline of a source; None if CPython cannot parse it (libcst then says why, in
    its words). Raises SourceError if it nests too deeply to parse safely."""
    try:
        with warnings.catch_warnings():  # SyntaxWarnings about the user's code are not ours to print
            warnings.simplefilter("ignore")
            tree = ast.parse(data, "<reglint>")
    except (RecursionError, MemoryError):
        raise SourceError(1, 0, "too deeply nested to parse") from None
    except SyntaxError as error:
        if "too many nested" in str(error) or "too complex" in str(error):
            raise SourceError(
                error.lineno or 1, max((error.offset or 1) - 1, 0), "too deeply nested to parse"
            ) from None
        return None
    except (ValueError, UnicodeError, LookupError):
        return None  # libcst reports it
    statements = tuple(
        Statement(
            node.lineno,
            node.end_lineno or node.lineno,
            node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None,
            min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))]),
        )
        for node in tree.body
    )
    utf8 = isinstance(data, bytes) and _is_utf8(data)
    docstrings = _docstring_spans(data, tree) if isinstance(data, bytes) and utf8 else ()
    return Outline(utf8, docstrings, statements, tuple(tree.body))


_BOM = b"\xef\xbb\xbf"


def encoding_of(raw: bytes) -> str:
    """The encoding Python reads a source file in (PEP 263 cookie, BOM; default UTF-8).
    Raises SyntaxError for a cookie naming no codec."""
    import io
    import tokenize

    return tokenize.detect_encoding(io.BytesIO(raw).readline)[0]


def _is_utf8(raw: bytes) -> bool:
    """Whether Python reads `raw` as UTF-8: `ast` offsets are then offsets in the bytes."""
    try:
        return encoding_of(raw) in ("utf-8", "utf-8-sig")
    except SyntaxError:
        return False


def _docstring_spans(raw: bytes, tree: ast.Module) -> tuple[tuple[int, int], ...]:
    starts = line_starts(raw)
    bom = len(_BOM) if raw.startswith(_BOM) else 0
    spans: list[tuple[int, int]] = []
    stack: list[ast.AST] = [tree]
    while stack:  # statements only: expressions hold no docstring
        node = stack.pop()
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                doc = first.value
                if isinstance(doc.value, str) and doc.end_lineno is not None and doc.end_col_offset is not None:
                    begin = starts[doc.lineno - 1] + doc.col_offset + (bom if doc.lineno == 1 else 0)
                    end = starts[doc.end_lineno - 1] + doc.end_col_offset + (bom if doc.end_lineno == 1 else 0)
                    spans.append((begin, end))
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, name, None)
            if isinstance(children, list):
                stack.extend(child for child in children if isinstance(child, ast.AST))
    return tuple(spans)


@contextmanager
def _parsing_without_validation() -> Iterator[None]:
    """libcst validates every node it builds (`CSTNode.__post_init__` calls `_validate`),
    which for a tree its own parser builds re-checks what the grammar already guarantees;
    its source says so ("PERF: ... avoid validating the tree when parsing a file"). Skipping
    it saves about a tenth of the parse. Only while parsing (the process parses one file at
    a time): nodes that rules and fixes build afterwards are validated as usual."""
    from libcst import CSTNode

    validate = CSTNode.__dict__.get("__post_init__")
    if validate is None:  # a libcst that no longer validates this way
        yield
        return
    CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]
    try:
        yield
    finally:
        CSTNode.__post_init__ = validate  # type: ignore[method-assign]


def _no_validation(self: object) -> None:
    return None


# libcst's parser holds about 2,600 bytes per token (measured: a 5 MB line of two-byte tokens
# peaked at 6.8 GB), and its tree about 400 bytes per byte of source. A file whose parse could
# need more than the memory the machine has free is not parsed (the process would be killed,
# with no output at all): it is reported as too large to analyse. A large file is parsed a
# run of statements at a time (see parse_in_pieces): the peak is its largest statement's
# parse plus the tree. Only files above CHECKED_FROM_BYTES are estimated (below, the worst
# case fits any machine that runs Python). REGLINT_MAX_PARSE_BYTES overrides the budget.
PARSE_BYTES_PER_TOKEN = 2600
TREE_BYTES_PER_BYTE = 400
CHECKED_FROM_BYTES = 1 << 20
# a string literal is one token however long; the rest is counted by word and by symbol
_STRINGS = re.compile(rb"""(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""")
_TOKENS = re.compile(rb"[A-Za-z0-9_.]+|[^\sA-Za-z0-9_.]")


def _largest_piece(raw: bytes, found: Outline | None) -> bytes:
    """The bytes libcst parses at once: the whole file, or (parsed in pieces) its largest
    module-level statement."""
    if found is None or not found.utf8 or len(raw) <= PIECE_BYTES or not found.statements:
        return raw
    starts = [0, *(i + 1 for i, byte in enumerate(raw) if byte == 10)]
    span = (0, 0)
    for statement in found.statements:
        begin = starts[min(statement.first, len(starts)) - 1]
        end = starts[statement.end] if statement.end < len(starts) else len(raw)
        if end - begin > span[1] - span[0]:
            span = (begin, end)
    return raw[span[0] : span[1]]


def check_parse_memory(raw: bytes, found: Outline | None) -> None:
    if len(raw) < CHECKED_FROM_BYTES:
        return
    limit = _parse_budget()
    if limit is None:
        return
    piece = _largest_piece(raw, found)
    strings = len(_STRINGS.findall(piece))
    tokens = strings + len(_TOKENS.findall(_STRINGS.sub(b"", piece)))
    need = tokens * PARSE_BYTES_PER_TOKEN + len(raw) * TREE_BYTES_PER_BYTE
    if need > limit:
        raise SourceError(
            1, 0, f"too large to analyse: parsing it could need {need / 2**30:.1f} GB, {limit / 2**30:.1f} GB is free"
        )


def _cpython_error(data: bytes | str) -> SourceError | None:
    """CPython's syntax error for a source (compiled, never run), with its position."""
    if isinstance(data, bytes):
        try:
            declared = encoding_of(data)
        except SyntaxError:
            declared = "utf-8"
        if declared.replace("_", "-").lower().startswith(("utf-16", "utf-32")):
            message = f"cannot decode: the coding declaration names {declared}, which Python cannot read"
            return SourceError(1, 0, message)
    try:
        compile(data, "<source>", "exec", dont_inherit=True)
    except SyntaxError as error:
        line = error.lineno or 1
        column = (error.offset or 1) - 1
        # (the line CPython names in its message is the joined text's, in a notebook)
        message = re.sub(r" \(detected at line \d+\)", "", error.msg)
        return SourceError(line, max(column, 0), f"SyntaxError: {message}")
    except (ValueError, MemoryError, RecursionError):
        return None
    return None


def _parse_budget() -> int | None:
    configured = os.environ.get("REGLINT_MAX_PARSE_BYTES")
    if configured:
        try:
            return int(configured)
        except ValueError:
            pass
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None  # unknown here: parse, as before


def parse_python(data: bytes | str, *, checked: bool = False) -> cst.Module:
    """Parse with libcst, turning its errors into one-line SourceErrors. Unless `checked`
    (the caller took the source's `outline` already), CPython's parser first makes sure the
    source does not nest too deeply for libcst's."""
    import libcst as cst

    if not checked:
        outline(data)
    try:
        with _parsing_without_validation():
            return cst.parse_module(data)
    except cst.ParserSyntaxError as error:
        line, column = error.raw_line, error.raw_column
        found = _ERROR_AT.search(error.message)
        if found:
            line, column = int(found.group(1)), int(found.group(2)) - 1
        message = " ".join(error.message.split())
        message = re.sub(r"^parser error: error at \d+:\d+: ", "", message)
        # CPython's own compiler says where, and what, in the user's terms ("'(' was never
        # closed"), where libcst lists the tokens it expected (and its tokenizer says 1:1);
        # libcst's words only for what CPython compiles and libcst cannot parse
        own = _cpython_error(data)
        if own is not None:
            raise own from None
        raise SourceError(line, max(column, 0), f"SyntaxError: {message}") from None
    except (UnicodeDecodeError, LookupError, SyntaxError) as error:
        # a cookie naming an unknown codec, or bytes that do not decode
        raise _decode_error(data, error) from None
    except (RecursionError, MemoryError):
        raise SourceError(1, 0, "too deeply nested to parse") from None


# libcst's native parser holds about 800 bytes of memory per byte of source while it parses
# (the tree it returns is a twentieth of that): 400 MB for the 437 KB of Keras's
# numpy_test.py. A UTF-8 file larger than this is parsed a run of module-level statements
# at a time, and the statements put together in one Module (see parse_in_pieces).
PIECE_BYTES = 64 * 1024


def parse_in_pieces(raw: bytes, outline: Outline, piece_bytes: int = PIECE_BYTES) -> cst.Module | None:
    """The Module libcst would parse from `raw` (a UTF-8 Python file), parsed in pieces of
    about `piece_bytes` cut between module-level statements; None where that cannot give
    the same tree, and the caller parses the whole file.

    A piece starts right after the last line of a statement, and only where every line
    between that statement and the next is empty or a comment at column 0: libcst gives
    such lines to the next statement (its `leading_lines`), or, at the top of a piece, to
    the piece's `header`, which is moved back onto the statement. An indented line there
    could belong to the previous block, so no cut is made. Every piece must agree on the
    newline and indentation that nodes without their own take from the module."""
    import libcst as cst

    starts = line_starts(raw)
    cuts = [0]
    statements = outline.statements
    for before, after in itertools.pairwise(statements):
        if after.first <= before.end or starts[before.end] - cuts[-1] < piece_bytes:
            continue
        gap = raw[starts[before.end] : starts[after.first - 1]]
        if all(line == b"" or line.startswith(b"#") for line in gap.splitlines()):
            cuts.append(starts[before.end])
    if len(cuts) == 1:
        return None
    pieces = [parse_python(raw[a:b], checked=True) for a, b in zip(cuts, [*cuts[1:], len(raw)], strict=True)]
    first = pieces[0]
    newline = first.default_newline
    indents = {
        p.default_indent for p in pieces if any(isinstance(getattr(s, "body", None), cst.IndentedBlock) for s in p.body)
    }
    if len(indents) > 1 or any(piece.default_newline != newline for piece in pieces):
        return None
    body = list(first.body)
    for previous, piece in itertools.pairwise(pieces):
        if previous.footer or not piece.body:
            return None
        lead = piece.body[0]
        body.append(lead.with_changes(leading_lines=(*piece.header, *lead.leading_lines)))
        body.extend(piece.body[1:])
    last = pieces[-1]
    return first.with_changes(
        body=body,
        footer=last.footer,
        default_indent=indents.pop() if indents else first.default_indent,
        has_trailing_newline=last.has_trailing_newline,
    )


def _decode_error(data: bytes | str, error: Exception) -> SourceError:
    """Say why the bytes do not decode, and where, in one line."""
    if isinstance(data, bytes):
        import io
        import tokenize

        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except SyntaxError as cookie_error:
            if "unknown encoding" in str(cookie_error):
                return SourceError(1, 0, f"cannot decode: {cookie_error}")
            encoding = "utf-8"  # a first line that is not UTF-8: say where below
        try:
            data.decode(encoding)
        except UnicodeDecodeError as bad:
            line = data[: bad.start].count(b"\n") + 1
            column = bad.start - (data.rfind(b"\n", 0, bad.start) + 1)
            what = (
                "not valid UTF-8 and no coding declaration"
                if encoding in ("utf-8", "utf-8-sig")
                else (f"not valid {encoding}")
            )
            return SourceError(line, column, f"cannot decode: {what} (byte 0x{data[bad.start]:02x})")
        except LookupError:
            return SourceError(1, 0, f"cannot decode: unknown encoding {encoding!r}")
    return SourceError(1, 0, f"cannot decode: {error}")


@dataclass
class PythonSource:
    path: str
    raw: bytes
    module: cst.Module | None = field(default=None, repr=False)
    code_cache: str | None = field(default=None, repr=False)
    outline_cache: Outline | None = field(default=None, repr=False)
    outlined: bool = field(default=False, repr=False)

    kind = "python"

    def outline(self) -> Outline | None:
        """The file's Outline, taken once (see `outline`): raises SourceError as `parse` does."""
        if not self.outlined:
            if b"\x00" in self.raw:
                line = self.raw[: self.raw.index(b"\x00")].count(b"\n") + 1
                raise SourceError(line, 0, "source contains a NUL byte")
            self.outline_cache = outline(self.raw)
            self.outlined = True
        return self.outline_cache

    def parse(self) -> cst.Module:
        if self.module is None:
            found = self.outline()
            check_parse_memory(self.raw, found)
            module = None
            if found is not None and found.utf8 and len(self.raw) > PIECE_BYTES:
                module = parse_in_pieces(self.raw, found)
            self.module = module or parse_python(self.raw, checked=True)
        return self.module

    def _lost_final_cr(self) -> bool:
        # libcst drops the final line break of a file whose lines end in a lone "\r"
        # (its `code` no longer round-trips): put it back, or every fix would remove it
        return self.raw.endswith(b"\r") and not self._code().endswith(("\r", "\n"))

    def _code(self) -> str:
        if self.code_cache is not None:
            return self.code_cache
        module = self.parse()
        try:
            code = module.code
        except RecursionError:  # printing a very deep tree recurses as deeply as walking it
            deep = on_deep_stack(lambda: module.code)
            if deep is None:
                raise SourceError(1, 0, "too deeply nested to analyse") from None
            code = deep
        self.code_cache = code
        return code

    def text(self) -> str:
        """The decoded source as libcst gives it back (the text positions refer to): the
        file's, but for what libcst does not reproduce (see `original_text`)."""
        code = self._code()
        return code + "\r" if self._lost_final_cr() else code

    def original_text(self) -> str:
        """The decoded source exactly as in the file (a form feed starting a line, the blank
        in `except E :`), where fixes are made (reglint/fixer.py)."""
        return self.raw.decode(encoding_of(self.raw))

    def render(self, text: str) -> bytes:
        """The bytes to write for a fixed text, in the file's own encoding (BOM kept)."""
        module = self.parse()
        if self._lost_final_cr() and text and not text.endswith(("\r", "\n")):
            text += "\r"  # dropped again by a libcst round trip (imports added)
        return text.encode(module.encoding)

    def reparse_text(self, text: str) -> bytes:
        """The bytes of a fixed text, after checking they parse as the written file would."""
        data = self.render(text)
        parse_python(data)
        return data

    def display(self, line: int) -> str:
        return f"{line}"

    def with_text(self, text: str) -> PythonSource:
        return PythonSource(self.path, self.render(text))


def is_notebook(path: str) -> bool:
    return path.endswith(".ipynb")


def source_for(path: str, raw: bytes) -> PythonSource:
    """The source object for a file, by its kind (notebooks are read as their code cells)."""
    if is_notebook(path):
        from reglint.notebook import NotebookSource

        return NotebookSource.load(path, raw)  # type: ignore[no-any-return,unused-ignore]
    return PythonSource(path, raw)
