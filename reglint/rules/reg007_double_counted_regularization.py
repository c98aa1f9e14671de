from __future__ import annotations

import libcst as cst

from reglint.dataflow import Flow, FlowRule
from reglint.flowfix import call_argument, contains, is_graph_declarer, regularizer_keyword
from reglint.model import Safety
from reglint.names import dotted
from reglint.rule import Invalid, PendingFix, Remove, Replace, Valid
from reglint.tfnames import APPLY_REGULARIZATION
from reglint.values import (
    COLLECTION,
    GRAPH_READ_TOKENS,
    KERAS_LOSSES,
    KERAS_LOSSES_TOKEN,
    KERAS_MODEL,
    L2,
    L2_ALL,
    PENALTIES,
    REG_LOSS,
    SINK_TOKENS,
    TOTAL_LOSS,
    TRAINABLE_TOKENS,
    Sink,
    Source,
)

TF1 = "import tensorflow.compat.v1 as tf\n"
LAYER = "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.01))\n"

# Prefilter tokens (see reglint.rules). Every finding of `judge` needs a place this file
DESCRIBE = {
    COLLECTION: "the regularization collection",
    REG_LOSS: "`get_regularization_loss()`",
    TOTAL_LOSS: "`get_total_loss()`, which includes the regularization losses",
    L2_ALL: "an L2 penalty over all trainable variables",
    KERAS_LOSSES: "`model.losses`",
}


class DoubleCountedRegularization(FlowRule):
    """
    ## What it does
    Flags a regularization penalty added twice to the loss that is optimized:
    `get_total_loss()` (which already includes the regularization losses) plus
    `get_regularization_loss()` or the `REGULARIZATION_LOSSES` collection; the collection read
    twice; a manual L2 over all trainable variables plus the collection filled by declared
    regularizers (or plus `model.losses` of a model built with regularizers); and a loss
    function given to `model.compile(loss=...)` that adds `model.losses` itself, when that
    model is trained with `fit` / `train_on_batch` (which already add them). And
    `apply_regularization(reg, tf.get_collection(REGULARIZATION_LOSSES))`, which applies the
    regularizer to the penalties themselves: the loss gets a penalty of the penalty. And a
    penalty written by hand (`tf.nn.l2_loss(w)`) on variables created with a `regularizer=` of
    their own, added to a loss that also takes the collection: their penalty is in it already.

    ## Why is this bad?
    The penalty's weight is silently doubled: the regularization strength that was tuned (or
    copied from a paper) is not the one trained with.

    ## Example
    ```python
    import tensorflow.compat.v1 as tf

    logits = tf.layers.dense(x, 10, kernel_regularizer=tf.keras.regularizers.l2(1e-4))
    tf.losses.sparse_softmax_cross_entropy(labels, logits)
    total_loss = tf.losses.get_total_loss()
    loss = total_loss + tf.losses.get_regularization_loss()
    train_op = optimizer.minimize(loss)
    ```

    Use instead:
    ```python
    import tensorflow.compat.v1 as tf

    logits = tf.layers.dense(x, 10, kernel_regularizer=tf.keras.regularizers.l2(1e-4))
    tf.losses.sparse_softmax_cross_entropy(labels, logits)
    total_loss = tf.losses.get_total_loss()
    loss = total_loss
    train_op = optimizer.minimize(loss)
    ```

    ## Fix safety
    Unsafe: it halves the penalty that was trained with. The fix drops the duplicate term
    when it is one operand of a `+` (or a whole `loss += term` line); when the duplicate is
    mixed into a larger expression, the finding has no fix. Of a manual L2 over all variables
    and the declared regularizers, the manual L2 is the term dropped.

    For a `compile` loss function, the `model.losses` term is the one dropped: Keras adds it
    anyway. A penalty by hand on variables that have their own regularizer has no fix: the
    hand-written term may also cover other variables, and which to keep is the author's call.

    ## References
    - [Keras: the losses attribute and `compile`](https://keras.io/api/losses/#the-addloss-api)
    - [tf.compat.v1.losses.get_total_loss](https://www.tensorflow.org/api_docs/python/tf/compat/v1/losses/get_total_loss)
    """

    code = "REG007"
    name = "double-counted-regularization"
    # - get_total_loss + the collection, the collection twice, or a manual L2 over all
    #   variables + get_total_loss / the collection: a graph read AND a sink;
    # - a manual L2 over all variables + model.losses of a model built with regularizers:
    #   `x.losses` AND a Keras call with a `*_regularizer=` keyword AND the variables
    #   (`trainable_variables`, `weights`, ...; the L2 itself is then implied: its shortest
    #   spelling, a regularizer called on a weight, contains `regulariz`) AND a sink;
    # - a compile loss adding `model.losses`, trained by fit / fit_generator / train_on_batch:
    #   `compile` AND `losses` AND `fit` or `train_on_batch`. Not `.losses`: the attribute may
    #   follow the dot after a line break inside brackets (an example has it);
    # - `apply_regularization` given the regularization losses: its name AND a read of them.
    TOKENS = (
        *((read, *sink) for read in GRAPH_READ_TOKENS for sink in SINK_TOKENS),
        *((KERAS_LOSSES_TOKEN, b"_regularizer", every, *sink) for every in TRAINABLE_TOKENS for sink in SINK_TOKENS),
        (b"compile", KERAS_LOSSES_TOKEN, b"fit"),
        (b"compile", KERAS_LOSSES_TOKEN, b"train_on_batch"),
        *((b"apply_regularization", read) for read in GRAPH_READ_TOKENS),
    )
    fix_safety = Safety.UNSAFE

    VALID = [
        # the penalty by hand is on a variable with no regularizer of its own
        Valid(
            TF1 + "w1 = tf.get_variable('w1', [784, 256], regularizer=tf.keras.regularizers.l2(1e-4))\n"
            "w2 = tf.get_variable('w2', [256, 10])\n"
            "h = tf.matmul(tf.nn.relu(tf.matmul(x, w1)), w2)\n"
            "loss = tf.losses.softmax_cross_entropy(y, h) + 1e-4 * tf.nn.l2_loss(w2)\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss + tf.losses.get_regularization_loss())\n"
        ),
        # the variables' own regularizers are never read: the penalty by hand is the only one
        Valid(
            TF1 + "w1 = tf.get_variable('w1', [784, 10], regularizer=tf.keras.regularizers.l2(1e-4))\n"
            "loss = tf.losses.softmax_cross_entropy(y, tf.matmul(x, w1)) + 1e-4 * tf.nn.l2_loss(w1)\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        # apply_regularization over the weights, the collection summed
        Valid(
            "import tensorflow as tf\n"
            "reg = tf.contrib.layers.l2_regularizer(1e-4)\n"
            "reg_term = tf.contrib.layers.apply_regularization(reg, tf.get_collection(tf.GraphKeys.WEIGHTS))\n"
            "extra = tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss + reg_term + extra)\n"
        ),
        # the model is compiled with a loss that adds model.losses, but trained by a custom loop
        Valid(
            "import keras\nimport tensorflow as tf\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n"
            "def loss_fn(y_true, y_pred):\n"
            "    return tf.reduce_mean(tf.square(y_true - y_pred)) + tf.add_n(model.losses)\n"
            "model.compile(optimizer='sgd', loss=loss_fn)\n"
            "model.save('m.keras')\n"
        ),
        # the loss function reads another model's losses
        Valid(
            "import keras\n"
            "def loss_fn(t, p):\n"
            "    return keras.losses.mse(t, p) + sum(teacher.losses)\n"
            "student.compile('adam', loss=loss_fn)\n"
            "student.fit(x, y)\n"
        ),
        # two callers of one helper, each passing the collection once (slim's model_deploy)
        Valid(
            TF1 + "def gather(losses, reg):\n"
            "    return tf.add_n(losses + reg)\n"
            "def optimize(opt, losses):\n"
            "    reg = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "    return opt.compute_gradients(gather(losses, reg))\n"
            "def deploy(losses):\n"
            "    reg = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "    return gather(losses, reg)\n"
        ),
        Valid(
            TF1 + LAYER + "tf.losses.mean_squared_error(y, h)\n"
            "loss = tf.losses.get_total_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        Valid(
            TF1 + LAYER + "base = tf.reduce_mean(tf.square(h - y))\n"
            "loss = base + tf.losses.get_regularization_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        # one branch or the other, never both
        Valid(
            TF1 + LAYER + "tf.losses.mean_squared_error(y, h)\n"
            "if use_total:\n"
            "    loss = tf.losses.get_total_loss()\n"
            "else:\n"
            "    loss = tf.reduce_mean(tf.square(h - y)) + tf.losses.get_regularization_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        # get_total_loss without the regularization, plus it
        Valid(
            TF1 + LAYER + "tf.losses.mean_squared_error(y, h)\n"
            "loss = tf.losses.get_total_loss(add_regularization_losses=False)\n"
            "loss += tf.losses.get_regularization_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        # seed 004: a manual L2 over all variables, nothing declared
        Valid(
            TF1 + "loss = tf.reduce_mean(xent)\n"
            "tv = tf.trainable_variables()\n"
            "Regularization_term = 0.0005 * tf.reduce_sum([tf.nn.l2_loss(v) for v in tv])\n"
            "loss = Regularization_term + loss\n"
            "reg = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "loss = tf.add_n([loss] + reg)\n"
            "train_op = tf.train.AdamOptimizer(0.005).minimize(loss)\n"
        ),
        # two losses, each with the penalty once
        Valid(
            TF1 + LAYER + "reg = tf.losses.get_regularization_loss()\n"
            "g_loss = tf.reduce_mean(h) + reg\n"
            "d_loss = tf.reduce_mean(-h) + reg\n"
            "g_op = tf.train.AdamOptimizer().minimize(g_loss)\n"
            "d_op = tf.train.AdamOptimizer().minimize(d_loss)\n"
        ),
    ]
    INVALID = [
        # `loss = loss + duplicate`: the line goes, no `loss = loss` is left
        Invalid(
            TF1 + LAYER + "tf.losses.mean_squared_error(y, h)\n"
            "loss = tf.losses.get_total_loss()\n"
            "loss = loss + tf.losses.get_regularization_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            fixed=TF1 + LAYER + "tf.losses.mean_squared_error(y, h)\n"
            "loss = tf.losses.get_total_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
        ),
        # a penalty summed by hand on variables whose own `regularizer=` already fills the
        # collection the loss also adds: reported, no fix (which one to keep is the author's)
        Invalid(
            TF1 + "reg = tf.keras.regularizers.l2(1e-4)\n"
            "w1 = tf.get_variable('w1', [784, 256], regularizer=reg)\n"
            "w2 = tf.get_variable('w2', [256, 10], regularizer=reg)\n"
            "h = tf.matmul(tf.nn.relu(tf.matmul(x, w1)), w2)\n"
            "data = tf.losses.softmax_cross_entropy(y, h)\n"
            "l2 = 1e-4 * (tf.nn.l2_loss(w1) + tf.nn.l2_loss(w2))\n"
            "loss = data + l2 + tf.losses.get_regularization_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            message="created with a `regularizer=` of their own",
        ),
        # a duplicate mixed into a larger expression: reported, no fix
        Invalid(
            TF1 + LAYER + "tf.losses.mean_squared_error(y, h)\n"
            "total_loss = tf.losses.get_total_loss()\n"
            "loss = total_loss + tf.losses.get_regularization_loss() * 2\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            message="counts the penalty twice",
        ),
        # the duplicate is the only statement of its block: the block keeps a `pass`
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.01))\n"
            "tf.losses.mean_squared_error(y, h)\n"
            "loss = tf.losses.get_total_loss()\n"
            "reg = tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))\n"
            "if add_reg:\n"
            "    loss += reg\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.01))\n"
            "tf.losses.mean_squared_error(y, h)\n"
            "loss = tf.losses.get_total_loss()\n"
            "reg = tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))\n"
            "if add_reg:\n"
            "    pass\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
        ),
        # the regularizer applied to the penalties instead of the weights
        Invalid(
            "import tensorflow as tf\n"
            "reg = tf.contrib.layers.l2_regularizer(1e-4)\n"
            "penalties = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "reg_term = tf.contrib.layers.apply_regularization(reg, penalties)\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss + reg_term)\n",
            message="penalizes the penalties",
        ),
        # compile + fit already add model.losses; the loss function adds them again
        Invalid(
            "import keras\nimport tensorflow as tf\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer=keras.regularizers.l2(0.1))])\n"
            "def loss_fn(y_true, y_pred):\n"
            "    return tf.reduce_mean(tf.square(y_true - y_pred)) + tf.add_n(model.losses)\n"
            "model.compile(optimizer='sgd', loss=loss_fn)\n"
            "model.fit(x, y)\n",
            fixed="import keras\nimport tensorflow as tf\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer=keras.regularizers.l2(0.1))])\n"
            "def loss_fn(y_true, y_pred):\n"
            "    return tf.reduce_mean(tf.square(y_true - y_pred))\n"
            "model.compile(optimizer='sgd', loss=loss_fn)\n"
            "model.fit(x, y)\n",
            message="compile",
        ),
        Invalid(
            "import keras\n"
            "m = keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n"
            "m.compile('adam', lambda t, p: keras.losses.mse(t, p) + sum(m.losses))\n"
            "m.train_on_batch(x, y)\n",
            fixed="import keras\n"
            "m = keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n"
            "m.compile('adam', lambda t, p: keras.losses.mse(t, p))\n"
            "m.train_on_batch(x, y)\n",
        ),
        # the attribute after a line break inside brackets: the file holds no `.losses`
        Invalid(
            "import keras\nimport tensorflow as tf\n"
            "m = keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n"
            "m.compile('adam', lambda t, p: tf.reduce_mean(tf.square(t - p)) + sum(m.\n"
            "    losses))\n"
            "m.fit(x, y)\n",
            fixed="import keras\nimport tensorflow as tf\n"
            "m = keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n"
            "m.compile('adam', lambda t, p: tf.reduce_mean(tf.square(t - p)))\n"
            "m.fit(x, y)\n",
        ),
        # Keras: a manual L2 over all weights plus model.losses of a regularized model
        Invalid(
            "import keras\nimport tensorflow as tf\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer=keras.regularizers.l2(0.01))])\n"
            "with tf.GradientTape() as tape:\n"
            "    l2 = tf.add_n([tf.nn.l2_loss(w) for w in model.trainable_weights])\n"
            "    loss = tf.reduce_mean(tf.square(model(x) - y)) + sum(model.losses) + 0.01 * l2\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n",
            fixed="import keras\nimport tensorflow as tf\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer=keras.regularizers.l2(0.01))])\n"
            "with tf.GradientTape() as tape:\n"
            "    l2 = tf.add_n([tf.nn.l2_loss(w) for w in model.trainable_weights])\n"
            "    loss = tf.reduce_mean(tf.square(model(x) - y)) + sum(model.losses)\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n",
            message="over all trainable variables",
        ),
        Invalid(
            TF1 + LAYER + "tf.losses.mean_squared_error(y, h)\n"
            "total_loss = tf.losses.get_total_loss()\n"
            "loss = total_loss + tf.losses.get_regularization_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            fixed=TF1 + LAYER + "tf.losses.mean_squared_error(y, h)\n"
            "total_loss = tf.losses.get_total_loss()\n"
            "loss = total_loss\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            message="line 5",
        ),
        Invalid(
            TF1 + LAYER + "tf.losses.mean_squared_error(y, h)\n"
            "loss = tf.losses.get_total_loss()\n"
            "reg = tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))\n"
            "loss += reg\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            fixed=TF1 + LAYER + "tf.losses.mean_squared_error(y, h)\n"
            "loss = tf.losses.get_total_loss()\n"
            "reg = tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
        ),
        # the collection twice (a string key), in an Estimator's model_fn
        Invalid(
            TF1 + "def model_fn(features, labels, mode):\n"
            "    h = tf.layers.dense(features, 1, kernel_regularizer=tf.keras.regularizers.l2(0.01))\n"
            "    reg = tf.get_collection('regularization_losses')\n"
            "    loss = tf.reduce_mean(tf.square(h - labels)) + tf.add_n(reg) + tf.losses.get_regularization_loss()\n"
            "    return tf.estimator.EstimatorSpec(mode, loss=loss)\n",
            fixed=TF1 + "def model_fn(features, labels, mode):\n"
            "    h = tf.layers.dense(features, 1, kernel_regularizer=tf.keras.regularizers.l2(0.01))\n"
            "    reg = tf.get_collection('regularization_losses')\n"
            "    loss = tf.reduce_mean(tf.square(h - labels)) + tf.add_n(reg)\n"
            "    return tf.estimator.EstimatorSpec(mode, loss=loss)\n",
        ),
        # differentiated with tf.gradients
        Invalid(
            TF1 + LAYER + "tf.losses.mean_squared_error(y, h)\n"
            "loss = tf.losses.get_total_loss() + tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))\n"
            "grads = tf.gradients(loss, tf.trainable_variables())\n",
            fixed=TF1 + LAYER + "tf.losses.mean_squared_error(y, h)\n"
            "loss = tf.losses.get_total_loss()\n"
            "grads = tf.gradients(loss, tf.trainable_variables())\n",
        ),
        # slim: the list reader, and a train op
        Invalid(
            "import tf_slim as slim\nimport tensorflow.compat.v1 as tf\n"
            "net = slim.fully_connected(x, 1, weights_regularizer=slim.l2_regularizer(0.01))\n"
            "slim.losses.mean_squared_error(net, y)\n"
            "total = slim.losses.get_total_loss()\n"
            "loss = total + tf.add_n(slim.losses.get_regularization_losses())\n"
            "train_op = slim.learning.create_train_op(loss, tf.train.AdamOptimizer())\n",
            fixed="import tf_slim as slim\nimport tensorflow.compat.v1 as tf\n"
            "net = slim.fully_connected(x, 1, weights_regularizer=slim.l2_regularizer(0.01))\n"
            "slim.losses.mean_squared_error(net, y)\n"
            "total = slim.losses.get_total_loss()\n"
            "loss = total\n"
            "train_op = slim.learning.create_train_op(loss, tf.train.AdamOptimizer())\n",
        ),
        # a manual L2 over everything plus get_total_loss of a declared regularizer (the bare
        # `regularizer=` of get_variable: the file has no `_regularizer`)
        Invalid(
            TF1 + "w = tf.get_variable('w', [3, 1], regularizer=tf.nn.l2_loss)\n"
            "tf.losses.mean_squared_error(y, tf.matmul(x, w))\n"
            "l2 = 0.01 * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])\n"
            "loss = tf.losses.get_total_loss() + l2\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            fixed=TF1 + "w = tf.get_variable('w', [3, 1], regularizer=tf.nn.l2_loss)\n"
            "tf.losses.mean_squared_error(y, tf.matmul(x, w))\n"
            "l2 = 0.01 * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])\n"
            "loss = tf.losses.get_total_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
        ),
        # the collection read twice
        Invalid(
            TF1 + LAYER + "reg = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "loss = tf.reduce_mean(tf.square(h - y)) + tf.add_n(reg)\n"
            "loss += tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            fixed=TF1 + LAYER + "reg = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "loss = tf.reduce_mean(tf.square(h - y)) + tf.add_n(reg)\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
        ),
        # a manual L2 over everything plus the declared regularizers
        Invalid(
            TF1 + LAYER + "base = tf.reduce_mean(tf.square(h - y))\n"
            "l2 = 0.01 * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])\n"
            "loss = base + l2 + tf.losses.get_regularization_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            fixed=TF1 + LAYER + "base = tf.reduce_mean(tf.square(h - y))\n"
            "l2 = 0.01 * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])\n"
            "loss = base + tf.losses.get_regularization_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
        ),
    ]

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self.declared = False
        # the compile/fit shape, judged from syntax alone at the end of the module
        self.functions: dict[str, list[cst.CSTNode]] = {}
        self.losses_reads: list[tuple[cst.CSTNode, str, cst.Attribute, PendingFix | None]] = []
        self.compiled: list[tuple[str, cst.BaseExpression]] = []
        self.trained: set[str] = set()
        self.applied: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        if self.resolve(node.func) in APPLY_REGULARIZATION:
            self.applied.append(node)
        if not self.declared and regularizer_keyword(node) is not None:
            name = self.resolve(node.func)
            self.declared = is_graph_declarer(name) or (name or "").startswith("keras.")
        if isinstance(node.func, cst.Attribute) and self.resolve(node.func) is None:
            receiver = dotted(node.func.value)
            method = node.func.attr.value
            if receiver is None:
                return
            if method == "compile":
                loss = _compile_loss(node)
                if loss is not None:
                    self.compiled.append((receiver, loss))
            elif method in FIT_METHODS:
                self.trained.add(receiver)

    def visit_FunctionDef(self, node: cst.CSTNode) -> None:
        super().visit_FunctionDef(node)
        if isinstance(node, cst.FunctionDef):
            self.functions.setdefault(node.name.value, []).append(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "losses":
            return
        owner = dotted(node.value)
        container = self.ctx.enclosing(cst.FunctionDef, cst.Lambda)
        if owner is None or container is None:
            return
        self.losses_reads.append((container, owner, node, self._drop_term(node)))

    def _drop_term(self, node: cst.Attribute) -> PendingFix | None:
        """Drop the operand of the nearest `+` whose operand holds this read and nothing else
        added (`data_loss + tf.add_n(model.losses)` -> `data_loss`)."""
        chain = self.ctx.ancestors
        for index in range(len(chain) - 2, -1, -1):
            parent = chain[index]
            if isinstance(parent, cst.BinaryOperation) and isinstance(parent.operator, cst.Add):
                child = chain[index + 1]
                if child is parent.right and _term(parent.right):
                    return self.make_fix(Replace(parent, self.ctx.code(parent.left)))
                if child is parent.left and _term(parent.left):
                    return self.make_fix(Replace(parent, self.ctx.code(parent.right)))
                return None
            if isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.SimpleStatementLine)):
                return None
        return None

    def leave_Module(self, original_node: cst.Module) -> None:
        super().leave_Module(original_node)
        for receiver, loss in self.compiled:
            if receiver not in self.trained:
                continue  # not trained by Keras here: a custom loop adds nothing itself
            if isinstance(loss, cst.Lambda):
                containers: list[cst.CSTNode] = [loss]
            elif isinstance(loss, cst.Name):
                containers = list(self.functions.get(loss.value, []))
            else:
                continue
            for container, owner, read, fix in self.losses_reads:
                if owner == receiver and any(container is c for c in containers):
                    if isinstance(container, cst.FunctionDef) and container.name.value in self.flow.called_names:
                        # also called by the code itself (a GradientTape loop): there the
                        # penalty is needed, so dropping it is not the fix
                        fix = None
                    self.report(
                        read,
                        f"the loss given to `{receiver}.compile` adds `{owner}.losses`, which `compile`/`fit` "
                        "already add to the optimized loss: the penalty counts twice",
                        fix=fix,
                    )

    def judge(self, flow: Flow) -> None:
        self._penalty_of_penalties(flow)
        reported: set[Source] = set()
        for sink in flow.sink_list():
            pair = self._duplicate(sink)
            if pair is None:
                continue
            kept, duplicate = pair
            if duplicate in reported:
                continue
            reported.add(duplicate)
            if duplicate in flow.regularized_l2:
                # the variables' own `regularizer=` already put this penalty in the collection
                self.report(
                    duplicate.node,
                    f"this penalty (line {flow.line(duplicate.node)}) is on variables created with a `regularizer=` "
                    f"of their own, whose penalty {DESCRIBE[kept.kind]} (line {flow.line(kept.node)}) already holds: "
                    f"the loss optimized at line {flow.line(sink.node)} counts it twice; drop one of them",
                )
                continue
            self.report(
                duplicate.node,
                f"{DESCRIBE[duplicate.kind]} (line {flow.line(duplicate.node)}) is added to a loss that already "
                f"has {DESCRIBE[kept.kind]} (line {flow.line(kept.node)}): the loss optimized at line "
                f"{flow.line(sink.node)} counts the penalty twice",
                fix=self._drop(flow, sink, duplicate),
            )

    def _penalty_of_penalties(self, flow: Flow) -> None:
        """`apply_regularization(reg, tf.get_collection(REGULARIZATION_LOSSES))`: the
        regularizer is applied to the penalties the layers' regularizers made, so the loss gets
        a penalty of the penalty (the squares of the squares), not the penalty."""
        for call in self.applied:
            weights = call_argument(call, 1, "weights_list")
            stmt = next((s for s in flow.stmts if contains(s.node, call)), None)
            if weights is None or stmt is None:
                continue
            read = [t for t in flow.eval_in(stmt, weights) if isinstance(t, Source) and t.kind == COLLECTION]
            if read:
                self.report(
                    weights,
                    f"`apply_regularization` is given the regularization losses (line {flow.line(read[0].node)}), "
                    "not weights: it penalizes the penalties the layers' regularizers already made; sum them "
                    "with `tf.add_n(...)`, or give it the kernels",
                )

    def _duplicate(self, sink: Sink) -> tuple[Source, Source] | None:
        pair = self._candidate(sink)
        if pair is None or pair[0].stmt.scope is not pair[1].stmt.scope:
            # terms of different functions may come from different calls of a shared helper
            # (the analysis merges call sites): only terms of one function are judged
            return None
        if not self.flow.combined(*pair):
            # the analysis merges the branches of a function: the terms must meet in one sum
            return None
        return pair

    def _candidate(self, sink: Sink) -> tuple[Source, Source] | None:
        by_line = sorted(sink.sources(PENALTIES), key=lambda s: s.stmt.order)
        totals = [s for s in by_line if s.kind == TOTAL_LOSS]
        regs = [s for s in by_line if s.kind in (COLLECTION, REG_LOSS)]
        manual = [s for s in by_line if s.kind == L2_ALL]
        if totals and regs:
            return totals[0], regs[0]
        if len(regs) >= 2:
            return regs[0], regs[1]
        if manual and (totals or regs) and self.declared:
            return (totals or regs)[0], manual[0]
        keras = sink.sources([KERAS_LOSSES])
        if manual and keras and sink.sources([KERAS_MODEL]):
            return keras[0], manual[0]
        # a penalty written by hand on variables whose own `regularizer=` fills the collection
        doubled = [s for s in by_line if s in self.flow.regularized_l2]
        if doubled and (totals or regs):
            start = self.ctx.positions().of
            first = min(doubled, key=lambda s: (start(s.node).start.line, start(s.node).start.column))
            return (totals or regs)[0], first
        return None

    def _keep(self, flow: Flow, addition: cst.BinaryOperation, kept: cst.BaseExpression) -> PendingFix:
        """Replace `kept + dup` by `kept`; a whole `x = x + dup` line goes (no `x = x` left)."""
        line = _self_assignment(flow, addition, kept)
        if line is not None:
            return self.make_fix(Remove(line))
        return self.make_fix(Replace(addition, flow.ctx.code(kept)))

    def _drop(self, flow: Flow, sink: Sink, duplicate: Source) -> PendingFix | None:
        """Drop the operand of a `+` that carries only the duplicate penalty."""
        for addition in flow.additions.values():
            left = {t for t in addition.left if isinstance(t, Source) and t.kind in PENALTIES}
            right = {t for t in addition.right if isinstance(t, Source) and t.kind in PENALTIES}
            # the dropped operand must be the term alone, not a sum that also carries the data loss
            if right == {duplicate} and _term(addition.node.right, duplicate.kind):
                return self._keep(flow, addition.node, addition.node.left)
            if left == {duplicate} and _term(addition.node.left, duplicate.kind):
                return self._keep(flow, addition.node, addition.node.right)
        for stmt in flow.stmts:
            node = stmt.node
            if isinstance(node, cst.AugAssign) and isinstance(node.operator, cst.AddAssign):
                value = {t for t in flow.eval_in(stmt, node.value) if isinstance(t, Source) and t.kind in PENALTIES}
                line = stmt.line
                if (
                    value == {duplicate}
                    and _term(node.value, duplicate.kind)
                    and isinstance(line, cst.SimpleStatementLine)
                    and len(line.body) == 1
                ):
                    return self.make_fix(Remove(line))
        return None


FIT_METHODS = frozenset({"fit", "train_on_batch", "fit_generator"})


def _self_assignment(flow: Flow, addition: cst.BinaryOperation, kept: cst.BaseExpression) -> cst.CSTNode | None:
    """The line of `x = x + dup` (the addition is the whole value of a statement alone on its
    line, assigned to the name kept): dropping the term would leave the no-op `x = x`."""
    if not isinstance(kept, cst.Name):
        return None
    for stmt in flow.stmts:
        node = stmt.node
        if (
            isinstance(node, cst.Assign)
            and node.value is addition
            and len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
            and node.targets[0].target.value == kept.value
            and isinstance(stmt.line, cst.SimpleStatementLine)
            and len(stmt.line.body) == 1
        ):
            return stmt.line
    return None


def _compile_loss(call: cst.Call) -> cst.BaseExpression | None:
    """The `loss` of `model.compile(optimizer, loss, ...)`, by keyword or position."""
    for index, arg in enumerate(call.args):
        if arg.keyword is not None:
            if arg.keyword.value == "loss":
                return arg.value
        elif index == 1 and not arg.star:
            return arg.value
    return None


def _term(node: cst.BaseExpression, kind: str | None = None) -> bool:
    """An operand that is the duplicate alone (`reg`, `tf.add_n(model.losses)`,
    `get_regularization_loss()`), or a hand-written L2 with its own coefficient (`0.01 * l2`:
    the coefficient is part of that penalty), not an expression mixing it with anything else
    (`get_regularization_loss() * 2` weighs penalties already scaled by their regularizers:
    a choice; `data + reg`): those have no fix."""
    if isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
        return True
    return (
        kind in (L2, L2_ALL)
        and isinstance(node, cst.BinaryOperation)
        and isinstance(node.operator, (cst.Multiply, cst.Divide))
        and all(_term(side) or isinstance(side, (cst.Integer, cst.Float)) for side in (node.left, node.right))
    )
