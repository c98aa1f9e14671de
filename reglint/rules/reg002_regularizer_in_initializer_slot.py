from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import libcst as cst

from reglint.interproc import denotes, module_of
from reglint.kwargs import splatted_keywords
from reglint.model import Fact, Finding
from reglint.names import dotted
from reglint.patterns import PENALTY_TOKENS, OwnScopeVisitor, is_penalty_of
from reglint.rule import Invalid, Replace, Rule, Safety, Token, Valid, Word
from reglint.tfnames import (
    INITIALIZER_SUFFIX,
    KERAS_INITIALIZER_IDS,
    KERAS_REGULARIZER_IDS,
    PAIRED_FAMILIES,
    REGULARIZER_FACTORIES,
    REGULARIZER_SUFFIX,
    TF_NAMESPACES,
    WEIGHT_METHODS,
    is_initializer_name,
)

if TYPE_CHECKING:
    from reglint.engine import FileContext
    from reglint.judge import ProjectFacts


# Where the slots are in the positional parameters of the callees whose slots are filled
# positionally in real code (read from the TensorFlow 2.21 / Keras 3 signatures): a fix that
# renames a keyword to a slot a positional argument already fills raises TypeError.
_GETTER = {"initializer": 3, "regularizer": 4}
_DENSE = ("kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer")
POSITIONAL_SLOTS: dict[str, dict[str, int]] = {
    "tensorflow.get_variable": _GETTER,  # (name, shape, dtype, initializer, regularizer, ...)
    "tensorflow.get_local_variable": _GETTER,
    "slim.model_variable": _GETTER,
    "slim.variable": _GETTER,
    # Dense(units, activation, use_bias, kernel_initializer, bias_initializer, ...)
    "keras.layers.Dense": {keyword: 3 + i for i, keyword in enumerate(_DENSE)},
    # tf.layers.dense(inputs, units, activation, use_bias, kernel_initializer, ...)
    "tensorflow.layers.dense": {keyword: 4 + i for i, keyword in enumerate(_DENSE)},
    # Embedding(input_dim, output_dim, embeddings_initializer, embeddings_regularizer, ...)
    "keras.layers.Embedding": {"embeddings_initializer": 2, "embeddings_regularizer": 3},
}
# any other callee: from this many positional arguments on, a slot may be among them (the
# conv and normalization layers' first slot is further: Conv2D's kernel_initializer is the
# tenth); `add_weight` changed its order between Keras 2 (name, shape, dtype, initializer)
# and Keras 3 (shape, initializer), so from its second on
UNKNOWN_SLOT_FROM = 4
WEIGHT_METHOD_SLOT_FROM = 2

# the functions of `keras.initializers` / `keras.regularizers` that turn a value into config
SERIALIZERS = frozenset({"serialize", "get", "deserialize"})


def _looked_up(resolve: Callable[[cst.CSTNode], str | None], node: cst.BaseExpression, module: str) -> bool:
    """`keras.initializers.get("he_normal")` (or `deserialize`): a named value of that module
    (`get(x)` of anything else returns what it is given, which says nothing)."""
    return (
        isinstance(node, cst.Call)
        and resolve(node.func) in (f"{module}.get", f"{module}.deserialize")
        and bool(node.args)
        and isinstance(node.args[0].value, cst.SimpleString)
    )


def _slot(keyword: str) -> tuple[str, str] | None:
    """('initializer' | 'regularizer', family) for a slot keyword, else None."""
    for kind in (INITIALIZER_SUFFIX, REGULARIZER_SUFFIX):
        if keyword == kind:
            return kind, ""
        if keyword.endswith("_" + kind):
            return kind, keyword[: -len(kind) - 1]
    return None


def _other(kind: str) -> str:
    return REGULARIZER_SUFFIX if kind == INITIALIZER_SUFFIX else INITIALIZER_SUFFIX


def counterpart(keyword: str) -> str | None:
    """The keyword the value belongs in: `kernel_initializer` <-> `kernel_regularizer`.

    None when the family has no such pair (`moving_mean_initializer`, `activity_regularizer`)."""
    slot = _slot(keyword)
    if slot is None:
        return None
    kind, family = slot
    other = REGULARIZER_SUFFIX if kind == INITIALIZER_SUFFIX else INITIALIZER_SUFFIX
    if family == "":
        return other
    if family not in PAIRED_FAMILIES:
        return None
    return f"{family}_{other}"


def _scan_defs(body: Sequence[cst.CSTNode], found: dict[str, list[cst.FunctionDef]]) -> None:
    """The functions a scope defines at statement level (as the resolver binds them)."""
    for stmt in body:
        if isinstance(stmt, cst.FunctionDef):
            found.setdefault(stmt.name.value, []).append(stmt)
        elif isinstance(stmt, (cst.If, cst.Try, cst.With, cst.For, cst.While)):
            _scan_defs(stmt.body.body, found)
            orelse = getattr(stmt, "orelse", None)
            if isinstance(orelse, cst.If):
                _scan_defs([orelse], found)
            elif isinstance(orelse, cst.Else):
                _scan_defs(orelse.body.body, found)
            for handler in getattr(stmt, "handlers", ()):
                _scan_defs(handler.body.body, found)


class _Returns(OwnScopeVisitor):
    """The values a function returns, not descending into nested functions or classes."""

    def __init__(self) -> None:
        self.values: list[cst.BaseExpression | None] = []

    def visit_Return(self, node: cst.Return) -> None:
        self.values.append(node.value)


# a module of regularizer constants, shared by examples below
DECAY_MODULE = "from tensorflow import keras\nWEIGHT_DECAY = keras.regularizers.L1L2(l2=5e-4)\n"


class RegularizerInInitializerSlot(Rule):
    """
    ## What it does
    Flags a regularizer passed where an initializer belongs, and an initializer passed where a
    regularizer belongs. The slots are the keywords of TensorFlow, Keras and slim calls:
    `kernel_initializer=`, `bias_initializer=`, `depthwise_`, `pointwise_`, `recurrent_`,
    `embeddings_`, `gamma_`, `beta_initializer=`, slim's `weights_initializer=` (also in
    `slim.arg_scope`), `get_variable(initializer=...)`, `variable_scope(initializer=...)`,
    `add_weight(initializer=...)`, and their `*_regularizer=` counterparts, written in the call
    or given through a settings dict splatted into it (`Dense(**kw)` with `kw =
    dict(kernel_initializer=...)`, `kw["kernel_initializer"] = ...` or `kw.update(...)` in the
    same function; reported at the entry, without a fix). A value imported from another module
    of the project (`from .regularizers import KERNEL_REG`) is what that module assigns it. A
    wrapper's parameter named for one slot and passed to the other
    (`kernel_initializer=kernel_regularizer`) is wrong whatever its callers pass, and so is a
    custom layer's attribute named so (`add_weight(initializer=self.kernel_regularizer)`). A
    value chosen by a condition (`l2(wd) if wd > 0 else None`) is judged by each branch.

    Through the project's wrappers: a function or class (in any module) that hands its
    parameter to a slot, directly or through an attribute its `__init__` stores
    (`self._init = kernel_initializer`, then `Conv2D(..., kernel_initializer=self._init)`),
    makes that parameter the slot; a regularizer passed to it is flagged at the call.

    A string names a Keras initializer or regularizer (`kernel_regularizer="he_normal"`,
    `kernel_initializer="l2"`): Keras looks it up among the slot's kind and raises ValueError.
    In a config dict (`get_config`), a slot's value serialized with the other kind's API is
    flagged too: `"kernel_initializer": regularizers.serialize(self.kernel_initializer)`.

    A regularizer is a Keras (2, 3, `tf.keras`) or `tf.contrib` / slim regularizer, called or
    not, a name assigned one, or a function of your own that plainly computes a penalty of its
    argument (`return scale * tf.nn.l2_loss(w)`). An initializer is anything from
    `keras.initializers`, `tf.initializers` or a `tf.*_initializer` function.

    ## Why is this bad?
    The two are both callables, so nothing complains until the variable is created: the layer
    calls the regularizer as an initializer and raises
    `TypeError: L2.__call__() got an unexpected keyword argument 'dtype'` (often after a long
    data load), or calls the initializer on the weights and fails inside it. The mix-up is
    common enough to appear in blog posts that teach it.

    ## Example
    ```python
    import tensorflow.compat.v1 as tf

    x = tf.layers.conv2d(
        x, 512, (3, 3), kernel_initializer=tf.keras.regularizers.l2(0.001)
    )
    ```

    Use instead:
    ```python
    import tensorflow.compat.v1 as tf

    x = tf.layers.conv2d(
        x, 512, (3, 3), kernel_regularizer=tf.keras.regularizers.l2(0.001)
    )
    ```

    ## Fix safety
    Safe: the value is moved to the keyword of the same family (`kernel_initializer=` ->
    `kernel_regularizer=`, `initializer=` -> `regularizer=`, and back), which the original
    could only reach by crashing. A config entry serialized with the other kind's API gets that
    kind's own (`regularizers.serialize` -> `initializers.serialize` under `*_initializer`):
    both produce the same config today (the generic Keras serializer). When that keyword is
    already given, or the family has no counterpart (`activity_regularizer=`,
    `moving_mean_initializer=`), the finding has no fix.

    ## References
    - [tf.compat.v1.get_variable](https://www.tensorflow.org/api_docs/python/tf/compat/v1/get_variable)
    - [Keras layer weight regularizers](https://keras.io/api/layers/regularizers/)
    - [Keras layer weight initializers](https://keras.io/api/layers/initializers/)
    """

    code = "REG002"
    name = "regularizer-in-initializer-slot"
    # Every finding has a slot keyword (`initializer` or `*_initializer`, `regularizer` or
    # `*_regularizer`) written in the call, and:
    # - an initializer in a regularizer slot: the keyword holds `regularizer`, the value resolves
    #   to `*.initializers.*` or a `*_initializer` function: (initializer, regularizer);
    # - a regularizer in an initializer slot: a Keras / contrib / slim factory (its name holds
    #   `regularizer`, as above), or a lambda or function of the file's own that returns a
    #   penalty of its argument: `initializer` and one group of PENALTY_TOKENS.
    # - a module-level constant holding a regularizer, for the slots of other modules that
    #   import it (`constant` facts): `regularizer` (every factory's canonical name holds it);
    #   the files that import such a constant into an initializer slot are asked for by its
    #   name (wanted_tokens), the modules a slot's imported value comes from by module name.
    TOKENS = (*((b"initializer", *group) for group in PENALTY_TOKENS), (b"regularizer",))
    fix_safety = Safety.SAFE

    VALID = [
        # a name chosen by a condition from itself is no regularizer
        Valid(
            "import tensorflow as tf\n\n\n"
            "def weight(label, n):\n"
            "    label = tf.one_hot(label, n) if label.shape.ndims == 1 else label\n"
            "    return tf.get_variable('w', [n], initializer=label)\n"
        ),
        # the wrapper's callers pass each value to the parameter that reaches its slot
        Valid(
            "import tensorflow as tf\n\n"
            "def conv(x, filters, init, reg=None):\n"
            "    return tf.keras.layers.Conv2D(filters, 3, kernel_initializer=init, kernel_regularizer=reg)(x)\n\n"
            "y = conv(x, 8, 'he_normal', reg=tf.keras.regularizers.l2(1e-4))\n"
            "z = conv(x, 8, init=tf.keras.initializers.HeNormal(), reg='l2')\n"
        ),
        # names in their own slots, and a name neither API knows
        Valid(
            "import tensorflow as tf\n"
            "layer = tf.keras.layers.Dense(8, kernel_initializer='he_normal', kernel_regularizer='l2',\n"
            "                              bias_initializer='my_init')\n"
        ),
        # a config that serializes each value with its own API
        Valid(
            "import keras\n\nclass Attention(keras.layers.Layer):\n    def get_config(self):\n"
            "        return {\n"
            "            'kernel_initializer': keras.initializers.serialize(self.kernel_initializer),\n"
            "            'kernel_regularizer': keras.regularizers.serialize(self.kernel_regularizer),\n"
            "        }\n"
        ),
        # the imported constant in its slot
        Valid(
            files={
                "proj/settings/decay.py": DECAY_MODULE,
                "proj/models/classifier.py": "import tensorflow as tf\nfrom proj.settings.decay import WEIGHT_DECAY\n"
                "head = tf.keras.layers.Dense(10, kernel_initializer='he_uniform', kernel_regularizer=WEIGHT_DECAY)\n",
            }
        ),
        # the same dict, with the regularizer in its slot
        Valid(
            "import tensorflow as tf\n"
            "kw = dict(units=4, kernel_regularizer=tf.keras.regularizers.l2(1e-4))\n"
            "kw['kernel_initializer'] = 'he_normal'\n"
            "layer = tf.keras.layers.Dense(**kw)\n"
        ),
        Valid(
            "import tensorflow as tf\n"
            "tf.keras.layers.Dense(4, kernel_initializer='he_normal',\n"
            "                      kernel_regularizer=tf.keras.regularizers.l2(0.01))\n"
        ),
        Valid(
            "import tensorflow.compat.v1 as tf\n"
            "w = tf.get_variable('w', [3, 3], initializer=tf.random_normal_initializer(stddev=0.01),\n"
            "                    regularizer=tf.contrib.layers.l2_regularizer(0.0005))\n"
        ),
        Valid("import tensorflow as tf\nw = tf.compat.v1.get_variable('w', [2], initializer=None, regularizer=None)\n"),
        # a look-alike from another library, and a user class named like Keras's
        Valid("import mylib\nlayer = mylib.Dense(4, kernel_initializer=mylib.regularizers.l2(0.1))\n"),
        Valid(
            "import keras\n\nclass L2:\n    def __call__(self, shape, dtype=None):\n        return 0\n\n"
            "keras.layers.Dense(4, kernel_initializer=L2())\n"
        ),
        # a user class named like a Keras layer
        Valid(
            "import keras\n\nclass Dense:\n    def __init__(self, units, kernel_initializer=None):\n        pass\n\n"
            "Dense(4, kernel_initializer=keras.regularizers.l2(0.1))\n"
        ),
        # a user initializer that happens to take an argument
        Valid(
            "import tensorflow.compat.v1 as tf\n\ndef init(shape, dtype=None, partition_info=None):\n"
            "    return tf.zeros(shape, dtype)\n\nw = tf.get_variable('w', [2], initializer=init)\n"
        ),
        # a regularizer defined, but only passed where it belongs
        Valid(
            "import keras\nreg = keras.regularizers.l2(0.01)\n"
            "keras.layers.Conv2D(8, 3, kernel_regularizer=reg, kernel_initializer=keras.initializers.HeNormal())\n"
        ),
        # a user function's keywords are not TensorFlow's slots
        Valid(
            "import keras\n\ndef build(kernel_initializer):\n    pass\n\n"
            "build(kernel_initializer=keras.regularizers.l2(0.1))\n"
        ),
    ]
    INVALID = [
        # a custom layer keeps the regularizer its caller passed, and builds a weight with it
        # as the initializer
        Invalid(
            "from tensorflow import keras\n\n\n"
            "class Attention(keras.layers.Layer):\n"
            "    def __init__(self, kernel_regularizer=None, **kwargs):\n"
            "        super().__init__(**kwargs)\n"
            "        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)\n\n"
            "    def build(self, input_shape):\n"
            "        self.wq = self.add_weight(name='wq', shape=(4, 8), initializer=self.kernel_regularizer)\n",
            message="the regularizer attribute (`self.kernel_regularizer`) is passed as `initializer=`",
            fixed="from tensorflow import keras\n\n\n"
            "class Attention(keras.layers.Layer):\n"
            "    def __init__(self, kernel_regularizer=None, **kwargs):\n"
            "        super().__init__(**kwargs)\n"
            "        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)\n\n"
            "    def build(self, input_shape):\n"
            "        self.wq = self.add_weight(name='wq', shape=(4, 8), regularizer=self.kernel_regularizer)\n",
        ),
        # a regularizer whenever the condition holds
        Invalid(
            "import tensorflow.compat.v1 as tf\n\n\n"
            "def weight(name, shape, wd):\n"
            "    reg = tf.keras.regularizers.l2(wd) if wd > 0 else None\n"
            "    return tf.get_variable(name, shape, initializer=reg)\n",
            message="a regularizer (`reg`) is passed as `initializer=`",
        ),
        # the counterpart slot filled positionally: renaming the keyword would raise TypeError
        Invalid(
            "import tensorflow as tf\n"
            "b = tf.compat.v1.get_variable('b', [3], tf.float32, tf.ones_initializer(),"
            " regularizer=tf.zeros_initializer())\n",
            message="`initializer=`, which is already given",
        ),
        Invalid(
            "from tensorflow.keras import layers, initializers\n"
            "d = layers.Dense(64, None, True, 'he_normal', kernel_regularizer=initializers.Zeros())\n",
            message="`kernel_initializer=`, which is already given",
        ),
        Invalid(
            "from tensorflow.keras import layers, initializers\n"
            "c = layers.Conv2D(8, 3, 1, 'same', None, 1, 1, None, True, 'zeros',"
            " kernel_regularizer=initializers.Zeros())\n",
            message="may already give",
        ),
        # a wrapper class of another module that stores its parameter and hands it to the
        # initializer slot: the caller's regularizer becomes an initializer
        Invalid(
            files={
                "net/blocks.py": "from keras.layers import SeparableConv2D\n\n"
                "class Block:\n"
                "    def __init__(self, filters, kernel_initializer='he_normal', kernel_regularizer=None):\n"
                "        self.filters = filters\n"
                "        self._init = kernel_initializer\n"
                "        self._reg = kernel_regularizer\n\n"
                "    def __call__(self, x):\n"
                "        return SeparableConv2D(self.filters, 3, kernel_initializer=self._init,\n"
                "                               kernel_regularizer=self._reg)(x)\n",
                "net/model.py": "from keras.regularizers import l2\nfrom net.blocks import Block\n\n"
                "def build(x):\n"
                "    x = Block(32, kernel_initializer=l2(1e-4))(x)\n"
                "    return Block(64, 'glorot_uniform', l2(1e-4))(x)\n",
            },
            path="net/model.py",
            message="is passed to `Block`, which gives it to `kernel_initializer=` (net/blocks.py:10)",
        ),
        # a wrapper function of the same module, called positionally
        Invalid(
            "import tensorflow as tf\n\n"
            "def conv(x, filters, init, reg=None):\n"
            "    return tf.keras.layers.Conv2D(filters, 3, kernel_initializer=init, kernel_regularizer=reg)(x)\n\n"
            "y = conv(x, 8, tf.keras.regularizers.l2(1e-4))\n",
            message="is passed to `conv`",
        ),
        # an initializer's name in a regularizer slot, and an initializer from `get`
        Invalid(
            "import tensorflow as tf\nlayer = tf.keras.layers.Dense(8, kernel_regularizer='he_normal')\n",
            fixed="import tensorflow as tf\nlayer = tf.keras.layers.Dense(8, kernel_initializer='he_normal')\n",
            message="unknown regularizer",
        ),
        Invalid(
            "import tensorflow as tf\n"
            "layer = tf.keras.layers.Conv2D(8, 3, kernel_initializer='l2',\n"
            "                               bias_regularizer=tf.keras.initializers.get('zeros'))\n",
            expected=2,
            fixed="import tensorflow as tf\n"
            "layer = tf.keras.layers.Conv2D(8, 3, kernel_regularizer='l2',\n"
            "                               bias_initializer=tf.keras.initializers.get('zeros'))\n",
        ),
        # a config that serializes an initializer with the regularizer API (Keras re-exported by
        # a module of the project)
        Invalid(
            "from .backend import keras\n\nclass Attention(keras.layers.Layer):\n    def get_config(self):\n"
            "        config = {\n"
            "            'kernel_initializer': keras.regularizers.serialize(self.kernel_initializer),\n"
            "            'kernel_regularizer': keras.regularizers.serialize(self.kernel_regularizer),\n"
            "        }\n"
            "        return config\n",
            fixed="from .backend import keras\n\nclass Attention(keras.layers.Layer):\n    def get_config(self):\n"
            "        config = {\n"
            "            'kernel_initializer': keras.initializers.serialize(self.kernel_initializer),\n"
            "            'kernel_regularizer': keras.regularizers.serialize(self.kernel_regularizer),\n"
            "        }\n"
            "        return config\n",
        ),
        Invalid(
            "from tensorflow.keras import initializers\nconfig = {'bias_regularizer': initializers.serialize(reg)}\n",
            message="`bias_regularizer` is serialized with `initializers.serialize`",
        ),
        # a wrapper that forwards its regularizer parameter into the initializer slot
        Invalid(
            "import tensorflow as tf\n"
            "def conv(x, filters, kernel_initializer='glorot_uniform', kernel_regularizer=None):\n"
            "    return tf.keras.layers.Conv2D(filters, 3, kernel_initializer=kernel_regularizer)(x)\n",
            fixed="import tensorflow as tf\n"
            "def conv(x, filters, kernel_initializer='glorot_uniform', kernel_regularizer=None):\n"
            "    return tf.keras.layers.Conv2D(filters, 3, kernel_regularizer=kernel_regularizer)(x)\n",
            message="the regularizer parameter (`kernel_regularizer`)",
        ),
        # a regularizer held in a constant of another module of the project
        Invalid(
            files={
                "proj/settings/decay.py": DECAY_MODULE,
                "proj/models/classifier.py": "import tensorflow as tf\nfrom ..settings.decay import WEIGHT_DECAY\n"
                "head = tf.keras.layers.Dense(10, kernel_initializer=WEIGHT_DECAY)\n",
            },
            path="proj/models/classifier.py",
            fixed="import tensorflow as tf\nfrom ..settings.decay import WEIGHT_DECAY\n"
            "head = tf.keras.layers.Dense(10, kernel_regularizer=WEIGHT_DECAY)\n",
            message="proj.settings.decay",
        ),
        # a regularizer in an initializer slot, given through a settings dict
        Invalid(
            "import tensorflow as tf\n"
            "kw = dict(units=4, kernel_initializer=tf.keras.regularizers.l2(1e-4))\n"
            "layer = tf.keras.layers.Dense(**kw)\n",
            message="through a `**` dict",
        ),
        # seed 002's mix-up
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "x = tf.layers.conv2d(x, 512, (3, 3), padding='same',\n"
            "                     kernel_initializer=tf.contrib.layers.l2_regularizer(0.001))\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "x = tf.layers.conv2d(x, 512, (3, 3), padding='same',\n"
            "                     kernel_regularizer=tf.contrib.layers.l2_regularizer(0.001))\n",
            message="`kernel_regularizer=`",
        ),
        # seed 001: a hand-written regularizer function given as get_variable's initializer
        Invalid(
            "import tensorflow.compat.v1 as tf\n\n"
            "def regularizer(tensor):\n"
            "    with tf.name_scope(scope, default_name='l2_regularizer', values=[tensor]):\n"
            "        l2_weight = tf.convert_to_tensor(weight_decay, dtype=tensor.dtype.base_dtype)\n"
            "        return tf.multiply(l2_weight, tf.nn.l2_loss(tensor), name='value')\n\n"
            "w = tf.get_variable('w', shape=[3, 3], initializer=regularizer)\n",
            fixed="import tensorflow.compat.v1 as tf\n\n"
            "def regularizer(tensor):\n"
            "    with tf.name_scope(scope, default_name='l2_regularizer', values=[tensor]):\n"
            "        l2_weight = tf.convert_to_tensor(weight_decay, dtype=tensor.dtype.base_dtype)\n"
            "        return tf.multiply(l2_weight, tf.nn.l2_loss(tensor), name='value')\n\n"
            "w = tf.get_variable('w', shape=[3, 3], regularizer=regularizer)\n",
        ),
        # a regularizer assigned to a name first; Keras 3
        Invalid(
            "import keras\nreg = keras.regularizers.l2(0.01)\nlayer = keras.layers.Dense(4, kernel_initializer=reg)\n",
            fixed="import keras\nreg = keras.regularizers.l2(0.01)\n"
            "layer = keras.layers.Dense(4, kernel_regularizer=reg)\n",
        ),
        # the other families: depthwise, pointwise, embeddings, BatchNorm, RNN cells
        Invalid(
            "from tensorflow.keras import layers, regularizers\n"
            "a = layers.DepthwiseConv2D(3, depthwise_initializer=regularizers.l2(1e-4))\n"
            "b = layers.SeparableConv2D(8, 3, pointwise_initializer=regularizers.L1(1e-4))\n"
            "c = layers.Embedding(10, 4, embeddings_initializer=regularizers.l1_l2(0.1, 0.1))\n"
            "d = layers.BatchNormalization(gamma_initializer=regularizers.l2(0.1), beta_initializer=regularizers.l2)\n"
            "e = layers.LSTMCell(4, recurrent_initializer=regularizers.l2(0.1))\n",
            expected=6,
            fixed="from tensorflow.keras import layers, regularizers\n"
            "a = layers.DepthwiseConv2D(3, depthwise_regularizer=regularizers.l2(1e-4))\n"
            "b = layers.SeparableConv2D(8, 3, pointwise_regularizer=regularizers.L1(1e-4))\n"
            "c = layers.Embedding(10, 4, embeddings_regularizer=regularizers.l1_l2(0.1, 0.1))\n"
            "d = layers.BatchNormalization(gamma_regularizer=regularizers.l2(0.1), beta_regularizer=regularizers.l2)\n"
            "e = layers.LSTMCell(4, recurrent_regularizer=regularizers.l2(0.1))\n",
        ),
        # slim, directly and through arg_scope
        Invalid(
            "import tf_slim as slim\n"
            "with slim.arg_scope([slim.conv2d], weights_initializer=slim.l2_regularizer(0.0005)):\n"
            "    net = slim.conv2d(net, 64, [3, 3], biases_initializer=slim.l2_regularizer(0.1))\n",
            expected=2,
            fixed="import tf_slim as slim\n"
            "with slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer(0.0005)):\n"
            "    net = slim.conv2d(net, 64, [3, 3], biases_regularizer=slim.l2_regularizer(0.1))\n",
        ),
        # variable_scope, and a lambda that plainly computes a penalty
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "with tf.variable_scope('fc', initializer=lambda w: 1e-4 * tf.nn.l2_loss(w)):\n"
            "    pass\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "with tf.variable_scope('fc', regularizer=lambda w: 1e-4 * tf.nn.l2_loss(w)):\n"
            "    pass\n",
        ),
        # the reverse: an initializer in a regularizer slot
        Invalid(
            "import keras\nkeras.layers.Dense(4, kernel_regularizer=keras.initializers.HeNormal())\n",
            fixed="import keras\nkeras.layers.Dense(4, kernel_initializer=keras.initializers.HeNormal())\n",
            message="initializer",
        ),
        Invalid(
            "import tensorflow.compat.v1 as tf\nb = tf.get_variable('b', [4], regularizer=tf.zeros_initializer())\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "b = tf.get_variable('b', [4], initializer=tf.zeros_initializer())\n",
        ),
        # the matching keyword is taken, or there is none: reported without a fix
        Invalid(
            "import keras\nr = keras.regularizers.l2(0.01)\n"
            "keras.layers.Dense(4, kernel_initializer=r, kernel_regularizer=r)\n",
            message="already",
        ),
        Invalid("import keras\nkeras.layers.Dense(4, activity_regularizer=keras.initializers.Zeros())\n"),
        # a renamed import of a Keras regularizer
        Invalid(
            "from keras.layers import Dense\nfrom keras.regularizers import l2 as decay\n"
            "Dense(4, kernel_initializer=decay(0.01))\n",
            fixed="from keras.layers import Dense\nfrom keras.regularizers import l2 as decay\n"
            "Dense(4, kernel_regularizer=decay(0.01))\n",
        ),
        # a function of the user's own that never says `regularizer`: an L2 penalty as a sum of squares
        Invalid(
            "import tensorflow as tf\n\ndef decay(w):\n    return 1e-4 * tf.reduce_sum(tf.square(w))\n\n"
            "layer = tf.keras.layers.Dense(4, kernel_initializer=decay)\n",
            fixed="import tensorflow as tf\n\ndef decay(w):\n    return 1e-4 * tf.reduce_sum(tf.square(w))\n\n"
            "layer = tf.keras.layers.Dense(4, kernel_regularizer=decay)\n",
        ),
        # every reduction of every elementwise term the penalty pattern knows (each example holds
        # the tokens of one prefilter group only)
        *(
            Invalid(
                f"import tensorflow.compat.v1 as tf\npenalty = lambda v: 1e-4 * tf.{reduction}({term})\n"
                "w = tf.get_variable('w', [2], initializer=penalty)\n",
                fixed=f"import tensorflow.compat.v1 as tf\npenalty = lambda v: 1e-4 * tf.{reduction}({term})\n"
                "w = tf.get_variable('w', [2], regularizer=penalty)\n",
            )
            for reduction in ("reduce_sum", "math.reduce_mean")
            for term in ("tf.square(v)", "tf.math.abs(v)", "v ** 2")
        ),
        # a custom layer's add_weight
        Invalid(
            "import keras\n\nclass Scale(keras.layers.Layer):\n    def build(self, shape):\n"
            "        self.w = self.add_weight(shape=(1,), initializer=keras.regularizers.l2(0.1))\n",
            fixed="import keras\n\nclass Scale(keras.layers.Layer):\n    def build(self, shape):\n"
            "        self.w = self.add_weight(shape=(1,), regularizer=keras.regularizers.l2(0.1))\n",
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        # functions defined by each scope on the resolver's stack (module, functions, lambdas)
        self.defs: list[dict[str, list[cst.FunctionDef]]] = []
        # the entries of `**` dicts, per scope and name, and the values already reported
        self.splats: dict[object, list[tuple[str, cst.BaseExpression]]] = {}
        self.reported: set[cst.CSTNode] = set()

    # -- scopes --------------------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        found: dict[str, list[cst.FunctionDef]] = {}
        _scan_defs(node.body, found)
        self.defs = [found]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        found: dict[str, list[cst.FunctionDef]] = {}
        if isinstance(node.body, cst.IndentedBlock):
            _scan_defs(node.body.body, found)
        self.defs.append(found)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.defs.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.defs.append({})

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.defs.pop()

    # -- detection -----------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if not self._takes_slots(node):
            self._passed_to_project(node)
            return
        keywords = {arg.keyword.value for arg in node.args if arg.keyword is not None}
        splat = any(arg.star == "**" for arg in node.args)
        filled = self._positionally_filled(node)
        if filled is None:
            splat = True  # the counterpart may be among the positional arguments
        else:
            keywords |= filled
        for arg in node.args:
            if arg.keyword is None:
                continue
            slot = _slot(arg.keyword.value)
            if slot is None:
                continue
            kind = slot[0]
            forwarded = self._other_slots_parameter(arg.value, kind)
            if forwarded is not None:
                self._report(
                    arg,
                    f"the {_other(kind)} {'attribute' if '.' in forwarded else 'parameter'}",
                    f"whatever the caller passes as the {_other(kind)} lands in the {kind} slot",
                    keywords,
                    splat,
                )
                continue
            self._forwarded_parameter(arg, kind)
            if self._imported_value(arg, kind, keywords, splat):
                continue
            if kind == INITIALIZER_SUFFIX and self._is_regularizer(arg.value):
                what = "a regularizer"
                consequence = "it is called to create the variable and raises TypeError (unexpected keyword 'dtype')"
            elif kind == REGULARIZER_SUFFIX and self._is_initializer(arg.value):
                what = "an initializer"
                consequence = "it is called on the tensor to penalize and fails inside the initializer"
            else:
                continue
            if isinstance(self._value(arg.value), cst.SimpleString):
                what = f"the {_other(kind)}'s name"
                consequence = f"Keras looks it up among the {kind}s and raises ValueError (unknown {kind})"
            self._report(arg, what, consequence, keywords, splat)
        for key, value in splatted_keywords(self.ctx, node, self.splats):
            slot = _slot(key)
            if slot is None or value in self.reported:
                continue
            if slot[0] == INITIALIZER_SUFFIX and self._is_regularizer(value):
                what = "a regularizer"
            elif slot[0] == REGULARIZER_SUFFIX and self._is_initializer(value):
                what = "an initializer"
            else:
                continue
            self.reported.add(value)
            text = " ".join(self.ctx.code(value).split())
            self.report(
                value,
                f"{what} (`{text[:57] + '...' if len(text) > 60 else text}`) is given as `{key}` through a `**` dict; "
                f"it belongs under `{counterpart(key) or 'the other slot'}`",
            )

    def visit_Dict(self, node: cst.Dict) -> None:
        """A config dict (`get_config`) that serializes a slot's value with the other kind's
        API: `"kernel_initializer": regularizers.serialize(self.kernel_initializer)`."""
        for element in node.elements:
            if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
                continue
            key = element.key.evaluated_value
            if not isinstance(key, str):
                continue
            slot = _slot(key)
            value = element.value
            if slot is None or not isinstance(value, cst.Call):
                continue
            name = self.resolve(value.func) or dotted(value.func) or ""
            module, _, function = name.rpartition(".")
            api = module.rpartition(".")[2]
            if function not in SERIALIZERS or api != f"{_other(slot[0])}s":
                continue
            func = value.func
            fix = None
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Attribute):
                fix = self.make_fix(Replace(func.value.attr, cst.Name(f"{slot[0]}s")))
            self.report(
                value,
                f"`{key}` is serialized with `{api}.{function}`; the {slot[0]} goes through the {_other(slot[0])} "
                f"API, and a config read back with `{api}.get` / `{api}.deserialize` fails on it; use "
                f"`{slot[0]}s.{function}`",
                fix=fix,
            )

    def _positionally_filled(self, call: cst.Call) -> set[str] | None:
        """The slot keywords a call's positional arguments fill, from the callee's signature
        (POSITIONAL_SLOTS); None when unknown and enough are given to reach a slot."""
        positional = 0
        for arg in call.args:
            if arg.keyword is not None or arg.star == "**":
                break
            if arg.star:
                return None
            positional += 1
        if positional == 0:
            return set()
        name = self.resolve(call.func)
        slots = POSITIONAL_SLOTS.get(name or "")
        if slots is None:
            start = UNKNOWN_SLOT_FROM if name is not None else WEIGHT_METHOD_SLOT_FROM
            return None if positional >= start else set()
        return {keyword for keyword, index in slots.items() if index < positional}

    def _report(self, arg: cst.Arg, what: str, consequence: str, keywords: set[str], splat: bool) -> None:
        assert arg.keyword is not None
        keyword = arg.keyword.value
        value = " ".join(self.ctx.code(arg.value).split())
        if len(value) > 60:
            value = value[:57] + "..."
        target = counterpart(keyword)
        head = f"{what} (`{value}`) is passed as `{keyword}=`; {consequence}"
        if target is None:
            self.report(arg, f"{head}; `{keyword}=` has no matching keyword to move it to")
        elif target in keywords:
            self.report(arg, f"{head}; it belongs in `{target}=`, which is already given")
        elif splat:
            self.report(arg, f"{head}; it belongs in `{target}=`, which `**` or positional arguments may already give")
        else:
            self.report(
                arg,
                f"{head}; it belongs in `{target}=`",
                fix=self.make_fix(Replace(arg.keyword, cst.Name(target))),
            )

    # -- wrappers: a project function or class that hands its parameter to a slot ----------
    def _forwarded_parameter(self, arg: cst.Arg, kind: str) -> None:
        """A `forwards` fact when a slot receives a parameter of the enclosing function
        (`def conv(x, kernel_initializer=None): Conv2D(..., kernel_initializer=kernel_initializer)`)
        or what a class's `__init__` stored from one (`self._init = kernel_initializer`, given
        as `kernel_initializer=self._init` in a method): the wrapper inherits the slot."""
        assert arg.keyword is not None
        function = self.ctx.enclosing(cst.FunctionDef)
        if not isinstance(function, cst.FunctionDef):
            return
        cls = self._class_of(function)
        value = arg.value
        target: cst.FunctionDef | None = None
        param: str | None = None
        if isinstance(value, cst.Name) and value.value in _param_names(function):
            target, param = function, value.value
        elif (
            cls is not None
            and isinstance(value, cst.Attribute)
            and isinstance(value.value, cst.Name)
            and value.value.value == "self"
        ):
            init = next(
                (f for f in _class_functions(cls) if f.name.value == "__init__"),
                None,
            )
            stored = _stored_parameter(init, value.attr.value) if init is not None else None
            if stored is not None:
                target, param = init, stored
        if target is None or param is None:
            return
        owner = self._class_of(target)
        if owner is None and self.ctx.enclosing(cst.ClassDef) is not None:
            return
        if owner is not None and not _at_module_level(self.ctx.module, owner):
            return
        if owner is None and not _at_module_level(self.ctx.module, target):
            return
        qualified = f"{owner.name.value}.{target.name.value}" if owner is not None else target.name.value
        names = _param_names(target)
        self.fact(
            "forwards",
            arg,
            qualified=qualified,
            param=param,
            index=names.index(param),
            method=owner is not None,
            slot=kind,
            keyword=arg.keyword.value,
        )

    def _class_of(self, function: cst.FunctionDef) -> cst.ClassDef | None:
        """The module-level class whose body defines `function` directly."""
        for stmt in self.ctx.module.body:
            if isinstance(stmt, cst.ClassDef) and function in _class_functions(stmt):
                return stmt
        return None

    def _passed_to_project(self, call: cst.Call) -> None:
        """A `passes` fact for each regularizer or initializer given to a function or class of
        the project (imported, or this module's own): judged with the `forwards` facts."""
        func = call.func
        name = self.resolve(func)
        if (
            name is None
            and isinstance(func, cst.Name)
            and any(
                isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and stmt.name.value == func.value
                for stmt in self.ctx.module.body
            )
        ):
            name = f"{module_of(self.ctx.path)}.{func.value}"
        if name is None or "." not in name or name.startswith((*TF_NAMESPACES, "builtins.")):
            return
        position = 0
        for arg in call.args:
            if arg.star:
                return  # positions after `*args` are unknown
            key: str | int = arg.keyword.value if arg.keyword is not None else position
            if arg.keyword is None:
                position += 1
            if self._is_regularizer(arg.value):
                holds = REGULARIZER_SUFFIX
            elif self._is_initializer(arg.value):
                holds = INITIALIZER_SUFFIX
            else:
                continue
            text = " ".join(self.ctx.code(arg.value).split())
            short = text[:57] + "..." if len(text) > 60 else text
            self.fact("passes", arg, callee=name, key=key, holds=holds, text=short)

    def _other_slots_parameter(self, value: cst.BaseExpression, kind: str) -> str | None:
        """A parameter of the enclosing function named for the other kind of slot
        (`kernel_initializer=kernel_regularizer` in a wrapper), or an attribute of the method's
        object named so (`initializer=self.kernel_regularizer` in a custom layer, which keeps
        what its caller passed as the regularizer): wrong whatever is passed."""
        function = self.ctx.enclosing(cst.FunctionDef)
        if not isinstance(function, cst.FunctionDef):
            return None
        params = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
        params += [p.name.value for p in function.params.kwonly_params]
        if isinstance(value, cst.Name) and value.value in params:
            name = value.value
        elif (
            isinstance(value, cst.Attribute)
            and isinstance(value.value, cst.Name)
            and params
            and value.value.value == params[0]
            and self.ctx.enclosing(cst.ClassDef) is not None
        ):
            name = value.attr.value
        else:
            return None
        slot = _slot(name)
        if slot is None or slot[0] == kind:
            return None
        return name if isinstance(value, cst.Name) else f"{params[0]}.{name}"

    def _imported_value(self, arg: cst.Arg, kind: str, keywords: set[str], splat: bool) -> bool:
        """A slot given a name imported from another module of the project
        (`kernel_initializer=KERNEL_REG` with `from .regularizers import KERNEL_REG`): a
        `slot` fact, judged in the project phase with that module's `constant` facts."""
        assert arg.keyword is not None
        name = self.resolve(self._value(arg.value))
        if name is None or name.startswith((*TF_NAMESPACES, "builtins.")) or "." not in name:
            return False
        keyword = arg.keyword.value
        target = counterpart(keyword)
        fix = None
        if target is not None and target not in keywords and not splat:
            fix = self.make_fix(Replace(arg.keyword, cst.Name(target)))
        self.fact("slot", arg, fix=fix, keyword=keyword, slot=kind, value=name, target=target)
        return True

    def leave_Module(self, original_node: cst.Module) -> None:
        """A `constant` fact per module-level name assigned once a regularizer or an
        initializer, for the slots of other modules that import it."""
        for name, values in self.ctx.resolver.module_scope.values.items():
            if len(values) != 1:
                continue
            if self._is_regularizer(values[0]):
                self.fact("constant", original_node, name=name, holds=REGULARIZER_SUFFIX)
            elif self._is_initializer(values[0]):
                self.fact("constant", original_node, name=name, holds=INITIALIZER_SUFFIX)

    @classmethod
    def check_project(cls, project: ProjectFacts) -> Iterable[Finding]:
        facts = project.by_kind(cls.code)
        constants = facts.get("constant", [])
        for slot in facts.get("slot", []):
            value = slot.data["value"]
            module, _, name = value.rpartition(".")
            holds = next((c.data["holds"] for c in constants if denotes(value, c.path, c.data["name"])), None)
            if holds is None or holds == slot.data["slot"]:
                continue
            what = "a regularizer" if holds == REGULARIZER_SUFFIX else "an initializer"
            keyword, target = slot.data["keyword"], slot.data["target"]
            where = ""
            if target is not None:
                where = f"; it belongs in `{target}=`" + ("" if slot.fix else ", which is already given")
            yield Finding(
                cls.code,
                cls.name,
                f"{what} (`{name}`, from {module}) is passed as `{keyword}=`{where}",
                slot.path,
                slot.range,
                slot.fix,
            )

        yield from cls._through_wrappers(facts.get("passes", []), facts.get("forwards", []))

    @classmethod
    def _through_wrappers(cls, passes: list[Fact], forwards: list[Fact]) -> Iterable[Finding]:
        """A regularizer passed to a wrapper's parameter that the wrapper gives to an
        initializer slot (or the reverse), wherever the wrapper is defined."""
        for passed in passes:
            callee, key = passed.data["callee"], passed.data["key"]
            for forward in forwards:
                qualified = forward.data["qualified"]
                names = [qualified]
                if qualified.endswith(".__init__"):
                    names.append(qualified[: -len(".__init__")])
                if not any(denotes(callee, forward.path, name) for name in names):
                    continue
                offset = 1 if forward.data["method"] else 0
                if key != forward.data["param"] and key != forward.data["index"] - offset:
                    continue
                if passed.data["holds"] == forward.data["slot"]:
                    continue
                what = "a regularizer" if passed.data["holds"] == REGULARIZER_SUFFIX else "an initializer"
                wrapper = callee.rpartition(".")[2]
                yield Finding(
                    cls.code,
                    cls.name,
                    f"{what} (`{passed.data['text']}`) is passed to `{wrapper}`, which gives it to "
                    f"`{forward.data['keyword']}=` ({forward.path}:{forward.range.start.line}); "
                    f"pass it as the {passed.data['holds']}",
                    passed.path,
                    passed.range,
                )
                break

    @classmethod
    def wanted_modules(cls, project: ProjectFacts) -> Iterable[str]:
        """The modules the slots' imported values come from (a module of initializer
        constants may hold none of this rule's tokens)."""
        for slot in project.of(cls.code, "slot"):
            yield slot.data["value"].rpartition(".")[0]

    @classmethod
    def wanted_tokens(cls, project: ProjectFacts) -> Iterable[Token]:
        """The files that may pass a regularizer constant of the project to an initializer
        slot: they name the constant and an initializer, and need not name a regularizer."""
        for constant in project.of(cls.code, "constant"):
            if constant.data["holds"] == REGULARIZER_SUFFIX:
                yield (b"initializer", Word(constant.data["name"].encode()))

    def _takes_slots(self, call: cst.Call) -> bool:
        """TensorFlow, Keras and slim calls, and Keras's `self.add_weight(...)`."""
        name = self.resolve(call.func)
        if name is not None:
            return name.startswith(TF_NAMESPACES)
        return isinstance(call.func, cst.Attribute) and call.func.attr.value in WEIGHT_METHODS

    def _value(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """A name assigned exactly once stands for its value (followed twice at most)."""
        for _ in range(2):
            value = self.ctx.resolver.single_value(node)
            if value is node:
                break
            node = value
        return node

    def _is_regularizer(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        node = self._value(node)
        if isinstance(node, cst.IfExp):
            # `l2(wd) if wd > 0 else None`: a regularizer whenever the condition holds (a few
            # levels: `x = f(x) if c else x` leads back to itself)
            return depth < 3 and (
                self._is_regularizer(node.body, depth + 1) or self._is_regularizer(node.orelse, depth + 1)
            )
        if isinstance(node, cst.SimpleString):
            return node.evaluated_value in KERAS_REGULARIZER_IDS
        if _looked_up(self.resolve, node, "keras.regularizers"):
            return True
        target = node.func if isinstance(node, cst.Call) else node
        if self.resolve(target) in REGULARIZER_FACTORIES:
            return True
        if isinstance(node, cst.Lambda):
            return self._is_penalty(node.params, [node.body])
        if isinstance(node, cst.Name):
            function = self._local_function(node.value)
            if function is not None:
                returns = _Returns()
                function.body.visit(returns)
                values = [value for value in returns.values if value is not None]
                complete = bool(values) and len(values) == len(returns.values)
                return complete and self._is_penalty(function.params, values)
        return False

    def _is_initializer(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        node = self._value(node)
        if isinstance(node, cst.IfExp):
            return depth < 3 and (
                self._is_initializer(node.body, depth + 1) or self._is_initializer(node.orelse, depth + 1)
            )
        if isinstance(node, cst.SimpleString):
            return node.evaluated_value in KERAS_INITIALIZER_IDS
        if _looked_up(self.resolve, node, "keras.initializers"):
            return True
        target = node.func if isinstance(node, cst.Call) else node
        return is_initializer_name(self.resolve(target))

    def _local_function(self, name: str) -> cst.FunctionDef | None:
        """The one function a name denotes where it is used, if the innermost binding is a def."""
        stack = self.ctx.resolver.stack
        for depth in range(len(stack) - 1, -1, -1):
            if name in stack[depth].bindings:
                if depth >= len(self.defs):
                    return None
                functions = self.defs[depth].get(name, [])
                values = stack[depth].values.get(name, [])
                return functions[0] if len(functions) == 1 and not values else None
        return None

    def _is_penalty(self, params: cst.Parameters, values: Sequence[cst.BaseExpression]) -> bool:
        """Whether each returned value is a penalty of the first parameter: it calls
        `tf.nn.l2_loss(param)`, `reduce_sum(tf.square(param))` or a regularizer on it."""
        positional = [*params.posonly_params, *params.params]
        if not positional:
            return False
        param = positional[0].name.value
        return all(is_penalty_of(self.resolve, value, param) for value in values)


def _param_names(function: cst.FunctionDef) -> list[str]:
    params = function.params
    return [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]


def _class_functions(cls: cst.ClassDef) -> list[cst.FunctionDef]:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    return [stmt for stmt in body if isinstance(stmt, cst.FunctionDef)]


def _at_module_level(module: cst.Module, node: cst.CSTNode) -> bool:
    return any(stmt is node for stmt in module.body)


def _stored_parameter(init: cst.FunctionDef, attribute: str) -> str | None:
    """The parameter of `__init__` that `self.<attribute> = <parameter>` stores, when the
    attribute is assigned exactly once there and from a parameter."""
    params = set(_param_names(init))
    found: list[str | None] = []
    for line in init.body.body if isinstance(init.body, cst.IndentedBlock) else ():
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for small in line.body:
            if not isinstance(small, cst.Assign):
                continue
            for target in small.targets:
                node = target.target
                if (
                    isinstance(node, cst.Attribute)
                    and node.attr.value == attribute
                    and isinstance(node.value, cst.Name)
                    and node.value.value == "self"
                ):
                    value = small.value
                    found.append(value.value if isinstance(value, cst.Name) and value.value in params else None)
    return found[0] if len(found) == 1 else None
