"""Benchmark reglint on any directory, next to libcst's and `ast`'s parse and Ruff.

    python benchmarks/bench.py DIR [--runs 3] [--every N] [--skip NAME ...] [--json OUT]

Prints the number of files and lines (and how many the prefilter lets through), then for
each measurement the median over `--runs` runs of wall time, CPU time (user + system of the
measured process and all its descendants, from getrusage(RUSAGE_CHILDREN)) and peak memory:
`tree MB` is the peak of the summed memory of the process tree, sampled every 100 ms from
/proc (proportional set size: a page shared by forked workers counts once in the sum),
`max proc MB` the largest single process (ru_maxrss, resident). Ratios follow the table.

reglint always runs as a subprocess, exactly as a user runs it, from this checkout:
`python -m reglint check --exit-zero -q ...`. Nothing here is imported into the timed runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", ".reglint_cache", ".ruff_cache", "node_modules"}


# ------------------------------------------------------------------------------------------
# measuring a process tree


def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: the ppid follows the last ')'
        fields = stat[stat.rindex(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _rss_kb(pid: int) -> int:
    """The proportional set size (Pss: pages shared by n processes count 1/n in each, so
    forked workers sharing the parent's pages are not counted twice), else the RSS."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeSampler(threading.Thread):
    """Peak summed memory (Pss) of a process and its descendants, sampled from /proc."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        # 20 ms cost a third of a CPU (reading smaps_rollup walks the page tables), which on a
        # 2-CPU machine slowed the parallel run it measured; a file's peak lasts far longer
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        if not os.path.isdir("/proc"):
            return
        while not self.stopped.is_set():
            children = _children_of()
            total, stack = 0, [self.pid]
            while stack:
                pid = stack.pop()
                total += _rss_kb(pid)
                stack.extend(children.get(pid, ()))
            self.peak_kb = max(self.peak_kb, total)
            self.stopped.wait(self.interval)


@dataclass
class Run:
    wall: float
    cpu: float
    tree_mb: float
    max_proc_mb: float
    returncode: int


def measure(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        # wait4: the child's own rusage, which includes every descendant it waited for (the
        # worker processes): CPU time summed, ru_maxrss the largest single process
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stopped.set()
        sampler.join()
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read()[-500:].decode(errors="replace")
            sys.stderr.write(f"warning: {' '.join(command[:4])}... exited {proc.returncode}: {tail}\n")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, cpu, sampler.peak_kb / 1024, usage.ru_maxrss / 1024, proc.returncode)


@dataclass
class Row:
    name: str
    command: str
    runs: list[Run] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(run, attr) for run in self.runs)


# ------------------------------------------------------------------------------------------
# the corpus


def python_files(directory: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        found.extend(Path(dirpath, name) for name in sorted(filenames) if name.endswith(".py"))
    return found


def subset(directory: Path, every: int, into: Path) -> Path:
    """Copy every `every`-th Python file (in path order) of `directory` under `into`."""
    for index, path in enumerate(python_files(directory)):
        if index % every == 0:
            target = into / path.relative_to(directory)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return into


def describe(directory: Path) -> dict[str, int]:
    """Files and lines, and how many of them contain a token of the default rules."""
    sys.path.insert(0, str(ROOT))
    from reglint.config import Settings
    from reglint.prefilter import rules_to_run

    rules = Settings().enabled_rules()
    files = lines = relevant = relevant_lines = 0
    for path in python_files(directory):
        raw = path.read_bytes()
        count = raw.count(b"\n") + (0 if raw.endswith(b"\n") or not raw else 1)
        files += 1
        lines += count
        if rules_to_run(raw, rules):
            relevant += 1
            relevant_lines += count
    return {
        "files": files,
        "lines": lines,
        "relevant_files": relevant,
        "relevant_lines": relevant_lines,
        "rules": len(rules),
    }


PARSE_SCRIPT = r"""
import os, sys
which, listing = sys.argv[1], sys.argv[2]
paths = open(listing, encoding="utf-8").read().splitlines()
if which == "libcst":
    import libcst
    parse = libcst.parse_module
else:
    import ast
    parse = ast.parse
for path in paths:
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        parse(data)
    except Exception:
        pass
"""


# ------------------------------------------------------------------------------------------
# the benchmark


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (the median is shown)")
    parser.add_argument(
        "--heavy-runs",
        type=int,
        help="runs of the measurements that parse everything (cold, --jobs, parse-only, Ruff --no-cache); "
        "default: --runs. The warm and cached measurements always use --runs",
    )
    parser.add_argument("--every", type=int, default=1, help="benchmark a copy holding every N-th file only")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        help="measurements to leave out: cold, warm, jobs1, jobs2, libcst, libcst-relevant, ast, ruff, ruff-cached",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    directory = args.directory.resolve()
    scratch = Path(tempfile.mkdtemp(prefix="reglint-bench-"))
    try:
        if args.every > 1:
            directory = subset(directory, args.every, scratch / "corpus")
        return _bench(directory, args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _bench(directory: Path, args: argparse.Namespace, scratch: Path) -> int:
    facts = describe(directory)
    jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "REGLINT_NO_PROGRESS": "1"}
    env.pop("REGLINT_CACHE_DIR", None)
    py = sys.executable
    reglint = [py, "-m", "reglint", "check", "--exit-zero", "-q"]
    cache_dir = scratch / "reglint-cache"
    listing_all = scratch / "all.txt"
    listing_all.write_text("\n".join(str(p) for p in python_files(directory)), encoding="utf-8")
    parse_all = [py, "-c", PARSE_SCRIPT, "libcst", str(listing_all)]
    listing_relevant = scratch / "relevant.txt"
    sys.path.insert(0, str(ROOT))
    from reglint.config import Settings
    from reglint.prefilter import rules_to_run

    rules = Settings().enabled_rules()
    listing_relevant.write_text(
        "\n".join(str(p) for p in python_files(directory) if rules_to_run(p.read_bytes(), rules)), encoding="utf-8"
    )
    ruff = shutil.which("ruff")
    ruff_cache = scratch / "ruff-cache"
    ruff_all = [ruff or "ruff", "check", "--select", "ALL", "--exit-zero", "-q"]

    def prime_reglint() -> None:
        shutil.rmtree(cache_dir, ignore_errors=True)
        measure([*reglint, "--cache-dir", str(cache_dir), str(directory)], directory, env)

    def prime_ruff() -> None:
        shutil.rmtree(ruff_cache, ignore_errors=True)
        measure(
            [ruff or "ruff", "check", "--select", "ALL", "--exit-zero", "-q", "--cache-dir", str(ruff_cache), "."],
            directory,
        )

    # the warm run after an edit: a copy of the corpus (the corpus itself is never written),
    # primed, and before each measured run one file passing the prefilter (of median size)
    # gets a new comment line
    relevant = [Path(p) for p in listing_relevant.read_text(encoding="utf-8").splitlines() if p]
    edit_copy = scratch / "edited"
    edit_cache = scratch / "reglint-cache-edited"
    edited = sorted(relevant, key=lambda p: p.stat().st_size)[len(relevant) // 2] if relevant else None
    edits = iter(range(1_000_000))

    def prime_edited() -> None:
        shutil.rmtree(edit_copy, ignore_errors=True)
        shutil.rmtree(edit_cache, ignore_errors=True)
        shutil.copytree(directory, edit_copy, symlinks=True)
        measure([*reglint, "--cache-dir", str(edit_cache), str(edit_copy)], edit_copy, env)

    def edit() -> None:
        assert edited is not None
        with open(edit_copy / edited.relative_to(directory), "a", encoding="utf-8") as handle:
            handle.write(f"# reglint benchmark edit {next(edits)}\n")

    plan: list[tuple[str, str, list[str], dict[str, str] | None, Callable[[], None] | None]] = [
        (
            "cold",
            f"reglint cold (--no-cache, default jobs = {jobs})",
            [*reglint, "--no-cache", str(directory)],
            env,
            None,
        ),
        (
            "warm",
            "reglint warm (cache primed, nothing changed)",
            [*reglint, "--cache-dir", str(cache_dir), str(directory)],
            env,
            prime_reglint,
        ),
        (
            "warm-edit",
            f"reglint warm, one file edited before each run ({edited.name if edited else '-'})",
            [*reglint, "--cache-dir", str(edit_cache), str(edit_copy)],
            env,
            prime_edited,
        ),
        ("jobs1", "reglint --jobs 1 (--no-cache)", [*reglint, "--no-cache", "--jobs", "1", str(directory)], env, None),
    ]
    if jobs != 2:
        plan.append(
            (
                "jobs2",
                "reglint --jobs 2 (--no-cache)",
                [*reglint, "--no-cache", "--jobs", "2", str(directory)],
                env,
                None,
            )
        )
    plan += [
        (
            "libcst",
            "libcst parse-only, all files, 1 process",
            parse_all,
            None,
            None,
        ),
        (
            "libcst-relevant",
            "libcst parse-only, files passing the prefilter, 1 process",
            [py, "-c", PARSE_SCRIPT, "libcst", str(listing_relevant)],
            None,
            None,
        ),
        ("ast", "ast parse-only, all files, 1 process", [py, "-c", PARSE_SCRIPT, "ast", str(listing_all)], None, None),
    ]
    if ruff:
        plan += [
            (
                "ruff",
                "ruff check --select ALL --no-cache",
                [ruff, "check", "--select", "ALL", "--no-cache", "--exit-zero", "-q", "."],
                None,
                None,
            ),
            (
                "ruff-cached",
                "ruff check --select ALL (cache primed)",
                [*ruff_all, "--cache-dir", str(ruff_cache), "."],
                None,
                prime_ruff,
            ),
        ]
    # Runs are interleaved (round robin over the measurements) rather than done one
    # measurement after the other, so that a change in the machine's load during the
    # benchmark does not favour the measurements that happened to run while it was quiet.
    rows: dict[str, Row] = {}
    selected = [entry for entry in plan if entry[0] not in args.skip]
    for key, name, command, _, prime in selected:
        if prime is not None:
            prime()
        rows[key] = Row(name, " ".join(command))
    for round_ in range(max(args.runs, args.heavy_runs or 0)):
        for key, name, command, run_env, _ in selected:
            cheap = key in ("warm", "warm-edit", "ruff-cached")
            runs = args.runs if cheap or not args.heavy_runs else args.heavy_runs
            if round_ < runs:
                if key == "warm-edit":
                    edit()
                rows[key].runs.append(measure(command, edit_copy if key == "warm-edit" else directory, run_env))
                sys.stderr.write(f"run {round_ + 1}: {name}: {rows[key].runs[-1].wall:.2f} s\n")

    _print(directory, facts, rows, args)
    if args.json:
        data = {
            "directory": str(directory),
            **facts,
            "runs": args.runs,
            "jobs": jobs,
            "rows": {k: {"name": r.name, "runs": [asdict(x) for x in r.runs]} for k, r in rows.items()},
        }
        args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return 0


def _print(directory: Path, facts: dict[str, int], rows: dict[str, Row], args: argparse.Namespace) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"corpus: {directory}")
    print(
        f"files: {facts['files']:,}  lines: {facts['lines']:,}  "
        f"passing the prefilter ({facts['rules']} default rules): {facts['relevant_files']:,} files, "
        f"{facts['relevant_lines']:,} lines"
    )
    heavy = args.heavy_runs or args.runs
    print(f"median of {args.runs} run(s) for warm/cached rows, {heavy} for the others")
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} CPUs\n")
    print(f"| {'measurement':<58} | wall s | CPU s | tree MB | max proc MB |")
    print(f"|{'-' * 60}|-------:|------:|--------:|------------:|")
    for row in rows.values():
        print(
            f"| {row.name:<58} | {row.median('wall'):6.2f} | {row.median('cpu'):5.1f} | "
            f"{row.median('tree_mb'):7.0f} | {row.median('max_proc_mb'):11.0f} |"
        )

    def ratio(a: str, b: str, what: str = "wall") -> str:
        if a in rows and b in rows and rows[b].median(what) > 0:
            return f"{rows[a].median(what) / rows[b].median(what):.2f}"
        return "n/a"

    print("\nratios (wall time unless noted):")
    print(f"  reglint cold / ruff --select ALL --no-cache:   {ratio('cold', 'ruff')}  (goal <= 1)")
    print(f"  reglint warm / ruff --select ALL cached:       {ratio('warm', 'ruff-cached')}  (goal <= 2)")
    if "warm" in rows:
        print(f"  reglint warm, seconds:                         {rows['warm'].median('wall'):.2f}  (goal < 1)")
    if "warm-edit" in rows:
        print(f"  reglint warm, one file edited, seconds:        {rows['warm-edit'].median('wall'):.2f}  (goal < 0.5)")
    two = "jobs2" if "jobs2" in rows else "cold"
    print(f"  reglint --jobs 1 / --jobs 2 (speed-up):        {ratio('jobs1', two)}  (goal >= 1.7)")
    print(f"  reglint cold / libcst parse-only (relevant):   {ratio('cold', 'libcst-relevant')}")
    print(f"  reglint --jobs 1 / libcst parse (relevant):    {ratio('jobs1', 'libcst-relevant', 'cpu')}  (CPU)")
    print(f"  libcst parse-only / ast parse-only (all):      {ratio('libcst', 'ast')}")
    if "cold" in rows:
        print(f"  reglint cold peak memory, process tree:        {rows['cold'].median('tree_mb'):.0f} MB  (goal < 400)")


if __name__ == "__main__":
    sys.exit(main())
