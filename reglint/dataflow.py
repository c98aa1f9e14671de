"""Def-use analysis of regularization terms, for REG001, REG006, REG007 and REG009: how a
statement moves a value, within one file.

The analysis is split along its seams: what a value carries (the tags, and the names that
recognise them) is reglint/values.py; the state of a file's flow (what is fed in, the tables
solving fills, who reads what) and the lookups of its classes and functions,
reglint/flowstate.py; how a statement or an expression moves a value, this module (`Flow`);
how a call does, reglint/flowcalls.py; what rules ask of a solved flow,
reglint/flowqueries.py; how modules exchange values (call-site facts joined in the project
phase), reglint/interproc.py; the fixes rules share on a solved flow, reglint/flowfix.py.

The analysis rides on the engine's single traversal: the first dataflow rule of a file to
see the Module becomes the *owner* of the file's `Flow`, and its visit_/leave_ methods feed
the statements it meets (with their enclosing function, class, `GradientTape` blocks and
statement blocks) into it. At `leave_Module` the flow is solved once and every dataflow rule
reads the same result (`Flow.of(ctx)` caches it on the file context).

Solving interprets the recorded statements, flow-insensitively per scope, until nothing
changes. A value is the set of *tags* it carries:

- `Source`: a regularization term, where it comes from (`get_collection(REGULARIZATION_LOSSES)`,
  `get_regularization_loss()`, `get_total_loss()`, `model.losses`, an L2 sum over weights, a
  Keras layer built with `*_regularizer=`);
- `OPAQUE`: the value comes from a call the analysis cannot see into whose name says it is a
  loss; `UNBOUND`: a loss-named value the file does not bind (a parameter, a name, an
  attribute); `Param`: a parameter no call site of the file binds, which carries what the
  project's callers pass (reglint/interproc.py);
- `WEIGHT` / `TRAINABLE`: variables, and all the trainable variables;
- object tags: a GradientTape, an optimizer, an instance of a class of this module, a
  function of this module, the result of an unknown call that received a model (`Handed`).

Values flow through assignments (tuple unpacking, augmented assignment, `list.append`),
arithmetic, TensorFlow / Keras calls (their result carries their arguments' tags), list
building and comprehensions, calls of functions of the same module (arguments to parameters,
returns to results) and attributes (`self.x`, class attributes, shared by the classes of one
hierarchy in the file). Sinks, where a value is optimized, record the tags of the loss they
receive; print / logging / `tf.summary` / `sess.run` consume a value without optimizing it or
losing track of it. A source that flows into a call the analysis cannot follow *escapes*:
rules stay silent about it.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any, ClassVar

import libcst as cst

from reglint.flowcalls import FlowCalls
from reglint.flowqueries import FlowQueries
from reglint.flowstate import UNKNOWN, imported_members
from reglint.names import target_names
from reglint.patterns import keeps_biases
from reglint.rule import Rule
from reglint.values import (
    BIAS_ATTRS,
    KERAS_LOSSES,
    KERAS_MODEL,
    KERNEL,
    KNOWN_LIBRARIES,
    L2,
    L2_ALL,
    OPAQUE,
    TAPE_CTOR,
    TRAINABLE,
    TRAINABLE_ALL_ATTRS,
    UNBOUND,
    WEIGHT,
    WEIGHT_ATTRS,
    Addition,
    Bias,
    Function,
    Instance,
    Param,
    Scope,
    Source,
    Stmt,
    Tape,
    has_bias,
    lossy,
    penalty_named,
    plain,
    union,
    unpacked,
)

if TYPE_CHECKING:
    from reglint.engine import FileContext

# --------------------------------------------------------------------------------------
# the flow of one file


class Flow(FlowCalls, FlowQueries):
    """The dataflow facts of one file, fed by its owner rule and solved once."""

    # -- feeding (called by the owner rule's visitors) -------------------------------------
    @classmethod
    def of(cls, ctx: FileContext, rule: Rule) -> Flow:
        flow: Flow | None = getattr(ctx, "_reglint_flow", None)
        if flow is None:
            flow = cls(ctx, rule)
            ctx._reglint_flow = flow  # type: ignore[attr-defined]
        return flow

    # -- solving ---------------------------------------------------------------------------
    def solve(self) -> Flow:
        if self.solved:
            return self
        self.solved = True
        for scope in self.scopes_all():
            if scope.kind == "class" and scope.node.name.value in self.called_names:  # type: ignore[attr-defined]
                self.called_names.add("__init__")
        # The resolver's scope stack is back at module level here; names bound inside
        # functions resolve through the module scope, which is what the analysis needs for
        # module aliases (functions rarely re-import TensorFlow under another name).
        # Statements run in source order, and then again only when an entry of the state
        # they read has changed since they ran (a worklist): in the sweep under way if they
        # come later in the source, in the next sweep otherwise, at most 13 sweeps. A
        # statement's run depends on nothing but the entries it reads, so skipping the others
        # gives what running every statement in every sweep gives (which took 4.5 runs per
        # statement on TensorFlow's sources). What is recorded for the rules (additions,
        # combinations, Keras calls) is kept from each statement's last
        # run, which saw the final state, and put together in source order.
        self._record = True
        self._readers = {}
        records: dict[int, tuple[list[list[frozenset[Any]]], dict[cst.CSTNode, Addition], list[Any]]] = {}
        self._next = set(range(len(self.stmts)))
        for _ in range(13):
            if not self._next:
                break
            self._queue = sorted(self._next)  # a sorted list is a heap
            self._queued, self._next = self._next, set()
            while self._queue:
                order = heapq.heappop(self._queue)
                self._queued.discard(order)
                self.combinations, self.additions, self.keras_calls = [], {}, []
                self._exec(self.stmts[order])
                records[order] = (self.combinations, self.additions, self.keras_calls)
        self._readers = None
        self._record = False
        ordered = [records[order] for order in sorted(records)]
        self.combinations = [c for r in ordered for c in r[0]]
        self.additions = {node: addition for r in ordered for node, addition in r[1].items()}
        self.keras_calls = [c for r in ordered for c in r[2]]
        for func, tags in self.returns.items():
            if func.name.value not in self.called_names:
                self.escaped.update(t for t in tags if isinstance(t, Source))
        return self

    # -- statements ------------------------------------------------------------------------
    def _exec(self, stmt: Stmt) -> None:
        self._current = stmt
        node = stmt.node
        if isinstance(node, cst.Assign):
            tags = self.eval(node.value)
            parts = self._parts(node.value)
            for target in node.targets:
                self._assign(target.target, tags, parts)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self._assign(node.target, self.eval(node.value))
        elif isinstance(node, cst.AugAssign):
            added, before = self.eval(node.value), self.eval(node.target)
            if self._record and isinstance(node.operator, cst.AddAssign):
                self.combinations.append([before, added])
            self._assign(node.target, added | before)
        elif isinstance(node, cst.Return):
            if node.value is not None:
                tags = self.eval(node.value)
                func = self._function_of(stmt.scope)
                if func is not None:
                    self._join(self.returns, "return", func, tags)
                    self._join_tuple_return(func, node.value)
        elif isinstance(node, cst.Expr):
            tags = self.eval(node.value)
            if isinstance(node.value, (cst.Yield, cst.Await)):
                self._escape(tags)
        elif isinstance(node, cst.For):
            self._assign(node.target, self.eval(node.iter))
        elif isinstance(node, (cst.If, cst.While)):
            self.eval(node.test)
        elif isinstance(node, cst.With):
            for item in node.items:
                tags = self.eval(item.item)
                if TAPE_CTOR in tags:
                    tags = frozenset({Tape(node)})
                if item.asname is not None:
                    self._assign(item.asname.name, tags)
        self._current = None

    def _function_of(self, scope: Scope) -> cst.FunctionDef | None:
        return scope.node if isinstance(scope.node, cst.FunctionDef) else None

    def _join_tuple_return(self, func: cst.FunctionDef, value: cst.BaseExpression) -> None:
        parts = self._parts(value)
        old = self.tuple_returns.get(func, ())
        if func in self.tuple_returns and old is None:
            return
        if parts is None or (old and len(old) != len(parts)):
            new: tuple[frozenset[Any], ...] | None = None
        elif not old:
            new = parts
        else:
            new = tuple(a | b for a, b in zip(old, parts, strict=True))
        if func not in self.tuple_returns or new != old:
            self.tuple_returns[func] = new
            self._changed(("tuple return", func))

    def _parts(self, value: cst.BaseExpression) -> tuple[frozenset[Any], ...] | None:
        """The tags of each element of a tuple display, or of what a call of a function of
        this file returns when it always returns one; None when the structure is unknown."""
        if isinstance(value, (cst.Tuple, cst.List)):
            if any(isinstance(e, cst.StarredElement) for e in value.elements):
                return None
            return tuple(self.eval(e.value) for e in value.elements)
        if isinstance(value, cst.Call):
            func = self._callee(value)
            if func is not None:
                self._read(("tuple return", func))
                return self.tuple_returns.get(func)
        return None

    def _callee(self, call: cst.Call) -> cst.FunctionDef | None:
        """The function of this file a call runs, when it names one (`f(...)`, `self.f(...)`)."""
        assert self._current is not None
        func = call.func
        if isinstance(func, cst.Name) and (self._current.scope, func.value) not in self.env:
            return self._find_function(func.value, self._current.scope)
        if isinstance(func, cst.Attribute):
            owner = self._attr_owner(func.value)
            if isinstance(owner, cst.ClassDef):
                return self._method(owner, func.attr.value)
        return None

    def _assign(
        self, target: cst.BaseExpression, tags: frozenset[Any], parts: tuple[frozenset[Any], ...] | None = None
    ) -> None:
        if isinstance(target, cst.Name):
            assert self._current is not None
            scope = self._binding or self._current.scope
            self._join(self.env, "env", (scope, target.value), tags)
            if scope.kind == "class":
                # a class attribute, read as `Class.name` or `self.name`
                self._join(self.attrs, "attr", (self._root_class(scope.node), target.value), tags)  # type: ignore[arg-type]
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = target.elements
            if (
                parts is not None
                and len(parts) == len(elements)
                and not any(isinstance(e, cst.StarredElement) for e in elements)
            ):
                # a known structure: each element's biases are its own (the other tags are
                # shared, as before: the analysis does not need them one by one)
                for element, part in zip(elements, parts, strict=True):
                    own = frozenset(t for t in tags if not isinstance(t, Bias) and t != KERNEL)
                    self._assign(element.value, own | {t for t in part if isinstance(t, Bias) or t == KERNEL})
                return
            for element in elements:
                self._assign(element.value, unpacked(tags))
        elif isinstance(target, cst.StarredElement):
            self._assign(target.value, tags)
        elif isinstance(target, cst.Attribute):
            owner = self._attr_owner(target.value)
            if owner is UNKNOWN:
                self._escape(tags)
            else:
                self._join(self.attrs, "attr", (owner, target.attr.value), tags)
        elif isinstance(target, cst.Subscript):
            self._assign(target.value, tags)

    # -- expressions -----------------------------------------------------------------------
    def eval(self, node: cst.BaseExpression) -> frozenset[Any]:
        try:
            return self._eval(node)
        except RecursionError:
            return frozenset({OPAQUE})

    def _eval(self, node: cst.BaseExpression) -> frozenset[Any]:
        # dispatched on the exact type: isinstance against libcst's classes (ABCs) costs a
        # call of ABCMeta.__instancecheck__ each, and this runs on every expression
        evaluate = _EVALUATORS.get(type(node))
        return evaluate(self, node) if evaluate is not None else frozenset()

    def _binary(self, node: cst.BinaryOperation) -> frozenset[Any]:
        left, right = self.eval(node.left), self.eval(node.right)
        if self._record and isinstance(node.operator, cst.Add):
            self.additions[node] = Addition(node, left, right)
            self.combinations.append([left, right])
        return plain(left | right)

    def _sequence(self, node: cst.List | cst.Tuple | cst.Set) -> frozenset[Any]:
        parts = [self.eval(e.value) for e in node.elements]
        if self._record and len(parts) > 1:
            self.combinations.append(parts)
        return union(parts)

    def _dict(self, node: cst.Dict) -> frozenset[Any]:
        return union(
            self.eval(e.value) for e in node.elements if isinstance(e, (cst.DictElement, cst.StarredDictElement))
        )

    def _if_expression(self, node: cst.IfExp) -> frozenset[Any]:
        self.eval(node.test)
        return self.eval(node.body) | self.eval(node.orelse)

    def _named(self, node: cst.NamedExpr) -> frozenset[Any]:
        tags = self.eval(node.value)
        self._assign(node.target, tags)
        return tags

    def _comparison(self, node: cst.Comparison) -> frozenset[Any]:
        self.eval(node.left)
        return frozenset()

    def _comprehension(self, node: cst.BaseComp, elt: cst.BaseExpression) -> frozenset[Any]:
        assert self._current is not None
        comp = self._comp_scopes.get(node)
        if comp is None:
            parent = self._comps[-1] if self._comps else self._current.scope
            comp = Scope(node, parent, "comprehension", parent.cls, parent.self_name)
            self._comp_scopes[node] = comp
        iter_tags: frozenset[Any] = frozenset()
        for_in: cst.CompFor | None = node.for_in
        # the first iterable is evaluated where the comprehension is written, the rest inside it
        tags = self.eval(node.for_in.iter)
        self._comps.append(comp)
        try:
            while for_in is not None:
                if for_in is not node.for_in:
                    tags = self.eval(for_in.iter)
                if has_bias(tags) and not self.keeps_biases(for_in):
                    tags = frozenset(t for t in tags if not isinstance(t, Bias))
                iter_tags |= tags
                comp.params.extend(sorted(set(target_names(for_in.target)) - set(comp.params)))
                self._binding = comp
                try:
                    self._assign(for_in.target, tags)
                finally:
                    self._binding = None
                for_in = for_in.inner_for_in
            trainable_all = TRAINABLE in iter_tags
            elt_tags = self.eval(elt)
        finally:
            self._comps.pop()
        if trainable_all and any(isinstance(t, Source) and t.kind == L2 for t in elt_tags):
            return (elt_tags - {t for t in elt_tags if isinstance(t, Source) and t.kind == L2}) | {
                self._source(L2_ALL, node)
            }
        return plain(elt_tags | iter_tags)

    @staticmethod
    def keeps_biases(for_in: cst.CompFor) -> bool:
        """Whether a comprehension's filters surely keep the biases of what it iterates (none,
        or name tests that leave them in: `"global_step" not in v.name`)."""
        if not for_in.ifs:
            return True
        target = for_in.target
        return isinstance(target, cst.Name) and all(keeps_biases(c.test, target.value) for c in for_in.ifs)

    def _name(self, node: cst.Name) -> frozenset[Any]:
        assert self._current is not None
        scope: Scope | None = self._current.scope
        name = node.value
        for comp in reversed(self._comps):
            if name in comp.params:
                self._read(("env", (comp, name)))
                return self.env.get((comp, name), frozenset())
        while scope is not None:
            if scope.kind == "class" and scope is not self._current.scope:
                scope = scope.parent
                continue
            self._read(("env", (scope, name)))
            if (scope, name) in self.env:
                return self.env[(scope, name)]
            if name in scope.params and isinstance(scope.node, cst.FunctionDef):
                func = scope.node
                self._read(("param", (func, name)))
                tags = self.params.get((func, name), frozenset())
                if name != scope.self_name and func.name.value not in self.called_names:
                    # No call site of this file binds it: an entry point, a method a framework
                    # calls, or a function of the project's other modules. It carries what
                    # those callers pass (joined in the project phase), and a parameter named
                    # for a loss or a penalty may carry anything, as an unbound name does.
                    tags |= {UNBOUND} if penalty_named(name) else {Param(func, name)}
                return tags
            if name in scope.functions and scope.kind != "class":
                return frozenset({Function(scope.functions[name])})
            if name in scope.classes:
                return frozenset()
            scope = scope.parent
        # bound nowhere in this file (a star import, a global set elsewhere): unknown, and a
        # loss of that name may hold anything
        return frozenset({UNBOUND}) if lossy(name) else frozenset()

    def _attribute(self, node: cst.Attribute) -> frozenset[Any]:
        resolved = self.resolve(node)
        if resolved is not None:
            if node.attr.value == "losses" and resolved.split(".")[0] not in KNOWN_LIBRARIES:
                return frozenset({self._source(KERAS_LOSSES, node)})  # `net.losses` of an imported model
            return frozenset()
        attr = node.attr.value
        owner = self._attr_owner(node.value)
        tags: frozenset[Any] = frozenset()
        if isinstance(owner, cst.ClassDef):
            self._read(("attr", (owner, attr)))
            tags = self.attrs.get((owner, attr), frozenset())
            assert self._current is not None
            kind, bases = self.keras_class(self._current.scope.cls or owner) if attr == "losses" else ("no", ())
            if kind != "no":
                # `self.losses` is Keras's only in a Layer or Model (a project's own class may
                # keep its list of loss terms under that name)
                source = self._source(KERAS_LOSSES, node)
                if kind == "maybe":
                    self.maybe_keras[source] = bases
                tags |= {source} | self._instance_models(owner)
        elif owner is not UNKNOWN:
            self._read(("attr", (owner, attr)))
            receiver = self.eval(node.value)
            tags = self.attrs.get((owner, attr), frozenset()) | receiver | imported_members(receiver, attr)
        else:
            receiver = self.eval(node.value)
            tags = receiver | imported_members(receiver, attr)
        for tag in list(tags):
            if isinstance(tag, Instance):
                # `net.loss` for `net = Net()`: the attribute the class's methods set
                root = self._root_class(tag.cls)
                self._read(("attr", (root, attr)))
                tags |= self.attrs.get((root, attr), frozenset())
        if attr == "losses" and not isinstance(owner, cst.ClassDef):
            tags |= {self._source(KERAS_LOSSES, node)}
        elif attr in TRAINABLE_ALL_ATTRS:
            if not tags and attr not in self.assigned_attrs:
                # a model's or layer's variables (Keras's): its biases among them
                tags |= {KERNEL, Bias(node, attr)}
            tags |= {TRAINABLE}
        elif attr in WEIGHT_ATTRS:
            if not tags - {WEIGHT}:
                tags |= {Bias(node, attr)} if attr in BIAS_ATTRS else {KERNEL}
            tags |= {WEIGHT}
        elif attr not in self.assigned_attrs and lossy(attr) and not tags - {OPAQUE, UNBOUND}:
            tags |= {UNBOUND}
        return plain(tags) | {t for t in tags if isinstance(t, Instance)}

    def _instance_models(self, cls: cst.ClassDef) -> frozenset[Any]:
        cls = self._root_class(cls)
        self._read(("attrs of", cls))
        return union(
            frozenset(t for t in tags if isinstance(t, Source) and t.kind == KERAS_MODEL)
            for (owner, _), tags in self.attrs.items()
            if owner is cls
        )


_EVALUATORS: dict[type, Any] = {
    cst.Name: Flow._name,
    cst.Attribute: Flow._attribute,
    cst.Call: Flow._call,
    cst.BinaryOperation: Flow._binary,
    cst.UnaryOperation: lambda flow, node: flow.eval(node.expression),
    cst.List: Flow._sequence,
    cst.Tuple: Flow._sequence,
    cst.Set: Flow._sequence,
    cst.Dict: Flow._dict,
    cst.ListComp: lambda flow, node: flow._comprehension(node, node.elt),
    cst.GeneratorExp: lambda flow, node: flow._comprehension(node, node.elt),
    cst.SetComp: lambda flow, node: flow._comprehension(node, node.elt),
    cst.DictComp: lambda flow, node: flow._comprehension(node, node.value),
    cst.Subscript: lambda flow, node: flow.eval(node.value),
    cst.IfExp: Flow._if_expression,
    cst.Await: lambda flow, node: flow.eval(node.expression),
    cst.StarredElement: lambda flow, node: flow.eval(node.value),
    cst.Lambda: lambda flow, node: flow.eval(node.body),
    cst.NamedExpr: Flow._named,
    cst.Comparison: Flow._comparison,
    cst.BooleanOperation: lambda flow, node: flow.eval(node.left) | flow.eval(node.right),
}


class FlowRule(Rule):
    """Base of the rules that read the dataflow: feeds the file's `Flow` (when this rule is
    its owner) from the engine's traversal and calls `judge` once at the end of the module."""

    code: ClassVar[str]

    def visit_Module(self, node: cst.Module) -> None:
        self.flow = Flow.of(self.ctx, self)
        if self.flow.feeds(self):
            self.flow.enter(node)

    def leave_Module(self, original_node: cst.Module) -> None:
        self.judge(self.flow.solve())

    def judge(self, flow: Flow) -> None:
        raise NotImplementedError

    def _enter(self, node: cst.CSTNode) -> None:
        if self.flow.feeds(self):
            self.flow.enter(node)

    def _leave(self, node: cst.CSTNode) -> None:
        if self.flow.feeds(self):
            self.flow.leave(node)

    def visit_Call(self, node: cst.Call) -> None:
        if self.flow.feeds(self):
            self.flow.called(node)

    visit_ClassDef = _enter
    leave_ClassDef = _leave
    visit_FunctionDef = _enter
    leave_FunctionDef = _leave
    visit_SimpleStatementLine = _enter
    leave_SimpleStatementLine = _leave
    visit_SimpleStatementSuite = _enter
    visit_For = _enter
    leave_For = _leave
    visit_While = _enter
    leave_While = _leave
    visit_If = _enter
    leave_If = _leave
    visit_With = _enter
    leave_With = _leave
    visit_Try = _enter
    leave_Try = _leave
