"""Check that reglint places every node where libcst's PositionProvider places it over the
whole module, on a directory of real code.

    python scripts/positions_check.py DIR [DIR ...] [--every N]

`positions.Positions` places a node from the code of its unit alone (a line of statements, or
a compound statement's header) and the line `ast` gives for the unit (see positions._Units).
This compares, for every node of every `.py` file (every N-th file with `--every N`), that
position, syntactic and whitespace-inclusive, with libcst's own for the whole module, and
counts the nodes placed by a unit and otherwise (by their module-level statement, or by the
whole module). Fails (exit 1) on any difference.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import libcst as cst  # noqa: E402
from libcst.metadata import PositionProvider, WhitespaceInclusivePositionProvider  # noqa: E402

from reglint.nodes import child_nodes  # noqa: E402
from reglint.positions import Positions, node_positions  # noqa: E402
from reglint.sources import SourceError, outline, parse_python  # noqa: E402


def check_file(path: Path, counts: Counter[str]) -> list[str]:
    raw = path.read_bytes()
    try:
        shape = outline(raw)
        module = parse_python(raw)
    except (SourceError, cst.ParserSyntaxError, RecursionError, UnicodeError, ValueError):
        counts["files not parsed"] += 1
        return []
    if shape is None:
        counts["files not parsed"] += 1
        return []
    counts["files"] += 1
    whole = node_positions(module, PositionProvider)
    inclusive = node_positions(module, WhitespaceInclusivePositionProvider)
    positions = Positions(module, raw, shape)
    problems: list[str] = []
    stack: list[cst.CSTNode] = list(module.body)
    while stack:
        node = stack.pop()
        stack.extend(child_nodes(node))
        if node not in whole:
            continue  # libcst generates it as text, not as a node (a match case's whitespace)
        by_unit = positions._in_unit(node, inclusive=False) is not None
        counts["nodes placed by their unit" if by_unit else "nodes placed otherwise"] += 1
        for how, libcst_says in (("of", whole), ("inclusive", inclusive)):
            got, want = getattr(positions, how)(node), libcst_says[node]
            if (got.start.line, got.start.column, got.end.line, got.end.column) != (
                want.start.line,
                want.start.column,
                want.end.line,
                want.end.column,
            ):
                problems.append(f"{path}: {type(node).__name__} placed ({how}) at {got}, libcst says {want}")
        if len(problems) > 5:
            break
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directories", nargs="+", type=Path)
    parser.add_argument("--every", type=int, default=1, help="check every N-th file (in path order)")
    options = parser.parse_args()
    files = sorted(p for d in options.directories for p in d.rglob("*.py") if p.is_file())[:: options.every]
    counts: Counter[str] = Counter()
    problems: list[str] = []
    for path in files:
        problems.extend(check_file(path, counts))
    for name, count in sorted(counts.items()):
        print(f"{name}: {count}")
    for problem in problems:
        print(f"FAIL {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
