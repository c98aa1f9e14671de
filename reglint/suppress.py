"""Inline suppressions: `# noqa`, `# noqa: REG001,REG003`, `# reglint: ignore[REG001]`.

Only real comments count: the walker collects the text of every Comment node, and a line's
match counts only if its comment text is one of them (a `# noqa` inside a string does not).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from reglint.sources import line_starts

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?"
    r"|#\s*reglint:\s*ignore(?:\[(?P<ignore>[A-Z0-9,\s]*)\])?",
    re.IGNORECASE,
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)
ALL: frozenset[str] = frozenset()  # an empty set means every code


def _codes(match: re.Match[str]) -> frozenset[str]:
    listed = match.group("codes") or match.group("ignore")
    if not listed:
        return ALL
    return frozenset(code.upper() for code in _CODE.findall(listed))


def find_suppressions(code: str, comments: Iterable[str]) -> dict[int, frozenset[str]]:
    """line -> suppressed codes, for lines whose comment carries a suppression."""
    real = [c for c in comments if "noqa" in c.lower() or "reglint" in c.lower()]
    if not real:
        return {}
    found: dict[int, frozenset[str]] = {}
    starts = line_starts(code)
    for comment in real:
        match = _NOQA.search(comment)
        if match is None:
            continue
        offset = code.find(comment)
        while offset != -1:
            line = _line_of(starts, offset)
            found[line] = _merge(found.get(line), _codes(match))
            offset = code.find(comment, offset + 1)
    return found


def _merge(old: frozenset[str] | None, new: frozenset[str]) -> frozenset[str]:
    if old is None:
        return new
    if not old or not new:
        return ALL
    return old | new


def _line_of(starts: list[int], offset: int) -> int:
    import bisect

    return bisect.bisect_right(starts, offset)


def is_suppressed(suppressions: dict[int, frozenset[str]], line: int, code: str) -> bool:
    codes = suppressions.get(line)
    if codes is None:
        return False
    return not codes or code in codes
