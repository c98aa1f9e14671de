"""The def-use analysis behind REG001/006/007/009 (reglint/dataflow.py), probed directly:
which regularization sources reach which training sinks, which escape, which stay put."""

from __future__ import annotations

from typing import ClassVar

import libcst as cst
import pytest

from reglint.dataflow import Flow, FlowRule
from reglint.engine import analyse_module

TF1 = "import tensorflow.compat.v1 as tf\n"
KERAS = "import keras\nimport tensorflow as tf\n"
REG = "tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)"


class Probe(FlowRule):
    """Keeps the solved flow of the last file."""

    code = "REG900"
    name = "probe"
    TOKENS = (b"import",)
    last: ClassVar[Flow | None] = None

    def judge(self, flow: Flow) -> None:
        Probe.last = flow


def solve(source: str) -> Flow:
    result = analyse_module("example.py", cst.parse_module(source), [Probe])
    assert not result.internal_errors, result.internal_errors
    assert Probe.last is not None
    return Probe.last


def reached(source: str) -> set[tuple[str, str]]:
    """(source kind, sink kind) for every source that reaches a sink."""
    flow = solve(source)
    return {(src.kind, sink.kind) for sink in flow.sinks.values() for src in sink.sources()}


def escaped(source: str) -> set[str]:
    return {src.kind for src in solve(source).escaped}


REACHES = [
    pytest.param(TF1 + f"r = {REG}\nloss = base + tf.add_n(r)\ntf.train.AdamOptimizer().minimize(loss)\n", id="add_n"),
    pytest.param(TF1 + f"r = {REG}\nloss = tf.add_n([base] + r)\nop = opt.minimize(loss)\n", id="list-concat"),
    pytest.param(TF1 + f"r = {REG}\nloss = tf.add(base, sum(r))\ng = tf.gradients(loss, v)\n", id="tf.add-sum"),
    pytest.param(TF1 + f"r = {REG}\nloss = base\nloss += tf.math.add_n(r)\nopt.minimize(loss)\n", id="augassign"),
    pytest.param(TF1 + f"a, b = {REG}, base\nloss = tf.reduce_sum(a) + b\nopt.minimize(loss)\n", id="tuple-unpacking"),
    pytest.param(
        TF1 + f"terms = []\nterms.append(tf.reduce_mean({REG}))\nloss = base + sum(terms)\nopt.minimize(loss)\n",
        id="append",
    ),
    pytest.param(
        TF1 + f"loss = base + tf.add_n([t for t in {REG}])\nopt.compute_gradients(loss)\n", id="comprehension"
    ),
    pytest.param(
        TF1 + f"def total(b):\n    return b + tf.add_n({REG})\nopt.minimize(total(base))\n", id="return-of-helper"
    ),
    pytest.param(
        TF1 + f"def train(loss):\n    return opt.minimize(loss)\ntrain(base + tf.add_n({REG}))\n",
        id="argument-to-helper",
    ),
    pytest.param(
        TF1 + "class M:\n"
        f"    def build(self):\n        self.reg = {REG}\n"
        "    def train(self):\n        return opt.minimize(self.base + tf.add_n(self.reg))\n",
        id="attribute-across-methods",
    ),
    pytest.param(
        TF1 + "import tf_slim as slim\n"
        "total = slim.losses.get_total_loss()\nop = slim.learning.create_train_op(total, opt)\n",
        id="slim-train-op",
    ),
    pytest.param(
        TF1 + "def model_fn(features, labels, mode):\n"
        "    loss = base + tf.losses.get_regularization_loss()\n"
        "    return tf.estimator.EstimatorSpec(mode, loss=loss)\n",
        id="estimator-spec",
    ),
    pytest.param(
        KERAS + "with tf.GradientTape() as tape:\n    loss = base + sum(model.losses)\n"
        "g = tape.gradient(loss, model.trainable_variables)\n",
        id="gradient-tape",
    ),
    pytest.param(
        TF1 + "l2 = tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])\n"
        "loss = base + 0.01 * l2\nopt.minimize(loss)\n",
        id="manual-l2-over-variables",
    ),
    pytest.param(KERAS + "model.add_loss(lambda: tf.reduce_sum(tf.square(w)))\n", id="add_loss"),
]


@pytest.mark.parametrize("source", REACHES)
def test_regularization_reaches_the_sink(source: str) -> None:
    assert reached(source)


STAYS = [
    pytest.param(TF1 + f"r = {REG}\nprint(sess.run(r))\nopt.minimize(base)\n", id="printed-and-fetched"),
    pytest.param(TF1 + f"r = {REG}\ntf.summary.scalar('reg', tf.add_n(r))\nopt.minimize(base)\n", id="summary"),
    pytest.param(TF1 + f"r = {REG}\nlogging.info('%s', r)\nopt.minimize(base)\n", id="logging"),
    pytest.param(TF1 + "r = tf.get_collection('losses')\nopt.minimize(tf.add_n(r))\n", id="other-collection"),
    pytest.param(TF1 + "loss = tf.reduce_mean(tf.square(y - p))\nopt.minimize(loss)\n", id="mse-is-no-penalty"),
    pytest.param(
        TF1 + "loss = tf.losses.get_total_loss(add_regularization_losses=False)\nopt.minimize(loss)\n",
        id="total-without-regularization",
    ),
]


@pytest.mark.parametrize("source", STAYS)
def test_regularization_does_not_reach_a_sink(source: str) -> None:
    assert reached(source) == set()


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(TF1 + f"from helpers import combine\nloss = combine(base, {REG})\n", id="imported-function"),
        pytest.param(TF1 + f"loss = unknown(base, {REG})\n", id="unknown-name"),
        pytest.param(TF1 + f"other.reg = {REG}\n", id="attribute-of-unknown-object"),
        pytest.param(TF1 + f"def build():\n    return {REG}\n", id="returned-to-callers-elsewhere"),
    ],
)
def test_flows_the_analysis_cannot_follow_escape(source: str) -> None:
    assert "collection" in escaped(source)


def test_a_method_named_losses_is_no_keras_penalty() -> None:
    flow = solve(TF1 + "net = SSDNet()\nloss = net.losses(logits, labels)\nopt.minimize(loss)\n")
    assert not flow.sources


def test_loss_from_an_unknown_loss_function_is_opaque() -> None:
    flow = solve(TF1 + "from lib import compute_loss\nloss = compute_loss(logits)\nopt.minimize(loss)\n")
    (sink,) = flow.sinks.values()
    assert sink.opaque


def test_tape_sink_knows_its_tape_and_penalties_outside_it() -> None:
    flow = solve(
        KERAS + "reg = tf.add_n(model.losses)\nwith tf.GradientTape() as tape:\n    loss = base + reg\n"
        "g = tape.gradient(loss, model.trainable_variables)\n"
    )
    (sink,) = flow.sinks.values()
    assert sink.kind == "tape" and isinstance(sink.tape, cst.With)
    (penalty,) = sink.sources(["keras_losses"])
    assert sink.tape not in penalty.stmt.tapes


def test_keras_model_flows_through_its_forward_pass_and_fit() -> None:
    flow = solve(
        KERAS + "model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer='l2')])\n"
        "with tf.GradientTape() as tape:\n    loss = tf.reduce_mean(model(x))\n"
        "g = tape.gradient(loss, model.trainable_variables)\nmodel.fit(x, y)\n"
    )
    (sink,) = flow.sinks.values()
    (model,) = sink.sources(["keras_model"])
    assert model in flow.fitted


def test_subclassed_model_instances_carry_their_layers_regularizers() -> None:
    flow = solve(
        KERAS + "class Net(keras.Model):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.d = keras.layers.Dense(1, kernel_regularizer=keras.regularizers.l2(0.1))\n"
        "    def call(self, x):\n        return self.d(x)\n"
        "net = Net()\nwith tf.GradientTape() as tape:\n    loss = tf.reduce_mean(net(x))\n"
        "g = tape.gradient(loss, net.trainable_variables)\n"
    )
    (sink,) = flow.sinks.values()
    assert sink.sources(["keras_model"])


def test_flow_is_fed_once_when_several_rules_read_it() -> None:
    from reglint.rule import rules_by_code

    rules = [rules_by_code()[c] for c in ("REG001", "REG006", "REG007", "REG009")]
    source = TF1 + f"r = {REG}\nloss = base + tf.add_n(r)\nopt.minimize(loss)\n"
    result = analyse_module("example.py", cst.parse_module(source), [Probe, *rules])
    assert not result.internal_errors
    assert Probe.last is not None
    assert len(Probe.last.stmts) == len({id(s.node) for s in Probe.last.stmts}) == 4


@pytest.mark.parametrize("code", ["REG001", "REG006", "REG007", "REG009"])
def test_documented_example_is_flagged_and_its_correction_is_not(code: str) -> None:
    import re

    from reglint.rule import rules_by_code
    from tests.helpers import lint

    rule = rules_by_code()[code]
    example, use_instead = re.findall(r"```python\n(.*?)```", rule.documentation(), re.S)[:2]
    assert [f.code for f in lint(example, [rule]).findings] == [code]
    assert lint(use_instead, [rule]).findings == []


def test_a_call_of_one_of_several_functions_invokes_each_of_them() -> None:
    """`block_fn = a if c else b; block_fn(x)`: both may run, so both get `x`. (The first
    function of the set used to be invoked alone: which one depended on the order a set of
    nodes iterates in, and the facts changed from one run to the next.)"""
    source = (
        "def residual(inputs, fmt):\n    return inputs\n\n"
        "def bottleneck(inputs, fmt):\n    return inputs\n\n"
        "def group(inputs, block_fn, fmt):\n    return block_fn(inputs, fmt)\n\n"
        "def model(images, fmt, deep):\n"
        "    block = bottleneck if deep else residual\n"
        "    return group(images, block, fmt)\n"
    )
    for _ in range(5):
        flow = solve(source)
        bound = {(func.name.value, name) for (func, name), tags in flow.params.items() if tags}
        assert {("residual", "inputs"), ("bottleneck", "inputs")} <= bound


def test_a_method_of_any_class_the_receiver_may_be_an_instance_of_is_invoked() -> None:
    source = (
        "class A:\n    def make(self, x):\n        return x\n\n"
        "class B:\n    def make(self, x):\n        return x\n\n"
        "def build(kind, x):\n"
        "    maker = A() if kind else B()\n"
        "    return maker.make(x)\n"
    )
    for _ in range(5):
        flow = solve(source)
        makers = [func for (func, name), tags in flow.params.items() if tags and name == "x"]
        assert len(makers) == 2 and {func.name.value for func in makers} == {"make"}
