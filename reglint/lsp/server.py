"""The language server's state and work: what the editor has open, checks of it, what was
published, code actions, "check all". The protocol's handlers are in `handlers.py`.

The protocol runs in the event loop; every check, fix and file read runs in one worker
thread, on a snapshot of the editor's documents taken in the loop (`Session` is used by that
thread alone, and what was shown and published is changed in the loop alone). A change
schedules a check of every open document after a short pause (`debounce`): one run per
project judges them all, so a change in one file updates the cross-file findings shown in
another.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from reglint import __version__
from reglint.lsp.convert import (
    Cell,
    Place,
    Text,
    cell_sources,
    diagnostic,
    notebook_data,
    parse_diagnostic,
    read_diagnostic,
)
from reglint.lsp.session import Outcome, Session, _real
from reglint.model import Finding, Safety
from reglint.output.base import Files
from reglint.sources import SourceError, encoding_of, is_notebook
from reglint.suppress import add_noqa

T = TypeVar("T")

DEBOUNCE_SECONDS = 0.05  # a pause in typing this long starts a check (`debounce` in ms)
FIX_ALL = "source.fixAll.reglint"
CHECK_ALL = "reglint.checkAll"
log = logging.getLogger(__name__)


class Worker:
    """One thread running the checks, one after the other. Not a ThreadPoolExecutor: the
    interpreter joins an executor's threads when it exits, so `exit` during a long check (or
    a read that blocks) kept the server alive; this thread is a daemon, and `exit` ends the
    process whatever it is doing."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="reglint-check", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((work, future))
        return future

    def stop(self) -> None:
        self._jobs.put(None)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            work, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(work())
            except BaseException as error:  # handed to whoever awaits the job
                future.set_exception(error)


@dataclass
class Snapshot:
    """An open document as the editor holds it, taken in the event loop (or a file on disk,
    for "check all")."""

    uri: str  # the text document, or the notebook document
    path: str
    data: bytes  # what the check reads: the text in the file's encoding, or the notebook's JSON
    encoding: str  # the text's, for a Python file
    version: int | None
    cells: list[Cell] | None = None  # a notebook's cells
    cell_versions: dict[str, int] | None = None
    on_disk: bool = False  # not open: a notebook's findings go to its file, not its cells


@dataclass
class Shown:
    """The last check of a document: what was checked and what it found (and the fix-all
    of that text, once asked for)."""

    snapshot: Snapshot
    outcome: Outcome
    place: Place | None
    fix_all: dict[bool, bytes | None] = field(default_factory=dict)


@dataclass
class Delivery:
    """What a check has to publish for one file, made in the worker, published in the loop
    if the file is still shown there."""

    path: str
    by_uri: dict[str, list[types.Diagnostic]]
    versions: dict[str, int | None]
    shown: Shown | None  # for an open document
    problems: bool  # findings, or a file that cannot be parsed or read


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
        self.worker = Worker()
        self.debounce = DEBOUNCE_SECONDS
        self.unsafe_fixes = False
        self.open_text: dict[str, str] = {}  # path -> uri of an open Python file
        self.open_notebooks: dict[str, str] = {}  # path -> uri of an open notebook
        self.shown: dict[str, Shown] = {}  # path -> its last check (open documents)
        self.published: dict[str, set[str]] = {}  # path -> the uris it published diagnostics to
        self.everywhere: set[str] = set()  # files shown by "check all" that are not open
        self.loop: asyncio.AbstractEventLoop | None = None  # the protocol's, set at initialize
        self._timer: asyncio.TimerHandle | None = None
        self._checking = False  # a check of the open documents is running
        self._again = False  # and another was asked for meanwhile

    # -- running work in the worker --------------------------------------------------------
    async def in_worker(self, work: Callable[[], T]) -> T:
        return await asyncio.wrap_future(self.worker.submit(work))

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

    def is_open(self, path: str) -> bool:
        return path in self.open_text or path in self.open_notebooks

    def uri_of(self, path: str) -> str:
        """The uri of a file on disk, under the workspace folder the editor opened."""
        spelled = self.session.spelled(path) if self.session is not None else path
        return from_fs_path(spelled) or spelled

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

        def work() -> list[Delivery]:
            session.documents = {s.path: s.data for s in snapshots}
            outcomes = session.check([*(s.path for s in snapshots), *extra])
            found = [self.delivery(s, outcomes.get(s.path, Outcome()), encoding) for s in snapshots]
            return found + [self.disk_delivery(path, outcomes.get(path, Outcome()), encoding) for path in extra]

        try:
            deliveries = await self.in_worker(work)
        except Exception as error:  # a bug in reglint: logged, and the server goes on
            log.exception("check failed")
            self.tell(f"internal error: {type(error).__name__}: {error}", types.MessageType.Error)
            return
        self.deliver(deliveries)

    def deliver(self, deliveries: list[Delivery]) -> None:
        """Publish what the worker found, for the files still shown (a document closed while
        it was being checked shows nothing)."""
        for delivery in deliveries:
            path = delivery.path
            if delivery.shown is not None:
                if not self.is_open(path):
                    continue
                self.shown[path] = delivery.shown
            else:
                if self.is_open(path) or path not in self.everywhere:
                    continue
                if not delivery.problems:
                    self.everywhere.discard(path)
            by_uri = dict(delivery.by_uri)
            for stale in self.published.get(path, set()) - set(by_uri):
                by_uri[stale] = []
            self.published[path] = {uri for uri, items in by_uri.items() if items} | set(delivery.by_uri)
            self.publish([(uri, items, delivery.versions.get(uri)) for uri, items in by_uri.items()])

    def publish(self, published: list[tuple[str, list[types.Diagnostic], int | None]]) -> None:
        for uri, diagnostics, version in published:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
            )

    def delivery(self, snapshot: Snapshot, outcome: Outcome, encoding: str) -> Delivery:
        """The diagnostics of a checked file, by the uri each is shown in (each cell of an
        open notebook gets its list, empty ones too: that clears what a cell showed)."""
        session = self.session
        assert session is not None
        place = _place(snapshot, encoding)
        if snapshot.cells is not None and not snapshot.on_disk:
            uris = [cell.uri for cell in snapshot.cells]
        else:
            uris = [snapshot.uri]
        by_uri: dict[str, list[types.Diagnostic]] = {uri: [] for uri in uris}
        for error in outcome.internal_errors:
            self.tell(f"internal error in {error.path}: {error.message}", types.MessageType.Error)
        if outcome.read_error is not None:
            by_uri[snapshot.uri].append(read_diagnostic(outcome.read_error))
        if place is not None:
            root = str(session.project_of(snapshot.path).root) + os.sep
            # a notebook's messages cite its cells (`cell 2:1`), as the command line's do
            files = Files({snapshot.path: snapshot.data}) if is_notebook(snapshot.path) else None

            def shown(text: str) -> str:
                cited = files.cited(snapshot.path, text) if files is not None else text
                return cited.replace(root, "")

            if outcome.parse_error is not None:
                uri, found = parse_diagnostic(outcome.parse_error, place)
                by_uri.setdefault(uri, []).append(found)
            for finding in outcome.findings:
                uri, found = diagnostic(finding, place, shown, self._text_on_disk, self.uri_of)
                by_uri.setdefault(uri, []).append(found)
        versions: dict[str, int | None] = dict(snapshot.cell_versions or {})
        if snapshot.cells is None:
            versions[snapshot.uri] = snapshot.version
        problems = bool(outcome.findings or outcome.parse_error or outcome.read_error)
        shown_entry = None if snapshot.on_disk else Shown(snapshot, outcome, place)
        return Delivery(snapshot.path, by_uri, versions, shown_entry, problems)

    def disk_delivery(self, path: str, outcome: Outcome, encoding: str) -> Delivery:
        """The diagnostics of a file that is not open (a "check all" result)."""
        session = self.session
        assert session is not None
        uri = self.uri_of(path)
        data = session.data_of(path)
        if data is None:
            snapshot = Snapshot(uri, path, b"", "utf-8", None, on_disk=True)
        elif path.endswith(".ipynb"):
            snapshot = Snapshot(uri, path, data, "utf-8", None, cells=[], on_disk=True)
        else:
            snapshot = Snapshot(uri, path, data, decode(data)[1], None, on_disk=True)
        return self.delivery(snapshot, outcome, encoding)

    def _text_on_disk(self, path: str) -> Text | None:
        session = self.session
        if session is None or path.endswith(".ipynb"):
            return None
        data = session.data_of(path)
        return None if data is None else Text(decode(data)[0], self.encoding)

    # -- code actions ----------------------------------------------------------------------
    def resolves_edits(self) -> bool:
        """Whether the client asks for an action's edit when it is chosen (codeAction/resolve)."""
        document = self.client_capabilities.text_document
        action = document.code_action if document is not None else None
        support = action.resolve_support if action is not None else None
        return support is not None and "edit" in support.properties

    async def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        path = self.path_of_uri(params.text_document.uri)
        snapshot = self.snapshot(path) if path is not None else None
        session = self.session
        if snapshot is None or session is None:
            return []
        encoding = self.encoding
        only = params.context.only
        lazy = self.resolves_edits()

        def wanted(kind: str) -> bool:
            return not only or any(kind == k or kind.startswith(f"{k}.") for k in only)

        # fixing the whole document costs as much as a check: an editor asks for the actions
        # at every move of the cursor, so it is computed when chosen (resolve), or when the
        # editor asks for fix-all by kind (on save); an editor that cannot resolve an action
        # gets it by kind only
        asked_for_fix_all = bool(only) and wanted(FIX_ALL)

        def work() -> list[types.CodeAction]:
            shown = self.current(snapshot, encoding)
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
            fixable = any(f.fix is not None and f.fix.applicable(self.unsafe_fixes) for f in shown.outcome.findings)
            if wanted(FIX_ALL) and fixable:
                title = f"reglint: fix all {'fixable' if self.unsafe_fixes else 'safe fixes'}"
                if asked_for_fix_all:
                    edit = self.fix_all_edit(shown)
                    if edit is not None:
                        actions.append(types.CodeAction(title=title, kind=FIX_ALL, edit=edit))
                elif lazy:
                    data = {"uri": params.text_document.uri, "path": snapshot.path}
                    actions.append(types.CodeAction(title=title, kind=FIX_ALL, data=data))
            return actions

        try:
            return await self.in_worker(work)
        except Exception as error:
            log.exception("code actions failed")
            self.tell(f"internal error: {type(error).__name__}: {error}", types.MessageType.Error)
            return []

    async def resolve(self, action: types.CodeAction) -> types.CodeAction:
        """The edit of a fix-all action offered without one."""
        data = action.data if isinstance(action.data, dict) else {}
        path = data.get("path")
        snapshot = self.snapshot(path) if isinstance(path, str) else None
        if snapshot is None or self.session is None:
            return action
        encoding = self.encoding

        def work() -> types.WorkspaceEdit | None:
            return self.fix_all_edit(self.current(snapshot, encoding))

        action.edit = await self.in_worker(work)
        return action

    def current(self, snapshot: Snapshot, encoding: str) -> Shown:
        """The check of a document as it stands (checked again if it changed since)."""
        session = self.session
        assert session is not None
        shown = self.shown.get(snapshot.path)
        if shown is None or shown.snapshot.data != snapshot.data:
            session.documents[snapshot.path] = snapshot.data
            outcome = session.check([snapshot.path]).get(snapshot.path, Outcome())
            shown = Shown(snapshot, outcome, _place(snapshot, encoding))
        return shown

    def fix_all_edit(self, shown: Shown) -> types.WorkspaceEdit | None:
        session = self.session
        assert session is not None
        unsafe = self.unsafe_fixes
        if unsafe not in shown.fix_all:
            shown.fix_all[unsafe] = session.fix_all(shown.snapshot.path, unsafe=unsafe)
        fixed = shown.fix_all[unsafe]
        if fixed is None or shown.place is None:
            return None
        return self.edit(shown.snapshot, shown.place, fixed)

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
                sources = cell_sources(snapshot.path, fixed)
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
        self.everywhere.discard(path)
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

        def work() -> tuple[list[Delivery], dict[str, int]]:
            session.documents = {s.path: s.data for s in snapshots}
            open_paths = {s.path for s in snapshots}
            paths = sorted(set(session.workspace_files()) | open_paths)
            outcomes = session.check(paths, progress=report)
            found = [self.delivery(s, outcomes.get(s.path, Outcome()), encoding) for s in snapshots]
            findings = 0
            for path in paths:
                outcome = outcomes.get(path, Outcome())
                findings += len(outcome.findings)
                if path not in open_paths:
                    found.append(self.disk_delivery(path, outcome, encoding))
            return found, {"files": len(paths), "findings": findings}

        try:
            deliveries, summary = await self.in_worker(work)
        finally:
            if progress:
                self.work_done_progress.end(token, types.WorkDoneProgressEnd(message="done"))
        self.everywhere.update(d.path for d in deliveries if d.shown is None and d.problems)
        self.deliver(deliveries)
        return summary


def _place(snapshot: Snapshot, encoding: str) -> Place | None:
    try:
        if snapshot.cells is not None and snapshot.on_disk:
            return Place(snapshot.uri, "", encoding, data=snapshot.data, notebook_file=True)
        if snapshot.cells is not None:
            return Place(snapshot.uri, "", encoding, snapshot.cells, snapshot.data)
        return Place(snapshot.uri, decode(snapshot.data, snapshot.encoding)[0], encoding)
    except SourceError:
        return None


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
