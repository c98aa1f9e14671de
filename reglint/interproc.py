"""How modules exchange values: call-site facts, joined in the project phase.

A file's `Flow` follows values through the functions of that file. A function of another
module is reached through facts instead:

- a parameter that no call site of its own file binds is a `Param` tag in the file; a fact
  about a sink whose loss holds such tags names them (`param_refs`);
- each call of another module's function (an `Imported` name, or a method of an object
  made by one) whose arguments carry what a parameter could need (a penalty, an unknown
  loss, or a parameter of the calling function) is a `call` fact (`call_facts`);
- the project phase (`Bindings`) says whether a parameter may carry a penalty: some call
  site in the project passes one, an unknown loss, or a parameter that may carry one
  (transitively).

A function's identity across files is its file (the fact's path) and its qualified name in
that file (`Net.build`); a call names its callee as the importing file resolves it
(`pkg.nets.Net.build`), matched by the callee file's trailing module parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import libcst as cst

from reglint.dataflow import Flow
from reglint.model import Fact
from reglint.rule import Word
from reglint.values import COVERING, OPAQUE, UNBOUND, LossCall, Param, Scope, Source

PENALTY = "penalty"
UNKNOWN = "unknown"


def qualified_name(flow: Flow, func: cst.FunctionDef) -> str | None:
    """`build` or `Net.build` for a module-level function or a method of a module-level
    class: what other modules can call. None for nested functions."""
    scope = flow.scope_of.get(func)
    parent = scope.parent if scope is not None else None
    if parent is None:
        return None
    if parent.kind == "module":
        return func.name.value
    grand = parent.parent
    if parent.kind == "class" and grand is not None and grand.kind == "module":
        return f"{parent.node.name.value}.{func.name.value}"  # type: ignore[attr-defined]
    return None


def param_refs(flow: Flow, tags: Iterable[Any]) -> list[list[Any]]:
    """The parameters of other modules' reach among `tags`, as fact data:
    [qualified name, parameter, its position in the definition, whether it is a method]."""
    refs = []
    for tag in tags:
        if not isinstance(tag, Param):
            continue
        qualified = qualified_name(flow, tag.func)
        scope: Scope | None = flow.scope_of.get(tag.func)
        if qualified is None or scope is None or tag.name not in scope.params:
            continue
        refs.append([qualified, tag.name, scope.params.index(tag.name), scope.self_name is not None])
    return sorted(refs)


def call_facts(flow: Flow) -> Iterator[tuple[cst.Call, dict[str, Any]]]:
    """The data of a `call` fact for each call of another module that hands it something."""
    for call, (callees, args) in flow.project_calls.items():
        carried = []
        for key, tags in args:
            what = sorted(_what(flow, tags))
            if what:
                carried.append([key, what])
        if carried:
            yield call, {"callees": sorted(callees), "args": carried}


def _what(flow: Flow, tags: frozenset[Any]) -> set[str]:
    found: set[str] = set()
    for tag in tags:
        if isinstance(tag, Source) and tag.kind in COVERING:
            found.add(PENALTY)
        elif tag in (OPAQUE, UNBOUND) or isinstance(tag, LossCall):
            found.add(UNKNOWN)
    for qualified, name, index, method in param_refs(flow, tags):
        found.add(f"{qualified}|{name}|{index}|{int(method)}")
    return found


class Bindings:
    """Which parameters of the project's functions may carry a penalty from their callers."""

    def __init__(self, calls: list[Fact]) -> None:
        # the calls, by the last part of each name their callee may have
        self.calls: dict[str, list[tuple[Fact, str]]] = {}
        for call in calls:
            for callee in call.data["callees"]:
                self.calls.setdefault(callee.rpartition(".")[2], []).append((call, callee))
        self._memo: dict[tuple[str, str, str], bool] = {}

    def carry(self, path: str, refs: Iterable[list[Any]]) -> bool:
        """Whether any of the parameters `refs` (as `param_refs` gives them) of functions of
        the file `path` may be passed a penalty or an unknown loss."""
        return any(
            self._carries(path, qualified, name, index, method, set()) for qualified, name, index, method in refs
        )

    def _carries(self, path: str, qualified: str, name: str, index: int, method: bool, seen: set[Any]) -> bool:
        key = (path, qualified, name)
        if key in self._memo:
            return self._memo[key]
        if key in seen:
            return False
        seen.add(key)
        found = False
        for call, callee in self._sites(path, qualified):
            constructor = not callee.endswith("." + qualified) and callee.rpartition(".")[2] != qualified
            offset = 1 if method or constructor else 0
            for arg_key, what in call.data["args"]:
                if arg_key != name and arg_key != index - offset:
                    continue
                for item in what:
                    if item in (PENALTY, UNKNOWN):
                        found = True
                    else:
                        q, n, i, m = item.split("|")
                        found = self._carries(call.path, q, n, int(i), m == "1", seen)
                    if found:
                        break
                if found:
                    break
            if found:
                break
        self._memo[key] = found
        return found

    def _sites(self, path: str, qualified: str) -> Iterator[tuple[Fact, str]]:
        """The call facts whose callee may be `qualified` of the file `path` (a class's
        `__init__` is called by the class's name)."""
        names = [qualified]
        if qualified.endswith(".__init__"):
            names.append(qualified[: -len(".__init__")])
        for name in names:
            for call, callee in self.calls.get(name.rpartition(".")[2], []):
                if denotes(callee, path, name):
                    yield call, callee


def callers_wanted(judged: Iterable[Fact], calls: list[Fact]) -> set[Word]:
    """The words a file calling the functions whose parameters the `judged` facts' losses
    hold must contain (a function's name; a class's for its `__init__`), to ask for those
    files; and, through the call sites found so far that pass such a parameter a parameter of
    their own, the words of their callers in turn. Only the facts that a finding depends on
    are worth it: on library code, common names (`call`, `build`) are in most files."""
    names = {ref[0] for fact in judged for ref in fact.data.get("params", ())}
    todo = list(names)
    by_last: dict[str, list[Fact]] = {}
    for call in calls:
        for callee in call.data["callees"]:
            by_last.setdefault(callee.rpartition(".")[2], []).append(call)
    while todo:
        qualified = todo.pop()
        parts = qualified.split(".")
        last = parts[-2] if parts[-1] == "__init__" and len(parts) > 1 else parts[-1]
        for call in by_last.get(last, ()):
            for _, what in call.data["args"]:
                for item in what:
                    caller = item.split("|")[0] if "|" in item else None
                    if caller is not None and caller not in names:
                        names.add(caller)
                        todo.append(caller)
    return {Word(_called_as(qualified).encode()) for qualified in names}


def _called_as(qualified: str) -> str:
    """The word a call of the function names: its own, or its class's for `__init__`."""
    parts = qualified.split(".")
    return parts[-2] if parts[-1] == "__init__" and len(parts) > 1 else parts[-1]


def denotes(imported: str, path: str, qualified: str) -> bool:
    """Whether the name a file imports (`pkg.nets.Net.build`, as it resolves it) is the
    definition `qualified` (`Net.build`) of the file `path`: the module part matches the
    file's module by its trailing parts (paths are relative to wherever reglint runs)."""
    if not imported.endswith("." + qualified):
        return False
    return names_module(imported[: -len(qualified) - 1], module_of(path))


def names_module(imported: str, module: str) -> bool:
    """Whether an imported dotted name can be the module of a file (`model` is `src.model`:
    paths are relative to wherever reglint runs, and `src` may be on the import path)."""
    return module == imported or module.endswith("." + imported)


def module_of(path: str) -> str:
    """The dotted module of a file's path (`pkg/nets/__init__.py` -> `pkg.nets`)."""
    stem = path[:-3] if path.endswith(".py") else path.rpartition(".")[0] or path
    dotted = stem.replace("\\", "/").strip("/").replace("/", ".")
    return dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted
