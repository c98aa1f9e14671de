from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from reglint.dataflow import Flow, FlowRule
from reglint.flowfix import call_argument, contains
from reglint.interproc import denotes
from reglint.kwargs import splatted_keywords
from reglint.model import Finding
from reglint.names import dotted
from reglint.nodes import child_nodes, is_expression
from reglint.patterns import (
    PENALTY_TOKENS,
    created_name,
    drops_only_other,
    excludes_nothing,
    has_comment,
    is_penalty_of,
    keyword_arg,
    mentions,
)
from reglint.rule import Insert, Invalid, PendingFix, Replace, Safety, Valid, Word
from reglint.tfnames import (
    APPLY_REGULARIZATION,
    BIAS_OP_NAMES,
    BIAS_REGULARIZER_KEYWORDS,
    KERAS_TRAINABLE_ATTRIBUTES,
    PATTERN_REGULARIZERS,
    PENALTY_FUNCTIONS,
    REGULARIZER_FACTORIES,
    TF_NAMESPACES,
    TRAINABLE_COLLECTION_KEYS,
    TRAINABLE_VARIABLE_CALLS,
    VARIABLE_CLASSES,
    VARIABLE_GETTERS,
    VARIABLE_SCOPES,
    WEIGHT_METHODS,
)
from reglint.values import KERNEL, L2, SQUARE_CALLS, TRAINABLE, Bias, Member, Stmt, is_bias_name

if TYPE_CHECKING:
    from reglint.engine import FileContext
    from reglint.judge import ProjectFacts

COLLECTION_READERS = frozenset({"tensorflow.get_collection", "tensorflow.get_collection_ref"})
# what a file creating a bias variable, or reading a layer's, holds (see TOKENS)
BIAS_MAKER_TOKENS = (b"Variable", b"get_variable", b"add_weight", b"variable", Word(b"bias"))

# The bytes every source of "all the variables" (`_all_variables`) necessarily contains: a call
# of `trainable_variables` / `global_variables`, a model's `.trainable_variables` /
# `.trainable_weights`, or `get_collection(_ref)` of a `GraphKeys.*VARIABLES` key (a string key
# does not resolve). Names resolve through the file's own imports, so these are in the file.
ALL_VARIABLES_TOKENS: tuple[tuple[bytes, ...], ...] = (
    (b"trainable_variables",),
    (b"global_variables",),
    (b"trainable_weights",),
    (b"get_collection", b"VARIABLES"),
)

# The penalty whose operand the dataflow follows for REG003: `tf.nn.l2_loss(w)`, the form
# hand-written weight decay takes (sums of squares and `regularizer(...)(w)` are spelled with
# words most numeric and Keras sources hold: following them too cost a third more CPU on the
# wheel corpus for no case found); `judge` reads only this one.
FLOW_PENALTY_TOKENS = ((b"l2_loss",),)
FLOW_PENALTIES = frozenset({"tensorflow.nn.l2_loss", "tensorflow.math.l2_loss"})

# TF1 layer functions (and classes) that create a bias, and the keyword that turns it off.
# Inside `variable_scope(regularizer=...)` their bias gets the scope's regularizer
# (measured: `tf.layers.dense` there adds `d/bias/Regularizer` to the collection).
BIAS_LAYERS: dict[str, tuple[str, bool]] = {
    **{
        f"tensorflow.layers.{name}": ("use_bias", True)
        for name in (
            "dense",
            "conv1d",
            "conv2d",
            "conv3d",
            "conv2d_transpose",
            "conv3d_transpose",
            "separable_conv1d",
            "separable_conv2d",
            "Dense",
            "Conv1D",
            "Conv2D",
            "Conv3D",
            "Conv2DTranspose",
            "Conv3DTranspose",
            "SeparableConv1D",
            "SeparableConv2D",
        )
    },
    "tensorflow.layers.batch_normalization": ("center", True),
    "tensorflow.layers.BatchNormalization": ("center", True),
    **{
        f"{prefix}.{name}": ("biases_initializer", True)
        for prefix in ("slim", "tensorflow.contrib.layers")
        for name in (
            "conv2d",
            "convolution",
            "convolution2d",
            "conv2d_transpose",
            "convolution2d_transpose",
            "fully_connected",
            "separable_conv2d",
            "separable_convolution2d",
        )
    },
}


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _is_false(node: cst.BaseExpression) -> bool:
    return (isinstance(node, cst.Name) and node.value == "False") or _is_none(node)


def _lambdas(node: cst.CSTNode) -> Iterator[cst.Lambda]:
    if isinstance(node, cst.Lambda):
        yield node
    for child in child_nodes(node):
        yield from _lambdas(child)


def _names_for(lam: cst.Lambda, name: str) -> list[str]:
    """The names the lambda's body reads `name` by: itself, unless a parameter hides it, and
    each parameter that defaults to it (`lambda w=weight: ...`)."""
    params = lam.params
    found = [name] if _reads_unchanged(lam, name) else []
    found.extend(
        param.name.value
        for param in (*params.posonly_params, *params.params, *params.kwonly_params)
        if isinstance(param.default, cst.Name) and param.default.value == name and param.name.value != name
    )
    return found


def _reads_unchanged(lam: cst.Lambda, name: str) -> bool:
    """Whether `name` in the lambda's body is the `name` around it: no parameter of that name,
    or one that defaults to it (`lambda v=v: ...`)."""
    params = lam.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name:
            return isinstance(param.default, cst.Name) and param.default.value == name
    return all(
        not (isinstance(star, cst.Param) and star.name.value == name) for star in (params.star_arg, params.star_kwarg)
    )


def drop_arg(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """The call without `arg`, its commas and line breaks as if it had never been written."""
    args = list(call.args)
    index = next(i for i, a in enumerate(args) if a is arg)
    del args[index]
    if index == len(args) and index > 0:
        # the dropped argument was the last: the new last takes its comma (or its absence)
        # and the whitespace before the closing parenthesis
        args[index - 1] = args[index - 1].with_changes(comma=arg.comma, whitespace_after_arg=arg.whitespace_after_arg)
    return call.with_changes(args=args)


def _keeps(test: cst.BaseExpression, target: str, name: str) -> bool:
    """Whether a filter on `target.name` surely keeps a variable created as `name` (a
    substring test: `"bias" not in v.name`, `"kernel" in v.name`); any other test may drop it."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    comparison = test.comparisons[0]
    left, right = test.left, comparison.comparator
    if not (isinstance(left, cst.SimpleString) and isinstance(right, cst.Attribute)):
        return False
    if not (right.attr.value == "name" and isinstance(right.value, cst.Name) and right.value.value == target):
        return False
    word = left.evaluated_value
    if not isinstance(word, str):
        return False
    literal = re.split(r"[%{]", name)[0]  # the fixed part of a formatted name (`b-%s`)
    if isinstance(comparison.operator, cst.NotIn):
        return word not in literal and word not in name
    if isinstance(comparison.operator, cst.In):
        return word in literal
    return False


@dataclass
class _Scope:
    """A `with variable_scope(..., regularizer=...)` block being visited."""

    block: cst.With
    arg: cst.Arg
    biases: list[str] = field(default_factory=list)


class RegularizedBias(FlowRule):
    """
    ## What it does
    Flags a weight penalty on biases and on BatchNormalization's shift and scale:
    `bias_regularizer=`, `beta_regularizer=`, `gamma_regularizer=` (Keras, `tf.layers`),
    `biases_regularizer=` (slim, also in `slim.arg_scope`), `get_variable` of a bias (named
    `b`, `b1`, `fc_b`, `bias`, `biases`, `beta`, `gamma`) with `regularizer=` (the keywords also
    when given through a settings dict splatted into the call, `Dense(**opts)` with
    `opts["bias_regularizer"] = ...` in the same function), biases created
    inside `variable_scope(..., regularizer=...)`, and an L2 sum over
    `tf.trainable_variables()`, `model.trainable_variables` or `model.trainable_weights` that
    does not leave the biases out (a comprehension, or a loop adding a penalty for each, also
    as `model.add_loss(lambda v=v: ...)` or `lambda w=weight: ...`, also inside a `with` block
    of the loop), and `tf.nn.l2_loss` of a variable created as a bias, or a regularizer called
    on one (`l2(wd)(layer.bias)`, `reg(layer.bias)` with `reg = l2(wd)`), where the bias is
    `tf.Variable(..., name="b")`, `get_variable("biases", ...)` or a layer's `.bias`: the
    variable is judged by the name it was created with, not by the Python name that holds it.

    Through the dataflow, the same holds wherever the value travels: a set of every variable
    (`tf.get_collection(GLOBAL_VARIABLES, scope=...)`, a model's `weights`) kept in an attribute
    and penalized in another method, a list the code builds by appending biases (from a
    variable created under a bias's name, a layer's `.bias`, or a helper named for making one,
    `bias_variable(...)`, or given a bias's name to create, `zeros([n], name="b")`) and returns
    in a tuple, a bias kept in `self.b`. Across modules, an attribute or a method's result of an
    object made by another module's class (`self.head.params.values()`,
    `self.manager.variables()`, also in a function nested in a method) is judged by what that
    module's class keeps there or returns (any of the classes, when the code picks one at run
    time). Tuples are unpacked
    element by element where their structure is known; a loop over a set with a condition or
    a `continue` in its body is trusted to leave the biases out. A filter that drops only
    variables named with a word no conv or dense bias has (`"batch_normalization" not in
    v.name`, `"gamma" not in v.name and "beta" not in v.name`) keeps every conv and dense bias.
    tensorpack's `regularize_cost(regex, ...)` is flagged when the regex
    matches the names its layers give biases and BatchNorm parameters (`'.*'` does, `'.*/W'`
    does not), also through `from tensorpack import *`.

    A bias keyword behind a switch of the project's (`reg if cfg.BIAS_DECAY else None`, or a
    name set to `None` on one path and to a regularizer on another) is a deliberate option and
    is left alone, and so is a helper's parameter or a layer's attribute that passes on its
    caller's choice (`biases_regularizer=self.biases_regularizer`); an attribute the class
    itself sets to a regularizer (`self.reg = slim.l2_regularizer(wd)`) is the class's choice.

    A comprehension with a filter (by name, by rank, or over an explicit list of weights) is
    left alone, unless the filter cannot exclude anything: `v.name not in ['bias', 'gamma']`
    compares TF1 names, which always carry a scope and `:0` (`dense/bias:0`), with bare names;
    or it keeps a bias the same file creates (`"bias" not in v.name` keeps `b_out` and `b-%s`).

    ## Why is this bad?
    Weight decay is meant to shrink weights. A bias (or BatchNorm's beta and gamma) only shifts
    or scales an activation; pulling it towards zero constrains the model without reducing its
    capacity, and tends to underfit (the seed posts say as much, then sum over every trainable
    variable anyway). `variable_scope(regularizer=...)` regularizes every variable made in it,
    biases included, which is easy to miss.

    ## Example
    ```python
    import tensorflow.compat.v1 as tf

    dense = tf.keras.layers.Dense(
        64,
        kernel_regularizer=tf.keras.regularizers.l2(1e-4),
        bias_regularizer=tf.keras.regularizers.l2(1e-4),
    )
    l2 = 5e-4 * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])
    ```

    Use instead:
    ```python
    import tensorflow.compat.v1 as tf

    dense = tf.keras.layers.Dense(
        64,
        kernel_regularizer=tf.keras.regularizers.l2(1e-4),
    )
    l2 = 5e-4 * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables() if len(v.shape) > 1])
    ```

    ## Fix safety
    Unsafe: the fix changes what is trained. It drops the bias keyword (or `regularizer=` of a
    bias's `get_variable`), and adds `if len(v.shape) > 1` to the comprehension (replacing a
    name filter that excluded nothing), which keeps kernels and drops biases, BatchNorm
    parameters and other vectors; a filter that drops only BatchNorm's variables gets
    `and len(v.shape) > 1`. A bias inside a regularized `variable_scope`, a set of variables
    the dataflow followed elsewhere and a `regularize_cost` pattern are reported without a fix:
    give the regularizer to the weights instead of the scope, and filter the set, or write the
    pattern, where it is made.

    ## References
    - [Goodfellow, Bengio, Courville: Deep Learning, 7.1 (biases are not regularized)](https://www.deeplearningbook.org/contents/regularization.html)
    - [tf.compat.v1.variable_scope](https://www.tensorflow.org/api_docs/python/tf/compat/v1/variable_scope)
    - [Keras layer weight regularizers](https://keras.io/api/layers/regularizers/)
    """

    code = "REG003"
    name = "regularized-bias"
    severity = "warning"
    # Why each group is necessary, by the path that reports:
    # - a bias keyword written in a TensorFlow/Keras call: the keyword itself;
    # - a bias's `get_variable` / `slim.model_variable` / `slim.variable` / `add_weight` /
    #   `add_variable` with `regularizer=`: the keyword and the getter's name (slim's resolve
    #   only through an import naming `slim`: `tf_slim`, `tensorflow.contrib.slim`);
    # - a `variable_scope(..., regularizer=...)` holding biases: the keyword and the scope;
    # - a comprehension or loop over all variables whose element is a penalty: a source of
    #   ALL_VARIABLES_TOKENS and a group of PENALTY_TOKENS (reglint/patterns.py);
    # - `apply_regularization` over all variables: its name and a source;
    # - `tf.nn.l2_loss` of a variable created as a bias: `l2_loss` and the maker (`Variable`,
    #   `get_variable`, `add_weight`) or the layer attribute `bias` (the other penalty forms
    #   with these words let in most of Keras's own sources);
    # - a pattern regularizer (`regularize_cost`): its name;
    # - `tf.nn.l2_loss` of a value the dataflow knows holds biases: FLOW_PENALTY_TOKENS (the
    #   value may come from an object of another module's class, `net.vars.values()`, whose
    #   module is then analysed through `wanted_modules`).
    TOKENS = (
        b"bias_regularizer",
        b"biases_regularizer",
        b"beta_regularizer",
        b"gamma_regularizer",
        *((b"regularizer", getter) for getter in (b"get_variable", b"slim", b"add_weight", b"add_variable")),
        (b"regularizer", b"variable_scope"),
        *(
            source + penalty
            for source in ALL_VARIABLES_TOKENS
            for penalty in (*PENALTY_TOKENS, (b"apply_regularization",))
        ),
        *((b"l2_loss", maker) for maker in BIAS_MAKER_TOKENS),
        # a regularizer called on a bias (`l2(1e-4)(dense.bias)`; `get_variable`, `add_weight`
        # and `slim` pair with `regularizer` above)
        *((b"regularizer", maker) for maker in (b"Variable", Word(b"bias"), Word(b"beta"), Word(b"gamma"))),
        *(function.encode() for functions in PATTERN_REGULARIZERS.values() for function in functions),
        *FLOW_PENALTY_TOKENS,
    )
    fix_safety = Safety.UNSAFE

    VALID = [
        # a layer's attribute holding what its caller chose
        Valid(
            "import tensorflow.compat.v1 as tf\n"
            "import tf_slim as slim\n\n\n"
            "class Net:\n"
            "    def __init__(self, biases_regularizer=None):\n"
            "        self.biases_regularizer = biases_regularizer\n\n"
            "    def __call__(self, x):\n"
            "        return slim.conv2d(x, 8, [3, 3], biases_regularizer=self.biases_regularizer)\n"
        ),
        # a switch of the project's written as statements: `None` on one path
        Valid(
            "import tensorflow as tf\n\n"
            "CFG = {'no_bias_decay': True, 'wd': 1e-4}\n\n\n"
            "def batch_norm():\n"
            "    if CFG['no_bias_decay']:\n"
            "        reg = None\n"
            "    else:\n"
            "        reg = tf.keras.regularizers.l2(CFG['wd'])\n"
            "    return tf.keras.layers.BatchNormalization(gamma_regularizer=reg, beta_regularizer=reg)\n"
        ),
        # a loop's variable holds what that loop iterates, whatever another loop binds to it
        Valid(
            "import tensorflow.compat.v1 as tf\n\n"
            "w = tf.get_variable('w', [4, 4])\n"
            "b = tf.get_variable('b', [4])\n"
            "penalty = 0.0\n"
            "for v in [w]:\n"
            "    penalty += tf.nn.l2_loss(v)\n"
            "for v in [b]:\n"
            "    tf.summary.histogram(v.name, v)\n"
        ),
        # each comprehension binds its own `p`: the kernels kept by the second are what the
        # third reshapes
        Valid(
            "import tensorflow.compat.v1 as tf\n\n"
            "def decay(scale):\n"
            "    casted = [tf.cast(p, tf.float32) for p in tf.trainable_variables()]\n"
            "    kernels = [p for p in casted if len(p.shape) > 1]\n"
            "    flat = [tf.reshape(p, [-1]) for p in kernels]\n"
            "    return scale * tf.nn.l2_loss(tf.concat(flat, 0))\n"
        ),
        # a method named for selecting among the variables it is given
        Valid(
            "import tensorflow.compat.v1 as tf\nfrom net import models\n\n"
            "class Trainer:\n"
            "    def __init__(self, name):\n"
            "        self.model = models.build(name)\n\n"
            "    def penalty(self, scale):\n"
            "        params = self.model.filter_l2_loss_vars(tf.trainable_variables())\n"
            "        return scale * tf.add_n([tf.nn.l2_loss(v) for v in params])\n"
        ),
        # another module's layer keeps only its kernels in `params`; a variable manager whose
        # method leaves the vectors out
        Valid(
            files={
                "net/blocks.py": "import tensorflow.compat.v1 as tf\n\n"
                "class Linear:\n"
                "    def __init__(self, n, m):\n"
                "        self.params = {'w': tf.get_variable('w', [n, m])}\n\n"
                "class Manager:\n"
                "    def variables(self):\n"
                "        return [v for v in tf.trainable_variables() if len(v.shape) > 1]\n",
                "net/train.py": "import tensorflow.compat.v1 as tf\nfrom net import blocks\n\n"
                "class Trainer:\n"
                "    def __init__(self):\n"
                "        self.head = blocks.Linear(4, 2)\n"
                "        self.manager = blocks.Manager()\n\n"
                "    def loss(self, base):\n"
                "        for p in self.head.params.values():\n"
                "            base += 1e-4 * tf.nn.l2_loss(p)\n"
                "        return base + tf.add_n([tf.nn.l2_loss(v) for v in self.manager.variables()])\n",
            }
        ),
        # a bias penalty behind the project's own switch is a deliberate option
        Valid(
            "import tf_slim as slim\n\n"
            "def arg_scope(cfg, reg):\n"
            "    return slim.arg_scope([slim.conv2d], weights_regularizer=reg,\n"
            "                          biases_regularizer=reg if cfg.BIAS_DECAY else None)\n"
        ),
        # pairs unpacked: `w` is a kernel, whatever `b` is
        Valid(
            "import tensorflow.compat.v1 as tf\n\n"
            "def layer(n):\n"
            "    return tf.Variable(tf.zeros([n, n]), name='W'), tf.Variable(tf.zeros([n]), name='b')\n\n"
            "w, b = layer(4)\n"
            "pairs = [(tf.get_variable('W1', [4, 4]), tf.get_variable('b1', [4]))]\n"
            "pairs.append((tf.get_variable('W2', [4, 4]), tf.get_variable('b2', [4])))\n"
            "penalty = tf.nn.l2_loss(w)\n"
            "for kernel, bias in pairs:\n"
            "    penalty += tf.nn.l2_loss(kernel)\n"
        ),
        # a set of every variable, kept in an attribute: the loop leaves the biases out
        Valid(
            "import tensorflow.compat.v1 as tf\n\n"
            "class Net:\n"
            "    def build(self):\n"
            "        self.params = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope='net')\n\n"
            "    def decay(self):\n"
            "        total = 0.0\n"
            "        for v in self.params:\n"
            "            if 'bias' in v.name:\n"
            "                continue\n"
            "            total += tf.nn.l2_loss(v)\n"
            "        return total + tf.add_n([tf.nn.l2_loss(v) for v in self.params if len(v.shape) > 1])\n"
        ),
        # tensorpack's pattern over the kernels only
        Valid(
            "from tensorpack import *\n"
            "from tensorpack.compat import tfv1 as tf\n"
            "wd_cost = tf.multiply(1e-4, regularize_cost('.*/W', tf.nn.l2_loss))\n"
        ),
        # a settings dict without a bias penalty, and one splatted into a function of the user's
        Valid(
            "import tensorflow as tf\n"
            "opts = dict(units=4, kernel_regularizer=tf.keras.regularizers.l2(1e-4))\n"
            "opts.update(bias_regularizer=None)\n"
            "layer = tf.keras.layers.Dense(**opts)\n"
            "def describe(**kw):\n    return kw\n"
            "describe(**{'bias_regularizer': tf.keras.regularizers.l2(1e-4)})\n"
        ),
        # the filter leaves out every bias the file creates
        Valid(
            "import tensorflow.compat.v1 as tf\n"
            "w_out = tf.get_variable('W_out', [8, 2])\n"
            "b_out = tf.get_variable('out_bias', [2])\n"
            "l2 = tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables() if 'bias' not in v.name])\n"
        ),
        # the Python name is `b`, but the variable was created as a kernel
        Valid("import tensorflow.compat.v1 as tf\nb = tf.get_variable('kernel', [8, 2])\npenalty = tf.nn.l2_loss(b)\n"),
        Valid(
            "import keras\n"
            "keras.layers.Dense(4, kernel_regularizer=keras.regularizers.l2(0.01), bias_regularizer=None)\n"
        ),
        Valid(
            "import tensorflow.compat.v1 as tf\n"
            "l2 = tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables() if 'bias' not in v.name])\n"
        ),
        Valid(
            "import tensorflow.compat.v1 as tf\n"
            "l2 = tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables() if len(v.shape) > 1])\n"
        ),
        # an explicit list of weights
        Valid("import tensorflow as tf\nl2 = tf.add_n([tf.nn.l2_loss(w) for w in [w1, w2, w3]])\n"),
        # Keras 3 variables have bare names: a name filter works there
        Valid(
            "import tensorflow as tf\n"
            "l2 = sum(tf.nn.l2_loss(v) for v in model.trainable_variables if v.name not in ('bias', 'gamma'))\n"
        ),
        Valid(
            "import tensorflow.compat.v1 as tf\n"
            "w = tf.get_variable('weights', [3, 3], regularizer=tf.keras.regularizers.l2(0.1))\n"
            "b = tf.get_variable('biases', [3], regularizer=None)\n"
        ),
        Valid(
            "import tensorflow.compat.v1 as tf\n"
            "with tf.variable_scope('fc', regularizer=tf.keras.regularizers.l2(0.1)):\n"
            "    w = tf.get_variable('w', [3, 3])\n"
            "    y = tf.layers.dense(x, 3, use_bias=False)\n"
        ),
        # a look-alike: a user class with a bias_regularizer keyword
        Valid(
            "class Dense:\n    def __init__(self, bias_regularizer=None):\n        pass\n\n"
            "Dense(bias_regularizer=0.1)\n"
        ),
        # plumbing: a helper passing on its caller's choice, a custom layer's own attribute
        Valid(
            "import tensorflow.compat.v1 as tf\n\n"
            "def fc(x, n, regularizer=None, bias_regularizer=None):\n"
            "    b = tf.get_variable('b', [n], regularizer=regularizer)\n"
            "    return tf.layers.dense(x, n, bias_regularizer=bias_regularizer)\n"
        ),
        Valid(
            "import keras\n\nclass MyDense(keras.layers.Layer):\n    def build(self, shape):\n"
            "        self.b = self.add_weight(name='bias', shape=(4,), regularizer=self.bias_regularizer)\n"
        ),
        Valid(
            "import tensorflow.compat.v1 as tf\n"
            "for v in tf.trainable_variables():\n"
            "    if 'bias' in v.name:\n"
            "        continue\n"
            "    tf.add_to_collection('losses', tf.nn.l2_loss(v))\n"
        ),
        # a sum over trainable variables that is not a penalty
        Valid("import tensorflow as tf\nn = sum(tf.size(v) for v in tf.compat.v1.trainable_variables())\n"),
        # the lambda's own `v` is another variable than the loop's
        Valid(
            "import keras\n"
            "for v in model.trainable_variables:\n"
            "    model.add_loss(lambda v=model.layers[0].kernel: keras.regularizers.L2(1e-4)(v))\n"
        ),
    ]
    INVALID = [
        # a filter on BatchNorm's parameters keeps the conv and dense biases
        Invalid(
            "import tensorflow as tf\n\n\n"
            "def regularize(model, wd=1e-4):\n"
            "    return [tf.nn.l2_loss(w) * wd for w in model.trainable_weights\n"
            "            if 'gamma' not in w.name and 'beta' not in w.name]\n",
            message="leaves out only variables named with 'gamma', 'beta'",
        ),
        # a regularizer the class makes itself and keeps in an attribute
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "import tf_slim as slim\n\n\n"
            "class Net:\n"
            "    def __init__(self, wd):\n"
            "        self.reg = slim.l2_regularizer(wd)\n\n"
            "    def __call__(self, x):\n"
            "        return slim.conv2d(x, 8, [3, 3], weights_regularizer=self.reg, biases_regularizer=self.reg)\n",
            message="`biases_regularizer=`",
        ),
        # a penalty added for every weight of a layer, inside a `with` block of the loop
        Invalid(
            "import tensorflow as tf\n\n\n"
            "def add_weight_decay(model, wd):\n"
            "    for weight in model.trainable_weights:\n"
            "        with tf.name_scope('weight_decay'):\n"
            "            model.add_loss(lambda w=weight: tf.keras.regularizers.l2(wd)(w))\n",
            message="biases included",
        ),
        # a regularizer called on a bias computes its penalty on the bias, as tf.nn.l2_loss does
        Invalid(
            "import tensorflow as tf\n"
            "from tensorflow.keras.regularizers import l2\n\n"
            "reg = l2(1e-4)\n"
            "dense = tf.keras.layers.Dense(10)\n"
            "dense.build((None, 4))\n"
            "dense.add_loss(lambda: reg(dense.kernel))\n"
            "dense.add_loss(lambda: reg(dense.bias))\n",
            message="this penalty is on the bias 'bias'",
        ),
        # a layer class of another module keeps its bias in a dict (made by a helper given the
        # bias's name); the trainer penalizes every entry
        Invalid(
            files={
                "net/init.py": "import tensorflow.compat.v1 as tf\n\n"
                "def zeros(shape, name=None):\n"
                "    return tf.Variable(tf.zeros(shape), name=name)\n",
                "net/blocks.py": "import tensorflow.compat.v1 as tf\nfrom net.init import zeros\n\n"
                "class Linear:\n"
                "    def __init__(self, n, m):\n"
                "        self.params = {'w': tf.get_variable('w', [n, m])}\n"
                "        self.params['b'] = zeros([m], name='b')\n",
                "net/train.py": "import tensorflow.compat.v1 as tf\nfrom net import blocks\n\n"
                "class Trainer:\n"
                "    def __init__(self):\n"
                "        self.head = blocks.Linear(4, 2)\n\n"
                "    def loss(self, base):\n"
                "        for p in self.head.params.values():\n"
                "            base += 1e-4 * tf.nn.l2_loss(p)\n"
                "        return base\n",
            },
            path="net/train.py",
            message="`Linear.params` holds zeros(name='b')",
        ),
        # a method of another module's object, whose class is chosen at run time, returns every
        # variable; the penalty is built in a function nested in the trainer's method
        Invalid(
            files={
                "net/manager.py": "import tensorflow.compat.v1 as tf\n\n"
                "class Manager:\n"
                "    def variables(self, tower):\n"
                "        return tf.trainable_variables()\n\n"
                "class Replicated(Manager):\n"
                "    pass\n",
                "net/train.py": "import tensorflow.compat.v1 as tf\nfrom net import manager\n\n"
                "class Trainer:\n"
                "    def __init__(self, replicated):\n"
                "        if replicated:\n"
                "            self.manager = manager.Replicated()\n"
                "        else:\n"
                "            self.manager = manager.Manager()\n\n"
                "    def build(self, base, towers):\n"
                "        def tower_loss(i):\n"
                "            params = self.manager.variables(tf.constant(i))\n"
                "            return base + 1e-4 * tf.add_n([tf.nn.l2_loss(v) for v in params])\n"
                "        return [tower_loss(i) for i in range(towers)]\n",
            },
            path="net/train.py",
            message="variables()` returns trainable_variables()",
        ),
        # every variable of a scope, kept in an attribute and penalized in another method
        Invalid(
            "import tensorflow.compat.v1 as tf\n\n"
            "class Network:\n"
            "    def build(self, name):\n"
            "        self.params = [v for v in tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, scope=name)\n"
            "                       if 'global_step' not in v.name]\n\n"
            "    def regularization(self, scale):\n"
            "        return scale * tf.add_n([tf.nn.l2_loss(v) for v in self.params])\n",
            message="holds biases",
        ),
        # a list the code builds from a helper's biases, returned in a tuple and kept
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "from .layers import bias_variable\n\n"
            "def create_net(x, sizes):\n"
            "    weights, biases = [], []\n"
            "    for n in sizes:\n"
            "        w1 = tf.get_variable('w1', [n, n])\n"
            "        b1 = bias_variable([n], name='b1')\n"
            "        weights.append(w1)\n"
            "        biases.append(b1)\n"
            "    variables = []\n"
            "    for w in weights:\n"
            "        variables.append(w)\n"
            "    for b in biases:\n"
            "        variables.append(b)\n"
            "    return x, variables, len(sizes)\n\n"
            "class Model:\n"
            "    def __init__(self, x, sizes):\n"
            "        self.logits, self.variables, self.depth = create_net(x, sizes)\n\n"
            "    def cost(self, loss, scale):\n"
            "        return loss + scale * sum([tf.nn.l2_loss(v) for v in self.variables])\n",
            message="bias_variable",
        ),
        # a bias kept in an attribute, penalized in another method
        Invalid(
            "import tensorflow.compat.v1 as tf\n\n"
            "class Autoencoder:\n"
            "    def variables(self, n):\n"
            "        self.W = tf.Variable(tf.zeros([n, n]), name='enc-w')\n"
            "        self.bh = tf.Variable(tf.zeros([n]), name='hidden-bias')\n\n"
            "    def penalty(self):\n"
            "        return tf.nn.l2_loss(self.W) + tf.nn.l2_loss(self.bh)\n",
            message="'hidden-bias'",
        ),
        # a filter that drops BatchNorm's variables only keeps every conv and dense bias
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "l2 = tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()"
            " if 'batch_normalization' not in v.name])\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "l2 = tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables() if 'batch_normalization' not in v.name"
            " and len(v.shape) > 1])\n",
        ),
        # tensorpack's pattern regularizer over every variable, through its star import
        Invalid(
            "from tensorpack import *\n"
            "from tensorpack.compat import tfv1 as tf\n"
            "wd_cost = tf.multiply(1e-4, regularize_cost('.*', tf.nn.l2_loss))\n",
            message="'fc/b'",
        ),
        Invalid(
            "from tensorpack.models import regularize_cost\n"
            "import tensorflow as tf\n"
            "wd_cost = regularize_cost('fc.*', tf.nn.l2_loss)\n",
            message="'fc/b'",
        ),
        # an explicit penalty on a variable created as a bias, whatever Python name holds it
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "w = tf.Variable(tf.truncated_normal([8, 2]), name='W')\n"
            "shift = tf.Variable(tf.constant(0.1, shape=[2]), name='b')\n"
            "penalty = tf.nn.l2_loss(w)\n"
            "penalty += tf.nn.l2_loss(shift)\n",
            message="'b'",
        ),
        # keyword arguments through a settings dict splatted into the layer
        Invalid(
            "import tensorflow as tf\n"
            "def head(units, coeff):\n"
            "    opts = {'units': units}\n"
            "    opts['kernel_regularizer'] = tf.keras.regularizers.l2(coeff)\n"
            "    opts['bias_regularizer'] = tf.keras.regularizers.l2(coeff)\n"
            "    return tf.keras.layers.Dense(**opts)\n",
            message="`**` dict",
        ),
        # a name filter checked against the biases the file creates: "bias" is not in "b_out"
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "w_out = tf.get_variable('W_out', [8, 2])\n"
            "b_out = tf.get_variable('b_out', [2])\n"
            "l2 = tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables() if 'bias' not in v.name])\n",
            message="'b_out'",
        ),
        # `b` is every layer's bias, assigned once per layer
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "penalty = 0.0\n"
            "for size in (3, 5):\n"
            "    w = tf.get_variable('W-%d' % size, [size, 8])\n"
            "    b = tf.Variable(tf.zeros([8]), name='b')\n"
            "    penalty += tf.nn.l2_loss(w)\n"
            "out_w = tf.get_variable('W', [8, 2])\n"
            "b = tf.Variable(tf.zeros([2]), name='b')\n"
            "penalty += tf.nn.l2_loss(out_w) + tf.nn.l2_loss(b)\n",
            message="'b'",
        ),
        Invalid(
            "import tensorflow as tf\n"
            "dense = tf.keras.layers.Dense(4)\n"
            "penalty = tf.nn.l2_loss(dense.kernel) + tf.nn.l2_loss(dense.bias)\n",
            message="'bias'",
        ),
        # a penalty per trainable variable added as lambdas (real training code, once
        # REG012's fix has bound the loop variable)
        Invalid(
            "import keras\n"
            "for var in model.trainable_variables:\n"
            "    model.add_loss(lambda var=var: keras.regularizers.L2(1e-4)(var))\n",
            fixed="import keras\n"
            "for var in [var for var in model.trainable_variables if len(var.shape) > 1]:\n"
            "    model.add_loss(lambda var=var: keras.regularizers.L2(1e-4)(var))\n",
        ),
        # an L1 sum over every variable (recognised by the shared penalty pattern)
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "l1 = 0.01 * tf.add_n([tf.reduce_sum(tf.abs(v)) for v in tf.trainable_variables()])\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "l1 = 0.01 * tf.add_n([tf.reduce_sum(tf.abs(v)) for v in tf.trainable_variables() if len(v.shape) > 1])\n",
        ),
        Invalid(
            "import keras\nkeras.layers.Dense(4, kernel_regularizer='l2', bias_regularizer='l2')\n",
            fixed="import keras\nkeras.layers.Dense(4, kernel_regularizer='l2')\n",
            message="bias",
        ),
        Invalid(
            "from tensorflow.keras import layers, regularizers\n"
            "reg = regularizers.l2(1e-4)\n"
            "bn = layers.BatchNormalization(\n"
            "    gamma_regularizer=reg,\n"
            "    beta_regularizer=reg,\n"
            "    momentum=0.9,\n"
            ")\n",
            expected=2,
            fixed="from tensorflow.keras import layers, regularizers\n"
            "reg = regularizers.l2(1e-4)\n"
            "bn = layers.BatchNormalization(\n"
            "    momentum=0.9,\n"
            ")\n",
        ),
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "y = tf.layers.dense(\n"
            "    x,\n"
            "    10,\n"
            "    bias_regularizer=tf.keras.regularizers.l2(0.1)\n"
            ")\n",
            fixed="import tensorflow.compat.v1 as tf\ny = tf.layers.dense(\n    x,\n    10\n)\n",
        ),
        # slim, in an arg_scope
        Invalid(
            "import tf_slim as slim\n"
            "with slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer(0.0005),\n"
            "                    biases_regularizer=slim.l2_regularizer(0.0005)):\n"
            "    pass\n",
            fixed="import tf_slim as slim\n"
            "with slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer(0.0005)):\n"
            "    pass\n",
        ),
        # inside a function (tensorflow/tpu's and SSD-Tensorflow's arg scopes, 2-space indents):
        # the lines the fix keeps stay where they were
        Invalid(
            "import tf_slim as slim\n\n\ndef scope(decay):\n"
            "  with slim.arg_scope([slim.conv2d],\n"
            "                      weights_regularizer=slim.l2_regularizer(decay),\n"
            "                      biases_regularizer=slim.l2_regularizer(decay)):\n"
            "    pass\n",
            fixed="import tf_slim as slim\n\n\ndef scope(decay):\n"
            "  with slim.arg_scope([slim.conv2d],\n"
            "                      weights_regularizer=slim.l2_regularizer(decay)):\n"
            "    pass\n",
        ),
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "b1 = tf.get_variable('b1', [10], regularizer=tf.keras.regularizers.l2(0.1),"
            " initializer=tf.zeros_initializer())\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "b1 = tf.get_variable('b1', [10], initializer=tf.zeros_initializer())\n",
            message="'b1'",
        ),
        # a regularized variable_scope: reported once at its regularizer, without a fix
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "with tf.variable_scope('fc', regularizer=tf.keras.regularizers.l2(0.1)):\n"
            "    w = tf.get_variable('w', [3, 3])\n"
            "    b = tf.get_variable('bias', [3])\n"
            "    y = tf.layers.dense(x, 3)\n",
            message="2 biases",
        ),
        # seed 004
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "tv = tf.trainable_variables()\n"
            "Regularization_term = lambda_l * tf.reduce_sum([tf.nn.l2_loss(v) for v in tv])\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "tv = tf.trainable_variables()\n"
            "Regularization_term = lambda_l * tf.reduce_sum([tf.nn.l2_loss(v) for v in tv if len(v.shape) > 1])\n",
        ),
        # seed 002
        Invalid(
            "import tensorflow as tf\n"
            "l2_loss = weight_decay * tf.add_n([tf.nn.l2_loss(tf.cast(v, tf.float32))"
            " for v in tf.compat.v1.trainable_variables()])\n",
            fixed="import tensorflow as tf\n"
            "l2_loss = weight_decay * tf.add_n([tf.nn.l2_loss(tf.cast(v, tf.float32))"
            " for v in tf.compat.v1.trainable_variables() if len(v.shape) > 1])\n",
        ),
        # a filter that cannot exclude anything
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "l2 = tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables() if v.name not in ['bias', 'gamma']])\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "l2 = tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables() if len(v.shape) > 1])\n",
            message="excludes nothing",
        ),
        # a Keras custom loop
        Invalid(
            "import tensorflow as tf\n"
            "penalty = 1e-4 * sum(tf.reduce_sum(tf.square(w)) for w in model.trainable_weights)\n",
            fixed="import tensorflow as tf\n"
            "penalty = 1e-4 * sum(tf.reduce_sum(tf.square(w)) for w in model.trainable_weights if len(w.shape) > 1)\n",
        ),
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "l2 = tf.add_n([tf.keras.regularizers.l2(0.1)(v)"
            " for v in tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)])\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "l2 = tf.add_n([tf.keras.regularizers.l2(0.1)(v)"
            " for v in tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES) if len(v.shape) > 1])\n",
        ),
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "l2 = 0\n"
            "for var in tf.trainable_variables():\n"
            "    l2 += tf.nn.l2_loss(var)\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "l2 = 0\n"
            "for var in [var for var in tf.trainable_variables() if len(var.shape) > 1]:\n"
            "    l2 += tf.nn.l2_loss(var)\n",
        ),
        # every source of "all the variables" with every penalty the shared pattern knows (each
        # example holds the tokens of one prefilter group only)
        *(
            Invalid(
                f"import tensorflow.compat.v1 as tf\nl2 = tf.add_n([{penalty} for v in {source}])\n",
                fixed=f"import tensorflow.compat.v1 as tf\n"
                f"l2 = tf.add_n([{penalty} for v in {source} if len(v.shape) > 1])\n",
            )
            for source in (
                "model.trainable_variables",
                "tf.global_variables()",
                "model.trainable_weights",
                "tf.get_collection_ref(tf.GraphKeys.VARIABLES)",
            )
            for penalty in (
                "tf.math.l2_loss(v)",
                "tf.keras.regularizers.L2(0.1)(v)",
                "tf.reduce_sum(tf.square(v))",
                "tf.reduce_sum(tf.abs(v))",
                "tf.reduce_sum(v ** 2)",
                "tf.reduce_mean(tf.math.square(v))",
                "tf.math.reduce_mean(tf.abs(v))",
                "tf.reduce_mean(v ** 2)",
            )
        ),
        # each bias keyword alone
        Invalid(
            "import keras\nbn = keras.layers.BatchNormalization(gamma_regularizer='l2')\n",
            fixed="import keras\nbn = keras.layers.BatchNormalization()\n",
        ),
        Invalid(
            "from tf_keras.layers import BatchNormalization as BN\nbn = BN(beta_regularizer='l1')\n",
            fixed="from tf_keras.layers import BatchNormalization as BN\nbn = BN()\n",
        ),
        Invalid(
            "import tensorflow as tf\n"
            "y = tf.contrib.layers.fully_connected(x, 10, biases_regularizer=tf.contrib.layers.l2_regularizer(0.1))\n",
            fixed="import tensorflow as tf\ny = tf.contrib.layers.fully_connected(x, 10)\n",
        ),
        # a custom layer's bias, and slim's variables
        Invalid(
            "import keras\n\nclass Scale(keras.layers.Layer):\n    def build(self, shape):\n"
            "        self.b = self.add_weight(name='bias', shape=(1,), regularizer=keras.regularizers.l2(0.1))\n",
            fixed="import keras\n\nclass Scale(keras.layers.Layer):\n    def build(self, shape):\n"
            "        self.b = self.add_weight(name='bias', shape=(1,))\n",
        ),
        Invalid(
            "import keras\n\nclass Scale(keras.layers.Layer):\n    def build(self, shape):\n"
            "        self.b = self.add_variable('b', (1,), regularizer='l2')\n",
            fixed="import keras\n\nclass Scale(keras.layers.Layer):\n    def build(self, shape):\n"
            "        self.b = self.add_variable('b', (1,))\n",
        ),
        Invalid(
            "import tf_slim as slim\n"
            "b = slim.model_variable('biases', shape=[10], regularizer=slim.l2_regularizer(0.05))\n",
            fixed="import tf_slim as slim\nb = slim.model_variable('biases', shape=[10])\n",
        ),
        # a regularized variable_scope whose only bias is a layer's
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "with tf.variable_scope('fc', regularizer=tf.keras.regularizers.l2(0.1)):\n"
            "    y = tf.layers.dense(x, 3)\n",
            message="1 bias",
        ),
        # contrib's apply_regularization over every trainable variable
        Invalid(
            "import tensorflow as tf\nr = tf.contrib.layers.apply_regularization(reg, tf.trainable_variables())\n",
            fixed="import tensorflow as tf\n"
            "r = tf.contrib.layers.apply_regularization(reg, [v for v in tf.trainable_variables()"
            " if len(v.shape) > 1])\n",
        ),
        *(
            Invalid(
                f"import tensorflow as tf\nr = tf.contrib.layers.apply_regularization(reg, {source})\n",
                fixed="import tensorflow as tf\n"
                f"r = tf.contrib.layers.apply_regularization(reg, [v for v in {source} if len(v.shape) > 1])\n",
            )
            for source in (
                "model.trainable_variables",
                "tf.global_variables()",
                "model.trainable_weights",
                "tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)",
            )
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        # regularized variable scopes, innermost last; a function body starts a fresh list
        # (it runs when called, not where it is written)
        self.scopes: list[list[_Scope]] = [[]]
        # the names this file creates biases under, and the filtered sums over all variables
        # to check against them once the whole file is seen
        self.created_biases: list[str] = []
        self.filtered: list[tuple[cst.ListComp | cst.GeneratorExp, str]] = []
        # the entries of `**` dicts, per scope and name, and the values already reported
        self.splats: dict[object, list[tuple[str, cst.BaseExpression]]] = {}
        self.reported: set[cst.CSTNode] = set()
        # where this rule reported, for the dataflow's findings not to repeat one
        self.reported_at: list[cst.CSTNode] = []

    def report(self, node: cst.CSTNode, message: str, *, fix: PendingFix | None = None) -> None:
        self.reported_at.append(node)
        super().report(node, message, fix=fix)

    # -- regularized variable scopes -----------------------------------------------------
    def visit_FunctionDef(self, node: cst.CSTNode) -> None:
        self._enter(node)
        self.scopes.append([])

    def leave_FunctionDef(self, original_node: cst.CSTNode) -> None:
        self.scopes.pop()
        self._leave(original_node)

    def visit_With(self, node: cst.CSTNode) -> None:
        self._enter(node)
        assert isinstance(node, cst.With)
        for item in node.items:
            call = item.item
            if isinstance(call, cst.Call) and self.resolve(call.func) in VARIABLE_SCOPES:
                arg = keyword_arg(call, "regularizer")
                if arg is not None and self._regularizes(arg.value):
                    self.scopes[-1].append(_Scope(node, arg))

    def leave_With(self, original_node: cst.CSTNode) -> None:
        current = self.scopes[-1]
        while current and current[-1].block is original_node:
            scope = current.pop()
            if scope.biases:
                count = len(scope.biases)
                noun = "bias" if count == 1 else "biases"
                self.report(
                    scope.arg,
                    f"this variable_scope's regularizer also penalizes the {count} {noun} created in it "
                    f"({', '.join(scope.biases[:3])}{', ...' if count > 3 else ''}); "
                    "give the regularizer to the weights instead",
                )
        self._leave(original_node)

    # -- calls -----------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        name = self.resolve(node.func)
        self._penalty_on_bias(node, name)
        self._pattern_regularizer(node, name)
        created = self._created_bias(node)
        if created is not None:
            self.created_biases.append(created)
        method = isinstance(node.func, cst.Attribute) and node.func.attr.value in WEIGHT_METHODS and name is None
        if name is not None and name in APPLY_REGULARIZATION:
            self._apply_regularization(node)
        if not method and (name is None or not name.startswith(TF_NAMESPACES)):
            return
        for arg in node.args:
            if arg.keyword is None or arg.keyword.value not in BIAS_REGULARIZER_KEYWORDS:
                continue
            if not self._regularizes(arg.value):
                continue
            self.report(
                arg,
                f"`{arg.keyword.value}=` puts a weight penalty on a "
                f"{'bias' if 'bias' in arg.keyword.value else 'BatchNorm parameter'}; penalize kernels only",
                fix=self._drop_fix(node, arg),
            )
        for key, value in splatted_keywords(self.ctx, node, self.splats):
            if key in BIAS_REGULARIZER_KEYWORDS and self._regularizes(value) and value not in self.reported:
                self.reported.add(value)
                self.report(
                    value,
                    f"`{key}`, given through a `**` dict, puts a weight penalty on a "
                    f"{'bias' if 'bias' in key else 'BatchNorm parameter'}; penalize kernels only",
                )
        if method or name in VARIABLE_GETTERS:
            self._variable(node)
        elif name in BIAS_LAYERS and self.scopes[-1]:
            keyword, _ = BIAS_LAYERS[name]
            switch = keyword_arg(node, keyword)
            if switch is None or not _is_false(switch.value):
                self.scopes[-1][-1].biases.append(f"`{self.ctx.code(node.func)}`")

    def _pattern_regularizer(self, call: cst.Call, name: str | None) -> None:
        """`regularize_cost(".*", tf.nn.l2_loss)` (tensorpack): a regex over variable names
        that matches biases penalizes them (`".*/W"` does not)."""
        func = call.func
        last = name.rpartition(".")[2] if name is not None else func.value if isinstance(func, cst.Name) else None
        if last is None:
            return
        library = name.split(".")[0] if name is not None else self._star_library(last)
        if library is None or last not in PATTERN_REGULARIZERS.get(library, ()):
            return
        arg = call_argument(call, 0, "regex")
        if not isinstance(arg, cst.SimpleString) or not isinstance(arg.evaluated_value, str):
            return
        try:
            pattern = re.compile(arg.evaluated_value)
        except re.error:
            return
        matched = [op for op in BIAS_OP_NAMES if pattern.search(op)]
        if matched:
            self.report(
                arg,
                f"the pattern {arg.evaluated_value!r} also matches biases and BatchNorm parameters "
                f"({', '.join(map(repr, matched[:3]))}), so they are penalized; match the kernels only "
                "(`'.*/W'`)",
            )

    def _star_library(self, name: str) -> str | None:
        """The library a name unbound in this file comes from through a star import
        (`from tensorpack import *`), when one of PATTERN_REGULARIZERS' is star-imported."""
        if self.ctx.resolver.resolve(cst.Name(name)) is not None or any(
            True for _ in self.ctx.resolver.assigned_values(cst.Name(name))
        ):
            return None
        for stmt in self.ctx.module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar) and small.module:
                    top = (dotted(small.module) or "").split(".")[0]
                    if top in PATTERN_REGULARIZERS and name in PATTERN_REGULARIZERS[top]:
                        return top
        return None

    def _drop_fix(self, call: cst.Call, arg: cst.Arg) -> PendingFix | None:
        """Drop the keyword; not when a comment is written on it (it would land on the next)."""
        if has_comment(arg):
            return None
        return self.make_fix(Replace(call, drop_arg(call, arg)))

    def _penalty_on_bias(self, call: cst.Call, name: str | None) -> None:
        """`l2_loss += tf.nn.l2_loss(b)` where `b` was created as a bias (a variable named like
        one, or a layer's `.bias`): judged by the name the variable was created with, not by
        the Python name that holds it."""
        if not call.args or call.args[0].keyword is not None:
            return
        if name not in PENALTY_FUNCTIONS and not self._is_regularizer(call.func):
            return
        bias = self._bias_variable(call.args[0].value)
        if bias is not None:
            self.report(call, f"this penalty is on the bias {bias!r}; penalize weights only")

    def _is_regularizer(self, func: cst.BaseExpression) -> bool:
        """Whether a called value is a regularizer: `l2(1e-4)(b)`, or `reg(b)` with `reg =
        l2(1e-4)` (a regularizer computes its penalty on what it is called with)."""
        value = self.ctx.resolver.single_value(func)
        return isinstance(value, cst.Call) and self.resolve(value.func) in REGULARIZER_FACTORIES

    def _bias_variable(self, node: cst.BaseExpression) -> str | None:
        """The creation name of a bias that `node` holds, if it holds one."""
        if isinstance(node, cst.Attribute) and node.attr.value in ("bias", "beta", "gamma"):
            return node.attr.value
        if isinstance(node, cst.Name):
            # every value the name is given in its scope must be a bias (a loop building the
            # layers of a network assigns `b` once per layer)
            values = self.ctx.resolver.assigned_values(node)
            names = [self._created_bias(value) for value in values]
            return names[0] if names and None not in names else None
        return self._created_bias(node)

    def _created_bias(self, value: cst.BaseExpression) -> str | None:
        if not isinstance(value, cst.Call):
            return None
        maker = self.resolve(value.func)
        method = isinstance(value.func, cst.Attribute) and value.func.attr.value in WEIGHT_METHODS and maker is None
        created: object = None
        if maker in VARIABLE_GETTERS or method:
            created = created_name(value, positional=True)
        elif maker in VARIABLE_CLASSES:
            arg = keyword_arg(value, "name")
            if arg is not None and isinstance(arg.value, cst.SimpleString):
                created = arg.value.evaluated_value
        return created if isinstance(created, str) and is_bias_name(created) else None

    def leave_Module(self, original_node: cst.Module) -> None:
        """A name filter is trusted only if it leaves out every bias this file creates:
        `"bias" not in v.name` keeps a bias created as `b_out` or `b-%s`."""
        for node, target in self.filtered:
            ifs = node.for_in.ifs
            kept = next(
                (bias for bias in self.created_biases if all(_keeps(c.test, target, bias) for c in ifs)),
                None,
            )
            if kept is not None:
                self.report(
                    node,
                    f"the filter `{self.ctx.code(ifs[0].test)}` keeps the bias {kept!r} this file creates, so it is "
                    "penalized; filter by rank (`len(v.shape) > 1`) or by the weights' names",
                )
        super().leave_Module(original_node)

    # -- penalties on what the dataflow knows holds biases --------------------------------
    def judge(self, flow: Flow) -> None:
        """An L2 penalty whose operand holds a bias, however it got there: a set of all the
        variables kept in an attribute or returned by a function, a list the code built by
        appending biases, a bias variable made by a helper (see the dataflow's `Bias`)."""
        for source in flow.source_list((L2,)):
            if any(contains(node, source.node) for node in self.reported_at):
                continue
            if not isinstance(source.node, cst.Call) or self.resolve(source.node.func) not in FLOW_PENALTIES:
                continue
            operand = _operand(self.resolve, source.node)
            if operand is None:
                continue
            binding = _comprehension_binding(source.stmt.node, source.node, operand)
            if isinstance(binding, cst.Param):
                # a lambda's parameter: its default is what it holds (`lambda v=v: ...`)
                if binding.default is None:
                    continue
                tags = flow.eval_in(source.stmt, binding.default)
            elif binding is not None:
                # a comprehension's variable holds what it iterates (it is bound only while the
                # comprehension is evaluated)
                tags = flow.eval_in(source.stmt, binding.iter)
                if not Flow.keeps_biases(binding):
                    continue
            else:
                tags = flow.eval_in(source.stmt, operand)
            loop = _loop_binding(source.stmt, operand)
            if binding is None and loop is not None and isinstance(loop.target, cst.Name):
                # a loop's variable holds what this loop iterates, not what another loop of the
                # function binds to the same name (the dataflow keeps one name per scope)
                tags = flow.eval_in(source.stmt, loop.iter)
            biases = sorted((t for t in tags if isinstance(t, Bias)), key=lambda t: flow.line(t.node))
            members = sorted({(t.owner, t.member) for t in tags if isinstance(t, Member)})
            if not biases and not members:
                continue
            if loop is not None and (
                _filters(source.stmt, loop) or any(contains(loop.iter, node) for node in self.reported_at)
            ):
                continue
            if not biases:
                # what another module's object holds: judged with that module's facts
                self.fact(
                    "member_penalty",
                    source.node,
                    members=[list(m) for m in members],
                    text=_short(self.ctx.code(operand)),
                )
                continue
            bias = biases[0]
            origin = f"{bias.label}, line {flow.line(bias.node)}"
            text = _short(self.ctx.code(operand))
            if TRAINABLE in tags or KERNEL in tags:
                message = (
                    f"this penalty covers `{text}`, which holds biases; they come from {origin}: penalize kernels only"
                )
            else:
                message = f"this penalty is on a bias (`{text}`); it comes from {origin}: penalize weights only"
            self.report(source.node, message)

        self._member_facts(flow)

    def _member_facts(self, flow: Flow) -> None:
        """For each class of this module, the attributes and method results of its objects
        that hold biases: what a penalty in another module on `net.vars` or
        `mgr.variables()` is judged by (`check_project`)."""
        for scope in flow.scopes_all():
            cls = scope.node
            if not isinstance(cls, cst.ClassDef) or scope.parent is None or scope.parent.kind != "module":
                continue
            for member, tags in flow.members(cls):
                biases = sorted((t for t in tags if isinstance(t, Bias)), key=lambda t: flow.line(t.node))
                if biases:
                    self.fact(
                        "bias_member",
                        cls.name,
                        cls=cls.name.value,
                        member=member,
                        label=biases[0].label,
                        line=flow.line(biases[0].node),
                    )

    @classmethod
    def check_project(cls, project: ProjectFacts) -> Iterable[Finding]:
        """A penalty on what an object of another module's class holds (`net.vars.values()`,
        `mgr.trainable_variables()`), when that module says it holds biases."""
        facts = project.by_kind(cls.code)
        holders = facts.get("bias_member", [])
        for penalty in facts.get("member_penalty", []):
            for owner, member in penalty.data["members"]:
                holder = next(
                    (h for h in holders if h.data["member"] == member and denotes(owner, h.path, h.data["cls"])),
                    None,
                )
                if holder is None:
                    continue
                name = f"{holder.data['cls']}.{member}"
                verb = "returns" if member.endswith("()") else "holds"
                yield Finding(
                    cls.code,
                    cls.name,
                    f"this penalty covers `{penalty.data['text']}`, which holds biases; `{name}` {verb} "
                    f"{holder.data['label']} ({holder.path}:{holder.data['line']}): penalize kernels only",
                    penalty.path,
                    penalty.range,
                    related=((holder.path, holder.range, f"`{holder.data['cls']}` keeps a bias in `{member}`"),),
                )
                break

    @classmethod
    def wanted_modules(cls, project: ProjectFacts) -> Iterable[str]:
        """The modules of the classes whose objects' members are penalized elsewhere (the
        module defining them may hold none of this rule's tokens)."""
        for penalty in project.of(cls.code, "member_penalty"):
            for owner, _ in penalty.data["members"]:
                yield owner.rpartition(".")[0]

    def _variable(self, call: cst.Call) -> None:
        variable = created_name(call, positional=True)
        if variable is None or not is_bias_name(variable):
            return
        arg = keyword_arg(call, "regularizer")
        if arg is not None and self._regularizes(arg.value):
            self.report(
                arg,
                f"the bias {variable!r} is created with a regularizer; penalize weights only",
                fix=self._drop_fix(call, arg),
            )
        elif self.scopes[-1]:
            # `regularizer=None` does not opt out: get_variable then takes the scope's
            self.scopes[-1][-1].biases.append(repr(variable))

    def _regularizes(self, value: cst.BaseExpression) -> bool:
        """Whether a regularizer argument sets a penalty here. `None` does not, and neither does
        plumbing that passes on what the caller chose: a parameter (`bias_regularizer=
        bias_regularizer` in a helper) or a layer's own attribute (`self.bias_regularizer`),
        unless the class itself sets the attribute to a regularizer it makes."""
        value = self.ctx.resolver.single_value(value)
        if _is_none(value):
            return False
        if isinstance(value, cst.IfExp) and (_is_none(value.body) or _is_none(value.orelse)):
            # a bias penalty behind an explicit switch (`reg if cfg.BIAS_DECAY else None`) is an
            # option the project chose to offer
            return False
        if isinstance(value, cst.Name):
            values = self.ctx.resolver.assigned_values(value)
            if any(_is_none(v) for v in values):
                # the same switch as a statement: `None` on one path, a regularizer on another
                # (`if cfg.NO_BIAS_DECAY: reg = None` / `else: reg = l2(wd)`)
                return False
            return bool(values) or self.resolve(value) is not None
        own = isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name) and value.value.value == "self"
        return not own or self._holds_regularizer(cst.ensure_type(value, cst.Attribute).attr.value)

    def _holds_regularizer(self, attr: str) -> bool:
        """Whether the enclosing class only ever sets `self.<attr>` to a regularizer it makes
        (`self.reg = slim.l2_regularizer(wd)`): its own choice, not its caller's."""
        cls = self.ctx.enclosing(cst.ClassDef)
        if not isinstance(cls, cst.ClassDef):
            return False
        values: list[cst.BaseExpression] = []
        stack: list[cst.CSTNode] = [cls.body]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Assign):
                values.extend(
                    node.value
                    for target in node.targets
                    if isinstance(target.target, cst.Attribute)
                    and isinstance(target.target.value, cst.Name)
                    and target.target.value.value == "self"
                    and target.target.attr.value == attr
                )
            elif not is_expression(node):
                stack.extend(child_nodes(node))
        return bool(values) and all(
            isinstance(v, cst.Call) and self.resolve(v.func) in REGULARIZER_FACTORIES for v in values
        )

    def _apply_regularization(self, call: cst.Call) -> None:
        arg = keyword_arg(call, "weights_list")
        if arg is None and len(call.args) > 1 and call.args[1].keyword is None:
            arg = call.args[1]
        if arg is None or self._all_variables(arg.value) is None:
            return
        text = self.ctx.code(arg.value)
        self.report(
            arg,
            f"`apply_regularization` over `{text}` penalizes every bias too; penalize kernels only",
            fix=self.make_fix(Replace(arg.value, f"[v for v in {text} if len(v.shape) > 1]")),
        )

    # -- L2 sums over every variable ---------------------------------------------------------
    def visit_For(self, node: cst.CSTNode) -> None:
        """`for v in tf.trainable_variables(): l2 += tf.nn.l2_loss(v)`, with no `if` in the loop
        (a `with` block around the penalty filters nothing)."""
        self._enter(node)
        assert isinstance(node, cst.For)
        if not isinstance(node.target, cst.Name) or self._all_variables(node.iter) is None:
            return
        target = node.target.value
        lines = _unfiltered_lines(node.body)
        if lines is None or any(isinstance(small, cst.Continue) for line in lines for small in line.body):
            return
        if not any(self._penalty_of(small, target) for line in lines for small in line.body):
            return
        text = self.ctx.code(node.iter)
        self.report(
            node.iter,
            f"this loop adds an L2 penalty for every trainable variable (`{text}`), biases included; "
            "penalize kernels only",
            fix=self.make_fix(Replace(node.iter, f"[{target} for {target} in {text} if len({target}.shape) > 1]")),
        )

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._comprehension(node)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._comprehension(node)

    def _comprehension(self, node: cst.ListComp | cst.GeneratorExp) -> None:
        loop = node.for_in
        if loop.inner_for_in is not None or not isinstance(loop.target, cst.Name):
            return
        target = loop.target.value
        source = self._all_variables(loop.iter)
        if source is None or not self._penalty_of(node.elt, target):
            return
        graph_names = source != "keras"
        if not loop.ifs:
            self.report(
                node,
                f"this L2 penalty sums over every trainable variable (`{self.ctx.code(loop.iter)}`), "
                "biases included; penalize kernels only",
                fix=self.make_fix(Insert(loop.iter, f" if len({target}.shape) > 1")),
            )
            return
        useless = [c for c in loop.ifs if graph_names and excludes_nothing(c.test, target)]
        # each test the filter requires (`"gamma" not in v.name and "beta" not in v.name`)
        tests = [test for c in loop.ifs for test in _conjuncts(c.test)]
        blind = [t for t in tests if graph_names and excludes_nothing(t, target)]
        others = [word for t in tests if (word := drops_only_other(t, target)) is not None]
        if others and len(blind) + len(others) == len(tests):
            last = loop.ifs[-1].test
            extend = isinstance(last, cst.Comparison) and not useless
            self.report(
                node,
                f"the filter leaves out only variables named with {', '.join(map(repr, others))}: the biases "
                "of conv and dense layers (`use_bias=True` is the default) are still penalized; penalize kernels only",
                fix=self.make_fix(Insert(last, f" and len({target}.shape) > 1")) if extend else None,
            )
            return
        if len(useless) != len(loop.ifs) and graph_names:
            self.filtered.append((node, target))
        if len(useless) == len(loop.ifs):
            self.report(
                node,
                f"the filter `{self.ctx.code(useless[0].test)}` excludes nothing: TF1 variable names carry "
                "a scope and ':0' (`dense/bias:0`), so every bias is penalized",
                fix=self.make_fix(Replace(useless[0].test, f"len({target}.shape) > 1"), *self._drop_ifs(useless[1:])),
            )

    def _drop_ifs(self, ifs: Sequence[cst.CompIf]) -> list[Replace]:
        return [Replace(c, "") for c in ifs]

    def _all_variables(self, node: cst.BaseExpression) -> str | None:
        """'graph' for TF1's list of all variables, 'keras' for a model's, else None."""
        node = self.ctx.resolver.single_value(node)
        if isinstance(node, cst.Call):
            name = self.resolve(node.func)
            if name in TRAINABLE_VARIABLE_CALLS:
                return "graph"
            if (
                name in COLLECTION_READERS
                and node.args
                and self.resolve(node.args[0].value) in TRAINABLE_COLLECTION_KEYS
            ):
                return "graph"
            return None
        if isinstance(node, cst.Attribute) and node.attr.value in KERAS_TRAINABLE_ATTRIBUTES:
            return "keras"
        return None

    def _penalty_of(self, element: cst.CSTNode, target: str) -> bool:
        """A penalty of `target` in `element`, also inside a lambda that reads the same
        variable (`model.add_loss(lambda v=v: l2(1e-4)(v))` in a loop over the weights, or
        under a parameter defaulting to it: `lambda w=weight: l2(1e-4)(w)`)."""
        if is_penalty_of(self.resolve, element, target):
            return True
        return any(
            is_penalty_of(self.resolve, lam.body, name) for lam in _lambdas(element) for name in _names_for(lam, target)
        )


def _operand(resolve: Callable[[cst.CSTNode], str | None], node: cst.CSTNode) -> cst.BaseExpression | None:
    """What an L2 penalty of the dataflow (`tf.nn.l2_loss(w)`, `reduce_sum(tf.square(w))`,
    `reduce_sum(w ** 2)`, `l2(0.1)(w)`) is computed from."""
    if not isinstance(node, cst.Call) or not node.args:
        return None
    first = node.args[0].value
    if isinstance(first, cst.Call) and first.args and resolve(first.func) in SQUARE_CALLS:
        return first.args[0].value
    if isinstance(first, cst.BinaryOperation) and isinstance(first.operator, cst.Power):
        return first.left
    return first


def _loop_binding(stmt: Stmt, operand: cst.BaseExpression) -> cst.For | None:
    """The innermost loop around the statement whose variable is the penalized name."""
    if not isinstance(operand, cst.Name):
        return None
    loops = [line for _, line in stmt.chain if isinstance(line, cst.For) and mentions(line.target, operand.value)]
    return loops[-1] if loops else None


def _filters(stmt: Stmt, loop: cst.For) -> bool:
    """Whether a loop may leave some of its variables out of the penalty: a condition or a
    `continue` in its body (`if "bias" in v.name: continue`)."""
    lines = [line for _, line in stmt.chain]
    inner = lines[lines.index(loop) + 1 :]
    return any(isinstance(s, (cst.If, cst.Try)) for s in inner) or _continues(loop.body)


def _continues(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Continue):
        return True
    if isinstance(node, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef)):
        return False
    return any(_continues(child) for child in node.children)


def _comprehension_binding(
    root: cst.CSTNode, node: cst.CSTNode, operand: cst.BaseExpression
) -> cst.CompFor | cst.Param | None:
    """What binds the name `operand` at `node` in the statement `root`, when it is not the
    scope's name: the `for` of the innermost comprehension around `node` that binds it, or
    the parameter of a lambda around it."""
    if not isinstance(operand, cst.Name):
        return None
    found: cst.CompFor | cst.Param | None = None
    todo: list[cst.CSTNode] = [root]
    while todo:
        current = todo.pop()
        if isinstance(current, (cst.ListComp, cst.GeneratorExp, cst.SetComp)) and contains(current, node):
            for_in: cst.CompFor | None = current.for_in
            while for_in is not None:
                if isinstance(for_in.target, cst.Name) and for_in.target.value == operand.value:
                    found = for_in
                for_in = for_in.inner_for_in
        if isinstance(current, cst.Lambda) and contains(current, node):
            params = current.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                if param.name.value == operand.value:
                    found = param
        if contains(current, node):
            todo.extend(current.children)
    return found


def _short(code: str) -> str:
    """An expression as a message quotes it: on one line, 40 characters at most."""
    text = " ".join(code.split())
    return text if len(text) <= 40 else text[:37] + "..."


def _unfiltered_lines(body: cst.BaseSuite) -> list[cst.SimpleStatementLine] | None:
    """The statement lines of a loop's body when nothing in it can skip a variable: lines,
    and `with` blocks of lines (`with tf.name_scope("wd"):`). None for any other statement
    (an `if` may be a filter)."""
    if not isinstance(body, cst.IndentedBlock):
        return None
    found: list[cst.SimpleStatementLine] = []
    for statement in body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            found.append(statement)
        elif isinstance(statement, cst.With):
            inner = _unfiltered_lines(statement.body)
            if inner is None:
                return None
            found.extend(inner)
        else:
            return None
    return found


def _conjuncts(test: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The tests a filter requires together: `a and b` is `a` and `b`."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And) and not test.lpar:
        return [*_conjuncts(test.left), *_conjuncts(test.right)]
    return [test]
