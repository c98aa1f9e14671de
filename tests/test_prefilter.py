"""The prefilter's token groups and the project rules' requests for skipped files.

The safety of each rule's TOKENS is proved on its examples in test_rules.py and on the
fixtures in test_fixtures.py; this file tests the machinery itself."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import libcst as cst

from reglint.cache import Cache
from reglint.config import Settings
from reglint.judge import ProjectFacts
from reglint.prefilter import as_groups, contains_token
from reglint.rule import Rule, Token, Word, all_rules
from reglint.runner import analyse_project, run
from tests.helpers import lint


def test_a_group_needs_all_its_tokens() -> None:
    groups = as_groups([(b"minimize", b"l2_loss"), b"GraphKeys"])
    assert contains_token(b"opt.minimize(loss + tf.nn.l2_loss(w))", groups)
    assert not contains_token(b"opt.minimize(loss)", groups)
    assert not contains_token(b"tf.nn.l2_loss(w)", groups)
    assert contains_token(b"tf.GraphKeys.LOSSES", groups)
    assert not contains_token(b"", groups)


def test_implied_entries_are_dropped() -> None:
    # `regularizer` implies `regulariz`; (a, b) is implied by (a,); a group whose tokens are
    # contained in another group's tokens is the weaker one and stays
    groups = as_groups([b"regulariz", b"kernel_regularizer", (b"regularizers", b"l="), (b"minimize", b"l2_loss")])
    assert set(groups) == {(b"minimize", b"l2_loss"), (b"regulariz",)}
    assert as_groups([(b"a", b"b"), (b"a", b"bc")]) == ((b"a", b"b"),)


def test_token_order_inside_a_group_does_not_matter() -> None:
    assert as_groups([(b"x", b"yy")]) == as_groups([(b"yy", b"x")])


def test_a_word_is_matched_whole_in_python_only() -> None:
    groups = as_groups([(Word(b"sum"), Word(b"square"))])
    for found in (b"sum(tf.square(w))", b"x=sum\n;tf.square", b"np.sum(w*w) # square", b"sum\x0csquare"):
        assert contains_token(found, groups), found
    for missed in (b"cumsum(tf.square(w))", b"summary(square)", b"sum_(square)", b"\xc3\xa9sum square", b"square"):
        assert not contains_token(missed, groups), missed
    # a notebook's JSON escapes line breaks: "\nsum" starts a line there, so words are bytes
    notebook = b'{"source": ["w = 1\\nsum(tf.square(w))"]}'
    assert not contains_token(notebook, groups)
    assert contains_token(notebook, groups, python=False)


def test_a_word_is_not_the_same_token_as_its_bytes() -> None:
    assert Word(b"sum") != b"sum" and b"sum" != Word(b"sum") and Word(b"sum") == Word(b"sum")  # noqa: SIM300
    assert len({Word(b"sum"), b"sum"}) == 2
    # bytes are implied by a word that contains them; a word only by itself
    assert as_groups([b"sum", Word(b"reduce_sum")]) == ((b"sum",),)
    assert set(as_groups([Word(b"sum"), b"reduce_sum"])) == {(b"reduce_sum",), (Word(b"sum"),)}
    assert as_groups([Word(b"sum"), (Word(b"sum"), b"x")]) == ((Word(b"sum"),),)
    # a word and its bytes are looked up separately in one file
    assert contains_token(b"cumsum", as_groups([(b"sum", Word(b"sum"))])) is False


class _Writes(Rule):
    """Records where a value is written: such a fact matters only if something reads it."""

    code = "REG901"
    name = "test-writes"
    TOKENS: ClassVar[tuple[Token, ...]] = (b"read_value",)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value in ("write_value", "read_value"):
            self.fact(node.func.value, node)

    @classmethod
    def wanted_tokens(cls, project: ProjectFacts) -> Iterable[Token]:
        return (b"write_value",) if project.of(cls.code, "read_value") else ()

    @classmethod
    def check_project(cls, project: ProjectFacts) -> Iterable[object]:
        return ()


def test_wanted_tokens_bring_in_skipped_files_only_when_asked() -> None:
    writer = ("w.py", b"write_value(1)\n")
    reader = ("r.py", b"read_value()\n")
    other = ("o.py", b"print(1)\n")
    results = analyse_project([writer, reader, other], [_Writes])
    assert [f.kind for f in results["w.py"].facts] == ["write_value"]
    assert [f.kind for f in results["r.py"].facts] == ["read_value"]
    assert results["o.py"].skipped
    # nothing reads: the writer is never parsed
    alone = analyse_project([writer, other], [_Writes])
    assert alone["w.py"].skipped and not alone["w.py"].facts


# YunYang1994's TF2 YOLOv3, cut down: REG008 looks at the layers module (it makes layers
# with kernel_regularizer=), REG001 only once train.py's loop is built from it
YOLO = {
    "core/common.py": "import tensorflow as tf\n"
    "def convolutional(x, filters):\n"
    "    return tf.keras.layers.Conv2D(filters, 3, kernel_regularizer=REGULARIZER)(x)\n",
    "core/yolov3.py": "import core.common as common\ndef YOLOv3(x):\n    return [common.convolutional(x, 64)]\n",
    "train.py": "import tensorflow as tf\nfrom core.yolov3 import YOLOv3\n"
    "inputs = tf.keras.layers.Input([416, 416, 3])\n"
    "model = tf.keras.Model(inputs, YOLOv3(inputs))\n"
    "def train_step(images, target):\n"
    "    with tf.GradientTape() as tape:\n"
    "        total_loss = tf.reduce_mean(model(images, training=True) - target)\n"
    "        gradients = tape.gradient(total_loss, model.trainable_variables)\n",
}


def _yolo(regularizer: str) -> dict[str, str]:
    return {path: text.replace("REGULARIZER", regularizer) for path, text in YOLO.items()}


def test_a_wanted_file_another_rule_analysed_gets_the_asking_rules_facts() -> None:
    every = [r for r in all_rules() if r.default_enabled]
    result = lint(_yolo("tf.keras.regularizers.l2(5e-4)"), every)
    assert [(f.code, f.path) for f in result.findings] == [("REG001", "train.py")]


def test_a_wanted_file_keeps_the_asking_rules_facts_once_fixed() -> None:
    """REG005's fix rewrites core/common.py; analysed again, it must still tell REG001 that
    its layers are regularized."""
    every = [r for r in all_rules() if r.default_enabled]
    files = _yolo("tf.contrib.layers.l2_regularizer(5e-4)")
    assert sorted(f.code for f in lint(files, every).findings) == ["REG001", "REG005"]
    fixed = lint(files, every, fix=True)
    assert "keras.regularizers.l2" in fixed.changes["core/common.py"].fixed.decode()
    assert [(f.code, f.path) for f in fixed.findings] == [("REG001", "train.py")]


def test_a_wanted_file_keeps_the_asking_rules_facts_with_a_cache(tmp_path: Path) -> None:
    """The first pass caches core/common.py as the prefilter analysed it (REG008 only): the
    wanted analysis must not be answered by that entry, cold or warm, nor when another file
    changed (the run misses, the files' entries hit)."""
    settings = Settings(select=("ALL",))
    items = [(path, text.encode()) for path, text in _yolo("tf.keras.regularizers.l2(5e-4)").items()]

    def reg001(files: list[tuple[str, bytes]]) -> list[str]:
        cache = Cache(tmp_path / ".reglint_cache", settings.fingerprint())
        return [f.path for f in run(files, settings, jobs=1, cache=cache).findings if f.code == "REG001"]

    assert reg001(items) == ["train.py"]
    assert reg001(items) == ["train.py"]
    changed = [(path, raw + b"# edited\n" if path == "core/yolov3.py" else raw) for path, raw in items]
    assert reg001(changed) == ["train.py"]


# ---------------------------------------------------------------------------------------
# the docstring screen of large files


def test_docstrings_are_blanked_and_nothing_else() -> None:
    from reglint.prefilter import without_docstrings

    raw = (
        '"""Module: regularizer."""\nimport tensorflow as tf\n\n\n'
        "class A:\n    '''gradients é'''\n    x = 'kept string'\n\n"
        "    def f(self):\n        r'''\n        multi\n        line'''\n        return \"\"\"not a docstring\"\"\"\n"
        "if True:\n    def g():\n        'doc'\n        pass\n"
    ).encode()
    blank = without_docstrings(raw)
    assert blank is not None and len(blank) == len(raw)
    for gone in (b"regularizer", b"gradients", b"multi", b"doc'"):
        assert gone not in blank
    for kept in (b"kept string", b"not a docstring", b"import tensorflow as tf", b"def g():"):
        assert kept in blank
    # line breaks of every style, a BOM, and a UTF-8 cookie keep the offsets exact
    for variant in (
        raw.replace(b"\n", b"\r\n"),
        raw.replace(b"\n", b"\r"),
        b"\xef\xbb\xbf" + raw,
        b"# -*- coding: utf-8 -*-\n" + raw,
    ):
        done = without_docstrings(variant)
        assert done is not None and b"regularizer" not in done and b"kept string" in done
        assert b"not a docstring" in done and b"gradients" not in done


def test_screen_gives_up_where_it_cannot_be_exact() -> None:
    from reglint.prefilter import without_docstrings

    assert without_docstrings(b"# -*- coding: latin-1 -*-\n'''r\xe9gularizer'''\n") is None
    assert without_docstrings(b"def f(:\n") is None
    assert without_docstrings(b'print "py2"\n') is None


def test_screen_never_changes_findings() -> None:
    """Every example and fixture, screened, gives the findings it gives without any
    prefilter."""
    from reglint.rule import Invalid, Valid, rules_by_code
    from tests.fixture_harness import fixture_cases

    cases: list[tuple[dict[str, str], list[type[Rule]]]] = []
    for rule in all_rules():
        for example in [*rule.VALID, *rule.INVALID]:
            assert isinstance(example, Valid | Invalid)
            files = dict(example.files) if example.files else {"example.py": example.code}
            cases.append((files, [rule, *(rules_by_code()[c] for c in getattr(example, "select", ()))]))
    for case in fixture_cases():
        before = {"before.py": case.source("before").decode("utf-8")}
        cases.append((before, [rules_by_code()[c] for c in case.expect["select"]]))
    for files, rules in cases:
        assert lint(files, rules, prefilter=True).findings == lint(files, rules, prefilter=False).findings


def test_a_file_naming_the_rules_only_in_docstrings_is_not_parsed() -> None:
    """The screen at work: words in docstrings do not let a file in, the same words in code
    or in another string do."""
    from reglint.rule import rules_by_code

    rules = [rules_by_code()["REG003"]]
    documented = b'"""Set bias_regularizer= on the layer."""\nimport keras\n\n\ndef f():\n    "bias_regularizer"\n'
    coded = b"import keras\nlayer = keras.layers.Dense(1, bias_regularizer='l2')\n"
    quoted = b'import keras\nprint("""bias_regularizer""")\n'
    results = analyse_project([("doc.py", documented), ("code.py", coded), ("str.py", quoted)], rules)
    assert results["doc.py"].skipped
    assert not results["code.py"].skipped and [f.code for f in results["code.py"].findings] == ["REG003"]
    assert not results["str.py"].skipped


def _groups_by_every_pair(tokens: list[Token]) -> tuple[tuple[bytes, ...], ...]:
    """as_groups as specified, by testing every pair of tokens and of groups (slow)."""
    found: dict[frozenset[bytes], tuple[bytes, ...]] = {}
    for entry in tokens:
        members = frozenset((entry,) if isinstance(entry, bytes) else entry)
        found.setdefault(members, tuple(sorted(members, key=lambda b: (-len(b), b))))
    every = frozenset().union(*found)

    def implied(token: bytes, by: bytes) -> bool:
        return token == by if type(token) is Word else token in by

    implies = {by: frozenset(t for t in every if implied(t, by)) for by in every}
    kept = [
        group
        for members, group in found.items()
        if not any(frozenset().union(*(implies[t] for t in members)) >= o and o != members for o in found)
    ]
    return tuple(sorted(kept, key=lambda g: (-len(g[0]), g)))


def test_as_groups_keeps_what_testing_every_pair_keeps() -> None:
    import random

    alphabet = [b"ab", b"abc", b"b", b"bc", b"c", b"abcd", b"d"]
    chance = random.Random(20261203)

    def token() -> bytes:
        return Word(chance.choice(alphabet)) if chance.random() < 0.4 else chance.choice(alphabet)

    for _ in range(2000):
        tokens: list[Token] = [
            token() if chance.random() < 0.6 else tuple(token() for _ in range(chance.randint(1, 3)))
            for _ in range(chance.randint(1, 8))
        ]
        assert as_groups(tokens) == _groups_by_every_pair(tokens), tokens
