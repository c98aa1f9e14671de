from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import libcst as cst

from reglint.names import target_names
from reglint.nodes import child_nodes
from reglint.patterns import has_comment
from reglint.rule import Invalid, NodeEdit, Remove, Replace, Rule, Safety, Valid
from reglint.tfnames import CONTRIB_REGULARIZERS, CONTRIB_TO_KERAS

if TYPE_CHECKING:
    from reglint.target import Target

# each contrib factory's parameters, in order, and their defaults (None: required)
PARAMETERS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "l1": (("scale", None), ("scope", "None")),
    "l2": (("scale", None), ("scope", "None")),
    "l1_l2": (("scale_l1", "1.0"), ("scale_l2", "1.0"), ("scope", "None")),
}
# the import added when nothing in the file reaches keras.regularizers
ADDED_IMPORT = ("tensorflow", "keras", None)
KERAS_IMPORT = cst.ImportFrom(module=cst.Name("tensorflow"), names=[cst.ImportAlias(cst.Name("keras"))])
# expressions that need parentheses as the right operand of `0.5 * ...`
LOOSE = (cst.BooleanOperation, cst.Comparison, cst.IfExp, cst.Lambda, cst.NamedExpr, cst.UnaryOperation)


def half(value: cst.BaseExpression, text: str) -> str:
    """`0.5 * value` with the arithmetic folded for a number literal.

    The product is exact in decimal; its float is the float of `0.5 * float(literal)` (halving
    is exact in binary), so `repr` of it is the shortest literal with the identical value:
    `0.001` -> `0.0005`, `5e-4` -> `0.00025`. A literal written without an exponent keeps
    none (`0.0001` -> `0.00005`, not `5e-05`): the exact decimal parses to the same float."""
    if isinstance(value, (cst.Float, cst.Integer)):
        source = value.value.replace("_", "")
        try:
            exact = Decimal(source) * Decimal("0.5")
        except InvalidOperation:
            exact = None
        folded = float(exact) if exact is not None else None
        if (
            exact is not None
            and folded is not None
            and math.isfinite(folded)
            and (folded != 0.0 or exact == 0)
            and Decimal(repr(folded)) * 2 == Decimal(repr(float(Decimal(source))))
        ):
            # (not when the float would be inf, or a subnormal that halves to 0.0 or loses
            # a digit: then `0.5 * literal` keeps Python's own arithmetic)
            text = repr(folded)
            if "e" in text and "e" not in source.lower():
                text = format(exact.normalize(), "f")
            return text
    if isinstance(value, LOOSE) or (
        isinstance(value, cst.BinaryOperation) and not isinstance(value.operator, (cst.Multiply, cst.Power))
    ):
        text = f"({text})"
    return f"0.5 * {text}"


@dataclass
class _Bindings:
    """How a module binds names, from one walk: by imports, otherwise (a class attribute, a
    parameter, a loop or comprehension variable, a function), and whether a star import
    may bind anything."""

    imported: set[str] = field(default_factory=set)
    other: set[str] = field(default_factory=set)
    star: bool = False


_TARGETED = frozenset({cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor, cst.NamedExpr})
_NAMED = frozenset({cst.AsName, cst.Param, cst.FunctionDef, cst.ClassDef})


def _bindings(module: cst.Module) -> _Bindings:
    found = _Bindings()
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        # by exact type (these node classes have no subclasses): isinstance against libcst's
        # abstract base classes, for every node of the module, cost more than the rest
        kind = type(node)
        if kind is cst.ImportStar:
            found.star = True
            continue
        if kind is cst.ImportAlias:
            assert isinstance(node, cst.ImportAlias)
            bound = node.asname.name if node.asname is not None else node.name
            if isinstance(bound, cst.Name):
                found.imported.add(bound.value)
            continue
        targets: list[cst.CSTNode] = []
        if kind is cst.Assign:
            assert isinstance(node, cst.Assign)
            targets = [t.target for t in node.targets]
        elif kind in _TARGETED:
            targets = [node.target]  # type: ignore[attr-defined]
        elif kind in _NAMED:
            targets = [node.name]  # type: ignore[attr-defined]
        for target in targets:
            if isinstance(target, cst.BaseExpression):
                found.other.update(target_names(target))
        stack.extend(child_nodes(node))
    return found


def _bound_elsewhere(found: _Bindings, name: str, *, imported: bool = False) -> bool:
    """Whether `name` is bound somewhere in the module other than by an import (`imported`:
    the imports that make it what the fix needs are allowed, a notebook repeats them; a star
    import could bind only a name the fix would add)."""
    if name in found.other:
        return True
    if imported:
        return False
    return found.star or name in found.imported


def _uses(node: cst.CSTNode, name: str) -> int:
    """How many times a Name spelled `name` occurs in the tree."""
    if isinstance(node, cst.Name):
        return int(node.value == name)
    return sum(_uses(child, name) for child in node.children)


def bind_arguments(call: cst.Call, kind: str) -> dict[str, cst.Arg] | None:
    """The contrib call's arguments by parameter name, or None if they cannot be matched."""
    names = [name for name, _ in PARAMETERS[kind]]
    bound: dict[str, cst.Arg] = {}
    for index, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is None:
            if index >= len(names):
                return None
            name = names[index]
        else:
            name = arg.keyword.value
            if name not in names:
                return None
        if name in bound:
            return None
        bound[name] = arg
    return bound


class ContribRegularizer(Rule):
    """
    ## What it does
    Flags the regularizers of `tf.contrib.layers` and slim: `l1_regularizer`,
    `l2_regularizer` and `l1_l2_regularizer` (also reached as
    `tf.contrib.layers.python.layers.regularizers.*`, `tf.contrib.slim.*` and `tf_slim.*`), and
    offers the Keras regularizer that computes the same value.

    Not reported on a project that runs on TensorFlow 1 only (`tensorflow-version = "1.15"`,
    or `tensorflow<2` in its dependency declarations), where `tf.contrib` exists: there it is
    migration advice, which `reglint check --tensorflow-version 2.16` gives on request.

    ## Why is this bad?
    `tf.contrib` does not exist in TensorFlow 2: the line raises `AttributeError` (or the import
    `ModuleNotFoundError`); only the separate `tf_slim` package keeps a copy of slim's. The
    obvious replacement is wrong by a factor of two: contrib's `l2_regularizer(s)(w)` is
    `s * tf.nn.l2_loss(w) = s / 2 * sum(w**2)`, while Keras's `l2(s)(w)` is `s * sum(w**2)`.
    Migrating `l2_regularizer(5e-4)` to `l2(5e-4)` silently doubles the weight decay; the
    equivalent is `l2(0.00025)`.

    ## Example
    ```python
    import tensorflow as tf

    reg = tf.contrib.layers.l2_regularizer(scale=5e-4)
    l1 = tf.contrib.layers.l1_regularizer(0.5)(weights)
    both = tf.contrib.layers.l1_l2_regularizer(0.01, weight_decay)
    ```

    Use instead:
    ```python
    import tensorflow as tf

    reg = tf.keras.regularizers.l2(0.00025)
    l1 = tf.keras.regularizers.l1(0.5)(weights)
    both = tf.keras.regularizers.l1_l2(l1=0.01, l2=0.5 * weight_decay)
    ```

    ## Fix safety
    Safe: the penalty keeps its value (`l2_regularizer(s)` -> `l2(0.5 * s)`, folded for
    literals; `l1_regularizer(s)` -> `l1(s)`; `l1_l2_regularizer(a, b)` ->
    `l1_l2(l1=a, l2=0.5 * b)`, contrib's defaults of 1.0 written out), and the original cannot
    run on TensorFlow 2. `scope=` is dropped (Keras regularizers take no name scope). The fix
    spells the regularizer through what the file already imports: a name bound to
    `keras.regularizers`, else `tf.keras.regularizers` through its TensorFlow alias (also
    `tensorflow.compat.v1`, whose `keras.regularizers` computes the same), else its `keras`
    module; a file with none gets `from tensorflow import keras`. A module-level
    `from tensorflow.contrib.layers import l2_regularizer` is deleted with the call when that
    call is the name's only use; otherwise the import is left for you to delete.
    `sum_regularizer` has no Keras counterpart and is reported without a fix.

    ## References
    - [TensorFlow 1.15 `tf.contrib.layers.l2_regularizer`](https://github.com/tensorflow/tensorflow/blob/r1.15/tensorflow/contrib/layers/python/layers/regularizers.py)
    - [Keras regularizers](https://keras.io/api/layers/regularizers/)
    - [Migrate to TensorFlow 2](https://www.tensorflow.org/guide/migrate)
    """

    code = "REG005"
    name = "contrib-regularizer"
    severity = "warning"
    tags = ("deprecated",)
    precision = "very-high"
    # A finding needs the call to resolve into CONTRIB_REGULARIZERS / CONTRIB_TO_KERAS. Its
    # last name is spelled whole in the source (an attribute, or the imported name that an
    # alias renames): l1_regularizer, l2_regularizer (which l1_l2_regularizer contains) or
    # sum_regularizer. Its first part is `tensorflow.contrib...` or `slim...`, which the
    # source spells with `contrib` (tf.contrib, tensorflow.contrib.layers / .framework /
    # .slim) or `slim` (tf_slim, a module named slim): no canonical rewrite makes either up.
    # sum_regularizer is only known under tensorflow.contrib.layers.
    TOKENS = (
        *((name, lib) for name in (b"l1_regularizer", b"l2_regularizer") for lib in (b"contrib", b"slim")),
        (b"sum_regularizer", b"contrib"),
    )
    fix_safety = Safety.SAFE

    @classmethod
    def reported_on(cls, target: Target) -> bool:
        """On a project that runs on TensorFlow 1 only, `tf.contrib` is there: advice for a
        migration it has not started (`--tensorflow-version 2.16` asks for it)."""
        return not target.tensorflow_1_only()

    VALID = [
        # a project that runs on TensorFlow 1 has tf.contrib: nothing to migrate yet
        Valid("import tensorflow as tf\nr = tf.contrib.layers.l2_regularizer(0.1)\n", target="1.15"),
        Valid("import tensorflow as tf\nreg = tf.keras.regularizers.l2(0.0005)\n"),
        Valid("from keras import regularizers\nreg = regularizers.l1_l2(l1=0.01, l2=0.01)\n"),
        # look-alikes: another library's l2_regularizer, a user function of that name
        Valid("import mylib\nreg = mylib.layers.l2_regularizer(0.001)\n"),
        Valid("def l2_regularizer(scale):\n    return lambda w: scale * w\n\nreg = l2_regularizer(0.001)\n"),
        Valid("import tensorflow as tf\nreg = tf.contrib.layers.l2_regularizer\n"),
    ]
    INVALID = [
        Invalid(
            "import tensorflow as tf\nreg = tf.contrib.layers.l2_regularizer(0.001)\n",
            fixed="import tensorflow as tf\nreg = tf.keras.regularizers.l2(0.0005)\n",
            message="0.0005",
        ),
        # seed 000: the keyword form in a TF1 file
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "conv = tf.layers.conv2d(x, 8, 3, kernel_regularizer=tf.contrib.layers.l2_regularizer(scale = 5e-4))\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "conv = tf.layers.conv2d(x, 8, 3, kernel_regularizer=tf.keras.regularizers.l2(0.00025))\n",
        ),
        # seed 003: direct calls
        Invalid(
            "import tensorflow as tf\n"
            "weights = tf.constant([[1.0, -2.0], [-3.0, 4.0]])\n"
            "print(tf.contrib.layers.l1_regularizer(0.5)(weights))\n"
            "print(tf.contrib.layers.l2_regularizer(0.5)(weights))\n",
            expected=2,
            fixed="import tensorflow as tf\n"
            "weights = tf.constant([[1.0, -2.0], [-3.0, 4.0]])\n"
            "print(tf.keras.regularizers.l1(0.5)(weights))\n"
            "print(tf.keras.regularizers.l2(0.25)(weights))\n",
        ),
        # a variable scale, scope= dropped, an existing keras.regularizers binding
        Invalid(
            "import tensorflow as tf\nfrom tensorflow.keras import regularizers\n"
            "reg = tf.contrib.layers.l2_regularizer(weight_decay + extra, scope='l2')\n",
            fixed="import tensorflow as tf\nfrom tensorflow.keras import regularizers\n"
            "reg = regularizers.l2(0.5 * (weight_decay + extra))\n",
        ),
        # l1_l2 with contrib's defaults, through slim
        Invalid(
            "import tf_slim as slim\nimport keras\n"
            "a = slim.l1_l2_regularizer(0.01)\n"
            "b = slim.regularizers.l1_l2_regularizer(scale_l2=wd, scale_l1=0.1)\n",
            expected=2,
            fixed="import tf_slim as slim\nimport keras\n"
            "a = keras.regularizers.l1_l2(l1=0.01, l2=0.5)\n"
            "b = keras.regularizers.l1_l2(l1=0.1, l2=0.5 * wd)\n",
        ),
        # slim's l1 alone (a file without `contrib` nor `l2_regularizer`)
        Invalid(
            "import tf_slim as slim\nimport keras\nr = slim.l1_regularizer(0.1)\n",
            fixed="import tf_slim as slim\nimport keras\nr = keras.regularizers.l1(0.1)\n",
        ),
        # no import reaches keras.regularizers: one is added
        Invalid(
            "from tensorflow.contrib.layers import l2_regularizer\n\nreg = l2_regularizer(1e-4)\n",
            fixed="from tensorflow import keras\n\nreg = keras.regularizers.l2(5e-05)\n",
        ),
        # the import of the contrib function stays while another use needs it
        Invalid(
            "import os\nfrom tensorflow.contrib.layers import l1_regularizer, l2_regularizer\n\n"
            "a = l2_regularizer(1e-4)\nb = l1_regularizer(0.1)\nc = l1_regularizer(0.2)\n",
            expected=3,
            fixed="import os\nfrom tensorflow.contrib.layers import l1_regularizer\nfrom tensorflow import keras\n\n"
            "a = keras.regularizers.l2(5e-05)\nb = keras.regularizers.l1(0.1)\nc = keras.regularizers.l1(0.2)\n",
        ),
        Invalid(
            "import tensorflow as tf\nr = tf.contrib.layers.l2_regularizer(0.0001)\n",
            fixed="import tensorflow as tf\nr = tf.keras.regularizers.l2(0.00005)\n",
        ),
        # tensorflow/tpu's imports: `variable_scope` shares names with TensorFlow but is not it,
        # so it cannot spell `keras.regularizers`
        Invalid(
            "from tensorflow.contrib.layers.python.layers import regularizers\n"
            "from tensorflow.python.ops import variable_scope\n\n"
            "with variable_scope.variable_scope('s'):\n    r = regularizers.l2_regularizer(0.0004)\n",
            fixed="from tensorflow.contrib.layers.python.layers import regularizers\n"
            "from tensorflow.python.ops import variable_scope\nfrom tensorflow import keras\n\n"
            "with variable_scope.variable_scope('s'):\n    r = keras.regularizers.l2(0.0002)\n",
        ),
        # sum_regularizer has no Keras counterpart
        Invalid("import tensorflow as tf\nr = tf.contrib.layers.sum_regularizer([a, b])\n", message="no Keras"),
    ]

    keras_import_placed = False

    def visit_Call(self, node: cst.Call) -> None:
        name = self.resolve(node.func)
        if name not in CONTRIB_REGULARIZERS and name not in CONTRIB_TO_KERAS:
            return
        written = " ".join(self.ctx.code(node.func).split())
        gone = f"`{written}` is tf.contrib's regularizer, gone in TensorFlow 2" + (
            " (only the tf_slim package keeps it)" if (name or "").startswith("slim.") else ""
        )
        kind = CONTRIB_TO_KERAS.get(name or "")
        if kind is None:
            self.report(node, f"{gone}, and has no Keras counterpart")
            return
        replacement = self._replacement(node, kind)
        if replacement is None:
            self.report(node, f"{gone}; use `keras.regularizers.{kind}`")
            return
        text, imports = replacement
        note = " (Keras's l2 has no 1/2: the scale is halved)" if kind != "l1" else ""
        if has_comment(node):
            # the rewritten call would lose the comments written inside it
            self.report(node, f"{gone}; `{text}` computes the same penalty{note}")
            return
        edits: list[NodeEdit] = [Replace(node, cst.parse_expression(text).with_changes(lpar=node.lpar, rpar=node.rpar))]
        if isinstance(node.func, cst.Name):
            for edit in self._drop_import(node.func.value):
                if isinstance(edit, Remove) and imports and not self.keras_import_placed:
                    # the needed import takes the place of the first contrib one; the others
                    # go, and AddImportsVisitor sees the one this fix added (no duplicate)
                    edit = Replace(edit.node, edit.node.with_changes(body=[KERAS_IMPORT]))
                    imports = []
                    self.keras_import_placed = True
                edits.append(edit)
        self.report(
            node,
            f"{gone}; `{text}` computes the same penalty{note}",
            fix=self.make_fix(*edits, imports=imports),
        )

    def _drop_import(self, name: str) -> list[NodeEdit]:
        """Delete `from tensorflow.contrib... import <name>` when this call is the name's only use
        (the import would still fail on TF 2). Other cases leave the import to the user."""
        module = self.ctx.module
        if self.ctx.resolver.stack[0] is not self._binding_scope(name) or _uses(module, name) != 2:
            return []
        for stmt in module.body:
            if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
                continue
            small = stmt.body[0]
            if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                continue
            aliases = list(small.names)
            bound = [a for a in aliases if (a.evaluated_alias or a.evaluated_name) == name]
            if not bound:
                continue
            if has_comment(stmt):
                return []  # the user's comments on it would go with it
            if len(aliases) == 1:
                return [Remove(stmt)]
            index = aliases.index(bound[0])
            del aliases[index]
            if index == len(aliases):
                aliases[-1] = aliases[-1].with_changes(comma=bound[0].comma)
            return [Replace(small, small.with_changes(names=aliases))]
        return []

    def _binding_scope(self, name: str) -> object:
        for scope in reversed(self.ctx.resolver.stack):
            if name in scope.bindings:
                return scope
        return None

    def _replacement(self, call: cst.Call, kind: str) -> tuple[str, list[tuple[str, str | None, str | None]]] | None:
        bound = bind_arguments(call, kind)
        if bound is None:
            return None
        values: dict[str, str] = {}
        nodes: dict[str, cst.BaseExpression] = {}
        for parameter, default in PARAMETERS[kind]:
            if parameter in bound:
                nodes[parameter] = bound[parameter].value
                values[parameter] = self.ctx.code(bound[parameter].value).strip()
            elif default is None:
                return None  # contrib requires it: the original raises TypeError
            else:
                nodes[parameter] = cst.parse_expression(default)
                values[parameter] = default
        spelling = self._spelling()
        if spelling is None:
            return None
        prefix, imports = spelling
        if kind == "l1":
            args = values["scale"]
        elif kind == "l2":
            args = half(nodes["scale"], values["scale"])
        else:
            args = f"l1={values['scale_l1']}, l2={half(nodes['scale_l2'], values['scale_l2'])}"
        return f"{prefix}.{kind}({args})", imports

    def _module_bindings(self) -> _Bindings:
        found: _Bindings | None = getattr(self, "_bindings_cache", None)
        if found is None:
            found = self._bindings_cache = _bindings(self.ctx.module)
        return found

    def _spelling(self) -> tuple[str, list[tuple[str, str | None, str | None]]] | None:
        """How this file reaches keras.regularizers, and the import it needs for that."""
        resolver = self.ctx.resolver
        for wanted, suffix in (
            ("keras.regularizers", ""),
            ("tensorflow", ".keras.regularizers"),
            ("keras", ".regularizers"),
        ):
            name = resolver.alias_for(wanted)
            if name is not None:
                if _bound_elsewhere(self._module_bindings(), name, imported=True):
                    return None  # the name is another value somewhere (a class attribute, a loop)
                return name + suffix, []
        if any("keras" in scope.bindings for scope in resolver.stack) or _bound_elsewhere(
            self._module_bindings(), "keras"
        ):
            return None  # `keras` means something else here: adding the import would clash
        return "keras.regularizers", [ADDED_IMPORT]
