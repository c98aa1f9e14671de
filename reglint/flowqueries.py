"""What rules ask of a solved dataflow (reglint/dataflow.py): the tags of an expression, the
strings it can be, where sources are optimized and combined, a class's members, the names a
scope reads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import libcst as cst

from reglint.flowfix import contains, loads_of
from reglint.flowstate import FlowState
from reglint.names import dotted
from reglint.patterns import graph_key
from reglint.tfnames import (
    GRAPH_KEYS,
)
from reglint.values import (
    Scope,
    Sink,
    Source,
    Stmt,
)

if TYPE_CHECKING:
    pass


class FlowQueries(FlowState):
    """Queries for rules, on a solved flow."""

    def eval_in(self, stmt: Stmt, node: cst.BaseExpression) -> frozenset[Any]:
        """The tags of an expression of `stmt`, once solved."""
        self._current = stmt
        try:
            return self.eval(node)
        finally:
            self._current = None

    def strings(self, scope: Scope, node: cst.BaseExpression | None) -> set[str] | None:
        """The strings an expression can be, or None when they cannot all be known."""
        origins = self.string_origins(scope, node)
        return None if origins is None else {text for text, _ in origins}

    def string_origins(
        self, scope: Scope, node: cst.BaseExpression | None, depth: int = 0
    ) -> list[tuple[str, cst.BaseExpression]] | None:
        """The strings an expression can be, each with the expression that spells it, or
        None when they cannot all be known: a literal, a `GraphKeys` attribute (its value),
        or a parameter of the enclosing function, which is its default, what the function
        assigns it, or what this file's call sites pass (a function that no call site of this
        file calls may be passed anything). `None` is no string: a parameter defaulting to it
        is replaced before use or the call fails."""
        if node is None or depth > 4:
            return None
        if isinstance(node, cst.SimpleString):
            value = node.evaluated_value
            return [(value, node)] if isinstance(value, str) else None
        if isinstance(node, cst.Name) and node.value == "None":
            return []
        attr = graph_key(node, self.resolve(node))
        if attr is not None:
            key = GRAPH_KEYS.get(attr)
            return [(key, node)] if key is not None else None
        if not isinstance(node, cst.Name) or not isinstance(scope.node, cst.FunctionDef):
            return None
        func = scope.node
        if node.value not in scope.params or func.name.value not in self.called_names:
            return None
        default = next(
            (p.default for p in (*func.params.params, *func.params.kwonly_params) if p.name.value == node.value),
            None,
        )
        passed = list(self.param_args.get((func, node.value), ()))
        assigned = [
            stmt.node.value
            for stmt in self.stmts
            if stmt.scope is scope
            and isinstance(stmt.node, cst.Assign)
            and any(isinstance(t.target, cst.Name) and t.target.value == node.value for t in stmt.node.targets)
        ]
        if default is None and not passed:
            return None
        found: list[tuple[str, cst.BaseExpression]] = []
        for expr in ([default] if default is not None else []) + assigned + passed:
            caller = scope if expr is default or expr in assigned else self._scope_around(expr)
            origins = self.string_origins(caller, expr, depth + 1) if caller is not None else None
            if origins is None:
                return None
            found.extend(origins)
        return found

    def _scope_around(self, node: cst.CSTNode) -> Scope | None:
        """The scope of the statement an expression belongs to (of the recorded ones)."""
        for stmt in self.stmts:
            if contains(stmt.node, node):
                return stmt.scope
        return None

    def reached(self, source: Source) -> list[Sink]:
        return [sink for sink in self.sinks.values() if source in sink.tags]

    def combined(self, first: Source, second: Source) -> bool:
        """Whether the two terms are operands of one `+` or one list somewhere."""
        for parts in self.combinations:
            if any(first in a and second in b for i, a in enumerate(parts) for j, b in enumerate(parts) if i != j):
                return True
        return False

    def sink_list(self) -> list[Sink]:
        """Sinks in source order (by statement: positions are computed only to report)."""
        return sorted(self.sinks.values(), key=lambda s: s.stmt.order)

    def members(self, cls: cst.ClassDef) -> Iterator[tuple[str, frozenset[Any]]]:
        """What an object of `cls` holds, as another module sees it through `Member`: each
        attribute its methods (or its base classes' here) set on `self`, and each method's
        result, named `method()`."""
        root = self._root_class(cls)
        for (owner, attr), tags in self.attrs.items():
            if owner is root:
                yield attr, tags
        todo, seen, named = [cls], set(), set()
        while todo:
            current = todo.pop(0)
            scope = self.scope_of.get(current)
            if current in seen or scope is None:
                continue
            seen.add(current)
            for name, func in scope.functions.items():
                if name not in named:  # a subclass's method overrides its base's
                    named.add(name)
                    yield f"{name}()", self.returns.get(func, frozenset())
            todo.extend(self._bases(current))

    def source_list(self, kinds: Iterable[str]) -> list[Source]:
        wanted = set(kinds)
        return sorted((s for s in self.sources.values() if s.kind in wanted), key=lambda s: s.stmt.order)

    def tf_alias(self) -> str | None:
        """A name bound to TensorFlow (`tf`), for fixes that call it."""
        return self.ctx.resolver.alias_for("tensorflow")

    def tf_is_v2_module(self) -> bool:
        """Whether `tf` is TensorFlow 2's module and the file reaches TF1 through `compat.v1`."""
        for stmt in self.ctx.module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        if dotted(alias.name) == "tensorflow.compat.v1":
                            return False
        return "compat.v1." in self.ctx.text()

    def assignments_in(self, name: str, container: cst.CSTNode) -> list[Stmt]:
        """Statements assigning `name` (plainly) that lie in the body of `container`."""
        found = []
        for stmt in self.stmts:
            if not any(line is container for _, line in stmt.chain):
                continue
            node = stmt.node
            if (
                isinstance(node, cst.Assign)
                and any(isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets)
            ) or (
                isinstance(node, (cst.AugAssign, cst.AnnAssign))
                and isinstance(node.target, cst.Name)
                and node.target.value == name
            ):
                found.append(stmt)
        return found

    def names_used(self, name: str, scope: Scope) -> Iterator[tuple[cst.Name, Stmt]]:
        """Loads of `name` in statements of `scope` (assignment targets excluded)."""
        for stmt in self.stmts:
            if stmt.scope is not scope:
                continue
            for found in loads_of(stmt.node, name):
                yield found, stmt
