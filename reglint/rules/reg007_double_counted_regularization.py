from __future__ import annotations

import libcst as cst

from reglint.dataflow import (
    COLLECTION,
    KERAS_LOSSES,
    KERAS_MODEL,
    L2_ALL,
    PENALTIES,
    REG_LOSS,
    TOTAL_LOSS,
    Flow,
    FlowRule,
    Sink,
    Source,
    is_graph_declarer,
    regularizer_keyword,
)
from reglint.model import Safety
from reglint.rule import Invalid, PendingFix, Remove, Replace, Valid

TF1 = "import tensorflow.compat.v1 as tf\n"
LAYER = "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.01))\n"

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
    regularizers (or plus `model.losses` of a model built with regularizers).

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

    ## References
    - [tf.compat.v1.losses.get_total_loss](https://www.tensorflow.org/api_docs/python/tf/compat/v1/losses/get_total_loss)
    """

    code = "REG007"
    name = "double-counted-regularization"
    TOKENS = (
        b"get_total_loss",
        b"REGULARIZATION_LOSSES",
        b"regularization_losses",
        b"get_regularization_loss",
        b".losses",
    )
    fix_safety = Safety.UNSAFE

    VALID = [
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

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        if not self.declared and regularizer_keyword(node) is not None:
            name = self.resolve(node.func)
            self.declared = is_graph_declarer(name) or (name or "").startswith("keras.")

    def judge(self, flow: Flow) -> None:
        reported: set[Source] = set()
        for sink in flow.sink_list():
            pair = self._duplicate(sink)
            if pair is None:
                continue
            kept, duplicate = pair
            if duplicate in reported:
                continue
            reported.add(duplicate)
            self.report(
                duplicate.node,
                f"{DESCRIBE[duplicate.kind]} (line {flow.line(duplicate.node)}) is added to a loss that already "
                f"has {DESCRIBE[kept.kind]} (line {flow.line(kept.node)}): the loss optimized at line "
                f"{flow.line(sink.node)} counts the penalty twice",
                fix=self._drop(flow, sink, duplicate),
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
        return None

    def _drop(self, flow: Flow, sink: Sink, duplicate: Source) -> PendingFix | None:
        """Drop the operand of a `+` that carries only the duplicate penalty."""
        for addition in flow.additions.values():
            left = {t for t in addition.left if isinstance(t, Source) and t.kind in PENALTIES}
            right = {t for t in addition.right if isinstance(t, Source) and t.kind in PENALTIES}
            # the dropped operand must be the term alone, not a sum that also carries the data loss
            if right == {duplicate} and _term(addition.node.right):
                return self.make_fix(Replace(addition.node, flow.ctx.code(addition.node.left)))
            if left == {duplicate} and _term(addition.node.left):
                return self.make_fix(Replace(addition.node, flow.ctx.code(addition.node.right)))
        for stmt in flow.stmts:
            node = stmt.node
            if isinstance(node, cst.AugAssign) and isinstance(node.operator, cst.AddAssign):
                value = {t for t in flow.eval_in(stmt, node.value) if isinstance(t, Source) and t.kind in PENALTIES}
                line = stmt.line
                if value == {duplicate} and isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
                    return self.make_fix(Remove(line))
        return None


def _term(node: cst.BaseExpression) -> bool:
    return not (isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)))
