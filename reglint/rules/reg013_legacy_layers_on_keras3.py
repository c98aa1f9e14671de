from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from reglint.flowfix import regularizer_keyword
from reglint.rule import Invalid, Rule, Valid

if TYPE_CHECKING:
    from reglint.engine import FileContext
    from reglint.target import Target

TF1 = "import tensorflow.compat.v1 as tf\n"
LEGACY_LAYERS = "tensorflow.layers."
LEGACY_KERAS_VARIABLE = "TF_USE_LEGACY_KERAS"


class LegacyLayersOnKeras3(Rule):
    """
    ## What it does
    Flags a TensorFlow 1 layer with a regularizer (`tf.layers.dense(..., kernel_regularizer=
    ...)`, `tf.compat.v1.layers.conv2d`, `tf.layers.Dense`) in a project that may run on
    Keras 3, that is on TensorFlow 2.16 or later, without declaring `tf-keras`.

    It concerns a project whose TensorFlow is known (`tensorflow-version`, or its dependency
    declarations) and is the question an upgrade asks: `reglint check --tensorflow-version
    2.16` on a TensorFlow 1 project lists the layers that stop working, with their
    regularizers.

    ## Why is this bad?
    From TensorFlow 2.16, `tf.keras` is Keras 3, and `tf.compat.v1.layers.dense` raises
    `AttributeError: dense is not available with Keras 3` unless `tf-keras` is installed and
    `TF_USE_LEGACY_KERAS=1` is set before TensorFlow is imported. The model, and the
    regularizers it declares, never get built.

    ## Example
    ```python
    import tensorflow.compat.v1 as tf

    h = tf.layers.dense(x, 64, kernel_regularizer=tf.keras.regularizers.l2(1e-4))
    ```

    Use instead (with `tf-keras` declared next to TensorFlow, `tf-keras==2.16.*`):
    ```python
    import os

    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tensorflow.compat.v1 as tf

    h = tf.layers.dense(x, 64, kernel_regularizer=tf.keras.regularizers.l2(1e-4))
    ```
    or move the model to `keras.layers.Dense(64, kernel_regularizer=...)` (whose penalties are
    in `model.losses`, not the regularization collection: the loss must then add those).

    A file that sets `TF_USE_LEGACY_KERAS` itself relies on tf-keras knowingly and is left
    alone.

    ## Fix safety
    No fix: the remedy is a dependency and an environment variable, or a port of the model.

    ## References
    - [TensorFlow 2.16 release notes: Keras 3 is the default](https://github.com/tensorflow/tensorflow/releases/tag/v2.16.1)
    - [Keras 3 migration: tf-keras and TF_USE_LEGACY_KERAS](https://keras.io/getting_started/#tensorflow--keras-2-backwards-compatibility)
    """

    code = "REG013"
    name = "legacy-layers-on-keras3"
    severity = "warning"
    tags = ("deprecated",)
    # a `tf.layers` call (the attribute `layers`) with a regularizer keyword
    TOKENS = ((b"layers", b"_regularizer"),)

    VALID = [
        # a project on TensorFlow 2.15: `tf.compat.v1.layers` still work
        Valid(TF1 + "h = tf.layers.dense(x, 4, kernel_regularizer=tf.keras.regularizers.l2(1e-4))\n", target="2.15"),
        # a target that is not known: nothing is assumed
        Valid(TF1 + "h = tf.layers.dense(x, 4, kernel_regularizer=tf.keras.regularizers.l2(1e-4))\n"),
        # Keras's own layers
        Valid(
            "import keras\nd = keras.layers.Dense(4, kernel_regularizer=keras.regularizers.l2(1e-4))\n",
            target="2.16",
        ),
        # the file relies on tf-keras knowingly
        Valid(
            "import os\nos.environ['TF_USE_LEGACY_KERAS'] = '1'\n"
            + TF1
            + "h = tf.layers.dense(x, 4, kernel_regularizer=tf.keras.regularizers.l2(1e-4))\n",
            target="2.16",
        ),
        # a TF 1 layer without a regularizer is not this linter's business
        Valid(TF1 + "h = tf.layers.dense(x, 4)\n", target="2.16"),
    ]
    INVALID = [
        Invalid(
            TF1 + "h = tf.layers.dense(x, 4, kernel_regularizer=tf.keras.regularizers.l2(1e-4))\n",
            target=">=2.10",
            message="`tf.layers.dense` is not available with Keras 3",
        ),
        Invalid(
            "import tensorflow as tf\n"
            "conv = tf.compat.v1.layers.Conv2D(8, 3, bias_regularizer=tf.keras.regularizers.l2(1e-4))\n",
            target="2.16",
        ),
    ]

    @classmethod
    def reported_on(cls, target: Target) -> bool:
        return target.tensorflow is not None and target.admits_keras_3() and not target.tf_keras

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.layers: list[tuple[cst.Call, str]] = []
        self.legacy_keras = False  # the file sets TF_USE_LEGACY_KERAS

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if node.evaluated_value == LEGACY_KERAS_VARIABLE:
            self.legacy_keras = True

    def visit_Call(self, node: cst.Call) -> None:
        name = self.resolve(node.func)
        if name is None or not name.startswith(LEGACY_LAYERS):
            return
        keyword = regularizer_keyword(node)
        if keyword is not None:
            self.layers.append((node, keyword))

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.legacy_keras:
            return
        for node, keyword in self.layers:
            self.report(
                node.func,
                f"`{self.ctx.code(node.func)}` is not available with Keras 3 (TensorFlow >= 2.16), so its "
                f"`{keyword}=` never applies: declare tf-keras and set TF_USE_LEGACY_KERAS=1, or port the layer "
                "to keras.layers",
            )
