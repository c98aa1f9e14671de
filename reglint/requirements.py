"""The TensorFlow and Keras a project declares it depends on, read as data.

Sources, in the project's root folder: `pyproject.toml` (`[project]` dependencies and optional
dependencies, Poetry's tables), `setup.cfg` (`install_requires`, `extras_require`), `setup.py`
(`install_requires=[...]` / `extras_require={...}` literals, read from its syntax tree, never
run), `Pipfile`, `environment.yml` (conda specs and its `pip:` list), `requirements*.txt` and
`requirements/*.txt` (with `-r` / `-c` includes, each file read once), and notebooks'
`!pip install` / `%pip install` lines. A file that cannot be read or parsed gives a one-line
warning and is skipped; nothing declared leaves the target unknown.

A declaration without a version (`tensorflow`) stands for what an install gets today, the
newest release. When declarations disagree, the most specific wins (the one admitting the fewest release
lines: `==1.15` over `>=1.12`), then the first in the order above; `--show-settings` says
which.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from reglint.config import ConfigError, _read_toml
from reglint.target import KERAS_LINES, TENSORFLOW_LINES, Target, _lines

TENSORFLOW_PACKAGES = frozenset(
    {
        "tensorflow",
        "tensorflow-gpu",
        "tensorflow-cpu",
        "tensorflow-macos",
        "tensorflow-intel",
        "tensorflow-aarch64",
        "tf-nightly",
        "tf-nightly-cpu",
        "tf-nightly-gpu",
    }
)
NIGHTLY = frozenset({"tf-nightly", "tf-nightly-cpu", "tf-nightly-gpu"})
KERAS_PACKAGES = frozenset({"keras"})
TF_KERAS_PACKAGES = frozenset({"tf-keras", "tf-keras-nightly"})
# files read per project: a requirements file including itself, or a tree of thousands of
# notebooks, must not make the inference slow
MAX_NOTEBOOKS = 200
MAX_FILE_BYTES = 4 * 1024 * 1024

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Declaration:
    library: str  # "tensorflow", "keras" or "tf-keras"
    spec: str  # a specifier ("" for any release)
    where: str  # "requirements.txt:3"
    order: int = 0  # the source's rank (see the module's docstring)


def infer_target(
    root: Path, warn: Warn, notebooks: Mapping[Path, bytes | None] | None = None
) -> tuple[Target, list[Declaration]]:
    """The project's target from its declarations (and every declaration found); the
    notebooks given (those being checked, with their bytes when they are read already)
    count with their `!pip install` lines."""
    found = list(declarations(root, warn, notebooks))
    target = Target(tf_keras=any(d.library == "tf-keras" for d in found))
    tensorflow = _most_specific([d for d in found if d.library == "tensorflow"], TENSORFLOW_LINES)
    keras = _most_specific([d for d in found if d.library == "keras"], KERAS_LINES)
    return (
        Target(
            tensorflow=tensorflow.spec if tensorflow else None,
            keras=keras.spec if keras else None,
            tensorflow_origin=tensorflow.where if tensorflow else "",
            keras_origin=keras.where if keras else "",
            tf_keras=target.tf_keras,
        ),
        found,
    )


def _most_specific(found: list[Declaration], lines: tuple[Any, ...]) -> Declaration | None:
    def width(declaration: Declaration) -> int:
        admitted = len(_lines(SpecifierSet(declaration.spec), lines))
        return admitted if admitted else len(lines) + 1  # admits no release reglint knows: last

    return min(found, key=lambda d: (width(d), d.order), default=None)


def declarations(root: Path, warn: Warn, notebooks: Mapping[Path, bytes | None] | None = None) -> Iterator[Declaration]:
    order = 0
    for name, read in _SOURCES:
        path = root / name
        order += 1
        if path.is_file():
            yield from _named(read(path, warn), order, warn)
    order += 1
    seen: set[Path] = set()
    for path in sorted([*root.glob("requirements*.txt"), *root.glob("requirements/*.txt")]):
        yield from _named(_requirements(path, root, warn, seen), order, warn)
    order += 1
    known = notebooks or {}
    for path in sorted(known)[:MAX_NOTEBOOKS]:
        yield from _named(_notebook(path, root, warn, known[path]), order, warn)


def _named(lines: Iterable[tuple[str, str]], order: int, warn: Warn) -> Iterator[Declaration]:
    """Declarations of TensorFlow and Keras among (requirement text, where) pairs."""
    for text, where in lines:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text)
            if name and _library(canonicalize_name(name.group(1))) is not None:
                warn(f"{where}: cannot read the requirement {text.strip()!r}; ignored")
            continue
        library = _library(canonicalize_name(requirement.name))
        if library is None:
            continue
        spec = str(requirement.specifier)
        if requirement.url:
            spec = ""  # a wheel or a git URL: any release, as far as a specifier tells
        elif not spec or canonicalize_name(requirement.name) in NIGHTLY:
            # no version: what an install gets today, the newest release
            newest = KERAS_LINES[-1] if library == "keras" else TENSORFLOW_LINES[-1]
            spec = f">={newest}"
        yield Declaration(library, spec, where, order)


def _library(name: str) -> str | None:
    if name in TENSORFLOW_PACKAGES:
        return "tensorflow"
    if name in KERAS_PACKAGES:
        return "keras"
    if name in TF_KERAS_PACKAGES:
        return "tf-keras"
    return None


def _read_text(path: Path, warn: Warn, unless_without: bytes = b"") -> str | None:
    """The file's text; None if it cannot be read (said with `warn`), or if its bytes do not
    hold `unless_without` (then it is not decoded)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            warn(f"{path}: larger than {MAX_FILE_BYTES // 1024 // 1024} MB; not read for the TensorFlow version")
            return None
        raw = path.read_bytes()
        if unless_without not in raw:
            return None
        return raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        warn(f"{path}: cannot read ({getattr(error, 'strerror', None) or error}); not used for the TensorFlow version")
        return None


# -- requirements files -----------------------------------------------------------------
def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return path.absolute()


def _requirements(path: Path, root: Path, warn: Warn, seen: set[Path]) -> Iterator[tuple[str, str]]:
    resolved = _resolved(path)
    if resolved in seen:
        return
    seen.add(resolved)
    text = _read_text(path, warn)
    if text is None:
        return
    shown = _shown(path, root)
    for number, line in _logical_lines(text):
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        if not line:
            continue
        include = re.match(r"(?:-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?=\S))(\S+)", line)
        if include:
            target = _resolved(path.parent / include.group(1))
            if target.is_file():
                yield from _requirements(target, root, warn, seen)
            else:
                warn(f"{shown}:{number}: included file {include.group(1)!r} not found")
            continue
        if line.startswith("-"):
            continue  # --index-url, -e ., --hash ... : not a requirement of a package
        yield line.split(" --", 1)[0], f"{shown}:{number}"


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines joined where they end with a backslash, with the number of the first."""
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def _shown(path: Path, root: Path) -> str:
    try:
        return _resolved(path).relative_to(_resolved(root)).as_posix()
    except ValueError:
        return str(path)


# -- pyproject.toml, Pipfile --------------------------------------------------------------
def _toml(path: Path, warn: Warn) -> dict[str, Any] | None:
    try:
        return _read_toml(path)
    except ConfigError as error:
        warn(f"{error}; not used for the TensorFlow version")
        return None


def _pyproject(path: Path, warn: Warn) -> Iterator[tuple[str, str]]:
    data = _toml(path, warn)
    if data is None:
        return
    project = data.get("project")
    if isinstance(project, dict):
        yield from _strings(project.get("dependencies"), f"{path.name} [project] dependencies")
        optional = project.get("optional-dependencies")
        if isinstance(optional, dict):
            for extra, items in optional.items():
                yield from _strings(items, f"{path.name} [project.optional-dependencies] {extra}")
    poetry = data.get("tool", {}).get("poetry") if isinstance(data.get("tool"), dict) else None
    if isinstance(poetry, dict):
        tables = [("dependencies", poetry.get("dependencies")), ("dev-dependencies", poetry.get("dev-dependencies"))]
        groups = poetry.get("group")
        if isinstance(groups, dict):
            tables += [(f"group.{n}", g.get("dependencies")) for n, g in groups.items() if isinstance(g, dict)]
        for table, items in tables:
            if isinstance(items, dict):
                for name, value in items.items():
                    spec = _poetry_spec(value)
                    if spec is not None:
                        yield f"{name}{spec}", f"{path.name} [tool.poetry.{table}] {name}"


def _strings(items: object, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(items, list):
        for item in items:
            if isinstance(item, str):
                yield item, where


def _poetry_spec(value: object) -> str | None:
    """Poetry's version constraint as a PEP 440 specifier (`^1.15` -> `>=1.15,<2.0`)."""
    if isinstance(value, dict):
        value = value.get("version", "*")
    if not isinstance(value, str):
        return None
    parts = []
    for piece in value.split(","):
        piece = piece.strip()
        if piece in ("", "*"):
            continue
        if piece[0] in "^~" and not piece.startswith("~="):
            caret = piece[0] == "^"
            numbers = [int(n) for n in re.findall(r"\d+", piece[1:])[:3]] or [0]
            upper = _bump(numbers, caret)
            parts += [f">={'.'.join(map(str, numbers))}", f"<{upper}"]
        elif piece[0].isdigit():
            parts.append(f"=={piece}")
        else:
            parts.append(piece)
    return ",".join(parts)


def _bump(numbers: list[int], caret: bool) -> str:
    """The exclusive upper bound of `^1.15` (2.0), `^0.12` (0.13), `~1.15` (1.16), `~1` (2)."""
    if caret:
        index = next((i for i, n in enumerate(numbers) if n != 0), len(numbers) - 1)
    else:
        index = min(1, len(numbers) - 1) if len(numbers) > 1 else 0
    bumped = [*numbers[:index], numbers[index] + 1]
    return ".".join(map(str, bumped))


def _pipfile(path: Path, warn: Warn) -> Iterator[tuple[str, str]]:
    data = _toml(path, warn)
    if data is None:
        return
    for table in ("packages", "dev-packages"):
        items = data.get(table)
        if isinstance(items, dict):
            for name, value in items.items():
                spec = value.get("version", "*") if isinstance(value, dict) else value
                if isinstance(spec, str):
                    yield f"{name}{'' if spec.strip() == '*' else spec}", f"Pipfile [{table}] {name}"


# -- setup.cfg, setup.py ------------------------------------------------------------------
def _setup_cfg(path: Path, warn: Warn) -> Iterator[tuple[str, str]]:
    text = _read_text(path, warn)
    if text is None:
        return
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as error:
        warn(f"{path}: cannot parse ({str(error).splitlines()[0]}); not used for the TensorFlow version")
        return
    if parser.has_option("options", "install_requires"):
        for line in parser.get("options", "install_requires").splitlines():
            if line.strip():
                yield line.strip(), "setup.cfg [options] install_requires"
    if parser.has_section("options.extras_require"):
        for extra, value in parser.items("options.extras_require"):
            for line in value.splitlines():
                if line.strip():
                    yield line.strip(), f"setup.cfg [options.extras_require] {extra}"


def _setup_py(path: Path, warn: Warn) -> Iterator[tuple[str, str]]:
    """`setup(install_requires=[...], extras_require={...})` literals (or module-level names
    bound to literals), read from the syntax tree: setup.py is never run."""
    text = _read_text(path, warn)
    if text is None:
        return
    try:
        tree = ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError, RecursionError) as error:
        warn(f"{path}: cannot parse ({error.__class__.__name__}); not used for the TensorFlow version")
        return
    assigned: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigned[node.targets[0].id] = node.value
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name != "setup":
            continue
        for keyword in call.keywords:
            value = keyword.value
            if isinstance(value, ast.Name):
                value = assigned.get(value.id, value)
            if keyword.arg == "install_requires":
                for text_, line in _literal_strings(value):
                    yield text_, f"setup.py:{line} install_requires"
            elif keyword.arg == "extras_require" and isinstance(value, ast.Dict):
                for item in value.values:
                    if isinstance(item, ast.Name):
                        item = assigned.get(item.id, item)
                    for text_, line in _literal_strings(item):
                        yield text_, f"setup.py:{line} extras_require"


def _literal_strings(node: ast.expr) -> Iterator[tuple[str, int]]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for element in node.elts:
            if isinstance(element, ast.Constant) and isinstance(element.value, str):
                yield element.value, element.lineno
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        for line in node.value.splitlines():
            if line.strip():
                yield line.strip(), node.lineno


# -- environment.yml ----------------------------------------------------------------------
def _environment(path: Path, warn: Warn) -> Iterator[tuple[str, str]]:
    import yaml  # PyYAML: conda's environment files are YAML

    text = _read_text(path, warn)
    if text is None:
        return
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as error:
        warn(f"{path}: cannot parse ({str(error).splitlines()[0]}); not used for the TensorFlow version")
        return
    dependencies = data.get("dependencies") if isinstance(data, dict) else None
    if not isinstance(dependencies, list):
        return
    for item in dependencies:
        if isinstance(item, str):
            yield _conda(item), f"{path.name} dependencies"
        elif isinstance(item, dict) and isinstance(item.get("pip"), list):
            for pip in item["pip"]:
                if isinstance(pip, str):
                    yield pip, f"{path.name} pip"


def _conda(spec: str) -> str:
    """A conda match spec as a requirement: `tensorflow=1.15` (conda's `=` is a prefix: that
    line), `tensorflow=1.15.0=py37_0` (with a build), `tensorflow 1.15.*`, `tensorflow==1.15.0`,
    `conda-forge::tensorflow>=2.4`."""
    spec = spec.split("::", 1)[-1].strip()
    match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)", spec)
    if not match:
        return spec
    name, rest = match.group(1), match.group(2).strip()
    if not rest or rest.startswith(("==", ">=", "<=", "!=", ">", "<", "~=")):
        return name + rest
    version = rest.lstrip("=").split("=")[0].strip().rstrip("*").rstrip(".")
    return f"{name}=={version}.*" if version else name


# -- notebooks ------------------------------------------------------------------------------
_PIP_LINE = re.compile(r"^\s*[!%]\s*(?:python3?\s+-m\s+)?pip3?\s+install\s+(.*)$")
# what a pip line holds, as a notebook's JSON writes it (a tab may be written `\t`)
_PIP_WORDS = re.compile(r"pip3?(?:\s|\\t)+install")


def _notebook(path: Path, root: Path, warn: Warn, raw: bytes | None = None) -> Iterator[tuple[str, str]]:
    # most notebooks install nothing with pip: they are not decoded nor parsed (a notebook's
    # JSON can weigh megabytes of outputs)
    if raw is None:
        text = _read_text(path, warn, unless_without=b"install")
    else:
        text = raw.decode("utf-8-sig", errors="replace") if b"install" in raw else None
    if text is None or _PIP_WORDS.search(text) is None:
        return
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return  # the notebook is reported when it is checked; here it only declares nothing
    cells = data.get("cells") if isinstance(data, dict) else None
    shown = _shown(path, root)
    for index, cell in enumerate(cells if isinstance(cells, list) else [], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source")
        lines = source if isinstance(source, list) else [source] if isinstance(source, str) else []
        for line in "".join(s for s in lines if isinstance(s, str)).splitlines():
            match = _PIP_LINE.match(line)
            if not match:
                continue
            try:
                words = shlex.split(match.group(1), comments=True)
            except ValueError:
                continue
            for word in words:
                if not word.startswith("-") and _looks_like_requirement(word):
                    yield word, f"{shown} cell {index}"


def _looks_like_requirement(word: str) -> bool:
    try:
        SpecifierSet(re.sub(r"^[A-Za-z0-9._-]+(\[[^\]]*\])?", "", word))
    except InvalidSpecifier:
        return False
    return True


# the declaration files of a project's root, in the order their declarations rank
_SOURCES: list[tuple[str, Callable[[Path, Warn], Iterable[tuple[str, str]]]]] = [
    ("pyproject.toml", _pyproject),
    ("setup.cfg", _setup_cfg),
    ("setup.py", _setup_py),
    ("Pipfile", _pipfile),
    ("environment.yml", _environment),
    ("environment.yaml", _environment),
]
# with the `requirements*.txt` files, what a project's target is read from
DECLARATION_NAMES = frozenset(name for name, _ in _SOURCES)
