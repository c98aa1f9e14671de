"""Inline suppressions: `# noqa`, `# noqa: REG001,REG003`, `# reglint: ignore[REG001]`, and for
a whole file `# reglint: noqa` / `# reglint: noqa: REG003` on a line of its own.

Only real comments count: the walker collects the text of every Comment node, and a line's
match counts only if its comment text is one of them (a `# noqa` inside a string does not).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable

from reglint.sources import line_starts

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?"
    r"|#\s*reglint:\s*ignore(?:\[(?P<ignore>[A-Z0-9,\s]*)\])?",
    re.IGNORECASE,
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)
# `# reglint: noqa` (every code) or `# reglint: noqa: REG003` on a line of its own suppresses
# in the whole file (as Ruff's file-level noqa); kept under minus its line (see file_level)
_FILE_NOQA = re.compile(
    r"^#\s*reglint:\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?\s*$", re.IGNORECASE
)
ALL: frozenset[str] = frozenset()  # an empty set means every code


def _codes(match: re.Match[str]) -> frozenset[str]:
    listed = match.group("codes") or (match.group("ignore") if "ignore" in match.re.groupindex else None)
    if not listed:
        return ALL
    return frozenset(code.upper() for code in _CODE.findall(listed))


def file_level(key: int) -> int | None:
    """The line of a file-level suppression kept under `key` in find_suppressions' result
    (minus its line), or None for a line's own suppression."""
    return -key if key < 0 else None


def find_suppressions(code: str, comments: Iterable[str]) -> dict[int, frozenset[str]]:
    """line -> suppressed codes, for lines whose comment carries a suppression; a file-level
    suppression is kept under minus its line (see file_level)."""
    real = [c for c in comments if "noqa" in c.lower() or "reglint" in c.lower()]
    if not real:
        return {}
    found: dict[int, frozenset[str]] = {}
    located = _comments_by_line(code)
    if located is None:  # the tokenizer refused what libcst parsed: find the comments' text
        located = _comments_by_text(code, real)
    for line, comment in located:
        whole = _FILE_NOQA.match(comment.strip())
        if whole is not None:
            found[-line] = _merge(found.get(-line), _codes(whole))
            continue
        match = _NOQA.search(comment)
        if match is not None:
            found[line] = _merge(found.get(line), _codes(match))
    return found


def _comments_by_line(code: str) -> list[tuple[int, str]] | None:
    """(line, text) of every comment, from Python's tokenizer (lines counted as libcst does:
    universal newlines turn \r\n and a lone \r into one line break each)."""
    try:
        tokens = tokenize.generate_tokens(io.StringIO(code, newline=None).readline)
        return [(tok.start[0], tok.string) for tok in tokens if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None


def _comments_by_text(code: str, comments: list[str]) -> list[tuple[int, str]]:
    # a comment runs to the end of its line: an occurrence followed by more text on the
    # line (a prefix of a longer comment, or inside a string) is not that comment
    starts = line_starts(code)
    out = []
    for comment in comments:
        offset = code.find(comment)
        while offset != -1:
            end = offset + len(comment)
            if end == len(code) or code[end] in "\r\n":
                out.append((_line_of(starts, offset), comment))
            offset = code.find(comment, offset + 1)
    return out


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
    if codes is not None and (not codes or code in codes):
        return True
    return any(where < 0 and (not codes or code in codes) for where, codes in suppressions.items())


def add_noqa(code: str, codes_by_line: dict[int, set[str]]) -> tuple[str, int]:
    """`code` with `# noqa: CODES` at the end of each given line (codes merged into a `noqa`
    already there; a bare one is left alone), and how many lines got one. A line that ends
    inside a string or with a backslash continuation cannot take a comment and is skipped."""
    located = _comments_by_line(code)
    if located is None:
        return code, 0
    open_lines = _lines_inside_strings(code)
    comments = dict(located)
    # lines as Python counts them (\r\n, \r, \n): str.splitlines also breaks at a form feed
    # and other separators, which put the comment on another line than the finding's
    starts = line_starts(code)
    lines = [code[a:b] for a, b in zip(starts, [*starts[1:], len(code)], strict=True) if a < b]
    added = 0
    for number, wanted in sorted(codes_by_line.items()):
        if not 0 < number <= len(lines) or number in open_lines:
            continue
        line = lines[number - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if body.rstrip().endswith("\\"):
            continue
        comment = comments.get(number)
        if comment is not None and (match := _NOQA.search(comment)) is not None:
            present = _codes(match)
            if not present or wanted <= present:
                continue
            merged = ", ".join(sorted(present | wanted))
            start = body.rindex(comment)  # the comment runs to the end of the line
            new_comment = comment[: match.start()] + f"# noqa: {merged}" + comment[match.end() :]
            lines[number - 1] = body[:start] + new_comment + ending
        else:
            lines[number - 1] = body.rstrip() + f"  # noqa: {', '.join(sorted(wanted))}" + ending
        added += 1
    return "".join(lines), added


def _lines_inside_strings(code: str) -> set[int]:
    """Lines whose end lies inside a string token (a triple-quoted string's first lines)."""
    inside: set[int] = set()
    starts: list[int] = []  # f-strings being read (Python 3.12 tokenizes their parts)
    try:
        for token in tokenize.generate_tokens(io.StringIO(code, newline=None).readline):
            if token.type == tokenize.STRING:
                inside.update(range(token.start[0], token.end[0]))
            elif token.type == getattr(tokenize, "FSTRING_START", -1):
                starts.append(token.start[0])
            elif token.type == getattr(tokenize, "FSTRING_END", -1) and starts:
                inside.update(range(starts.pop(), token.end[0]))
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    return inside
