"""`reglint server` end to end: pygls's client drives the real server process over standard
input and output (or TCP), as an editor does. Nothing is mocked."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp_client import REPO, Editor, apply, edits_for, run, uri

TF1 = "import tensorflow.compat.v1 as tf\n"
MODEL = TF1 + "\n\ndef build(x):\n    return tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.1))\n"
MODEL_PLAIN = TF1 + "\n\ndef build(x):\n    return tf.layers.dense(x, 1)\n"
TRAIN = (
    TF1 + "from model import build\n\n"
    "loss = tf.reduce_mean(tf.square(build(x) - y))\n"
    "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
)
KERAS2 = (
    "from tensorflow import keras\n"
    "from tensorflow.keras import layers, regularizers\n\n"
    "model = keras.Sequential(\n"
    "    [\n"
    "        layers.Conv2D(32, 5, kernel_regularizer=regularizers.l2(l=0.01)),\n"
    "        layers.Dense(10, kernel_initializer=regularizers.l2(0.01)),\n"
    "    ]\n"
    ")\n"
)
FULL_RANGE = types.Range(types.Position(0, 0), types.Position(10_000, 0))


def codes(diagnostics: list[types.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in diagnostics)


def cli_fix(directory: Path, name: str, *extra: str) -> str:
    """What `reglint check --fix` makes of a file (on a copy: the test's file stays)."""
    subprocess.run(
        [sys.executable, "-m", "reglint", "check", "--fix", "--no-cache", "-q", "--exit-zero", *extra, name],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
        capture_output=True,
    )
    return (directory / name).read_text()


def test_diagnostics_on_open_and_after_each_edit(tmp_path: Path) -> None:
    (tmp_path / "keras2_model.py").write_text(KERAS2)

    async def scenario() -> None:
        editor = Editor()
        result = await editor.start(tmp_path)
        capabilities = result.capabilities
        assert capabilities.execute_command_provider is not None
        assert "reglint.checkAll" in capabilities.execute_command_provider.commands
        assert isinstance(capabilities.code_action_provider, types.CodeActionOptions)
        assert "source.fixAll.reglint" in (capabilities.code_action_provider.code_action_kinds or [])
        try:
            found = editor.open(tmp_path / "keras2_model.py")
            diagnostics = await editor.wait_for(found, lambda d: bool(d))
            assert codes(diagnostics) == ["REG002", "REG010"]
            by_code = {d.code: d for d in diagnostics}
            keyword = by_code["REG010"]
            line = KERAS2.splitlines()[5]
            start = line.index("l=0.01")
            assert keyword.range == types.Range(types.Position(5, start), types.Position(5, start + len("l=0.01")))
            assert keyword.severity == types.DiagnosticSeverity.Warning
            assert keyword.tags is not None and types.DiagnosticTag.Deprecated in keyword.tags
            assert keyword.source == "reglint"
            assert keyword.code_description is not None
            assert keyword.code_description.href.endswith("rules/REG010.md")
            slot = by_code["REG002"]
            assert slot.severity == types.DiagnosticSeverity.Error
            assert slot.message.startswith("a regularizer (`regularizers.l2(0.01)`) is passed as `kernel_initializer=`")
            assert ";" not in slot.message  # the short message: the help is on the rule's page

            # the editor's text is checked, not the file: the keyword fixed in the buffer only
            seen = len(editor.published)
            editor.change(found, KERAS2.replace("l2(l=0.01)", "l2(0.01)"))
            diagnostics = await editor.latest(found)
            assert codes(diagnostics) == ["REG002"]
            assert editor.versions[found] == 2
            seen = len(editor.published)
            editor.change(found, KERAS2.replace("kernel_initializer=", "kernel_regularizer="))
            diagnostics = await editor.latest(found)
            assert codes(diagnostics) == ["REG010"]

            # closing clears what the document showed
            seen = len(editor.published)
            editor.close(found)
            assert await editor.wait_for(found, lambda d: not d, after=seen) == []
        finally:
            await editor.stop()

    run(scenario())


def test_fix_all_gives_what_check_fix_gives_and_quick_fixes_say_their_safety(tmp_path: Path) -> None:
    (tmp_path / "keras2_model.py").write_text(KERAS2)
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(TRAIN)
    expected = cli_fix(_copy(tmp_path, "cli"), "keras2_model.py")
    assert expected != KERAS2

    async def scenario() -> None:
        editor = Editor()
        await editor.start(tmp_path)
        try:
            found = editor.open(tmp_path / "keras2_model.py")
            diagnostics = await editor.wait_for(found, lambda d: len(d) == 2)
            fix_all = await editor.code_actions(found, FULL_RANGE, [], only=["source.fixAll"])
            assert [a.kind for a in fix_all] == ["source.fixAll.reglint"]
            assert apply(KERAS2, edits_for(fix_all[0], found)) == expected

            # one quick fix per fixable diagnostic, preferred when safe, and a noqa for each
            actions = await editor.code_actions(found, diagnostics[0].range, diagnostics[:1])
            # (this editor cannot resolve an action: fix-all only when asked for by kind)
            assert not any(a.kind == "source.fixAll.reglint" for a in actions)
            titles = [a.title for a in actions]
            code = diagnostics[0].code
            assert any(t.startswith(f"Fix {code}") for t in titles)
            assert f"Suppress {code} on this line (# noqa: {code})" in titles
            quick = next(a for a in actions if a.title.startswith(f"Fix {code}"))
            assert quick.is_preferred and list(quick.diagnostics or []) == diagnostics[:1]
            fixed = apply(KERAS2, edits_for(quick, found))
            editor.change(found, fixed)
            after = await editor.latest(found)
            assert code not in codes(after) and len(after) == 1

            # the suppression silences the finding on its line
            suppress = next(a for a in actions if a.title.startswith("Suppress"))
            silenced = apply(KERAS2, edits_for(suppress, found))
            assert f"# noqa: {code}" in silenced
            editor.change(found, silenced)
            after = await editor.latest(found)
            assert code not in codes(after) and len(after) == 1  # the other finding stays

            # an unsafe fix is offered, labelled, and not preferred
            train = editor.open(tmp_path / "train.py")
            [finding] = await editor.wait_for(train, lambda d: bool(d))
            actions = await editor.code_actions(train, finding.range, [finding])
            unsafe = next(a for a in actions if a.title.startswith("Fix REG001"))
            assert "unsafe" in unsafe.title and not unsafe.is_preferred
            assert "get_regularization_loss()" in apply(TRAIN, edits_for(unsafe, train))
            # and fix-all leaves it alone (safe fixes only)
            assert await editor.code_actions(train, FULL_RANGE, [], only=["source.fixAll"]) == []
        finally:
            await editor.stop()

    run(scenario())


def test_a_change_in_one_file_updates_the_cross_file_finding_shown_in_another(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(TRAIN)

    async def scenario() -> None:
        editor = Editor()
        await editor.start(tmp_path)
        try:
            train = editor.open(tmp_path / "train.py")
            [finding] = await editor.wait_for(train, lambda d: bool(d))
            assert finding.code == "REG001"
            assert "declared at model.py:5" in finding.message
            [related] = finding.related_information or []
            assert related.location.uri == uri(tmp_path / "model.py")
            assert related.location.range.start.line == 4

            # the regularizer removed in model.py's buffer (not saved): train.py is clean
            model = editor.open(tmp_path / "model.py")
            seen = len(editor.published)
            editor.change(model, MODEL_PLAIN)
            assert await editor.wait_for(train, lambda d: not d, after=seen) == []
            # and back
            seen = len(editor.published)
            editor.change(model, MODEL)
            assert codes(await editor.wait_for(train, lambda d: bool(d), after=seen)) == ["REG001"]
            # closing model.py's buffer: train.py is judged with model.py as saved on disk
            (tmp_path / "model.py").write_text(MODEL_PLAIN)
            seen = len(editor.published)
            editor.client.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams(
                    [types.FileEvent(uri(tmp_path / "model.py"), types.FileChangeType.Changed)]
                )
            )
            editor.close(model)
            assert await editor.wait_for(train, lambda d: not d, after=seen) == []
        finally:
            await editor.stop()

    run(scenario())


def test_notebook_documents_are_checked_as_one_module_with_findings_on_their_cells(tmp_path: Path) -> None:
    notebook_path = tmp_path / "train.ipynb"
    cells = [
        (types.NotebookCellKind.Markup, "# Training\nWith `l=`."),
        (types.NotebookCellKind.Code, "from tensorflow.keras import layers, regularizers\n"),
        (types.NotebookCellKind.Code, "x = 1\n"),
        (types.NotebookCellKind.Code, "dense = layers.Dense(10, kernel_regularizer=regularizers.l2(l=0.01))\n"),
    ]
    notebook_path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    notebook_uri = uri(notebook_path)
    cell_uris = [f"vscode-notebook-cell:{notebook_path}#cell{i}" for i in range(len(cells))]

    async def scenario() -> None:
        editor = Editor()
        await editor.start(tmp_path)
        try:
            editor.client.notebook_document_did_open(
                types.DidOpenNotebookDocumentParams(
                    notebook_document=types.NotebookDocument(
                        uri=notebook_uri,
                        notebook_type="jupyter-notebook",
                        version=1,
                        cells=[
                            types.NotebookCell(kind, cell_uri)
                            for (kind, _), cell_uri in zip(cells, cell_uris, strict=True)
                        ],
                    ),
                    cell_text_documents=[
                        types.TextDocumentItem(cell_uri, "python" if kind == 2 else "markdown", 1, text)
                        for (kind, text), cell_uri in zip(cells, cell_uris, strict=True)
                    ],
                )
            )
            [finding] = await editor.wait_for(cell_uris[3], lambda d: bool(d))
            assert finding.code == "REG010"
            assert finding.range.start == types.Position(0, 60)  # line 1 of the fourth cell
            assert editor.diagnostics.get(cell_uris[1]) == []
            # the notebook's own name for the cell: a fix-all for the cell rewrites that cell
            actions = await editor.code_actions(cell_uris[3], FULL_RANGE, [], only=["source.fixAll"])
            [action] = actions
            assert apply(cells[3][1], edits_for(action, cell_uris[3])) == cells[3][1].replace("l2(l=", "l2(l2=")

            # a cell edited: its findings follow
            seen = len(editor.published)
            editor.client.notebook_document_did_change(
                types.DidChangeNotebookDocumentParams(
                    notebook_document=types.VersionedNotebookDocumentIdentifier(2, notebook_uri),
                    change=types.NotebookDocumentChangeEvent(
                        cells=types.NotebookDocumentCellChanges(
                            text_content=[
                                types.NotebookDocumentCellContentChanges(
                                    document=types.VersionedTextDocumentIdentifier(2, cell_uris[3]),
                                    changes=[types.TextDocumentContentChangeWholeDocument("dense = None\n")],
                                )
                            ]
                        )
                    ),
                )
            )
            assert await editor.wait_for(cell_uris[3], lambda d: not d, after=seen) == []
        finally:
            await editor.stop()

    run(scenario())


def test_a_document_that_does_not_parse_gives_one_diagnostic_and_the_server_goes_on(tmp_path: Path) -> None:
    (tmp_path / "keras2_model.py").write_text(KERAS2)

    async def scenario() -> None:
        editor = Editor()
        await editor.start(tmp_path)
        try:
            # (a file without any rule's words is not parsed at all, as on the command line)
            broken = "from tensorflow.keras import regularizers\n\ndef broken(:\n    regularizers.l2(l=1)\n"
            found = editor.open(tmp_path / "keras2_model.py", broken)
            [error] = await editor.wait_for(found, lambda d: bool(d))
            assert error.severity == types.DiagnosticSeverity.Error and error.code is None
            assert error.range.start.line == 2
            assert await editor.code_actions(found, FULL_RANGE, [error]) == []
            editor.change(found, KERAS2)
            assert codes(await editor.latest(found)) == ["REG002", "REG010"]
        finally:
            await editor.stop()

    run(scenario())


def test_settings_come_from_the_workspace_configuration_and_reload_when_it_changes(tmp_path: Path) -> None:
    (tmp_path / "keras2_model.py").write_text(KERAS2)
    config = tmp_path / "reglint.toml"
    config.write_text('ignore = ["REG010"]\n')

    async def scenario() -> None:
        editor = Editor()
        await editor.start(tmp_path)
        try:
            found = editor.open(tmp_path / "keras2_model.py")
            assert codes(await editor.wait_for(found, lambda d: bool(d))) == ["REG002"]
            await asyncio.sleep(0)  # the registration request is sent after `initialized`
            watched = [r for r in editor.registrations if r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
            assert watched, "the server asks to be told of file changes"
            config.write_text('ignore = ["REG002"]\n')
            seen = len(editor.published)
            editor.client.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams([types.FileEvent(uri(config), types.FileChangeType.Changed)])
            )
            # (a new publication, after the settings are read again: the text did not change)
            assert codes(await editor.wait_for(found, lambda d: True, after=seen)) == ["REG010"]
            # a configuration that does not load is shown, and the defaults hold meanwhile
            config.write_text("no-such-key = 1\n")
            seen = len(editor.published)
            editor.client.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams([types.FileEvent(uri(config), types.FileChangeType.Changed)])
            )
            assert codes(await editor.wait_for(found, lambda d: True, after=seen)) == ["REG002", "REG010"]
            assert any("no-such-key" in line for line in editor.logs)
        finally:
            await editor.stop()

    run(scenario())


def test_check_all_reports_the_files_that_are_not_open_with_progress(tmp_path: Path) -> None:
    (tmp_path / "keras2_model.py").write_text(KERAS2)
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "clean.py").write_text("x = 1\n")

    async def scenario() -> None:
        editor = Editor()
        await editor.start(tmp_path)
        try:
            summary = await editor.check_all()
            assert summary == {"files": 4, "findings": 3}
            assert codes(editor.diagnostics[uri(tmp_path / "keras2_model.py")]) == ["REG002", "REG010"]
            assert codes(editor.diagnostics[uri(tmp_path / "train.py")]) == ["REG001"]
            assert uri(tmp_path / "clean.py") not in editor.diagnostics
            kinds = [value.get("kind") if isinstance(value, dict) else value.kind for value in editor.progress]
            assert kinds[0] == "begin" and kinds[-1] == "end"
        finally:
            await editor.stop()

    run(scenario())


def test_positions_are_in_the_clients_units(tmp_path: Path) -> None:
    # an astral character (two UTF-16 units) before the finding on its line
    text = KERAS2.replace("layers.Conv2D(32, 5,", 'layers.Conv2D(32, 5, name="\U0001d520",')
    (tmp_path / "m.py").write_text(text)

    before = text.splitlines()[5].split("l=0.01")[0]
    utf16 = len(before.encode("utf-16-le")) // 2

    async def scenario() -> None:
        for encoding, column in ((None, utf16), ("utf-32", len(before)), ("utf-8", len(before.encode()))):
            editor = Editor()
            await editor.start(tmp_path, encoding=encoding)
            try:
                found = editor.open(tmp_path / "m.py")
                diagnostics = await editor.wait_for(found, lambda d: bool(d))
                keyword = next(d for d in diagnostics if d.code == "REG010")
                assert keyword.range.start.character == column, encoding
            finally:
                await editor.stop()

    run(scenario())


def test_tcp(tmp_path: Path) -> None:
    (tmp_path / "keras2_model.py").write_text(KERAS2)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "reglint", "server", "--tcp", "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )

    async def scenario() -> None:
        editor = Editor()
        for _ in range(100):
            try:
                await editor.client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        await editor.client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(), root_uri=uri(tmp_path), workspace_folders=None
            )
        )
        editor.client.initialized(types.InitializedParams())
        found = editor.open(tmp_path / "keras2_model.py")
        assert codes(await editor.wait_for(found, lambda d: bool(d))) == ["REG002", "REG010"]
        await editor.client.shutdown_async(None)
        editor.client.exit(None)
        await editor.client.stop()

    try:
        run(scenario())
    finally:
        server.kill()
        server.wait()


def test_without_the_server_extra_the_command_says_what_to_install() -> None:
    code = "import sys; sys.modules['pygls'] = None; from reglint.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "server"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "pip install 'reglint[server]'" in done.stderr


def _copy(directory: Path, name: str) -> Path:
    copy = directory.parent / f"{directory.name}-{name}"
    copy.mkdir()
    for path in directory.glob("*.py"):
        (copy / path.name).write_text(path.read_text())
    return copy


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_a_document_closed_while_it_is_checked_shows_nothing(tmp_path: Path) -> None:
    names = [f"k{i}.py" for i in range(6)]
    for name in names:
        (tmp_path / name).write_text(KERAS2)
    (tmp_path / "last.py").write_text(KERAS2)

    async def scenario() -> None:
        editor = Editor()
        await editor.start(tmp_path)
        try:
            for name in names:
                found = editor.open(tmp_path / name)
                editor.close(found)
            last = editor.open(tmp_path / "last.py")
            await editor.wait_for(last, lambda d: bool(d))
            await asyncio.sleep(0.5)  # any check still running has published by now
            for name in names:
                assert editor.diagnostics.get(uri(tmp_path / name), []) == [], name
        finally:
            await editor.stop()

    run(scenario())


def test_exit_during_a_long_check_ends_the_process(tmp_path: Path) -> None:
    big = "from tensorflow.keras import regularizers\n" + "x = regularizers.l2(0.1)\n" * 60_000
    (tmp_path / "big.py").write_text(big)

    async def scenario() -> None:
        editor = Editor()
        await editor.start(tmp_path)
        process = editor.client._server  # the server's process
        assert process is not None
        editor.open(tmp_path / "big.py")
        await asyncio.sleep(0.3)  # the check has started
        await asyncio.wait_for(editor.client.shutdown_async(None), 10)
        editor.client.exit(None)
        await asyncio.wait_for(process.wait(), 5)
        await editor.client.stop()

    run(scenario())


def test_a_fifo_reported_by_the_editor_does_not_block_the_server(tmp_path: Path) -> None:
    (tmp_path / "k.py").write_text(KERAS2)
    os.mkfifo(tmp_path / "pipe.py")

    async def scenario() -> None:
        editor = Editor()
        await editor.start(tmp_path)
        try:
            found = editor.open(tmp_path / "k.py")
            await editor.wait_for(found, lambda d: bool(d))
            editor.client.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams(
                    [types.FileEvent(uri(tmp_path / "pipe.py"), types.FileChangeType.Created)]
                )
            )
            editor.change(found, KERAS2.replace("l2(l=0.01)", "l2(0.01)"))
            latest = await editor.wait_for(found, lambda d: editor.versions.get(found) == 2)
            assert codes(latest) == ["REG002"]
        finally:
            await editor.stop()

    run(scenario())


def test_check_all_places_a_closed_notebooks_findings_in_its_file_and_names_the_cell(tmp_path: Path) -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Notes\n"]},
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": ["from tensorflow.keras import regularizers\n", "r = regularizers.l2(l=0.01)\n"],
            },
        ],
        "metadata": {"kernelspec": {"language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    text = json.dumps(notebook, indent=1)
    (tmp_path / "nb.ipynb").write_text(text)

    async def scenario() -> None:
        editor = Editor()
        await editor.start(tmp_path)
        try:
            await editor.check_all()
            [finding] = editor.diagnostics[uri(tmp_path / "nb.ipynb")]
            assert finding.message.startswith("cell 2:2: ")
            line = text.splitlines()[finding.range.start.line]
            assert line[finding.range.start.character :].startswith("l=0.01")
        finally:
            await editor.stop()

    run(scenario())


def test_a_workspace_reached_through_a_symlink_keeps_the_editors_paths(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "model.py").write_text(MODEL)
    (real / "train.py").write_text(TRAIN)
    link = tmp_path / "link"
    link.symlink_to(real)

    async def scenario() -> None:
        editor = Editor()
        await editor.start(link)
        try:
            await editor.check_all()
            [finding] = editor.diagnostics[uri(link / "train.py")]
            [related] = finding.related_information or []
            assert related.location.uri == uri(link / "model.py")
            assert not any("/real/" in shown for shown in editor.diagnostics)
        finally:
            await editor.stop()

    run(scenario())


def test_workspace_folders_added_later_are_projects_too(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "k.py").write_text(KERAS2)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "model.py").write_text(MODEL)
    (tmp_path / "b" / "train.py").write_text(TRAIN)

    async def scenario() -> None:
        editor = Editor()
        await editor.start(tmp_path / "a")
        try:
            editor.client.workspace_did_change_workspace_folders(
                types.DidChangeWorkspaceFoldersParams(
                    types.WorkspaceFoldersChangeEvent(
                        added=[types.WorkspaceFolder(uri(tmp_path / "b"), "b")], removed=[]
                    )
                )
            )
            summary = await editor.check_all()
            assert summary == {"files": 3, "findings": 3}
            assert codes(editor.diagnostics[uri(tmp_path / "b" / "train.py")]) == ["REG001"]
        finally:
            await editor.stop()

    run(scenario())


def test_fix_all_is_resolved_when_chosen_and_a_bom_does_not_shift_columns(tmp_path: Path) -> None:
    (tmp_path / "k.py").write_text(KERAS2)
    expected = cli_fix(_copy(tmp_path, "cli"), "k.py")
    # a finding on the first line, after a byte-order mark the editor keeps in its text
    first = "\ufefffrom tensorflow.keras import regularizers; r = regularizers.l2(l=0.01)\n"

    async def scenario() -> None:
        editor = Editor(resolve=True)
        await editor.start(tmp_path)
        try:
            found = editor.open(tmp_path / "k.py", first)
            [keyword] = await editor.wait_for(found, lambda d: bool(d))
            assert keyword.range.start == types.Position(0, first.index("l=0.01"))
            editor.change(found, KERAS2)
            diagnostics = await editor.latest(found)
            keyword = next(d for d in diagnostics if d.code == "REG010")
            # the actions at the cursor: the fix-all comes without its edit
            actions = await editor.code_actions(found, keyword.range, [keyword])
            [fix_all] = [a for a in actions if a.kind == "source.fixAll.reglint"]
            assert fix_all.edit is None
            resolved = await asyncio.wait_for(editor.client.code_action_resolve_async(fix_all), 60)
            assert apply(KERAS2, edits_for(resolved, found)) == expected
        finally:
            await editor.stop()

    run(scenario())
