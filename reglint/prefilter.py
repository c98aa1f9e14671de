"""Bytes -> the rules that run: the prefilter. A rule declares the byte tokens its pattern
necessarily contains (its TOKENS, see reglint/rules/__init__.py for the contract); a file
that holds none of them, outside its docstrings, is not parsed, and a file is analysed only by
the rules whose tokens it holds."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from reglint import sources
from reglint.rule import Rule, Token, Word
from reglint.sources import Outline, SourceError

Group = tuple[bytes, ...]  # tokens that must ALL be in a file


def as_groups(tokens: Iterable[Token]) -> tuple[Group, ...]:
    """Normalise TOKENS entries (a token, or a tuple of tokens needed together) to groups,
    without the redundant ones: a group is implied by another when each token of the other
    is part of one of its tokens (then whenever it matches, so does the other)."""
    found: dict[frozenset[bytes], Group] = {}
    for entry in tokens:
        members = frozenset((entry,) if isinstance(entry, bytes) else entry)
        found.setdefault(members, tuple(sorted(members, key=lambda b: (-len(b), b))))
    # What each token implies: itself, and the plain tokens it contains (a Word implies only
    # itself). Testing every token of every pair of groups cost 0.8 s for the default rules;
    # every pair of tokens, 3.5 s for the thousands of names a project rule may ask for.
    every = frozenset().union(*found)
    plain = [token for token in every if type(token) is not Word]
    implies = {by: frozenset({by, *(token for token in plain if _implied(token, by))}) for by in every}
    # the groups holding each token: the only ones a group's cover can hold whole
    holding: dict[bytes, list[frozenset[bytes]]] = {}
    for members in found:
        for token in members:
            holding.setdefault(token, []).append(members)
    kept = []
    for members, group in found.items():
        covered = frozenset().union(*(implies[token] for token in members))
        candidates = {other for token in covered for other in holding.get(token, ())}
        if not any(covered >= other and other != members for other in candidates):
            kept.append(group)
    # the longest (usually rarest) first token first: most files fail there
    return tuple(sorted(kept, key=lambda g: (-len(g[0]), g)))


def _implied(token: bytes, by: bytes) -> bool:
    """Whether every file that holds `by` holds `token`."""
    return token == by if type(token) is Word else token in by


@lru_cache(maxsize=64)
def _groups(rules: tuple[type[Rule], ...]) -> tuple[Group, ...]:
    return as_groups(token for rule in rules for token in rule.TOKENS)


def prefilter_tokens(rules: Iterable[type[Rule]]) -> tuple[Group, ...]:
    """What the prefilter looks for: every enabled rule's TOKENS as groups of byte strings
    (see the docstring of reglint.rules for the contract)."""
    return _groups(tuple(rules))


def contains_token(
    raw: bytes, groups: Sequence[Group], *, python: bool = True, seen: dict[bytes, bool] | None = None
) -> bool:
    """Whether every token of some group is in `raw` (a Word as a whole word, if `raw` is
    Python source). One `in` per token (a vectorised substring search; 3x faster than one
    scan with a regular-expression alternation, which tries every alternative at every
    byte), each token searched at most once per file. `seen` keeps what was found in these
    bytes before (a process that screens the same files again and again passes it). A
    notebook (not `python`) is screened in its code cells (notebook.code_cells), read only
    when a token is not in `seen`."""
    seen = {} if seen is None else seen
    if not python and not _all_seen(groups, seen):
        raw = _code_cells(raw)
    return _matches(raw, groups, seen, python)


def _all_seen(groups: Sequence[Group], seen: dict[bytes, bool]) -> bool:
    return all(
        token in seen for first, rests in _by_first_token(groups) for rest in ((first,), *rests) for token in rest
    )


def _code_cells(raw: bytes) -> bytes:
    """notebook.code_cells, kept for the last notebooks screened (the rounds of a run screen
    the same bytes again; by identity, so that no notebook is hashed)."""
    kept = _CODE_CELLS.get(id(raw))
    if kept is not None and kept[0] is raw:
        return kept[1]
    from reglint.notebook import code_cells  # libcst, which the notebook module needs, is loaded by then

    code = code_cells(raw)
    if len(_CODE_CELLS) >= 64:
        _CODE_CELLS.pop(next(iter(_CODE_CELLS)))
    _CODE_CELLS[id(raw)] = (raw, code)
    return code


_CODE_CELLS: dict[int, tuple[bytes, bytes]] = {}


def rules_for(raw: bytes, rules: Sequence[type[Rule]], *, python: bool = True) -> list[type[Rule]]:
    """The rules whose own TOKENS a file matches: by the contract, only they can report on it
    (or record a fact the project needs), so only they run on it. A file that passes the
    prefilter for one rule's tokens is not analysed by all the others (on a TensorFlow code
    base, the dataflow of REG001 on every file REG002 lets in would cost more than the parse)."""
    seen: dict[bytes, bool] = {}
    return [rule for rule in rules if _matches(raw, _groups((rule,)), seen, python)]


def _matches(raw: bytes, groups: Sequence[Group], seen: dict[bytes, bool], python: bool) -> bool:
    for first, rests in _by_first_token(groups):
        if not _present(raw, first, seen, python):
            continue  # every group starting with it fails: most files stop here
        for rest in rests:
            for token in rest:
                if not _present(raw, token, seen, python):
                    break
            else:
                return True
    return False


def _by_first_token(groups: Sequence[Group]) -> tuple[tuple[bytes, tuple[Group, ...]], ...]:
    """The groups by their first (longest) token, with the rest of each; kept per groups
    object (by identity: hashing hundreds of groups for every file would cost more)."""
    kept = _BY_FIRST_TOKEN.get(id(groups))
    if kept is not None and kept[0] is groups:
        return kept[1]
    rests: dict[bytes, list[Group]] = {}
    for group in groups:
        rests.setdefault(group[0], []).append(group[1:])
    index = tuple((first, tuple(rest)) for first, rest in rests.items())
    if len(_BY_FIRST_TOKEN) > 256:
        _BY_FIRST_TOKEN.clear()
    _BY_FIRST_TOKEN[id(groups)] = (groups, index)
    return index


_BY_FIRST_TOKEN: dict[int, tuple[Sequence[Group], tuple[tuple[bytes, tuple[Group, ...]], ...]]] = {}


def _present(raw: bytes, token: bytes, seen: dict[bytes, bool], python: bool) -> bool:
    found = seen.get(token)
    if found is None:
        found = token in raw
        if found and python and type(token) is Word:
            found = _has_word(raw, token)
        seen[token] = found
    return found


# what continues an identifier: a byte of one of these next to a Word makes it part of a
# longer name (non-ASCII bytes too: they can only belong to an identifier, a string or a
# comment in valid Python source)
_NAME_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_" + bytes(range(0x80, 0x100)))


def _has_word(raw: bytes, word: bytes) -> bool:
    """Whether `word` occurs in `raw` with no identifier byte right before or after it.
    Written by hand: a regular expression with lookarounds has no fast literal search."""
    size, end_of_raw = len(word), len(raw)
    at = raw.find(word)
    while at >= 0:
        end = at + size
        if (at == 0 or raw[at - 1] not in _NAME_BYTES) and (end == end_of_raw or raw[end] not in _NAME_BYTES):
            return True
        at = raw.find(word, at + 1)
    return False


def without_docstrings(raw: bytes) -> bytes | None:
    """`raw` with every docstring (module, class, function) replaced by spaces, or None when
    that cannot be done exactly (not UTF-8, not parsable by `ast`). No rule reads a
    docstring, so a file whose tokens are all in docstrings cannot produce a finding: on a
    TensorFlow code base, the generated `gen_*_ops.py` ("Computes gradients of ...") then
    cost nothing. This screen only decides *whether* rules run; the analysis is the same
    libcst one."""
    try:
        found = sources.outline(raw)
    except SourceError:
        return None
    return None if found is None or not found.utf8 else _blanked(raw, found.docstrings)


def _blanked(raw: bytes, spans: Sequence[tuple[int, int]]) -> bytes:
    out = bytearray(raw)
    for begin, end in spans:
        out[begin:end] = b" " * (end - begin)
    return bytes(out)


def rules_to_run(
    raw: bytes,
    rules: Sequence[type[Rule]],
    *,
    python: bool = True,
    outline: Callable[[], Outline | None] | None = None,
) -> list[type[Rule]]:
    """The rules that analyse a file: those whose tokens its bytes hold, and, for a Python
    file, still hold once its docstrings are blanked. `outline`: what gives the file's
    Outline, if the caller keeps it (a source's `outline`); a file too deeply nested to read
    keeps its rules, and its parse reports it."""
    chosen = rules_for(raw, rules, python=python)
    if chosen and python:
        with contextlib.suppress(SourceError):
            found = outline() if outline is not None else sources.outline(raw)
            if found is not None and found.docstrings:
                chosen = rules_for(_blanked(raw, found.docstrings), chosen)
    return chosen


def may_matter(raw: bytes, rules: Sequence[type[Rule]], *, python: bool = True) -> bool:
    """Whether a file holds all the tokens of one of the groups `rules` need: files without
    cannot produce a finding or a fact any project judgement needs unconditionally, so they
    are not parsed (a project rule asks for the rest through `Rule.wanted_tokens`). The
    tests prove this for every example."""
    return contains_token(raw, prefilter_tokens(rules), python=python)
