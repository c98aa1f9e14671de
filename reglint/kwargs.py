"""Keyword arguments a call receives through a dict: `Dense(**settings)`.

Shared by the rules that judge what a keyword is given (REG002's slots, REG003's bias
regularizers), so that both see the same entries. A `**name` argument's entries are the ones
its own scope gives `name`: a dict literal or `dict(key=...)` assigned to it, `name["key"] =
value`, and `name.update(key=value)` / `name.update({"key": value})`. A dict built elsewhere
(another function, a copy) gives nothing: its entries are not known here. Written by hand:
libcst's metadata has no notion of a dict's keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import libcst as cst

from reglint.patterns import OwnScopeVisitor

if TYPE_CHECKING:
    from reglint.engine import FileContext

Entry = tuple[str, cst.BaseExpression]


def splatted_keywords(ctx: FileContext, call: cst.Call, cache: dict[object, list[Entry]]) -> Iterator[Entry]:
    """(keyword, value) for each entry the call's `**name` arguments are known to hold.
    `cache` keeps each (scope, name)'s entries for the caller (one walk of a scope per name)."""
    for arg in call.args:
        if arg.star != "**" or not isinstance(arg.value, cst.Name):
            continue
        scope = ctx.enclosing(cst.FunctionDef) or ctx.module
        key = (id(scope), arg.value.value)
        entries = cache.get(key)
        if entries is None:
            entries = list(_literal_entries(ctx, arg.value))
            collector = _Stores(arg.value.value)
            body = scope.body if isinstance(scope, cst.FunctionDef) else scope
            body.visit(collector)
            entries += collector.entries
            cache[key] = entries
        yield from entries


def _literal_entries(ctx: FileContext, name: cst.Name) -> Iterator[Entry]:
    for value in ctx.resolver.assigned_values(name):
        yield from dict_entries(ctx, value)


def dict_entries(ctx: FileContext, value: cst.BaseExpression) -> Iterator[Entry]:
    """The string-keyed entries of a dict literal or a `dict(key=value)` call."""
    if isinstance(value, cst.Dict):
        yield from _items(value)
    elif isinstance(value, cst.Call) and ctx.resolver.resolve(value.func) == "builtins.dict":
        for arg in value.args:
            if arg.keyword is not None:
                yield arg.keyword.value, arg.value


class _Stores(OwnScopeVisitor):
    """`name["key"] = value` and `name.update(...)` in a scope, not in the scopes it holds."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.entries: list[Entry] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            subscript = target.target
            if (
                isinstance(subscript, cst.Subscript)
                and isinstance(subscript.value, cst.Name)
                and subscript.value.value == self.name
                and len(subscript.slice) == 1
                and isinstance(subscript.slice[0].slice, cst.Index)
                and isinstance(subscript.slice[0].slice.value, cst.SimpleString)
            ):
                key = subscript.slice[0].slice.value.evaluated_value
                if isinstance(key, str):
                    self.entries.append((key, node.value))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value == "update"
            and isinstance(func.value, cst.Name)
            and func.value.value == self.name
        ):
            return
        for arg in node.args:
            if arg.keyword is not None:
                self.entries.append((arg.keyword.value, arg.value))
            elif isinstance(arg.value, cst.Dict):
                self.entries.extend(_items(arg.value))


def _items(value: cst.Dict) -> Iterator[Entry]:
    for element in value.elements:
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
            key = element.key.evaluated_value
            if isinstance(key, str):
                yield key, element.value
