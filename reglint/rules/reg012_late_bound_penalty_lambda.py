from __future__ import annotations

import libcst as cst

from reglint.rule import Invalid, Replace, Rule, Safety, Valid
from reglint.tfnames import ADD_LOSS_METHOD, is_keras_name

NO_SPACE = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


class _LoadedNames(cst.CSTVisitor):
    """Names an expression reads, in order, leaving out names it binds itself (lambda
    parameters, comprehension targets), attribute names and keyword names."""

    def __init__(self, bound: frozenset[str]) -> None:
        self.bound = bound
        self.names: list[cst.Name] = []

    def _nested(self, node: cst.CSTNode, bound: set[str]) -> bool:
        inner = _LoadedNames(self.bound | bound)
        for child in node.children:
            child.visit(inner)
        self.names.extend(inner.names)
        return False

    def visit_Name(self, node: cst.Name) -> bool:
        if node.value not in self.bound:
            self.names.append(node)
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return self._nested(node.body, set(_param_names(node.params)))

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        return self._nested(node, set(_comprehension_targets(node.for_in)))

    def visit_SetComp(self, node: cst.SetComp) -> bool:
        return self._nested(node, set(_comprehension_targets(node.for_in)))

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return self._nested(node, set(_comprehension_targets(node.for_in)))

    def visit_DictComp(self, node: cst.DictComp) -> bool:
        return self._nested(node, set(_comprehension_targets(node.for_in)))


def _param_names(params: cst.Parameters) -> list[str]:
    names = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.append(star.name.value)
    return names


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _target_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


def _comprehension_targets(for_in: cst.CompFor | None) -> list[str]:
    names: list[str] = []
    while for_in is not None:
        names.extend(_target_names(for_in.target))
        for_in = for_in.inner_for_in
    return names


def _assigned_before(block: cst.BaseSuite, statement: cst.CSTNode) -> list[str]:
    """Names plainly assigned in a loop body before `statement` (rebound every iteration)."""
    if not isinstance(block, cst.IndentedBlock):
        return []
    names: list[str] = []
    for stmt in block.body:
        if stmt is statement:
            break
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    names.extend(_target_names(target.target))
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                names.extend(_target_names(small.target))
    return names


def _bind_defaults(lam: cst.Lambda, names: list[str]) -> cst.Lambda | None:
    """The lambda with `name=name` parameters added, or None when its parameters are not all
    plain defaulted ones (the fix would then change how it can be called)."""
    params = lam.params
    if params.posonly_params or params.kwonly_params or isinstance(params.star_arg, (cst.Param, cst.ParamStar)):
        return None
    if isinstance(params.star_kwarg, cst.Param) or any(p.default is None for p in params.params):
        return None
    existing = list(params.params)
    if existing:
        existing[-1] = existing[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    added = [
        cst.Param(
            cst.Name(name),
            default=cst.Name(name),
            equal=NO_SPACE,
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            if index < len(names) - 1
            else cst.MaybeSentinel.DEFAULT,
        )
        for index, name in enumerate(names)
    ]
    return lam.with_changes(
        params=params.with_changes(params=[*existing, *added]),
        whitespace_after_lambda=cst.SimpleWhitespace(" "),
    )


class LateBoundPenaltyLambda(Rule):
    """
    ## What it does
    Flags a penalty lambda given to `add_loss` in a loop that reads the loop variable, which
    Python binds late. That is `model.add_loss(lambda: ...)` (or `layer.add_loss(...)`) called
    in a `for` loop, a comprehension or a `while` loop, where the lambda reads the loop variable
    or a name the loop body assigns before the call.

    ## Why is this bad?
    Keras calls the lambda later, every time it collects `model.losses`, and Python looks the
    loop variable up at that moment, not when the lambda was made. By then the loop is over, so
    every lambda computes the penalty of the *last* layer: the last kernel is penalized once per
    layer and every other kernel not at all. No error, no warning; training runs with the wrong
    regularization. This loop is the usual workaround for setting regularizers on a built model
    (see REG008), and TensorFlow issues 38891 and 42880 report exactly this. When the last layer
    has no kernel (an `Activation` closing a MobileNet), the same bug surfaces instead as
    `AttributeError: 'Activation' object has no attribute 'kernel'` inside `fit` (TensorFlow
    issue 37511, Keras issue 16316).

    A function defined in the loop body and passed by name (`def penalty(): ...` then
    `model.add_loss(penalty)`) has the same problem; it is reported too, without a fix. A
    lambda named first (`penalty = lambda: ...` then `model.add_loss(penalty)`) is reported and
    fixed as one given directly.

    ## Example
    ```python
    import tensorflow as tf

    for layer in model.layers:
        if hasattr(layer, "kernel"):
            model.add_loss(lambda: tf.keras.regularizers.l2(1e-4)(layer.kernel))
    ```

    Use instead:
    ```python
    import tensorflow as tf

    for layer in model.layers:
        if hasattr(layer, "kernel"):
            model.add_loss(lambda layer=layer: tf.keras.regularizers.l2(1e-4)(layer.kernel))
    ```

    ## Fix safety
    Unsafe: binding each layer as a default argument penalizes every layer as written,
    instead of the last layer many times over, which changes what is trained. The fix is
    offered only when the lambda takes no parameters without defaults.

    Callables in `add_loss` are a tf.keras (Keras 2) feature: with Keras 3 `add_loss` accepts
    only tensors, so there a callable raises at once (`ValueError` on a layer,
    `NotImplementedError` on a functional model) and the penalty has to be added to the
    training loss instead (tested on TensorFlow 2.21 with keras 3.15 and tf-keras 2.21).

    ## References
    - [tf.keras.layers.Layer.add_loss](https://www.tensorflow.org/api_docs/python/tf/keras/layers/Layer#add_loss)
    - [TensorFlow issue 38891](https://github.com/tensorflow/tensorflow/issues/38891)
    - [TensorFlow issue 42880](https://github.com/tensorflow/tensorflow/issues/42880)
    - [TensorFlow issue 37511](https://github.com/tensorflow/tensorflow/issues/37511)
    - [Keras issue 16316](https://github.com/keras-team/keras/issues/16316)
    - [Python FAQ: lambdas defined in a loop all return the same result](https://docs.python.org/3/faq/programming.html#why-do-lambdas-defined-in-a-loop-with-different-values-all-return-the-same-result)
    """

    code = "REG012"
    name = "late-bound-penalty-lambda"
    # A finding is a `.add_loss(...)` call (the attribute spelled whole) given a `lambda`, or
    # the name of a function (`def`) made in the loop body, inside a loop: `for` (statements
    # and comprehensions, async or not) or `while`.
    TOKENS = tuple(
        (ADD_LOSS_METHOD.encode(), penalty, loop) for penalty in (b"lambda", b"def") for loop in (b"for", b"while")
    )
    fix_safety = Safety.UNSAFE

    VALID = [
        # the loop variable bound at creation
        Valid(
            "import tensorflow as tf\nfor layer in model.layers:\n"
            "    model.add_loss(lambda layer=layer: tf.nn.l2_loss(layer.kernel))\n"
        ),
        # no loop variable read: the lambda is the same every iteration
        Valid("for layer in model.layers:\n    model.add_loss(lambda: tf.nn.l2_loss(model.layers[0].kernel))\n"),
        # outside any loop
        Valid("model.add_loss(lambda: tf.nn.l2_loss(dense.kernel))\n"),
        # a tensor, not a lambda
        Valid("for layer in model.layers:\n    layer.add_loss(tf.nn.l2_loss(layer.kernel))\n"),
        # the loop belongs to an outer function; the lambda is made once per call of `build`
        Valid(
            "for layer in layers:\n    def build(layer):\n"
            "        layer.add_loss(lambda: tf.nn.l2_loss(layer.kernel))\n"
            "    build(layer)\n"
        ),
        # the lambda binds the name itself
        Valid("for w in weights:\n    model.add_loss(lambda w=w: tf.nn.l2_loss(w))\n"),
        # inside the lambda, `layer` is a comprehension's own variable
        Valid(
            "for block in blocks:\n"
            "    model.add_loss(lambda: sum(tf.nn.l2_loss(layer.kernel) for layer in model.layers))\n"
        ),
        # a user class whose add_loss is not Keras's
        Valid(
            "class Tracker:\n    def add_loss(self, f):\n        self.items.append(f)\n\n"
            "t = Tracker()\nfor x in xs:\n    t.add_loss(lambda: x)\n"
        ),
        # assigned once before the loop, not in it
        Valid(
            "total = tf.add_n([tf.nn.l2_loss(w) for w in weights])\nfor step in range(3):\n"
            "    model.add_loss(lambda: total)\n"
        ),
        # a function that binds what it reads, or that is defined outside the loop
        Valid(
            "for layer in model.layers:\n    def penalty(layer=layer):\n"
            "        kernel = layer.kernel\n        return tf.nn.l2_loss(kernel)\n    model.add_loss(penalty)\n"
        ),
        Valid(
            "def penalty():\n    return tf.nn.l2_loss(dense.kernel)\n\nfor step in range(3):\n"
            "    model.add_loss(penalty)\n"
        ),
        Valid(
            "for layer in model.layers:\n    def penalty():\n        for layer in extra:\n"
            "            pass\n        return 0.0\n    model.add_loss(penalty)\n"
        ),
        # a plain function named add_loss
        Valid("for layer in layers:\n    add_loss(lambda: layer)\n"),
    ]
    INVALID = [
        # the lambda is named first, then given to add_loss
        Invalid(
            "import tensorflow as tf\n\n"
            "for w in model.trainable_weights:\n"
            "    reg = lambda: tf.keras.regularizers.l2(1e-4)(w)\n"
            "    model.add_loss(reg)\n",
            fixed="import tensorflow as tf\n\n"
            "for w in model.trainable_weights:\n"
            "    reg = lambda w=w: tf.keras.regularizers.l2(1e-4)(w)\n"
            "    model.add_loss(reg)\n",
        ),
        Invalid(
            "import tensorflow as tf\n\nfor layer in model.layers:\n"
            "    if hasattr(layer, 'kernel'):\n"
            "        model.add_loss(lambda: tf.keras.regularizers.l2(1e-4)(layer.kernel))\n",
            fixed="import tensorflow as tf\n\nfor layer in model.layers:\n"
            "    if hasattr(layer, 'kernel'):\n"
            "        model.add_loss(lambda layer=layer: tf.keras.regularizers.l2(1e-4)(layer.kernel))\n",
            message="`layer`",
        ),
        # tuple target: only the names the lambda reads are bound
        Invalid(
            "for i, layer in enumerate(base.layers):\n    layer.add_loss(lambda: 1e-4 * tf.nn.l2_loss(layer.kernel))\n",
            fixed="for i, layer in enumerate(base.layers):\n"
            "    layer.add_loss(lambda layer=layer: 1e-4 * tf.nn.l2_loss(layer.kernel))\n",
        ),
        # nested loops: both loop variables bound, in the order the lambda reads them
        Invalid(
            "for block in blocks:\n    for layer in block.layers:\n"
            "        model.add_loss(lambda: scale[block] * tf.nn.l2_loss(layer.kernel))\n",
            fixed="for block in blocks:\n    for layer in block.layers:\n"
            "        model.add_loss(lambda block=block, layer=layer: scale[block] * tf.nn.l2_loss(layer.kernel))\n",
        ),
        # a comprehension calling add_loss
        Invalid(
            "[model.add_loss(lambda: tf.reduce_sum(tf.square(w))) for w in model.trainable_weights]\n",
            fixed="[model.add_loss(lambda w=w: tf.reduce_sum(tf.square(w))) for w in model.trainable_weights]\n",
        ),
        # a name assigned in the loop body before the call is rebound every iteration too
        Invalid(
            "for name in names:\n    kernel = model.get_layer(name).kernel\n"
            "    model.add_loss(lambda: 1e-3 * tf.nn.l2_loss(kernel))\n",
            fixed="for name in names:\n    kernel = model.get_layer(name).kernel\n"
            "    model.add_loss(lambda kernel=kernel: 1e-3 * tf.nn.l2_loss(kernel))\n",
        ),
        # assigned in a block nested in the loop body
        Invalid(
            "for batch in data:\n    with tf.GradientTape() as tape:\n        penalty = objective(batch)\n"
            "        self.add_loss(lambda: penalty)\n",
            fixed="for batch in data:\n    with tf.GradientTape() as tape:\n        penalty = objective(batch)\n"
            "        self.add_loss(lambda penalty=penalty: penalty)\n",
        ),
        # a while loop rebinding the name it reads
        Invalid(
            "i = 0\nwhile i < len(model.layers):\n    layer = model.layers[i]\n"
            "    model.add_loss(lambda: tf.nn.l2_loss(layer.kernel))\n    i += 1\n",
            fixed="i = 0\nwhile i < len(model.layers):\n    layer = model.layers[i]\n"
            "    model.add_loss(lambda layer=layer: tf.nn.l2_loss(layer.kernel))\n    i += 1\n",
        ),
        # the shapes of TensorFlow issues 38891 and 42880
        Invalid(
            "l2 = tf.keras.regularizers.l2(1e-4)\nfor i in range(len(model.layers)):\n    layer = model.layers[i]\n"
            "    if isinstance(layer, tf.keras.layers.Dense):\n        model.add_loss(lambda: l2(layer.kernel))\n",
            fixed="l2 = tf.keras.regularizers.l2(1e-4)\nfor i in range(len(model.layers)):\n"
            "    layer = model.layers[i]\n    if isinstance(layer, tf.keras.layers.Dense):\n"
            "        model.add_loss(lambda layer=layer: l2(layer.kernel))\n",
        ),
        Invalid(
            "for w in model.trainable_weights:\n    if 'bias' in w.name:\n        continue\n"
            "    model.add_loss(lambda: tf.nn.l2_loss(w) * reg)\n",
            fixed="for w in model.trainable_weights:\n    if 'bias' in w.name:\n        continue\n"
            "    model.add_loss(lambda w=w: tf.nn.l2_loss(w) * reg)\n",
        ),
        # existing defaulted parameters are kept
        Invalid(
            "for layer in model.layers:\n    model.add_loss(lambda scale=1e-4: scale * tf.nn.l2_loss(layer.kernel))\n",
            fixed="for layer in model.layers:\n"
            "    model.add_loss(lambda scale=1e-4, layer=layer: scale * tf.nn.l2_loss(layer.kernel))\n",
        ),
        # inside a function, in a while-free for loop with the call as a keyword argument
        Invalid(
            "def regularize(model, rate):\n    for layer in model.layers:\n"
            "        model.add_loss(losses=lambda: rate * tf.nn.l2_loss(layer.kernel))\n",
            fixed="def regularize(model, rate):\n    for layer in model.layers:\n"
            "        model.add_loss(losses=lambda layer=layer: rate * tf.nn.l2_loss(layer.kernel))\n",
        ),
        # a function defined in the loop body, passed by name: reported without a fix
        Invalid(
            "for layer in model.layers:\n    def penalty():\n        return 1e-4 * tf.nn.l2_loss(layer.kernel)\n"
            "    model.add_loss(penalty)\n",
            message="`def penalty(layer=layer): ...`",
        ),
        # the same in a while loop (a file without `for` nor `lambda`)
        Invalid(
            "while queue:\n    layer = queue.pop()\n    def penalty():\n"
            "        return 1e-4 * tf.nn.l2_loss(layer.kernel)\n    model.add_loss(penalty)\n",
            message="`def penalty(layer=layer): ...`",
        ),
        # a lambda with *args is reported without a fix
        Invalid("for layer in model.layers:\n    model.add_loss(lambda *a: tf.nn.l2_loss(layer.kernel))\n"),
    ]

    _foreign_add_loss: bool | None = None

    def visit_Lambda(self, node: cst.Lambda) -> None:
        if not self._is_add_loss_argument():
            return
        if self._foreign_add_loss is None:
            self._foreign_add_loss = _defines_foreign_add_loss(self.ctx.module, self)
        if self._foreign_add_loss:
            return
        self._judge_lambda(node, self._late_bound(node))

    def _judge_lambda(self, node: cst.Lambda, late: set[str] | frozenset[str]) -> None:
        if not late:
            return
        inner = _LoadedNames(frozenset(_param_names(node.params)))
        node.body.visit(inner)
        ordered: list[str] = []
        for name in inner.names:
            if name.value in late and name.value not in ordered:
                ordered.append(name.value)
        if not ordered:
            return
        shown = ", ".join(f"`{name}`" for name in ordered)
        binding = ", ".join(f"{name}={name}" for name in ordered)
        message = (
            f"the penalty lambda reads loop variable {shown}, which Python looks up when Keras calls it, "
            f"after the loop: every penalty applies to the last value; bind it now with `lambda {binding}: ...`"
        )
        new = _bind_defaults(node, ordered)
        self.report(node, message, fix=self.make_fix(Replace(node, new)) if new is not None else None)

    def visit_Call(self, node: cst.Call) -> None:
        """`model.add_loss(penalty)` where `def penalty()` is defined in the loop body."""
        if not (isinstance(node.func, cst.Attribute) and node.func.attr.value == ADD_LOSS_METHOD):
            return
        args = [a for a in node.args if a.keyword is None or a.keyword.value == "losses"]
        if not args or not isinstance(args[0].value, cst.Name):
            return
        if self._foreign_add_loss is None:
            self._foreign_add_loss = _defines_foreign_add_loss(self.ctx.module, self)
        if self._foreign_add_loss:
            return
        function = self._function_in_loop(args[0].value.value)
        if function is None:
            # `penalty = lambda: ...` earlier in the loop's body, then `add_loss(penalty)`
            lam = self._lambda_in_loop(args[0].value.value)
            if lam is not None:
                self._judge_lambda(lam, self._late_bound(node))
            return
        late = self._late_bound(node)
        params = _param_names(function.params)
        reader = _LoadedNames(frozenset(params) | _local_names(function))
        function.body.visit(reader)
        ordered: list[str] = []
        for name in reader.names:
            if name.value in late and name.value not in ordered:
                ordered.append(name.value)
        if not ordered:
            return
        shown = ", ".join(f"`{name}`" for name in ordered)
        binding = ", ".join(f"{name}={name}" for name in ordered)
        self.report(
            args[0].value,
            f"`{function.name.value}` reads loop variable {shown}, which Python looks up when Keras calls it, "
            f"after the loop: every penalty applies to the last value; bind it now with "
            f"`def {function.name.value}({binding}): ...`",
        )

    def _lambda_in_loop(self, name: str) -> cst.Lambda | None:
        """The lambda assigned to `name` earlier in the body of the loop enclosing the current
        call, when that is the name's only assignment there."""
        ancestors = self.ctx.ancestors
        child: cst.CSTNode = ancestors[-1]
        for node in reversed(ancestors[:-1]):
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return None
            if isinstance(node, cst.IndentedBlock):
                found = [
                    small.value
                    for stmt in node.body[: next((i for i, s in enumerate(node.body) if s is child), 0)]
                    if isinstance(stmt, cst.SimpleStatementLine)
                    for small in stmt.body
                    if isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and small.targets[0].target.value == name
                ]
                if found:
                    return found[0] if len(found) == 1 and isinstance(found[0], cst.Lambda) else None
            if isinstance(node, (cst.For, cst.While)) and child is node.body:
                return None
            child = node
        return None

    def _function_in_loop(self, name: str) -> cst.FunctionDef | None:
        """The `def name` made earlier in the body of a loop enclosing the current call."""
        ancestors = self.ctx.ancestors
        found: cst.FunctionDef | None = None
        child: cst.CSTNode = ancestors[-1]
        for node in reversed(ancestors[:-1]):
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return None
            if isinstance(node, cst.IndentedBlock) and found is None:
                for stmt in node.body:
                    if stmt is child:
                        break
                    if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
                        found = stmt
            if isinstance(node, (cst.For, cst.While)) and child is node.body:
                return found
            child = node
        return None

    def _is_add_loss_argument(self) -> bool:
        arg, call = self.ctx.parent(1), self.ctx.parent(2)
        if not isinstance(arg, cst.Arg) or not isinstance(call, cst.Call):
            return False
        return isinstance(call.func, cst.Attribute) and call.func.attr.value == ADD_LOSS_METHOD

    def _late_bound(self, start: cst.CSTNode) -> set[str]:
        """Names rebound by the loops (in the same function) that enclose the visited node."""
        names: set[str] = set()
        ancestors = self.ctx.ancestors
        child: cst.CSTNode = start
        # names assigned earlier in each block enclosing the lambda, up to the loop
        assigned: list[str] = []
        for index in range(len(ancestors) - 2, -1, -1):
            node = ancestors[index]
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                break
            if isinstance(node, cst.IndentedBlock):
                assigned.extend(_assigned_before(node, child))
            if isinstance(node, cst.For) and child is node.body:
                names.update(_target_names(node.target))
                names.update(assigned)
            elif isinstance(node, cst.While) and child is node.body:
                names.update(assigned)
            elif isinstance(node, COMPREHENSIONS):
                inside = (node.key, node.value) if isinstance(node, cst.DictComp) else (node.elt,)
                if any(child is part for part in inside):
                    names.update(_comprehension_targets(node.for_in))
            child = node
        return names


class _Locals(cst.CSTVisitor):
    """Names a function body binds (it reads them locally, not from the loop)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self.names.update(_target_names(target.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.names.update(_target_names(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.names.update(_target_names(node.target))

    def visit_For(self, node: cst.For) -> None:
        self.names.update(_target_names(node.target))

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self.names.update(_target_names(node.asname.name))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def _local_names(function: cst.FunctionDef) -> frozenset[str]:
    collector = _Locals()
    function.body.visit(collector)
    return frozenset(collector.names)


def _defines_foreign_add_loss(module: cst.Module, rule: Rule) -> bool:
    """Whether the module defines a class, not derived from Keras, with its own `add_loss`."""
    for stmt in module.body:
        if not isinstance(stmt, cst.ClassDef) or not isinstance(stmt.body, cst.IndentedBlock):
            continue
        if any(is_keras_name(rule.resolve(base.value)) for base in stmt.bases):
            continue
        for item in stmt.body.body:
            if isinstance(item, cst.FunctionDef) and item.name.value == ADD_LOSS_METHOD:
                return True
    return False
