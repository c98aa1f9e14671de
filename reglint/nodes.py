"""libcst nodes, read fast: the fields of a node type that hold its children, in the order
libcst visits them, and a node's children from those fields (libcst's `children` property
visits the node to collect them, which costs several times more)."""

from __future__ import annotations

import re

import libcst as cst

_VISITED_FIELD = re.compile(
    r"visit_(?:required|optional|sentinel|sequence|iterable|body_sequence|body_iterable)\(\s*self,\s*\"(\w+)\""
)
CHILD_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}
IS_NODE: dict[type, bool] = {}


def is_node(kind: type) -> bool:
    found = IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return found


def child_fields(kind: type[cst.CSTNode]) -> tuple[str, ...]:
    """The fields of a node type that hold child nodes, in the order libcst visits them.

    Read once per type from the source of libcst's own `_visit_and_replace_children` (the
    `visit_*(self, "field", ...)` calls), so the walk follows exactly libcst's order;
    tests/test_parallel_cache.py checks the event sequence against `node.visit` on real
    files. A type whose source cannot be read falls back to every dataclass field holding
    nodes, in declaration order."""
    found = CHILD_FIELDS.get(kind)
    if found is None:
        import dataclasses
        import inspect

        names: list[str] = []
        try:
            source = inspect.getsource(kind._visit_and_replace_children)
            for name in _VISITED_FIELD.findall(source):
                if name not in names:
                    names.append(name)
        except (OSError, TypeError):
            names = [f.name for f in dataclasses.fields(kind)]
        found = CHILD_FIELDS[kind] = tuple(names)
    return found


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The children of a node, from its fields (see `child_fields`): libcst's `children`
    property visits the node to collect them, which costs several times more."""
    fields = CHILD_FIELDS.get(type(node))
    if fields is None:
        fields = child_fields(type(node))
    children: list[cst.CSTNode] = []
    for name in fields:
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            children.extend(value)
        else:
            # a dict lookup: isinstance against libcst's abstract base classes costs more
            holds_node = IS_NODE.get(kind)
            if holds_node is None:
                holds_node = is_node(kind)
            if holds_node:
                children.append(value)
    return children


def is_expression(node: cst.CSTNode) -> bool:
    """`isinstance(node, cst.BaseExpression)`, from a dict (see child_nodes)."""
    kind = type(node)
    found = _IS_EXPRESSION.get(kind)
    if found is None:
        found = _IS_EXPRESSION[kind] = issubclass(kind, cst.BaseExpression)
    return found


_IS_EXPRESSION: dict[type, bool] = {}
