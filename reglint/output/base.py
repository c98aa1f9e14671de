"""What every output format shares: how the CLI wants the run shown (View), and the files'
contents, to show source lines and to place notebook findings in their cells (Files)."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reglint.model import Finding, Position
from reglint.sources import line_starts, source_for


@dataclass(frozen=True)
class View:
    """How the CLI wants the run shown."""

    unsafe_fixes: bool = False
    fixing: bool = False
    quiet: bool = False
    statistics: bool = False
    color: bool = False
    # path -> the file's bytes as the findings see them (the fixed bytes after --fix); a
    # path missing here is read from disk when a format needs its text
    sources: Mapping[str, bytes] = field(default_factory=dict)
    # the enabled rules (SARIF describes each), or what returns them (the rule modules are
    # imported only by a format that needs them); empty: every rule
    rules: Sequence[Any] | Callable[[], Sequence[Any]] = ()
    # the folder SARIF's URIs are relative to (`%SRCROOT%`): the repository's root; None: the
    # current folder, as reglint names the files
    root: Path | None = None


def valid_text(text: str) -> str:
    """Text every reader accepts as UTF-8: a file name that is not UTF-8 reaches reglint with
    its bytes as lone surrogates (Python's surrogateescape); they are shown as `\\xff`."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def valid_data(data: Any) -> Any:
    """`valid_text` on every string of a JSON document, before it is written."""
    if isinstance(data, str):
        return valid_text(data)
    if isinstance(data, dict):
        return {valid_data(k): valid_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [valid_data(v) for v in data]
    return data


def fixable_now(finding: Finding, view: View) -> bool:
    return finding.fix is not None and finding.fix.applicable(view.unsafe_fixes)


def paint(text: str, code: str, view: View) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if view.color else text


def decode_python(raw: bytes) -> str:
    """A Python file's text as libcst decodes it (PEP 263 cookie, BOM), without parsing."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        return raw.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


class Files:
    """The checked files' contents, loaded lazily and once, for the formats that show source
    or that place a finding of a notebook (whose positions are in its joined code cells)."""

    def __init__(self, sources: Mapping[str, bytes]) -> None:
        self.sources = sources
        self._loaded: dict[str, Any] = {}
        self._texts: dict[str, str | None] = {}

    def raw(self, path: str) -> bytes | None:
        data = self.sources.get(path)
        if data is not None:
            return data
        try:
            return Path(path).read_bytes()
        except OSError:
            return None

    def source(self, path: str) -> Any:
        """The source object of a file (reglint.sources), or None if it cannot be loaded."""
        if path not in self._loaded:
            raw = self.raw(path)
            try:
                self._loaded[path] = None if raw is None else source_for(path, raw)
            except Exception:
                self._loaded[path] = None
        return self._loaded[path]

    def notebook(self, path: str) -> Any:
        if not path.endswith(".ipynb"):
            return None
        source = self.source(path)
        return source if getattr(source, "kind", None) == "notebook" else None

    def cell(self, path: str, line: int) -> tuple[int, int] | None:
        """(cell number, line in the cell) for a notebook's finding, else None."""
        notebook = self.notebook(path)
        return None if notebook is None else notebook.cell_of(line)

    def label(self, path: str, line: int) -> str:
        """The line as users read it: `12`, or `cell 3:2` in a notebook."""
        notebook = self.notebook(path)
        return str(line) if notebook is None else notebook.display(line)

    def cited(self, path: str, text: str) -> str:
        """A message as users read it: in a notebook, the lines it cites (`line 7`,
        `train.ipynb:7`) are the joined cells'; they become `cell 3:2`."""
        notebook = self.notebook(path)
        if notebook is None:
            return text

        def cell(match: re.Match[str]) -> str:
            line = int(match.group(2))
            return f"{match.group(1)}{notebook.display(line)}" if notebook.cell_of(line) else match.group(0)

        text = re.sub(rf"({re.escape(path)}:)(\d+)\b", cell, text)
        return re.sub(r"()\bline (\d+)\b", cell, text)

    def location(self, path: str, position: Position) -> str:
        """`path:line:col` (1-based column), `path:cell 3:line:col` in a notebook."""
        return f"{path}:{self.label(path, position.line)}:{position.column + 1}"

    def text(self, path: str) -> str | None:
        """The text the findings' positions refer to (a notebook's joined code cells)."""
        if path not in self._texts:
            notebook = self.notebook(path)
            if notebook is not None:
                self._texts[path] = notebook.text()
            else:
                raw = self.raw(path)
                self._texts[path] = None if raw is None else decode_python(raw)
        return self._texts[path]

    def line(self, path: str, line: int) -> str | None:
        """One line of the file as written (a notebook's masked magic shown as it is)."""
        notebook = self.notebook(path)
        if notebook is not None:
            return notebook.original_line(line)
        text = self.text(path)
        if text is None:
            return None
        starts = line_starts(text)
        if not 0 < line <= len(starts):
            return None
        end = starts[line] if line < len(starts) else len(text)
        return text[starts[line - 1] : end].rstrip("\r\n")

    def file_position(self, path: str, position: Position) -> Position:
        """Where a position is in the file itself: the same for Python files; for a notebook,
        the place in its JSON text (for tools that show the raw file, like code scanning)."""
        notebook = self.notebook(path)
        if notebook is None:
            return position
        try:
            return notebook.file_position(position)
        except (ValueError, IndexError, KeyError, RecursionError):
            return Position(1, 0)  # JSON too odd to place the finding in: its first line
