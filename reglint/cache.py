"""The results cache (`.reglint_cache/`), Ruff-style.

One JSON file per analysed file, keyed by a hash of reglint's version (and its own source
files), the effective configuration, the file's path and its content: an unchanged file is
not parsed again, and its findings and project facts come back from here.

And one entry per project (the paths checked and the configuration) holding the finished
run: when not one file changed, a run answers from it without loading the rules or libcst,
whose import alone costs longer than a whole cached run should take. JSON, not pickle: a cache directory can
come from anywhere (a committed folder, a shared CI cache) and loading it must never run
code. Writes go through a temporary file and an atomic rename, so concurrent runs never see
half an entry; an entry that does not load is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

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
    RunResult,
    Safety,
)

_FORMAT = 4  # 4: a file-level suppression is kept under minus its line


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


def _findings(findings: Sequence[Finding]) -> list[list[Any]]:
    return [[f.code, f.name, f.message, f.path, _range(f.range), _fix(f.fix)] for f in findings]


def _to_findings(data: Any) -> list[Finding]:
    found = []
    for entry in _list(data):
        code, name, message, path, r, fix = _list(entry, 6)
        found.append(Finding(_str(code), _str(name), _str(message), _str(path), _to_range(r), _to_fix(fix)))
    return found


# -- reading entries back: a cache is data from elsewhere -----------------------------------
# Every value is checked for the type the result needs before use; anything else raises
# ValueError, and the entry is a miss (analysed again and rewritten).


def _list(value: Any, length: int | None = None) -> list[Any]:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise ValueError("cache entry: not a list of the expected length")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("cache entry: not a string")
    return value


def _int(value: Any, least: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValueError("cache entry: not a count")
    return value


def _optional_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def result_to_json(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "findings": _findings(result.findings),
        "facts": [[f.rule, f.kind, _range(f.range), f.data, _fix(f.fix)] for f in result.facts],
        "parse_error": None
        if result.parse_error is None
        else [result.parse_error.line, result.parse_error.column, result.parse_error.message],
        "internal_errors": [[e.code, e.message] for e in result.internal_errors],
        "suppressions": {str(line): sorted(codes) for line, codes in result.suppressions.items()},
        "skipped": result.skipped,
        "rules": list(result.rules),
    }


def _to_range(data: Any) -> Range:
    start, end = _list(data, 2)
    line, column = _list(start, 2)
    end_line, end_column = _list(end, 2)
    return Range(Position(_int(line, 1), _int(column)), Position(_int(end_line, 1), _int(end_column)))


def _to_fix(data: Any) -> Fix | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("cache entry: a fix is not an object")
    edits = []
    for edit in _list(data["edits"]):
        where, content = _list(edit, 2)
        edits.append(Edit(_to_range(where), _str(content)))
    imports = []
    for entry in _list(data["imports"]):
        module, obj, alias = _list(entry, 3)
        imports.append((_str(module), _optional_str(obj), _optional_str(alias)))
    return Fix(tuple(edits), Safety(_str(data["safety"])), tuple(imports))


def result_from_json(data: Any) -> FileResult:
    if not isinstance(data, dict):
        raise ValueError("cache entry: not an object")
    path = _str(data["path"])
    facts = []
    for entry in _list(data["facts"]):
        rule, kind, where, facts_data, fix = _list(entry, 5)
        if not isinstance(facts_data, dict):
            raise ValueError("cache entry: a fact's data is not an object")
        facts.append(Fact(_str(rule), _str(kind), path, _to_range(where), dict(facts_data), _to_fix(fix)))
    parse_error = data["parse_error"]
    if parse_error is not None:
        line, column, message = _list(parse_error, 3)
        parse_error = ParseError(path, _int(line), _int(column), _str(message))
    errors = []
    for entry in _list(data["internal_errors"]):
        code, message = _list(entry, 2)
        errors.append(InternalError(path, _optional_str(code), _str(message)))
    suppressions = data["suppressions"]
    if not isinstance(suppressions, dict):
        raise ValueError("cache entry: suppressions are not an object")
    return FileResult(
        path=path,
        findings=_to_findings(data["findings"]),
        facts=facts,
        parse_error=parse_error,
        internal_errors=errors,
        suppressions={
            int(_str(line)): frozenset(_str(c) for c in _list(codes)) for line, codes in suppressions.items()
        },
        skipped=_bool(data["skipped"]),
        rules=tuple(_str(code) for code in _list(data["rules"])),
    )


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("cache entry: not an object")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("cache entry: not a boolean")
    return value


def run_to_json(result: RunResult) -> dict[str, Any]:
    return {
        "findings": _findings(result.findings),
        "parse_errors": [[e.path, e.line, e.column, e.message] for e in result.parse_errors],
        "files_checked": result.files_checked,
    }


def run_from_json(data: Any) -> RunResult:
    if not isinstance(data, dict):
        raise ValueError("cache entry: not an object")
    errors = []
    for entry in _list(data["parse_errors"]):
        path, line, column, message = _list(entry, 4)
        errors.append(ParseError(_str(path), _int(line), _int(column), _str(message)))
    return RunResult(
        findings=_to_findings(data["findings"]),
        parse_errors=errors,
        files_checked=_int(data["files_checked"]),
    )


@cache
def code_fingerprint() -> str:
    """reglint's own source files (names, sizes, modification times): a rule edited in a
    development checkout must not be answered by results of the rule before the edit."""
    root = Path(__file__).parent
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(root.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


# The Cache Directory Tagging Specification (https://bford.info/cachedir/): backup tools skip a
# folder holding this file.
CACHEDIR_TAG = "CACHEDIR.TAG"
CACHEDIR_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"
TAG_TEXT = "\n# This file is a cache directory tag created by reglint.\n"


class Cache:
    def __init__(self, directory: Path, fingerprint: str | Callable[[], str]) -> None:
        self.directory = directory / f"v{_FORMAT}-{__version__}"
        self._fingerprint = fingerprint
        self._salt: bytes | None = None
        self._screened: Screened | None = None
        self.digests = Digests()

    @property
    def salt(self) -> bytes:
        # computed when first needed: the configuration's fingerprint names the enabled rules,
        # which imports them, and a run answered from its project entry never needs it
        if self._salt is None:
            fingerprint = self._fingerprint if isinstance(self._fingerprint, str) else self._fingerprint()
            self._salt = f"{__version__}\0{_FORMAT}\0{code_fingerprint()}\0{fingerprint}\0".encode()
        return self._salt

    def key(self, path: str, raw: bytes, rules: str = "") -> str:
        """Where a file's result is stored; `rules` says which rules analysed it when the
        prefilter did not choose them (a project rule asked for the file)."""
        digest = hashlib.blake2b(self.salt, digest_size=20)
        digest.update(path.encode("utf-8", "surrogateescape") + b"\0" + rules.encode() + b"\0")
        digest.update(self.digests.of(path, raw))
        return digest.hexdigest()

    def _file(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> FileResult | None:
        try:
            with open(self._file(key), encoding="utf-8") as handle:
                return result_from_json(json.load(handle))
        except (OSError, ValueError, KeyError, TypeError, IndexError, RecursionError):
            return None  # missing, corrupt or of the wrong shape: analysed again and rewritten

    def put(self, key: str, result: FileResult) -> None:
        self._write(self._file(key), result_to_json(result))

    @property
    def screened(self) -> Screened:
        """What the prefilter found in the project's files in earlier runs (one entry,
        `screens.json`, holding the files of the last run; written by `keep_screens`)."""
        if self._screened is None:
            self._screened = Screened(self._load_screens(), self.digests)
        return self._screened

    def _load_screens(self) -> dict[bytes, dict[bytes, bool]]:
        """`screens.json`: the tokens screened for, and per file (the digest of its bytes) a
        string saying for each token whether it was found (1), not (0), or not looked for (-)."""
        try:
            with open(self.directory / "screens.json", encoding="utf-8") as handle:
                data = json.load(handle)
            if not isinstance(data, dict) or data.get("fingerprint") != code_fingerprint():
                return {}
            tokens = [_token_of(_str(key)) for key in _list(data["tokens"])]
            known: dict[bytes, dict[bytes, bool]] = {}
            for digest, marks in _dict(data["files"]).items():
                if len(_str(marks)) != len(tokens):
                    raise ValueError("screens: a file's marks do not match the tokens")
                known[bytes.fromhex(digest)] = {t: m == "1" for t, m in zip(tokens, marks, strict=True) if m != "-"}
            return known
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return {}  # missing or corrupt: the files are screened again

    def keep_screens(self) -> None:
        """Keep what this run's prefilter found, for the files it screened (when it found
        anything new: a run that changed nothing writes nothing)."""
        screened = self._screened
        if screened is None:
            return
        verdicts = screened.verdicts()
        known = screened.known or {}
        if all(known.get(digest) == seen for digest, seen in verdicts.items()):
            return
        tokens = sorted({t for seen in verdicts.values() for t in seen}, key=_token_key)
        files = {
            digest.hex(): "".join("-" if t not in seen else "1" if seen[t] else "0" for t in tokens)
            for digest, seen in verdicts.items()
        }
        data = {"fingerprint": code_fingerprint(), "tokens": [_token_key(t) for t in tokens], "files": files}
        self._write(self.directory / "screens.json", data)

    # -- the finished run of a project -----------------------------------------------------
    def run_keys(self, items: Sequence[tuple[str, bytes]], settings: str) -> tuple[str, str]:
        """Where a project's finished run is stored (by the paths checked and the settings,
        so a project keeps one entry), and the key it must match (every file's content)."""
        head = f"{__version__}\0{_FORMAT}\0{code_fingerprint()}\0{settings}\0".encode()
        where = hashlib.blake2b(head, digest_size=20)
        for path, _ in items:
            where.update(path.encode("utf-8", "surrogateescape") + b"\0")
        what = where.copy()
        for path, raw in items:
            what.update(self.digests.of(path, raw))
        return where.hexdigest(), what.hexdigest()

    def get_run(self, keys: tuple[str, str]) -> RunResult | None:
        where, what = keys
        try:
            with open(self.directory / "runs" / f"{where}.json", encoding="utf-8") as handle:
                data = json.load(handle)
            if not isinstance(data, dict) or data.get("key") != what:
                return None
            return run_from_json(data["result"])
        except (OSError, ValueError, KeyError, TypeError, IndexError, RecursionError):
            return None

    def put_run(self, keys: tuple[str, str], result: RunResult) -> None:
        where, what = keys
        self._write(self.directory / "runs" / f"{where}.json", {"key": what, "result": run_to_json(result)})

    def _write(self, target: Path, data: dict[str, Any]) -> None:
        try:
            top = self.directory.parent
            if not top.exists():
                # a folder reglint makes is its own: ignored by git, tagged as a cache. One that
                # exists is the user's (`--cache-dir .`): nothing is written beside the entries
                top.mkdir(parents=True)
                (top / ".gitignore").write_text("*\n", encoding="utf-8")
                (top / CACHEDIR_TAG).write_text(CACHEDIR_SIGNATURE + TAG_TEXT, encoding="utf-8")
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle, separators=(",", ":"))
                os.replace(temp, target)
            except BaseException:
                os.unlink(temp)
                raise
        except OSError:
            pass  # a cache that cannot be written only costs speed


def cache_directory(settings: Any, given: Path | None = None) -> tuple[Path, bool]:
    """Where the results cache is: `--cache-dir`, else REGLINT_CACHE_DIR, else the
    configuration's `cache-dir` under the project's root; and whether it came from the
    configuration (whose folder must stay inside the project: see `outside_project`)."""
    env = os.environ.get("REGLINT_CACHE_DIR")
    if given is not None:
        return given, False
    if env:
        return Path(env), False
    return settings.root / settings.cache_dir, True


def outside_project(directory: Path, settings: Any) -> str | None:
    """Why a configured cache folder may not be used: outside the project (a `pyproject.toml`
    could otherwise make every run write anywhere; the command line and REGLINT_CACHE_DIR may)."""
    where, root = directory.resolve(), settings.root.resolve()
    if where != root and root not in where.parents:
        return (
            f"cache-dir {str(settings.cache_dir)!r} is outside the project ({root}); "
            "use --cache-dir or REGLINT_CACHE_DIR"
        )
    return None


class Screened:
    """What the prefilter found in each file's bytes so far (`prefilter.contains_token`'s
    `seen`): the rounds of a run (reglint/runner.py `_analyse_wanted`) screen every file again
    for the tokens the project asks for, a language server screens the same files at every
    edit, and a run after an edit screens the unchanged files again (the results cache keeps
    what the prefilter let in, not what it screened). An entry holds the bytes it was found in;
    `known` is what earlier runs found, by the digest of a file's bytes (see `Cache`)."""

    def __init__(self, known: dict[bytes, dict[bytes, bool]] | None = None, digests: Digests | None = None) -> None:
        # path -> (its bytes, their digest when `known` is used, what was found in them)
        self._seen: dict[str, tuple[bytes, bytes | None, dict[bytes, bool]]] = {}
        self.known = known
        self._digests = digests if digests is not None else Digests()

    def seen(self, path: str, raw: bytes) -> dict[bytes, bool]:
        entry = self._seen.get(path)
        if entry is None or entry[0] != raw:
            digest = self._content_digest(path, raw) if self.known is not None else None
            before = self.known.get(digest) if self.known is not None and digest is not None else None
            entry = self._seen[path] = (raw, digest, dict(before) if before else {})
        return entry[2]

    def forget(self, path: str) -> None:
        self._seen.pop(path, None)

    def verdicts(self) -> dict[bytes, dict[bytes, bool]]:
        """What was found in the files of this run, by digest (for the next run)."""
        return {digest: seen for _, digest, seen in self._seen.values() if digest is not None and seen}

    def _content_digest(self, path: str, raw: bytes) -> bytes:
        # a notebook's Words are matched as plain bytes (see prefilter.contains_token)
        kind = b"notebook\0" if path.endswith(".ipynb") else b"python\0"
        return hashlib.blake2b(kind + self._digests.of(path, raw), digest_size=16).digest()


class Digests:
    """The digest of each file's bytes, taken once per run: the file's cache key, the
    project's run key and the prefilter's screens all need it, and hashing every byte of a
    project three times was a sixth of a run after a one-file edit (notebooks weigh tens of
    megabytes). Kept per path with the bytes hashed: bytes that are not the same object are
    compared (a fraction of the cost of hashing them)."""

    def __init__(self) -> None:
        self._by_path: dict[str, tuple[bytes, bytes]] = {}

    def of(self, path: str, raw: bytes) -> bytes:
        entry = self._by_path.get(path)
        if entry is not None and (entry[0] is raw or entry[0] == raw):
            return entry[1]
        digest = hashlib.blake2b(raw, digest_size=20).digest()
        self._by_path[path] = (raw, digest)
        return digest


def _token_key(token: bytes) -> str:
    return ("w:" if type(token).__name__ == "Word" else "b:") + token.hex()


def _token_of(key: str) -> bytes:
    from reglint.rule import Word  # the rules are loaded: the run is analysing files

    kind, _, hexed = key.partition(":")
    data = bytes.fromhex(hexed)
    if kind == "w":
        return Word(data)
    if kind == "b":
        return data
    raise ValueError("screens: a token of no known kind")


class ResultStore(Protocol):
    """Where `runner.analyse_many` keeps files' results: `Cache` (on disk) or `MemoryCache`."""

    def key(self, path: str, raw: bytes, rules: str = "") -> Any: ...

    def get(self, key: Any) -> FileResult | None: ...

    def put(self, key: Any, result: FileResult) -> None: ...

    # what the prefilter found before (see Screened)
    @property
    def screened(self) -> Screened: ...

    def keep_screens(self) -> None: ...


class MemoryCache:
    """Results kept in memory by a process that checks the same project again and again (the
    language server), over an optional disk cache: a file whose bytes have not changed is
    answered without hashing it (the key holds the bytes; the same object compares by
    identity), and a change of a file replaces its entries instead of adding to them."""

    def __init__(self, disk: Cache | None = None) -> None:
        self.disk = disk
        # path -> (the rules tag of Cache.key -> (the bytes analysed, their result))
        self._entries: dict[str, dict[str, tuple[bytes, FileResult]]] = {}
        # the disk cache's screens when there is one: what the command line screened is known,
        # and what the server screens is kept for the command line
        self._screened = disk.screened if disk is not None else Screened()

    def key(self, path: str, raw: bytes, rules: str = "") -> tuple[str, str, bytes]:
        return (path, rules, raw)

    def get(self, key: tuple[str, str, bytes]) -> FileResult | None:
        path, rules, raw = key
        entry = self._entries.get(path, {}).get(rules)
        if entry is not None and entry[0] == raw:
            return entry[1]
        if self.disk is None:
            return None
        found = self.disk.get(self.disk.key(path, raw, rules))
        if found is not None:
            self._entries.setdefault(path, {})[rules] = (raw, found)
        return found

    def put(self, key: tuple[str, str, bytes], result: FileResult) -> None:
        path, rules, raw = key
        self._entries.setdefault(path, {})[rules] = (raw, result)
        if self.disk is not None:
            self.disk.put(self.disk.key(path, raw, rules), result)

    def forget(self, path: str) -> None:
        """Drop a file's entries (it was deleted)."""
        self._entries.pop(path, None)
        self._screened.forget(path)

    @property
    def screened(self) -> Screened:
        return self._screened

    def keep_screens(self) -> None:
        if self.disk is not None:
            self.disk.keep_screens()
