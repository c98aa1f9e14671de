"""What the language server knows, without the protocol: the projects of the workspace,
their files as on disk, the documents open in the editor (their unsaved text takes
precedence), and the checks and fixes run on them.

A document is judged as `reglint check FILE` judges a named file: with its project around it
(the project-context mechanism of the command line, `reglint.project`), so a change in
`model.py` changes the REG001 finding shown in `train.py`. Each project keeps its files'
results in memory (`MemoryCache`, over the same disk cache the command line uses), so a
check after an edit analyses the edited document and judges the project's facts again.

Everything here runs in one thread (the server's worker): nothing is locked.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from reglint.cache import Cache, MemoryCache, cache_directory, outside_project
from reglint.config import OWN_CONFIG_FILES, ConfigError, Settings, find_config, load_settings
from reglint.discovery import discover, is_excluded, read_files
from reglint.model import Finding, InternalError, ParseError, RunResult
from reglint.project import PROJECT_MARKERS, with_target
from reglint.requirements import DECLARATION_NAMES
from reglint.runner import Progress, default_jobs, fix_file, run
from reglint.sources import is_notebook

Log = Callable[[str], None]

# the files whose change changes a project's settings or target: its configuration and its
# dependency declarations (reglint/requirements.py reads them)
SETTINGS_FILES = frozenset({*OWN_CONFIG_FILES, "pyproject.toml", *DECLARATION_NAMES})


def is_settings_file(path: str) -> bool:
    name = os.path.basename(path)
    if name in SETTINGS_FILES:
        return True
    requirements = name.startswith("requirements") or os.path.basename(os.path.dirname(path)) == "requirements"
    return requirements and name.endswith(".txt")


def is_checked(path: str) -> bool:
    """Whether reglint checks a file of this name (Python sources and notebooks)."""
    return path.endswith(".py") or is_notebook(path)


@dataclass
class Outcome:
    """What a check says of one document."""

    findings: list[Finding] = field(default_factory=list)
    parse_error: ParseError | None = None
    internal_errors: list[InternalError] = field(default_factory=list)
    excluded: bool = False  # the configuration excludes the file: nothing is reported
    read_error: str | None = None  # the file on disk cannot be read (why)


@dataclass(eq=False)  # one object per project: hashed by identity
class Project:
    """A folder checked as one project: its settings (configuration and target) and its
    files, read once and kept current by the watched-file events."""

    root: Path
    settings: Settings
    files: dict[str, bytes]
    cache: MemoryCache
    walked: bool = True  # its folder was walked for its files (not a file judged alone)

    def holds(self, path: str) -> bool:
        return path in self.files or (self.walked and path.startswith(str(self.root) + os.sep))


class Session:
    def __init__(self, folders: Sequence[Path], log: Log, *, jobs: int | None = None) -> None:
        self.folders: list[str] = []
        self._spellings: list[tuple[str, str]] = []  # (real folder, as the editor names it)
        self.set_folders(folders)
        self.log = log
        self.jobs = jobs or default_jobs()
        self.documents: dict[str, bytes] = {}  # path -> the editor's text (a notebook: its JSON)
        self._projects: dict[str, Project] = {}  # by configuration file, else by root
        self._project_of_folder: dict[str, str] = {}  # a document's folder -> its project's key
        self._reported: set[str] = set()  # configuration errors already shown

    def set_folders(self, folders: Sequence[Path]) -> None:
        """The workspace folders (at start, and when the editor adds or removes one): the
        projects are found again."""
        self.folders = [_real(str(folder)) for folder in folders]
        self._spellings = sorted(((_real(str(f)), os.path.abspath(f)) for f in folders), key=lambda pair: -len(pair[0]))
        self._projects = {}
        self._project_of_folder = {}

    def spelled(self, path: str) -> str:
        """A path as the editor names it: under the workspace folder it opened, not where
        symbolic links resolve to (`/tmp` and `/private/tmp` on macOS)."""
        for real, given in self._spellings:
            if real != given and (path == real or path.startswith(real + os.sep)):
                return given + path[len(real) :]
        return path

    # -- documents -------------------------------------------------------------------------
    def open(self, path: str, data: bytes) -> None:
        self.documents[path] = data

    def close(self, path: str) -> None:
        self.documents.pop(path, None)

    def disk_changed(self, paths: Iterable[str]) -> bool:
        """Files changed, appeared or disappeared on disk. A configuration or dependency file
        resets every project (settings and target are read again; results computed under the
        old settings are not reused). Returns whether the settings were reset."""
        reset = False
        for path in paths:
            if is_settings_file(path):
                reset = True
                continue
            if not is_checked(path):
                continue
            for project in self._projects.values():
                if not project.holds(path):
                    continue
                data = _read_regular(path)
                if data is None:  # deleted, unreadable, or not a file: not part of the project
                    project.files.pop(path, None)
                    project.cache.forget(path)
                    continue
                if path in project.files or not is_excluded(Path(path), project.settings):
                    project.files[path] = data
        if reset:
            self._projects.clear()
            self._project_of_folder.clear()
            self._reported.clear()
        return reset

    # -- projects --------------------------------------------------------------------------
    def project_of(self, path: str) -> Project:
        folder = os.path.dirname(path)
        key = self._project_of_folder.get(folder)
        if key is None or key not in self._projects:
            settings, root = self._settings_for(Path(folder))
            key = str(settings.config_file or root)
            self._project_of_folder[folder] = key
            if key not in self._projects:
                self._projects[key] = self._load(root, settings)
        return self._projects[key]

    def _settings_for(self, folder: Path) -> tuple[Settings, Path]:
        """The settings of a folder's files, found as the command line finds them from a
        checked path; a configuration that does not load is shown once and the defaults
        are used (the editor keeps working while the file is being edited)."""
        config = None
        try:
            config = find_config(folder)
            settings = load_settings(config)
        except ConfigError as error:
            if str(error) not in self._reported:
                self._reported.add(str(error))
                self.log(f"configuration error: {error} (using the default settings until it is fixed)")
            settings = Settings()
        if config is not None and settings.config_file is not None:
            return settings, settings.config_file.parent
        root = self._root_without_config(folder)
        return replace(settings, root=root, config_file=None), root

    def _root_without_config(self, folder: Path) -> Path:
        """The nearest folder holding a repository or a dependency declaration (as the
        command line's `project_root`), not above the workspace folder the file is in."""
        real = Path(_real(str(folder)))
        inside = [Path(f) for f in self.folders if real == Path(f) or Path(f) in real.parents]
        top = max(inside, key=lambda f: len(f.parts)) if inside else None
        for directory in (real, *real.parents):
            if any((directory / marker).exists() for marker in PROJECT_MARKERS) or directory == top:
                return directory
        return real

    def _is_project(self, root: Path, settings: Settings) -> bool:
        """Whether a root is a project whose files are read: configured, a workspace folder or
        inside one, or holding a repository or a declaration. A file opened on its own (a
        script in the home folder) is judged alone: its folder is not walked."""
        if settings.config_file is not None or any((root / marker).exists() for marker in PROJECT_MARKERS):
            return True
        return any(root == Path(f) or Path(f) in root.parents for f in self.folders)

    def _load(self, root: Path, settings: Settings) -> Project:
        walked = self._is_project(root, settings)
        found = discover((str(root),), settings) if walked else None
        items, _ = read_files(found.files if found is not None else ())
        files = {_real(path): data for path, data in items}
        notebooks = [path for path in files if is_notebook(path)]
        settings, _ = with_target(settings, (str(root),), None, None, notebooks, self.log)
        directory, configured = cache_directory(settings)
        problem = outside_project(directory, settings) if configured else None
        if problem is not None:
            self.log(f"{problem} (results are kept in memory only)")
        writable = os.access(directory if directory.exists() else settings.root, os.W_OK)
        disk = Cache(directory, settings.fingerprint) if problem is None and writable else None
        self.log(f"project {root}: {len(files)} files, configuration {settings.config_file or 'none (defaults)'}")
        return Project(root, settings, files, MemoryCache(disk), walked)

    def workspace_files(self) -> list[str]:
        """Every file the workspace folders' projects check (for "check all")."""
        paths: list[str] = []
        for folder in self.folders:
            settings, _ = self._settings_for(Path(folder))
            for path in discover((folder,), settings).files:
                paths.append(_real(str(path)))
        return sorted(set(paths))

    # -- checks and fixes ------------------------------------------------------------------
    def data_of(self, path: str, project: Project | None = None) -> bytes | None:
        """A file's text: the editor's, else the project's copy, else read (None: cannot)."""
        if path in self.documents:
            return self.documents[path]
        project = project or self.project_of(path)
        if path in project.files:
            return project.files[path]
        return _read_regular(path)

    def check(self, paths: Iterable[str], progress: Progress | None = None) -> dict[str, Outcome]:
        """What reglint reports on each of `paths` (open documents or files on disk), each
        judged with its project: one run per project."""
        outcomes: dict[str, Outcome] = {}
        for project, members in self._by_project(paths).items():
            named: list[tuple[str, bytes]] = []
            for path in members:
                data = self.data_of(path, project)
                if data is None:
                    outcomes[path] = Outcome(read_error=_why_unreadable(path))
                elif is_excluded(Path(path), project.settings):
                    outcomes[path] = Outcome(excluded=True)
                else:
                    named.append((path, data))
            if not named:
                continue
            result = self._run(project, named, progress=progress)
            names = {path for path, _ in named}
            for error in result.internal_errors:
                if error.path not in names:  # a project rule's (`<project>`): no document's
                    self.log(f"internal error{f' in {error.code}' if error.code else ''}: {error.message}")
            for path, _ in named:
                outcomes[path] = Outcome(
                    findings=[f for f in result.findings if f.path == path],
                    parse_error=next((e for e in result.parse_errors if e.path == path), None),
                    internal_errors=[e for e in result.internal_errors if e.path == path],
                )
        return outcomes

    def fix_all(self, path: str, *, unsafe: bool = False) -> bytes | None:
        """The document with every fix applied that `reglint check --fix` applies to it (the
        same passes, so the same text); None when nothing changes."""
        project = self.project_of(path)
        data = self.data_of(path, project)
        if data is None or is_excluded(Path(path), project.settings):
            return None
        result = self._run(project, [(path, data)], fix=True, unsafe=unsafe)
        change = result.changes.get(path)
        return change.fixed if change is not None and change.fixed != data else None

    def fix_one(self, path: str, finding: Finding) -> bytes | None:
        """The document with one finding's fix applied; None if the fix cannot be applied
        (the result would not parse, or the document changed under it)."""
        data = self.data_of(path)
        if data is None or finding.fix is None:
            return None
        errors: list[InternalError] = []
        fixed = fix_file(path, data, [finding], errors)
        for error in errors:
            self.log(f"{error.path}: {error.message}")
        if fixed is None or not fixed[1] or fixed[0] == data:
            return None
        return fixed[0]

    def _run(
        self,
        project: Project,
        named: list[tuple[str, bytes]],
        *,
        fix: bool = False,
        unsafe: bool = False,
        progress: Progress | None = None,
    ) -> RunResult:
        names = {path for path, _ in named}
        context = [(path, self.documents.get(path, data)) for path, data in project.files.items() if path not in names]
        context += [
            (path, data)
            for path, data in self.documents.items()
            if path not in names
            and path not in project.files
            and project.holds(path)
            and is_checked(path)
            and not is_excluded(Path(path), project.settings)
        ]
        return run(
            named,
            project.settings,
            fix=fix,
            unsafe_fixes=unsafe,
            jobs=self.jobs,
            cache=project.cache,
            context=context,
            progress=progress,
        )

    def _by_project(self, paths: Iterable[str]) -> dict[Project, list[str]]:
        groups: dict[int, tuple[Project, list[str]]] = {}
        for path in paths:
            project = self.project_of(path)
            groups.setdefault(id(project), (project, []))[1].append(path)
        return {project: members for project, members in groups.values()}


def _read_regular(path: str) -> bytes | None:
    """A regular file's bytes; None for what is not one (a FIFO would block the reader) or
    cannot be read."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as handle:
            return handle.read()
    except (OSError, ValueError):
        return None


def _why_unreadable(path: str) -> str:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return "cannot read: not a regular file"
        with open(path, "rb"):
            pass
    except OSError as error:
        return f"cannot read: {error.strerror or error}"
    return "cannot read"


def _real(path: str) -> str:
    """A path as the projects key their files: absolute, symbolic links resolved."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)
