from __future__ import annotations

import libcst as cst

from reglint.dataflow import Flow, FlowRule
from reglint.flowfix import is_graph_declarer, moved_statement, regularizer_keyword, statement_text
from reglint.model import Safety
from reglint.rule import Insert, Invalid, PendingFix, Remove, Valid
from reglint.values import GRAPH_FAMILY, GRAPH_READ_TOKENS, SINK_TOKENS, Source

TF1 = "import tensorflow.compat.v1 as tf\n"
BUILD = (
    "def build(x):\n"
    "    w = tf.get_variable('w', [3, 1], regularizer=tf.keras.regularizers.l2(0.01))\n"
    "    return tf.matmul(x, w)\n"
)


class CollectionReadTooEarly(FlowRule):
    """
    ## What it does
    Flags `get_collection(REGULARIZATION_LOSSES)`, `get_regularization_loss()` and
    `get_total_loss()` read before the code that creates the regularized variables, in the
    same graph-building flow: the read is a statement of the same block as a later statement
    that attaches a regularizer (directly, or by calling a function of the module that does),
    and what was read goes into the optimized loss. A graph reset between the two
    (`tf.reset_default_graph()`, or a function of the file that calls it) or a
    `with tf.Graph().as_default():` block around the read starts a new flow: the variables
    created after it belong to another graph.

    ## Why is this bad?
    `get_collection` returns what the collection holds *when it is called*. Read before the
    model is built, it is `[]` (and `get_regularization_loss()` is a constant 0): the loss is
    trained without regularization and nothing fails.

    ## Example
    ```python
    import tensorflow.compat.v1 as tf

    reg_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    logits = tf.layers.dense(x, 10, kernel_regularizer=tf.keras.regularizers.l2(1e-4))
    loss = tf.add_n([data_loss(logits)] + reg_losses)
    train_op = optimizer.minimize(loss)
    ```

    Use instead:
    ```python
    import tensorflow.compat.v1 as tf

    logits = tf.layers.dense(x, 10, kernel_regularizer=tf.keras.regularizers.l2(1e-4))
    reg_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    loss = tf.add_n([data_loss(logits)] + reg_losses)
    train_op = optimizer.minimize(loss)
    ```

    ## Fix safety
    Unsafe: the loss starts to include the penalty. The fix moves the read to just after the
    last statement of the block that builds regularized variables; it is offered when the
    read is a plain `name = ...` line and the name is not used before that statement.

    ## References
    - [tf.compat.v1.get_collection](https://www.tensorflow.org/api_docs/python/tf/compat/v1/get_collection)
    """

    code = "REG009"
    name = "collection-read-too-early"
    # A finding needs a read of the collection, get_regularization_loss() or get_total_loss()
    # (GRAPH_READ_TOKENS) that reaches a place the loss is optimized (SINK_TOKENS, a dataflow Sink),
    # AND a call that attaches a regularizer to the variables it creates: its `regularizer=`
    # or `*_regularizer=` keyword is in the file.
    TOKENS = tuple((read, b"regularizer", *sink) for read in GRAPH_READ_TOKENS for sink in SINK_TOKENS)
    fix_safety = Safety.UNSAFE

    VALID = [
        Valid(
            TF1 + BUILD + "logits = build(x)\n"
            "reg = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "loss = tf.add_n([tf.reduce_mean(tf.square(logits - y))] + reg)\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        # read early but unused for training (REG001's business, not this rule's)
        Valid(
            TF1 + "reg = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "w = tf.get_variable('w', [3, 1], regularizer=tf.keras.regularizers.l2(0.01))\n"
            "loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        # a later model, in a function the read's block never calls
        Valid(
            TF1 + "def other():\n"
            "    return tf.get_variable('v', [1], regularizer=tf.keras.regularizers.l2(0.1))\n"
            "w = tf.get_variable('w', [3, 1], regularizer=tf.keras.regularizers.l2(0.01))\n"
            "reg = tf.losses.get_regularization_loss()\n"
            "loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y)) + reg\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        # a script (or notebook) that resets the graph starts a new flow: the read belongs to
        # the first model, the regularized variables to the next
        Valid(
            TF1 + BUILD + "def reset():\n    tf.reset_default_graph()\n"
            "reg = tf.losses.get_regularization_loss()\n"
            "loss = tf.reduce_mean(tf.square(x - y)) + reg\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
            "reset()\n"
            "logits = build(x)\n"
        ),
        Valid(
            TF1 + BUILD + "with tf.Graph().as_default():\n"
            "    reg = tf.losses.get_regularization_loss()\n"
            "    loss = tf.reduce_mean(tf.square(x - y)) + reg\n"
            "    train_op = tf.train.AdamOptimizer().minimize(loss)\n"
            "with tf.Graph().as_default():\n"
            "    logits = build(x)\n"
        ),
    ]
    INVALID = [
        Invalid(
            TF1 + BUILD + "reg = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "logits = build(x)\n"
            "loss = tf.add_n([tf.reduce_mean(tf.square(logits - y))] + reg)\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            fixed=TF1 + BUILD + "logits = build(x)\n"
            "reg = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "loss = tf.add_n([tf.reduce_mean(tf.square(logits - y))] + reg)\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            message="line 6",
        ),
        # get_total_loss, differentiated with tf.gradients
        Invalid(
            TF1 + BUILD + "total = tf.losses.get_total_loss()\n"
            "logits = build(x)\n"
            "grads = tf.gradients(total, tf.trainable_variables())\n",
            fixed=TF1 + BUILD + "logits = build(x)\n"
            "total = tf.losses.get_total_loss()\n"
            "grads = tf.gradients(total, tf.trainable_variables())\n",
        ),
        # slim: a string key, and a train op
        Invalid(
            "import tf_slim as slim\nimport tensorflow.compat.v1 as tf\n"
            "reg = tf.get_collection('regularization_losses')\n"
            "net = slim.fully_connected(x, 1, weights_regularizer=slim.l2_regularizer(0.01))\n"
            "loss = tf.reduce_mean(tf.square(net - y)) + tf.add_n(reg)\n"
            "train_op = slim.learning.create_train_op(loss, tf.train.AdamOptimizer())\n",
            fixed="import tf_slim as slim\nimport tensorflow.compat.v1 as tf\n"
            "net = slim.fully_connected(x, 1, weights_regularizer=slim.l2_regularizer(0.01))\n"
            "reg = tf.get_collection('regularization_losses')\n"
            "loss = tf.reduce_mean(tf.square(net - y)) + tf.add_n(reg)\n"
            "train_op = slim.learning.create_train_op(loss, tf.train.AdamOptimizer())\n",
        ),
        # inside a method, with the layers created directly; the name is used early: no fix
        Invalid(
            TF1 + "class Net:\n"
            "    def build(self, x):\n"
            "        self.reg = tf.losses.get_regularization_loss()\n"
            "        h = tf.layers.dense(x, 4, kernel_regularizer=tf.keras.regularizers.l2(0.1))\n"
            "        self.loss = tf.reduce_mean(h) + self.reg\n"
            "        self.op = tf.train.AdamOptimizer().minimize(self.loss)\n",
        ),
    ]

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        # calls that attach a regularizer, or call a function of this module: with the
        # statements (innermost last) that contain them
        self.declaring: list[tuple[cst.Call, tuple[cst.CSTNode, ...]]] = []
        self.calls: list[tuple[str, tuple[cst.CSTNode, ...], cst.FunctionDef | None]] = []
        self.declaring_functions: set[cst.FunctionDef] = set()
        # calls that start a new default graph (`tf.reset_default_graph()`), the same way
        self.resetting: list[tuple[cst.Call, tuple[cst.CSTNode, ...]]] = []
        self.resetting_functions: set[cst.FunctionDef] = set()

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        lines = tuple(line for _, line in self.flow.chain)
        function = self.ctx.enclosing(cst.FunctionDef)
        name = self.resolve(node.func)
        if is_graph_declarer(name) and regularizer_keyword(node) is not None:
            self.declaring.append((node, lines))
            if isinstance(function, cst.FunctionDef):
                self.declaring_functions.add(function)
            return
        if name == GRAPH_RESET:
            self.resetting.append((node, lines))
            if isinstance(function, cst.FunctionDef):
                self.resetting_functions.add(function)
            return
        func = node.func
        if isinstance(func, cst.Name):
            self.calls.append((func.value, lines, function))  # type: ignore[arg-type]
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
            self.calls.append((func.attr.value, lines, function))  # type: ignore[arg-type]

    def judge(self, flow: Flow) -> None:
        declaring_lines = self._lines_calling(self.declaring, self.declaring_functions)
        if not declaring_lines:
            return
        self.resetting_lines = self._lines_calling(self.resetting, self.resetting_functions)
        reads = [s for s in flow.source_list(GRAPH_FAMILY) if flow.reached(s)]
        for read in reads:
            found = self._later_declaration(read, declaring_lines)
            if found is None:
                continue
            block_body, index, last = found
            sinks = flow.reached(read)
            if any(
                other is not read and flow.line(other.node) > flow.line(last) and set(flow.reached(other)) & set(sinks)
                for other in reads
            ):
                continue  # read again after the model: this early read is not the one trained on
            self.report(
                read.node,
                f"regularization read at line {flow.line(read.node)} before the regularized variables are created "
                f"(line {flow.line(last)}): it is empty here, so the loss optimized at line "
                f"{flow.line(sinks[0].node)} gets no regularization; read it after the model is built",
                fix=self._move_after(flow, read, block_body, index, last),
            )

    def _lines_calling(
        self, direct: list[tuple[cst.Call, tuple[cst.CSTNode, ...]]], functions: set[cst.FunctionDef]
    ) -> set[cst.CSTNode]:
        """The statements that make `direct` calls, or call a function of this module that
        does (transitively)."""
        by_name: dict[str, set[cst.FunctionDef]] = {}
        for function in self._functions():
            by_name.setdefault(function.name.value, set()).add(function)
        declaring = set(functions)
        changed = True
        while changed:
            changed = False
            for name, _, caller in self.calls:
                if caller is not None and caller not in declaring and by_name.get(name, set()) & declaring:
                    declaring.add(caller)
                    changed = True
        lines: set[cst.CSTNode] = set()
        for _, chain in direct:
            lines.update(chain)
        for name, chain, _ in self.calls:
            if by_name.get(name, set()) & declaring:
                lines.update(chain)
        return lines

    def _functions(self) -> list[cst.FunctionDef]:
        return [s.node for s in self.flow.scopes_all() if isinstance(s.node, cst.FunctionDef)]

    def _later_declaration(
        self, read: Source, declaring_lines: set[cst.CSTNode]
    ) -> tuple[list[cst.CSTNode], int, cst.CSTNode] | None:
        """The read's block, the index of the read's statement in it, and the last later
        statement of that block that declares regularized variables."""
        for block, line in reversed(read.stmt.chain):
            body = _body(block)
            if body is None:
                return None
            index = next((i for i, stmt in enumerate(body) if stmt is line), None)
            if index is None:
                return None
            if isinstance(line, (cst.FunctionDef, cst.ClassDef)):
                return None  # the function runs when called, not here
            if isinstance(line, cst.With) and any(_is_graph_scope(item.item) for item in line.items):
                return None  # `with tf.Graph().as_default():` the read's graph ends with the block
            if line is not read.stmt.line and line in declaring_lines:
                return None  # the read and the model share a statement: order inside it unknown
            later = []
            for stmt in body[index + 1 :]:
                if stmt in self.resetting_lines:
                    break  # a new graph: what is built after it is another model
                if stmt in declaring_lines:
                    later.append(stmt)
            if later:
                return body, index, later[-1]
        return None

    def _move_after(
        self, flow: Flow, read: Source, body: list[cst.CSTNode], index: int, last: cst.CSTNode
    ) -> PendingFix | None:
        name = moved_statement(flow, read.stmt)
        if name is None or body[index] is not read.stmt.line:
            return None
        end = body.index(last)
        between = set(body[index + 1 : end + 1])
        for _, stmt in flow.names_used(name, read.stmt.scope):
            if any(line in between for _, line in stmt.chain):
                return None
        for stmt in flow.stmts:
            if (
                stmt is not read.stmt
                and any(line in between for _, line in stmt.chain)
                and name in _assigned_names(stmt.node)
            ):
                return None
        return self.make_fix(
            Remove(read.stmt.line),
            Insert(last, statement_text(flow.ctx.module, read.stmt.line), after=True, own_line=True),
        )


GRAPH_RESET = "tensorflow.reset_default_graph"


def _is_graph_scope(expr: cst.BaseExpression) -> bool:
    """`tf.Graph().as_default()`, `graph.as_default()`: a block that builds its own graph."""
    return isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "as_default"


def _body(block: cst.CSTNode) -> list[cst.CSTNode] | None:
    if isinstance(block, (cst.Module, cst.IndentedBlock)):
        return list(block.body)
    return None


def _assigned_names(node: cst.CSTNode) -> set[str]:
    if isinstance(node, cst.Assign):
        return {n.value for t in node.targets for n in _target_names(t.target)}
    if isinstance(node, (cst.AugAssign, cst.AnnAssign)):
        return {n.value for n in _target_names(node.target)}
    return set()


def _target_names(node: cst.BaseExpression) -> list[cst.Name]:
    if isinstance(node, cst.Name):
        return [node]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for e in node.elements for n in _target_names(e.value)]
    return []
