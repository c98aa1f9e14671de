from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from reglint.judge import ProjectFacts
from reglint.model import Edit, Fact, Finding, Fix, Safety
from reglint.patterns import graph_key
from reglint.rule import Invalid, Replace, Rule, Token, Valid
from reglint.tfnames import (
    COLLECTION_METHODS_READ,
    COLLECTION_METHODS_WRITE,
    COLLECTION_NAMES,
    COLLECTION_READERS,
    COLLECTION_WRITERS,
    GRAPH_KEYS,
    GRAPH_KEYS_CLASS,
    REGULARIZATION_COLLECTION,
    nearest,
)

# calls that read collections without naming them
IMPLICIT_READS = {
    "tensorflow.losses.get_regularization_loss": (REGULARIZATION_COLLECTION,),
    "tensorflow.losses.get_regularization_losses": (REGULARIZATION_COLLECTION,),
    "tensorflow.losses.get_total_loss": ("losses", REGULARIZATION_COLLECTION),
    "tensorflow.losses.get_losses": ("losses",),
    "slim.losses.get_total_loss": ("losses", REGULARIZATION_COLLECTION),
    "slim.losses.get_regularization_losses": (REGULARIZATION_COLLECTION,),
}
# what the source of every call in IMPLICIT_READS contains (its last name)
IMPLICIT_READ_TOKENS = (b"get_regularization_loss", b"get_total_loss", b"get_losses")


def _collection_arg(call: cst.Call) -> cst.Arg | None:
    for index, arg in enumerate(call.args):
        if arg.keyword is None and index == 0 and arg.star == "":
            return arg
        if arg.keyword is not None and arg.keyword.value in ("key", "name", "names"):
            return arg
    return None


class MisspelledCollectionKey(Rule):
    """
    ## What it does
    Flags collection keys that name no collection: a `GraphKeys` attribute that does not exist
    (`tf.GraphKeys.REGULARIZATOIN_LOSSES`), a collection-name string a small edit away from a
    real one (`tf.get_collection('regularization_loss')`), and a custom collection read under a
    name close to, but not equal to, the name it is filled under anywhere in the project
    (`add_to_collection('losses', ...)` / `get_collection('loss')`). A key held in a name
    assigned one string in its scope (`KEY = 'regularization_loss'`, then `get_collection(KEY)`)
    is that string, reported and fixed where it is written. A key spelled
    `tf.GraphKeys.NAME` is that collection even when `tf` does not resolve (a star import).

    ## Why is this bad?
    A misspelled attribute raises `AttributeError` when the line runs, which can be deep inside
    a training script after the data has loaded. A misspelled string is worse: `get_collection`
    of a name nobody fills returns `[]` silently, so the regularization terms summed from it are
    zero and training runs without them.

    ## Example
    ```python
    import tensorflow.compat.v1 as tf

    reg = tf.get_collection(tf.GraphKeys.REGULARIZATOIN_LOSSES)
    extra = tf.get_collection("regularization_loss")
    ```

    Use instead:
    ```python
    import tensorflow.compat.v1 as tf

    reg = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    extra = tf.get_collection("regularization_losses")
    ```

    ## Fix safety
    Safe for attributes: the original can only crash. Unsafe for strings: the corrected name
    reads a collection that was not read before, which changes what is trained.

    ## References
    - [tf.compat.v1.GraphKeys](https://www.tensorflow.org/api_docs/python/tf/compat/v1/GraphKeys)
    - [tf.compat.v1.get_collection](https://www.tensorflow.org/api_docs/python/tf/compat/v1/get_collection)
    """

    code = "REG004"
    name = "misspelled-collection-key"
    precision = "very-high"
    # Every finding is on one of three spellings, each an identifier the resolver needs
    # whole in the source (an import or an attribute chain; no alias hides the last name):
    # - `GraphKeys`: a misspelled `GraphKeys.X` (the class resolves only through that name);
    # - `get_collection` (also get_collection_ref and `graph.get_collection`): a literal read;
    # - `add_to_collection` (also add_to_collections): a literal write.
    # A bare b"collection" matched every `import collections`. Each needs TensorFlow in the
    # file too: the functions and GraphKeys resolve only under `tensorflow` (no canonical
    # rewrite makes that name up), and the method form on a Graph object counts only in a
    # file that binds tensorflow, keras or slim (`_imports_tensorflow`: pymongo's
    # `db.get_collection` is not one); `tf_keras` and `tf_slim` contain those words.
    # The implicit readers (get_regularization_loss(es), get_total_loss, get_losses) record
    # reads of TensorFlow's own collections only; such a read changes no finding unless the
    # project holds a literal write of a custom name (see wanted_tokens), so their files are
    # asked for then, not parsed in every project.
    TOKENS = (
        (b"GraphKeys", b"tensorflow"),
        *(
            (call, lib)
            for call in (b"get_collection", b"add_to_collection")
            for lib in (b"tensorflow", b"keras", b"slim")
        ),
    )
    fix_safety = Safety.SAFE
    mixed_safety = True

    VALID = [
        Valid("import tensorflow as tf\nr = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n"),
        Valid("import tensorflow.compat.v1 as tf\nr = tf.get_collection('regularization_losses')\n"),
        # look-alikes: another library's GraphKeys, a user class named GraphKeys
        Valid("import mylib\nr = mylib.GraphKeys.REGULARIZATOIN_LOSSES\n"),
        Valid("class GraphKeys:\n    REGULARIZATOIN_LOSSES = 'x'\n\nr = GraphKeys.REGULARIZATOIN_LOSSES\n"),
        # seed 003: a custom collection filled and read under the same name
        Valid(
            "import tensorflow as tf\ntf.add_to_collection('losses', l)\nloss = tf.add_n(tf.get_collection('losses'))\n"
        ),
        # a custom name filled in one module and read in another
        Valid(
            files={
                "model.py": "import tensorflow as tf\ntf.add_to_collection('regularization_loss', r)\n",
                "train.py": "import tensorflow as tf\nx = tf.get_collection('regularization_loss')\n",
            }
        ),
        Valid("import tensorflow as tf\nmy_collection = tf.get_collection('my_own_things')\n"),
        # a look-alike method: pymongo's collections are not TensorFlow's
        Valid(
            "from pymongo import MongoClient\ndb = MongoClient().shop\nrows = db.get_collection('variable').find()\n"
        ),
        # a custom collection filled and read under the same near-TF name, through a Graph object
        Valid(
            "import tensorflow as tf\ng = tf.Graph()\ng.add_to_collection('regularization_loss', r)\n"
            "total = tf.add_n(g.get_collection('regularization_loss'))\n"
        ),
        # both spellings of the TensorFlow collection filled, and nothing reads it: no finding
        # (the counterpart of the cross-module INVALID example with get_total_loss)
        Valid(
            files={
                "model.py": "import tensorflow as tf\ntf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, a)\n"
                "tf.add_to_collection('REGULARIZATION_LOSSES', b)\n",
                "other.py": "import tensorflow as tf\nx = 1\n",
            }
        ),
    ]
    INVALID = [
        # a key held in a name is the string the name holds
        Invalid(
            "import tensorflow as tf\n\n"
            "KEY = 'regularization_loss'\n"
            "reg = tf.get_collection(KEY)\n"
            "more = tf.get_collection(KEY)\n",
            fixed="import tensorflow as tf\n\n"
            "KEY = 'regularization_losses'\n"
            "reg = tf.get_collection(KEY)\n"
            "more = tf.get_collection(KEY)\n",
        ),
        Invalid(
            "import tensorflow as tf\nl2 = tf.get_collection(tf.GraphKeys.REGULARIZATOIN_LOSSES)\n",
            fixed="import tensorflow as tf\nl2 = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)\n",
            message="REGULARIZATION_LOSSES",
        ),
        Invalid(
            "import tensorflow.compat.v1 as tf\nx = tf.compat.v1.GraphKeys.TRAINABLE_VARIABLE\n",
            fixed="import tensorflow.compat.v1 as tf\nx = tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES\n",
        ),
        Invalid(
            "import tensorflow.compat.v1 as tf\nr = tf.get_collection('regularization_loss')\n",
            fixed="import tensorflow.compat.v1 as tf\nr = tf.get_collection('regularization_losses')\n",
            message="'regularization_losses'",
        ),
        Invalid(
            "import tensorflow as tf\ntf.add_to_collection('losses', l)\nloss = tf.add_n(tf.get_collection('loss'))\n",
            fixed="import tensorflow as tf\ntf.add_to_collection('losses', l)\n"
            "loss = tf.add_n(tf.get_collection('losses'))\n",
        ),
        Invalid(
            "import tensorflow as tf\ntf.add_to_collection('REGULARIZATION_LOSSES', penalty)\n"
            "total = tf.losses.get_total_loss()\n",
            fixed="import tensorflow as tf\ntf.add_to_collection('regularization_losses', penalty)\n"
            "total = tf.losses.get_total_loss()\n",
        ),
        # a Graph object's method, the key given by keyword
        Invalid(
            "import tensorflow as tf\ng = tf.get_default_graph()\nr = g.get_collection(key='regularization_loss')\n",
            fixed="import tensorflow as tf\ng = tf.get_default_graph()\n"
            "r = g.get_collection(key='regularization_losses')\n",
        ),
        # a Graph object in a file that names Keras or slim, never `tensorflow`
        Invalid(
            "import keras\ng = keras.backend.get_graph()\nr = g.get_collection('regularization_loss')\n",
            fixed="import keras\ng = keras.backend.get_graph()\nr = g.get_collection('regularization_losses')\n",
        ),
        Invalid(
            "import tf_slim as slim\n\ndef penalties(graph):\n    return graph.get_collection('regularization_loss')\n",
            fixed="import tf_slim as slim\n\ndef penalties(graph):\n"
            "    return graph.get_collection('regularization_losses')\n",
        ),
        Invalid(
            "import tensorflow.compat.v1 as tf\nr = tf.get_collection_ref('trainable_variable')\n",
            fixed="import tensorflow.compat.v1 as tf\nr = tf.get_collection_ref('trainable_variables')\n",
        ),
        Invalid(
            files={
                "model.py": "import tensorflow as tf\ntf.add_to_collection('weight_penalties', r)\n",
                "train.py": "import tensorflow as tf\nx = tf.add_n(tf.get_collection('weight_penalty'))\n",
            },
            path="train.py",
            fixed="import tensorflow as tf\nx = tf.add_n(tf.get_collection('weight_penalties'))\n",
        ),
        # the read that decides is an implicit one (get_total_loss), in a module that names no
        # collection: it is analysed because a custom name is written (wanted_tokens); without
        # it, the TensorFlow collection is filled and never read, and the write is not flagged
        Invalid(
            files={
                "model.py": "import tensorflow as tf\ntf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, a)\n"
                "tf.add_to_collection('REGULARIZATION_LOSSES', b)\n",
                "train.py": "import tensorflow as tf\ntotal = tf.losses.get_total_loss()\n",
            },
            path="model.py",
            fixed="import tensorflow as tf\ntf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, a)\n"
            "tf.add_to_collection('regularization_losses', b)\n",
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self.resolve(node.value) != GRAPH_KEYS_CLASS:
            return
        attr = node.attr.value
        if attr in GRAPH_KEYS or attr.startswith("_") or not attr.isupper():
            return
        suggestion = nearest(attr, list(GRAPH_KEYS), cutoff=0.6)
        if suggestion is None:
            self.report(node, f"`GraphKeys.{attr}` does not exist (AttributeError when this line runs)")
            return
        self.report(
            node,
            f"`GraphKeys.{attr}` does not exist; did you mean `GraphKeys.{suggestion}`?",
            fix=self.make_fix(Replace(node.attr, cst.Name(suggestion))),
        )

    def visit_Call(self, node: cst.Call) -> None:
        name = self.resolve(node.func)
        for implicit in IMPLICIT_READS.get(name or "", ()):
            self.fact("read", node, collection=implicit, literal=False)
        if name in COLLECTION_READERS:
            kind = "read"
        elif name in COLLECTION_WRITERS:
            kind = "write"
        elif name is None and isinstance(node.func, cst.Attribute) and self._imports_tensorflow():
            # `graph.get_collection(...)` on a Graph object the resolver cannot name (in a file
            # that imports TensorFlow: pymongo's `db.get_collection('variable')` is not one)
            method = node.func.attr.value
            if method in COLLECTION_METHODS_READ:
                kind = "read"
            elif method in COLLECTION_METHODS_WRITE:
                kind = "write"
            else:
                return
        else:
            return
        arg = _collection_arg(node)
        if arg is None:
            return
        values = arg.value.elements if isinstance(arg.value, (cst.List, cst.Tuple)) else None
        for value in [e.value for e in values] if values is not None else [arg.value]:
            self._record(kind, value)

    _tensorflow_file: bool | None = None

    @property
    def _held(self) -> set[tuple[str, int]]:
        """(kind, id of the string) of the keys recorded through a name, in this file."""
        found: set[tuple[str, int]] | None = self.__dict__.get("_held_keys")
        if found is None:
            found = self.__dict__["_held_keys"] = set()
        return found

    def _imports_tensorflow(self) -> bool:
        if self._tensorflow_file is None:
            bound = self.ctx.resolver.module_scope.bindings.values()
            self._tensorflow_file = any(name.split(".")[0] in ("tensorflow", "keras", "slim") for name in bound)
        return self._tensorflow_file

    def _record(self, kind: str, value: cst.BaseExpression) -> None:
        if isinstance(value, cst.Name):
            # a key held in a name assigned one string (`WD_KEY = "weight_decays"`): the
            # string is the key, where it is written (a fix renames it there)
            single = self.ctx.resolver.single_value(value)
            if isinstance(single, cst.SimpleString):
                if (kind, id(single)) in self._held:
                    return  # the same name read again: one fact for the string
                self._held.add((kind, id(single)))
                value = single
        if isinstance(value, cst.SimpleString) and "f" not in value.prefix.lower():
            text = value.evaluated_value
            if isinstance(text, str):
                self.fact(kind, value, collection=text, literal=True, prefix=value.prefix, quote=value.quote)
            return
        attr = graph_key(value, self.resolve(value))
        if attr is not None:
            key = GRAPH_KEYS.get(attr)
            if key is not None:
                self.fact(kind, value, collection=key, literal=False)

    @classmethod
    def wanted_tokens(cls, project: ProjectFacts) -> Iterable[Token]:
        """The files of implicit reads, when they can matter. Such a read names one of
        TensorFlow's collections, so it never decides a read's finding (those are literal
        reads, judged against written and TensorFlow names) nor, in the write loop, whether
        a written name is read or what it is nearest to (a TensorFlow name is a candidate
        anyway); it decides only `target not in read`, for a literal write of a name that is
        not TensorFlow's. No such write in the project (all writes are in files holding
        `add_to_collection`, never skipped): the implicit reads change nothing."""
        for fact in project.of(cls.code, "write"):
            if fact.data["literal"] and fact.data["collection"] not in COLLECTION_NAMES:
                return IMPLICIT_READ_TOKENS
        return ()

    @classmethod
    def check_project(cls, project: ProjectFacts) -> Iterable[Finding]:
        facts = project.by_kind(cls.code)
        written = {f.data["collection"] for f in facts.get("write", [])}
        read = {f.data["collection"] for f in facts.get("read", [])}
        corrected: set[str] = set()
        for fact in facts.get("read", []):
            name = fact.data["collection"]
            if not fact.data["literal"] or name in COLLECTION_NAMES or name in written:
                continue
            target = nearest(name, sorted(COLLECTION_NAMES | written))
            if target is None:
                continue
            corrected.add(target)
            where = "is filled" if target in written else "is a TensorFlow collection"
            yield cls._finding(
                fact,
                f"collection {name!r} is never filled, so reading it gives []; {target!r} {where}",
                target,
            )
        for fact in facts.get("write", []):
            name = fact.data["collection"]
            if not fact.data["literal"] or name in COLLECTION_NAMES or name in read or name in corrected:
                continue
            target = nearest(name, sorted(read | COLLECTION_NAMES))
            if target is None or (target in written and target not in read):
                continue
            yield cls._finding(
                fact,
                f"collection {name!r} is filled but never read; {target!r} is what is read",
                target,
            )

    @classmethod
    def _finding(cls, fact: Fact, message: str, target: str) -> Finding:
        literal = f"{fact.data['prefix']}{fact.data['quote']}{target}{fact.data['quote']}"
        fix = Fix((Edit(fact.range, literal),), Safety.UNSAFE)
        return Finding(cls.code, cls.name, message, fact.path, fact.range, fix)
