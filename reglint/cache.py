"""The results cache (`.reglint_cache/`), Ruff-style.

One JSON file per analysed file, keyed by a hash of reglint's version, the effective
configuration, the file's path and its content: an unchanged file is not parsed again, and
its findings and project facts come back from here. JSON, not pickle: a cache directory can
come from anywhere (a committed folder, a shared CI cache) and loading it must never run
code. Writes go through a temporary file and an atomic rename, so concurrent runs never see
half an entry; an entry that does not load is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from reglint import __version__
from reglint.model import (
    Edit,
    Fact,
    FileResult,
    Finding,
    Fix,
    InternalError,
    ParseError,
    Position,
    Range,
    Safety,
)

_FORMAT = 1


def _pos(p: Position) -> list[int]:
    return [p.line, p.column]


def _range(r: Range) -> list[list[int]]:
    return [_pos(r.start), _pos(r.end)]


def _fix(fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    return {
        "edits": [[_range(e.range), e.content] for e in fix.edits],
        "safety": fix.safety.value,
        "imports": [list(i) for i in fix.imports],
    }


def result_to_json(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "findings": [[f.code, f.name, f.message, _range(f.range), _fix(f.fix)] for f in result.findings],
        "facts": [[f.rule, f.kind, _range(f.range), f.data, _fix(f.fix)] for f in result.facts],
        "parse_error": None
        if result.parse_error is None
        else [result.parse_error.line, result.parse_error.column, result.parse_error.message],
        "internal_errors": [[e.code, e.message] for e in result.internal_errors],
        "suppressions": {str(line): sorted(codes) for line, codes in result.suppressions.items()},
        "skipped": result.skipped,
    }


def _to_range(data: list[list[int]]) -> Range:
    return Range(Position(*data[0]), Position(*data[1]))


def _to_fix(data: dict[str, Any] | None) -> Fix | None:
    if data is None:
        return None
    return Fix(
        tuple(Edit(_to_range(r), content) for r, content in data["edits"]),
        Safety(data["safety"]),
        tuple((m, o, a) for m, o, a in data["imports"]),
    )


def result_from_json(data: dict[str, Any]) -> FileResult:
    path = data["path"]
    parse_error = data["parse_error"]
    return FileResult(
        path=path,
        findings=[
            Finding(code, name, message, path, _to_range(r), _to_fix(fix))
            for code, name, message, r, fix in data["findings"]
        ],
        facts=[Fact(rule, kind, path, _to_range(r), dict(d), _to_fix(fix)) for rule, kind, r, d, fix in data["facts"]],
        parse_error=None if parse_error is None else ParseError(path, *parse_error),
        internal_errors=[InternalError(path, code, message) for code, message in data["internal_errors"]],
        suppressions={int(line): frozenset(codes) for line, codes in data["suppressions"].items()},
        skipped=bool(data["skipped"]),
    )


class Cache:
    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory / f"v{_FORMAT}-{__version__}"
        self.salt = f"{__version__}\0{_FORMAT}\0{fingerprint}\0".encode()

    def key(self, path: str, raw: bytes) -> str:
        digest = hashlib.blake2b(self.salt, digest_size=20)
        digest.update(path.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(raw)
        return digest.hexdigest()

    def _file(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> FileResult | None:
        try:
            with open(self._file(key), encoding="utf-8") as handle:
                return result_from_json(json.load(handle))
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None  # missing or corrupt: analysed again and rewritten

    def put(self, key: str, result: FileResult) -> None:
        target = self._file(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not (self.directory.parent / ".gitignore").exists():
                (self.directory.parent / ".gitignore").write_text("*\n", encoding="utf-8")
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(result_to_json(result), handle, separators=(",", ":"))
                os.replace(temp, target)
            except BaseException:
                os.unlink(temp)
                raise
        except OSError:
            pass  # a cache that cannot be written only costs speed
