"""How fast `reglint server` answers an edit, and how much memory it holds.

    python benchmarks/server_bench.py DIR [--file PATH] [--edits 20] [--debounce MS]

DIR is copied to a temporary folder with a `reglint.toml` (so it is one project, as a
repository is), and the server is started on it over standard input and output, driven by
pygls's client as an editor drives it. Printed:

- the cold start: from opening FILE (default: the file holding a rule's words whose line
  count is nearest 1,000) to its first diagnostics, every file of the project analysed;
- the latency of an edit with warm facts: from a `didChange` of FILE (a comment line changed)
  to the diagnostics of that version, median and worst of `--edits` edits, with the
  server's debounce as configured (`--debounce`, default the server's) and without (0 ms:
  the analysis alone);
- memory: the server process's resident set (now and its peak, from /proc) after a
  "check all" of the whole project.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from reglint.prefilter import contains_token, prefilter_tokens  # noqa: E402
from reglint.rule import all_rules  # noqa: E402  (the repository on the path first)
from tests.lsp_client import Editor  # noqa: E402


def pick_file(root: Path) -> Path:
    tokens = prefilter_tokens(all_rules())
    best: tuple[int, str] | None = None
    for path in sorted(root.rglob("*.py")):
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        if not contains_token(raw, tokens, python=True):
            continue
        lines = raw.count(b"\n")
        key = (abs(lines - 1000), str(path))
        if best is None or key < best:
            best = key
    if best is None:
        raise SystemExit("no file holds a rule's words")
    return Path(best[1])


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in kB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found.get("VmRSS", 0), found.get("VmHWM", 0)


async def edits(editor: Editor, found: str, text: str, count: int) -> list[float]:
    times = []
    for index in range(count):
        changed = f"{text}\n# edit {index} at {time.time_ns()}\n"  # never seen before: not in a cache
        seen = len(editor.published)
        start = time.perf_counter()
        editor.change(found, changed)
        version = editor.open_versions[found]
        await editor.wait_for(found, lambda d, v=version: editor.versions.get(found) == v, after=seen)
        times.append(time.perf_counter() - start)
    return times


async def bench(project: Path, target: Path, count: int, debounce: float | None) -> None:
    text = target.read_text(encoding="utf-8", errors="replace")
    for label, options in (
        ("configured", None if debounce is None else {"debounce": debounce}),
        ("0 ms", {"debounce": 0}),
    ):
        editor = Editor()
        await editor.start(project, options=options)
        try:
            start = time.perf_counter()
            found = editor.open(target, text)
            await editor.wait_for(found, lambda d: True)
            cold = time.perf_counter() - start
            if label == "configured":
                print(f"cold: first diagnostics of {target.relative_to(project)} after {cold:.2f} s")
            times = await edits(editor, found, text, count)
            ms = [t * 1000 for t in times]
            print(
                f"edit -> diagnostics, debounce {label}: median {statistics.median(ms):.0f} ms, "
                f"worst {max(ms):.0f} ms ({count} edits)"
            )
            if label == "configured":
                process = editor.client._server  # the server's process, for /proc
                start = time.perf_counter()
                summary = await editor.client.workspace_execute_command_async(
                    types.ExecuteCommandParams("reglint.checkAll")
                )
                took = time.perf_counter() - start
                rss, peak = memory_kb(process.pid) if process is not None else (0, 0)
                print(f"check all: {summary} in {took:.2f} s")
                print(f"memory of the server: {rss / 1024:.0f} MB resident, peak {peak / 1024:.0f} MB")
        finally:
            await editor.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--file", type=Path, help="the file to edit (relative to DIRECTORY)")
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--debounce", type=float, help="the server's debounce in ms (default: its own)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reglint-server-bench-") as scratch:
        project = Path(scratch) / "project"
        shutil.copytree(args.directory, project, symlinks=True)
        (project / "reglint.toml").write_text("# one project\n")
        target = project / args.file if args.file else pick_file(project)
        files = sum(1 for p in project.rglob("*") if p.suffix in (".py", ".ipynb"))
        lines = target.read_bytes().count(b"\n")
        print(f"project: {args.directory} ({files} files); edited: {target.relative_to(project)} ({lines} lines)")
        asyncio.run(bench(project, target, args.edits, args.debounce))


if __name__ == "__main__":
    main()
