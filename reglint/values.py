"""What a value carries, for the dataflow analysis (reglint/dataflow.py): the kinds of
regularization terms (`Source`), where values are optimized (`Sink`), the other tags a value
may hold (objects, parameters, weights, unknowns), and the TensorFlow names and prefilter
tokens that recognise them. Plain definitions: nothing here walks a tree."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from reglint.rule import Word
from reglint.tfnames import VARIABLE_MAKERS, WEIGHT_METHODS

OPAQUE = "opaque"
# a value named for a loss or a penalty that this file does not bind (a parameter no call site
# here binds, a name bound nowhere, an attribute never assigned here): it may hold anything,
# but not something the project's own files could not make (a read of the collection, when no
# file reads it)
UNBOUND = "unbound"

# kinds of Source
COLLECTION = "collection"  # the REGULARIZATION_LOSSES list
REG_LOSS = "reg_loss"  # get_regularization_loss(): its sum
TOTAL_LOSS = "total_loss"  # get_total_loss(): data losses + regularization
KERAS_LOSSES = "keras_losses"  # model.losses / layer.losses
L2 = "l2"  # an explicit penalty on some tensor
L2_ALL = "l2_all"  # an explicit penalty over all trainable variables
KERAS_MODEL = "keras_model"  # a Keras layer built with *_regularizer=, and what is built from it

GRAPH_FAMILY = frozenset({COLLECTION, REG_LOSS, TOTAL_LOSS})
PENALTIES = frozenset({COLLECTION, REG_LOSS, TOTAL_LOSS, KERAS_LOSSES, L2, L2_ALL})
# the penalties that stand for every regularizer declared (not a penalty on some tensors)
COVERING = frozenset({COLLECTION, REG_LOSS, TOTAL_LOSS, KERAS_LOSSES, L2_ALL})

SINK_METHODS = frozenset({"minimize", "compute_gradients"})
FIT_METHODS = frozenset({"fit", "fit_generator", "train_on_batch", "compile"})
MUTATORS = frozenset({"append", "extend", "insert", "add"})
TRAINABLE_ALL_ATTRS = frozenset({"trainable_variables", "trainable_weights", "weights", "variables"})
TRAINABLE_ALL_CALLS = frozenset({"tensorflow.trainable_variables", "tensorflow.global_variables"})
L2_CALLS = frozenset({"tensorflow.nn.l2_loss", "tensorflow.norm", "tensorflow.nn.l2_normalize"})
SQUARE_CALLS = frozenset({"tensorflow.square", "tensorflow.math.square", "tensorflow.abs", "tensorflow.math.abs"})
SUM_REDUCERS = frozenset({"tensorflow.reduce_sum", "tensorflow.math.reduce_sum", "builtins.sum"})
WEIGHT_LIKE = (cst.Name, cst.Attribute, cst.Subscript)
# calls that make a variable, methods that make or return a layer's weights, a layer's weight
# attributes, and the TensorFlow ops whose result is still those weights (reshaped, cast,
# looked up); any other op computes an activation from them
WEIGHT_MAKERS = VARIABLE_MAKERS
VARIABLE_METHODS = WEIGHT_METHODS | {"get_weights", "get_variable"}
WEIGHT_ATTRS = frozenset(
    {"kernel", "bias", "embeddings", "depthwise_kernel", "pointwise_kernel", "recurrent_kernel", "gamma", "beta"}
)
WEIGHT_PRESERVING = frozenset(
    {
        "tensorflow.reshape",
        "tensorflow.identity",
        "tensorflow.cast",
        "tensorflow.transpose",
        "tensorflow.squeeze",
        "tensorflow.expand_dims",
        "tensorflow.gather",
        "tensorflow.concat",
        "tensorflow.stack",
        "tensorflow.convert_to_tensor",
        "tensorflow.nn.embedding_lookup",
        "tensorflow.abs",
        "tensorflow.math.abs",
        "tensorflow.square",
        "tensorflow.math.square",
    }
)
VARIABLE_COLLECTIONS = frozenset(
    {"trainable_variables", "variables", "model_variables", "weights", "trainable_resource_variables"}
)
# what weights are called when nothing else tells (a value of unknown origin)
_WEIGHT_NAME = re.compile(
    r"^(w|v|var|vars|theta|params?|variables?|kernels?|weights?|embeddings?|emb\w*)\d*$"
    r"|^(w|weights?|kernel|var)_|_(w|weights?|kernel|vars?|params|emb\w*)\d*$"
)
REGULARIZER_FACTORIES_PREFIXES = ("keras.regularizers.",)
TRAIN_OP_FUNCTIONS = frozenset(
    {"slim.learning.create_train_op", "tensorflow.contrib.training.create_train_op", "slim.create_train_op"}
)
ESTIMATOR_SPECS = frozenset(
    {
        "tensorflow.estimator.EstimatorSpec",
        "tensorflow.estimator.tpu.TPUEstimatorSpec",
        "tensorflow.contrib.tpu.TPUEstimatorSpec",
    }
)
LOSSY_WORDS = ("loss", "cost", "objective")

# The bytes the recognisers above need in a file, for the prefilter TOKENS of the rules that
# read the dataflow (see reglint/rules/__init__.py). Names resolve only through the file's
# own imports and aliases, so the last part of a resolved name is written in the file, as a
# whole word (a Word) where the recogniser compares whole names.
# Sinks: opt.minimize / compute_gradients, tf.gradients, tape.gradient of a tf.GradientTape,
# create_train_op, (TPU)EstimatorSpec(loss=...), x.add_loss.
SINK_TOKENS: tuple[tuple[bytes, ...], ...] = (
    (Word(b"minimize"),),
    (Word(b"compute_gradients"),),
    (Word(b"gradients"),),
    (Word(b"gradient"), Word(b"GradientTape")),
    (b"create_train_op",),
    (b"EstimatorSpec",),
    (Word(b"add_loss"),),
)
# Sinks that train whatever they are given (tf.gradients and tape.gradient train only with
# respect to the trainable variables, which needs TRAINABLE_TOKENS too)
ALWAYS_TRAINING_TOKENS = (Word(b"minimize"), Word(b"compute_gradients"), b"create_train_op", b"EstimatorSpec")
# COLLECTION, REG_LOSS and TOTAL_LOSS: get_collection('regularization_losses' or
# GraphKeys.REGULARIZATION_LOSSES), get_regularization_loss(es)(), get_total_loss()
GRAPH_READ_TOKENS = (b"REGULARIZATION_LOSSES", b"regularization_losses", b"get_regularization_loss", b"get_total_loss")
# L2: tf.nn.l2_loss, tf.norm / tf.nn.l2_normalize, a regularizer called on a tensor
# (`keras.regularizers.l2(0.01)(w)`, `*_regularizer(...)(w)`), (reduce_)sum of tf.square,
# tf.abs or `w ** 2` (L2_CALLS, REGULARIZER_FACTORIES_PREFIXES, SUM_REDUCERS, SQUARE_CALLS).
# KERAS_LOSSES: the attribute `x.losses` (the word: it may follow the dot after a line break
# inside brackets).
L2_TOKENS: tuple[tuple[bytes, ...], ...] = (
    (b"l2_loss",),
    (Word(b"norm"),),
    (Word(b"l2_normalize"),),
    (b"regularizer",),
    *(
        (total, term)
        for total in (Word(b"sum"), Word(b"reduce_sum"))
        for term in (Word(b"square"), Word(b"abs"), b"**")
    ),
)
KERAS_LOSSES_TOKEN = Word(b"losses")
# the attributes and calls that stand for all the trainable variables (TRAINABLE_ALL_ATTRS,
# TRAINABLE_ALL_CALLS)
TRAINABLE_TOKENS = tuple(
    Word(name.rpartition(".")[2].encode()) for name in sorted(TRAINABLE_ALL_ATTRS | TRAINABLE_ALL_CALLS)
)


# --------------------------------------------------------------------------------------
# what the traversal records


@dataclass(eq=False)
class Scope:
    """A module, class body or function: where names live."""

    node: cst.CSTNode
    parent: Scope | None
    kind: str  # "module", "class", "function"
    cls: cst.ClassDef | None = None  # the class a method belongs to
    self_name: str | None = None
    params: list[str] = field(default_factory=list)
    functions: dict[str, cst.FunctionDef] = field(default_factory=dict)
    classes: dict[str, cst.ClassDef] = field(default_factory=dict)


@dataclass(eq=False)
class Stmt:
    """A statement (or compound-statement header) with the context it runs in."""

    node: cst.CSTNode  # a small statement, or the For / With / If / While header owner
    line: cst.CSTNode  # the statement in its block (SimpleStatementLine or compound)
    scope: Scope
    tapes: tuple[cst.With, ...]
    chain: tuple[tuple[cst.CSTNode, cst.CSTNode], ...]  # (block, statement in it), outermost first
    order: int = 0  # position in source order among the recorded statements

    def __repr__(self) -> str:
        return f"Stmt({type(self.node).__name__})"


@dataclass(eq=False)
class Source:
    kind: str
    node: cst.CSTNode
    stmt: Stmt

    def __repr__(self) -> str:
        return f"Source({self.kind})"


@dataclass(eq=False)
class Sink:
    kind: str  # "minimize", "gradients", "tape", "train_op", "estimator", "add_loss"
    node: cst.Call
    arg: cst.BaseExpression
    stmt: Stmt
    tape: cst.With | None = None
    tags: frozenset[Any] = frozenset()
    trains: bool = False  # optimizes variables (not a gradient with respect to inputs)

    def __repr__(self) -> str:
        return f"Sink({self.kind})"

    @property
    def graph_style(self) -> bool:
        return self.kind in ("minimize", "gradients", "train_op", "estimator")

    def sources(self, kinds: Iterable[str] | None = None) -> list[Source]:
        wanted = set(kinds) if kinds is not None else None
        return [t for t in self.tags if isinstance(t, Source) and (wanted is None or t.kind in wanted)]

    @property
    def opaque(self) -> bool:
        return OPAQUE in self.tags or UNBOUND in self.tags or any(isinstance(t, LossCall) for t in self.tags)

    def loss_calls(self) -> list[str]:
        """The imported loss-named functions whose results the loss holds."""
        return sorted(t.name for t in self.tags if isinstance(t, LossCall))


@dataclass(eq=False)
class Addition:
    """`left + right` as evaluated, for fixes that drop one term."""

    node: cst.BinaryOperation
    left: frozenset[Any]
    right: frozenset[Any]


@dataclass(frozen=True)
class Tape:
    with_node: cst.With


@dataclass(frozen=True)
class Instance:
    cls: cst.ClassDef


@dataclass(frozen=True)
class Function:
    node: cst.FunctionDef


@dataclass(frozen=True)
class Imported:
    """A value made by a call of an imported name the analysis cannot see into
    (`model = YoloV3(...)` with `from models import YoloV3`): followed so that the project
    phase can match it with what the other module says about that name."""

    name: str


@dataclass(frozen=True)
class Member:
    """An attribute, or a method's result, of an object made by another module's class
    (`net.vars` for `net = layers.Dense(...)`, `mgr.variables()` for `mgr = util.Manager()`):
    what it holds is what that module says of the class, joined in the project phase.
    `owner` is the class as the importing file names it, `member` the attribute, or the
    method followed by `()`."""

    owner: str
    member: str


@dataclass(frozen=True)
class Param:
    """What a parameter of a function holds when no call site of its own file binds it: what
    the project's callers pass (joined in the project phase, see reglint/interproc.py)."""

    func: cst.FunctionDef
    name: str


@dataclass(frozen=True)
class LossCall:
    """The result of a call of an imported function whose name says it makes a loss
    (`build_loss(...)`): opaque (another library's loss may hold the regularization), unless
    the project phase finds the function in the project and its result holds nothing unknown."""

    name: str


@dataclass(frozen=True)
class Handed:
    """The result of a call the analysis cannot follow that received a model (or a value
    built by an imported builder): a loss that carries it may hold what the callee added."""

    call: cst.Call


@dataclass(frozen=True)
class Bias:
    """A value that is, or holds, a bias (or BatchNorm's beta / gamma): a variable created
    under a bias's name, a layer's `.bias`, every variable of a graph or model, and what is
    built from them (a list the code appends them to). `node` is where the bias comes from,
    `label` how a message names it."""

    node: cst.CSTNode
    label: str


OPTIMIZER = "optimizer"
TAPE_CTOR = "tape_ctor"
# a variable created under a weight's name (`W`, `kernel`, a name that is no bias's): with a
# `Bias` in one value, the value holds both, and which element is which is unknown
KERNEL = "kernel"
WEIGHT = "weight"  # a variable (tf.Variable, get_variable, a layer's kernel / bias / weights)
TRAINABLE = "trainable"  # all the trainable variables of a graph or model
REGULARIZED = "regularized"  # a variable created with a regularizer of its own (`regularizer=`)
KNOWN = "known"  # a value a TensorFlow / Keras call made: calling it or its methods is followed
OBJECT_TAGS = (Tape, Instance, Function)


def _is_plain(tag: Any) -> bool:
    return not isinstance(tag, OBJECT_TAGS) and tag not in (OPTIMIZER, TAPE_CTOR)


KNOWN_LIBRARIES = frozenset({"tensorflow", "keras", "slim", "numpy", "math", "builtins", "functools", "itertools"})


def carried(tag: Any) -> bool:
    """Tags a call site hands to another module's parameter that matter there."""
    return (
        (isinstance(tag, Source) and tag.kind in COVERING)
        or tag in (OPAQUE, UNBOUND)
        or isinstance(tag, (Param, LossCall))
    )


def union(items: Iterable[frozenset[Any]]) -> frozenset[Any]:
    out: frozenset[Any] = frozenset()
    for item in items:
        out |= item
    return out


def plain(tags: frozenset[Any]) -> frozenset[Any]:
    return frozenset(t for t in tags if _is_plain(t))


# what a parameter's name says it holds: a loss or a penalty (`total_loss`, `reg_loss`, `l2`,
# `weight_decay_loss`, `wd`, `penalty`); matched on the lowercased name
# A parameter named for a loss or a penalty term (`total_loss`, `reg_loss`,
# `weight_decay_loss`, `penalty`, `l2`, `reg_term`), not for a factor (`weight_decay`, `wd`,
# `l2_reg`, `reg_scale`: a number that scales a penalty carries none).
PENALTY_WORDS = (*LOSSY_WORDS, "penalt")
PENALTY_NAMES = frozenset({"reg", "l1", "l2", "total", "terms", "regularization", "regularisation"})
PENALTY_SUFFIXES = ("_term", "_terms")


def penalty_named(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered in PENALTY_NAMES or lowered.endswith(PENALTY_SUFFIXES) or any(word in lowered for word in PENALTY_WORDS)
    )


# Words that name a bias in a variable's name (`b`, `b1`, `fc1_b`, `biases`, BatchNorm's
# `beta`/`gamma`), and words that name a weight (`layer_b_weights` is a weight).
BIAS_WORDS = frozenset({"b", "bias", "biases", "beta", "gamma"})
WEIGHT_WORDS = frozenset(
    {"w", "weight", "weights", "kernel", "kernels", "filter", "filters", "embedding", "embeddings"}
)
BIAS_ATTRS = frozenset({"bias", "beta", "gamma"})


def is_bias_name(name: str) -> bool:
    words = set(re.split(r"[^a-z]+", name.lower()))
    return bool(words & BIAS_WORDS) and not words & WEIGHT_WORDS


def has_bias(tags: Iterable[Any]) -> bool:
    return any(isinstance(t, Bias) for t in tags)


def unpacked(tags: frozenset[Any]) -> frozenset[Any]:
    """The tags of one element of a value unpacked without knowing its structure (`w, b =
    pair`, `for w, b in zip(ws, bs)`): a bias stays one only when the value holds nothing
    but biases."""
    if KERNEL in tags and has_bias(tags):
        return frozenset(t for t in tags if not isinstance(t, Bias))
    return tags


def weight_named(node: cst.BaseExpression) -> bool:
    while isinstance(node, cst.Subscript):
        node = node.value
    name = node.value if isinstance(node, cst.Name) else node.attr.value if isinstance(node, cst.Attribute) else ""
    return bool(name) and _WEIGHT_NAME.search(name.lower()) is not None


def lossy(name: str) -> bool:
    last = name.rsplit(".", 1)[-1].lower()
    return any(word in last for word in LOSSY_WORDS)
