"""Worker processes, the results cache, the tree walk and the progress callback: they may make
reglint faster, never change what it reports. No timing assertions here: figures live in
benchmarks/."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from reglint import engine, runner
from reglint.cache import Cache
from reglint.config import Settings
from reglint.engine import _Walker, analyse_module
from reglint.model import FileResult
from reglint.prefilter import may_matter
from reglint.rule import Rule, all_rules, rules_by_code
from reglint.runner import analyse_many, run
from tests.helpers import ROOT, lint

RULES = all_rules()


def _repo_files() -> list[Path]:
    """Every Python file of the fixtures and examples (what users' code looks like)."""
    found = sorted((ROOT / "fixtures").glob("REG*/*/*.py")) + sorted((ROOT / "examples").glob("*.py"))
    assert found, "no fixtures or examples found"
    return found


def _example_items() -> list[tuple[str, bytes]]:
    """Every rule's VALID and INVALID example, as files."""
    items = []
    for rule in RULES:
        for kind, examples in (("valid", rule.VALID), ("invalid", rule.INVALID)):
            for index, example in enumerate(examples):
                files = dict(example.files) if example.files else {"example.py": example.code}
                for name, text in files.items():
                    items.append((f"{rule.code}-{kind}-{index}/{name}", text.encode()))
    return items


def _items() -> list[tuple[str, bytes]]:
    return [(str(p), p.read_bytes()) for p in _repo_files()] + _example_items()


# ---------------------------------------------------------------------------------------
# the walk


class _Recorder(_Walker):
    def __init__(self) -> None:  # no rules, no context: only the order of events
        self.events: list[tuple[str, int]] = []
        self.prune = frozenset()

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(("visit", id(node)))
        return not isinstance(node, cst.Lambda)  # a visitor may also stop descending

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave", id(original_node)))


WALK_SOURCES = [p for p in _repo_files()] + sorted((ROOT / "reglint").glob("*.py"))


@pytest.mark.parametrize("path", WALK_SOURCES, ids=[p.name for p in WALK_SOURCES])
def test_walk_visits_like_libcst(path: Path) -> None:
    module = cst.parse_module(path.read_bytes())
    ours, theirs = _Recorder(), _Recorder()
    ours.walk(module)
    module.visit(theirs)
    assert ours.events == theirs.events


def test_walk_visits_every_node_type_like_libcst() -> None:
    source = (
        "from __future__ import annotations\n"
        "import a.b as c, d\n"
        "from .x import (y as z, w)\n"
        "@dec(1, *a, k=2, **kw)\n"
        "async def f(p, /, q: int = 1, *args, r, s=2, **kwargs) -> list[int]:\n"
        "    global g\n"
        "    x: int = 1; y = [i async for i in aiter() if i if not i]\n"
        "    async with open(p) as h, m:\n"
        "        await h\n"
        "    try:\n        pass\n    except* (E, F) as e:\n        raise e from None\n"
        "    finally:\n        del x\n"
        "    while (n := 1) and x is not y or a not in b:\n        break\n    else:\n        continue\n"
        "    match p:\n"
        "        case [1, *rest] | {'k': v, **kw} if v: pass\n"
        "        case Point(x=0, y=_) as pt: pass\n"
        "    return {k: v for k, v in d.items()}, {*s}, (lambda u=1: u), x[1:2:3, ...], f'{x!r:>{w}}'\n"
        "class C(B, metaclass=M):\n    '''doc'''  # c\n    z = ~a ** -b // c @ d << e >> f ^ g | h & i % j\n"
        "type Alias[T: int, *Ts, **P] = dict[T, P]\n"
        "assert x, 'm'\nx += 1; x -= 1; x *= 2; x @= m; x //= 3; x **= 2; x >>= 1\n"
        "x <<= 1; x ^= 1; x |= 1; x &= 1; x %= 2; x /= 2\n"
    )
    module = cst.parse_module(source)
    ours, theirs = _Recorder(), _Recorder()
    ours.walk(module)
    module.visit(theirs)
    assert ours.events == theirs.events


def test_pruning_whitespace_changes_no_result() -> None:
    """Skipping whitespace subtrees (when no rule visits them and no comment can suppress)
    gives the same file results as the full walk."""
    for path, raw in _items():
        if not path.endswith(".py"):
            continue
        module = cst.parse_module(raw)
        pruned = analyse_module(path, module, RULES, raw=raw)
        full = analyse_module(path, module, RULES, raw=None)
        assert pruned == full, path


def test_pruning_is_off_when_a_rule_visits_whitespace() -> None:
    assert engine.prunable(frozenset({"Comment"})) == frozenset()
    pruned = engine.prunable(frozenset({"Comma"}))
    assert cst.Comma not in pruned and cst.SimpleWhitespace in pruned and cst.Dot in pruned
    assert not pruned & {cst.Call, cst.Name, cst.Attribute, cst.Arg, cst.FunctionDef}


# ---------------------------------------------------------------------------------------
# workers


def test_serial_and_parallel_runs_are_identical() -> None:
    items = _items()
    serial = run(items, Settings(select=("ALL",)), jobs=1)
    parallel = run(items, Settings(select=("ALL",)), jobs=2)
    assert serial.findings, "the corpus should produce findings"
    assert parallel.findings == serial.findings  # order included
    assert parallel.parse_errors == serial.parse_errors
    assert parallel.internal_errors == serial.internal_errors
    assert analyse_many(items, RULES, jobs=2, cache=None) == analyse_many(items, RULES, jobs=1, cache=None)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "reglint", "check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _copy_repo_files(tmp_path: Path) -> Path:
    target = tmp_path / "code"
    for path in _repo_files():
        dest = target / path.relative_to(ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(path.read_bytes())
    return target


def test_cli_jobs_do_not_change_output(tmp_path: Path) -> None:
    code = _copy_repo_files(tmp_path)
    one = _cli("--no-cache", "--jobs", "1", "--select", "ALL", "--output-format", "json", ".", cwd=code)
    two = _cli("--no-cache", "--jobs", "2", "--select", "ALL", "--output-format", "json", ".", cwd=code)
    assert one.returncode == two.returncode == 1, one.stderr
    assert json.loads(one.stdout), "the fixtures should produce findings"
    assert two.stdout == one.stdout
    assert two.stderr == one.stderr  # no progress counter when stderr is not a terminal


# ---------------------------------------------------------------------------------------
# cache


def _cache(tmp_path: Path, select: str = "ALL") -> Cache:
    return Cache(tmp_path / ".reglint_cache", Settings(select=(select,)).fingerprint())


def _refuse_to_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a warm run must not parse")

    monkeypatch.setattr(runner, "_analyse", refuse)
    monkeypatch.setattr(engine, "analyse_source", refuse)
    monkeypatch.setattr(cst, "parse_module", refuse)


def test_warm_run_reads_the_cache_and_does_not_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = _items()
    cold = analyse_many(items, RULES, jobs=1, cache=_cache(tmp_path))
    assert cold == analyse_many(items, RULES, jobs=1, cache=None)
    assert any(r.findings for r in cold) and any(r.facts for r in cold)
    # a whole cold run also caches the modules project rules ask for (wanted_modules)
    cold_run = run(items, Settings(select=("ALL",)), jobs=1, cache=_cache(tmp_path))
    _refuse_to_parse(monkeypatch)
    warm = analyse_many(items, RULES, jobs=2, cache=_cache(tmp_path))
    assert warm == cold
    whole = run(items, Settings(select=("ALL",)), jobs=1, cache=_cache(tmp_path))
    assert whole.findings and not whole.internal_errors
    assert whole.findings == cold_run.findings


def test_a_changed_file_is_analysed_again(tmp_path: Path) -> None:
    source = "from tensorflow.keras import regularizers\nr = regularizers.l2(l=1e-4)\n"
    items = [("a.py", source.encode())]
    assert len(analyse_many(items, RULES, jobs=1, cache=_cache(tmp_path))[0].findings) == 1
    fixed = [("a.py", source.replace("l=", "l2=").encode())]
    assert analyse_many(fixed, RULES, jobs=1, cache=_cache(tmp_path))[0].findings == []


def test_corrupt_cache_entries_are_ignored_and_rebuilt(tmp_path: Path) -> None:
    items = _items()
    expected = analyse_many(items, RULES, jobs=1, cache=_cache(tmp_path))
    entries = [p for p in (tmp_path / ".reglint_cache").rglob("*.json")]
    assert entries
    damage = [b"", b"{not json", b'{"path": 3}', b"[]", b'{"findings": [[1]]}', b"\xff\xfe"]
    for index, entry in enumerate(entries):
        entry.write_bytes(damage[index % len(damage)])
    assert analyse_many(items, RULES, jobs=1, cache=_cache(tmp_path)) == expected
    for entry in entries:  # rewritten whole
        json.loads(entry.read_text(encoding="utf-8"))
    assert analyse_many(items, RULES, jobs=1, cache=_cache(tmp_path)) == expected


def test_a_run_after_an_edit_does_not_screen_the_unchanged_files_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the prefilter found in a file's bytes is kept (screens.json) with the results: a
    run after one file changed searches that file's bytes only; a damaged entry is ignored."""
    from reglint import prefilter

    items = [*_items(), ("plain.py", b"x = 1\n" * 50), ("other.py", b"print('nothing to see')\n")]
    settings = Settings(select=("ALL",))
    first = run(items, settings, jobs=1, cache=_cache(tmp_path))
    screens = next((tmp_path / ".reglint_cache").rglob("screens.json"))
    searched: list[bytes] = []
    real = prefilter._present

    def counting(raw: bytes, token: bytes, seen: dict[bytes, bool], python: bool) -> bool:
        if token not in seen:
            searched.append(raw)
        return real(raw, token, seen, python)

    monkeypatch.setattr(prefilter, "_present", counting)
    changed = [(path, data + b"# edited\n" if path == "plain.py" else data) for path, data in items]
    again = run(changed, settings, jobs=1, cache=_cache(tmp_path))
    assert again.findings == first.findings
    assert searched and set(searched) == {changed[-2][1]}
    searched.clear()
    screens.write_text('{"fingerprint": "x", "tokens": 3}', encoding="utf-8")
    assert run(changed, settings, jobs=1, cache=_cache(tmp_path)).findings == first.findings
    assert set(searched) == {data for _, data in changed}  # screened afresh, and kept again
    json.loads(screens.read_text(encoding="utf-8"))


def test_concurrent_runs_share_a_cache(tmp_path: Path) -> None:
    code = _copy_repo_files(tmp_path)
    args = ["--select", "ALL", "--output-format", "json", "--cache-dir", str(tmp_path / "cache"), "."]
    env = {"PYTHONPATH": str(ROOT), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "reglint", "check", "--jobs", str(jobs), *args],
            cwd=code,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for jobs in (1, 2)
    ]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    reference = _cli("--no-cache", *args, cwd=code)
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 1, err
        assert out == reference.stdout
    warm = _cli(*args, cwd=code)
    assert warm.stdout == reference.stdout
    assert not list((tmp_path / "cache").rglob(".tmp-*")), "no temporary file left behind"


def test_cache_is_keyed_by_configuration(tmp_path: Path) -> None:
    code = _copy_repo_files(tmp_path)
    cache = ["--cache-dir", str(tmp_path / "cache"), "--output-format", "json", "."]
    codes = {}
    for select in ("REG004", "REG010", "REG004,REG010"):
        first = _cli("--select", select, *cache, cwd=code)
        again = _cli("--select", select, *cache, cwd=code)
        fresh = _cli("--select", select, "--no-cache", "--output-format", "json", ".", cwd=code)
        assert first.stdout == again.stdout == fresh.stdout
        codes[select] = {f["code"] for f in json.loads(first.stdout)}
    assert codes == {"REG004": {"REG004"}, "REG010": {"REG010"}, "REG004,REG010": {"REG004", "REG010"}}


# ---------------------------------------------------------------------------------------
# memory: results hold no tree


def _reachable(roots: list[object], limit: int = 200_000) -> list[object]:
    seen: dict[int, object] = {}
    stack = list(roots)
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen[id(obj)] = obj
        stack.extend(gc.get_referents(obj))
    return list(seen.values())


def test_results_hold_no_tree() -> None:
    results = analyse_many(_items(), RULES, jobs=1, cache=None)
    assert any(r.findings and any(f.fix for f in r.findings) for r in results)
    assert any(r.facts for r in results)
    leaked = [obj for obj in _reachable(list(results)) if isinstance(obj, cst.CSTNode | engine.FileContext)]
    assert leaked == []


def test_trees_are_freed_when_a_file_is_done() -> None:
    """No reference cycle keeps a file's tree alive after its analysis (it would otherwise
    wait for a full garbage collection, and memory would grow with the repository)."""
    items = _items()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds goes to gc.garbage
    try:
        results = [runner._analyse(path, raw, RULES) for path, raw in items]
        assert any(r.findings for r in results) and any(r.facts for r in results)
        gc.collect()
        # (the standard library leaves small cycles, e.g. ast.literal_eval's closures)
        kept = [o for o in gc.garbage if isinstance(o, cst.CSTNode | engine.FileContext | Rule)]
        assert kept == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


# ---------------------------------------------------------------------------------------
# prefilter and progress


def test_prefilter_of_the_runner_is_may_matter() -> None:
    """The runner skips exactly the files `may_matter` rejects (the function the
    prefilter-safety tests in test_rules.py and test_fixtures.py exercise)."""
    items = [*_items(), ("plain.py", b"import os\nprint(os.getcwd())  # regularization in a comment\n")]
    for rules in ([rules_by_code()["REG004"]], [rules_by_code()["REG010"]], list(RULES)):
        results = analyse_many(items, rules, jobs=1, cache=None)
        assert [r.skipped for r in results] == [not may_matter(raw, rules) for _, raw in items]


def test_progress_counts_every_file(tmp_path: Path) -> None:
    items = _items()
    for jobs in (1, 2):
        calls: list[tuple[int, int]] = []

        def progress(done: int, total: int, calls: list[tuple[int, int]] = calls) -> None:
            calls.append((done, total))

        analyse_many(items, RULES, jobs=jobs, cache=_cache(tmp_path), progress=progress)
        assert calls[-1] == (len(items), len(items))
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_progress_only_for_people(monkeypatch: pytest.MonkeyPatch) -> None:
    from reglint import cli

    monkeypatch.delenv("REGLINT_NO_PROGRESS", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cli._show_progress("text")
    for machine in ("json", "sarif", "github"):
        assert not cli._show_progress(machine)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert not cli._show_progress("text")


def test_lint_helper_still_agrees() -> None:
    source = "from tensorflow.keras import regularizers\nr = regularizers.l2(l=1e-4)\n"
    assert [f.code for f in lint(source).findings] == ["REG010"]
    assert FileResult("x").skipped is False


# ---------------------------------------------------------------------------------------
# the finished run of a project


def _project(tmp_path: Path) -> Path:
    code = tmp_path / "proj"
    code.mkdir()
    (code / "a.py").write_text("import tensorflow as tf\nr = tf.keras.regularizers.l2(l=1e-4)\n")
    (code / "b.py").write_text("import tensorflow as tf\nk = tf.GraphKeys.REGULARIZATOIN_LOSSES\n")
    (code / "c.py").write_text("print('nothing to see')\n")
    return code


def test_unchanged_project_is_answered_without_loading_libcst(tmp_path: Path) -> None:
    code = _project(tmp_path)
    cold = _cli("--output-format", "json", ".", cwd=code)
    assert cold.returncode == 1 and len(json.loads(cold.stdout)) == 2
    # -X importtime lists every module imported on stderr
    env_run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "reglint", "check", "--output-format", "json", "."],
        cwd=code,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert env_run.returncode == 1 and env_run.stdout == cold.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in env_run.stderr.splitlines()}
    assert "reglint.cli" in imported
    assert not {"libcst", "reglint.rule", "reglint.engine"} & imported


def test_a_changed_file_or_setting_misses_the_finished_run(tmp_path: Path) -> None:
    code = _project(tmp_path)
    assert _cli(".", cwd=code).returncode == 1
    (code / "a.py").write_text("import tensorflow as tf\nr = tf.keras.regularizers.l2(1e-4)\n")
    changed = _cli("--output-format", "json", ".", cwd=code)
    assert [f["code"] for f in json.loads(changed.stdout)] == ["REG004"]
    ignored = _cli("--output-format", "json", "--ignore", "REG004", ".", cwd=code)
    assert ignored.returncode == 0 and json.loads(ignored.stdout) == []
    (code / "d.py").write_text("import tensorflow as tf\nr = tf.keras.regularizers.l1(l=1e-4)\n")
    added = _cli("--output-format", "json", ".", cwd=code)
    assert sorted(f["code"] for f in json.loads(added.stdout)) == ["REG004", "REG010"]


def test_a_corrupt_finished_run_is_ignored(tmp_path: Path) -> None:
    code = _project(tmp_path)
    first = _cli("--output-format", "json", ".", cwd=code)
    runs = list((code / ".reglint_cache").rglob("runs/*.json"))
    assert len(runs) == 1
    for damage in (b"", b"{", b'{"key": 1}', b'{"key": "x", "result": {}}', b"\xff"):
        runs[0].write_bytes(damage)
        assert _cli("--output-format", "json", ".", cwd=code).stdout == first.stdout
    key = json.loads(runs[0].read_text())["key"]
    runs[0].write_text(json.dumps({"key": key, "result": {"findings": [[1]]}}))
    assert _cli("--output-format", "json", ".", cwd=code).stdout == first.stdout
