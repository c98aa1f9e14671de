"""The protocol's handlers of `reglint server` (what the editor says, and what it asks),
and `serve`, which runs the server over standard input and output or TCP."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from reglint.lsp.server import CHECK_ALL, FIX_ALL, ReglintServer
from reglint.lsp.session import Session, _real, is_checked

# what the server asks the editor to tell it of: the files of the projects, their
# configuration and their dependency declarations
WATCHED = (
    "**/*.py",
    "**/*.ipynb",
    "**/pyproject.toml",
    "**/reglint.toml",
    "**/.reglint.toml",
    "**/setup.cfg",
    "**/setup.py",
    "**/Pipfile",
    "**/environment.yml",
    "**/environment.yaml",
    "**/requirements*.txt",
    "**/requirements/*.txt",
)


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
        path = ls.path_of_uri(params.notebook_document.uri)
        if path is not None and ls.open_notebooks.pop(path, None) is not None:
            ls.closed(path)

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
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=True),
    )
    async def code_action(ls: ReglintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return await ls.code_actions(params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: ReglintServer, action: types.CodeAction) -> types.CodeAction:
        return await ls.resolve(action)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def folders_changed(ls: ReglintServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        session = ls.session
        if session is None:
            return
        folders = [to_fs_path(f.uri) for f in ls.workspace.folders.values()]
        await ls.in_worker(lambda: session.set_folders([Path(f) for f in folders if f]))
        ls.schedule(0)

    @server.command(CHECK_ALL)
    async def check_all(ls: ReglintServer, *args: Any) -> dict[str, int]:
        return await ls.check_all()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: ReglintServer, *args: Any) -> None:
        if ls._timer is not None:
            ls._timer.cancel()
        ls.worker.stop()

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
