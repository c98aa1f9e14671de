"""`reglint server`: the language server (pygls), over standard input and output or TCP.

The protocol runs in the event loop; every check, fix and file read runs in one worker
thread, on a snapshot of the editor's documents taken in the loop (`Session` is used by that
thread alone). A change schedules a check of every open document after a short pause
(`debounce`): one run per project judges them all, so a change in one file updates the
cross-file findings shown in another.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from reglint import __version__
from reglint.lsp.convert import Cell, Place, Text, diagnostic, notebook_data, parse_diagnostic
from reglint.lsp.session import Outcome, Session, _real, is_checked
from reglint.model import Finding, Safety
from reglint.notebook import NotebookSource
from reglint.sources import SourceError, encoding_of
from reglint.suppress import add_noqa

T = TypeVar("T")

DEBOUNCE_SECONDS = 0.05  # a pause in typing this long starts a check (`debounce` in ms)
FIX_ALL = "source.fixAll.reglint"
CHECK_ALL = "reglint.checkAll"
WATCHED = (
    "**/*.py",
    "**/*.ipynb",
    "**/pyproject.toml",
    "**/reglint.toml",
    "**/.reglint.toml",
    "**/setup.cfg",
    "**/Pipfile",
    "**/environment.yml",
    "**/environment.yaml",
    "**/requirements*.txt",
    "**/requirements/*.txt",
)
log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    """An open document as the editor holds it, taken in the event loop."""

    uri: str  # the text document, or the notebook document
    path: str
    data: bytes  # what the check reads: the text in the file's encoding, or the notebook's JSON
    encoding: str  # the text's, for a Python file
    version: int | None
    cells: list[Cell] | None = None  # a notebook's cells
    cell_versions: dict[str, int] | None = None


@dataclass
class Shown:
    """The last check of a document: what was checked and what it found."""

    snapshot: Snapshot
    outcome: Outcome
    place: Place | None


class ReglintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "reglint",
            __version__,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[
                    types.NotebookDocumentFilterWithCells(
                        cells=[types.NotebookCellLanguage(language="python")], notebook="*"
                    )
                ],
                save=True,
            ),
        )
        self.session: Session | None = None
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="reglint-check")
        self.debounce = DEBOUNCE_SECONDS
        self.unsafe_fixes = False
        self.open_text: dict[str, str] = {}  # path -> uri of an open Python file
        self.open_notebooks: dict[str, str] = {}  # path -> uri of an open notebook
        self.shown: dict[str, Shown] = {}  # path -> its last check (open documents)
        self.published: dict[str, set[str]] = {}  # path -> the uris it published diagnostics to
        self.everywhere: set[str] = set()  # files shown by "check all" that are not open
        self._timer: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None  # the protocol's, set at initialize
        self._checking = False  # a check of the open documents is running
        self._again = False  # and another was asked for meanwhile

    # -- running work in the worker --------------------------------------------------------
    async def in_worker(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.worker, work)

    def tell(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """Send a line to the client's log (from any thread)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        params = types.LogMessageParams(type=kind, message=f"reglint: {message}")
        loop.call_soon_threadsafe(self.window_log_message, params)

    @property
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or types.PositionEncodingKind.Utf16)

    # -- snapshots -------------------------------------------------------------------------
    def snapshot(self, path: str) -> Snapshot | None:
        if path in self.open_text:
            uri = self.open_text[path]
            document = self.workspace.get_text_document(uri)
            data, encoding = encode(document.source)
            return Snapshot(uri, path, data, encoding, document.version)
        if path in self.open_notebooks:
            uri = self.open_notebooks[path]
            notebook = self.workspace.get_notebook_document(notebook_uri=uri)
            if notebook is None:
                return None
            cells = []
            versions = {}
            for cell in notebook.cells:
                document = self.workspace.get_text_document(cell.document)
                cells.append(Cell(cell.document, cell.kind == types.NotebookCellKind.Code, document.source))
                versions[cell.document] = document.version or 0
            return Snapshot(uri, path, notebook_data(cells), "utf-8", notebook.version, cells, versions)
        return None

    def snapshots(self) -> list[Snapshot]:
        found = (self.snapshot(path) for path in [*self.open_text, *self.open_notebooks])
        return [s for s in found if s is not None]

    # -- checking --------------------------------------------------------------------------
    def schedule(self, delay: float | None = None) -> None:
        """Check the open documents after `delay` (the debounce), unless asked again first."""
        if self._timer is not None:
            self._timer.cancel()
        wait = self.debounce if delay is None else delay
        self._timer = asyncio.get_running_loop().call_later(wait, lambda: asyncio.ensure_future(self.check_open()))

    async def check_open(self) -> None:
        """Check the open documents as they stand. Edits made while a check runs are
        checked once it ends, all of them in one check (never a queue of stale ones)."""
        self._timer = None
        if self._checking:
            self._again = True
            return
        self._checking = True
        try:
            await self._check_open()
        finally:
            self._checking = False
        if self._again:
            self._again = False
            self.schedule(0)

    async def _check_open(self) -> None:
        snapshots = self.snapshots()
        session = self.session
        if session is None:
            return
        extra = sorted(self.everywhere - {s.path for s in snapshots})
        encoding = self.encoding

        def work() -> list[tuple[str, list[types.Diagnostic], int | None]]:
            session.documents = {s.path: s.data for s in snapshots}
            outcomes = session.check([*(s.path for s in snapshots), *extra])
            out = []
            for snapshot in snapshots:
                outcome = outcomes.get(snapshot.path, Outcome())
                place = _place(snapshot, encoding)
                self.shown[snapshot.path] = Shown(snapshot, outcome, place)
                out += self.diagnostics(snapshot.path, outcome, place, snapshot)
            for path in extra:
                out += self.disk_diagnostics(path, outcomes.get(path, Outcome()), encoding)
            return out

        try:
            published = await self.in_worker(work)
        except Exception as error:  # a bug in reglint: logged, and the server goes on
            log.exception("check failed")
            self.tell(f"internal error: {type(error).__name__}: {error}", types.MessageType.Error)
            return
        self.publish(published)

    def publish(self, published: list[tuple[str, list[types.Diagnostic], int | None]]) -> None:
        for uri, diagnostics, version in published:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
            )

    def diagnostics(
        self, path: str, outcome: Outcome, place: Place | None, snapshot: Snapshot | None
    ) -> list[tuple[str, list[types.Diagnostic], int | None]]:
        """Every diagnostic of a checked document, by the uri it is shown in (each cell of
        a notebook gets its list, empty ones too: that clears what a cell showed before)."""
        session = self.session
        assert session is not None
        by_uri: dict[str, list[types.Diagnostic]] = {}
        uris = [c.uri for c in snapshot.cells] if snapshot is not None and snapshot.cells is not None else []
        if snapshot is not None and snapshot.cells is None:
            uris = [snapshot.uri]
        for uri in uris:
            by_uri[uri] = []
        for error in outcome.internal_errors:
            self.tell(f"internal error in {error.path}: {error.message}", types.MessageType.Error)
        if place is not None:
            root = str(session.project_of(path).root) + os.sep

            def shown(text: str) -> str:
                return text.replace(root, "")

            if outcome.parse_error is not None:
                uri, found = parse_diagnostic(outcome.parse_error, place)
                by_uri.setdefault(uri, []).append(found)
            for finding in outcome.findings:
                uri, found = diagnostic(finding, place, shown, self._text_on_disk)
                by_uri.setdefault(uri, []).append(found)
        old = self.published.get(path, set())
        self.published[path] = set(by_uri)
        for stale in old - set(by_uri):
            by_uri[stale] = []
        versions = snapshot.cell_versions or {} if snapshot is not None else {}
        version = snapshot.version if snapshot is not None and snapshot.cells is None else None
        return [(uri, items, versions.get(uri, version)) for uri, items in by_uri.items()]

    def disk_diagnostics(
        self, path: str, outcome: Outcome, encoding: str
    ) -> list[tuple[str, list[types.Diagnostic], int | None]]:
        """The diagnostics of a file that is not open (a "check all" result)."""
        session = self.session
        assert session is not None
        data = session.data_of(path)
        place = None
        if data is not None:
            uri = from_fs_path(path) or path
            _, file_encoding = decode(data)
            cells = _cells_on_disk(uri, path, data) if path.endswith(".ipynb") else None
            snapshot = Snapshot(uri, path, data, file_encoding, None, cells)
            place = _place(snapshot, encoding)
            if not outcome.findings and outcome.parse_error is None:
                self.everywhere.discard(path)
            return self.diagnostics(path, outcome, place, snapshot)
        self.everywhere.discard(path)
        return [(uri, [], None) for uri in self.published.pop(path, set())]

    def _text_on_disk(self, path: str) -> Text | None:
        session = self.session
        if session is None or path.endswith(".ipynb"):
            return None
        data = session.data_of(path)
        return None if data is None else Text(decode(data)[0], self.encoding)

    # -- code actions ----------------------------------------------------------------------
    async def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        path = self.path_of_uri(params.text_document.uri)
        snapshot = self.snapshot(path) if path is not None else None
        session = self.session
        if snapshot is None or session is None:
            return []
        encoding = self.encoding
        only = params.context.only

        def wanted(kind: str) -> bool:
            return not only or any(kind == k or kind.startswith(f"{k}.") for k in only)

        def work() -> list[types.CodeAction]:
            shown = self.shown.get(snapshot.path)
            if shown is None or shown.snapshot.data != snapshot.data:  # not checked as it stands
                session.documents[snapshot.path] = snapshot.data
                outcome = session.check([snapshot.path]).get(snapshot.path, Outcome())
                shown = self.shown[snapshot.path] = Shown(snapshot, outcome, _place(snapshot, encoding))
            place = shown.place
            if place is None:
                return []
            actions: list[types.CodeAction] = []
            for finding in shown.outcome.findings:
                uri, where = place.range(finding.range.start, finding.range.end)
                if uri != params.text_document.uri or not _overlaps(where, params.range):
                    continue
                diagnostics = [d for d in params.context.diagnostics if d.code == finding.code and d.range == where]
                if finding.fix is not None and wanted(types.CodeActionKind.QuickFix):
                    fixed = session.fix_one(snapshot.path, finding)
                    edit = self.edit(snapshot, place, fixed) if fixed is not None else None
                    if edit is not None:
                        unsafe = finding.fix.safety is Safety.UNSAFE
                        actions.append(
                            types.CodeAction(
                                title=f"Fix {finding.code} ({finding.name}){' (unsafe fix)' if unsafe else ''}",
                                kind=types.CodeActionKind.QuickFix,
                                diagnostics=diagnostics or None,
                                edit=edit,
                                is_preferred=not unsafe,
                            )
                        )
                if wanted(types.CodeActionKind.QuickFix):
                    suppress = self.noqa_edit(snapshot, place, uri, finding)
                    if suppress is not None:
                        actions.append(
                            types.CodeAction(
                                title=f"Suppress {finding.code} on this line (# noqa: {finding.code})",
                                kind=types.CodeActionKind.QuickFix,
                                diagnostics=diagnostics or None,
                                edit=suppress,
                            )
                        )
            if wanted(FIX_ALL) and any(f.fix is not None for f in shown.outcome.findings):
                fixed = session.fix_all(snapshot.path, unsafe=self.unsafe_fixes)
                edit = self.edit(snapshot, place, fixed) if fixed is not None else None
                if edit is not None:
                    actions.append(types.CodeAction(title="reglint: fix all safe fixes", kind=FIX_ALL, edit=edit))
            return actions

        try:
            return await self.in_worker(work)
        except Exception as error:
            log.exception("code actions failed")
            self.tell(f"internal error: {type(error).__name__}: {error}", types.MessageType.Error)
            return []

    def edit(self, snapshot: Snapshot, place: Place, fixed: bytes) -> types.WorkspaceEdit | None:
        """The edit that turns the document into `fixed` (a notebook: each changed cell)."""
        edits: list[tuple[str, int | None, types.TextEdit]] = []
        if snapshot.cells is None:
            text = place.text_of(snapshot.uri)
            new, _ = decode(fixed, snapshot.encoding)
            change = text.edit_to(new) if text is not None else None
            if change is not None:
                edits.append((snapshot.uri, snapshot.version, change))
        else:
            try:
                sources = {c.index: c.source for c in NotebookSource.load(snapshot.path, fixed).cells}
            except SourceError:
                return None
            for index, cell in enumerate(snapshot.cells):
                cell_text = place.text_of(cell.uri)
                if index in sources and cell_text is not None:
                    change = cell_text.edit_to(sources[index])
                    if change is not None:
                        versions = snapshot.cell_versions or {}
                        edits.append((cell.uri, versions.get(cell.uri), change))
        return self.workspace_edit(edits) if edits else None

    def noqa_edit(self, snapshot: Snapshot, place: Place, uri: str, finding: Finding) -> types.WorkspaceEdit | None:
        _, line = place.locate(finding.range.start)
        text = place.text_of(uri)
        if text is None:
            return None
        new, added = add_noqa(text.text, {line + 1: {finding.code}})
        change = text.edit_to(new) if added else None
        if change is None:
            return None
        versions = snapshot.cell_versions or {}
        return self.workspace_edit([(uri, versions.get(uri, snapshot.version), change)])

    def workspace_edit(self, edits: list[tuple[str, int | None, types.TextEdit]]) -> types.WorkspaceEdit:
        capabilities = self.client_capabilities.workspace
        versioned = bool(capabilities and capabilities.workspace_edit and capabilities.workspace_edit.document_changes)
        if versioned:
            return types.WorkspaceEdit(
                document_changes=[
                    types.TextDocumentEdit(types.OptionalVersionedTextDocumentIdentifier(uri, version), [edit])
                    for uri, version, edit in edits
                ]
            )
        return types.WorkspaceEdit(changes={uri: [edit] for uri, _, edit in edits})

    def path_of_uri(self, uri: str) -> str | None:
        """The checked file a document belongs to (a cell: its notebook)."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        if notebook is not None:
            uri = notebook.uri
        path = to_fs_path(uri)
        return _real(path) if path else None

    # -- opening, saving, closing ----------------------------------------------------------
    async def saved(self, uri: str) -> None:
        """A document was saved: the project's copy of the file is read again (a saved
        configuration or dependency file reloads the settings)."""
        path = to_fs_path(uri)
        session = self.session
        if path is None or session is None:
            return
        real = _real(path)
        if await self.in_worker(lambda: session.disk_changed([real])):
            self.tell("settings reloaded")
        self.schedule(0)

    def closed(self, path: str) -> None:
        """A document was closed: its diagnostics are cleared (as Ruff's server does), and
        the others checked again against the file as saved."""
        self.shown.pop(path, None)
        self.publish([(uri, [], None) for uri in self.published.pop(path, set())])
        self.schedule()

    # -- check all -------------------------------------------------------------------------
    async def check_all(self) -> dict[str, int]:
        session = self.session
        if session is None:
            return {"files": 0, "findings": 0}
        token = str(uuid.uuid4())
        window = self.client_capabilities.window
        progress = bool(window and window.work_done_progress)
        if progress:
            try:
                await self.work_done_progress.create_async(token)
            except Exception:  # the client refused the token: no progress shown
                progress = False
        if progress:
            self.work_done_progress.begin(
                token, types.WorkDoneProgressBegin(title="reglint: checking the workspace", percentage=0)
            )
        loop = asyncio.get_running_loop()
        snapshots = self.snapshots()
        encoding = self.encoding

        def report(done: int, total: int) -> None:
            if progress and total:
                value = types.WorkDoneProgressReport(message=f"{done}/{total} files", percentage=done * 100 // total)
                loop.call_soon_threadsafe(self.work_done_progress.report, token, value)

        def work() -> tuple[list[tuple[str, list[types.Diagnostic], int | None]], dict[str, int]]:
            session.documents = {s.path: s.data for s in snapshots}
            open_paths = {s.path for s in snapshots}
            paths = sorted(set(session.workspace_files()) | open_paths)
            outcomes = session.check(paths, progress=report)
            out = []
            findings = 0
            for snapshot in snapshots:
                outcome = outcomes.get(snapshot.path, Outcome())
                place = _place(snapshot, encoding)
                self.shown[snapshot.path] = Shown(snapshot, outcome, place)
                out += self.diagnostics(snapshot.path, outcome, place, snapshot)
            for path in paths:
                outcome = outcomes.get(path, Outcome())
                findings += len(outcome.findings)
                if path in open_paths:
                    continue
                if outcome.findings or outcome.parse_error is not None:
                    self.everywhere.add(path)
                if path in self.everywhere:
                    out += self.disk_diagnostics(path, outcome, encoding)
            return out, {"files": len(paths), "findings": findings}

        try:
            published, summary = await self.in_worker(work)
        finally:
            if progress:
                self.work_done_progress.end(token, types.WorkDoneProgressEnd(message="done"))
        self.publish(published)
        return summary


def _place(snapshot: Snapshot, encoding: str) -> Place | None:
    try:
        if snapshot.cells is not None:
            return Place(snapshot.uri, "", encoding, snapshot.cells, snapshot.data)
        return Place(snapshot.uri, decode(snapshot.data, snapshot.encoding)[0], encoding)
    except SourceError:
        return None


def _cells_on_disk(uri: str, path: str, data: bytes) -> list[Cell] | None:
    """A notebook file's cells, each shown at the notebook's own uri (an editor that has not
    opened the notebook has no cell documents)."""
    try:
        notebook = NotebookSource.load(path, data)
    except SourceError:
        return None
    count = len(notebook.notebook.get("cells", []))
    sources = {cell.index: cell.source for cell in notebook.cells}
    return [Cell(uri, index in sources, sources.get(index, "")) for index in range(count)]


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def encode(text: str) -> tuple[bytes, str]:
    """An editor's text as the file's bytes: UTF-8, or the encoding its coding cookie names."""
    data = text.encode("utf-8", "surrogateescape")
    try:
        encoding = encoding_of(data)
    except SyntaxError:
        return data, "utf-8"
    if encoding in ("utf-8", "utf-8-sig"):
        return data, "utf-8"
    try:
        return text.encode(encoding), encoding
    except (UnicodeEncodeError, LookupError):
        return data, "utf-8"


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    if encoding is None:
        try:
            encoding = encoding_of(data)
        except SyntaxError:
            encoding = "utf-8"
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError):
        return data.decode("utf-8", "replace"), "utf-8"


# -- the protocol's handlers -------------------------------------------------------------------
def create_server() -> ReglintServer:
    server = ReglintServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: ReglintServer, params: types.InitializeParams) -> None:
        folders = [to_fs_path(f.uri) for f in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [to_fs_path(params.root_uri)]
        elif not folders and params.root_path:
            folders = [params.root_path]
        options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
        debounce = options.get("debounce")
        if isinstance(debounce, int | float) and not isinstance(debounce, bool) and debounce >= 0:
            ls.debounce = debounce / 1000
        ls.unsafe_fixes = options.get("unsafeFixes") is True
        ls.loop = asyncio.get_running_loop()
        ls.session = Session([Path(f) for f in folders if f], ls.tell)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: ReglintServer, params: types.InitializedParams) -> None:
        workspace = ls.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace else None
        if watched is not None and watched.dynamic_registration:
            options = types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern=glob) for glob in WATCHED]
            )
            registration = types.Registration(
                id=str(uuid.uuid4()), method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
            )
            try:
                await ls.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
            except Exception as error:
                ls.tell(f"cannot watch the workspace's files: {error}", types.MessageType.Warning)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ReglintServer, params: types.DidOpenTextDocumentParams) -> None:
        document = params.text_document
        path = to_fs_path(document.uri)
        if path is None or not (document.language_id == "python" or path.endswith(".py")):
            return
        ls.open_text[_real(path)] = document.uri
        ls.schedule(0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ReglintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule()

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: ReglintServer, params: types.DidSaveTextDocumentParams) -> None:
        await ls.saved(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ReglintServer, params: types.DidCloseTextDocumentParams) -> None:
        path = ls.path_of_uri(params.text_document.uri)
        if path is not None and ls.open_text.pop(path, None) is not None:
            ls.closed(path)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_open(ls: ReglintServer, params: types.DidOpenNotebookDocumentParams) -> None:
        path = to_fs_path(params.notebook_document.uri)
        if path is not None:
            ls.open_notebooks[_real(path)] = params.notebook_document.uri
            ls.schedule(0)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_change(ls: ReglintServer, params: types.DidChangeNotebookDocumentParams) -> None:
        ls.schedule()

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    async def notebook_save(ls: ReglintServer, params: types.DidSaveNotebookDocumentParams) -> None:
        await ls.saved(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_close(ls: ReglintServer, params: types.DidCloseNotebookDocumentParams) -> None:
        path = to_fs_path(params.notebook_document.uri)
        if path is not None and ls.open_notebooks.pop(_real(path), None) is not None:
            ls.closed(_real(path))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def watched(ls: ReglintServer, params: types.DidChangeWatchedFilesParams) -> None:
        paths = [_real(p) for p in (to_fs_path(change.uri) for change in params.changes) if p]
        session = ls.session
        if session is None or not paths:
            return
        reset = await ls.in_worker(lambda: session.disk_changed(paths))
        if reset:
            ls.tell("settings reloaded")
        ls.everywhere.update(p for p in paths if p in ls.published and is_checked(p))
        ls.schedule(0)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False),
    )
    async def code_action(ls: ReglintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return await ls.code_actions(params)

    @server.command(CHECK_ALL)
    async def check_all(ls: ReglintServer, *args: Any) -> dict[str, int]:
        return await ls.check_all()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: ReglintServer, *args: Any) -> None:
        if ls._timer is not None:
            ls._timer.cancel()
        ls.worker.shutdown(wait=False, cancel_futures=True)

    return server


def serve(tcp: bool = False, host: str = "127.0.0.1", port: int = 2087) -> None:
    """Run the server until the client says `exit`."""
    import multiprocessing

    # the worker processes of a cold project check start from a fresh interpreter: forking
    # a process that runs threads (the event loop, the check worker) can copy a held lock
    try:
        multiprocessing.set_start_method("forkserver" if os.name == "posix" else "spawn", force=True)
    except ValueError:  # pragma: no cover - no forkserver on this platform
        multiprocessing.set_start_method("spawn", force=True)
    server = create_server()
    if tcp:
        server.start_tcp(host, port)
    else:
        server.start_io()
