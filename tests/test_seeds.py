"""The seeds' snippets (/work/shared/seeds 000-004), made into complete programs as their
authors wrote them (mistakes and contrib code included), get exactly the findings the rule
catalog (rules.md) predicts, across every rule of the catalog.

Other rules are written in parallel: EXPECTED lists the predictions for the whole catalog,
and the test compares only the codes of rules that are registered now. It passes while a
rule is missing, and becomes stricter by itself as each rule lands. Lines are pinned for the
REG001 family (whose reporting position this test owns); for the other rules, the number of
findings per code is compared.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reglint.rule import rules_by_code
from tests.helpers import lint

SEEDS = Path(__file__).parent / "seeds"

# file -> (code, line or None) for every finding the catalog predicts
EXPECTED: dict[str, list[tuple[str, int | None]]] = {
    # two reads of the regularization loss, printed every step but never trained on (REG001
    # shape 1); the contrib regularizers of get_variable and tf.layers.conv2d (REG005); L2
    # regularizers meant for an Adam optimizer (REG011, opt-in: once REG001's fix adds them to
    # the loss, Adam rescales them)
    "seed000_regularization_loss_printed.py": [
        # at the training call, citing both reads (lines 30 and 31)
        ("REG001", 33),
        ("REG005", None),
        ("REG005", None),
        ("REG011", None),
    ],
    # `loss = tf.add_n(regularization_losses) + loss`: correct
    "seed001_weight_decay_get_variable.py": [],
    # L2 over tf.trainable_variables() includes the biases (REG003); the contrib demo (REG005)
    "seed002_trainable_variables_l2.py": [("REG003", None), ("REG005", None)],
    # `tf.add_n([base_loss] + l2_loss)`: correct; the contrib kernel_regularizer (REG005)
    "seed002_collection_concat.py": [("REG005", None)],
    # compile + fit adds model.losses: no REG001; the L2 kernel_regularizer with
    # keras.optimizers.Adam() (REG011, opt-in)
    "seed003_keras_cnn.py": [("REG011", None)],
    # contrib l1/l2 regularizers, twice in losses and twice in the printed demo (REG005)
    "seed003_l1_l2_demo.py": [("REG005", None)] * 4,
    # the custom 'losses' collection summed with tf.add_n: correct; contrib (REG005); an L2
    # penalty in the loss of an Adam optimizer (REG011, opt-in, enabled by ALL)
    "seed003_losses_collection.py": [("REG005", None), ("REG011", None)],
    # L2 over every trainable variable, biases included (REG003), with Adam (REG011)
    "seed004_parameter_regularization.py": [("REG003", None), ("REG011", None)],
}


def test_every_seed_program_has_expectations() -> None:
    assert sorted(p.name for p in SEEDS.glob("seed*.py")) == sorted(EXPECTED)
    assert {name[:7] for name in EXPECTED} == {f"seed00{n}" for n in range(5)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_gets_the_predicted_findings(name: str) -> None:
    registered = set(rules_by_code())
    result = lint({name: (SEEDS / name).read_text(encoding="utf-8")})  # select ALL: opt-in rules too
    assert not result.internal_errors, result.internal_errors
    assert not result.parse_errors
    got = [(f.code, f.range.start.line) for f in result.findings if f.code in registered]
    expected = [(code, line) for code, line in EXPECTED[name] if code in registered]
    assert Counter(code for code, _ in got) == Counter(code for code, _ in expected), [
        f"{f.code}:{f.range.start.line} {f.message}" for f in result.findings
    ]
    pinned = sorted((code, line) for code, line in expected if line is not None)
    assert sorted(pair for pair in got if pair[0] in {code for code, _ in pinned}) == pinned
