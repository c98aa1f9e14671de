"""The one name resolver: every spelling issue 2 lists resolves to the same canonical name,
and names bound by something else than an import shadow it."""

from __future__ import annotations

import libcst as cst
import pytest

from reglint.names import Resolver, package_of


def _resolve_last(source: str) -> str | None:
    module = cst.parse_module(source)
    last = module.body[-1]
    assert isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[0], cst.Expr)
    return Resolver(module).resolve(last.body[0].value)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import tensorflow as tf\ntf.GraphKeys\n", "tensorflow.GraphKeys"),
        ("import tensorflow as tf\ntf.compat.v1.GraphKeys\n", "tensorflow.GraphKeys"),
        ("import tensorflow.compat.v1 as tf\ntf.GraphKeys\n", "tensorflow.GraphKeys"),
        ("from tensorflow.compat import v1 as tf\ntf.GraphKeys\n", "tensorflow.GraphKeys"),
        ("import tensorflow\ntensorflow.compat.v1.GraphKeys\n", "tensorflow.GraphKeys"),
        ("from tensorflow.keras import layers, regularizers\nregularizers.l2\n", "keras.regularizers.l2"),
        ("from tensorflow import keras\nkeras.regularizers.l2\n", "keras.regularizers.l2"),
        ("import keras\nkeras.regularizers.l2\n", "keras.regularizers.l2"),
        ("import tensorflow as tf\ntf.keras.regularizers.l2\n", "keras.regularizers.l2"),
        ("import tf_keras\ntf_keras.regularizers.l2\n", "keras.regularizers.l2"),
        ("from tensorflow.contrib import layers\nlayers.l2_regularizer\n", "tensorflow.contrib.layers.l2_regularizer"),
        ("import tensorflow.contrib.slim as slim\nslim.l2_regularizer\n", "slim.l2_regularizer"),
        ("import tf_slim as slim\nslim.l2_regularizer\n", "slim.l2_regularizer"),
        ("import tensorflow as tf\nreg = tf.keras.regularizers\nreg.l2\n", "keras.regularizers.l2"),
        ("from tensorflow.python.ops import variable_scope\nvariable_scope.get_variable\n", "tensorflow.get_variable"),
        ("from tensorflow.contrib import framework\nframework.arg_scope\n", "tensorflow.contrib.layers.arg_scope"),
        (
            "try:\n    import tensorflow.compat.v1 as tf\nexcept ImportError:\n    tf = None\ntf.GraphKeys\n",
            "tensorflow.GraphKeys",
        ),
    ],
)
def test_spellings_resolve_to_one_name(source: str, expected: str) -> None:
    assert _resolve_last(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "import mylib\nmylib.GraphKeys\n",  # another library's look-alike
        "class GraphKeys:\n    X = 1\n\nGraphKeys\n",  # a user class
        "import tensorflow as tf\nreg = tf.keras.regularizers.l2(0.1)\nreg\n",  # a value, not an alias
    ],
)
def test_non_tensorflow_names_do_not_resolve_to_tensorflow(source: str) -> None:
    resolved = _resolve_last(source)
    assert resolved is None or not resolved.startswith(("tensorflow", "keras", "slim"))


def test_a_parameter_shadows_the_import_inside_its_function() -> None:
    module = cst.parse_module("import tensorflow as tf\ndef f(tf):\n    return tf.GraphKeys\n")
    resolver = Resolver(module)
    function = module.body[1]
    assert isinstance(function, cst.FunctionDef)
    resolver.push_function(function)
    assert resolver.resolve(cst.parse_expression("tf.GraphKeys")) is None
    resolver.pop_function()
    assert resolver.resolve(cst.parse_expression("tf.GraphKeys")) == "tensorflow.GraphKeys"


def test_alias_for_finds_the_files_own_spelling() -> None:
    module = cst.parse_module("import tensorflow.compat.v1 as tf1\nfrom tensorflow.keras import regularizers as R\n")
    resolver = Resolver(module)
    assert resolver.alias_for("tensorflow") == "tf1"
    assert resolver.alias_for("keras.regularizers") == "R"
    assert resolver.alias_for("keras") is None


def test_a_module_sharing_some_names_with_tensorflow_is_not_an_alias_of_it() -> None:
    # tensorflow/tpu's models import variable_scope for `variable_scope.variable_scope(...)`:
    # a fix spelling `variable_scope.keras.regularizers` would raise AttributeError
    module = cst.parse_module(
        "from tensorflow.python.ops import variable_scope\nfrom tensorflow.contrib import framework\n"
    )
    resolver = Resolver(module)
    assert resolver.alias_for("tensorflow") is None
    assert resolver.alias_for("tensorflow.contrib.layers") is None


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("pkg/nets/vgg.py", "from .blocks import conv\nconv\n", "pkg.nets.blocks.conv"),
        ("pkg/nets/vgg.py", "from ..regularizers import KERNEL_REG\nKERNEL_REG\n", "pkg.regularizers.KERNEL_REG"),
        ("pkg/nets/vgg.py", "from . import blocks\nblocks.conv\n", "pkg.nets.blocks.conv"),
        ("vgg.py", "from .blocks import conv\nconv\n", "blocks.conv"),
        # more levels than the path has, or a path that names no package: unknown
        ("vgg.py", "from ..blocks import conv\nconv\n", None),
        ("../x/vgg.py", "from .blocks import conv\nconv\n", None),
    ],
)
def test_relative_imports_name_the_projects_modules_from_the_files_path(
    path: str, source: str, expected: str | None
) -> None:
    module = cst.parse_module(source)
    last = module.body[-1]
    assert isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[0], cst.Expr)
    assert Resolver(module, package_of(path)).resolve(last.body[0].value) == expected
