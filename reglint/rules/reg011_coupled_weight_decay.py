from __future__ import annotations

from collections.abc import Iterable
from itertools import product

import libcst as cst

from reglint.judge import ProjectFacts
from reglint.model import Finding
from reglint.rule import Invalid, Rule, Token, Valid
from reglint.tfnames import (
    ADAM_FAMILY_OPTIMIZERS,
    ADAM_FAMILY_STRINGS,
    CONTRIB_REGULARIZERS,
    KERAS_L1_L2,
    KERAS_L2,
    L2_LOSS_FUNCTIONS,
)


def _is_none_or_zero(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Name):
        return node.value == "None"
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return float(node.value) == 0.0
        except ValueError:
            return False
    return False


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


class CoupledWeightDecay(Rule):
    """
    ## What it does
    Flags an Adam-family optimizer (`Adam`, `Adamax`, `Nadam`, `tf.train.AdamOptimizer`,
    `optimizer="adam"`) in a project whose loss carries an L2 penalty: `keras.regularizers.l2`
    (or `L2`, `l1_l2(l2=...)`, `kernel_regularizer="l2"`), the contrib / slim
    `l2_regularizer`, or `tf.nn.l2_loss`. Off by default; enable it with `--select REG011`.

    ## Why is this bad?
    With plain gradient descent an L2 penalty and weight decay are the same thing. With Adam
    they are not: Adam divides every gradient, the penalty's included, by a running estimate
    of its scale, so weights with large gradients are barely decayed and weights with small
    ones are decayed hard. Loshchilov and Hutter showed that this coupled form regularizes
    worse than decoupled weight decay, which shrinks every weight by the same factor outside
    the adaptive step. What users who write `l2(1e-4)` next to Adam usually want is
    `AdamW(weight_decay=...)`. Measured on Keras 3.15 (tests/test_tf_facts.py): on Adam's
    first step a loss term `0.025 * sum(w**2)` left the update unchanged, while
    `AdamW(weight_decay=0.05)`, like `Adam(weight_decay=0.05)`, shrank each weight by
    `lr * 0.05 * w` on top of it.

    The penalty and the optimizer are matched across the project (the model is often
    defined in one module and trained in another), so in a repository holding many
    unrelated scripts the rule can pair code that never runs together.

    It is a judgement, not a bug, hence off by default: some models were tuned with the
    coupled penalty. RMSprop and Adagrad rescale gradients too but are not flagged: the
    decoupled variants this rule points to are Adam's.

    ## Example
    ```python
    import keras

    model = keras.Sequential([keras.layers.Dense(10, kernel_regularizer=keras.regularizers.l2(1e-4))])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    ```

    Use instead:
    ```python
    import keras

    model = keras.Sequential([keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.AdamW(1e-3, weight_decay=1e-4), loss="mse")
    ```
    (Keras 3 optimizers all take `weight_decay=`, applied decoupled; the decay rate is not
    the L2 factor: `AdamW` multiplies it by the learning rate, so retune it.)

    ## Fix safety
    There is no automatic fix: switching to decoupled decay changes training, and its strength
    has to be retuned.

    ## References
    - [Loshchilov & Hutter, Decoupled Weight Decay Regularization (ICLR 2019)](https://arxiv.org/abs/1711.05101)
    - [keras.optimizers.AdamW](https://keras.io/api/optimizers/adamw/)
    - [Keras optimizers: the `weight_decay` argument](https://keras.io/api/optimizers/)
    """

    code = "REG011"
    name = "coupled-weight-decay"
    severity = "note"
    precision = "medium"
    # A finding needs a penalty and an Adam in the project. The penalty side is parsed
    # everywhere (it is the rarer); the Adam side is asked for by `wanted_tokens` once a
    # penalty is known. A penalty is keras.regularizers' l2 / L2 / l1_l2 / L1L2 (the source
    # spells `regularizers` and the last name, which holds l2 or L2), the contrib / slim
    # l2_regularizer or l1_l2_regularizer, tf.nn.l2_loss, or a `*_regularizer=` keyword given
    # "l2" in any case (`l2` or `L2` in the source, ignoring escapes in the literal).
    TOKENS = ((b"l2", b"regulariz"), (b"L2", b"regulariz"), (b"l2_loss",))
    # An Adam is Adam / Adamax / Nadam under keras.optimizers or tf.optimizers (`optimizers`
    # is spelled in the import or the chain), tf.train.AdamOptimizer or contrib's
    # NadamOptimizer / AdaMaxOptimizer (the names are spelled whole), or a `compile` whose
    # optimizer string is adam, adamax or nadam in any case: `dam` in one of its 8 casings.
    ADAM_TOKENS: tuple[Token, ...] = (
        (b"dam", b"optimizers"),
        b"damOptimizer",
        b"daMaxOptimizer",
        *((b"compile", bytes(casing)) for casing in product(b"dD", b"aA", b"mM")),
    )
    default_enabled = False

    VALID = [
        Valid(
            "import keras\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer=keras.regularizers.l2())])\n"
            "model.compile(optimizer=keras.optimizers.SGD(0.1), loss='mse')\n"
        ),
        # decoupled already
        Valid(
            "import keras\nmodel = keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n"
            "model.compile(optimizer=keras.optimizers.AdamW(1e-3, weight_decay=1e-4), loss='mse')\n"
        ),
        Valid("import keras\nr = keras.regularizers.l2(1e-4)\nopt = keras.optimizers.Adam(1e-3, weight_decay=1e-4)\n"),
        # Adam without any L2 penalty, or with an L1 one
        Valid("import keras\nopt = keras.optimizers.Adam(1e-3)\nr = keras.regularizers.l1(0.1)\n"),
        Valid("import keras\nr = keras.regularizers.l1_l2(l1=0.1)\nopt = keras.optimizers.Adam()\n"),
        # look-alikes: a user's Adam, a string that is not a compile optimizer
        Valid("import keras\nclass Adam:\n    pass\n\nopt = Adam()\nr = keras.regularizers.l2(0.1)\n"),
        Valid("import keras\nname = 'adam'\nr = keras.regularizers.l2(0.1)\n"),
    ]
    INVALID = [
        Invalid(
            "import keras\n"
            "model = keras.Sequential([keras.layers.Dense(10, kernel_regularizer=keras.regularizers.l2(1e-4))])\n"
            "model.compile(optimizer=keras.optimizers.Adam(1e-3), loss='mse')\n",
            message="AdamW",
        ),
        # TF1: l2_loss summed into the loss, AdamOptimizer
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "loss = data_loss + 5e-4 * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])\n"
            "train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)\n",
            message="tf.nn.l2_loss",
        ),
        # a string optimizer, and a string regularizer
        Invalid(
            "from tensorflow import keras\n"
            "model = keras.Sequential([keras.layers.Dense(10, kernel_regularizer='l2')])\n"
            "model.compile('adam', loss='mse')\nmodel.compile(optimizer='Nadam', loss='mse')\n",
            expected=2,
        ),
        # across the project: the model in one module, the optimizer in another
        Invalid(
            files={
                "model.py": "import tensorflow as tf\nslim = tf.contrib.slim\n"
                "net = slim.conv2d(x, 64, [3, 3], weights_regularizer=slim.l2_regularizer(5e-4))\n",
                "train.py": "import tensorflow as tf\n"
                "opt = tf.keras.optimizers.Adamax(learning_rate=1e-3, weight_decay=None)\n",
            },
            path="train.py",
            message="model.py:3",
        ),
        # TF1: the summed l2_loss in one module, AdamOptimizer in another
        Invalid(
            files={
                "loss.py": "import tensorflow.compat.v1 as tf\n"
                "penalty = 5e-4 * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])\n",
                "train.py": "import tensorflow.compat.v1 as tf\n"
                "train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)\n",
            },
            path="train.py",
            message="loss.py:2",
        ),
        # an upper-case optimizer string in a module without any penalty (compile lower-cases it)
        Invalid(
            files={
                "model.py": "import keras\n\ndef build():\n"
                "    return keras.Sequential([keras.layers.Dense(1, kernel_regularizer='L2')])\n",
                "train.py": "from model import build\nmodel = build()\nmodel.compile(optimizer='ADAM', loss='mse')\n",
            },
            path="train.py",
            message="'ADAM'",
        ),
        # an optimizer whose module holds no other token
        Invalid(
            files={
                "model.py": "import tensorflow as tf\npenalty = 1e-4 * tf.nn.l2_loss(w)\n",
                "train.py": "import tensorflow as tf\nopt = tf.contrib.opt.AdaMaxOptimizer(1e-3)\n",
            },
            path="train.py",
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        name = self.resolve(node.func) or ""
        if name in ADAM_FAMILY_OPTIMIZERS:
            decay = [a for a in node.args if a.keyword is not None and a.keyword.value == "weight_decay"]
            if not decay or _is_none_or_zero(decay[0].value):
                self.fact("adam", node, label=name.rsplit(".", 1)[-1])
        elif self._is_l2_penalty(name, node):
            self.fact("penalty", node, label=self.ctx.code(node.func))
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "compile":
            self._compile_string(node)
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value.endswith("_regularizer"):
                text = _string(arg.value)
                if (text is not None and text.lower() == "l2") or self.resolve(arg.value) in KERAS_L2:
                    self.fact("penalty", arg.value, label=f"{arg.keyword.value}={self.ctx.code(arg.value)}")

    @classmethod
    def _is_l2_penalty(cls, name: str, node: cst.Call) -> bool:
        if name in KERAS_L2 or name in L2_LOSS_FUNCTIONS:
            return True
        if name in CONTRIB_REGULARIZERS:
            return "l2" in name.rsplit(".", 1)[-1]
        return name in KERAS_L1_L2 and cls._l1_l2_has_l2(node)

    @staticmethod
    def _l1_l2_has_l2(node: cst.Call) -> bool:
        for index, arg in enumerate(node.args):
            if (arg.keyword is not None and arg.keyword.value == "l2") or (arg.keyword is None and index == 1):
                return not _is_none_or_zero(arg.value)
        return False

    def _compile_string(self, node: cst.Call) -> None:
        for index, arg in enumerate(node.args):
            if (arg.keyword is None and index == 0) or (arg.keyword is not None and arg.keyword.value == "optimizer"):
                text = _string(arg.value)
                if text is not None and text.lower() in ADAM_FAMILY_STRINGS:
                    self.fact("adam", arg.value, label=repr(text))

    @classmethod
    def wanted_tokens(cls, project: ProjectFacts) -> Iterable[Token]:
        """The files of Adam optimizers, once the project holds a penalty: without one there
        is no finding, and every penalty is in a file the prefilter lets through, so the
        message (the first penalty, how many more) is the same as without the prefilter."""
        return cls.ADAM_TOKENS if project.of(cls.code, "penalty") else ()

    @classmethod
    def check_project(cls, project: ProjectFacts) -> Iterable[Finding]:
        facts = project.by_kind(cls.code)
        penalties = sorted(facts.get("penalty", []), key=lambda f: (f.path, f.range.start.line))
        if not penalties:
            return
        first = penalties[0]
        where = f"`{first.data['label']}` at {first.path}:{first.range.start.line}"
        more = f" and {len(penalties) - 1} more" if len(penalties) > 1 else ""
        for fact in facts.get("adam", []):
            yield Finding(
                cls.code,
                cls.name,
                f"{fact.data['label']} with an L2 penalty in the loss ({where}{more}): Adam rescales the "
                "penalty's gradient per weight, so it is not weight decay; for decoupled decay use "
                "`keras.optimizers.AdamW(weight_decay=...)` (or `weight_decay=` on a Keras 3 optimizer) "
                "and drop the L2 term",
                fact.path,
                fact.range,
                None,
            )
