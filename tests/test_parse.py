"""reglint parses with libcst's node validation switched off (see
reglint.sources._parsing_without_validation): the trees must be the same, and validation
must be back on for every node built afterwards."""

from __future__ import annotations

import libcst as cst
import pytest

from reglint.sources import SourceError, outline, parse_python
from tests.fixture_harness import fixture_cases

SOURCES = [case.source("before") for case in fixture_cases()]


def test_trees_equal_the_validated_parse() -> None:
    for raw in SOURCES:
        assert parse_python(raw).deep_equals(cst.parse_module(raw))


def test_validation_is_back_after_a_parse_and_after_a_failed_parse() -> None:
    parse_python(b"x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")
    with pytest.raises(SourceError):
        parse_python(b"def (:\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("1x")


DEFINITIONS = [
    *SOURCES,
    b"@decorator\ndef  f(x):\n    return x\nclass C(object): pass\nasync\tdef g(): pass\n",
    b"\xef\xbb\xbfx = 1; y = 2\ndef f(): pass\n",
    b"# -*- coding: latin-1 -*-\ns = '\xe9\xe9'\ndef f(): pass\n",
    b"x = '''\x0c\ndef not_a_def(): pass\n'''\r\ndef real(): pass\rclass K: pass\n",
    b"if x:\n    def inner(): pass\ndef \\\n    continued(): pass\n",
]


@pytest.mark.parametrize("raw", DEFINITIONS)
def test_definition_names_are_placed_as_libcst_places_them(raw: bytes) -> None:
    """Module-level def/class names are placed from `ast` (see positions._definition_names),
    exactly where libcst's PositionProvider puts them, or not at all."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    from reglint.positions import _aligned_statements, _definition_names

    module = parse_python(raw)
    found = outline(raw)
    assert found is not None
    aligned = _aligned_statements(module, found)
    assert aligned is not None
    placed = _definition_names(module, raw, aligned)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    by_id = {id(node): node for node in module.body if isinstance(node, (cst.FunctionDef, cst.ClassDef))}
    for statement in by_id.values():
        if id(statement.name) in placed:
            expected = positions[statement.name]
            got = placed[id(statement.name)]
            assert (got.start.line, got.start.column, got.end.line, got.end.column) == (
                expected.start.line,
                expected.start.column,
                expected.end.line,
                expected.end.column,
            )
    names = [s.name.value for s in by_id.values()]
    if b"continued" not in raw and names:
        assert placed  # the plain cases are placed, not left to the provider


# statements nested in functions, classes and clauses, each a unit of its own (positions._Units):
# continuation lines inside blocks, tabs, comments, one-line suites, `elif`, `except`, `async`
NESTED = b"""import tensorflow as tf


class Model(tf.keras.Model):
    \"\"\"Doc.\"\"\"

    @tf.function(
        jit_compile=True)
    def call(self, x,
             training=False):  # comment
        # leading comment
        if training: x = tf.nn.dropout(x, 0.5)
        elif x is None:
            return None
        elif (x.shape[0]
              > 2):
            x = tf.reduce_sum(
                x, axis=[1,
                         2])
        else:
            pass
        try:
            y = f(x); z = g(y)
        except (ValueError,
                TypeError) as error:
            raise RuntimeError(error)
        except KeyError:
            pass
        else:
            y = 1
        finally:
            del y
        for i in range(3):
            while i:
                i -= 1
            else:
                continue
        with tf.GradientTape() as tape, \\
                tf.device("/cpu:0"):
            loss = tf.add_n([loss] +
                            self.losses)
        return lambda: [
            v for v in self.trainable_variables if "bias" not in v.name]


async def more(self):
\tasync with a as b:
\t\tawait b
\tasync for c in d: pass


def train(model):
    match model:
        case {"x": x}:
            loss = tf.keras.regularizers.l2(1e-4)(x)
        case _:
            pass
    return loss
"""

POSITIONED = [
    *DEFINITIONS,
    b"# header\n\n@a\n# between\n@b(\n  1)\ndef f():\n    x = g(\n        1)  # c\n\n\n# before\nclass C: pass\n",
    b"x = 1; y = f(2)\r\nif x:\r\n    z = 3\r\nelse:\r\n    pass\r\n",
    b"def f():\n\treturn 1\ny = (1,\n     2)",  # no final newline
    b"x = 1\ry = 2\r",
    b"s = '''\nmulti\n'''; t = 1\nfor i in range(3):\n    pass\nelse:\n    pass\n# trailing comment\n",
    NESTED,
]


@pytest.mark.parametrize("raw", POSITIONED)
def test_every_node_is_placed_as_the_whole_module_places_it(raw: bytes) -> None:
    """Positions are computed per module-level statement (see positions.Positions): for every
    node, syntactic and whitespace-inclusive, they must be libcst's for the whole module."""
    from libcst.metadata import MetadataWrapper, PositionProvider, WhitespaceInclusivePositionProvider

    from reglint.positions import Positions as _Positions

    module = parse_python(raw)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    expected = {
        "of": wrapper.resolve(PositionProvider),
        "inclusive": wrapper.resolve(WhitespaceInclusivePositionProvider),
    }
    in_statements = [node for statement in module.body for node in _descendants(statement)]
    positions = _Positions(module, raw, outline(raw))
    for how, whole in expected.items():
        for node in in_statements:
            if node not in whole:
                continue  # libcst generates it as text, not as a node (a match case's whitespace)
            got, want = getattr(positions, how)(node), whole[node]
            assert (got.start.line, got.start.column, got.end.line, got.end.column) == (
                want.start.line,
                want.start.column,
                want.end.line,
                want.end.column,
            ), (how, node)
    assert not positions._whole  # no statement fell back to the whole module's positions
    for how, whole in expected.items():  # the module itself and its header do
        for node, want in whole.items():
            got = getattr(positions, how)(node)
            assert (got.start.line, got.end.line, got.end.column) == (want.start.line, want.end.line, want.end.column)


def test_expressions_in_nested_statements_are_placed_by_their_unit() -> None:
    """A node in a function's body is placed from the code of its own statement (or its
    compound statement's header), not from the whole module-level function: every
    expression of a nested statement and of a clause's header is, but a match case's
    pattern (`ast` does not say where a case starts)."""
    from reglint.positions import Positions as _Positions

    module = parse_python(NESTED)
    positions = _Positions(module, NESTED, outline(NESTED))
    cases = {
        id(node)
        for case in _descendants(module)
        if isinstance(case, cst.MatchCase)
        for node in _descendants(case.pattern)
    }
    expressions = [
        node for node in _descendants(module) if isinstance(node, cst.BaseExpression) and id(node) not in cases
    ]
    assert len(expressions) > 100
    for node in expressions:
        assert positions._in_unit(node, inclusive=False) is not None, node
        assert positions._in_unit(node, inclusive=True) is not None, node
    assert not positions._local and not positions._whole


@pytest.mark.parametrize("raw", POSITIONED)
def test_node_positions_are_the_metadata_wrappers(raw: bytes) -> None:
    """positions.node_positions runs a position provider without MetadataWrapper (which visits
    the whole tree once more for nothing): every node must get what the wrapper gives."""
    from libcst.metadata import MetadataWrapper, PositionProvider, WhitespaceInclusivePositionProvider

    from reglint.positions import node_positions

    module = parse_python(raw)
    for provider in (PositionProvider, WhitespaceInclusivePositionProvider):
        expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(provider)
        assert dict(node_positions(module, provider)) == dict(expected)


# (source, whether it can be cut anywhere)
PIECES = [
    *((raw, None) for raw in POSITIONED),  # fixtures and layouts: the same tree, or declined
    (
        b"import a\n\n\n# about f\n\ndef f():\n  return 1\n\n# about g\n@d\nclass G:\n  x = 1\n  # g's own\n\ny = 2\n",
        True,
    ),
    (b"def f():\r\n\tpass\r\n\r\ng = 1\r\nh = 2\r\n", True),
    (b"x = 1\ndef f():\n    pass\n    \ny = 2\n", True),  # not after the whitespace-only line
    (b"if a:\n    b = 1\n# c\nelse_ = 2\nz = 3", True),  # no final newline
    (b"if a:\n    b = 1\n\ndef f():\n        deep = 1\n", False),  # pieces would indent by 4 and by 8
    (b"\xef\xbb\xbf# -*- coding: utf-8 -*-\nx = '\xc3\xa9'\n\ny = 1\n", True),  # a BOM, a cookie, non-ASCII
    (b"class A:\n    x = 1\n    # A's own\ny = 2\n", False),  # an indented comment may be A's
    (b"x = 1; y = 2\n", False),  # one line
]


@pytest.mark.parametrize(("raw", "cut"), PIECES)
def test_parsing_in_pieces_gives_the_same_tree(raw: bytes, cut: bool | None) -> None:
    """A large file is parsed a few module-level statements at a time (see
    sources.parse_in_pieces); with the smallest pieces, the tree must be the whole parse's,
    node for node, or the function must decline."""
    from reglint.sources import parse_in_pieces

    found = outline(raw)
    assert found is not None
    if not found.utf8:  # (a latin-1 file is parsed whole: its pieces would lose the cookie)
        assert cut is None
        return
    whole = parse_python(raw)
    pieces = parse_in_pieces(raw, found, piece_bytes=1)
    if cut is not None:
        assert (pieces is not None) == cut
    if pieces is not None:
        assert pieces.deep_equals(whole)
        assert pieces.code == whole.code
    assert parse_in_pieces(raw, found, piece_bytes=len(raw) + 1) is None  # one piece: parsed whole


def test_fixtures_are_cut_into_pieces() -> None:
    """The fixtures above are really cut (the comparison is not all declines)."""
    from reglint.sources import parse_in_pieces

    cut = []
    for raw in SOURCES:
        found = outline(raw)
        assert found is not None
        cut.append(parse_in_pieces(raw, found, piece_bytes=1) is not None)
    assert sum(cut) >= len(SOURCES) * 3 // 4


def test_large_files_are_parsed_in_pieces() -> None:
    from reglint.sources import PIECE_BYTES, PythonSource, parse_in_pieces

    statement = b"def f(x):\n    return x + 1\n\n\n"
    raw = statement * (2 * PIECE_BYTES // len(statement))
    source = PythonSource("big.py", raw)
    found = source.outline()
    assert found is not None and parse_in_pieces(raw, found) is not None
    module = source.parse()
    assert module.deep_equals(cst.parse_module(raw)) and module.code == raw.decode()


CONTINUED = (
    b"import tf_slim as slim\n\n\nclass Net:\n  def scope(self, decay):\n"
    b"    with slim.arg_scope([slim.conv2d],\n"
    b"                        weights_regularizer=slim.l2_regularizer(decay),\n"
    b"                        biases_regularizer=slim.l2_regularizer(\n"
    b"                            decay)):\n"
    b"      pass\n"
)


def test_code_keeps_the_indentation_of_the_blocks_around_a_node() -> None:
    """A node's code, for a fix, as the file has it: continuation lines inside brackets keep
    the indentation of the class and function around them (libcst's code_for_node drops it)."""
    from reglint.engine import FileContext
    from reglint.names import Resolver

    module = parse_python(CONTINUED)
    ctx = FileContext("net.py", module, Resolver(module), python=CONTINUED, outline=outline(CONTINUED))
    calls = [node for node in _descendants(module) if isinstance(node, cst.Call)]
    scope = next(c for c in calls if cst.ensure_type(c.func, cst.Attribute).attr.value == "arg_scope")
    text = CONTINUED.decode()
    assert ctx.code(scope) in text
    assert ctx.code(scope.args[-1].value) in text
    # a node made from one of the file's, written in its place
    shorter = scope.with_changes(args=scope.args[:-1])
    assert ctx.positions().code_at(shorter, scope).splitlines() == [
        "slim.arg_scope([slim.conv2d],",
        "                        weights_regularizer=slim.l2_regularizer(decay),",
        "                        )",
    ]


def _descendants(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The node and every node below it (libcst's own `children`, independent of the engine's)."""
    found, todo = [], [node]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(current.children)
    return found
