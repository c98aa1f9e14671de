"""Queries and fixes on a solved dataflow (reglint/dataflow.py) that rules share: the
arguments of calls, where names are read and bound, how a sink's scope can name a value,
and the edits that add a term to the loss a sink optimizes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import libcst as cst

from reglint.names import statement_targets
from reglint.rule import Insert, PendingFix, Replace, Rule
from reglint.tfnames import GRAPH_DECLARERS, GRAPH_DECLARERS_PREFIXES, SLIM_NET_ARG_SCOPES, SLIM_NETS_PACKAGES
from reglint.values import COLLECTION, KERAS_LOSSES, Scope, Sink, Source, Stmt

if TYPE_CHECKING:
    from reglint.dataflow import Flow


def call_argument(call: cst.Call, index: int, keyword: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    if index < 0:
        return None
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[index].value if index < len(positional) else None


def loads_of(node: cst.CSTNode, name: str) -> Iterator[cst.Name]:
    """Name nodes reading `name` inside a statement (targets of plain assignments excluded)."""
    if isinstance(node, cst.Assign):
        roots: list[cst.CSTNode] = [node.value]
        roots += [t.target for t in node.targets if not isinstance(t.target, cst.Name)]
    elif isinstance(node, (cst.For,)):
        roots = [node.iter]
    elif isinstance(node, (cst.If, cst.While)):
        roots = [node.test]
    elif isinstance(node, cst.With):
        roots = [item.item for item in node.items]
    else:
        roots = [node]
    for root in roots:
        yield from _names(root, name)


def _names(node: cst.CSTNode, name: str) -> Iterator[cst.Name]:
    if isinstance(node, cst.Name):
        if node.value == name:
            yield node
        return
    if isinstance(node, cst.Attribute):
        yield from _names(node.value, name)
        return
    for child in node.children:
        yield from _names(child, name)


def mentions(node: cst.CSTNode, ref: str) -> bool:
    """Whether an expression uses the object named by `ref` (`model`, `self.model`)."""
    head, _, attr = ref.partition(".")
    if not attr:
        return any(True for _ in _names(node, head))
    if (
        isinstance(node, cst.Attribute)
        and node.attr.value == attr
        and isinstance(node.value, cst.Name)
        and node.value.value == head
    ):
        return True
    return any(mentions(child, ref) for child in node.children)


def contains(outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
    """Whether `inner` is `outer` or lies inside it (a walk of `outer` only)."""
    if outer is inner:
        return True
    return any(contains(child, inner) for child in outer.children)


def statement_text(module: cst.Module, stmt: cst.CSTNode) -> str:
    """The source of a statement to move: its own comment lines, then the statement, without
    indentation (Insert(own_line=True) indents each line like its anchor)."""
    comments: list[str] = []
    if isinstance(stmt, cst.SimpleStatementLine):
        comments = [line.comment.value for line in stmt.leading_lines if line.comment is not None]
        stmt = stmt.with_changes(leading_lines=[])
    return "\n".join([*comments, module.code_for_node(stmt).rstrip("\r\n")])


def moved_statement(flow: Flow, stmt: Stmt) -> str | None:
    """The name a movable statement assigns: a line holding one plain `name = value`."""
    line = stmt.line
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1 or line.body[0] is not stmt.node:
        return None
    node = stmt.node
    if not isinstance(node, cst.Assign) or len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
        return None
    return node.targets[0].target.value


def assignments_of(flow: Flow, name: str, scope: Scope) -> list[Stmt]:
    """Statements of `scope` that bind `name` (assignment, augmented assignment, for target)."""
    found = []
    for stmt in flow.stmts:
        if stmt.scope is not scope:
            continue
        if any(any(True for _ in _names(t, name)) for t in statement_targets(stmt.node)):
            found.append(stmt)
    return found


def add_term_fix(rule: Rule, flow: Flow, sink: Sink, term: str | None) -> PendingFix | None:
    """Add `term` to the loss a sink optimizes, where the loss is formed: a new line
    `loss = loss + term` before the training call, or after the loss's last assignment in the
    sink's GradientTape; or `arg + term` in the call when the loss is an expression."""
    if term is None:
        return None
    arg = sink.arg
    scope = sink.stmt.scope
    if isinstance(arg, cst.Name) or (
        isinstance(arg, cst.Attribute) and isinstance(arg.value, cst.Name) and arg.value.value == scope.self_name
    ):
        if isinstance(arg, cst.Name) and (scope, arg.value) not in flow.env:
            return None  # a name of another scope: rebinding it here would shadow it
        if isinstance(arg, cst.Name) and any(
            isinstance(s.node, cst.Assign) and isinstance(s.node.value, cst.Lambda)
            for s in assignments_of(flow, arg.value, scope)
        ):
            return None  # a loss callable (Keras `minimize(loss_fn, ...)`): not a tensor to add to
        name = flow.ctx.code(arg)
        text = f"{name} = {name} + {term}"
        if sink.tape is not None:
            if not isinstance(arg, cst.Name):
                return None
            body = sink.tape.body
            inside = [
                s
                for s in flow.assignments_in(arg.value, sink.tape)
                if s.chain and s.chain[-1][0] is body and isinstance(s.line, cst.SimpleStatementLine)
            ]
            if not inside:
                return None
            last = max(inside, key=lambda s: flow.line(s.node))
            return rule.make_fix(Insert(last.line, text, after=True, own_line=True))
        if not isinstance(sink.stmt.line, cst.SimpleStatementLine):
            return None
        anchor = _outside_loops(flow, sink, arg)
        if anchor is None:
            return None
        return rule.make_fix(Insert(anchor, text, after=False, own_line=True))
    if sink.tape is not None:
        return None
    if isinstance(arg, cst.Lambda):
        # `minimize(lambda: loss)`: the term goes into the lambda's body
        text = flow.ctx.code(arg.body)
        if not _binds_tighter_than_plus(arg.body):
            text = f"({text})"
        return rule.make_fix(Replace(arg.body, f"{text} + {term}"))
    code = flow.ctx.code(arg)
    if not _binds_tighter_than_plus(arg):
        code = f"({code})"
    return rule.make_fix(Replace(arg, f"{code} + {term}"))


def _outside_loops(flow: Flow, sink: Sink, arg: cst.BaseExpression) -> cst.CSTNode | None:
    """Where `loss = loss + term` goes so that it runs once per forming of the loss: before
    the training call, or before the outermost loop around it that does not form the loss
    again (a loop over towers or steps would add the term once per iteration). None when the
    function rebinds a global loss (each call would add it again)."""
    chain = [line for _, line in sink.stmt.chain]
    own = max((i for i, line in enumerate(chain) if isinstance(line, (cst.FunctionDef, cst.ClassDef))), default=-1)
    function = chain[own] if own >= 0 else None
    if (
        isinstance(function, cst.FunctionDef)
        and isinstance(arg, cst.Name)
        and _declares_global(function, arg.value)
        and not any(isinstance(s.node, (cst.Assign, cst.AnnAssign)) for s in flow.assignments_in(arg.value, function))
    ):
        return None  # a global loss formed elsewhere: each call would add the term again
    anchor: cst.CSTNode = sink.stmt.line
    for line in reversed(chain[own + 1 :]):
        if not isinstance(line, (cst.For, cst.While)):
            continue
        if not isinstance(arg, cst.Name):
            return None  # `self.loss` formed who knows where: no fix inside a loop
        if flow.assignments_in(arg.value, line):
            break  # formed again in each iteration: the term goes with it
        anchor = line
    return anchor


def _declares_global(function: cst.FunctionDef, name: str) -> bool:
    return any(
        isinstance(node, cst.Global) and any(item.name.value == name for item in node.names)
        for node in _small_statements(function)
    )


def _small_statements(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The small statements of a function's own body (not of the functions it defines)."""
    stack = list(node.children)
    while stack:
        current = stack.pop()
        if isinstance(current, cst.BaseSmallStatement):
            yield current
        elif not isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            stack.extend(current.children)


_ARITHMETIC = (
    cst.Add,
    cst.Subtract,
    cst.Multiply,
    cst.Divide,
    cst.FloorDivide,
    cst.Modulo,
    cst.Power,
    cst.MatrixMultiply,
)


def _binds_tighter_than_plus(node: cst.BaseExpression) -> bool:
    """Whether `node + term` keeps `node` whole without parentheses."""
    if isinstance(node, cst.BinaryOperation):
        return isinstance(node.operator, _ARITHMETIC)
    return isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) or bool(getattr(node, "lpar", None))


def reference_to(flow: Flow, source: Source, sink: Sink) -> tuple[str, bool] | None:
    """How the sink's statement can name the value computed at `source`: the variable or
    `self.` attribute it is assigned to, and whether that value is a list (a collection)."""
    stmt = source.stmt.node
    if not isinstance(stmt, cst.Assign) or len(stmt.targets) != 1:
        return None
    target = stmt.targets[0].target
    is_list = source.kind in (COLLECTION, KERAS_LOSSES) and stmt.value is source.node
    same_scope = source.stmt.scope is sink.stmt.scope
    if same_scope and flow.line(source.node) >= flow.line(sink.node):
        return None
    if isinstance(target, cst.Name):
        return (target.value, is_list) if same_scope else None
    here = sink.stmt.scope
    there = source.stmt.scope
    if (
        same_scope  # in another method, the attribute may not be set yet when the loss is built
        and isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and there.self_name is not None
        and target.value.value == there.self_name
        and here.self_name is not None
        and here.cls is there.cls
    ):
        return f"{here.self_name}.{target.attr.value}", is_list
    return None


def regularizer_keyword(call: cst.Call) -> str | None:
    """The `regularizer=` / `*_regularizer=` keyword a call passes a regularizer to, if any."""
    for arg in call.args:
        if arg.keyword is None:
            continue
        keyword = arg.keyword.value
        if keyword == "regularizer" or keyword.endswith("_regularizer"):
            if isinstance(arg.value, cst.Name) and arg.value.value == "None":
                continue
            return keyword
    return None


def is_graph_declarer(name: str | None) -> bool:
    """TF1 calls whose regularizer goes to the REGULARIZATION_LOSSES collection."""
    return name is not None and (name in GRAPH_DECLARERS or name.startswith(GRAPH_DECLARERS_PREFIXES))


def slim_net_arg_scope(name: str | None, call: cst.Call) -> tuple[str, float | None] | None:
    """`vgg.vgg_arg_scope()` of slim's network library (SLIM_NET_ARG_SCOPES): its name and
    the weight decay it declares (the default unless the call gives a number; None when the
    call gives a value that is not a literal). None for other calls and for a decay of 0."""
    if name is None or not name.startswith(SLIM_NETS_PACKAGES):
        return None
    builder = name.rpartition(".")[2]
    if builder not in SLIM_NET_ARG_SCOPES:
        return None
    decay, index = SLIM_NET_ARG_SCOPES[builder]
    given = call_argument(call, index, "weight_decay")
    if given is None:
        return builder, decay
    if isinstance(given, (cst.Integer, cst.Float)):
        value = float(given.evaluated_value)
        return (builder, value) if value > 0 else None
    return builder, None
