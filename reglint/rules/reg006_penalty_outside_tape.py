from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from reglint.dataflow import Flow, FlowRule
from reglint.flowfix import assignments_of, moved_statement, statement_text
from reglint.model import Safety
from reglint.names import statement_targets, target_names
from reglint.rule import Insert, Invalid, PendingFix, Remove, Valid, Word
from reglint.values import KERAS_LOSSES, KERAS_LOSSES_TOKEN, L2, L2_ALL, L2_TOKENS, Sink, Source, Stmt

PENALTY_KINDS = (KERAS_LOSSES, L2, L2_ALL)

HEAD = "import keras\nimport tensorflow as tf\n"
# a model without regularizers, and a tape whose loss gets a penalty computed before it
PLAIN = "import tensorflow as tf\nw = tf.Variable(tf.ones([3, 1]))\n"
XENT = "tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(y, tf.matmul(x, w)))"


def _outside(penalty: str) -> str:
    return (
        PLAIN + f"penalty = {penalty}\n"
        "with tf.GradientTape() as tape:\n"
        f"    loss = {XENT} + penalty\n"
        "grads = tape.gradient(loss, [w])\n"
    )


def _inside(penalty: str) -> str:
    return (
        PLAIN + "with tf.GradientTape() as tape:\n"
        f"    penalty = {penalty}\n"
        f"    loss = {XENT} + penalty\n"
        "grads = tape.gradient(loss, [w])\n"
    )


# What every finding needs (reglint/dataflow.py): a `tape.gradient(...)` call on a tape opened
# by `with tf.GradientTape()`, AND a penalty Source of this file: `x.losses` or an L2.
_PENALTY_TOKENS: tuple[tuple[bytes, ...], ...] = ((KERAS_LOSSES_TOKEN,), *L2_TOKENS)
MODEL = "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer=keras.regularizers.l2(0.01))])\n"


class PenaltyOutsideTape(FlowRule):
    """
    ## What it does
    Flags a regularization penalty (`model.losses`, `tf.add_n(model.losses)`, an L2 sum over
    weights) computed before or outside the `tf.GradientTape` block whose `tape.gradient`
    receives the loss it is added to.

    ## Why is this bad?
    A tape only records what runs inside it. A penalty computed before the tape opens enters
    the loss as a constant: the loss value includes it, but its gradient is zero, so the
    weights are never pulled towards zero. Keras 3 computes `model.losses` when it is read,
    so reading it before the tape has the same effect (measured: the gradient is identical
    to the gradient without regularization).

    ## Example
    ```python
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer="l2")])
    reg = tf.add_n(model.losses)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x)) + reg
    grads = tape.gradient(loss, model.trainable_variables)
    ```

    Use instead:
    ```python
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer="l2")])
    with tf.GradientTape() as tape:
        reg = tf.add_n(model.losses)
        loss = loss_fn(y, model(x)) + reg
    grads = tape.gradient(loss, model.trainable_variables)
    ```

    ## Fix safety
    Unsafe: the penalty starts to train the weights. The fix moves the statement computing
    the penalty to the top of the tape's block; it is offered only when that statement is a
    plain `name = ...` line before the tape, in the same function, and the name is assigned
    nowhere else and read only inside the tape. Otherwise the finding has no fix.

    ## References
    - [tf.GradientTape](https://www.tensorflow.org/api_docs/python/tf/GradientTape)
    - [Writing a training loop from scratch](https://keras.io/guides/writing_a_custom_training_loop_in_tensorflow/)
    """

    code = "REG006"
    name = "penalty-outside-tape"
    TOKENS = tuple((b"GradientTape", Word(b"gradient"), *penalty) for penalty in _PENALTY_TOKENS)
    fix_safety = Safety.UNSAFE

    VALID = [
        # the penalty computed inside the tape
        Valid(
            HEAD + MODEL + "with tf.GradientTape() as tape:\n"
            "    reg = tf.add_n(model.losses)\n"
            "    loss = tf.reduce_mean(tf.square(model(x) - y)) + reg\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n"
        ),
        # an L2 computed outside for logging only
        Valid(
            HEAD + MODEL + "print(sum(tf.reduce_sum(tf.square(w)) for w in model.trainable_weights))\n"
            "with tf.GradientTape() as tape:\n"
            "    loss = tf.reduce_mean(tf.square(model(x) - y)) + sum(model.losses)\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n"
        ),
        # the penalty computed in a helper called inside the tape
        Valid(
            HEAD + MODEL + "def penalty():\n"
            "    return tf.add_n(model.losses)\n"
            "with tf.GradientTape() as tape:\n"
            "    loss = tf.reduce_mean(tf.square(model(x) - y)) + penalty()\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n"
        ),
        # read outside for logging, computed again inside
        Valid(
            HEAD + MODEL + "reg = tf.add_n(model.losses)\n"
            "print(reg)\n"
            "with tf.GradientTape() as tape:\n"
            "    reg = tf.add_n(model.losses)\n"
            "    loss = tf.reduce_mean(tf.square(model(x) - y)) + reg\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n"
        ),
    ]
    INVALID = [
        # the penalty is the only statement of its block: the block keeps a `pass`
        Invalid(
            "import keras\nimport tensorflow as tf\n\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n"
            "if regularize:\n"
            "    reg = tf.add_n(model.losses)\n"
            "with tf.GradientTape() as tape:\n"
            "    loss = tf.reduce_mean(tf.square(model(x) - y)) + reg\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n",
            fixed="import keras\nimport tensorflow as tf\n\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n"
            "if regularize:\n"
            "    pass\n"
            "with tf.GradientTape() as tape:\n"
            "    reg = tf.add_n(model.losses)\n"
            "    loss = tf.reduce_mean(tf.square(model(x) - y)) + reg\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n",
        ),
        Invalid(
            HEAD + MODEL + "reg = tf.add_n(model.losses)\n"
            "for step in range(3):\n"
            "    with tf.GradientTape() as tape:\n"
            "        loss = tf.reduce_mean(tf.square(model(x) - y)) + reg\n"
            "    grads = tape.gradient(loss, model.trainable_variables)\n",
            fixed=HEAD + MODEL + "for step in range(3):\n"
            "    with tf.GradientTape() as tape:\n"
            "        reg = tf.add_n(model.losses)\n"
            "        loss = tf.reduce_mean(tf.square(model(x) - y)) + reg\n"
            "    grads = tape.gradient(loss, model.trainable_variables)\n",
            message="GradientTape opened at line 6",
        ),
        # an explicit L2 over the weights, read again after the tape: no fix
        Invalid(
            HEAD + MODEL + "l2 = 0.01 * tf.add_n([tf.nn.l2_loss(w) for w in model.trainable_weights])\n"
            "with tf.GradientTape() as tape:\n"
            "    loss = tf.reduce_mean(tf.square(model(x) - y)) + l2\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n"
            "print(l2)\n",
        ),
        # one example per kind of penalty, each file holding no other penalty word
        Invalid(
            "import tensorflow as tf\nfrom models import build\nmodel = build()\n"
            "reg = tf.add_n(model.losses)\n"
            "with tf.GradientTape() as tape:\n"
            "    loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(y, model(x))) + reg\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n",
        ),
        Invalid(_outside("0.01 * tf.norm(w)"), fixed=_inside("0.01 * tf.norm(w)")),
        Invalid(_outside("0.01 * tf.reduce_sum(w ** 2)")),
        Invalid(_outside("0.01 * tf.reduce_sum(tf.abs(w))")),
        Invalid(_outside("0.01 * tf.reduce_sum(tf.square(w))")),
        Invalid(_outside("tf.keras.regularizers.l2(0.01)(w)")),
        # the tape class imported under another name
        Invalid(
            "from tensorflow import GradientTape as Recorder\nfrom tensorflow.nn import l2_loss\n"
            "import tensorflow as tf\nw = tf.Variable(tf.ones([3, 1]))\npenalty = l2_loss(w)\n"
            "with Recorder() as tape:\n"
            f"    loss = {XENT} + penalty\n"
            "grads = tape.gradient(loss, [w])\n"
        ),
    ]

    def judge(self, flow: Flow) -> None:
        for sink in flow.sink_list():
            if sink.kind != "tape" or sink.tape is None:
                continue
            penalties = sink.sources(PENALTY_KINDS)
            inside = {p.kind for p in penalties if sink.tape in p.stmt.tapes}
            for penalty in sorted(penalties, key=lambda p: p.stmt.order):
                if sink.tape in penalty.stmt.tapes or penalty.stmt.scope is not sink.stmt.scope:
                    continue  # inside the tape, or in another function (called from who knows where)
                if penalty.kind in inside or (penalty.kind in (L2, L2_ALL) and inside & {L2, L2_ALL}):
                    continue  # computed again inside: the outside one is for display
                self.report(
                    penalty.node,
                    f"penalty computed at line {flow.line(penalty.node)} outside the GradientTape opened at line "
                    f"{flow.line(sink.tape)}: the loss differentiated at line {flow.line(sink.node)} gets it as a "
                    "constant, with no gradient; compute it inside the tape",
                    fix=self._move_into_tape(flow, penalty, sink),
                )

    def _move_into_tape(self, flow: Flow, penalty: Source, sink: Sink) -> PendingFix | None:
        tape = sink.tape
        assert tape is not None
        name = moved_statement(flow, penalty.stmt)
        if name is None or not isinstance(tape.body, cst.IndentedBlock) or not tape.body.body:
            return None
        if flow.line(penalty.stmt.line) >= flow.line(tape):
            return None
        scope = penalty.stmt.scope
        if len(assignments_of(flow, name, scope)) != 1:
            return None
        if any(tape not in stmt.tapes for _, stmt in flow.names_used(name, scope)):
            return None
        if _rebound_before(flow, penalty.stmt, tape):
            return None  # moved past `model = ...`, it would read another value
        first = tape.body.body[0]
        return self.make_fix(
            Remove(penalty.stmt.line),
            Insert(first, statement_text(flow.ctx.module, penalty.stmt.line), after=False, own_line=True),
        )


def _rebound_before(flow: Flow, stmt: Stmt, tape: cst.With) -> bool:
    """Whether a statement between `stmt` and the tape binds a name `stmt` reads."""
    read = {node.value for node in _names(stmt.node) if not _is_target(stmt.node, node)}
    tape_line = flow.line(tape)
    for other in flow.stmts:
        if other.scope is not stmt.scope or other.order <= stmt.order or other is stmt:
            continue
        if flow.line(other.line) >= tape_line:
            continue
        if _bound(other.node) & read:
            return True
    return False


def _names(node: cst.CSTNode) -> Iterator[cst.Name]:
    if isinstance(node, cst.Name):
        yield node
    for child in node.children:
        yield from _names(child)


def _is_target(stmt: cst.CSTNode, name: cst.Name) -> bool:
    targets = [t.target for t in stmt.targets] if isinstance(stmt, cst.Assign) else []
    return any(name is found for target in targets for found in _names(target))


def _bound(node: cst.CSTNode) -> set[str]:
    """The names a statement binds (assignments, loop and `with` targets, imports)."""
    targets: list[cst.BaseExpression] = statement_targets(node)
    if isinstance(node, (cst.Import, cst.ImportFrom)) and not isinstance(node.names, cst.ImportStar):
        targets = [a.asname.name if a.asname is not None else a.name for a in node.names]
    return {name for target in targets for name in target_names(target)}
