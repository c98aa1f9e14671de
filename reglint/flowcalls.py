"""How a call moves values, for the dataflow (reglint/dataflow.py): TensorFlow and Keras calls
that make, read or optimize a regularization term, calls of the file's own functions and
classes (arguments to parameters, returns to results), and the calls of other modules the
project phase joins (reglint/interproc.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import libcst as cst

from reglint.flowfix import call_argument
from reglint.flowstate import UNKNOWN, FlowState, imported_members
from reglint.patterns import created_name, graph_key
from reglint.tfnames import (
    COLLECTION_METHODS_READ,
    COLLECTION_METHODS_WRITE,
    COLLECTION_READERS,
    COLLECTION_WRITERS,
    GRAPH_KEYS,
    REG_LIST_READERS,
    REG_SCALAR_READERS,
    REG_TOTAL_READERS,
    REGULARIZATION_COLLECTION,
    is_neutral_call,
    is_optimizer_class,
)
from reglint.values import (
    COLLECTION,
    ESTIMATOR_SPECS,
    FIT_METHODS,
    KERAS_MODEL,
    KERNEL,
    KNOWN,
    KNOWN_LIBRARIES,
    L2,
    L2_CALLS,
    MUTATORS,
    OPAQUE,
    OPTIMIZER,
    REG_LOSS,
    REGULARIZED,
    REGULARIZER_FACTORIES_PREFIXES,
    SINK_METHODS,
    SQUARE_CALLS,
    SUM_REDUCERS,
    TAPE_CTOR,
    TOTAL_LOSS,
    TRAIN_OP_FUNCTIONS,
    TRAINABLE,
    TRAINABLE_ALL_CALLS,
    UNBOUND,
    VARIABLE_COLLECTIONS,
    VARIABLE_METHODS,
    WEIGHT,
    WEIGHT_LIKE,
    WEIGHT_MAKERS,
    WEIGHT_PRESERVING,
    Bias,
    Function,
    Handed,
    Imported,
    Instance,
    LossCall,
    Member,
    Param,
    Sink,
    Source,
    Tape,
    carried,
    is_bias_name,
    lossy,
    plain,
    union,
    weight_named,
)

if TYPE_CHECKING:
    pass

# the words of a helper's name that says it makes a bias (`bias_variable`, `make_bias`), as
# opposed to one that uses it (`add_bias`)
BIAS_HELPER_WORDS = frozenset(
    {"b", "bias", "biases", "variable", "var", "init", "initial", "make", "create", "get", "new", "param"}
)

# the words of a method's name that says it selects among what it is given
# (`model.filter_l2_loss_vars(params)`): its result is not known to hold the biases it got
SELECTING_WORDS = frozenset({"filter", "filtered", "exclude", "select", "without", "drop", "remove", "skip"})


class FlowCalls(FlowState):
    """The semantics of calls, over a file's dataflow state."""

    # -- calls -----------------------------------------------------------------------------
    def _call(self, node: cst.Call) -> frozenset[Any]:
        name = self.resolve(node.func)
        func = node.func
        method = func.attr.value if isinstance(func, cst.Attribute) else None
        # sources
        source = self._call_source(node, name, method)
        if source is not None:
            return frozenset({source})
        # sinks
        sink = self._sink(node, name, method)
        if sink is not None:
            return sink
        if name in COLLECTION_WRITERS or (name is None and method in COLLECTION_METHODS_WRITE):
            value = call_argument(node, 1, "value")
            tags = self.eval(value) if value is not None else frozenset()
            assert self._current is not None
            old = self.collection_writes.get(node)
            self.collection_writes[node] = (self._current, tags | old[1] if old is not None else tags)
            return frozenset()
        # consumers that neither optimize nor lose track of a value
        if name is not None and is_neutral_call(name):
            for arg in node.args:
                self.eval(arg.value)
            return frozenset()
        if method in ("run", "eval", "format", "info", "debug", "warning", "warn", "error", "scalar", "histogram"):
            for arg in node.args:
                self.eval(arg.value)
            if isinstance(func, cst.Attribute):
                self.eval(func.value)
            return frozenset()
        arg_tags = [self.eval(arg.value) for arg in node.args]
        args = union(arg_tags)
        if name is not None and not name.startswith("builtins.") and name.split(".")[0] not in KNOWN_LIBRARIES:
            # a library the analysis does not know (or an imported project module)
            self._note_project_call(node, (name,), arg_tags)
            made = frozenset({Imported(name)}) | self._escape_args(node, args) | self._named_bias(node, name)
            return made | {LossCall(name)} if lossy(name) else made
        if name is not None:
            if name == "tensorflow.GradientTape":
                return frozenset({TAPE_CTOR})
            if name in TRAINABLE_ALL_CALLS:
                return frozenset({TRAINABLE, KERNEL, Bias(node, f"{name.rpartition('.')[2]}()")})
            if is_optimizer_class(name):
                return frozenset({OPTIMIZER})
            if name in COLLECTION_READERS and self._is_variables_key(call_argument(node, 0, "key")):
                return frozenset({TRAINABLE, KERNEL, Bias(node, f"{name.rpartition('.')[2]}(...)")})
            if name in WEIGHT_MAKERS:
                made = self._made(node, positional="Variable" not in name)
                return frozenset({KNOWN, WEIGHT}) | made | _own_regularizer(node)
            # `tf.reshape(w, ...)`, `tf.cast(w, ...)` are still what went in, whatever that is;
            # `tf.matmul(x, w)` is an activation
            tags = plain(args) if name in WEIGHT_PRESERVING else plain(args - {WEIGHT, REGULARIZED}) | {KNOWN}
            if name.startswith("keras.") and self._has_regularizer_kw(node):
                tags |= {self._source(KERAS_MODEL, node)}
            return tags
        # methods and calls of values
        if isinstance(func, cst.Attribute):
            receiver = self.eval(func.value)
            imported = tuple(f"{t.name}.{method}" for t in receiver if isinstance(t, Imported))
            if imported:
                self._note_project_call(node, imported, arg_tags)
            if method in FIT_METHODS:
                self.fitted.update(t for t in receiver if isinstance(t, Source) and t.kind == KERAS_MODEL)
                self.fitted_imports.update(t for t in receiver if isinstance(t, Imported))
                return frozenset()
            if method in VARIABLE_METHODS:
                self.eval(func.value)
                return frozenset({WEIGHT}) | self._made(node, positional=True) | _own_regularizer(node)
            if method in MUTATORS:
                self._assign(func.value, args)
                return receiver
            # every class the receiver may be an instance of, every function a name may hold:
            # each is invoked and their results joined (taking the first one a set iterates
            # made the result depend on the order of a set of nodes, which changes from run
            # to run)
            targets = {
                found: None
                for tag in receiver
                if isinstance(tag, Instance) and (found := self._method(tag.cls, method or "")) is not None
            }
            if targets:
                return self._invoke_all(targets, node, bound=True)
            if (
                not receiver
                and self._attr_owner(func.value) is UNKNOWN
                and not isinstance(func.value, cst.SimpleString)
            ):
                handed = self._escape_args(node, args)
                return handed | {OPAQUE} if lossy(method or "") else handed
            owner = self._attr_owner(func.value)
            if isinstance(owner, cst.ClassDef) and method is not None:
                target = self._method(owner, method)
                if target is not None:
                    return self._invoke(target, node, bound=True)
            if isinstance(func.value, cst.Name) and owner is not UNKNOWN and method not in (None, "losses"):
                # (`net.losses(logits, ...)` is a method of the user's class, not Keras' property)
                # `self.layer(x)`: the call of an attribute holding a value
                callee = self._attribute(func)
                self._note_keras_call(node, callee)
                return plain(callee | args) | imported_members(receiver, f"{method}()")
            self._note_keras_call(node, receiver)
            if SELECTING_WORDS & set(re.split(r"[^a-z]+", (method or "").lower())):
                args = frozenset(t for t in args if not isinstance(t, (Bias, Member)))
            members = imported_members(receiver, f"{method}()")
            if members:
                # what another module's object returns is not what made its arguments (a
                # TensorFlow op computing a device index does not make the result an activation)
                args -= {KNOWN}
            return plain(receiver | args) | {t for t in receiver if isinstance(t, Instance)} | members
        if isinstance(func, cst.Name):
            assert self._current is not None
            target = self._find_function(func.value, self._current.scope)
            self._read(("env", (self._current.scope, func.value)))
            if target is not None and (self._current.scope, func.value) not in self.env:
                made = self._invoke(target, node, bound=False)
                bias = self._named_bias(node, func.value)
                return made - {KERNEL} | bias if bias else made
            cls = self._find_class(func.value, self._current.scope)
            if cls is not None:
                init = self._method(cls, "__init__")
                if init is not None:
                    self._invoke(init, node, bound=True)
                return frozenset({Instance(cls)}) | self._instance_models(cls)
            callee = self.eval(func)
            if callee:
                functions = {tag.node: None for tag in callee if isinstance(tag, Function)}
                if functions:
                    return self._invoke_all(functions, node, bound=False)
                self._note_keras_call(node, callee)
                return plain(callee | args) | {t for t in callee if isinstance(t, Instance)}
            handed = self._escape_args(node, args)
            return handed | {OPAQUE} if lossy(func.value) else handed
        # a call of a call: `tf.contrib.layers.l2_regularizer(0.5)(w)`, `Dense(3)(x)`
        callee = self.eval(func)
        if isinstance(func, cst.Call):
            inner = self.resolve(func.func) or ""
            if inner.startswith(("keras.", "tensorflow.", "slim.")):
                return plain(callee | args)
        if callee:
            return plain(callee | args)
        return self._escape_args(node, args)

    def _made(self, node: cst.Call, *, positional: bool) -> frozenset[Any]:
        """A created variable's tag by the name it is created under: a bias (`"b"`,
        `"biases"`, `"beta"`), else a kernel (any other name, or one not written here: then it
        may be either, and a value holding it and a bias is no longer only biases)."""
        name = created_name(node, positional=positional)
        if name is not None and is_bias_name(name):
            return frozenset({Bias(node, repr(name))})
        return frozenset({KERNEL})

    def _named_bias(self, node: cst.Call, name: str) -> frozenset[Any]:
        """A helper of the project named for making a bias (`bias_variable(...)`,
        `make_bias(...)`, `bias(...)`) returns one, whatever its body looks like; so does a
        helper given a bias's name to create a variable under (`zeros([n], name="bias")`)."""
        last = name.rpartition(".")[2]
        words = {w for w in re.split(r"[^a-z]+", last.lower()) if w}
        if words and is_bias_name(last) and words <= BIAS_HELPER_WORDS:
            return frozenset({Bias(node, f"{last}(...)")})
        created = created_name(node, positional=False)
        if created is not None and is_bias_name(created):
            return frozenset({Bias(node, f"{last}(name={created!r})")})
        return frozenset()

    def _note_project_call(self, node: cst.Call, callees: tuple[str, ...], arg_tags: list[frozenset[Any]]) -> None:
        """Remember a call of another module's function when an argument carries what a
        parameter there could need: a penalty, an unknown loss, or a parameter of this file's
        own function (bound in turn by its callers)."""
        if not self._record:
            return
        args: list[tuple[int | str, frozenset[Any]]] = []
        for index, (arg, tags) in enumerate(zip(node.args, arg_tags, strict=True)):
            if arg.star:
                break  # positions after `*args` are unknown
            if any(carried(t) for t in tags):
                args.append((arg.keyword.value if arg.keyword is not None else index, tags))
        if args:
            self.project_calls[node] = (callees, args)

    def _note_keras_call(self, node: cst.Call, callee: frozenset[Any]) -> None:
        if (
            self._record
            and self._current is not None
            and any((isinstance(t, Source) and t.kind == KERAS_MODEL) or isinstance(t, Imported) for t in callee)
        ):
            self.keras_calls.append((node, self._current, callee))

    def _invoke_all(self, funcs: Iterable[cst.FunctionDef], call: cst.Call, *, bound: bool) -> frozenset[Any]:
        """The call of any of `funcs`: each invoked, their results joined."""
        made: frozenset[Any] = frozenset()
        for func in funcs:
            made |= self._invoke(func, call, bound=bound)
        return made

    def _invoke(self, func: cst.FunctionDef, call: cst.Call, *, bound: bool) -> frozenset[Any]:
        scope = self.scope_of.get(func)
        if scope is None:
            return frozenset()
        params = list(scope.params)
        if bound and params:
            params = params[1:]
        positional = 0
        for arg in call.args:
            tags = self.eval(arg.value)
            if arg.keyword is not None:
                key = arg.keyword.value
            elif arg.star:
                self._escape(tags)
                continue
            else:
                if positional >= len(params):
                    self._escape(tags)
                    continue
                key = params[positional]
                positional += 1
            self._join(self.params, "param", (func, key), tags)
            self.param_args.setdefault((func, key), {})[arg.value] = None
        self._read(("return", func))
        return self.returns.get(func, frozenset())

    def _escape_args(self, node: cst.Call, args: frozenset[Any]) -> frozenset[Any]:
        """The arguments of a call the analysis cannot follow escape. When one is a model (a
        Keras layer built with regularizers, or what an imported builder made), the call's
        result is tagged `Handed`: a loss made by that call may include the model's losses."""
        self._escape(args)
        if any((isinstance(t, Source) and t.kind == KERAS_MODEL) or isinstance(t, Imported) for t in args):
            return frozenset({Handed(node)})
        return frozenset()

    def _escape(self, tags: frozenset[Any]) -> None:
        for tag in tags:
            if isinstance(tag, Source):
                self.escaped.add(tag)
            elif isinstance(tag, Imported):
                self.escaped_imports.add(tag)

    def _source(self, kind: str, node: cst.CSTNode) -> Source:
        source = self.sources.get(node)
        if source is None:
            assert self._current is not None
            source = Source(kind, node, self._current)
            self.sources[node] = source
        return source

    def _has_regularizer_kw(self, node: cst.Call) -> bool:
        return any(
            arg.keyword is not None
            and arg.keyword.value.endswith("_regularizer")
            and not (isinstance(arg.value, cst.Name) and arg.value.value == "None")
            for arg in node.args
        )

    def _call_source(self, node: cst.Call, name: str | None, method: str | None) -> Source | None:
        if name in COLLECTION_READERS or (name is None and method in COLLECTION_METHODS_READ):
            key = node.args[0].value if node.args else None
            if key is not None and self._is_reg_key(key):
                return self._source(COLLECTION, node)
            return None
        if name in REG_LIST_READERS:
            return self._source(COLLECTION, node)
        if name in REG_SCALAR_READERS:
            return self._source(REG_LOSS, node)
        if name in REG_TOTAL_READERS:
            flag = call_argument(node, 0, "add_regularization_losses")
            if isinstance(flag, cst.Name) and flag.value == "False":
                return None
            return self._source(TOTAL_LOSS, node)
        # A penalty is a regularizer only when it is computed from weights: the norm of a
        # gradient (WGAN-GP), a reconstruction error or an MSE is not one.
        if name in L2_CALLS:
            if node.args and self._weighty(node.args[0].value):
                return self._penalty(node, node.args[0].value)
            return None
        if name in SUM_REDUCERS and node.args:
            # sum(w ** 2) / reduce_sum(tf.square(w)) of a weight, not reduce_mean(square(y - p))
            inner = node.args[0].value
            if (
                isinstance(inner, cst.Call)
                and self.resolve(inner.func) in SQUARE_CALLS
                and inner.args
                and isinstance(inner.args[0].value, WEIGHT_LIKE)
                and self._weighty(inner.args[0].value)
            ):
                return self._penalty(node, inner.args[0].value)
            if (
                isinstance(inner, cst.BinaryOperation)
                and isinstance(inner.operator, cst.Power)
                and isinstance(inner.left, WEIGHT_LIKE)
                and self._weighty(inner.left)
            ):
                return self._penalty(node, inner.left)
        if isinstance(node.func, cst.Call):
            factory = self.resolve(node.func.func) or ""
            if factory.startswith(REGULARIZER_FACTORIES_PREFIXES) or factory.endswith(
                ("l2_regularizer", "l1_regularizer", "l1_l2_regularizer")
            ):
                return self._penalty(node, node.args[0].value if node.args else None)
        return None

    def _penalty(self, node: cst.Call, operand: cst.BaseExpression | None) -> Source:
        """An explicit penalty (`L2`) on `operand`, noted when it is on variables that have a
        regularizer of their own."""
        source = self._source(L2, node)
        if operand is not None:
            tags = self.eval(operand)
            if WEIGHT in tags and REGULARIZED in tags:
                self.regularized_l2.add(source)
        return source

    def _weighty(self, node: cst.BaseExpression) -> bool:
        """Whether a penalty's operand may be weights: a variable, a layer's kernel, the
        trainable variables, or a value the analysis cannot see into; not what a TensorFlow
        op computed from other values (a gradient, `y - p`). A value with no tags at all is
        judged by its name (`w`, `weights['h1']`, `self.kernel`, `emb`)."""
        tags = self.eval(node)
        if WEIGHT in tags or TRAINABLE in tags:
            return True
        if KNOWN in tags:
            return False
        if tags & {OPAQUE, UNBOUND} or any(isinstance(t, (Param, Imported, Instance, LossCall, Member)) for t in tags):
            return True
        return weight_named(node)

    def _is_variables_key(self, key: cst.BaseExpression | None) -> bool:
        if isinstance(key, cst.SimpleString):
            return key.evaluated_value in VARIABLE_COLLECTIONS
        attr = graph_key(key, self.resolve(key)) if key is not None else None
        return attr is not None and GRAPH_KEYS.get(attr) in VARIABLE_COLLECTIONS

    def _is_reg_key(self, key: cst.BaseExpression) -> bool:
        if isinstance(key, cst.SimpleString):
            return key.evaluated_value == REGULARIZATION_COLLECTION
        return graph_key(key, self.resolve(key)) == "REGULARIZATION_LOSSES"

    def _sink(self, node: cst.Call, name: str | None, method: str | None) -> frozenset[Any] | None:
        kind: str | None = None
        arg: cst.BaseExpression | None = None
        tape: cst.With | None = None
        receiver: frozenset[Any] = frozenset()
        if method in SINK_METHODS and (name is None or name.startswith(("tensorflow.", "keras."))):
            kind, arg = "minimize", call_argument(node, 0, "loss")
        elif name == "tensorflow.gradients":
            kind, arg = "gradients", call_argument(node, 0, "ys")
        elif name in TRAIN_OP_FUNCTIONS:
            kind, arg = "train_op", call_argument(node, 0, "total_loss")
        elif name in ESTIMATOR_SPECS:
            kind, arg = "estimator", call_argument(node, -1, "loss")
        elif method == "add_loss" and name is None:
            kind, arg = "add_loss", call_argument(node, 0, "losses")
        elif method == "gradient" and name is None and isinstance(node.func, cst.Attribute):
            receiver = self.eval(node.func.value)
            tapes = [t for t in receiver if isinstance(t, Tape)]
            if not tapes:
                return None
            kind, arg, tape = "tape", call_argument(node, 0, "target"), tapes[0].with_node
        if kind is None:
            return None
        others: frozenset[Any] = frozenset()
        for other in node.args:
            if other.value is not arg:
                others |= self.eval(other.value)
        if arg is None:
            return frozenset()
        tags = self.eval(arg)
        assert self._current is not None
        sink = self.sinks.get(node)
        if sink is None:
            sink = Sink(kind, node, arg, self._current, tape)
            self.sinks[node] = sink
        sink.tags = sink.tags | tags
        # gradients with respect to the trainable variables train; with respect to an input
        # image (saliency, adversarial examples) they do not
        sink.trains = sink.trains or kind not in ("gradients", "tape") or TRAINABLE in others
        return frozenset()


def _own_regularizer(call: cst.Call) -> frozenset[Any]:
    """`get_variable(..., regularizer=l2(...))`, `add_weight(..., regularizer=...)`: the
    variable's penalty goes to the regularization losses."""
    arg = next((a for a in call.args if a.keyword is not None and a.keyword.value == "regularizer"), None)
    if arg is None or (isinstance(arg.value, cst.Name) and arg.value.value == "None"):
        return frozenset()
    return frozenset({REGULARIZED})
