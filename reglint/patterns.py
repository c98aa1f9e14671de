"""Expression patterns more than one rule recognises, kept once.

`is_penalty_of` answers "is this expression a regularization penalty of the variable named
`var`": REG002 asks it of a user function given as an initializer (seed 001's
`def regularizer(w): return scale * tf.nn.l2_loss(w)`), REG003 of the element of a sum over all
trainable variables (seeds 002 and 004)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import libcst as cst

from reglint.tfnames import GRAPH_KEYS_CLASS, PENALTY_FUNCTIONS, REGULARIZER_FACTORIES
from reglint.values import is_bias_name

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


def has_comment(node: cst.CSTNode) -> bool:
    """Whether a comment is written anywhere in `node` (a fix that rewrites or drops it would
    lose or move the user's comment)."""
    if isinstance(node, cst.Comment):
        return True
    return any(has_comment(child) for child in node.children)


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


# -- variables by the names they are created under ----------------------------------------------


def graph_key(key: cst.BaseExpression, resolved: str | None) -> str | None:
    """The `GraphKeys` attribute a collection key names (`REGULARIZATION_LOSSES`), from the
    name it resolves to (`tensorflow.GraphKeys.X`), else, when it resolves to nothing, from
    its spelling (`tf.GraphKeys.X` where `tf` comes from a star import or a parameter:
    TensorFlow's is the only `GraphKeys` training code uses). None for any other key."""
    if resolved is not None:
        return resolved.rpartition(".")[2] if resolved.startswith(GRAPH_KEYS_CLASS + ".") else None
    if isinstance(key, cst.Attribute):
        owner = key.value
        spelled = (
            owner.attr.value
            if isinstance(owner, cst.Attribute)
            else owner.value
            if isinstance(owner, cst.Name)
            else None
        )
        if spelled == "GraphKeys":
            return key.attr.value
    return None


def keyword_arg(call: cst.Call, keyword: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg
    return None


def created_name(call: cst.Call, *, positional: bool) -> str | None:
    """The name a variable is created under, when it is a string literal: `name=`, or the
    first positional argument of a getter (`get_variable("b", ...)`, `add_weight("bias")`;
    `positional`), not of `tf.Variable`, whose first is the initial value."""
    arg = keyword_arg(call, "name")
    if arg is None and positional and call.args and call.args[0].keyword is None and not call.args[0].star:
        arg = call.args[0]
    if arg is not None and isinstance(arg.value, cst.SimpleString):
        value = arg.value.evaluated_value
        return value if isinstance(value, str) else None
    return None


def string_list(node: cst.BaseExpression) -> list[str] | None:
    """The strings of a string literal or a list/tuple/set of them, else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return [value] if isinstance(value, str) else None
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        found: list[str] = []
        for element in node.elements:
            inner = string_list(element.value)
            if inner is None:
                return None
            found.extend(inner)
        return found
    return None


def _is_name_of(node: cst.BaseExpression, target: str) -> bool:
    """`target.name` or `target.op.name`."""
    if not (isinstance(node, cst.Attribute) and node.attr.value == "name"):
        return False
    owner = node.value
    if isinstance(owner, cst.Attribute) and owner.attr.value == "op":
        owner = owner.value
    return isinstance(owner, cst.Name) and owner.value == target


def excludes_nothing(test: cst.BaseExpression, target: str) -> bool:
    """`v.name not in ['bias', 'gamma']` / `v.name != 'bias'` with bare names: a TF1 variable's
    name always carries `:0` (`dense/bias:0`), so the test is always true."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    left = test.left
    if not (isinstance(left, cst.Attribute) and isinstance(left.value, cst.Name) and _is_name_of(left, target)):
        return False
    comparison = test.comparisons[0]
    if not isinstance(comparison.operator, (cst.NotIn, cst.NotEqual)):
        return False
    strings = string_list(comparison.comparator)
    if isinstance(comparison.operator, cst.NotEqual) and not isinstance(comparison.comparator, cst.SimpleString):
        return False
    return strings is not None and all(":" not in s for s in strings)


def drops_only_other(test: cst.BaseExpression, target: str) -> str | None:
    """The word of a filter `"word" not in v.name` that names no conv or dense bias
    (`"batch_normalization"`, `"global_step"`, `"bn"`, and BatchNorm's `"gamma"` and `"beta"`):
    it leaves every conv and dense bias in. None for any other test."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    comparison = test.comparisons[0]
    if not isinstance(comparison.operator, cst.NotIn) or not isinstance(test.left, cst.SimpleString):
        return None
    word = test.left.evaluated_value
    if not isinstance(word, str) or not word or not _is_name_of(comparison.comparator, target):
        return None
    words = set(re.split(r"[^a-z]+", word.lower()))
    conv_or_dense_bias = is_bias_name(word) and not words <= BATCH_NORM_WORDS
    return None if conv_or_dense_bias or "bias" in word.lower() else word


# what names BatchNorm's parameters only (a filter on them keeps the conv and dense biases)
BATCH_NORM_WORDS = frozenset({"gamma", "beta", ""})


def keeps_biases(test: cst.BaseExpression, target: str) -> bool:
    """Whether a comprehension's filter on the variable `target` surely keeps the biases.
    (`excludes_nothing` filters keep them too, but only with TF1's scoped names, which REG003
    checks where it sees the source; Keras 3's names are bare.)"""
    return drops_only_other(test, target) is not None
