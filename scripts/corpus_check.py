"""Run reglint over a directory of real code and fail on anything that would hurt a user.

    python scripts/corpus_check.py DIR [DIR ...] [--jobs N] [--show-findings] [--no-prefilter]

As a library call, with every rule (opt-in ones too) and --unsafe-fixes, fixing in memory
only (nothing is written). Fails (exit 1) on:
  - any internal error (a rule that raised, a fix that could not be built or would not parse),
  - any fixed file that does not re-parse,
  - any non-idempotent fix (fixing the fixed files again changes something),
  - any fix that changes bytes no rule edits (a form feed, the blank in `except E :`: what a
    libcst round trip would lose),
  - any exception escaping reglint.
Prints the number of files, parse errors, files skipped for size, findings per rule, fixes, and
every problem. `--stdlib` adds the running Python's standard library, whose sources hold the
bytes a libcst round trip loses (run it with --no-prefilter for every file to be parsed).
"""

from __future__ import annotations

import argparse
import re
import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import libcst as cst  # noqa: E402

from reglint.config import Settings  # noqa: E402
from reglint.discovery import discover, read_files  # noqa: E402
from reglint.rule import all_rules  # noqa: E402
from reglint.runner import run  # noqa: E402


def check_corpus(directory: Path, jobs: int, show_findings: bool, prefilter: bool = True) -> int:
    settings = Settings(select=("ALL",), root=directory, respect_gitignore=False)
    rules = all_rules()
    started = time.monotonic()
    found = discover([str(directory)], settings)
    items, read_errors = read_files(found.files)
    problems: list[str] = []
    try:
        result = run(items, settings, fix=True, unsafe_fixes=True, jobs=jobs, rules=rules, prefilter=prefilter)
    except BaseException as error:
        import traceback

        traceback.print_exc()
        print(f"FAIL {directory}: reglint raised {type(error).__name__}: {error}")
        return 1
    for internal in result.internal_errors:
        problems.append(f"internal error {internal.code or ''} in {internal.path}: {internal.message}")
    fixed_items = []
    for path, change in sorted(result.changes.items()):
        try:
            cst.parse_module(change.fixed)
        except Exception as error:
            problems.append(f"fix of {path} does not re-parse: {str(error).splitlines()[0]}")
            continue
        fixed_items.append((path, change.fixed))
        for name, pattern in _KEPT.items():
            if len(pattern.findall(change.original)) != len(pattern.findall(change.fixed)):
                problems.append(f"fix of {path} changes bytes no rule edits: {name}")
    if fixed_items:
        # the whole project again, with the fixed files in place: a second fix changes nothing
        fixed = dict(fixed_items)
        second_items = [(path, fixed.get(path, data)) for path, data in items]
        again = run(second_items, settings, fix=True, unsafe_fixes=True, jobs=jobs, rules=rules, prefilter=prefilter)
        for path in sorted(again.changes):
            problems.append(f"fix of {path} is not idempotent: a second --fix changes it again")
        for internal in again.internal_errors:
            problems.append(
                f"internal error after fixing, {internal.code or ''} in {internal.path}: {internal.message}"
            )
    # the findings a user would see (before fixing)
    report = run(items, settings, unsafe_fixes=True, jobs=jobs, rules=rules, prefilter=prefilter)
    per_rule = Counter(f.code for f in report.findings)
    elapsed = time.monotonic() - started
    print(f"== {directory}")
    print(
        f"files: {len(found.files)} ({sum(len(d) for _, d in items) / 1e6:.1f} MB), read errors: {len(read_errors)}, "
        f"parse errors: {len(report.parse_errors)}, findings: {len(report.findings)}, "
        f"fixes applied in memory: {result.fixed} in {len(result.changes)} files, {elapsed:.0f} s"
    )
    for code in sorted(per_rule):
        fixable = sum(1 for f in report.findings if f.code == code and f.fix is not None)
        print(f"  {code}: {per_rule[code]} ({fixable} with a fix)")
    if show_findings:
        for f in report.findings:
            print(f"  {f.path}:{f.range.start.line}:{f.range.start.column + 1}: {f.code} {f.message}")
    too_large = [e for e in report.parse_errors if "too large to analyse" in e.message]
    print(f"skipped for size: {len(too_large)}")
    for error in too_large:
        print(f"  too large: {error.path}: {error.message}")
    for error in [e for e in report.parse_errors if e not in too_large][:20]:
        print(f"  parse error (reported, not a failure): {error.path}:{error.line}: {error.message[:100]}")
    for problem in problems:
        print(f"  PROBLEM {problem}")
    print(f"internal errors / broken fixes / non-idempotent fixes: {len(problems)}")
    return 1 if problems else 0


# bytes no rule's fix edits, which a regenerated module would change
_KEPT = {
    "a form feed": re.compile(rb"\f"),
    "`except E :`": re.compile(rb"except[^\n:]* :"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directories", nargs="*", type=Path)
    parser.add_argument("--stdlib", action="store_true", help="also the running Python's standard library")
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("--show-findings", action="store_true")
    parser.add_argument(
        "--no-prefilter", action="store_true", help="parse and walk every file, not only those with a rule token"
    )
    args = parser.parse_args()
    if args.stdlib:
        args.directories.append(Path(sysconfig.get_paths()["stdlib"]))
    if not args.directories:
        parser.error("give a directory, or --stdlib")
    print(f"rules: {', '.join(r.code for r in all_rules())}")
    status = 0
    for directory in args.directories:
        status |= check_corpus(directory, args.jobs, args.show_findings, prefilter=not args.no_prefilter)
    print("OK" if status == 0 else "FAILED")
    return status


if __name__ == "__main__":
    sys.exit(main())
