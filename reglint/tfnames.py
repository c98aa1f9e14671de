"""What reglint knows about TensorFlow's and Keras's names, in canonical form (see names.py).

Shared by rules so that each list is kept once."""

from __future__ import annotations

import difflib

# tf.compat.v1.GraphKeys, measured on TensorFlow 2.21 (tf-facts.md)
GRAPH_KEYS: dict[str, str] = {
    "ACTIVATIONS": "activations",
    "ASSET_FILEPATHS": "asset_filepaths",
    "BIASES": "biases",
    "CONCATENATED_VARIABLES": "concatenated_variables",
    "COND_CONTEXT": "cond_context",
    "EVAL_STEP": "eval_step",
    "GLOBAL_STEP": "global_step",
    "GLOBAL_VARIABLES": "variables",
    "INIT_OP": "init_op",
    "LOCAL_INIT_OP": "local_init_op",
    "LOCAL_RESOURCES": "local_resources",
    "LOCAL_VARIABLES": "local_variables",
    "LOSSES": "losses",
    "METRIC_VARIABLES": "metric_variables",
    "MODEL_VARIABLES": "model_variables",
    "MOVING_AVERAGE_VARIABLES": "moving_average_variables",
    "QUEUE_RUNNERS": "queue_runners",
    "READY_FOR_LOCAL_INIT_OP": "ready_for_local_init_op",
    "READY_OP": "ready_op",
    "REGULARIZATION_LOSSES": "regularization_losses",
    "RESOURCES": "resources",
    "SAVEABLE_OBJECTS": "saveable_objects",
    "SAVERS": "savers",
    "SUMMARIES": "summaries",
    "SUMMARY_OP": "summary_op",
    "TABLE_INITIALIZERS": "table_initializer",
    "TRAINABLE_RESOURCE_VARIABLES": "trainable_resource_variables",
    "TRAINABLE_VARIABLES": "trainable_variables",
    "TRAIN_OP": "train_op",
    "UPDATE_OPS": "update_ops",
    "VARIABLES": "variables",
    "WEIGHTS": "weights",
    "WHILE_CONTEXT": "while_context",
}
GRAPH_KEYS_CLASS = "tensorflow.GraphKeys"
COLLECTION_NAMES = frozenset(GRAPH_KEYS.values())
REGULARIZATION_COLLECTION = "regularization_losses"

# functions whose first argument names a collection
COLLECTION_READERS = frozenset({"tensorflow.get_collection", "tensorflow.get_collection_ref"})
COLLECTION_WRITERS = frozenset({"tensorflow.add_to_collection", "tensorflow.add_to_collections"})
COLLECTION_METHODS_READ = frozenset({"get_collection", "get_collection_ref"})
COLLECTION_METHODS_WRITE = frozenset({"add_to_collection", "add_to_collections"})

KERAS_REGULARIZER_FUNCTIONS = frozenset({"keras.regularizers.l1", "keras.regularizers.l2", "keras.regularizers.l1_l2"})
KERAS_REGULARIZER_CLASSES = frozenset(
    {"keras.regularizers.L1", "keras.regularizers.L2", "keras.regularizers.L1L2", "keras.regularizers.Regularizer"}
)
CONTRIB_REGULARIZERS = frozenset(
    {
        "tensorflow.contrib.layers.l1_regularizer",
        "tensorflow.contrib.layers.l2_regularizer",
        "tensorflow.contrib.layers.l1_l2_regularizer",
        "tensorflow.contrib.layers.sum_regularizer",
        "slim.l1_regularizer",
        "slim.l2_regularizer",
        "slim.l1_l2_regularizer",
        "slim.regularizers.l1_regularizer",
        "slim.regularizers.l2_regularizer",
        "slim.regularizers.l1_l2_regularizer",
        "tensorflow.contrib.layers.python.layers.regularizers.l1_regularizer",
        "tensorflow.contrib.layers.python.layers.regularizers.l2_regularizer",
    }
)


def nearest(word: str, candidates: list[str] | frozenset[str], cutoff: float = 0.8) -> str | None:
    """The closest candidate by edit similarity, ignoring case first."""
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return lowered[word.lower()]
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return matches[0] if matches else None


# --- REG002/REG003/REG005 ---

# Namespaces whose calls take the `*_initializer=` / `*_regularizer=` keywords the rules read:
# Keras (2, 3, tf.keras, tf_keras), TensorFlow (tf.layers, get_variable, variable_scope,
# tf.contrib.layers) and slim. A callee outside them (a user class, another library) is not
# judged: precision first.
TF_NAMESPACES = ("keras.", "tensorflow.", "slim.")

# Keyword families (rules.md, "Spellings the rules must know"): `<family>_initializer` pairs
# with `<family>_regularizer`. Keras and tf.layers: kernel/bias/depthwise/pointwise/recurrent/
# embeddings/gamma/beta (and PReLU's alpha); slim: weights/biases; get_variable and
# variable_scope: the bare `initializer` / `regularizer`.
PAIRED_FAMILIES = frozenset(
    {
        "kernel",
        "bias",
        "depthwise",
        "pointwise",
        "recurrent",
        "embeddings",
        "gamma",
        "beta",
        "alpha",
        "weights",
        "biases",
    }
)
INITIALIZER_SUFFIX = "initializer"
REGULARIZER_SUFFIX = "regularizer"

# Penalties on biases and on BatchNormalization's shift and scale (REG003).
BIAS_REGULARIZER_KEYWORDS = frozenset(
    {"bias_regularizer", "biases_regularizer", "beta_regularizer", "gamma_regularizer"}
)

# Regularizer factories and classes, called or passed uncalled (canonical names).
KERAS_REGULARIZERS = frozenset(
    {
        *KERAS_REGULARIZER_FUNCTIONS,
        *KERAS_REGULARIZER_CLASSES,
        "keras.regularizers.OrthogonalRegularizer",
        "keras.regularizers.orthogonal_regularizer",
        "keras.regularizers.L1L2",
    }
)

# Functions computing an L2 / L1 penalty of a tensor (the body of a hand-written regularizer,
# and the element of an L2 sum over variables).
PENALTY_FUNCTIONS = frozenset(
    {
        "tensorflow.nn.l2_loss",
        "tensorflow.math.l2_loss",
    }
)

# Initializers: everything under these modules, and TensorFlow's `*_initializer` functions.
INITIALIZER_MODULES = (
    "keras.initializers.",
    "tensorflow.initializers.",
    "tensorflow.contrib.layers.initializers.",
    "slim.initializers.",
)
NOT_INITIALIZERS = frozenset(
    {
        # ops and helpers whose name ends like an initializer, and module helpers
        "tensorflow.global_variables_initializer",
        "tensorflow.local_variables_initializer",
        "tensorflow.variables_initializer",
        "tensorflow.tables_initializer",
        "tensorflow.initialize_all_variables",
        "tensorflow.initializers.global_variables",
        "tensorflow.initializers.local_variables",
        "tensorflow.initializers.variables",
        "tensorflow.initializers.tables_initializer",
        "keras.initializers.get",
        "keras.initializers.serialize",
        "keras.initializers.deserialize",
    }
)


# The string identifiers `keras.initializers.get` / `keras.regularizers.get` accept (Keras 2 and
# 3, snake_case and class names), for a string given to the other kind's slot (REG002).
KERAS_INITIALIZER_IDS = frozenset(
    {
        "glorot_uniform",
        "GlorotUniform",
        "glorot_normal",
        "GlorotNormal",
        "he_normal",
        "HeNormal",
        "he_uniform",
        "HeUniform",
        "lecun_normal",
        "LecunNormal",
        "lecun_uniform",
        "LecunUniform",
        "zeros",
        "Zeros",
        "ones",
        "Ones",
        "random_normal",
        "RandomNormal",
        "random_uniform",
        "RandomUniform",
        "truncated_normal",
        "TruncatedNormal",
        "orthogonal",
        "Orthogonal",
        "identity",
        "Identity",
        "variance_scaling",
        "VarianceScaling",
    }
)
KERAS_REGULARIZER_IDS = frozenset({"l1", "l2", "l1_l2", "L1", "L2", "L1L2", "orthogonal_regularizer"})


def is_initializer_name(name: str | None) -> bool:
    """Whether a canonical name denotes an initializer class or factory."""
    if not name or name in NOT_INITIALIZERS:
        return False
    if name.startswith(INITIALIZER_MODULES):
        return True
    head, _, last = name.rpartition(".")
    return head in ("tensorflow", "tensorflow.contrib.layers", "slim") and last.endswith("_initializer")


# Sources of "every trainable variable" (REG003): calls, and attributes of a model or layer.
TRAINABLE_VARIABLE_CALLS = frozenset({"tensorflow.trainable_variables", "tensorflow.global_variables"})
KERAS_TRAINABLE_ATTRIBUTES = frozenset({"trainable_variables", "trainable_weights"})
TRAINABLE_COLLECTION_KEYS = frozenset(
    {
        "tensorflow.GraphKeys.TRAINABLE_VARIABLES",
        "tensorflow.GraphKeys.GLOBAL_VARIABLES",
        "tensorflow.GraphKeys.VARIABLES",
    }
)

# Scopes whose `regularizer=` applies to every variable created in them (REG003).
VARIABLE_SCOPES = frozenset({"tensorflow.variable_scope"})
VARIABLE_GETTERS = frozenset({"tensorflow.get_variable", "slim.model_variable", "slim.variable"})
VARIABLE_CLASSES = frozenset({"tensorflow.Variable", "keras.Variable"})
# every call that creates a variable (the dataflow's WEIGHT tag)
VARIABLE_MAKERS = (
    VARIABLE_GETTERS
    | VARIABLE_CLASSES
    | {
        "tensorflow.get_local_variable",
        "tensorflow.contrib.layers.variable",
        "tensorflow.contrib.layers.model_variable",
    }
)

# Contrib regularizers and their Keras equivalents (REG005): contrib's `l2_regularizer(s)`
# computes `s * tf.nn.l2_loss(w) == s / 2 * sum(w**2)`, Keras's `l2(l)` computes
# `l * sum(w**2)` (tf-facts.md, Scales).
CONTRIB_TO_KERAS = {
    "tensorflow.contrib.layers.l1_regularizer": "l1",
    "tensorflow.contrib.layers.l2_regularizer": "l2",
    "tensorflow.contrib.layers.l1_l2_regularizer": "l1_l2",
    "tensorflow.contrib.layers.python.layers.regularizers.l1_regularizer": "l1",
    "tensorflow.contrib.layers.python.layers.regularizers.l2_regularizer": "l2",
    "tensorflow.contrib.layers.python.layers.regularizers.l1_l2_regularizer": "l1_l2",
    "slim.l1_regularizer": "l1",
    "slim.l2_regularizer": "l2",
    "slim.l1_l2_regularizer": "l1_l2",
    "slim.regularizers.l1_regularizer": "l1",
    "slim.regularizers.l2_regularizer": "l2",
    "slim.regularizers.l1_l2_regularizer": "l1_l2",
}

REGULARIZER_FACTORIES = KERAS_REGULARIZERS | CONTRIB_REGULARIZERS | frozenset(CONTRIB_TO_KERAS)


# --- REG008/REG011/REG012 ---
ADD_LOSS_METHOD = "add_loss"

# --- REG002/REG003 ---
# Keras Layer methods that take `initializer=` / `regularizer=` (custom layers call them on self)
WEIGHT_METHODS = frozenset({"add_weight", "add_variable"})


def is_keras_name(name: str | None) -> bool:
    """Whether a canonical name lies in Keras (any spelling: keras, tf.keras, tf_keras)."""
    return name is not None and (name == "keras" or name.startswith("keras."))


# REG008: attributes Keras reads only when a layer builds its weights (activity_regularizer is
# applied on every call, so setting it late works and is not listed)
WEIGHT_REGULARIZER_ATTRIBUTES = frozenset(
    {
        "kernel_regularizer",
        "bias_regularizer",
        "depthwise_regularizer",
        "pointwise_regularizer",
        "recurrent_regularizer",
        "embeddings_regularizer",
        "gamma_regularizer",
        "beta_regularizer",
        "alpha_regularizer",
    }
)
BUILT_MODEL_CALLS = ("keras.applications.",)  # prefixes: every application model is built
MODEL_LOADERS = frozenset(
    {
        "keras.models.load_model",
        "keras.saving.load_model",
        "keras.models.model_from_json",
        "keras.models.model_from_config",
        "keras.models.model_from_yaml",
        "keras.saving.model_from_json",
    }
)
FUNCTIONAL_MODEL_CLASSES = frozenset({"keras.Model", "keras.models.Model"})
SEQUENTIAL_CLASSES = frozenset({"keras.Sequential", "keras.models.Sequential"})
INPUT_LAYERS = frozenset({"keras.Input", "keras.layers.Input", "keras.layers.InputLayer"})
INPUT_SHAPE_KEYWORDS = frozenset({"input_shape", "input_dim", "batch_input_shape"})
# methods that leave a model built (or need it built)
MODEL_BUILDING_METHODS = frozenset(
    {
        "build",
        "fit",
        "fit_generator",
        "predict",
        "predict_generator",
        "predict_on_batch",
        "evaluate",
        "evaluate_generator",
        "train_on_batch",
        "test_on_batch",
        "summary",
    }
)
# calls that rebuild a model from a config that names its layers' regularizers
MODEL_REBUILDERS = frozenset(
    {
        "to_json",
        "to_yaml",
        "get_config",
        "from_config",
        "clone_model",
        "model_from_json",
        "model_from_config",
        "model_from_yaml",
        "load_model",
    }
)

# REG011: Adam-family optimizers (their decoupled forms, AdamW and `weight_decay=`, are not here)
ADAM_FAMILY_OPTIMIZERS = frozenset(
    {
        f"{module}.{name}"
        for module in (
            "keras.optimizers",
            "keras.optimizers.legacy",
            "keras.optimizers.experimental",
            "keras.optimizers.adam",
            "tensorflow.optimizers",
        )
        for name in ("Adam", "Adamax", "Nadam")
    }
    | {
        "tensorflow.train.AdamOptimizer",
        "tensorflow.contrib.opt.NadamOptimizer",
        "tensorflow.contrib.opt.AdaMaxOptimizer",
    }
)
ADAM_FAMILY_STRINGS = frozenset({"adam", "adamax", "nadam"})
KERAS_L2 = frozenset({"keras.regularizers.l2", "keras.regularizers.L2"})
KERAS_L1_L2 = frozenset({"keras.regularizers.l1_l2", "keras.regularizers.L1L2"})
L2_LOSS_FUNCTIONS = frozenset({"tensorflow.nn.l2_loss"})
# --- REG001 family ---
# Readers of the regularization collection (reglint/dataflow.py, REG001/REG006/REG007/REG009).
REG_LIST_READERS = frozenset(
    {
        "tensorflow.losses.get_regularization_losses",
        "slim.losses.get_regularization_losses",
        "tensorflow.contrib.losses.get_regularization_losses",
    }
)
REG_SCALAR_READERS = frozenset({"tensorflow.losses.get_regularization_loss"})
REG_TOTAL_READERS = frozenset(
    {"tensorflow.losses.get_total_loss", "slim.losses.get_total_loss", "tensorflow.contrib.losses.get_total_loss"}
)
# calls that consume a value without optimizing it (printing, logging, summaries)
NEUTRAL_PREFIXES = (
    "builtins.print",
    "builtins.len",
    "builtins.str",
    "builtins.repr",
    "builtins.isinstance",
    "logging.",
    "absl.logging.",
    "tensorflow.summary.",
    "tensorflow.logging.",
    "tensorflow.print",
    "tensorflow.Print",
    "tensorflow.debugging.",
    "numpy.",
)
# slim's network libraries' arg scopes that declare a weight regularizer: each one's
# `weights_regularizer=l2_regularizer(weight_decay)` on conv2d / fully_connected (none sets
# `biases_regularizer=`), with the `weight_decay` default and its position among the
# parameters. Read from the sources of tf_slim 1.1 (`tf_slim/nets/`) and tensorflow/models
# (`research/slim/nets/`, imported as `nets`). `lenet_arg_scope` (default 0.0, and
# `l2_regularizer(0.0)` declares nothing) is left out.
SLIM_NET_ARG_SCOPES: dict[str, tuple[float, int]] = {
    "vgg_arg_scope": (0.0005, 0),
    "alexnet_v2_arg_scope": (0.0005, 0),
    "overfeat_arg_scope": (0.0005, 0),
    "resnet_arg_scope": (0.0001, 0),
    "inception_arg_scope": (0.00004, 0),
    "inception_v1_arg_scope": (0.00004, 0),
    "inception_v2_arg_scope": (0.00004, 0),
    "inception_v3_arg_scope": (0.00004, 0),
    "inception_v4_arg_scope": (0.00004, 0),
    "inception_resnet_v2_arg_scope": (0.00004, 0),
    "mobilenet_v1_arg_scope": (0.00004, 1),
    "cifarnet_arg_scope": (0.004, 0),
}
# the packages those arg scopes are reached through (tf_slim and tf.contrib.slim resolve to
# `slim`, see reglint/names.py)
SLIM_NETS_PACKAGES = ("slim.nets.", "nets.")

# TF1 calls that attach a regularizer to the variables they create (the collection gets it)
GRAPH_DECLARERS_PREFIXES = ("tensorflow.layers.", "tensorflow.contrib.layers.", "slim.")
GRAPH_DECLARERS = frozenset(
    {"tensorflow.get_variable", "tensorflow.variable_scope", "tensorflow.get_local_variable", "slim.arg_scope"}
)


def is_neutral_call(name: str) -> bool:
    return name.startswith(NEUTRAL_PREFIXES)


def is_optimizer_class(name: str) -> bool:
    """`tf.train.AdamOptimizer`, `keras.optimizers.Adam`, `tf.optimizers.SGD`, ..."""
    return name.startswith(
        ("tensorflow.train.", "keras.optimizers.", "tensorflow.optimizers.", "tensorflow.contrib.opt.")
    ) and (name.endswith("Optimizer") or name.startswith(("keras.optimizers.", "tensorflow.optimizers.")))


# Framework helpers that penalize every trainable variable whose name matches a regex (REG003):
# tensorpack's `regularize_cost(regex, func)` (`re.search` on each variable's op name; its
# layers name kernels `W` and biases `b`, BatchNorm's `beta` and `gamma`). The module a star
# import names (`from tensorpack import *`) and the function's name.
PATTERN_REGULARIZERS = {"tensorpack": frozenset({"regularize_cost"})}
# op names of biases as the frameworks create them, which such a regex must not match
BIAS_OP_NAMES = ("conv0/b", "fc/b", "bn/beta", "bn/gamma", "conv0/bias", "fc/biases", "dense/bias")

# contrib's / slim's `apply_regularization(regularizer, weights_list)`: the regularizer applied
# to each tensor of the list, summed (REG003: over biases; REG007: over the penalties)
APPLY_REGULARIZATION = frozenset({"tensorflow.contrib.layers.apply_regularization", "slim.apply_regularization"})
