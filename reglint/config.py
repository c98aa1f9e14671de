"""Configuration: the nearest `.reglint.toml` / `reglint.toml` (top-level keys) or
pyproject.toml with a `[tool.reglint]` table, from the checked paths upward; overridden by the
command line.

Config is data only: it is read with tomllib and validated; nothing in it is evaluated.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from reglint.rules import rule_codes
from reglint.target import UNKNOWN, Target, TargetError, parse_spec

if TYPE_CHECKING:
    from reglint.rule import Rule


class ConfigError(Exception):
    """Bad configuration or usage: reported in one line, exit code 2."""


# key -> (kind, description); kinds: "codes", "globs", "mapping"
KEYS: dict[str, str] = {
    "select": "codes",
    "extend-select": "codes",
    "ignore": "codes",
    "exclude": "globs",
    "extend-exclude": "globs",
    "per-file-ignores": "mapping",
    "respect-gitignore": "bool",
    "force-exclude": "bool",
    "cache-dir": "str",
    "tensorflow-version": "str",
    "keras-version": "str",
}

DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "__pypackages__",
    "node_modules",
    "build",
    "dist",
    "site-packages",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".reglint_cache",
    ".ipynb_checkpoints",
)


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] | None = None  # None: the default-enabled rules
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False  # excludes apply to paths named on the command line too
    ignore_noqa: bool = False  # report what noqa comments suppress (--ignore-noqa)
    cache_dir: str = ".reglint_cache"
    root: Path = field(default_factory=Path.cwd)  # where relative globs are anchored
    config_file: Path | None = None
    tensorflow_version: str | None = None  # as configured (`tensorflow-version`), validated
    keras_version: str | None = None
    # the releases the project runs on: configured, given on the command line, or inferred
    # from its dependency declarations (see reglint/target.py)
    target: Target = UNKNOWN
    # where each setting given explicitly came from (key -> the file or the flag), for
    # --show-settings; the others are defaults
    origins: tuple[tuple[str, str], ...] = ()

    def enabled_rules(self) -> tuple[type[Rule], ...]:
        """The selected rules that concern the target (REG005 is not a TF 1 project's)."""
        from reglint.rule import all_rules  # the rule modules, and libcst with them

        chosen = select_rules(all_rules(), self.select, self.extend_select, self.ignore)
        return tuple(rule for rule in chosen if rule.reported_on(self.target))

    def fingerprint(self) -> str:
        """What changes a file's analysis (for the cache key): the rules that run. The target
        chooses them (`Rule.reported_on`); what else it decides (the fixes that run on it) is
        applied to the results after the cache, so editing a requirements file does not throw
        away every file's results."""
        return ",".join(rule.code for rule in self.enabled_rules())


def _matches(selector: str, code: str) -> bool:
    return selector == "ALL" or code.startswith(selector)


def validate_codes(selectors: Iterable[str], where: str) -> tuple[str, ...]:
    codes = rule_codes()
    out = []
    for selector in selectors:
        selector = selector.strip().upper()
        if not selector:
            continue
        if not any(_matches(selector, code) for code in codes):
            shown = selector if len(selector) <= 40 else selector[:37] + "..."
            raise ConfigError(f"unknown rule code or prefix {shown!r} in {where}")
        out.append(selector)
    return tuple(out)


def select_rules(
    rules: Sequence[type[Rule]],
    select: Sequence[str] | None,
    extend_select: Sequence[str],
    ignore: Sequence[str],
) -> tuple[type[Rule], ...]:
    """Ruff's semantics: select replaces the default set, extend-select adds, ignore removes;
    the most specific selector wins. Opt-in rules (off by default) are enabled only by
    their exact code or ALL, never by a prefix."""
    chosen = []
    for rule in rules:
        selectors = list(extend_select) + list(select if select is not None else [])
        if select is None and rule.default_enabled:
            selectors.append("")  # the default set, least specific
        best_on = max(
            (
                len(s)
                for s in selectors
                if (s == "" or _matches(s, rule.code)) and (rule.default_enabled or s in (rule.code, "ALL"))
            ),
            default=-1,
        )
        best_off = max((len(s) for s in ignore if _matches(s, rule.code)), default=-1)
        if best_on >= 0 and best_on > best_off:
            chosen.append(rule)
    return tuple(chosen)


# the files a folder may configure reglint in, by precedence (as Ruff's `.ruff.toml`,
# `ruff.toml`, `pyproject.toml`): the first two hold the settings at top level
OWN_CONFIG_FILES = (".reglint.toml", "reglint.toml")


def find_config(start: Path) -> Path | None:
    """The nearest configuration from `start` (a checked path) upward: a `.reglint.toml` or
    `reglint.toml`, or a pyproject.toml that has a [tool.reglint] table."""
    try:
        start = start.resolve()
    except (OSError, RuntimeError):  # a symlink loop: reported when the path is checked
        start = start.absolute()
    for directory in (start, *start.parents) if start.is_dir() else start.parents:
        for name in OWN_CONFIG_FILES:
            if (directory / name).is_file():
                return directory / name
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            data = _read_toml(candidate)
            tool = data.get("tool")
            if isinstance(tool, dict) and "reglint" in tool:
                return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as data (a UTF-8 BOM allowed, as editors on Windows write it)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply to read") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None


def check_globs(settings: Settings) -> None:
    """Every exclude and per-file-ignores pattern compiles (git's syntax): a clear error, not
    a traceback in the middle of the walk."""
    import re

    import pathspec

    globs = [*settings.exclude, *settings.extend_exclude, *(glob for glob, _ in settings.per_file_ignores)]
    for glob in globs:
        try:
            pathspec.GitIgnoreSpec.from_lines([glob])
        except (ValueError, re.error) as error:
            shown = glob if len(glob) <= 80 else glob[:77] + "..."
            raise ConfigError(f"invalid pattern {shown!r} in exclude / per-file-ignores: {error}") from None


def _strings(value: Any, key: str, path: Path, section: str = "[tool.reglint] ") -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {section}{key} must be a list of strings")
    return tuple(value)


def load_settings(config_file: Path | None) -> Settings:
    """The settings of a configuration file: top-level keys in a `reglint.toml`, the
    [tool.reglint] table of a pyproject.toml (a file with neither is an error: given with
    `--config`, it was meant to configure reglint)."""
    if config_file is None:
        return Settings()
    data = _read_toml(config_file)
    if config_file.name in OWN_CONFIG_FILES:
        return settings_from_table(data, config_file, section="")
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{config_file}: `tool` must be a table")
    if "reglint" not in tool:
        raise ConfigError(f"{config_file} has no [tool.reglint] table (a reglint.toml holds the settings at top level)")
    table = tool["reglint"]
    if not isinstance(table, dict):
        raise ConfigError(f"{config_file}: [tool.reglint] must be a table")
    return settings_from_table(table, config_file)


def settings_from_table(table: Mapping[str, Any], path: Path, section: str = "[tool.reglint] ") -> Settings:
    """Settings from a configuration table; `section` names it in messages ("" for the top
    level of a reglint.toml)."""
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        within = f" in {section.strip()}" if section else ""
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}{within} (known: {', '.join(KEYS)})")
    where = f"{path} {section.strip()}".rstrip()
    settings = Settings(root=path.parent, config_file=path)
    changes: dict[str, Any] = {}
    if "select" in table:
        changes["select"] = validate_codes(_strings(table["select"], "select", path, section), f"{where} select")
    if "extend-select" in table:
        changes["extend_select"] = validate_codes(
            _strings(table["extend-select"], "extend-select", path, section), f"{where} extend-select"
        )
    if "ignore" in table:
        changes["ignore"] = validate_codes(_strings(table["ignore"], "ignore", path, section), f"{where} ignore")
    if "exclude" in table:
        changes["exclude"] = _strings(table["exclude"], "exclude", path, section)
    if "extend-exclude" in table:
        changes["extend_exclude"] = _strings(table["extend-exclude"], "extend-exclude", path, section)
    if "per-file-ignores" in table:
        mapping = table["per-file-ignores"]
        if not isinstance(mapping, dict):
            raise ConfigError(f"{path}: {section}per-file-ignores must be a table")
        changes["per_file_ignores"] = tuple(
            (glob, validate_codes(_strings(codes, f"per-file-ignores.{glob}", path, section), where))
            for glob, codes in mapping.items()
        )
    if "respect-gitignore" in table:
        if not isinstance(table["respect-gitignore"], bool):
            raise ConfigError(f"{path}: {section}respect-gitignore must be true or false")
        changes["respect_gitignore"] = table["respect-gitignore"]
    if "force-exclude" in table:
        if not isinstance(table["force-exclude"], bool):
            raise ConfigError(f"{path}: {section}force-exclude must be true or false")
        changes["force_exclude"] = table["force-exclude"]
    if "cache-dir" in table:
        if not isinstance(table["cache-dir"], str):
            raise ConfigError(f"{path}: {section}cache-dir must be a string")
        changes["cache_dir"] = table["cache-dir"]
    for key in ("tensorflow-version", "keras-version"):
        if key in table:
            changes[key.replace("-", "_")] = version_setting(table[key], f"{path}: {section}{key}")
    origins = tuple((key, str(path)) for key in table)
    return replace(settings, origins=origins, **changes)


def version_setting(value: object, where: str) -> str:
    """A `tensorflow-version` / `keras-version` value: a version (`"1.15"`) or a specifier
    (`">=2.4,<2.16"`), checked here so that a typo is an error, not an unknown target."""
    if not isinstance(value, str):
        raise ConfigError(f'{where} must be a string such as "1.15" or ">=2.4,<2.16"')
    try:
        parse_spec(value)
    except TargetError as error:
        raise ConfigError(f"{where}: {error}") from None
    return value.strip()


def parse_per_file_ignores(items: Iterable[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`glob:CODE,CODE` pairs from the command line."""
    out = []
    for item in items:
        glob, sep, codes = item.rpartition(":")
        if not sep or not glob:
            raise ConfigError(f"--per-file-ignores expects GLOB:CODES, got {item!r}")
        out.append((glob, validate_codes(codes.split(","), "--per-file-ignores")))
    return tuple(out)
