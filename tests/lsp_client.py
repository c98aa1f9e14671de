"""An editor for the language server's tests: pygls's client driving the real `reglint
server` process over standard input and output (nothing mocked)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 60.0  # a cold project check imports the rules and libcst in the server


def uri(path: Path) -> str:
    found = from_fs_path(str(path))
    assert found is not None
    return found


class Editor:
    def __init__(self, *, resolve: bool = False) -> None:
        self.resolve = resolve  # the editor asks for an action's edit when it is chosen
        self.client = LanguageClient("reglint-tests", "1")
        self.diagnostics: dict[str, list[types.Diagnostic]] = {}
        self.versions: dict[str, int | None] = {}
        self.published: list[str] = []  # uris, in the order their diagnostics arrived
        self.logs: list[str] = []
        self.progress: list[Any] = []
        self.registrations: list[types.Registration] = []
        self.changed = asyncio.Condition()
        self.open_versions: dict[str, int] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        async def publish(params: types.PublishDiagnosticsParams) -> None:
            async with self.changed:
                self.diagnostics[params.uri] = list(params.diagnostics)
                self.versions[params.uri] = params.version
                self.published.append(params.uri)
                self.changed.notify_all()

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def log_message(params: types.LogMessageParams) -> None:
            self.logs.append(params.message)

        @self.client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def progress_create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @self.client.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            self.progress.append(params.value)

        @self.client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register(params: types.RegistrationParams) -> None:
            self.registrations.extend(params.registrations)

    async def start(
        self, root: Path, *, options: dict[str, Any] | None = None, encoding: str | None = None
    ) -> types.InitializeResult:
        env = {**os.environ, "PYTHONPATH": str(REPO), "REGLINT_CACHE_DIR": str(root / ".cache-reglint")}
        await self.client.start_io(sys.executable, "-m", "reglint", "server", env=env, cwd=str(root))
        capabilities = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(
                did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True),
                workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
            ),
            window=types.WindowClientCapabilities(work_done_progress=True),
            notebook_document=types.NotebookDocumentClientCapabilities(
                synchronization=types.NotebookDocumentSyncClientCapabilities()
            ),
            general=types.GeneralClientCapabilities(position_encodings=[encoding]) if encoding else None,
            text_document=types.TextDocumentClientCapabilities(
                code_action=types.CodeActionClientCapabilities(
                    resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"])
                )
            )
            if self.resolve
            else None,
        )
        result = await asyncio.wait_for(
            self.client.initialize_async(
                types.InitializeParams(
                    capabilities=capabilities,
                    workspace_folders=[types.WorkspaceFolder(uri(root), root.name)],
                    initialization_options=options,
                )
            ),
            TIMEOUT,
        )
        self.client.initialized(types.InitializedParams())
        return result

    async def check_all(self) -> Any:
        """Run the server's "check all" command; its summary."""
        command = types.ExecuteCommandParams("reglint.checkAll")
        return await asyncio.wait_for(self.client.workspace_execute_command_async(command), 60)

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), TIMEOUT)
            self.client.exit(None)
        finally:
            await self.client.stop()

    # -- documents ---------------------------------------------------------------------------
    def open(self, path: Path, text: str | None = None) -> str:
        found = uri(path)
        self.open_versions[found] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(found, "python", 1, path.read_text() if text is None else text)
            )
        )
        return found

    def change(self, found: str, text: str) -> None:
        self.open_versions[found] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(self.open_versions[found], found),
                [types.TextDocumentContentChangeWholeDocument(text)],
            )
        )

    def close(self, found: str) -> None:
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(found)))

    async def wait_for(
        self, found: str, predicate: Callable[[list[types.Diagnostic]], bool], after: int = 0
    ) -> list[types.Diagnostic]:
        """The diagnostics of `found`, once a publication after the `after`-th one satisfies
        `predicate`."""

        def ready() -> bool:
            return any(u == found for u in self.published[after:]) and predicate(self.diagnostics.get(found, []))

        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(ready), TIMEOUT)
        return self.diagnostics[found]

    async def latest(self, found: str) -> list[types.Diagnostic]:
        """The diagnostics of the document's current version (not an earlier publication)."""
        return await self.wait_for(found, lambda d: self.versions.get(found) == self.open_versions[found])

    async def code_actions(
        self, found: str, where: types.Range, diagnostics: list[types.Diagnostic], only: list[str] | None = None
    ) -> list[types.CodeAction]:
        result = await asyncio.wait_for(
            self.client.text_document_code_action_async(
                types.CodeActionParams(
                    types.TextDocumentIdentifier(found), where, types.CodeActionContext(diagnostics, only=only)
                )
            ),
            TIMEOUT,
        )
        return [a for a in result or [] if isinstance(a, types.CodeAction)]


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """The text with LSP edits applied (UTF-16 positions, as the server was asked for)."""
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)

    def offset(position: types.Position) -> int:
        line_start = starts[position.line]
        count = 0
        index = line_start
        while index < len(text) and text[index] != "\n" and count < position.character:
            count += 2 if ord(text[index]) > 0xFFFF else 1
            index += 1
        return index

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def edits_for(action: types.CodeAction, found: str) -> list[types.TextEdit]:
    edit = action.edit
    assert edit is not None
    if edit.document_changes:
        return [
            e
            for change in edit.document_changes
            if isinstance(change, types.TextDocumentEdit) and change.text_document.uri == found
            for e in change.edits
            if isinstance(e, types.TextEdit)
        ]
    return list((edit.changes or {}).get(found, []))


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
