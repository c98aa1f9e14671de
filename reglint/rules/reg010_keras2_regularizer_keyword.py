from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from reglint.rule import Invalid, Replace, Rule, Safety, Valid

if TYPE_CHECKING:
    from reglint.target import Target

# The releases that take the new keyword. TensorFlow's `tf.keras.regularizers.l2(l2=0.01)`
# (with `l` still accepted, "Backwards compatibility") first shipped in 2.3.0; 2.2 and
# TensorFlow 1 define `l2(l=0.01)` only (read in both wheels' keras/regularizers.py). The
# `keras` package has its own regularizers from 2.6 (before, 2.4 and 2.5 are TensorFlow's).
L2_KEYWORD_TENSORFLOW = "2.3"
L2_KEYWORD_KERAS = "2.6"

# canonical name -> the keyword Keras 3 expects instead of `l`
KEYWORD_FOR = {
    "keras.regularizers.l2": "l2",
    "keras.regularizers.L2": "l2",
    "keras.regularizers.l1": "l1",
    "keras.regularizers.L1": "l1",
}


class Keras2RegularizerKeyword(Rule):
    """
    ## What it does
    Flags `regularizers.l2(l=...)` and `regularizers.l1(l=...)`, the Keras 2 spelling of the
    regularization strength.

    ## Why is this bad?
    Keras 3 renamed the keyword to `l2` / `l1`. The old spelling raises
    `TypeError: ... unexpected keyword argument 'l'` when the layer is built, often after a
    long data load, and only on the machines that have Keras 3.

    ## Example
    ```python
    from tensorflow.keras import layers, regularizers

    layers.Dense(64, kernel_regularizer=regularizers.l2(l=1e-4))
    ```

    Use instead:
    ```python
    from tensorflow.keras import layers, regularizers

    layers.Dense(64, kernel_regularizer=regularizers.l2(l2=1e-4))
    ```

    On a project whose TensorFlow and Keras are known (`tensorflow-version`, or its dependency
    declarations), it is reported only when the project may run on Keras 3 (TensorFlow
    2.16 or later, or `keras` 3): earlier releases accept `l=`.

    ## Fix safety
    Safe: the original cannot run on Keras 3, and the value is unchanged. The fix is offered
    only when every release the project may run on takes the new keyword (TensorFlow 2.3 and
    later, `keras` 2.6 and later): on TensorFlow 2.2 and 1.x, `l2=` is a `TypeError`.

    ## References
    - [keras.regularizers.L2](https://keras.io/api/layers/regularizers/)
    """

    code = "REG010"
    name = "keras2-regularizer-keyword"
    severity = "warning"
    tags = ("deprecated",)
    precision = "very-high"
    # A finding needs three spellings in the source. The callee resolves to
    # keras.regularizers.<name>: `regularizers` is spelled in the import or the chain (no
    # canonical rewrite makes it up), and so is the last name, l1 / l2 / L1 / L2 (an alias
    # `import l2 as reg` still spells it). The keyword is the name `l`, followed by what a
    # tokenizer allows before its `=`: `=` itself, a blank (space, tab, form feed), a line
    # break inside the parentheses, a backslash continuation or a comment.
    TOKENS = tuple(
        (b"regularizers", name.rsplit(".", 1)[1].encode(), b"l" + after)
        for name in sorted(KEYWORD_FOR)
        for after in (b"=", b" ", b"\t", b"\x0c", b"\n", b"\r", b"\\", b"#")
    )
    fix_safety = Safety.SAFE

    VALID = [
        # a project whose TensorFlow never has Keras 3 (2.15 at most) may spell `l=`
        Valid("from tensorflow.keras import regularizers\nr = regularizers.l2(l=1e-4)\n", target=">=2.4,<2.16"),
        Valid("from tensorflow.keras import regularizers\nr = regularizers.l2(l2=1e-4)\n"),
        Valid("from tensorflow.keras import regularizers\nr = regularizers.l2(1e-4)\n"),
        Valid("import keras\nr = keras.regularizers.L1L2(l1=0.1, l2=0.2)\n"),
        # a look-alike from another library
        Valid("import mylib.regularizers as regularizers\nr = regularizers.l2(l=1e-4)\n"),
        Valid("def l2(l):\n    return l\n\nr = l2(l=0.5)  # regularizers\n"),
    ]
    INVALID = [
        # on a target that also admits TensorFlow 2.2 (no `l2=` keyword): reported, not fixed
        Invalid("from tensorflow.keras import regularizers\nr = regularizers.l2(l=1e-4)\n", target=">=2.0"),
        Invalid(
            "from tensorflow.keras import regularizers\nr = regularizers.l2(l=1e-4)\n",
            fixed="from tensorflow.keras import regularizers\nr = regularizers.l2(l2=1e-4)\n",
            message="`l2=`",
        ),
        Invalid(
            "import tensorflow as tf\nr = tf.keras.regularizers.l1(l = 0.01)\n",
            fixed="import tensorflow as tf\nr = tf.keras.regularizers.l1(l1 = 0.01)\n",
        ),
        Invalid(
            "from keras.regularizers import L2\nx = L2(l=0.5)\n",
            fixed="from keras.regularizers import L2\nx = L2(l2=0.5)\n",
        ),
        # a tab before `=`: the file spells neither `l=` nor `l `
        Invalid(
            "from keras.regularizers import L2\nx = L2(l\t=0.5)\n",
            fixed="from keras.regularizers import L2\nx = L2(l2\t=0.5)\n",
        ),
        Invalid(
            "import tensorflow.compat.v1 as tf\nreg = tf.keras.regularizers\nr = reg.l2(l=3)\n",
            fixed="import tensorflow.compat.v1 as tf\nreg = tf.keras.regularizers\nr = reg.l2(l2=3)\n",
        ),
    ]

    @classmethod
    def reported_on(cls, target: Target) -> bool:
        return target.admits_keras_3()

    @classmethod
    def fixes_run_on(cls, target: Target) -> bool:
        return target.tensorflow_at_least(L2_KEYWORD_TENSORFLOW) and target.keras_at_least(L2_KEYWORD_KERAS)

    def visit_Call(self, node: cst.Call) -> None:
        keyword = KEYWORD_FOR.get(self.resolve(node.func) or "")
        if keyword is None:
            return
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "l":
                # `l2(l=..., l2=...)` cannot be renamed without a duplicate keyword
                if any(a.keyword is not None and a.keyword.value == keyword for a in node.args):
                    self.report(arg, f"Keras 3 (TensorFlow >= 2.16) rejects `l=`; the keyword is `{keyword}=`")
                    return
                self.report(
                    arg,
                    f"Keras 3 (TensorFlow >= 2.16) rejects `l=` with a TypeError; use `{keyword}=`",
                    fix=self.make_fix(Replace(arg.keyword, cst.Name(keyword))),
                )
                return
