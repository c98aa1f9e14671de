from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from reglint.interproc import denotes
from reglint.model import Finding
from reglint.names import target_names
from reglint.rule import Insert, Invalid, PendingFix, Rule, Safety, Token, Valid, Word
from reglint.tfnames import (
    BUILT_MODEL_CALLS,
    FUNCTIONAL_MODEL_CLASSES,
    INPUT_LAYERS,
    INPUT_SHAPE_KEYWORDS,
    MODEL_BUILDING_METHODS,
    MODEL_LOADERS,
    MODEL_REBUILDERS,
    SEQUENTIAL_CLASSES,
    TF_NAMESPACES,
    WEIGHT_REGULARIZER_ATTRIBUTES,
)

if TYPE_CHECKING:
    from reglint.engine import FileContext
    from reglint.judge import ProjectFacts


# a helper module that regularizes the layers of the model it is given
ADD_L2_MODULE = (
    "from tensorflow import keras\n\n"
    "def add_l2(model, decay):\n"
    "    for layer in model.layers:\n"
    "        if hasattr(layer, 'kernel_regularizer'):\n"
    "            layer.kernel_regularizer = keras.regularizers.l2(decay)\n"
    "    return model\n"
)


@dataclass
class _Candidate:
    node: cst.CSTNode
    attribute: str
    model: str
    reason: str
    order: int
    via: str | None = None  # the helper function whose call sets the attribute
    # the statement of the function's (or module's) own body that holds the assignment (or
    # the helper's call), after which the fix rebuilds the model; None when not fixable
    anchor: cst.CSTNode | None = None


@dataclass
class _Frame:
    """What one function (or the module) has done so far, in source order."""

    built: dict[str, str] = field(default_factory=dict)  # model name -> why it is built
    candidates: list[_Candidate] = field(default_factory=list)
    rebuilds: dict[str, list[int]] = field(default_factory=dict)  # model name -> call order
    any_rebuild: list[int] = field(default_factory=list)
    function: str | None = None
    params: list[str] = field(default_factory=list)  # positional parameters, in order
    # assignments on layers of a parameter: (parameter, attribute, order)
    on_params: list[tuple[str, str, int]] = field(default_factory=list)
    # a built model handed to a function of another module (a helper there may regularize
    # its layers): (call, callee, argument key, model, why it is built, order, anchor)
    handed: list[tuple[cst.Call, str, int | str, str, str, int, cst.CSTNode | None]] = field(default_factory=list)


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


class RegularizerSetAfterBuild(Rule):
    """
    ## What it does
    Flags a weight regularizer assigned to a layer of a model that is already built.
    The attributes are `kernel_regularizer` and `bias_`, `depthwise_`, `pointwise_`,
    `recurrent_`, `embeddings_`, `gamma_`, `beta_regularizer` (assigned, or set through
    `setattr`); the model is already built when it is a `keras.applications` model, a model
    loaded with `load_model` / `model_from_json`, a functional `Model(inputs, outputs)`, a
    `Sequential` that starts with an `Input` (or gives `input_shape=`), or a model that was
    built, fitted or called on data earlier in the same function. The layer comes from the
    model's `.layers` (a loop over it, an index) or `get_layer(...)`; the model is a variable,
    or an attribute of `self` that its class assigns once. A helper function that
    does this to the layers of a model parameter (`def add_regularization(model): ...`) is
    flagged where it is called with a built model, also from another module of the project.

    ## Why is this bad?
    Keras turns `kernel_regularizer` into a penalty once, when the layer builds its weights.
    On a built layer the weights exist already, so the new attribute is stored and never
    used: `model.losses` stays as it was (measured on Keras 3 and tf.keras: `[]`), and the
    model trains without the penalty, with no error. This is the usual way people try to add
    weight decay to a pretrained network (`for layer in base_model.layers: ...`).

    Assignments followed in the same function by a rebuild of the model from its config
    (`to_json`, `get_config`, `clone_model`, `model_from_json`, `from_config`, `save` and
    reload) are not flagged: the rebuilt model does carry the penalties.
    `activity_regularizer` is not flagged either: Keras applies it on every call, so setting
    it later works.

    ## Example
    ```python
    from tensorflow import keras

    base_model = keras.applications.ResNet50(weights="imagenet")
    for layer in base_model.layers:
        if hasattr(layer, "kernel_regularizer"):
            layer.kernel_regularizer = keras.regularizers.l2(1e-4)
    base_model.compile(optimizer="sgd", loss="categorical_crossentropy")
    ```

    Use instead:
    ```python
    from tensorflow import keras

    base_model = keras.applications.ResNet50(weights="imagenet")
    for layer in base_model.layers:
        if hasattr(layer, "kernel_regularizer"):
            layer.kernel_regularizer = keras.regularizers.l2(1e-4)
    # rebuild from the config, which now names the regularizers, and keep the weights
    model = keras.models.clone_model(base_model)
    model.set_weights(base_model.get_weights())
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    ```
    Or add the penalty to the training loss explicitly (in a custom loop,
    `loss += sum(l2(layer.kernel) for layer in ...)`; with tf.keras,
    `model.add_loss(lambda layer=layer: l2(layer.kernel))`, binding `layer` as REG012 explains).

    ## Fix safety
    Unsafe. Where the model is a variable of the function (or module) that sets the attribute,
    the fix rebuilds it after the statement that does (the loop, or the helper's call):
    `M_weights = M.get_weights()`, `M = keras.models.clone_model(M)`, `M.set_weights(M_weights)`.
    The rebuilt model carries the penalties and the same weights, but it is a new object:
    anything that kept the old one (a model built on top of it before, an optimizer) still
    holds the old layers, and a subclassed model without `get_config` cannot be cloned.

    ## References
    - [Keras: layer weight regularizers](https://keras.io/api/layers/regularizers/)
    - [keras.models.clone_model](https://keras.io/api/models/cloning/)
    - [How to add regularization to a pretrained Keras model (sthalles)](https://sthalles.github.io/keras-regularizer/)
    - [Keras issue 7688: adding weight regularization to a pre-trained model](https://github.com/keras-team/keras/issues/7688)
    - [TensorFlow issue 38891](https://github.com/tensorflow/tensorflow/issues/38891)
    """

    code = "REG008"
    name = "regularizer-set-after-build"
    fix_safety = Safety.UNSAFE
    # A finding is an assignment (`layer.<attr> = ...`, or `setattr` with the name as a string
    # literal or a loop over literals) of one of WEIGHT_REGULARIZER_ATTRIBUTES, spelled whole
    # (activity_regularizer and l2_regularizer are not among them), to a layer reached
    # through `M.layers` (a subscript, a loop, a name assigned from one) or `M.get_layer(...)`;
    # a helper call is flagged only for such an assignment in the same file. What makes the
    # model built has a path with no token (`model(x)` called before), so it adds none.
    TOKENS = tuple(
        (attribute.encode(), access)
        for attribute in sorted(WEIGHT_REGULARIZER_ATTRIBUTES)
        for access in (b"layers", b"get_layer")
    )

    VALID = [
        # the same helper given a model that is not built yet, or rebuilt afterwards
        Valid(
            files={
                "proj/utils.py": ADD_L2_MODULE,
                "proj/train.py": "from tensorflow import keras\nfrom proj.utils import add_l2\n\n"
                "net = keras.Sequential([keras.layers.Dense(4)])\n"
                "add_l2(net, 1e-4)\n"
                "base = keras.applications.MobileNetV2(weights='imagenet')\n"
                "add_l2(base, 1e-4)\n"
                "base = keras.models.clone_model(base)\n",
            }
        ),
        # inside a layer's own __init__: set before the weights exist
        Valid(
            "import keras\n\nclass MyDense(keras.layers.Layer):\n"
            "    def __init__(self, units):\n        super().__init__()\n"
            "        self.kernel_regularizer = keras.regularizers.l2(1e-4)\n"
        ),
        # a Sequential without an input shape is not built yet: the attribute is used at build
        Valid(
            "import keras\nmodel = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(1)])\n"
            "for layer in model.layers:\n    layer.kernel_regularizer = keras.regularizers.l2(1e-4)\n"
            "model.fit(x, y)\n"
        ),
        # rebuilt from its config afterwards (the widely copied helper)
        Valid(
            "import tensorflow as tf\nbase = tf.keras.applications.MobileNetV2(weights=None)\n"
            "for layer in base.layers:\n    for attr in ['kernel_regularizer']:\n"
            "        if hasattr(layer, attr):\n            setattr(layer, attr, tf.keras.regularizers.l2(1e-4))\n"
            "model = tf.keras.models.model_from_json(base.to_json())\n"
        ),
        Valid(
            "from tensorflow import keras\nbase = keras.models.load_model('m.h5')\n"
            "for layer in base.layers:\n    layer.kernel_regularizer = keras.regularizers.l2(1e-4)\n"
            "model = keras.models.clone_model(base)\n"
        ),
        # activity regularizers are applied on every call
        Valid(
            "from tensorflow import keras\nbase = keras.applications.VGG16()\n"
            "for layer in base.layers:\n    layer.activity_regularizer = keras.regularizers.l2(1e-4)\n"
        ),
        # a model the rule knows nothing about (a parameter): precision first
        Valid(
            "from tensorflow import keras\n\ndef regularize(model):\n    for layer in model.layers:\n"
            "        layer.kernel_regularizer = keras.regularizers.l2(1e-4)\n"
        ),
        # a helper that rebuilds the model itself, and a helper given a model not yet built
        Valid(
            "from tensorflow import keras\n\ndef add_regularization(model, reg):\n"
            "    for layer in model.layers:\n        layer.kernel_regularizer = reg\n"
            "    return keras.models.model_from_json(model.to_json())\n\n"
            "base = keras.applications.VGG16()\nmodel = add_regularization(base, keras.regularizers.l2())\n"
        ),
        Valid(
            "from tensorflow import keras\n\ndef add_regularization(model, reg):\n"
            "    for layer in model.layers:\n        layer.kernel_regularizer = reg\n\n"
            "model = keras.Sequential([keras.layers.Dense(3)])\nadd_regularization(model, 'l2')\nmodel.fit(x, y)\n"
        ),
        # the name is rebound to a model not yet built before the loop
        Valid(
            "import keras\nmodel = keras.models.load_model('a.keras')\n"
            "model = keras.Sequential([keras.layers.Dense(3)])\n"
            "for layer in model.layers:\n    layer.kernel_regularizer = 'l2'\n"
        ),
        # removing a regularizer is not what this rule is about
        Valid(
            "from tensorflow import keras\nbase = keras.applications.VGG16()\n"
            "for layer in base.layers:\n    layer.kernel_regularizer = None\n"
            "    setattr(layer, 'bias_regularizer', None)\n"
        ),
        # an attribute of self assigned twice: which one is iterated is unknown
        Valid(
            "import keras\n\nclass Net:\n    def __init__(self, pretrained):\n"
            "        self.base = keras.applications.VGG16()\n        if not pretrained:\n"
            "            self.base = keras.Sequential([keras.layers.Dense(3)])\n"
            "        for layer in self.base.layers:\n            layer.kernel_regularizer = 'l2'\n"
        ),
        # a fresh layer, not one of a model
        Valid(
            "from tensorflow import keras\nlayer = keras.layers.Dense(3)\n"
            "layer.kernel_regularizer = keras.regularizers.l2(1e-4)\n"
        ),
        # a look-alike: a user function named like a Keras application
        Valid(
            "def ResNet50():\n    return make()\n\nbase = ResNet50()\n"
            "for layer in base.layers:\n    layer.kernel_regularizer = 'l2'\n"
        ),
        # built only after the assignment
        Valid(
            "import keras\nmodel = keras.Sequential([keras.layers.Dense(4)])\n"
            "model.layers[0].kernel_regularizer = 'l2'\nmodel.build((None, 3))\n"
        ),
    ]
    INVALID = [
        # a helper of another module regularizes the layers of the built model it is given
        Invalid(
            files={
                "proj/utils.py": ADD_L2_MODULE,
                "proj/train.py": "from tensorflow import keras\nfrom proj.utils import add_l2\n\n"
                "base = keras.applications.MobileNetV2(weights='imagenet')\n"
                "add_l2(base, 1e-4)\n"
                "base.compile(optimizer='sgd', loss='mse')\n",
            },
            path="proj/train.py",
            message="`add_l2(base)` (proj/utils.py:3)",
            fixed="from tensorflow import keras\nfrom proj.utils import add_l2\n\n"
            "base = keras.applications.MobileNetV2(weights='imagenet')\n"
            "add_l2(base, 1e-4)\n"
            "base_weights = base.get_weights()\n"
            "base = keras.models.clone_model(base)\n"
            "base.set_weights(base_weights)\n"
            "base.compile(optimizer='sgd', loss='mse')\n",
        ),
        Invalid(
            "from tensorflow import keras\n\nbase_model = keras.applications.ResNet50(weights='imagenet')\n"
            "for layer in base_model.layers:\n    if hasattr(layer, 'kernel_regularizer'):\n"
            "        layer.kernel_regularizer = keras.regularizers.l2(1e-4)\n"
            "base_model.compile(optimizer='sgd', loss='mse')\n",
            message="clone_model",
            fixed="from tensorflow import keras\n\nbase_model = keras.applications.ResNet50(weights='imagenet')\n"
            "for layer in base_model.layers:\n    if hasattr(layer, 'kernel_regularizer'):\n"
            "        layer.kernel_regularizer = keras.regularizers.l2(1e-4)\n"
            "base_model_weights = base_model.get_weights()\n"
            "base_model = keras.models.clone_model(base_model)\n"
            "base_model.set_weights(base_model_weights)\n"
            "base_model.compile(optimizer='sgd', loss='mse')\n",
        ),
        # kernel and bias set in one loop inside a function: one rebuild after the loop
        Invalid(
            "import tensorflow as tf\n\ndef fine_tune(path, decay):\n"
            "    model = tf.keras.models.load_model(path)\n"
            "    for layer in model.layers:\n"
            "        layer.kernel_regularizer = tf.keras.regularizers.l2(decay)\n"
            "        layer.bias_regularizer = tf.keras.regularizers.l2(decay)\n"
            "    return model\n",
            expected=2,
            fixed="import tensorflow as tf\n\ndef fine_tune(path, decay):\n"
            "    model = tf.keras.models.load_model(path)\n"
            "    for layer in model.layers:\n"
            "        layer.kernel_regularizer = tf.keras.regularizers.l2(decay)\n"
            "        layer.bias_regularizer = tf.keras.regularizers.l2(decay)\n"
            "    model_weights = model.get_weights()\n"
            "    model = tf.keras.models.clone_model(model)\n"
            "    model.set_weights(model_weights)\n"
            "    return model\n",
        ),
        # loaded model, enumerate over a slice, bias and kernel
        Invalid(
            "import tensorflow as tf\nmodel = tf.keras.models.load_model('saved.h5')\n"
            "for i, layer in enumerate(model.layers[-3:]):\n"
            "    layer.kernel_regularizer = tf.keras.regularizers.l2(0.01)\n"
            "    layer.bias_regularizer = tf.keras.regularizers.l2(0.01)\n",
            expected=2,
            message="load_model",
        ),
        # get_layer on a functional model, directly and through a name
        Invalid(
            "import keras\ninputs = keras.Input((3,))\noutputs = keras.layers.Dense(1, name='out')(inputs)\n"
            "model = keras.Model(inputs, outputs)\n"
            "model.get_layer('out').kernel_regularizer = keras.regularizers.l2()\n"
            "head = model.layers[-1]\nhead.bias_regularizer = 'l2'\n",
            expected=2,
        ),
        # get_layer in a file that never spells `layers`, the layer kept in a name
        Invalid(
            "from keras.models import load_model\nmodel = load_model('m.keras')\n"
            "head = model.get_layer('head')\nhead.kernel_regularizer = 'l2'\n",
            message="load_model",
        ),
        # Sequential with an Input, setattr with a literal and with a loop over literal names
        Invalid(
            "import keras\nmodel = keras.Sequential([keras.Input((8,)), keras.layers.Conv1D(4, 3)])\n"
            "for layer in model.layers:\n    setattr(layer, 'kernel_regularizer', keras.regularizers.l1(0.1))\n"
            "    for attr in ('depthwise_regularizer', 'activity_regularizer'):\n"
            "        setattr(layer, attr, keras.regularizers.l1(0.1))\n",
            expected=2,
        ),
        # BatchNormalization's pair, assigned as a tuple
        Invalid(
            "import keras\nmodel = keras.models.load_model('m.keras')\nfor layer in model.layers:\n"
            "    if isinstance(layer, keras.layers.BatchNormalization):\n"
            "        layer.gamma_regularizer, layer.beta_regularizer = reg, reg\n",
            expected=2,
        ),
        # a pretrained model kept on `self`, regularized in another method
        Invalid(
            "import tensorflow as tf\n\nclass Classifier(tf.keras.Model):\n    def __init__(self):\n"
            "        super().__init__()\n        self.backbone = tf.keras.applications.ResNet50(include_top=False)\n\n"
            "    def regularize(self, rate):\n        for layer in self.backbone.layers:\n"
            "            layer.kernel_regularizer = tf.keras.regularizers.l2(rate)\n",
            message="`self.backbone`",
        ),
        # a model fitted earlier in the same function, then regularized and fitted again
        Invalid(
            "import keras\n\ndef train(x, y):\n    model = keras.Sequential([keras.layers.Dense(1)])\n"
            "    model.compile(loss='mse')\n    model.fit(x, y)\n    for layer in model.layers:\n"
            "        layer.kernel_regularizer = keras.regularizers.l2(1e-3)\n    model.fit(x, y)\n",
            message="fit",
        ),
        # a comprehension of setattr calls over the layers of an application model
        Invalid(
            "from keras.applications import VGG16\nfrom keras import regularizers\nbase = VGG16(include_top=False)\n"
            "[setattr(l, 'kernel_regularizer', regularizers.l2(1e-4)) for l in base.layers if hasattr(l, 'kernel')]\n",
        ),
        # the rebuild comes before the assignment: it does not help
        Invalid(
            "import tensorflow as tf\nbase = tf.keras.applications.MobileNet()\nconfig = base.get_config()\n"
            "for layer in base.layers:\n    layer.kernel_regularizer = tf.keras.regularizers.l2(1e-4)\n",
        ),
        # a helper that regularizes a model parameter, called with a loaded model
        Invalid(
            "from tensorflow import keras\n\nmodel = keras.models.load_model('trained.h5')\n\n"
            "def add_regularization(model, factor=0.001):\n    for layer in model.layers:\n"
            "        if isinstance(layer, keras.layers.Dense):\n"
            "            layer.kernel_regularizer = keras.regularizers.l2(factor)\n    return model\n\n"
            "model = add_regularization(model)\nmodel.compile(loss='mse')\n",
            message="`add_regularization(model)` sets `kernel_regularizer`",
        ),
        Invalid(
            "from keras.applications import VGG16\nfrom keras.regularizers import l2\n\n"
            "def add_regularizer(model, regularizer):\n    for layer in model.layers:\n"
            "        if hasattr(layer, 'kernel_regularizer'):\n            layer.kernel_regularizer = regularizer\n"
            "        layer.bias_regularizer = regularizer\n\n"
            "def create_model():\n    extractor = VGG16()\n    add_regularizer(regularizer=l2(), model=extractor)\n"
            "    return extractor\n",
            message="`kernel_regularizer, bias_regularizer`",
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.frames: list[_Frame] = [_Frame()]
        self.order = 0
        # functions that set regularizers on the layers of a model parameter: name ->
        # (parameter index, parameter name, attributes)
        self.helpers: dict[str, list[tuple[int, str, list[str]]]] = {}
        self._class_attributes: dict[int, dict[str, list[cst.BaseExpression]]] = {}

    # -- scopes ------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = [p.name.value for p in (*node.params.posonly_params, *node.params.params)]
        self.frames.append(_Frame(function=node.name.value, params=params))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._flush(self.frames.pop())
        helper = self.helpers.get(node.name.value)
        if helper and any(stmt is node for stmt in self.ctx.module.body):
            # for the modules that call it (`from .utils import add_l2`)
            self.fact("helper", node, name=node.name.value, params=[list(entry) for entry in helper])

    def leave_Module(self, node: cst.Module) -> None:
        self._flush(self.frames.pop())

    def _flush(self, frame: _Frame) -> None:
        fixed: set[tuple[int, str]] = set()
        for candidate in frame.candidates:
            if self._rebuilt_after(frame, candidate.model, candidate.order):
                continue
            fix = None
            if candidate.anchor is not None and (id(candidate.anchor), candidate.model) not in fixed:
                # one rebuild per statement and model (a loop setting kernel_ and bias_)
                fixed.add((id(candidate.anchor), candidate.model))
                fix = self._rebuild_fix(candidate.anchor, candidate.model)
            model = candidate.model
            what = (
                f"`{candidate.via}({model})` sets `{candidate.attribute}` on the layers of `{model}`"
                if candidate.via
                else f"`{candidate.attribute}` set on a layer of `{model}`"
            )
            self.report(
                candidate.node,
                f"{what}, which is already built ({candidate.reason}): Keras only reads it when it builds "
                f"the weights, so no penalty is added. Rebuild the model afterwards "
                f"(`keras.models.clone_model({model})` or `model_from_json({model}.to_json())`, "
                f"then `set_weights({model}.get_weights())`), or add the penalty to the training loss explicitly",
                fix=fix,
            )
        for call, callee, key, model, reason, order, anchor in frame.handed:
            if self._rebuilt_after(frame, model, order):
                continue
            fix = self._rebuild_fix(anchor, model) if anchor is not None else None
            self.fact("handed", call, fix=fix, callee=callee, key=key, model=model, reason=reason)
        if frame.function is None:
            return
        attributes: dict[str, list[str]] = {}
        for param, attribute, order in frame.on_params:
            if not self._rebuilt_after(frame, param, order) and attribute not in attributes.get(param, []):
                attributes.setdefault(param, []).append(attribute)
        if attributes:
            self.helpers[frame.function] = [
                (frame.params.index(param), param, names) for param, names in attributes.items()
            ]

    def _rebuild_fix(self, anchor: cst.CSTNode, model: str) -> PendingFix | None:
        """After the statement: rebuild the model from its config (which now names the
        regularizers) and give it back its weights."""
        keras = self.ctx.resolver.alias_for("keras")
        if keras is None:
            tf = self.ctx.resolver.alias_for("tensorflow")
            if tf is None:
                return None
            keras = f"{tf}.keras"
        saved = f"{model}_weights"
        return self.make_fix(
            Insert(
                anchor,
                f"{saved} = {model}.get_weights()\n{model} = {keras}.models.clone_model({model})\n"
                f"{model}.set_weights({saved})",
                own_line=True,
            )
        )

    def _anchor(self, model: ModelRef) -> cst.CSTNode | None:
        """The statement of the enclosing function's (or the module's) own body that holds the
        node being visited, when the model is a plain name that can be rebound there."""
        if not isinstance(model, cst.Name):
            return None
        ancestors = self.ctx.ancestors
        for index in range(len(ancestors) - 1, 0, -1):
            owner = ancestors[index - 1]
            if isinstance(owner, cst.Module) or (
                isinstance(owner, cst.IndentedBlock)
                and index >= 2
                and isinstance(ancestors[index - 2], cst.FunctionDef)
            ):
                statement = ancestors[index]
                return statement if isinstance(statement, cst.BaseStatement) else None
        return None

    @staticmethod
    def _rebuilt_after(frame: _Frame, model: str, order: int) -> bool:
        """Whether the model is rebuilt from its config later in the same function."""
        return any(later > order for later in frame.rebuilds.get(model, []) + frame.any_rebuild)

    # -- evidence that a model is built, or rebuilt -------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        self.order += 1
        frame = self.frames[-1]
        func = node.func
        owner_ref = _model_ref(func.value) if isinstance(func, cst.Attribute) else None
        if isinstance(func, cst.Attribute) and owner_ref is not None:
            method, owner = func.attr.value, _key(owner_ref)
            if method in MODEL_BUILDING_METHODS:
                frame.built.setdefault(owner, f"`{owner}.{method}()` ran before")
            if method in MODEL_REBUILDERS:
                frame.rebuilds.setdefault(owner, []).append(self.order)
        elif isinstance(func, cst.Name) and node.args and self.resolve(func) is None:
            frame.built.setdefault(func.value, f"`{func.value}` was called on data before")
        name = self.resolve(func) or ""
        if name.rsplit(".", 1)[-1] in MODEL_REBUILDERS and name.startswith("keras."):
            frame.any_rebuild.append(self.order)
        if isinstance(func, cst.Name) and func.value in self.helpers:
            self._check_helper_call(node, func.value)
        elif name and "." in name and not name.startswith((*TF_NAMESPACES, "builtins.")):
            self._handed(node, name)
        if name == "builtins.setattr" and len(node.args) >= 3 and not _is_none(node.args[2].value):
            for attribute in self._attribute_names(node.args[1].value):
                self._check(node, node.args[0].value, attribute)

    def leave_Assign(self, node: cst.Assign) -> None:
        """Track, in source order, whether a rebound model name is built."""
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        name = node.targets[0].target.value
        reason = self._call_reason(node.value) if isinstance(node.value, cst.Call) else None
        if reason is not None:
            self.frames[-1].built[name] = reason
        else:
            self.frames[-1].built.pop(name, None)

    def _handed(self, call: cst.Call, callee: str) -> None:
        """A built model passed to a function of another module: a `handed` fact, judged with
        that module's `helper` facts."""
        position = 0
        for arg in call.args:
            if arg.star:
                return
            key: int | str = arg.keyword.value if arg.keyword is not None else position
            if arg.keyword is None:
                position += 1
            if not isinstance(arg.value, cst.Name):
                continue
            reason = self._built_reason(arg.value)
            if reason is not None:
                model = arg.value.value
                self.frames[-1].handed.append((call, callee, key, model, reason, self.order, self._anchor(arg.value)))

    @classmethod
    def check_project(cls, project: ProjectFacts) -> Iterable[Finding]:
        facts = project.by_kind(cls.code)
        helpers = facts.get("helper", [])
        for handed in facts.get("handed", []):
            callee, key = handed.data["callee"], handed.data["key"]
            for helper in helpers:
                if not denotes(callee, helper.path, helper.data["name"]):
                    continue
                attributes = [names for index, param, names in helper.data["params"] if key in (index, param)]
                if not attributes:
                    continue
                model = handed.data["model"]
                yield Finding(
                    cls.code,
                    cls.name,
                    f"`{helper.data['name']}({model})` ({helper.path}:{helper.range.start.line}) sets "
                    f"`{', '.join(attributes[0])}` on the layers of `{model}`, which is already built "
                    f"({handed.data['reason']}): Keras only reads it when it builds the weights, so no penalty "
                    f"is added. Rebuild the model afterwards (`keras.models.clone_model({model})`, then "
                    f"`set_weights({model}.get_weights())`), or add the penalty to the training loss explicitly",
                    handed.path,
                    handed.range,
                    handed.fix,
                )
                break

    @classmethod
    def wanted_tokens(cls, project: ProjectFacts) -> Iterable[Token]:
        """The files that may call a helper of the project with a built model: they name the
        helper, and need not name any attribute REG008 looks for."""
        for helper in project.of(cls.code, "helper"):
            yield (Word(helper.data["name"].encode()),)

    def _check_helper_call(self, call: cst.Call, function: str) -> None:
        if any(arg.star for arg in call.args):
            return
        positional = [arg for arg in call.args if arg.keyword is None]
        for index, param, attributes in self.helpers[function]:
            keyword = [arg for arg in call.args if arg.keyword is not None and arg.keyword.value == param]
            arg = keyword[0] if keyword else positional[index] if index < len(positional) else None
            if arg is None or not isinstance(arg.value, cst.Name):
                continue
            reason = self._built_reason(arg.value)
            if reason is not None:
                self.frames[-1].candidates.append(
                    _Candidate(
                        call,
                        ", ".join(attributes),
                        arg.value.value,
                        reason,
                        self.order,
                        via=function,
                        anchor=self._anchor(arg.value),
                    )
                )

    # -- the assignments --------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if _is_none(node.value):
            return  # removing a regularizer late is another matter (the penalty stays)
        for target in node.targets:
            elements = (
                [e.value for e in target.target.elements]
                if isinstance(target.target, (cst.Tuple, cst.List))
                else [target.target]
            )
            for element in elements:
                if isinstance(element, cst.Attribute):
                    self._check(element, element.value, element.attr.value)

    def _attribute_names(self, value: cst.BaseExpression) -> list[str]:
        """The attribute names a `setattr` second argument can be: a literal, or a loop
        variable over literals (`for attr in ['kernel_regularizer', ...]`)."""
        literal = _string(value)
        if literal is not None:
            return [literal]
        if not isinstance(value, cst.Name):
            return []
        for node in reversed(self.ctx.ancestors):
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                break
            if isinstance(node, cst.For) and list(target_names(node.target)) == [value.value]:
                if isinstance(node.iter, (cst.List, cst.Tuple, cst.Set)):
                    return [s for e in node.iter.elements if (s := _string(e.value)) is not None]
                return []
        return []

    def _check(self, report_node: cst.CSTNode, layer: cst.BaseExpression, attribute: str) -> None:
        if attribute not in WEIGHT_REGULARIZER_ATTRIBUTES:
            return
        model = self._model_of_layer(layer)
        if model is None:
            return
        reason = self._built_reason(model)
        if reason is None:
            frame = self.frames[-1]
            if isinstance(model, cst.Name) and model.value in frame.params and frame.function is not None:
                frame.on_params.append((model.value, attribute, self.order))
            return
        self.frames[-1].candidates.append(
            _Candidate(report_node, attribute, _key(model), reason, self.order, anchor=self._anchor(model))
        )

    def _model_of_layer(self, layer: cst.BaseExpression) -> ModelRef | None:
        """The model a layer expression comes from: `M.layers[i]`, `M.get_layer(...)`, a name
        assigned once from one of those, or the variable of a loop over `M.layers`."""
        direct = _layer_access(layer)
        if direct is not None:
            return direct
        if not isinstance(layer, cst.Name):
            return None
        for node in reversed(self.ctx.ancestors):
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                break
            if isinstance(node, cst.For):
                found = _loop_model(node.target, node.iter, layer.value)
                if found is not None:
                    return found if not isinstance(found, bool) else None
            if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
                for_in: cst.CompFor | None = node.for_in
                while for_in is not None:
                    found = _loop_model(for_in.target, for_in.iter, layer.value)
                    if found is not None:
                        return found if not isinstance(found, bool) else None
                    for_in = for_in.inner_for_in
        value = self.ctx.resolver.single_value(layer)
        return _layer_access(value) if value is not layer else None

    def _built_reason(self, model: ModelRef) -> str | None:
        key = _key(model)
        for frame in reversed(self.frames):
            if key in frame.built:
                return frame.built[key]
            if key in frame.params:
                break  # a parameter: what the caller passes is judged at the call
        if isinstance(model, cst.Attribute):
            value = self._attribute_value(model.attr.value)
        else:
            value = self.ctx.resolver.single_value(model)
        return self._call_reason(value) if isinstance(value, cst.Call) else None

    def _attribute_value(self, attribute: str) -> cst.BaseExpression | None:
        """The one value the enclosing class assigns to `self.<attribute>`, if only one."""
        cls = self.ctx.enclosing(cst.ClassDef)
        if not isinstance(cls, cst.ClassDef):
            return None
        if id(cls) not in self._class_attributes:
            collector = _SelfAssignments()
            cls.body.visit(collector)
            self._class_attributes[id(cls)] = collector.values
        values = self._class_attributes[id(cls)].get(attribute, [])
        return values[0] if len(values) == 1 else None

    def _call_reason(self, value: cst.Call) -> str | None:
        """Why the model this call returns is built, or None when it may not be."""
        name = self.resolve(value.func) or ""
        if any(name.startswith(prefix) for prefix in BUILT_MODEL_CALLS):
            return "a `keras.applications` model is built when it is created"
        if name in MODEL_LOADERS:
            return f"`{name.rsplit('.', 1)[-1]}` returns a built model"
        if name in FUNCTIONAL_MODEL_CLASSES and any(
            arg.keyword is None or arg.keyword.value == "inputs" for arg in value.args
        ):
            return "a functional model is built when it is created"
        if name in SEQUENTIAL_CLASSES and self._sequential_has_input(value):
            return "a Sequential model with an input shape is built when it is created"
        return None

    def _sequential_has_input(self, call: cst.Call) -> bool:
        if not call.args or not isinstance(call.args[0].value, (cst.List, cst.Tuple)):
            return False
        for element in call.args[0].value.elements:
            item = element.value
            if not isinstance(item, cst.Call):
                continue
            if self.resolve(item.func) in INPUT_LAYERS:
                return True
            if any(arg.keyword is not None and arg.keyword.value in INPUT_SHAPE_KEYWORDS for arg in item.args):
                return True
        return False


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


# a model is named by a variable or by an attribute of `self`
ModelRef = cst.Name | cst.Attribute


def _model_ref(node: cst.BaseExpression) -> ModelRef | None:
    if isinstance(node, cst.Name):
        return node
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node
    return None


def _key(model: ModelRef) -> str:
    return model.value if isinstance(model, cst.Name) else f"self.{model.attr.value}"


class _SelfAssignments(cst.CSTVisitor):
    """`self.<name> = value` assignments anywhere in a class body."""

    def __init__(self) -> None:
        self.values: dict[str, list[cst.BaseExpression]] = {}

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            ref = _model_ref(target.target)
            if isinstance(ref, cst.Attribute):
                self.values.setdefault(ref.attr.value, []).append(node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        ref = _model_ref(node.target)
        if isinstance(ref, cst.Attribute):
            self.values.setdefault(ref.attr.value, []).append(node.value)


def _layer_access(node: cst.BaseExpression) -> ModelRef | None:
    """`M` for `M.layers[...]` or `M.get_layer(...)`."""
    if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute):
        attr = node.value
        if attr.attr.value == "layers":
            return _model_ref(attr.value)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "get_layer":
        return _model_ref(node.func.value)
    return None


def _layers_of(iterable: cst.BaseExpression) -> ModelRef | None:
    """`M` for `M.layers` or `M.layers[a:b]`."""
    if isinstance(iterable, cst.Subscript):
        iterable = iterable.value
    if isinstance(iterable, cst.Attribute) and iterable.attr.value == "layers":
        return _model_ref(iterable.value)
    return None


def _loop_model(target: cst.BaseExpression, iterable: cst.BaseExpression, name: str) -> ModelRef | bool | None:
    """For a loop binding `name`: the model whose layers it runs over, False when the loop
    binds `name` to something else, None when the loop does not bind `name`."""
    if name not in list(target_names(target)):
        return None
    if isinstance(target, cst.Name):
        return _layers_of(iterable) or False
    # `for i, layer in enumerate(M.layers)`
    if (
        isinstance(target, (cst.Tuple, cst.List))
        and len(target.elements) == 2
        and isinstance(target.elements[1].value, cst.Name)
        and target.elements[1].value.value == name
        and isinstance(iterable, cst.Call)
        and isinstance(iterable.func, cst.Name)
        and iterable.func.value == "enumerate"
        and iterable.args
    ):
        return _layers_of(iterable.args[0].value) or False
    return False
