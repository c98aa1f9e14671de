from __future__ import annotations

from collections.abc import Iterable, Iterator

import libcst as cst

from reglint.dataflow import Flow, FlowRule
from reglint.engine import FileContext
from reglint.flowfix import (
    add_term_fix,
    assignments_of,
    call_argument,
    is_graph_declarer,
    mentions,
    reference_to,
    regularizer_keyword,
    slim_net_arg_scope,
)
from reglint.interproc import (
    Bindings,
    call_facts,
    callers_wanted,
    denotes,
    module_of,
    names_module,
    param_refs,
    qualified_name,
)
from reglint.judge import ProjectFacts
from reglint.model import Fact, Finding, Safety
from reglint.names import dotted, imported_from
from reglint.nodes import child_nodes, is_expression
from reglint.patterns import graph_key
from reglint.rule import Invalid, Token, Valid, Word
from reglint.tfnames import (
    COLLECTION_METHODS_READ,
    COLLECTION_NAMES,
    COLLECTION_READERS,
    GRAPH_KEYS,
    REG_LIST_READERS,
    REG_SCALAR_READERS,
    REG_TOTAL_READERS,
    REGULARIZATION_COLLECTION,
    nearest,
)
from reglint.values import (
    ALWAYS_TRAINING_TOKENS,
    COVERING,
    GRAPH_FAMILY,
    GRAPH_READ_TOKENS,
    KERAS_LOSSES,
    KERAS_LOSSES_TOKEN,
    KERAS_MODEL,
    L2_ALL,
    L2_TOKENS,
    OPAQUE,
    PENALTIES,
    TRAINABLE_TOKENS,
    Handed,
    Imported,
    Param,
    Scope,
    Sink,
    Source,
    carried,
    lossy,
)

TF1 = "import tensorflow.compat.v1 as tf\n"
LOSSES_COLLECTION = "losses"  # tf.GraphKeys.LOSSES
# modules shared by several examples below
STEPS = (
    "import tensorflow as tf\n"
    "inputs = tf.keras.Input([8])\n"
    "net = tf.keras.Model(inputs, tf.keras.layers.Dense(1, kernel_regularizer='l2')(inputs))\n"
    "def step(x, y, extra):\n"
    "    with tf.GradientTape() as tape:\n"
    "        objective = tf.reduce_mean(tf.square(net(x) - y)) + extra\n"
    "    return tape.gradient(objective, net.trainable_variables)\n"
)
EXTRA_MODEL = (
    TF1 + "def train(x, y, extra):\n"
    "    w = tf.get_variable('w', [3, 1], regularizer=tf.keras.regularizers.l2(0.01))\n"
    "    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y)) + extra\n"
    "    return tf.train.AdamOptimizer().minimize(loss)\n"
)
DECAYED_NET = (
    TF1 + "def decayed_weight(name, shape, wd=5e-4):\n"
    "    w = tf.get_variable(name, shape)\n"
    "    tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, wd * tf.nn.l2_loss(w))\n"
    "    return w\n"
    "def logits(x):\n"
    "    return tf.matmul(x, decayed_weight('w', [8, 3]))\n"
)
KERAS_SUBCLASS = (
    "import tensorflow as tf\nfrom base import Base\n"
    "class Net(Base):\n"
    "    def train_step(self, x, y):\n"
    "        with tf.GradientTape() as tape:\n"
    "            loss = tf.reduce_mean(tf.square(self(x) - y))\n"
    "            reg = tf.add_n(self.losses)\n"
    "        return tape.gradient(loss, self.trainable_variables)\n"
)
BUILD_LOSS_TRAIN = (
    TF1 + "from net import build_loss\n"
    "loss = build_loss(x, y, 0.01)\n"
    "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
)

_TRAINS = (*ALWAYS_TRAINING_TOKENS, b"gradients", b"GradientTape")
_PENALTY_TERMS: tuple[tuple[bytes, ...], ...] = (
    *((read,) for read in GRAPH_READ_TOKENS),
    (KERAS_LOSSES_TOKEN,),
    *((weights, *l2) for weights in TRAINABLE_TOKENS for l2 in L2_TOKENS),
)
_DECLARERS = (b"get_variable", b"get_local_variable", b"variable_scope", b"layers", b"slim", b"arg_scope")
_READ_TOKENS = (b"get_collection", b"add_to_collection", *GRAPH_READ_TOKENS)


class RegularizationNotInLoss(FlowRule):
    """
    ## What it does
    Flags regularization that exists but never reaches the loss that is optimized, in three
    shapes: the regularization collection (or `get_regularization_loss()`, or an L2 sum over
    all trainable variables, or `model.losses`) is read but never added to the loss that
    reaches `minimize`, `compute_gradients`, `create_train_op`, `EstimatorSpec`, or
    `tf.gradients` / `tape.gradient` with respect to the trainable variables (a gradient
    with respect to an input, as for a saliency map, is no training); regularizers are
    attached (`regularizer=`, `*_regularizer=`, `variable_scope(regularizer=...)`, slim's
    network arg scopes, `vgg.vgg_arg_scope()`, `resnet_arg_scope()` and the others, whose
    `weight_decay` default sets `weights_regularizer=`, or a penalty written by hand with
    `add_to_collection(REGULARIZATION_LOSSES, ...)`) in graph code that trains while nothing
    in the whole project reads the regularization collection; a Keras model built with
    `*_regularizer=` (in the same file, or by a function or `keras.Model` subclass of
    another module of the project) is trained in a `tf.GradientTape` loop whose loss never
    includes `model.losses`, and never by `compile` / `fit`. Also a penalty put in a custom
    collection (`add_to_collection("reg_loss", wd * tf.nn.l2_loss(w))`) that nothing in the
    project reads: it never reaches any loss (this rule's, not REG004's: no name is
    misspelled). In library code (no training call anywhere in the project), a total loss
    assembled from the losses collection (`tf.add_n(tf.get_collection("losses"))`) while the
    regularization collection is filled and never read is reported where it is assembled.

    Training code lives in functions, methods and several modules, and the rule follows it
    there. A parameter carries what the project's call sites pass to it (through wrappers,
    constructors and `self` attributes); a function no call site reaches (an Estimator
    `model_fn`, a method a framework calls) has parameters that carry nothing, unless the
    parameter is named for a loss or a penalty (`total_loss`, `reg_loss`, `l2`). A loss read
    by name from an object of another module (`layers["total_loss"]`) is cited where it is
    formed. A regularizer declared in one module concerns a training script elsewhere in the
    project (a trainer may be handed the model another script builds), but a notebook only
    when it imports that module, directly or through the project's modules, or runs code by
    other means (`%run`, `exec`, `importlib`): a notebook is imported by nothing. A collection
    key spelled `tf.GraphKeys.NAME` is that collection even when `tf` does not resolve (a star
    import). Only what stands for every declared regularizer counts as adding them: a penalty
    on some tensors (`l2_reg * tf.nn.l2_loss(embedding)`) does not, and a square that is not
    computed from weights (a WGAN-GP gradient penalty, an MSE) is no weight penalty at all.

    ## Why is this bad?
    In TensorFlow 1, a regularizer only puts a tensor in the `REGULARIZATION_LOSSES`
    collection; nothing adds it to the loss. In a Keras custom training loop, nothing adds
    `model.losses` either. The program runs exactly as before, printing a regularization
    loss if you ask for it, and trains without the penalty.

    Each finding sits at the training call whose loss lacks the penalty, and cites where the
    regularization comes from as `path:line`. When the loss flows through a function of
    another library the analysis cannot see, or a model is handed to such a function whose
    result is part of the loss (`loss = compute_loss(model, x, y)`), the rule stays silent; a
    model handed to a helper that cannot touch the loss (`load_weights(model, path)`) does
    not silence it.

    ## Example
    ```python
    import tensorflow.compat.v1 as tf

    w = tf.get_variable("w", [3, 1], regularizer=tf.keras.regularizers.l2(0.01))
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
    reg_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    ```

    Use instead:
    ```python
    import tensorflow.compat.v1 as tf

    w = tf.get_variable("w", [3, 1], regularizer=tf.keras.regularizers.l2(0.01))
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
    reg_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    loss = loss + tf.add_n(reg_losses)
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    ```

    For a Keras custom loop, add `sum(model.losses)` to the loss inside the tape.

    ## Fix safety
    Unsafe: the fix adds the penalty to the optimized loss, which changes what is trained.
    The term is added where the loss is formed: on a new line before the training call
    (`loss = loss + tf.add_n(reg_losses)`), or, for a `GradientTape`, after the last
    assignment of the loss inside the tape (`loss = loss + sum(model.losses)`). No fix is
    offered when the regularization value cannot be named at that point (a read bound to no
    variable, a variable of another function), or the loss is not a plain name; the finding
    is reported all the same.

    ## References
    - [tf.compat.v1.losses.get_regularization_loss](https://www.tensorflow.org/api_docs/python/tf/compat/v1/losses/get_regularization_loss)
    - [Writing a training loop from scratch](https://keras.io/guides/writing_a_custom_training_loop_in_tensorflow/)
    """

    code = "REG001"
    name = "regularization-not-in-loss"
    # What each finding or fact needs in its file (see reglint/dataflow.py):
    # - shape 1: a training call AND a penalty it could receive (the collection,
    #   `get_regularization_loss(es)`, `get_total_loss`, `.losses`, or an L2 over all the
    #   `variables` / `weights`: `l2_loss`, `norm`, a regularizer applied, or a `sum` of
    #   `square`s, `abs`es or powers). `minimize`, `compute_gradients`, `create_train_op` and
    #   `EstimatorSpec` always train; `tf.gradients` and `tape.gradient` train only with
    #   respect to the `variables` / `weights`;
    # - a `GradientTape` loop (shape 3 here, and the `keras_loop` facts shape 3 across modules
    #   joins) trains with respect to the variables, or holds a model built with
    #   `*_regularizer=`;
    # - `read` facts: a collection read (an unknown key may be REGULARIZATION_LOSSES) or a
    #   regularization-loss reader.
    # Shape 2 matters only in a project that never reads the collection: `wanted_tokens`
    # then asks for the files that declare regularizers, and once some do, for the files
    # that train. The `keras_returns` facts of an import chain are asked for by module name
    # (`wanted_modules`).
    TOKENS = (
        *((b"GradientTape", need) for need in (*TRAINABLE_TOKENS, b"_regularizer")),
        *((sink, *term) for sink in ALWAYS_TRAINING_TOKENS for term in _PENALTY_TERMS),
        *((Word(b"gradients"), weights, *term) for weights in TRAINABLE_TOKENS for term in _PENALTY_TERMS),
        *_READ_TOKENS,
    )
    fix_safety = Safety.UNSAFE

    VALID = [
        # the collection is read under a misspelled key: REG004's finding, not this rule's too
        Valid(
            "import tensorflow.compat.v1 as tf\n"
            "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.01))\n"
            "loss = tf.reduce_mean(tf.square(h))\n"
            "loss = loss + tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATOIN_LOSSES))\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        Valid(
            "import tensorflow.compat.v1 as tf\n"
            "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.01))\n"
            "loss = tf.reduce_mean(tf.square(h)) + tf.add_n(tf.get_collection('regularization_loss'))\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        # a library's arg scope concerns the network built under it: an inference script's
        # says nothing of a model another script of the project trains
        Valid(
            files={
                "examples/saliency.py": "import tensorflow.compat.v1 as tf\nimport tf_slim as slim\n"
                "from nets import resnet_v1\n\n"
                "with slim.arg_scope(resnet_v1.resnet_arg_scope()):\n"
                "    logits, _ = resnet_v1.resnet_v1_50(image, is_training=False)\n"
                "saliency = tf.gradients(tf.reduce_max(logits), image)\n",
                "examples/gan.py": "import tensorflow.compat.v1 as tf\n\n"
                "h = tf.layers.dense(z, 8)\n"
                "loss = tf.reduce_mean(tf.square(h - x))\n"
                "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            }
        ),
        # slim's network arg scope with no weight decay declares nothing; with one, the loss
        # takes the regularization losses
        Valid(
            "import tensorflow.compat.v1 as tf\nimport tf_slim as slim\nfrom tf_slim.nets import resnet_v1\n\n"
            "with slim.arg_scope(resnet_v1.resnet_arg_scope(weight_decay=0.0)):\n"
            "    logits, _ = resnet_v1.resnet_v1_50(images, 10)\n"
            "loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)\n"
            "train_op = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)\n"
        ),
        Valid(
            "import tensorflow.compat.v1 as tf\nimport tf_slim as slim\nfrom tf_slim.nets import resnet_v1\n\n"
            "with slim.arg_scope(resnet_v1.resnet_arg_scope()):\n"
            "    logits, _ = resnet_v1.resnet_v1_50(images, 10)\n"
            "tf.losses.sparse_softmax_cross_entropy(labels, logits)\n"
            "train_op = tf.train.MomentumOptimizer(0.1, 0.9).minimize(tf.losses.get_total_loss())\n"
        ),
        # TensorFlow's FGSM tutorial: the gradient with respect to the image trains nothing, so
        # the model's regularizers have no business in that loss
        Valid(
            "import tensorflow as tf\n"
            "reg = tf.keras.regularizers.l2(1e-4)\n"
            "model = tf.keras.Sequential([tf.keras.layers.Dense(10, kernel_regularizer=reg)])\n"
            "def adversarial_pattern(image, label):\n"
            "    with tf.GradientTape() as tape:\n"
            "        tape.watch(image)\n"
            "        loss = tf.keras.losses.categorical_crossentropy(label, model(image))\n"
            "    return tf.sign(tape.gradient(loss, image))\n"
        ),
        # seed 002: the collection concatenated to the base loss
        Valid(
            TF1 + "base_loss = tf.reduce_mean(tf.square(y - p))\n"
            "l2_loss = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "loss = tf.add_n([base_loss] + l2_loss, name='loss')\n"
            "train_op = tf.train.AdamOptimizer(0.1).minimize(loss)\n"
        ),
        # seed 001: the sum added in front of the loss
        Valid(
            TF1 + "loss = tf.reduce_mean(tf.square(y - p))\n"
            "regularization_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "loss = tf.add_n(regularization_losses) + loss\n"
            "train_op = tf.train.AdamOptimizer(0.1).minimize(loss)\n"
        ),
        # seed 003: a custom collection of penalties and data loss, summed
        Valid(
            TF1 + "def get_weight(shape, r):\n"
            "    var = tf.Variable(tf.random_normal(shape))\n"
            "    tf.add_to_collection('losses', tf.keras.regularizers.l2(r)(var))\n"
            "    return var\n"
            "w = get_weight([2, 1], 0.001)\n"
            "mse_loss = tf.reduce_mean(tf.square(y_ - tf.matmul(x, w)))\n"
            "tf.add_to_collection('losses', mse_loss)\n"
            "loss = tf.add_n(tf.get_collection('losses'))\n"
            "train_step = tf.train.AdamOptimizer(0.001).minimize(loss)\n"
        ),
        # seed 004: a manual L2 over the trainable variables, added
        Valid(
            TF1 + "loss = tf.reduce_mean(xent)\n"
            "tv = tf.trainable_variables()\n"
            "Regularization_term = 0.0005 * tf.reduce_sum([tf.nn.l2_loss(v) for v in tv])\n"
            "loss = Regularization_term + loss\n"
            "train_op = tf.train.AdamOptimizer(0.005).minimize(loss)\n"
        ),
        # get_total_loss includes the collection
        Valid(
            TF1 + "w = tf.get_variable('w', [3], regularizer=tf.keras.regularizers.l2(0.1))\n"
            "tf.losses.mean_squared_error(y, p)\n"
            "total = tf.losses.get_total_loss()\n"
            "train_op = tf.train.AdamOptimizer(0.1).minimize(total)\n"
        ),
        # slim's total loss and train op
        Valid(
            "import tensorflow.compat.v1 as tf\nimport tf_slim as slim\n"
            "net = slim.fully_connected(x, 10, weights_regularizer=slim.l2_regularizer(0.1))\n"
            "slim.losses.softmax_cross_entropy(net, labels)\n"
            "total_loss = slim.losses.get_total_loss()\n"
            "train_op = slim.learning.create_train_op(total_loss, tf.train.AdamOptimizer())\n"
        ),
        # an Estimator model function
        Valid(
            TF1 + "def model_fn(features, labels, mode):\n"
            "    logits = tf.layers.dense(features, 2, kernel_regularizer=tf.keras.regularizers.l2(0.1))\n"
            "    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)\n"
            "    loss += tf.losses.get_regularization_loss()\n"
            "    train_op = tf.train.AdamOptimizer().minimize(loss)\n"
            "    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)\n"
        ),
        # Keras compile + fit adds model.losses itself
        Valid(
            "import keras\nimport tensorflow as tf\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer=keras.regularizers.l2(0.01))])\n"
            "model.compile(optimizer='sgd', loss='mse')\n"
            "model.fit(x, y)\n"
        ),
        # a custom loop that adds sum(model.losses)
        Valid(
            "import keras\nimport tensorflow as tf\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer=keras.regularizers.l2(0.01))])\n"
            "opt = keras.optimizers.SGD(0.1)\n"
            "with tf.GradientTape() as tape:\n"
            "    loss = tf.reduce_mean(tf.square(model(x) - y))\n"
            "    loss = loss + sum(model.losses)\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n"
        ),
        # the loss built in a helper function and returned
        Valid(
            TF1 + "def build_loss(base):\n"
            "    reg = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "    return base + tf.add_n(reg)\n"
            "loss = build_loss(tf.reduce_mean(tf.square(y - p)))\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        # ... or in another module
        Valid(
            files={
                "model.py": TF1 + "def build(x):\n"
                "    return tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.1))\n",
                "losses.py": TF1 + "def total(base):\n    return base + tf.losses.get_regularization_loss()\n",
                "train.py": TF1 + "from model import build\nfrom losses import total\n"
                "loss = total(tf.reduce_mean(tf.square(build(x) - y)))\n"
                "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            }
        ),
        # a reg list handed to a function the analysis cannot see
        Valid(
            TF1 + "from helpers import combine\n"
            "reg = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "loss = combine(base, reg)\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        # the model handed to a training helper the analysis cannot see
        Valid(
            "import keras\nimport tensorflow as tf\nfrom lib import train_step\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n"
            "with tf.GradientTape() as tape:\n"
            "    loss = train_step(model, x, y)\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n"
        ),
        # the imported model is also trained with fit (another mode of the script)
        Valid(
            files={
                "models.py": "import keras\n"
                "def build():\n"
                "    return keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n",
                "train.py": "import tensorflow as tf\nfrom models import build\nmodel = build()\n"
                "if eager:\n"
                "    with tf.GradientTape() as tape:\n"
                "        loss = tf.reduce_mean(model(x))\n"
                "    grads = tape.gradient(loss, model.trainable_variables)\n"
                "else:\n"
                "    model.compile('sgd', 'mse')\n"
                "    model.fit(x, y)\n",
            }
        ),
        # an imported model without regularizers
        Valid(
            files={
                "models.py": "import keras\ndef build():\n    return keras.Sequential([keras.layers.Dense(1)])\n",
                "train.py": "import tensorflow as tf\nfrom models import build\nmodel = build()\n"
                "with tf.GradientTape() as tape:\n"
                "    loss = tf.reduce_mean(model(x))\n"
                "grads = tape.gradient(loss, model.trainable_variables)\n",
            }
        ),
        # attributes: set in one method, used in another
        Valid(
            TF1 + "class Net:\n"
            "    def build(self):\n"
            "        self.reg_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "        self.loss = tf.reduce_mean(tf.square(self.y - self.p))\n"
            "    def train(self):\n"
            "        total = self.loss + tf.add_n(self.reg_losses)\n"
            "        return tf.train.AdamOptimizer().minimize(total)\n"
        ),
        # a gradient with respect to the input image (a saliency map) is no training
        Valid(
            TF1 + "reg = tf.losses.get_regularization_loss()\n"
            "saliency = tf.gradients(logits[:, label], images)\n"
            "print(sess.run([reg, saliency]))\n"
        ),
        # printed, but nothing is trained in this file
        Valid(TF1 + "reg = tf.losses.get_regularization_loss()\nprint(sess.run(reg))\n"),
        # a penalty put in a custom collection through a helper whose parameter is the name,
        # and read back (through another helper's default) into the loss
        Valid(
            TF1 + "def stash(value, bucket):\n"
            "    tf.add_to_collection(bucket, value)\n"
            "def penalties(bucket='penalties'):\n"
            "    return tf.add_n(tf.get_collection(bucket))\n"
            "w = tf.get_variable('w', [4, 1])\n"
            "stash(1e-4 * tf.nn.l2_loss(w), 'penalties')\n"
            "loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y)) + penalties()\n"
            "step = tf.train.AdamOptimizer().minimize(loss)\n"
        ),
        # parameters are bound from their call sites across the project: the caller passes
        # the model's losses to the loop's parameter ...
        Valid(
            files={
                "steps.py": STEPS,
                "train.py": "from steps import net, step\nstep(x, y, sum(net.losses))\n",
            }
        ),
        # ... or, through a wrapper of a third module, an L2 penalty over every variable
        Valid(
            files={
                "model.py": EXTRA_MODEL,
                "wrapper.py": "from model import train\ndef run(x, y, penalty):\n    return train(x, y, penalty)\n",
                "main.py": TF1 + "from wrapper import run\n"
                "op = run(x, y, 1e-4 * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()]))\n",
            }
        ),
        # `self.losses` of a project's own class (no Keras base) is its list of loss terms
        Valid(
            TF1 + "class Heads:\n"
            "    def __init__(self, logits, labels):\n"
            "        self.losses = [tf.losses.softmax_cross_entropy(labels, logits)]\n"
            "        self.loss = tf.add_n(self.losses) + tf.losses.get_regularization_loss()\n"
            "        self.fetches = [self.loss, self.losses]\n"
            "        self.op = tf.train.AdamOptimizer().minimize(self.loss)\n"
        ),
        # ... also when its base class comes from another module of the project
        Valid(
            files={
                "base.py": "class Base:\n    def __init__(self):\n        self.losses = []\n",
                "net.py": KERAS_SUBCLASS,
            }
        ),
        # library code that assembles its total loss from both collections
        Valid(
            files={
                "net.py": DECAYED_NET,
                "objective.py": TF1 + "def total_loss(logits, labels):\n"
                "    tf.add_to_collection('losses', tf.losses.softmax_cross_entropy(labels, logits))\n"
                "    return tf.add_n(tf.get_collection('losses') + "
                "tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))\n",
            }
        ),
        # a loss built by a loss-named function of another module whose result comes from a
        # library the analysis cannot see (which may add the regularization)
        Valid(
            files={
                "net.py": TF1 + "from toolbox import detection_loss\n"
                "def build_loss(x, y, wd):\n"
                "    pred = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(wd))\n"
                "    return detection_loss(pred, y)\n",
                "train.py": BUILD_LOSS_TRAIN,
            }
        ),
        # a loss-named parameter no call site of the file binds may hold the penalty
        Valid(
            TF1 + "reg = tf.losses.get_regularization_loss()\n"
            "def make_train_op(total_loss):\n"
            "    return tf.train.AdamOptimizer().minimize(total_loss)\n"
        ),
        # the model handed to a helper that computes the loss: it may add the model's losses
        Valid(
            "import tensorflow as tf\nfrom objectives import detection_loss\n"
            "inputs = tf.keras.Input([8])\n"
            "outputs = tf.keras.layers.Dense(1, kernel_regularizer=tf.keras.regularizers.l2(1e-4))(inputs)\n"
            "net = tf.keras.Model(inputs, outputs)\n"
            "def step(x, y):\n"
            "    with tf.GradientTape() as tape:\n"
            "        objective = detection_loss(net, x, y)\n"
            "    return tape.gradient(objective, net.trainable_variables)\n"
        ),
    ]
    INVALID = [
        Invalid(
            "import tensorflow.compat.v1 as tf\nimport tf_slim as slim\nfrom tf_slim.nets import vgg\n\n"
            "with slim.arg_scope(vgg.vgg_arg_scope()):\n"
            "    logits, _ = vgg.vgg_16(images, num_classes=10)\n"
            "loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)\n"
            "train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)\n",
            fixed="import tensorflow.compat.v1 as tf\nimport tf_slim as slim\nfrom tf_slim.nets import vgg\n\n"
            "with slim.arg_scope(vgg.vgg_arg_scope()):\n"
            "    logits, _ = vgg.vgg_16(images, num_classes=10)\n"
            "loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)\n"
            "loss = loss + tf.losses.get_regularization_loss()\n"
            "train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)\n",
            message="l2_regularizer(0.0005)",
        ),
        # slim's network arg scopes declare a weight regularizer (`resnet_arg_scope`: 1e-4 by
        # default) that this loss never takes, also from another module of the project
        Invalid(
            files={
                "net/scopes.py": "from nets import resnet_v1\n\n"
                "def scope(decay):\n"
                "    return resnet_v1.resnet_arg_scope(weight_decay=decay)\n",
                "net/train.py": "import tensorflow.compat.v1 as tf\nimport tf_slim as slim\n"
                "from nets import resnet_v1\nfrom net.scopes import scope\n\n"
                "with slim.arg_scope(scope(1e-4)):\n"
                "    logits, _ = resnet_v1.resnet_v1_50(images, 10)\n"
                "loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)\n"
                "train_op = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)\n",
            },
            path="net/train.py",
            message="`resnet_arg_scope()`, which sets `weights_regularizer=l2_regularizer(weight_decay)`",
        ),
        # a training call in a loop over towers or steps: the term is added once, before it
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "loss = tf.reduce_mean(tf.square(y - p))\n"
            "reg_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "ops = []\n"
            "for gpu in range(4):\n"
            "    with tf.device('/gpu:%d' % gpu):\n"
            "        ops.append(tf.train.AdamOptimizer(0.1).minimize(loss))\n",
            fixed="import tensorflow.compat.v1 as tf\n"
            "loss = tf.reduce_mean(tf.square(y - p))\n"
            "reg_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "ops = []\n"
            "loss = loss + tf.add_n(reg_losses)\n"
            "for gpu in range(4):\n"
            "    with tf.device('/gpu:%d' % gpu):\n"
            "        ops.append(tf.train.AdamOptimizer(0.1).minimize(loss))\n",
        ),
        # a global loss formed elsewhere: each call would add the term again, so no fix
        Invalid(
            "import tensorflow.compat.v1 as tf\n"
            "h = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(0.1))\n"
            "loss = tf.reduce_mean(h)\n\n"
            "def step():\n"
            "    global loss\n"
            "    loss += 0.0\n"
            "    return tf.train.AdamOptimizer().minimize(loss)\n",
            message="nothing in the project reads",
        ),
        # an Estimator model function: its parameters carry nothing the project passes (no
        # call site), so the loss is known, and it lacks the declared regularizer
        Invalid(
            TF1 + "def model_fn(features, labels, mode, params):\n"
            "    net = tf.layers.dense(features['x'], 64, kernel_regularizer=tf.keras.regularizers.l2(1e-4))\n"
            "    logits = tf.layers.dense(net, 10)\n"
            "    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)\n"
            "    train_op = tf.train.AdamOptimizer().minimize(loss, tf.train.get_global_step())\n"
            "    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)\n",
            fixed=TF1 + "def model_fn(features, labels, mode, params):\n"
            "    net = tf.layers.dense(features['x'], 64, kernel_regularizer=tf.keras.regularizers.l2(1e-4))\n"
            "    logits = tf.layers.dense(net, 10)\n"
            "    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)\n"
            "    loss = loss + tf.losses.get_regularization_loss()\n"
            "    train_op = tf.train.AdamOptimizer().minimize(loss, tf.train.get_global_step())\n"
            "    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)\n",
            message="example.py:3",
        ),
        # ... and when no call site passes a penalty, the loss lacks it
        Invalid(
            files={
                "steps.py": STEPS,
                "train.py": "from steps import step\nstep(x, y, 0.0)\n",
            },
            path="steps.py",
            message="model.losses",
        ),
        Invalid(
            files={
                "model.py": EXTRA_MODEL,
                "main.py": "from model import train\nop = train(x, y, 0.0)\n",
            },
            path="model.py",
            message="model.py:3",
        ),
        # a collection read whose `tf` comes from a star import is judged by the key it spells:
        # another collection than the regularization losses
        Invalid(
            files={
                "net.py": TF1 + "def train(x, y):\n"
                "    h = tf.layers.dense(x, 10, kernel_regularizer=tf.keras.regularizers.l2(2e-4))\n"
                "    loss = tf.reduce_mean(tf.square(h - y))\n"
                "    return tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)\n",
                "main.py": "from net import *\n\n"
                "train_op = train(x, y)\n"
                "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n",
            },
            path="net.py",
        ),
        # `self.losses` of a subclass of a Keras model defined in another module
        Invalid(
            files={
                "base.py": "import tensorflow as tf\nclass Base(tf.keras.Model):\n    pass\n",
                "net.py": KERAS_SUBCLASS,
            },
            path="net.py",
            message="net.py:7",
        ),
        # library code (no training call in the project) whose total loss sums the losses
        # collection only, while its layers put their weight decay in the regularization one
        Invalid(
            files={
                "net.py": DECAYED_NET,
                "objective.py": TF1 + "def total_loss(logits, labels):\n"
                "    tf.add_to_collection('losses', tf.losses.softmax_cross_entropy(labels, logits))\n"
                "    return tf.add_n(tf.get_collection('losses'))\n",
            },
            path="objective.py",
            message="net.py:4",
        ),
        # the loss built in one module (with the regularized layer) and trained in another: the
        # project says what the loss-named function returns
        Invalid(
            files={
                "net.py": TF1 + "def build_loss(x, y, wd):\n"
                "    pred = tf.layers.dense(x, 1, kernel_regularizer=tf.keras.regularizers.l2(wd))\n"
                "    return tf.reduce_mean(tf.square(pred - y))\n",
                "train.py": BUILD_LOSS_TRAIN,
            },
            path="train.py",
            fixed=TF1 + "from net import build_loss\n"
            "loss = build_loss(x, y, 0.01)\n"
            "loss = loss + tf.losses.get_regularization_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            message="net.py:3",
        ),
        # two training calls: the one in the function that reads the collection is named
        Invalid(
            TF1 + "def actor_train(q, actor_vars):\n"
            "    return tf.train.AdamOptimizer(1e-4).minimize(-tf.reduce_mean(q), var_list=actor_vars)\n"
            "def critic_train(q, target, critic_vars):\n"
            "    reg = tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))\n"
            "    critic_loss = tf.reduce_mean(tf.square(q - target))\n"
            "    return tf.train.AdamOptimizer(1e-3).minimize(critic_loss, var_list=critic_vars)\n",
            fixed=TF1 + "def actor_train(q, actor_vars):\n"
            "    return tf.train.AdamOptimizer(1e-4).minimize(-tf.reduce_mean(q), var_list=actor_vars)\n"
            "def critic_train(q, target, critic_vars):\n"
            "    reg = tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))\n"
            "    critic_loss = tf.reduce_mean(tf.square(q - target))\n"
            "    critic_loss = critic_loss + reg\n"
            "    return tf.train.AdamOptimizer(1e-3).minimize(critic_loss, var_list=critic_vars)\n",
        ),
        # a WGAN-GP gradient penalty is no weight penalty: the unused read is still reported
        Invalid(
            TF1 + "def norm(t):\n"
            "    return tf.sqrt(tf.reduce_sum(tf.square(t), axis=1))\n"
            "w = tf.get_variable('w', [4, 1], regularizer=tf.keras.regularizers.l2(1e-3))\n"
            "reg = tf.add_n(tf.losses.get_regularization_losses())\n"
            "d_loss = tf.reduce_mean(tf.matmul(fake, w)) - tf.reduce_mean(tf.matmul(real, w))\n"
            "grad = tf.gradients(tf.matmul(mix, w), mix)[0]\n"
            "gp = tf.reduce_mean(tf.square(norm(grad) - 1.0))\n"
            "d_op = tf.train.AdamOptimizer().minimize(d_loss + 10.0 * gp)\n",
            fixed=TF1 + "def norm(t):\n"
            "    return tf.sqrt(tf.reduce_sum(tf.square(t), axis=1))\n"
            "w = tf.get_variable('w', [4, 1], regularizer=tf.keras.regularizers.l2(1e-3))\n"
            "reg = tf.add_n(tf.losses.get_regularization_losses())\n"
            "d_loss = tf.reduce_mean(tf.matmul(fake, w)) - tf.reduce_mean(tf.matmul(real, w))\n"
            "grad = tf.gradients(tf.matmul(mix, w), mix)[0]\n"
            "gp = tf.reduce_mean(tf.square(norm(grad) - 1.0))\n"
            "d_op = tf.train.AdamOptimizer().minimize(d_loss + 10.0 * gp + reg)\n",
        ),
        # an explicit penalty on the embedding does not carry the kernel's regularizer
        Invalid(
            TF1 + "emb = tf.get_variable('emb', [100, 16])\n"
            "kernel = tf.get_variable('kernel', [16, 1], regularizer=tf.keras.regularizers.l2(1e-4))\n"
            "out = tf.matmul(tf.nn.embedding_lookup(emb, ids), kernel)\n"
            "loss = tf.reduce_mean(tf.square(out - target)) + 1e-4 * tf.nn.l2_loss(emb)\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            fixed=TF1 + "emb = tf.get_variable('emb', [100, 16])\n"
            "kernel = tf.get_variable('kernel', [16, 1], regularizer=tf.keras.regularizers.l2(1e-4))\n"
            "out = tf.matmul(tf.nn.embedding_lookup(emb, ids), kernel)\n"
            "loss = tf.reduce_mean(tf.square(out - target)) + 1e-4 * tf.nn.l2_loss(emb)\n"
            "loss = loss + tf.losses.get_regularization_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
        ),
        # the model handed to a helper whose result is no part of the loss (restoring weights)
        Invalid(
            "import tensorflow as tf\nfrom checkpoints import restore\n"
            "inputs = tf.keras.Input([8])\n"
            "outputs = tf.keras.layers.Dense(1, kernel_regularizer=tf.keras.regularizers.l2(1e-4))(inputs)\n"
            "net = tf.keras.Model(inputs, outputs)\n"
            "restore(net, 'init.npy')\n"
            "def step(x, y):\n"
            "    with tf.GradientTape() as tape:\n"
            "        objective = tf.reduce_mean(tf.square(net(x, training=True) - y))\n"
            "    return tape.gradient(objective, net.trainable_variables)\n",
            fixed="import tensorflow as tf\nfrom checkpoints import restore\n"
            "inputs = tf.keras.Input([8])\n"
            "outputs = tf.keras.layers.Dense(1, kernel_regularizer=tf.keras.regularizers.l2(1e-4))(inputs)\n"
            "net = tf.keras.Model(inputs, outputs)\n"
            "restore(net, 'init.npy')\n"
            "def step(x, y):\n"
            "    with tf.GradientTape() as tape:\n"
            "        objective = tf.reduce_mean(tf.square(net(x, training=True) - y))\n"
            "        objective = objective + sum(net.losses)\n"
            "    return tape.gradient(objective, net.trainable_variables)\n",
        ),
        # a loss accumulated on self from zero, in a subclass of a class of the same file
        Invalid(
            TF1 + "class Base:\n"
            "    def __init__(self):\n"
            "        self.loss = 0\n"
            "class Net(Base):\n"
            "    def __init__(self, ids, target, scale):\n"
            "        super().__init__()\n"
            "        w = tf.get_variable('w', [16, 1], regularizer=tf.keras.regularizers.l2(scale))\n"
            "        self.loss += tf.reduce_mean(tf.square(tf.matmul(ids, w) - target))\n"
            "        self.train_op = tf.train.AdamOptimizer(1e-3).minimize(self.loss)\n",
            fixed=TF1 + "class Base:\n"
            "    def __init__(self):\n"
            "        self.loss = 0\n"
            "class Net(Base):\n"
            "    def __init__(self, ids, target, scale):\n"
            "        super().__init__()\n"
            "        w = tf.get_variable('w', [16, 1], regularizer=tf.keras.regularizers.l2(scale))\n"
            "        self.loss += tf.reduce_mean(tf.square(tf.matmul(ids, w) - target))\n"
            "        self.loss = self.loss + tf.losses.get_regularization_loss()\n"
            "        self.train_op = tf.train.AdamOptimizer(1e-3).minimize(self.loss)\n",
        ),
        # weight decay written into the collection by hand is declared regularization
        Invalid(
            TF1 + "def decayed(name, shape, wd=5e-4):\n"
            "    w = tf.get_variable(name, shape)\n"
            "    tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, wd * tf.nn.l2_loss(w))\n"
            "    return w\n"
            "def train(x, y):\n"
            "    loss = tf.reduce_mean(tf.square(tf.matmul(x, decayed('w', [8, 1])) - y))\n"
            "    return tf.train.AdamOptimizer().minimize(loss)\n",
            fixed=TF1 + "def decayed(name, shape, wd=5e-4):\n"
            "    w = tf.get_variable(name, shape)\n"
            "    tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, wd * tf.nn.l2_loss(w))\n"
            "    return w\n"
            "def train(x, y):\n"
            "    loss = tf.reduce_mean(tf.square(tf.matmul(x, decayed('w', [8, 1])) - y))\n"
            "    loss = loss + tf.losses.get_regularization_loss()\n"
            "    return tf.train.AdamOptimizer().minimize(loss)\n",
            message="`add_to_collection`",
        ),
        # a penalty put in a custom collection that nothing in the project reads, in a
        # helper module, with the name passed by the caller
        Invalid(
            files={
                "nets/util.py": TF1 + "def stash(value, bucket):\n    tf.add_to_collection(bucket, value)\n"
                "def track(weight):\n    stash(tf.nn.l2_loss(weight), 'decay_terms')\n",
                "train.py": TF1 + "from nets import util\n"
                "loss = tf.reduce_mean(tf.square(tf.layers.dense(x, 1) - y))\n"
                "for w in tf.trainable_variables():\n    util.track(w)\n"
                "step = tf.train.MomentumOptimizer(0.01, 0.9).minimize(loss)\n",
            },
            path="nets/util.py",
            message="'decay_terms'",
        ),
        # the loss formed by a network class of one module, stored under a name, read by that
        # name from the object a trainer of another module is handed, and trained there
        Invalid(
            files={
                "nets/detector.py": "import tensorflow.compat.v1 as tf\nimport tf_slim as slim\n"
                "class Detector:\n"
                "    def build(self, images):\n"
                "        with slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer(1e-4)):\n"
                "            feats = slim.conv2d(images, 8, [3, 3])\n"
                "        self.terms = {}\n"
                "        self.terms['total_loss'] = tf.reduce_mean(tf.square(feats))\n"
                "        return self.terms\n",
                "trainer.py": TF1 + "class Runner:\n"
                "    def __init__(self, detector):\n"
                "        self.detector = detector\n"
                "    def graph(self, images):\n"
                "        outputs = self.detector.build(images)\n"
                "        objective = outputs['total_loss']\n"
                "        return tf.train.MomentumOptimizer(0.01, 0.9).minimize(objective)\n",
            },
            path="trainer.py",
            fixed=TF1 + "class Runner:\n"
            "    def __init__(self, detector):\n"
            "        self.detector = detector\n"
            "    def graph(self, images):\n"
            "        outputs = self.detector.build(images)\n"
            "        objective = outputs['total_loss']\n"
            "        objective = objective + tf.losses.get_regularization_loss()\n"
            "        return tf.train.MomentumOptimizer(0.01, 0.9).minimize(objective)\n",
            message="formed at nets/detector.py:8",
        ),
        # shape 1: collected, printed, not added
        Invalid(
            TF1 + "loss = tf.reduce_mean(tf.square(y - p))\n"
            "reg_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "train_op = tf.train.AdamOptimizer(0.1).minimize(loss)\n"
            "print(sess.run(reg_losses))\n",
            fixed=TF1 + "loss = tf.reduce_mean(tf.square(y - p))\n"
            "reg_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"
            "loss = loss + tf.add_n(reg_losses)\n"
            "train_op = tf.train.AdamOptimizer(0.1).minimize(loss)\n"
            "print(sess.run(reg_losses))\n",
            message="example.py:3",
        ),
        # shape 1 through attributes and a fetch list (seed 000)
        Invalid(
            TF1 + "class Model:\n"
            "    def build(self):\n"
            "        self.loss = tf.reduce_mean(tf.square(self.y - self.p))\n"
            "        self.l2_loss_1 = tf.losses.get_regularization_loss()\n"
            "        self.train_op = tf.train.AdamOptimizer().minimize(self.loss)\n"
            "    def step(self, sess):\n"
            "        return sess.run([self.train_op, self.l2_loss_1])\n",
            fixed=TF1 + "class Model:\n"
            "    def build(self):\n"
            "        self.loss = tf.reduce_mean(tf.square(self.y - self.p))\n"
            "        self.l2_loss_1 = tf.losses.get_regularization_loss()\n"
            "        self.loss = self.loss + self.l2_loss_1\n"
            "        self.train_op = tf.train.AdamOptimizer().minimize(self.loss)\n"
            "    def step(self, sess):\n"
            "        return sess.run([self.train_op, self.l2_loss_1])\n",
        ),
        # shape 1 in a Keras loop: the penalty computed from model.losses, not added
        Invalid(
            "import tensorflow as tf\nfrom models import build\nmodel = build()\n"
            "with tf.GradientTape() as tape:\n"
            "    outputs = model(images, training=True)\n"
            "    regularization_loss = tf.reduce_sum(model.losses)\n"
            "    total_loss = tf.reduce_mean(tf.square(outputs - labels))\n"
            "grads = tape.gradient(total_loss, model.trainable_variables)\n",
            fixed="import tensorflow as tf\nfrom models import build\nmodel = build()\n"
            "with tf.GradientTape() as tape:\n"
            "    outputs = model(images, training=True)\n"
            "    regularization_loss = tf.reduce_sum(model.losses)\n"
            "    total_loss = tf.reduce_mean(tf.square(outputs - labels))\n"
            "    total_loss = total_loss + regularization_loss\n"
            "grads = tape.gradient(total_loss, model.trainable_variables)\n",
        ),
        # a callable loss (Keras optimizers): the term goes into the lambda
        Invalid(
            TF1 + "reg = tf.losses.get_regularization_loss()\n"
            "opt.minimize(lambda: tf.reduce_mean(tf.square(y - p)), var_list=v)\n",
            fixed=TF1 + "reg = tf.losses.get_regularization_loss()\n"
            "opt.minimize(lambda: tf.reduce_mean(tf.square(y - p)) + reg, var_list=v)\n",
        ),
        # shape 3 across modules: the model built in models.py, trained in train.py
        Invalid(
            files={
                "yolo/models.py": "import keras\n"
                "def YoloV3(size):\n"
                "    inputs = keras.Input((size, size, 3))\n"
                "    x = keras.layers.Conv2D(8, 3, kernel_regularizer=keras.regularizers.l2(5e-4))(inputs)\n"
                "    return keras.Model(inputs, x)\n",
                "train.py": "import tensorflow as tf\nfrom yolo.models import YoloV3\n"
                "model = YoloV3(416)\n"
                "optimizer = tf.keras.optimizers.Adam(1e-3)\n"
                "with tf.GradientTape() as tape:\n"
                "    outputs = model(images, training=True)\n"
                "    total_loss = tf.reduce_mean(tf.square(outputs - labels))\n"
                "grads = tape.gradient(total_loss, model.trainable_variables)\n",
            },
            path="train.py",
            fixed="import tensorflow as tf\nfrom yolo.models import YoloV3\n"
            "model = YoloV3(416)\n"
            "optimizer = tf.keras.optimizers.Adam(1e-3)\n"
            "with tf.GradientTape() as tape:\n"
            "    outputs = model(images, training=True)\n"
            "    total_loss = tf.reduce_mean(tf.square(outputs - labels))\n"
            "    total_loss = total_loss + sum(model.losses)\n"
            "grads = tape.gradient(total_loss, model.trainable_variables)\n",
            message="yolo/models.py:2",
        ),
        # shape 3 across three modules: layers in common.py, the network in yolov3.py, the
        # functional model and its custom loop in train.py (YunYang1994's TF2 YOLOv3)
        Invalid(
            files={
                "core/common.py": "import tensorflow as tf\n"
                "def convolutional(x, filters):\n"
                "    return tf.keras.layers.Conv2D(filters, 3, kernel_regularizer=tf.keras.regularizers.l2(5e-4))(x)\n",
                "core/yolov3.py": "import core.common as common\n"
                "def YOLOv3(x):\n"
                "    x = common.convolutional(x, 32)\n"
                "    return [common.convolutional(x, 64)]\n",
                "train.py": "import tensorflow as tf\nfrom core.yolov3 import YOLOv3, compute_loss\n"
                "inputs = tf.keras.layers.Input([416, 416, 3])\n"
                "model = tf.keras.Model(inputs, YOLOv3(inputs))\n"
                "def train_step(images, target):\n"
                "    with tf.GradientTape() as tape:\n"
                "        pred = model(images, training=True)\n"
                "        total_loss = compute_loss(pred, target)\n"
                "        gradients = tape.gradient(total_loss, model.trainable_variables)\n",
            },
            path="train.py",
            fixed="import tensorflow as tf\nfrom core.yolov3 import YOLOv3, compute_loss\n"
            "inputs = tf.keras.layers.Input([416, 416, 3])\n"
            "model = tf.keras.Model(inputs, YOLOv3(inputs))\n"
            "def train_step(images, target):\n"
            "    with tf.GradientTape() as tape:\n"
            "        pred = model(images, training=True)\n"
            "        total_loss = compute_loss(pred, target)\n"
            "        total_loss = total_loss + sum(model.losses)\n"
            "        gradients = tape.gradient(total_loss, model.trainable_variables)\n",
            message="core/yolov3.py:2",
        ),
        # shape 3 with a loss function imported from elsewhere
        Invalid(
            "import keras\nimport tensorflow as tf\nfrom losses import YoloLoss\n"
            "model = keras.Sequential([keras.layers.Conv2D(8, 3, kernel_regularizer=keras.regularizers.l2(5e-4))])\n"
            "loss_fn = YoloLoss(anchors)\n"
            "with tf.GradientTape() as tape:\n"
            "    pred_loss = loss_fn(labels, model(images, training=True))\n"
            "grads = tape.gradient(pred_loss, model.trainable_variables)\n",
            fixed="import keras\nimport tensorflow as tf\nfrom losses import YoloLoss\n"
            "model = keras.Sequential([keras.layers.Conv2D(8, 3, kernel_regularizer=keras.regularizers.l2(5e-4))])\n"
            "loss_fn = YoloLoss(anchors)\n"
            "with tf.GradientTape() as tape:\n"
            "    pred_loss = loss_fn(labels, model(images, training=True))\n"
            "    pred_loss = pred_loss + sum(model.losses)\n"
            "grads = tape.gradient(pred_loss, model.trainable_variables)\n",
        ),
        # shape 2: declared, never collected, across modules
        Invalid(
            files={
                "model.py": TF1 + "def build(x):\n"
                "    w = tf.get_variable('w', [3, 1], regularizer=tf.keras.regularizers.l2(0.01))\n"
                "    return tf.matmul(x, w)\n",
                "train.py": TF1 + "from model import build\n"
                "loss = tf.reduce_mean(tf.square(build(x) - y))\n"
                "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            },
            path="train.py",
            fixed=TF1 + "from model import build\n"
            "loss = tf.reduce_mean(tf.square(build(x) - y))\n"
            "loss = loss + tf.losses.get_regularization_loss()\n"
            "train_op = tf.train.AdamOptimizer().minimize(loss)\n",
            message="model.py:3",
        ),
        # shape 3: a Keras model with regularizers in a custom loop
        Invalid(
            "import keras\nimport tensorflow as tf\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer=keras.regularizers.l2(0.01))])\n"
            "loss_fn = keras.losses.MeanSquaredError()\n"
            "with tf.GradientTape() as tape:\n"
            "    loss = loss_fn(y, model(x))\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n",
            fixed="import keras\nimport tensorflow as tf\n"
            "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer=keras.regularizers.l2(0.01))])\n"
            "loss_fn = keras.losses.MeanSquaredError()\n"
            "with tf.GradientTape() as tape:\n"
            "    loss = loss_fn(y, model(x))\n"
            "    loss = loss + sum(model.losses)\n"
            "grads = tape.gradient(loss, model.trainable_variables)\n",
            message="model.losses",
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        name = self.resolve(node.func)
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else None
        scope = slim_net_arg_scope(name, node)
        if scope is not None:
            # `vgg.vgg_arg_scope()`: the library's arg scope declares `weights_regularizer=`
            builder, decay = scope
            self.fact("declare", node, keyword="weights_regularizer", builder=builder, decay=decay)
            return
        if is_graph_declarer(name):
            keyword = regularizer_keyword(node)
            if keyword is not None:
                self.fact("declare", node, keyword=keyword)
            return
        if name in REG_LIST_READERS or name in REG_SCALAR_READERS or name in REG_TOTAL_READERS:
            self.fact("read", node)
        elif name in COLLECTION_READERS or (name is None and method in COLLECTION_METHODS_READ):
            key = node.args[0].value if node.args else None
            if key is None or self._may_name_regularization(key):
                self.fact("read", node)
            self._collection_reads.append((node, self.flow.scopes[-1]))

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._collection_reads: list[tuple[cst.Call, Scope]] = []

    def _may_name_regularization(self, key: cst.BaseExpression) -> bool:
        """Whether a collection key is, or may be, REGULARIZATION_LOSSES (unknown keys may).
        A misspelling of it (`GraphKeys.REGULARIZATOIN_LOSSES`, `"regularization_loss"`) is
        a read of it as far as this rule goes: the collection is read, under a typo, which is
        REG004's finding (one cause, one finding; its fix makes the read work)."""
        if isinstance(key, cst.SimpleString):
            value = key.evaluated_value
            return isinstance(value, str) and (
                value == REGULARIZATION_COLLECTION or nearest(value, COLLECTION_NAMES) == REGULARIZATION_COLLECTION
            )
        attr = graph_key(key, self.resolve(key))
        if attr is not None:
            if attr in GRAPH_KEYS:
                return attr == "REGULARIZATION_LOSSES"
            return nearest(attr, list(GRAPH_KEYS), cutoff=0.6) == "REGULARIZATION_LOSSES"
        return True

    # -- per file ------------------------------------------------------------------------
    def _imports(self) -> list[str]:
        found = getattr(self, "_imported", None)
        if found is None:
            found = self._imported = _imported_modules(self.ctx)
        return found

    def judge(self, flow: Flow) -> None:
        body = self.ctx.module.body
        if body and self._imports():
            # what the file imports, for the import graph shape 2 follows (see `_reaches`)
            self.fact("imports", body[0], imports=self._imports())
        self._collections(flow)
        self._formed(flow)
        self._loss_returns(flow)
        self._classes(flow)
        for call, data in call_facts(flow):
            self.fact("call", call, **data)
        sinks = flow.sink_list()
        self._keras_facts(flow, sinks)
        if not sinks:
            return
        # A penalty on some tensors (`l2_reg * tf.nn.l2_loss(embedding)`) does not carry the
        # regularizers declared on other layers: only what stands for all of them does.
        penalized = any(sink.sources(COVERING) for sink in sinks)
        if not penalized:
            self._collected_not_added(flow, sinks)
            # one finding per training file, at its first training call (later gradients are
            # usually for logging, and the fix of the first makes the file read the collection).
            # A loss-named value the file does not bind cannot hold a read of the collection
            # when no file of the project reads it (what the project phase requires); a loss
            # from another library's call can (a loss-named function of an imported module is
            # judged in the project phase, with what the project says it returns).
            train = next((s for s in sinks if s.graph_style and s.trains and OPAQUE not in s.tags), None)
            if train is not None:
                fix = add_term_fix(self, flow, train, _declared_term(flow))
                self.fact(
                    "train",
                    train.node,
                    fix=fix,
                    via=_loss_key(flow, train),
                    params=param_refs(flow, train.tags),
                    loss_calls=train.loss_calls(),
                    imports=self._imports(),
                    dynamic=_runs_other_code(self.ctx),
                )
        self._keras_custom_loop(flow, sinks)

    def _loss_returns(self, flow: Flow) -> None:
        """A `returns` fact per loss-named function or method other modules can call: whether
        what it returns holds anything unknown (another library's loss, a parameter, a
        penalty), so that a loss made by calling it elsewhere can be judged."""
        for func, tags in flow.returns.items():
            name = qualified_name(flow, func)
            if name is None or not lossy(func.name.value):
                continue
            # (what its parameters carry is the callers' business: with no read of the
            # collection anywhere, which shape 2 requires, they cannot carry one)
            unknown = any(carried(t) and not isinstance(t, Param) for t in tags)
            self.fact("returns", func.name, name=name, unknown=unknown)

    def _classes(self, flow: Flow) -> None:
        """A `class` fact per module-level class with bases from elsewhere: whether it is a
        Keras class, or which bases would tell (for `self.losses` in its subclasses)."""
        for scope in flow.scopes_all():
            node = scope.node
            if not isinstance(node, cst.ClassDef) or scope.parent is None or scope.parent.kind != "module":
                continue
            kind, bases = flow.keras_class(node)
            if kind != "no":
                self.fact("class", node.name, name=node.name.value, keras=kind == "keras", bases=list(bases))

    def _formed(self, flow: Flow) -> None:
        """Where losses are stored under a name (`self._losses["total_loss"] = loss`,
        `self.total_loss = ...`): a `formed` fact per loss-named item or attribute of `self`,
        so that a training call of another module that reads the loss by that name
        (`layers["total_loss"]`) can cite where it is formed."""
        for stmt in flow.stmts:
            node = stmt.node
            if not isinstance(node, cst.Assign) or len(node.targets) != 1 or stmt.scope.self_name is None:
                continue
            key = _stored_key(node.targets[0].target, stmt.scope.self_name)
            if key is not None:
                self.fact("formed", node, key=key)

    def _collections(self, flow: Flow) -> None:
        """Penalties written by hand: `add_to_collection(REGULARIZATION_LOSSES, penalty)`
        declares regularization as `regularizer=` does (`declare`); a penalty put in a custom
        collection is a `collect` fact, and every read of a custom collection a `collected`
        one (key None: a key that cannot be known, which may be any). The project phase
        reports the custom collections nothing reads."""
        for call, (stmt, tags) in flow.collection_writes.items():
            if not any(isinstance(t, Source) and t.kind in PENALTIES for t in tags):
                continue
            origins = flow.string_origins(stmt.scope, call_argument(call, 0, "name"))
            if origins is None:
                continue
            if any(key == REGULARIZATION_COLLECTION for key, _ in origins):
                self.fact("declare", call, keyword=None)
            for key, spelled in origins:
                if key not in COLLECTION_NAMES:
                    # at the name where the user chose the collection (a helper's caller)
                    self.fact("collect", spelled, key=key)
        for call, scope in self._collection_reads:
            keys = flow.strings(scope, call_argument(call, 0, "key"))
            if keys == {LOSSES_COLLECTION}:
                self.fact("assembled", call)
            if keys is None:
                self.fact("collected", call, key=None)
            for key in sorted(keys - COLLECTION_NAMES) if keys is not None else ():
                self.fact("collected", call, key=key)

    def _collected_not_added(self, flow: Flow, sinks: list[Sink]) -> None:
        targets = [s for s in sinks if not s.opaque and s.kind != "add_loss" and s.trains]
        if not targets:
            return
        candidates = [
            source
            for source in flow.source_list(GRAPH_FAMILY | {L2_ALL, KERAS_LOSSES})
            if source not in flow.escaped
            and not flow.reached(source)
            and (source.kind in GRAPH_FAMILY or isinstance(source.stmt.node, (cst.Assign, cst.AugAssign)))
        ]
        if not candidates:
            return
        target = _nearest_training(targets, candidates[0])
        # `self.losses` of a class whose bases come from elsewhere is Keras's only if the
        # project says those bases are Keras classes: judged in the project phase
        maybe = [source for source in candidates if source in flow.maybe_keras]
        candidates = [source for source in candidates if source not in flow.maybe_keras]
        if not candidates:
            for source in maybe[:1]:
                term = _collected_term(flow, source, target)
                self.fact(
                    "maybe_keras",
                    target.node,
                    fix=add_term_fix(self, flow, target, term) if term is not None else None,
                    bases=list(flow.maybe_keras[source]),
                    message=f"the loss optimized here never includes the regularization read at "
                    f"{flow.ctx.path}:{flow.line(source.node)} (`{_short(flow, source.node)}`); add it to this loss",
                )
            return
        # Reported where the user acts (the training call, where the fix adds the term),
        # citing the regularization as path:line.
        fix = None
        for source in candidates:
            term = _collected_term(flow, source, target)
            fix = add_term_fix(self, flow, target, term) if term is not None else None
            if fix is not None:
                break
        first = candidates[0]
        node = first.node
        if (
            first.kind != KERAS_LOSSES
            and first.kind not in GRAPH_FAMILY
            and isinstance(first.stmt.node, (cst.Assign, cst.AugAssign))
        ):
            node = first.stmt.node.value  # the whole penalty, `lambda_l * tf.reduce_sum(...)`
        more = f" (and {len(candidates) - 1} more)" if len(candidates) > 1 else ""
        self.report(
            target.node,
            f"the loss optimized here never includes the regularization "
            f"{'computed' if first.kind == L2_ALL else 'read'} at {flow.ctx.path}:{flow.line(node)} "
            f"(`{_short(flow, node)}`){more}; add it to this loss",
            fix=fix,
        )

    def _keras_custom_loop(self, flow: Flow, sinks: list[Sink]) -> None:
        for sink in sinks:
            # An opaque loss does not matter here: a helper can only add model.losses if it is
            # handed the model, and a model handed to a function the analysis cannot see is
            # left alone (below). A gradient with respect to an input (adversarial examples,
            # saliency maps) trains nothing.
            if sink.kind != "tape" or not sink.trains or sink.sources(PENALTIES):
                continue
            models = [m for m in sink.sources([KERAS_MODEL]) if m not in flow.fitted]
            if not models:
                continue
            model_ref = _model_reference(flow, sink, set(models))
            if model_ref is None:
                if any(m in flow.escaped for m in models):
                    continue
            elif _handed_over(sink, model_ref):
                continue
            first = min(models, key=lambda m: flow.line(m.node))
            fix = add_term_fix(self, flow, sink, f"sum({model_ref}.losses)") if model_ref is not None else None
            message = (
                f"the model's regularizers (line {flow.line(first.node)}) never reach the loss optimized at line "
                f"{flow.line(sink.node)}: a GradientTape loop must add `model.losses` to its loss"
            )
            params = param_refs(flow, sink.tags)
            if params:
                # the loss holds a parameter other modules pass: judged with their call sites
                self.fact("loop", sink.node, fix=fix, message=message, params=params)
            else:
                self.report(sink.node, message, fix=fix)

    def _keras_facts(self, flow: Flow, sinks: list[Sink]) -> None:
        """Shape 3 across modules. Facts: what each module-level function (or keras.Model
        subclass) of this module returns that matters, regularized Keras layers made here or
        values of imported names; and each GradientTape loss here without model.losses whose
        model is made from imported names. The project phase joins them."""
        for scope in flow.scopes_all():
            if scope.parent is None or scope.parent.kind != "module":
                continue
            if isinstance(scope.node, cst.FunctionDef):
                built = flow.returns.get(scope.node, frozenset())
            elif isinstance(scope.node, cst.ClassDef):
                if not any(
                    (self.resolve(base.value) or "").startswith(KERAS_MODEL_CLASSES) for base in scope.node.bases
                ):
                    continue
                built = frozenset(t for (owner, _), tags in flow.attrs.items() if owner is scope.node for t in tags)
            else:
                continue
            regularized = any(isinstance(t, Source) and t.kind == KERAS_MODEL and t not in flow.fitted for t in built)
            imports = sorted({t.name for t in built if isinstance(t, Imported)})
            if regularized or imports:
                name = scope.node.name.value
                self.fact(
                    "keras_returns",
                    scope.node.name,
                    name=name,
                    regularized=regularized,
                    imports=imports,
                )
        for sink in sinks:
            if sink.kind != "tape" or not sink.trains or sink.sources(PENALTIES) or sink.sources([KERAS_MODEL]):
                continue
            for call, stmt, callee in flow.keras_calls:
                if sink.tape not in stmt.tapes:
                    continue
                imports = sorted({t.name for t in callee if isinstance(t, Imported) and t not in flow.fitted_imports})
                ref = _callee_reference(flow, call)
                if not imports or ref is None or _handed_over(sink, ref):
                    continue
                fix = add_term_fix(self, flow, sink, f"sum({ref}.losses)")
                self.fact(
                    "keras_loop", sink.node, fix=fix, imports=imports, model=ref, params=param_refs(flow, sink.tags)
                )

    @classmethod
    def _keras_across_modules(cls, returns: list[Fact], loops: list[Fact], bindings: Bindings) -> Iterable[Finding]:
        regularized = _regularized_builders(returns)
        reported: set[tuple[str, object]] = set()
        for loop in loops:
            if (loop.path, loop.range) in reported or bindings.carry(loop.path, loop.data.get("params", ())):
                continue
            match = next(
                (r for name in loop.data["imports"] for r in regularized if _builder_matches(r, name)),
                None,
            )
            if match is None:
                continue
            reported.add((loop.path, loop.range))
            yield Finding(
                cls.code,
                cls.name,
                f"`{loop.data['model']}` is built from `{match.data['name']}` ({match.path}:"
                f"{match.range.start.line}), whose layers have regularizers, but the loss optimized at line "
                f"{loop.range.start.line} never includes `{loop.data['model']}.losses`: a GradientTape loop must "
                "add them",
                loop.path,
                loop.range,
                loop.fix,
            )

    @classmethod
    def wanted_modules(cls, project: ProjectFacts) -> Iterable[str]:
        """The modules a shape-3 chain leads to that no fact describes yet: from each custom
        loop's model, through the imported builders it is made from, to the builders they
        import in turn. An intermediate module (`def YOLOv3(x): return common.convolutional(x)`)
        may hold no token of this rule and be skipped by the prefilter. Only chains that start
        at a loop are followed: following every builder's imports read the whole import graph
        of a project (8 s of the 18 s on 22 training repositories).

        And, for shape 2, the modules a training notebook imports (and they in turn) when no
        regularizer declared in another file is known to reach it yet (see `_reaches`)."""
        facts = project.by_kind(cls.code)
        yield from _unexplored_imports(facts)
        returns = facts.get("keras_returns", [])
        todo = [name for loop in facts.get("keras_loop", []) for name in loop.data["imports"]]
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            builders = [r for r in returns if _builder_matches(r, name)]
            if not builders:
                module = name.rpartition(".")[0]
                if module:
                    yield module
            for builder in builders:
                if not builder.data["regularized"]:
                    todo.extend(builder.data["imports"])

    @classmethod
    def wanted_tokens(cls, project: ProjectFacts) -> Iterable[Token]:
        """Shape 2 needs declared regularizers, no read of the collection anywhere, and the
        files that train. Reads are always analysed; without any, ask for the declaring
        files, and once some declare, for the training files. A loss that holds a parameter
        other modules pass is judged with their call sites: the files that name its function
        (a caller need not train, nor hold any word of this rule), and in turn those that
        name the functions whose parameters those call sites pass on."""
        facts = project.by_kind(cls.code)
        # Only what can change a finding: training facts matter when shape 2 holds (declared,
        # never read), custom loops when their model is regularized.
        shape2 = bool(facts.get("declare")) and not facts.get("read")
        trains = facts.get("train", []) if shape2 else []
        judged = [*trains, *facts.get("loop", []), *cls._regularized_loops(facts)]
        wanted: list[Token] = sorted(callers_wanted(judged, facts.get("call", [])))
        # the modules defining the loss-named functions whose results training losses hold
        loss_calls = {name.rpartition(".")[2] for fact in trains for name in fact.data.get("loss_calls", ())}
        wanted.extend(sorted(Word(name.encode()) for name in loss_calls))
        # the modules defining the bases of classes that read `self.losses`
        wanted.extend(
            sorted(
                {
                    Word(base.rpartition(".")[2].encode())
                    for f in facts.get("maybe_keras", [])
                    for base in f.data["bases"]
                }
            )
        )
        if not facts.get("read"):
            wanted.extend((b"regularizer", declarer) for declarer in _DECLARERS)
            wanted.append((b"_arg_scope", b"nets"))  # slim's network libraries' arg scopes
            if facts.get("declare"):
                wanted.extend(_TRAINS)
        return wanted

    @classmethod
    def _regularized_loops(cls, facts: dict[str, list[Fact]]) -> list[Fact]:
        """The custom loops of other modules' models whose builders are regularized."""
        regularized = _regularized_builders(facts.get("keras_returns", []))
        return [
            loop
            for loop in facts.get("keras_loop", [])
            if any(_builder_matches(r, name) for name in loop.data["imports"] for r in regularized)
        ]

    @classmethod
    def _assembled_without(cls, declared: list[Fact], assembled: list[Fact]) -> Iterable[Finding]:
        first = min(declared, key=lambda f: (f.path, f.range.start.line))
        for fact in assembled:
            yield Finding(
                cls.code,
                cls.name,
                f"this loss sums the losses collection, but regularization is declared at {first.path}:"
                f"{first.range.start.line} and nothing in the project reads the regularization collection: a loss "
                "assembled here trains without it; add `tf.losses.get_regularization_losses()` (or use "
                "`tf.losses.get_total_loss()`)",
                fact.path,
                fact.range,
            )

    @classmethod
    def _uncollected(cls, writes: list[Fact], reads: list[Fact]) -> Iterable[Finding]:
        """Penalties put in a custom collection that nothing in the project reads never reach
        a loss. (REG001's and not REG004's: the name is not misspelled, there is no read to
        compare it with; what is wrong is that the penalty is never optimized.)"""
        read = {fact.data["key"] for fact in reads}
        if None in read:
            return
        seen: set[tuple[str, object, str]] = set()
        for write in writes:
            key = write.data["key"]
            if key in read or (write.path, write.range, key) in seen:
                continue
            seen.add((write.path, write.range, key))
            yield Finding(
                cls.code,
                cls.name,
                f"the penalty put in collection '{key}' never reaches a loss: nothing in the project reads "
                f"'{key}'; add it to `tf.GraphKeys.REGULARIZATION_LOSSES`, or add "
                f"`tf.add_n(tf.get_collection('{key}'))` to the loss that is optimized",
                write.path,
                write.range,
            )

    # -- project-wide (shape 2) ----------------------------------------------------------
    @classmethod
    def check_project(cls, project: ProjectFacts) -> Iterable[Finding]:
        facts = project.by_kind(cls.code)
        bindings = Bindings(facts.get("call", []))
        yield from cls._keras_across_modules(facts.get("keras_returns", []), facts.get("keras_loop", []), bindings)
        for loop in facts.get("loop", []):
            if not bindings.carry(loop.path, loop.data["params"]):
                yield Finding(cls.code, cls.name, loop.data["message"], loop.path, loop.range, loop.fix)
        classes = facts.get("class", [])
        for read in facts.get("maybe_keras", []):
            if any(_is_keras_class(name, classes, set()) for name in read.data["bases"]):
                yield Finding(cls.code, cls.name, read.data["message"], read.path, read.range, read.fix)
        yield from cls._uncollected(facts.get("collect", []), facts.get("collected", []))
        declared = facts.get("declare", [])
        if not declared or facts.get("read"):
            return
        if not facts.get("train"):
            # library code (no training call in the project): the loss it assembles from the
            # losses collection is the one its users train, and it lacks the regularization
            yield from cls._assembled_without(declared, facts.get("assembled", []))
        declared.sort(key=lambda f: (f.path, f.range.start.line))
        formed: dict[str, list[Fact]] = {}
        for fact in facts.get("formed", []):
            formed.setdefault(fact.data["key"], []).append(fact)
        returns = facts.get("returns", [])
        graph = _import_graph(facts.get("imports", []))
        for train in facts.get("train", []):
            if bindings.carry(train.path, train.data.get("params", ())):
                continue  # a caller passes the loss a penalty (or what may be one)
            if not all(_returns_known(name, returns) for name in train.data.get("loss_calls", ())):
                continue  # a loss from a function that may hold anything
            # the loss read by name from an object of another module: where it is formed,
            # when one place of the project stores a loss under that name
            origin = [f for f in formed.get(train.data.get("via") or "", []) if f.path != train.path]
            there = f" (formed at {origin[0].path}:{origin[0].range.start.line})" if len(origin) == 1 else ""
            reaching = [d for d in declared if _reaches(d, train, graph)]
            if not reaching:
                continue
            where, how = _declared_where(reaching)
            yield Finding(
                cls.code,
                cls.name,
                f"this loss{there} trains without the regularizers declared at {where}; they are declared with "
                f"{how}, and nothing in the project reads the regularization collection: add "
                "`tf.losses.get_regularization_loss()` to it",
                train.path,
                train.range,
                train.fix,
                related=tuple((d.path, d.range, "a regularizer is declared here") for d in reaching[:5]),
            )


def _reaches(declared: Fact, train: Fact, graph: dict[str, list[str]]) -> bool:
    """Whether a declaration can concern a training. One in the training's file does, and any
    other declaration of the project's own code may: TensorFlow's graph is global, and a
    module that trains a model it is handed (`Trainer(network)`) need not import the module
    that builds it; the script that wires them does. But a notebook is imported by nothing:
    it trains only what it builds, imports (directly or through the project's modules,
    `graph`, see `_import_graph`) or runs by other means (`%run`, `exec`, `importlib`), so a
    tutorial notebook is not judged by the regularizers of the project's other scripts.
    A library's arg scope (`vgg.vgg_arg_scope()`) concerns only the network built under it:
    in its file, or in a file that imports that module directly. (An inference script's
    `resnet_arg_scope()` says nothing of the GAN trained in another example.)"""
    if declared.path == train.path:
        return True
    where = module_of(declared.path)
    imports = train.data.get("imports", ())
    if declared.data.get("builder"):
        return any(names_module(name, where) for name in imports)
    if not train.path.endswith(".ipynb") or train.data.get("dynamic", True):
        return True
    todo, seen = list(imports), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if names_module(name, where):
            return True
        for module, more in graph.items():
            if names_module(name, module):
                todo.extend(more)
    return False


def _unexplored_imports(facts: dict[str, list[Fact]]) -> Iterator[str]:
    """The imported names, reached from a training notebook of a shape-2 project, that no
    module's `imports` fact describes yet (a project module the prefilter skipped, or a
    library): see `_reaches`."""
    declared = [d for d in facts.get("declare", []) if not d.data.get("builder")]
    if not declared or facts.get("read"):
        return
    graph = _import_graph(facts.get("imports", []))
    for train in facts.get("train", []):
        others = [d for d in declared if d.path != train.path]
        if not others or train.data.get("dynamic", True) or any(_reaches(d, train, graph) for d in others):
            continue
        todo, seen = list(train.data.get("imports", ())), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            known = [more for module, more in graph.items() if names_module(name, module)]
            if not known:
                yield name
            for more in known:
                todo.extend(more)


def _import_graph(facts: list[Fact]) -> dict[str, list[str]]:
    """The project's modules (dotted, from their paths) and what each imports."""
    return {module_of(fact.path): list(fact.data["imports"]) for fact in facts}


def _runs_other_code(ctx: FileContext) -> bool:
    """Whether a file may run another file's code without importing it."""
    raw = ctx.raw if ctx.raw is not None else ctx.text().encode("utf-8", "surrogateescape")
    return any(marker in raw for marker in _RUNNERS)


_RUNNERS = (b"%run", b"exec(", b"execfile(", b"importlib", b"__import__", b"runpy", b"imp.load")


def _declared_where(declared: list[Fact]) -> tuple[str, str]:
    """Where the first declaration is (`model.py:4 and 2 more`), and how it declares."""
    first = declared[0]
    what = f"`{first.data['keyword']}=`" if first.data["keyword"] else "`add_to_collection`"
    if first.data.get("builder"):
        decay = first.data["decay"] if first.data["decay"] is not None else "weight_decay"
        what = f"`{first.data['builder']}()`, which sets `weights_regularizer=l2_regularizer({decay})`"
    more = f" and {len(declared) - 1} more" if len(declared) > 1 else ""
    return f"{first.path}:{first.range.start.line}{more}", what


def _imported_modules(ctx: FileContext) -> list[str]:
    """The modules a file imports anywhere in it, as dotted names (`from .nets import vgg`:
    `pkg.nets` and `pkg.nets.vgg`, either of which may be the module)."""
    found: set[str] = set()
    todo: list[cst.CSTNode] = [ctx.module]
    while todo:
        node = todo.pop()
        if type(node) is cst.Import:
            found.update(dotted(alias.name) or "" for alias in node.names)
        elif type(node) is cst.ImportFrom:
            base = imported_from(node, ctx.resolver.package)
            if base is not None:
                found.add(base)
                if not isinstance(node.names, cst.ImportStar):
                    found.update(f"{base}.{a.name.value}" for a in node.names if isinstance(a.name, cst.Name))
        elif not is_expression(node):
            todo.extend(child_nodes(node))
    return sorted(found - {""})


KERAS_MODEL_CLASSES = ("keras.Model", "keras.Sequential", "keras.models.Model", "keras.models.Sequential")


def _returns_a_keras_model(flow: Flow, scope: Scope) -> bool:
    """Whether a function returns `keras.Model(...)` / `keras.Sequential(...)`, directly or
    through a variable assigned one."""
    made: set[str] = set()
    returned: list[cst.BaseExpression] = []
    for stmt in flow.stmts:
        if stmt.scope is not scope:
            continue
        node = stmt.node
        if isinstance(node, cst.Assign) and _is_model_call(flow, node.value):
            made.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))
        elif isinstance(node, cst.Return) and node.value is not None:
            returned.append(node.value)
    return any(_is_model_call(flow, v) or (isinstance(v, cst.Name) and v.value in made) for v in returned)


def _is_model_call(flow: Flow, node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and (flow.resolve(node.func) or "").startswith(KERAS_MODEL_CLASSES)


def _builder_matches(builder: Fact, imported: str) -> bool:
    """Whether `imported` (`pkg.models.YoloV3`) names the builder recorded in `builder`'s file."""
    return denotes(imported, builder.path, builder.data["name"])


def _regularized_builders(returns: list[Fact]) -> list[Fact]:
    """The functions that return regularized Keras layers, directly or through imported ones."""
    regularized = [f for f in returns if f.data["regularized"]]
    pending = [f for f in returns if not f.data["regularized"]]
    changed = True
    while changed:
        changed = False
        for fact in list(pending):
            if any(_builder_matches(r, name) for name in fact.data["imports"] for r in regularized):
                regularized.append(fact)
                pending.remove(fact)
                changed = True
    return regularized


def _nearest_training(targets: list[Sink], source: Source) -> Sink:
    """The training call a penalty was meant for: one in the penalty's own function (or
    method) before one elsewhere, the first after the penalty before one above it, and the
    nearest of those (an actor-critic file whose critic reads the collection is told about
    the critic's loss, not about the actor's policy gradient that comes first)."""
    order = source.stmt.order

    def distance(sink: Sink) -> tuple[bool, bool, int]:
        gap = sink.stmt.order - order
        return (sink.stmt.scope is not source.stmt.scope, gap < 0, abs(gap))

    return min(targets, key=distance)


def _returns_known(name: str, returns: list[Fact]) -> bool:
    """Whether the imported loss-named function `name` is a function of the project whose
    result holds nothing unknown (a function the project does not describe may be another
    library's, which may read the collection)."""
    for fact in returns:
        if denotes(name, fact.path, fact.data["name"]):
            return not fact.data["unknown"]
    return False


def _is_keras_class(name: str, classes: list[Fact], seen: set[str]) -> bool:
    """Whether the class a module imports as `name` is, by the project's class facts, a
    Keras Layer or Model (a class the project does not describe is not known to be one)."""
    if name in seen:
        return False
    seen.add(name)
    for fact in classes:
        if denotes(name, fact.path, fact.data["name"]):
            return fact.data["keras"] or any(_is_keras_class(base, classes, seen) for base in fact.data["bases"])
    return False


def _stored_key(target: cst.BaseExpression, self_name: str) -> str | None:
    """The loss-named key of `self.name["key"] = ...` or attribute of `self.key = ...`."""
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        owner = target.value
        if (
            isinstance(index, cst.Index)
            and isinstance(index.value, cst.SimpleString)
            and isinstance(owner, cst.Attribute)
            and isinstance(owner.value, cst.Name)
            and owner.value.value == self_name
        ):
            key = index.value.evaluated_value
            return key if isinstance(key, str) and _is_loss_name(key) else None
    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == self_name:
        return target.attr.value if _is_loss_name(target.attr.value) else None
    return None


def _is_loss_name(name: str) -> bool:
    return any(word in name.lower() for word in ("loss", "cost", "objective"))


def _loss_key(flow: Flow, sink: Sink) -> str | None:
    """The name a sink's loss is read by from an object (`layers["total_loss"]`,
    `net.total_loss`), directly or through one assignment of the loss variable."""
    expr: cst.BaseExpression = sink.arg
    if isinstance(expr, cst.Name):
        values = [
            s.node.value
            for s in assignments_of(flow, expr.value, sink.stmt.scope)
            if isinstance(s.node, cst.Assign) and len(s.node.targets) == 1
        ]
        if len(values) != 1:
            return None
        expr = values[0]
    if isinstance(expr, cst.Subscript) and len(expr.slice) == 1:
        index = expr.slice[0].slice
        if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
            key = index.value.evaluated_value
            return key if isinstance(key, str) else None
    if isinstance(expr, cst.Attribute) and not (isinstance(expr.value, cst.Name) and expr.value.value == "self"):
        return expr.attr.value
    return None


def _short(flow: Flow, node: cst.CSTNode) -> str:
    text = " ".join(flow.ctx.code(node).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _declared_term(flow: Flow) -> str | None:
    alias = flow.tf_alias()
    if alias is None:
        return None
    if flow.tf_is_v2_module():
        return f"{alias}.compat.v1.losses.get_regularization_loss()"
    return f"{alias}.losses.get_regularization_loss()"


def _collected_term(flow: Flow, source: Source, sink: Sink) -> str | None:
    """How the sink's scope can name the regularization `source` computes."""
    ref = reference_to(flow, source, sink)
    if ref is None:
        return None
    text, is_list = ref
    if not is_list:
        return text
    if source.kind == KERAS_LOSSES:
        return f"sum({text})"  # 0 for a model without regularizers, where tf.add_n would fail
    alias = flow.tf_alias()
    return f"{alias}.add_n({text})" if alias is not None else f"sum({text})"


def _model_reference(flow: Flow, sink: Sink, models: set[Source]) -> str | None:
    """The expression that calls the regularized model inside the sink's tape."""
    for call, stmt, callee in flow.keras_calls:
        if sink.tape is None or sink.tape not in stmt.tapes or not models & set(callee):
            continue
        ref = _callee_reference(flow, call)
        if ref is not None:
            return ref
    return None


def _callee_reference(flow: Flow, call: cst.Call) -> str | None:
    """`model` or `self.model` for `model(x)` / `self.model(x)`."""
    func = call.func
    if isinstance(func, cst.Name) or (
        isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"
    ):
        return flow.ctx.code(func)
    return None


def _handed_over(sink: Sink, ref: str) -> bool:
    """Whether the sink's loss comes from a call the analysis cannot follow that received the
    model named `ref` (or one of its attributes): `loss = compute_loss(model, x, y)` may add
    the model's losses. A model handed to a helper whose result is no part of the loss
    (`load_weights(model, path)`, `freeze(model)`) cannot add them to this loss."""
    return any(isinstance(tag, Handed) and any(mentions(arg.value, ref) for arg in tag.call.args) for tag in sink.tags)
