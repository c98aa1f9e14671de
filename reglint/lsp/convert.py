"""Between reglint's findings and the protocol's types: positions in the client's units,
diagnostics, the edits that turn one text into another, and notebook documents as the
`.ipynb` text the checks read.

reglint's positions are 1-based lines and 0-based columns in characters (code points) of the
text as Python reads it (lines broken at \\r\\n, \\r and \\n only); LSP's are 0-based lines and
columns in the negotiated encoding (UTF-16 unless the client offers another). A notebook's
findings are in its joined code cells; `Place` maps them back to a cell's own document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lsprotocol import types

from reglint import rule_url
from reglint.model import Finding, ParseError, Position
from reglint.notebook import NotebookSource
from reglint.rule import rules_by_code
from reglint.sources import changed_span, line_starts

SOURCE = "reglint"
SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "note": types.DiagnosticSeverity.Information,
}
TAGS = {"deprecated": types.DiagnosticTag.Deprecated, "unnecessary": types.DiagnosticTag.Unnecessary}


class Text:
    """A document's text with its line starts, converting between reglint's positions,
    string offsets and the client's positions."""

    def __init__(self, text: str, encoding: str = types.PositionEncodingKind.Utf16) -> None:
        self.text = text
        self.encoding = encoding
        self.starts = line_starts(text)

    def line(self, index: int) -> str:
        """Line `index` (0-based) without its line break."""
        start = self.starts[index]
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def client(self, line: int, column: int) -> types.Position:
        """The client's position of a 0-based line and a column in characters (clamped to
        the text, so a stale finding never points outside it)."""
        if line >= len(self.starts):
            line = len(self.starts) - 1
            column = len(self.line(line))
        text = self.line(max(line, 0))
        return types.Position(max(line, 0), units(text[: max(column, 0)], self.encoding))

    def edit_to(self, new: str) -> types.TextEdit | None:
        """One edit replacing the part of the text that differs from `new` (common prefix
        and suffix kept, so the editor keeps its marks and folds elsewhere)."""
        span = changed_span(self.text, new)
        if span is None:
            return None
        start, end, text = span
        return types.TextEdit(types.Range(self.at(start), self.at(end)), text)

    def at(self, offset: int) -> types.Position:
        """The client's position of a string offset."""
        low, high = 0, len(self.starts) - 1
        while low < high:  # the last line starting at or before the offset
            middle = (low + high + 1) // 2
            if self.starts[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        return types.Position(low, units(self.text[self.starts[low] : offset], self.encoding))


def units(text: str, encoding: str) -> int:
    """The length of `text` in the position encoding's units."""
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# -- where a finding is shown ---------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """A notebook cell as the editor holds it."""

    uri: str
    code: bool  # a code cell (markup cells take no part in the check)
    text: str


class Place:
    """Maps positions of a checked document (a Python file, or a notebook's joined code
    cells) to a document of the editor and a position in it. A notebook the editor has not
    opened (a "check all" result) has no cell documents: its findings are placed in the
    `.ipynb` file's own text, and their messages name the cell (`notebook_file`)."""

    def __init__(
        self,
        uri: str,
        text: str,
        encoding: str,
        cells: Sequence[Cell] | None = None,
        data: bytes = b"",
        *,
        notebook_file: bool = False,
    ) -> None:
        self.uri = uri
        self.encoding = encoding
        self.cells = cells
        self._texts: dict[str, Text] = {}
        self._notebook = NotebookSource.load(uri, data) if cells is not None or notebook_file else None
        self._file = notebook_file
        if notebook_file and self._notebook is not None:
            self._texts[uri] = Text(self._notebook.json_text, encoding)
        elif cells is None:
            self._texts[uri] = Text(text, encoding)
        # reglint's columns leave out a byte-order mark the editor's text may start with
        self._bom = cells is None and not notebook_file and text.startswith("\ufeff")

    def text_of(self, uri: str) -> Text | None:
        if uri not in self._texts and self.cells is not None:
            for cell in self.cells:
                if cell.uri == uri:
                    self._texts[uri] = Text(cell.text, self.encoding)
        return self._texts.get(uri)

    def label(self, position: Position) -> str:
        """What a message says of where it is, when the editor cannot show it in a cell."""
        if self._file and self._notebook is not None:
            return f"{self._notebook.display(position.line)}: "
        return ""

    def locate(self, position: Position) -> tuple[str, int]:
        """(document, 0-based line in it) of a 1-based line of the checked text."""
        if self._notebook is None or self.cells is None:
            return self.uri, position.line - 1
        number, inner = self._notebook.cell_of(position.line)
        cell = self.cells[min(number, len(self.cells)) - 1]
        return cell.uri, inner - 1

    def range(self, start: Position, end: Position) -> tuple[str, types.Range]:
        if self._file and self._notebook is not None:
            json_text = self._texts[self.uri]
            begin, stop = self._notebook.file_position(start), self._notebook.file_position(end)
            return self.uri, types.Range(
                json_text.client(begin.line - 1, begin.column), json_text.client(stop.line - 1, stop.column)
            )
        uri, first = self.locate(start)
        end_uri, last = self.locate(end)
        text = self.text_of(uri)
        assert text is not None
        shift = 1 if self._bom else 0
        begin = text.client(first, start.column + (shift if first == 0 else 0))
        if end_uri != uri:  # ends in a later cell (never for one statement): end of the first
            stop = text.client(len(text.starts) - 1, len(text.line(len(text.starts) - 1)))
        else:
            stop = text.client(last, end.column + (shift if last == 0 else 0))
        return uri, types.Range(begin, stop)


def diagnostic(
    finding: Finding,
    place: Place,
    shown: Callable[[str], str],
    other: Callable[[str], Text | None],
    uri_of: Callable[[str], str],
) -> tuple[str, types.Diagnostic]:
    """The document to show a finding in, and its diagnostic. `shown` turns the message's
    paths into the form the editor shows; `other` gives another file's text and `uri_of` its
    uri (for the related places of a cross-file finding)."""
    uri, where = place.range(finding.range.start, finding.range.end)
    rule = rules_by_code().get(finding.code)
    related = []
    for path, span, what in finding.related:
        related_uri, related_range = _related(path, span.start, span.end, place, other, uri_of)
        related.append(types.DiagnosticRelatedInformation(types.Location(related_uri, related_range), shown(what)))
    tags = [TAGS[tag] for tag in (rule.tags if rule is not None else ()) if tag in TAGS]
    fix = finding.fix
    return uri, types.Diagnostic(
        range=where,
        message=place.label(finding.range.start) + shown(finding.summary),
        severity=SEVERITY.get(rule.severity if rule is not None else "error", types.DiagnosticSeverity.Error),
        code=finding.code,
        code_description=types.CodeDescription(href=rule_url(finding.code)),
        source=SOURCE,
        related_information=related or None,
        tags=tags or None,
        data={"fix": None if fix is None else fix.safety.value},
    )


def _related(
    path: str,
    start: Position,
    end: Position,
    place: Place,
    other: Callable[[str], Text | None],
    uri_of: Callable[[str], str],
) -> tuple[str, types.Range]:
    uri = uri_of(path)
    if uri == place.uri:
        return place.range(start, end)
    text = other(path)
    if text is None:
        return uri, types.Range(types.Position(start.line - 1, start.column), types.Position(end.line - 1, end.column))
    return uri, types.Range(text.client(start.line - 1, start.column), text.client(end.line - 1, end.column))


def parse_diagnostic(error: ParseError, place: Place) -> tuple[str, types.Diagnostic]:
    position = Position(max(error.line, 1), max(error.column, 0))
    uri, where = place.range(position, position)
    return uri, types.Diagnostic(
        range=where,
        message=f"{place.label(position)}cannot parse: {error.message}",
        severity=types.DiagnosticSeverity.Error,
        source=SOURCE,
    )


def read_diagnostic(message: str) -> types.Diagnostic:
    """A file reglint cannot read (a "check all" result): one diagnostic at its start."""
    start = types.Position(0, 0)
    return types.Diagnostic(
        range=types.Range(start, start), message=message, severity=types.DiagnosticSeverity.Error, source=SOURCE
    )


# -- notebooks --------------------------------------------------------------------------------
def notebook_data(cells: Sequence[Cell]) -> bytes:
    """A notebook document as the `.ipynb` text reglint checks: every cell in its place (so
    cell numbers are the editor's), code cells with their text."""
    notebook = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": cell.text}
            if cell.code
            else {"cell_type": "markdown", "metadata": {}, "source": cell.text}
            for cell in cells
        ],
        "metadata": {"kernelspec": {"language": "python"}, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, ensure_ascii=False).encode("utf-8")


def cell_sources(path: str, data: bytes) -> dict[int, str]:
    """Each code cell's source (by 0-based position among all cells) of a notebook's text."""
    notebook = NotebookSource.load(path, data)
    return {cell.index: cell.source for cell in notebook.cells}
