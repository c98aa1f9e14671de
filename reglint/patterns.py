"""Expression patterns more than one rule recognises, kept once.

`is_penalty_of` answers "is this expression a regularization penalty of the variable named
`var`": REG002 asks it of a user function given as an initializer (seed 001's
`def regularizer(w): return scale * tf.nn.l2_loss(w)`), REG003 of the element of a sum over all
trainable variables (seeds 002 and 004)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import libcst as cst

from reglint.tfnames import PENALTY_FUNCTIONS, REGULARIZER_FACTORIES

REDUCTIONS = frozenset(
    {"tensorflow.reduce_sum", "tensorflow.math.reduce_sum", "tensorflow.reduce_mean", "tensorflow.math.reduce_mean"}
)
# elementwise terms of an L2 (square) or L1 (abs) penalty under a reduction
ELEMENTWISE = frozenset({"tensorflow.square", "tensorflow.math.square", "tensorflow.abs", "tensorflow.math.abs"})


class OwnScopeVisitor(cst.CSTVisitor):
    """A visitor of one scope's code: it does not descend into the functions, classes and
    lambdas the scope defines (their code runs elsewhere, with names of their own)."""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def mentions(node: cst.CSTNode, name: str) -> bool:
    """Whether the Name `name` occurs anywhere in `node`."""
    if isinstance(node, cst.Name):
        return node.value == name
    return any(mentions(child, name) for child in node.children)


def calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    """Every call in `node`, outermost first, not looking into lambdas."""
    if isinstance(node, cst.Call):
        yield node
    for child in node.children:
        if not isinstance(child, cst.Lambda):
            yield from calls(child)


def _elementwise(resolve: Callable[[cst.CSTNode], str | None], node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Power):
        return isinstance(node.right, cst.Integer) and node.right.value == "2"
    return any(resolve(call.func) in ELEMENTWISE for call in calls(node))


def is_penalty_of(resolve: Callable[[cst.CSTNode], str | None], expr: cst.CSTNode, var: str) -> bool:
    """`tf.nn.l2_loss(v)`, `tf.reduce_sum(tf.square(v))`, `reduce_sum(v ** 2)`,
    `reduce_sum(tf.abs(v))` or `regularizer(...)(v)`, anywhere in `expr`, with `v` the
    variable `var`."""
    for call in calls(expr):
        if not call.args or not mentions(call.args[0].value, var):
            continue
        name = resolve(call.func)
        if name in PENALTY_FUNCTIONS:
            return True
        if isinstance(call.func, cst.Call) and resolve(call.func.func) in REGULARIZER_FACTORIES:
            return True
        if name in REDUCTIONS and _elementwise(resolve, call.args[0].value):
            return True
    return False


# The bytes every penalty `reglint.patterns.is_penalty_of` recognises necessarily contains (one
# group of them), shared by REG002 and REG003. Names resolve only through the file's own imports and
# aliases, so the last segment of a canonical name is written in the file whatever the alias:
# - `tf.nn.l2_loss(w)` / `tf.math.l2_loss(w)` (also `from tensorflow.nn import l2_loss as f`);
# - a regularizer called on the variable, `l2(0.1)(w)`: every factory's canonical name holds a
#   `regularizers` module or an `*_regularizer` function (`from keras.regularizers import l2`);
# - `reduce_sum` / `reduce_mean` of an elementwise term: `tf.square(w)`, `tf.abs(w)`, `w ** 2`.
PENALTY_TOKENS: tuple[tuple[bytes, ...], ...] = (
    (b"l2_loss",),
    (b"regularizer",),
    *((reduction, term) for reduction in (b"reduce_sum", b"reduce_mean") for term in (b"square", b"abs", b"**")),
)
