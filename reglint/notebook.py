"""Jupyter notebooks (`.ipynb`) as a source: their code cells, checked as one Python module.

The code cells are joined into one text, each preceded by a marker comment line
(`# %% [reglint] cell 3`), so a rule sees the notebook as the kernel runs it (a name defined
in cell 2 is known in cell 5) and every line of the joined text maps back to a cell.

Cells are numbered from 1 and counted over **all** cells, markdown and raw ones included,
so "cell 3" is the third cell from the top as a person sees the notebook. Lines and columns
inside a cell are 1-based in text output, as for Python files.

IPython syntax that is not Python (`%timeit f()`, `!pip install x`, `files = !ls`, `?obj`,
`obj??`, a `%%time` header line, the whole body of a `%%bash` or `%%writefile` cell) is masked:
each such line is replaced by a placeholder line that parses (`pass` at the line's indentation,
so a magic inside a block keeps the block valid, or a comment), keeping every line on its
line. A fix that would change a masked line is refused: the notebook is left untouched.

Writing a fixed notebook back changes the JSON text of the `source` of the cells whose code
changed and nothing else: outputs, metadata, key order, indentation, the final newline and
every other cell stay byte for byte as they were. nbformat is not needed for that: the
format is JSON, and the positions of the `source` values are read from the file itself.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from reglint.model import Position
from reglint.sources import SourceError, line_starts, parse_python

MARKER_PREFIX = "# %% [reglint] cell "
MASK_COMMENT = "# [reglint masked]"
# cell magics whose body is Python run by IPython (only the header line is masked)
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_MAGIC = re.compile(r"^\s*(?:%|!|\?)")
_ASSIGNED_MAGIC = re.compile(r"^\s*[\w.\[\],\s()*]+(?<![=!<>])=\s*[%!]")
_HELP = re.compile(r"^\s*\??[\w.\[\]()'\"]+\?{1,2}\s*$")
_CELL_MAGIC = re.compile(r"^\s*%%(\w+)")
_WS = " \t\n\r"


class NotebookError(ValueError):
    """A fixed text that cannot be written back into the notebook as it is."""


def _lines(text: str) -> list[str]:
    """Lines with their line ends, split as libcst counts lines."""
    return _LINE.findall(text)


def _body(line: str) -> str:
    return line.rstrip("\r\n")


def _ending(line: str) -> str:
    return line[len(_body(line)) :]


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def mask_cell(lines: list[str]) -> tuple[list[str], dict[int, str]]:
    """The cell's lines with IPython syntax replaced by placeholders, and index -> original."""
    masked: dict[int, str] = {}
    out = list(lines)
    if not lines:
        return out, masked
    header = _CELL_MAGIC.match(lines[0])
    if header:
        whole = header.group(1) not in PYTHON_CELL_MAGICS
        for index, line in enumerate(lines if whole else lines[:1]):
            masked[index] = line
            out[index] = MASK_COMMENT + (_ending(line) or "\n")
        if whole:
            return out, masked
    continued = False  # the previous line was a masked line ending with a backslash
    state = _State()
    for index, line in enumerate(lines):
        if index in masked:
            continue
        body = _body(line)
        if continued:
            masked[index] = line
            out[index] = MASK_COMMENT + (_ending(line) or "\n")
        elif state.at_statement_start() and (_MAGIC.match(body) or _ASSIGNED_MAGIC.match(body) or _HELP.match(body)):
            masked[index] = line
            out[index] = f"{_indent(body)}pass  {MASK_COMMENT}" + (_ending(line) or "\n")
        else:
            state.feed(body)
            continue
        continued = body.endswith("\\")
    return out, masked


class _State:
    """Just enough of Python's tokenizer to know whether a line starts a statement: open
    brackets, an open triple-quoted string, a backslash continuation. (A `%` or `!` that
    starts a line inside brackets or a string is Python, not a magic.)"""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: str | None = None  # the quotes of an open triple-quoted string
        self.backslash = False

    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.backslash

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        self.backslash = False
        while i < n:
            if self.quote is not None:
                end = line.find(self.quote, i)
                while end != -1 and _escaped(line, end):
                    end = line.find(self.quote, end + 1)
                if end == -1:
                    return
                i = end + 3
                self.quote = None
                continue
            char = line[i]
            if char == "#":
                return
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            elif char in "'\"":
                if line[i : i + 3] == char * 3:
                    self.quote = char * 3
                    i += 3
                    continue
                end = i + 1
                while end < n and (line[end] != char or _escaped(line, end)):
                    end += 1
                i = end + 1
                continue
            elif char == "\\" and i == n - 1:
                self.backslash = True
            i += 1


def _escaped(line: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and line[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


@dataclass
class _Cell:
    index: int  # 0-based position among all cells
    source: str  # the cell's source as in the notebook, joined
    lines: list[str]  # the masked lines, each ending with a line break
    masked: dict[int, str]  # line index -> original line
    ends_with_newline: bool

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def marker(self) -> str:
        return f"{MARKER_PREFIX}{self.number}\n"


def _is_python(notebook: dict[str, Any]) -> bool:
    metadata = notebook.get("metadata")
    if not isinstance(metadata, dict):
        return True
    for key, inner in (("language_info", "name"), ("kernelspec", "language")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(inner), str):
            return section[inner].lower().startswith(("python", "ipython"))
    return True


def code_cells(raw: bytes) -> bytes:
    """What the code cells of a notebook's bytes say, for the prefilter's screen (the cells
    are all the analysis reads: the JSON's outputs and markdown can weigh megabytes, and
    searching them for every token cost more than reading the JSON once). `raw` itself when
    it cannot be read as a notebook: its parse then says why."""
    try:
        notebook = json.loads(raw.decode("utf-8").removeprefix("\ufeff"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return raw
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return raw
    if not _is_python(notebook):
        return b""  # not analysed
    parts: list[str] = []
    for cell in notebook["cells"]:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            if isinstance(source, list) and all(isinstance(part, str) for part in source):
                parts.extend(source)
            elif isinstance(source, str):
                parts.append(source)
            else:
                return raw
            parts.append("\n")
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: its parse reports it
        return raw


def _cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


# --------------------------------------------------------------------------------------
# JSON with positions: where each value sits in the file's text


@dataclass
class _Span:
    start: int
    end: int
    children: Any = None  # dict key -> _Span, or list of _Span


_DECODER = json.JSONDecoder()
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WS:
        index += 1
    return index


def _scan(text: str, index: int) -> tuple[Any, _Span]:
    """Parse the JSON value at `index` (no leading whitespace): the value and its span."""
    char = text[index : index + 1]
    if char == "{":
        start = index
        value: dict[str, Any] = {}
        children: dict[str, _Span] = {}
        index = _skip(text, index + 1)
        if text[index : index + 1] == "}":
            return value, _Span(start, index + 1, children)
        while True:
            if text[index : index + 1] != '"':
                raise ValueError(f"expected a key at offset {index}")
            key, index = _scanstring(text, index + 1)
            index = _skip(text, index)
            if text[index : index + 1] != ":":
                raise ValueError(f"expected ':' at offset {index}")
            item, span = _scan(text, _skip(text, index + 1))
            value[key] = item
            children[key] = span
            index = _skip(text, span.end)
            if text[index : index + 1] == ",":
                index = _skip(text, index + 1)
                continue
            if text[index : index + 1] == "}":
                return value, _Span(start, index + 1, children)
            raise ValueError(f"expected ',' or '}}' at offset {index}")
    if char == "[":
        start = index
        items: list[Any] = []
        spans: list[_Span] = []
        index = _skip(text, index + 1)
        if text[index : index + 1] == "]":
            return items, _Span(start, index + 1, spans)
        while True:
            item, span = _scan(text, index)
            items.append(item)
            spans.append(span)
            index = _skip(text, span.end)
            if text[index : index + 1] == ",":
                index = _skip(text, index + 1)
                continue
            if text[index : index + 1] == "]":
                return items, _Span(start, index + 1, spans)
            raise ValueError(f"expected ',' or ']' at offset {index}")
    if char == '"':
        string, end = _scanstring(text, index + 1)
        return string, _Span(index, end)
    scalar, end = _DECODER.raw_decode(text, index)
    return scalar, _Span(index, end)


def _decoded_index(text: str, literal_start: int, count: int) -> int:
    """The offset in `text` of the `count`-th decoded character of the string literal that
    starts (with its quote) at `literal_start`."""
    index = literal_start + 1
    for _ in range(count):
        if text[index] != "\\":
            index += 1
        elif text[index + 1] != "u":
            index += 2
        else:
            code = int(text[index + 2 : index + 6], 16)
            index += 6
            if 0xD800 <= code < 0xDC00 and text[index : index + 2] == "\\u":
                index += 6  # a surrogate pair is one character
    return index


# --------------------------------------------------------------------------------------
# the source


@dataclass
class NotebookSource:
    path: str
    raw: bytes
    json_text: str
    notebook: dict[str, Any]
    cells: list[_Cell]
    module: cst.Module | None = field(default=None, repr=False)
    _text: str | None = field(default=None, repr=False)
    _line_map: list[tuple[int, int]] | None = field(default=None, repr=False)
    _spans: _Span | None = field(default=None, repr=False)
    _json_starts: list[int] | None = field(default=None, repr=False)

    kind = "notebook"

    @classmethod
    def load(cls, path: str, raw: bytes) -> Any:  # Any: `sources.source_for` returns either kind
        try:
            json_text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SourceError(1, 0, f"cannot decode notebook as UTF-8: {error}") from None
        json_text = json_text.removeprefix("\ufeff")
        try:
            notebook = json.loads(json_text)
        except RecursionError:
            raise SourceError(1, 0, "not a notebook: JSON nested too deeply to read") from None
        except ValueError as error:
            line = getattr(error, "lineno", 1)
            column = getattr(error, "colno", 1) - 1
            raise SourceError(line, column, f"not a notebook: invalid JSON: {error}") from None
        if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
            raise SourceError(1, 0, "not a notebook: no `cells` list (nbformat 4 is supported)")
        cells: list[_Cell] = []
        if _is_python(notebook):
            for index, cell in enumerate(notebook["cells"]):
                if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                    continue
                raw_source = cell.get("source", "")
                if not isinstance(raw_source, str) and not (
                    isinstance(raw_source, list) and all(isinstance(part, str) for part in raw_source)
                ):
                    # not nbformat: rewriting it would lose the entries that are not text
                    raise SourceError(1, 0, f"not a notebook: cell {index + 1}'s source is not text")
                source = _cell_source(cell)
                try:
                    source.encode("utf-8")
                except UnicodeEncodeError as error:
                    bad = repr(source[error.start])
                    raise SourceError(1, 0, f"cell {index + 1} holds {bad}, a lone surrogate (not text)") from None
                lines = [line if _ending(line) else line + "\n" for line in _lines(source)]
                masked_lines, masked = mask_cell(lines)
                cells.append(_Cell(index, source, masked_lines, masked, source.endswith(("\n", "\r"))))
        return cls(path, raw, json_text, notebook, cells)

    # -- the joined text ---------------------------------------------------------------
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(cell.marker + "".join(cell.lines) for cell in self.cells)
        return self._text

    def display_text(self) -> str:
        """The joined cells as written (magics not masked), for `--diff`."""
        return "".join(
            cell.marker + "".join(cell.masked.get(i, line) for i, line in enumerate(cell.lines)) for cell in self.cells
        )

    def parse(self) -> cst.Module:
        if self.module is None:
            self.module = parse_python(self.text())
        return self.module

    def line_map(self) -> list[tuple[int, int]]:
        """For each line of the joined text (index 0 = line 1): (cell number, line in cell),
        line 0 being the cell's marker line."""
        if self._line_map is None:
            mapping: list[tuple[int, int]] = []
            for cell in self.cells:
                mapping.append((cell.number, 0))
                mapping.extend((cell.number, line) for line in range(1, len(cell.lines) + 1))
            self._line_map = mapping
        return self._line_map

    def cell_of(self, line: int) -> tuple[int, int]:
        """(cell number, 1-based line in the cell) of a line of the joined text."""
        mapping = self.line_map()
        if not mapping:
            return (1, 1)
        cell, inner = mapping[min(max(line, 1), len(mapping)) - 1]
        return cell, max(inner, 1)

    def display(self, line: int) -> str:
        cell, inner = self.cell_of(line)
        return f"cell {cell}:{inner}"

    def original_line(self, line: int) -> str:
        """The notebook's own text of a joined line (a masked magic shows as written)."""
        mapping = self.line_map()
        if not 0 < line <= len(mapping):
            return ""
        number, inner = mapping[line - 1]
        if inner == 0:
            return ""
        cell = next(c for c in self.cells if c.number == number)
        return _body(cell.masked.get(inner - 1, cell.lines[inner - 1]))

    # -- positions in the .ipynb file itself (for SARIF and GitHub annotations) ----------
    def spans(self) -> _Span:
        if self._spans is None:
            start = _skip(self.json_text, 0)
            _, self._spans = _scan(self.json_text, start)
        return self._spans

    def file_position(self, position: Position) -> Position:
        """Where a position of the joined text is in the notebook's JSON text (1-based line,
        0-based column), inside the string literal that holds that character."""
        number, inner = self.cell_of(position.line)
        cell = next((c for c in self.cells if c.number == number), None)
        source_span = self._source_span(number)
        if cell is None or source_span is None:
            return Position(1, 0)
        mapping = self.line_map()
        at_marker = 0 < position.line <= len(mapping) and mapping[position.line - 1][1] == 0
        offset = (
            0 if at_marker else sum(len(cell.masked.get(i, cell.lines[i])) for i in range(inner - 1)) + position.column
        )
        literals = source_span.children if isinstance(source_span.children, list) else [source_span]
        if not literals:
            return self._json_position(source_span.start)
        remaining = min(offset, len(cell.source))
        for literal in literals:
            length = len(_scanstring(self.json_text, literal.start + 1)[0])
            if remaining < length or literal is literals[-1]:
                return self._json_position(_decoded_index(self.json_text, literal.start, min(remaining, length)))
            remaining -= length
        return self._json_position(source_span.start)  # pragma: no cover - loop always returns

    def _json_position(self, offset: int) -> Position:
        if self._json_starts is None:
            self._json_starts = line_starts(self.json_text)
        starts = self._json_starts
        line = bisect.bisect_right(starts, offset)
        return Position(line, offset - starts[line - 1])

    def _source_span(self, number: int) -> _Span | None:
        cells = self.spans().children.get("cells")
        if cells is None or not isinstance(cells.children, list) or number - 1 >= len(cells.children):
            return None
        cell = cells.children[number - 1]
        if not isinstance(cell.children, dict):
            return None
        span = cell.children.get("source")
        return span if isinstance(span, _Span) else None

    # -- writing back -----------------------------------------------------------------
    def cell_sources(self, text: str) -> dict[int, str]:
        """The new source of each code cell (by 0-based cell index) in a fixed joined text."""
        lines = _lines(text)
        segments = self._segments(lines)
        sources: dict[int, str] = {}
        for cell, segment in zip(self.cells, segments, strict=True):
            restored = self._unmask(cell, segment)
            source = "".join(restored)
            if not cell.ends_with_newline and source.endswith("\n"):
                source = source[:-1]
            sources[cell.index] = source
        return sources

    def _segments(self, lines: list[str]) -> list[list[str]]:
        """Split the fixed text's lines by cell: at the markers, or where a fix removed one
        (with the statement it led), where the old and new texts diverge."""
        markers = [cell.marker for cell in self.cells]
        found = [i for i, line in enumerate(lines) if line.startswith(MARKER_PREFIX)]
        bounds = found if [lines[i] for i in found] == markers else self._realign(lines)
        segments = []
        for k, start in enumerate(bounds):
            end = bounds[k + 1] if k + 1 < len(bounds) else len(lines)
            segment = lines[start:end]
            if segment and segment[0] in markers:
                segment = segment[1:]
            segments.append(segment)
        if bounds and bounds[0] > 0:  # text a fix added before the first marker (imports)
            segments[0] = lines[: bounds[0]] + segments[0]
        return segments

    def _realign(self, lines: list[str]) -> list[int]:
        old = _lines(self.text())
        matcher = difflib.SequenceMatcher(None, old, lines, autojunk=False)
        opcodes = matcher.get_opcodes()
        bounds = []
        marker_at = 0
        for cell in self.cells:
            for tag, i1, i2, j1, _j2 in opcodes:
                if i1 <= marker_at < i2:
                    if tag == "equal":
                        bounds.append(j1 + marker_at - i1)
                    elif i1 == marker_at:
                        bounds.append(j1)  # the fix removed the marker with what followed it
                    else:
                        raise NotebookError(f"a fix changed the boundary of cell {cell.number}")
                    break
            else:
                raise NotebookError(f"a fix removed the boundary of cell {cell.number}")
            marker_at += 1 + len(cell.lines)
        if bounds != sorted(bounds):
            raise NotebookError("a fix moved the boundaries of the cells")
        return bounds

    def _unmask(self, cell: _Cell, segment: list[str]) -> list[str]:
        placeholders = [cell.lines[i] for i in sorted(cell.masked)]
        found = [i for i, line in enumerate(segment) if _body(line).endswith(MASK_COMMENT)]
        if [segment[i] for i in found] != placeholders:
            raise NotebookError(f"a fix would change an IPython magic or shell line in cell {cell.number}")
        restored = list(segment)
        for i, original in zip(found, (cell.masked[k] for k in sorted(cell.masked)), strict=True):
            restored[i] = original
        return restored

    def render(self, text: str) -> bytes:
        """The notebook's bytes with the cells of a fixed joined text written back."""
        if text == self.text():
            return self.raw
        sources = self.cell_sources(text)
        changed = {i: s for i, s in sources.items() if s != next(c.source for c in self.cells if c.index == i)}
        if not changed:
            return self.raw
        cells_span = self.spans().children["cells"]
        out = self.json_text
        for index in sorted(changed, reverse=True):
            span = cells_span.children[index].children["source"]
            out = out[: span.start] + self._serialize(span, changed[index]) + out[span.end :]
        check = json.loads(out)
        for index, source in changed.items():
            if _cell_source(check["cells"][index]) != source:  # pragma: no cover - defensive
                raise NotebookError(f"cell {index + 1} did not round-trip")
        prefix = "\ufeff" if self.raw.startswith(b"\xef\xbb\xbf") else ""
        return (prefix + out).encode("utf-8")

    def _serialize(self, span: _Span, source: str) -> str:
        ascii_only = self.json_text.isascii() and "\\u" in self.json_text
        if not isinstance(span.children, list):
            return json.dumps(source, ensure_ascii=ascii_only)
        parts = [json.dumps(line, ensure_ascii=ascii_only) for line in re.findall(r"[^\n]*\n|[^\n]+$", source)]
        if not parts:
            return "[]"
        opening, between, closing = self._list_style(span)
        return "[" + opening + between.join(parts) + closing + "]"

    def _list_style(self, span: _Span) -> tuple[str, str, str]:
        text = self.json_text
        items = span.children
        if items:
            opening = text[span.start + 1 : items[0].start]
            closing = text[items[-1].end : span.end - 1]
            between = text[items[0].end : items[1].start] if len(items) > 1 else "," + opening
            return opening, between, closing
        # an empty list: indent the lines one step deeper than the line of the key
        line_start = text.rfind("\n", 0, span.start) + 1
        if line_start == 0:
            return "", ",", ""
        indent = _indent(text[line_start : span.start])
        step = _indent_step(text)
        return "\n" + indent + step, ",\n" + indent + step, "\n" + indent

    def reparse_text(self, text: str) -> bytes:
        """The notebook bytes for a fixed joined text, after checking it parses."""
        parse_python(text)
        return self.render(text)

    def with_text(self, text: str) -> NotebookSource:
        return NotebookSource.load(self.path, self.render(text))


def _indent_step(text: str) -> str:
    for match in re.finditer(r"\n([ \t]+)\S", text):
        return match.group(1)
    return " "
