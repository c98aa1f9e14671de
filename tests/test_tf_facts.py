"""The TensorFlow facts that rules without a fixture rest on, re-checked on the installed TF.

Each test runs a tiny program in a subprocess (through the fixture harness, so the
environment is the fixtures' one) and checks what it reports. See tf-facts.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixture_harness import run_program

pytestmark = pytest.mark.tf

# REG008: a regularizer assigned to the layers of a built model adds no penalty, on Keras 3
# and on tf.keras; rebuilding the model from its config (what the message advises) does.
REGULARIZER_AFTER_BUILD = """
{prelude}
from regcheck import report

inputs = keras.Input((3,))
hidden = keras.layers.Dense(2, name="hidden")(inputs)
outputs = keras.layers.Dense(1, name="out")(hidden)
model = keras.Model(inputs, outputs)
model.predict(np.ones((1, 3), "float32"), verbose=0)
for layer in model.layers:
    if hasattr(layer, "kernel_regularizer"):
        layer.kernel_regularizer = keras.regularizers.l2(0.1)
model(np.ones((1, 3), "float32"))
clone = keras.models.clone_model(model)
clone.set_weights(model.get_weights())
rebuilt = keras.models.model_from_json(model.to_json())
report(
    penalties=len(model.losses),
    cloned_penalties=len(clone.losses),
    rebuilt_penalties=len(rebuilt.losses),
    cloned_penalty=float(sum(clone.losses)),
    expected_penalty=0.1 * sum(float(np.sum(np.square(w))) for w in (clone.get_layer("hidden").kernel.numpy(),
                                                                    clone.get_layer("out").kernel.numpy())),
)
"""

KERAS3 = "import numpy as np\nimport keras"
TF_KERAS = (
    'import os\nos.environ["TF_USE_LEGACY_KERAS"] = "1"\nimport numpy as np\nimport tensorflow as tf\nkeras = tf.keras'
)

# REG012: callables in add_loss are a tf.keras feature; Keras 3 refuses them.
ADD_LOSS_CALLABLE = """
{prelude}
from regcheck import report

inputs = keras.Input((3,))
outputs = keras.layers.Dense(1, name="out")(inputs)
model = keras.Model(inputs, outputs)
try:
    model.add_loss(lambda: keras.ops.sum(model.get_layer("out").kernel) if hasattr(keras, "ops") else 0.0)
    report(accepted=1)
except Exception as error:
    report(accepted=0, error=type(error).__name__)
layer = model.get_layer("out")
try:
    layer.add_loss(lambda: 1.0)
    report(layer_accepted=1)
except Exception as error:
    report(layer_accepted=0, layer_error=type(error).__name__)
"""


def _run(tmp_path: Path, template: str, prelude: str) -> dict[str, object]:
    program = tmp_path / "program.py"
    program.write_text(template.format(prelude=prelude), encoding="utf-8")
    code, values, stderr = run_program(program)
    assert code == 0, stderr.strip().splitlines()[-5:]
    return values


@pytest.mark.parametrize("prelude", [KERAS3, TF_KERAS], ids=["keras3", "tf_keras"])
def test_regularizer_assigned_on_a_built_model_adds_no_penalty(tmp_path: Path, prelude: str) -> None:
    values = _run(tmp_path, REGULARIZER_AFTER_BUILD, prelude)
    assert values["penalties"] == 0
    assert values["cloned_penalties"] == 2
    assert values["rebuilt_penalties"] == 2
    assert values["cloned_penalty"] == pytest.approx(values["expected_penalty"], rel=1e-5)


def test_keras3_refuses_callables_in_add_loss(tmp_path: Path) -> None:
    values = _run(tmp_path, ADD_LOSS_CALLABLE, KERAS3)
    assert values["accepted"] == 0 and values["error"] == "NotImplementedError"
    assert values["layer_accepted"] == 0 and values["layer_error"] == "ValueError"


def test_tf_keras_accepts_callables_in_add_loss(tmp_path: Path) -> None:
    values = _run(tmp_path, ADD_LOSS_CALLABLE, TF_KERAS)
    assert values["accepted"] == 1
    assert values["layer_accepted"] == 1


# REG011: under Adam an L2 term in the loss is rescaled away (on the first step entirely, as
# long as it does not flip a gradient's sign), while AdamW and Keras 3's `weight_decay=` shrink
# every weight by lr * decay, decoupled from the adaptive step.
ADAM_WEIGHT_DECAY = """
import numpy as np
import keras
import tensorflow as tf
from regcheck import report

w0 = np.array([[1.0, -2.0], [0.5, 3.0]], "float32")
x = np.array([[1.0, 2.0]], "float32")
y = np.array([[0.5, -1.0]], "float32")
lr, wd = 0.1, 0.05


def step(optimizer, l2=0.0):
    w = keras.Variable(w0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y)) + l2 * tf.reduce_sum(tf.square(w))
    optimizer.apply_gradients(zip(tape.gradient(loss, [w]), [w]))
    return w.numpy()


plain = step(keras.optimizers.Adam(lr))
report(
    plain=plain,
    coupled=step(keras.optimizers.Adam(lr), l2=wd / 2),
    adamw=step(keras.optimizers.AdamW(lr, weight_decay=wd)),
    adam_weight_decay=step(keras.optimizers.Adam(lr, weight_decay=wd)),
    plain_decayed=plain - lr * wd * w0,
)
"""


def test_adam_rescales_an_l2_penalty_and_weight_decay_is_decoupled(tmp_path: Path) -> None:
    import numpy as np

    values = _run(tmp_path, ADAM_WEIGHT_DECAY, "")

    def close(a: str, b: str) -> bool:
        return bool(np.allclose(values[a], values[b], atol=1e-5))

    assert close("coupled", "plain")
    assert close("adamw", "plain_decayed")
    assert close("adam_weight_decay", "adamw")
    assert not close("adamw", "plain")


# REG013 and the target: on Keras 3 (TensorFlow >= 2.16) the TF 1 layers are gone unless
# tf-keras is installed and TF_USE_LEGACY_KERAS=1 is set; with both, their regularizers fill
# the collection again.
LEGACY_LAYER = """
{prelude}
import numpy as np
import tensorflow as tf
from regcheck import report

tf.compat.v1.disable_eager_execution()
x = tf.compat.v1.placeholder(tf.float32, [None, 3])
try:
    tf.compat.v1.layers.dense(x, 2, kernel_regularizer=tf.keras.regularizers.l2(0.1))
    report(built=1, penalties=len(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)))
except AttributeError as error:
    report(built=0, error="not available with Keras 3" in str(error))
"""


@pytest.mark.parametrize(("prelude", "built"), [("", 0), ('import os\nos.environ["TF_USE_LEGACY_KERAS"] = "1"', 1)])
def test_tf1_layers_need_tf_keras_on_keras3(tmp_path: Path, prelude: str, built: int) -> None:
    values = _run(tmp_path, LEGACY_LAYER, prelude)
    assert values["built"] == built
    if built:
        assert values["penalties"] == 1
    else:
        assert values["error"] is True


# REG010 and the target: Keras 3 rejects `l=`; Keras 2 (tf-keras) takes both spellings.
L_KEYWORD = """
{prelude}
from regcheck import report

for keyword in ("l", "l2"):
    try:
        regularizer = keras.regularizers.l2(**{{keyword: 0.5}})
        report(**{{keyword: float(regularizer.get_config()["l2"])}})
    except TypeError:
        report(**{{keyword: "TypeError"}})
"""


@pytest.mark.parametrize(("prelude", "old"), [(KERAS3, "TypeError"), (TF_KERAS, 0.5)], ids=["keras3", "tf_keras"])
def test_keras3_rejects_the_l_keyword(tmp_path: Path, prelude: str, old: object) -> None:
    values = _run(tmp_path, L_KEYWORD, prelude)
    assert values["l"] == old
    assert values["l2"] == 0.5
