"""Def-use analysis of regularization terms, for REG001, REG006, REG007 and REG009: how a
statement moves a value, within one file.

The analysis is split along its seams: what a value carries (the tags, and the names that
recognise them) is reglint/values.py; how a statement moves it, this module; how modules
exchange it (call-site facts joined in the project phase), reglint/interproc.py; the
queries and fixes rules share on a solved flow, reglint/flowfix.py.

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
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import libcst as cst

from reglint.flowfix import call_argument, contains, loads_of
from reglint.names import dotted, target_names
from reglint.patterns import created_name, keeps_biases
from reglint.rule import Rule
from reglint.tfnames import (
    COLLECTION_METHODS_READ,
    COLLECTION_METHODS_WRITE,
    COLLECTION_READERS,
    COLLECTION_WRITERS,
    GRAPH_KEYS,
    GRAPH_KEYS_CLASS,
    REG_LIST_READERS,
    REG_SCALAR_READERS,
    REG_TOTAL_READERS,
    REGULARIZATION_COLLECTION,
    is_neutral_call,
    is_optimizer_class,
)
from reglint.values import (
    BIAS_ATTRS,
    COLLECTION,
    ESTIMATOR_SPECS,
    FIT_METHODS,
    KERAS_LOSSES,
    KERAS_MODEL,
    KERNEL,
    KNOWN,
    KNOWN_LIBRARIES,
    L2,
    L2_ALL,
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
    TRAINABLE_ALL_ATTRS,
    TRAINABLE_ALL_CALLS,
    UNBOUND,
    VARIABLE_COLLECTIONS,
    VARIABLE_METHODS,
    WEIGHT,
    WEIGHT_ATTRS,
    WEIGHT_LIKE,
    WEIGHT_MAKERS,
    WEIGHT_PRESERVING,
    Addition,
    Bias,
    Function,
    Handed,
    Imported,
    Instance,
    LossCall,
    Member,
    Param,
    Scope,
    Sink,
    Source,
    Stmt,
    Tape,
    carried,
    has_bias,
    is_bias_name,
    lossy,
    penalty_named,
    plain,
    union,
    unpacked,
    weight_named,
)

if TYPE_CHECKING:
    from reglint.engine import FileContext

# the words of a helper's name that says it makes a bias (`bias_variable`, `make_bias`), as
# opposed to one that uses it (`add_bias`)
BIAS_HELPER_WORDS = frozenset(
    {"b", "bias", "biases", "variable", "var", "init", "initial", "make", "create", "get", "new", "param"}
)

# the words of a method's name that says it selects among what it is given
# (`model.filter_l2_loss_vars(params)`): its result is not known to hold the biases it got
SELECTING_WORDS = frozenset({"filter", "filtered", "exclude", "select", "without", "drop", "remove", "skip"})

# --------------------------------------------------------------------------------------
# the flow of one file


class Flow:
    """The dataflow facts of one file, fed by its owner rule and solved once."""

    def __init__(self, ctx: FileContext, owner: Rule) -> None:
        self.ctx = ctx
        self.owner = owner
        self.scopes: list[Scope] = []
        self.scope_of: dict[cst.CSTNode, Scope] = {}
        self.stmts: list[Stmt] = []
        self.tapes: list[cst.With] = []
        self.tape_names: dict[cst.With, str] = {}
        self.chain: list[tuple[cst.CSTNode, cst.CSTNode]] = []
        self.called_names: set[str] = set()
        # attribute names assigned anywhere in the file (`self.loss = 0`): a loss-named
        # attribute of these is what the file binds, not an unknown value
        self.assigned_attrs: set[str] = set()
        self._roots: dict[cst.ClassDef, cst.ClassDef] = {}
        # the argument expressions this file's calls bind to each parameter (ordered, once)
        self.param_args: dict[tuple[cst.FunctionDef, str], dict[cst.BaseExpression, None]] = {}
        # calls of the project's other modules (`Imported` names, methods of their objects):
        # the callee's possible qualified names and each argument's key (position or keyword)
        # and tags, for the call-site facts the project phase joins (see reglint/interproc.py)
        self.project_calls: dict[cst.Call, tuple[tuple[str, ...], list[tuple[int | str, frozenset[Any]]]]] = {}
        # `self.losses` read in a class whose bases come from elsewhere: the bases' names
        self.maybe_keras: dict[Source, tuple[str, ...]] = {}
        # `add_to_collection(key, value)` calls: the statement and the value's tags
        self.collection_writes: dict[cst.Call, tuple[Stmt, frozenset[Any]]] = {}
        self.solved = False
        # results
        self.env: dict[tuple[Scope, str], frozenset[Any]] = {}
        self.attrs: dict[tuple[Any, str], frozenset[Any]] = {}
        self.returns: dict[cst.FunctionDef, frozenset[Any]] = {}
        # functions whose every return is a tuple display of one length: each position's tags
        # (None once a return is anything else), so that `a, b = f()` unpacks them one by one
        self.tuple_returns: dict[cst.FunctionDef, tuple[frozenset[Any], ...] | None] = {}
        self.params: dict[tuple[cst.FunctionDef, str], frozenset[Any]] = {}
        self.sources: dict[cst.CSTNode, Source] = {}
        # the explicit penalties on variables that have a regularizer of their own (the
        # collection holds their penalty already)
        self.regularized_l2: set[Source] = set()
        self.sinks: dict[cst.CSTNode, Sink] = {}
        self.escaped: set[Source] = set()
        self.fitted: set[Source] = set()
        self.fitted_imports: set[Imported] = set()
        self.escaped_imports: set[Imported] = set()
        self.additions: dict[cst.CSTNode, Addition] = {}
        # the operands' tags of every `a + b` and `[a, b, ...]`: where values meet
        self.combinations: list[list[frozenset[Any]]] = []
        self.keras_calls: list[tuple[cst.Call, Stmt, frozenset[Any]]] = []
        self._current: Stmt | None = None
        # the comprehensions being evaluated, innermost last: each binds its own names (a `p`
        # of one comprehension is not the `p` of the next one in the same function)
        self._comps: list[Scope] = []
        self._comp_scopes: dict[cst.CSTNode, Scope] = {}
        self._binding: Scope | None = None
        self._record = False
        # while solving: which statements read which entry of the state (see `solve`), and
        # the statements to run again in this sweep (a heap of their order) or the next
        self._readers: dict[tuple[str, Any], set[int]] | None = None
        self._queue: list[int] = []
        self._queued: set[int] = set()
        self._next: set[int] = set()

    # -- feeding (called by the owner rule's visitors) -------------------------------------
    @classmethod
    def of(cls, ctx: FileContext, rule: Rule) -> Flow:
        flow: Flow | None = getattr(ctx, "_reglint_flow", None)
        if flow is None:
            flow = cls(ctx, rule)
            ctx._reglint_flow = flow  # type: ignore[attr-defined]
        return flow

    def feeds(self, rule: Rule) -> bool:
        return rule is self.owner

    def enter(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Module):
            self._push(Scope(node, None, "module"))
            return
        scope = self.scopes[-1]
        if isinstance(node, (cst.ClassDef, cst.FunctionDef)):
            block = self.ctx.parent()
            if block is not None:
                self.chain.append((block, node))
        if isinstance(node, cst.ClassDef):
            scope.classes[node.name.value] = node
            self._push(Scope(node, scope, "class", cls=node))
        elif isinstance(node, cst.FunctionDef):
            scope.functions[node.name.value] = node
            inner = Scope(node, scope, "function")
            params = node.params
            names = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
            inner.params = names
            if scope.kind == "class":
                inner.cls = scope.cls
                if names and not any(
                    isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod" for d in node.decorators
                ):
                    inner.self_name = names[0]
            elif scope.cls is not None:
                inner.cls, inner.self_name = scope.cls, scope.self_name
            self._push(inner)
        elif isinstance(node, cst.SimpleStatementSuite):
            for small in node.body:
                self._stmt(small, self.chain[-1][1] if self.chain else node)
        elif isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            block = self.ctx.parent()
            if block is not None:
                self.chain.append((block, node))
            if isinstance(node, cst.SimpleStatementLine):
                for small in node.body:
                    self._stmt(small, node)
            elif isinstance(node, (cst.For, cst.If, cst.While, cst.With)):
                self._stmt(node, node)
            if isinstance(node, cst.With) and any(self._is_tape(item.item) for item in node.items):
                self.tapes.append(node)
                for item in node.items:
                    if self._is_tape(item.item) and item.asname is not None and isinstance(item.asname.name, cst.Name):
                        self.tape_names[node] = item.asname.name.value

    def leave(self, node: cst.CSTNode) -> None:
        if isinstance(node, (cst.ClassDef, cst.FunctionDef)):
            self.scopes.pop()
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            if self.chain and self.chain[-1][1] is node:
                self.chain.pop()
            if self.tapes and self.tapes[-1] is node:
                self.tapes.pop()

    def called(self, node: cst.Call) -> None:
        """Remember names called in the file: functions called here get their arguments."""
        func = node.func
        if isinstance(func, cst.Name):
            self.called_names.add(func.value)
        elif isinstance(func, cst.Attribute):
            self.called_names.add(func.attr.value)

    def scopes_all(self) -> list[Scope]:
        return list(self.scope_of.values())

    def _push(self, scope: Scope) -> None:
        self.scopes.append(scope)
        self.scope_of[scope.node] = scope

    def _stmt(self, node: cst.CSTNode, line: cst.CSTNode) -> None:
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            targets = [node.target]
        while targets:
            target = targets.pop()
            if isinstance(target, cst.Attribute):
                self.assigned_attrs.add(target.attr.value)
            elif isinstance(target, (cst.Tuple, cst.List)):
                targets.extend(e.value for e in target.elements)
            elif isinstance(target, cst.Subscript):
                targets.append(target.value)
        self.stmts.append(Stmt(node, line, self.scopes[-1], tuple(self.tapes), tuple(self.chain), len(self.stmts)))

    def _is_tape(self, expr: cst.BaseExpression) -> bool:
        return isinstance(expr, cst.Call) and self.resolve(expr.func) == "tensorflow.GradientTape"

    def resolve(self, node: cst.CSTNode) -> str | None:
        return self.ctx.resolver.resolve(node)

    # -- positions -------------------------------------------------------------------------
    def line(self, node: cst.CSTNode) -> int:
        return self.ctx.line(node)

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

    # -- the state: who reads what (while solving) -----------------------------------------
    def _read(self, entry: tuple[str, Any]) -> None:
        """The statement being run reads `entry` (kind, key) of the state."""
        if self._readers is not None and self._current is not None:
            readers = self._readers.get(entry)
            if readers is None:
                readers = self._readers[entry] = set()
            readers.add(self._current.order)

    def _changed(self, entry: tuple[str, Any]) -> None:
        """`entry` changed: the statements that read it run again."""
        if self._readers is None or self._current is None:
            return
        now = self._current.order
        for order in self._readers.get(entry, ()):
            if order > now:
                if order not in self._queued:
                    self._queued.add(order)
                    heapq.heappush(self._queue, order)
            else:
                self._next.add(order)

    def _join(self, table: dict[Any, frozenset[Any]], kind: str, key: Any, tags: frozenset[Any]) -> None:
        """Add `tags` to `table[key]` (creating the entry, which `in` tests see, even when
        `tags` is empty)."""
        old = table.get(key)
        if old is None:
            table[key] = tags
        elif tags <= old:
            return
        else:
            table[key] = old | tags
        self._changed((kind, key))
        if kind == "attr":
            self._changed(("attrs of", key[0]))

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
            if owner is _UNKNOWN:
                self._escape(tags)
            else:
                self._join(self.attrs, "attr", (owner, target.attr.value), tags)
        elif isinstance(target, cst.Subscript):
            self._assign(target.value, tags)

    def _attr_owner(self, base: cst.BaseExpression) -> cst.CSTNode | object | None:
        """Whose attribute `base.x` is: a class of this module (self, the class name), the
        module itself for other names bound here, or unknown."""
        assert self._current is not None
        scope = self._current.scope
        if isinstance(base, cst.Name):
            owner = self._self_class(base.value, scope)
            if owner is not None:
                return self._root_class(owner)
            cls = self._find_class(base.value, scope)
            if cls is not None:
                return self._root_class(cls)
            if self._bound(base.value, scope):
                # attributes of an object of this file: keyed by the object's name
                return _NameKey(base.value)
        return _UNKNOWN

    def _self_class(self, name: str, scope: Scope) -> cst.ClassDef | None:
        """The class whose instance `name` is as a method's `self`, also in a function nested
        in the method (a closure over `self`, as a tower function inside a trainer method)."""
        current: Scope | None = scope
        while current is not None and current.kind == "function":
            if current.self_name == name and current.cls is not None:
                return current.cls
            self._read(("env", (current, name)))
            if (current, name) in self.env or name in current.params:
                return None
            current = current.parent
        return None

    def keras_class(self, cls: cst.ClassDef) -> tuple[str, tuple[str, ...]]:
        """Whether a class of this file is a Keras Layer or Model: "keras" (a base, or a
        base's base in this file, is Keras's), "no" (its bases are this file's classes,
        `object` and known libraries' other classes), or "maybe" with the bases imported from
        elsewhere (the project phase can tell)."""
        external: list[str] = []
        todo, seen = [cls], set()
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            scope = self.scope_of.get(current)
            parent = scope.parent if scope is not None else None
            for arg in current.bases:
                base = arg.value
                if isinstance(base, cst.Name) and (found := self._find_class(base.value, parent)) is not None:
                    todo.append(found)
                    continue
                resolved = self.resolve(base)
                if resolved is not None and resolved.startswith("keras."):
                    return "keras", ()
                if (isinstance(base, cst.Name) and base.value == "object") or (
                    resolved is not None and resolved.split(".")[0] in KNOWN_LIBRARIES
                ):
                    continue
                external.append(resolved or dotted(base) or "")
        return ("maybe", tuple(external)) if external else ("no", ())

    def _root_class(self, cls: cst.ClassDef) -> cst.ClassDef:
        """The first ancestor of `cls` in this file that has no base class here: the
        attributes a class and its subclasses set on `self` are one object's, whichever
        class's method sets or reads them."""
        root = self._roots.get(cls)
        if root is None:
            root, seen = cls, {cls}
            while (base := next((b for b in self._bases(root) if b not in seen), None)) is not None:
                seen.add(base)
                root = base
            self._roots[cls] = root
        return root

    def _find_class(self, name: str, scope: Scope | None) -> cst.ClassDef | None:
        while scope is not None:
            if name in scope.classes:
                return scope.classes[name]
            scope = scope.parent
        return None

    def _find_function(self, name: str, scope: Scope | None) -> cst.FunctionDef | None:
        while scope is not None:
            if scope.kind != "class" and name in scope.functions:
                return scope.functions[name]
            scope = scope.parent
        return None

    def _bound(self, name: str, scope: Scope | None) -> bool:
        while scope is not None:
            self._read(("env", (scope, name)))
            if (scope, name) in self.env or name in scope.params:
                return True
            scope = scope.parent
        return False

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
        elif owner is not _UNKNOWN:
            self._read(("attr", (owner, attr)))
            receiver = self.eval(node.value)
            tags = self.attrs.get((owner, attr), frozenset()) | receiver | _members(receiver, attr)
        else:
            receiver = self.eval(node.value)
            tags = receiver | _members(receiver, attr)
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
                and self._attr_owner(func.value) is _UNKNOWN
                and not isinstance(func.value, cst.SimpleString)
            ):
                handed = self._escape_args(node, args)
                return handed | {OPAQUE} if lossy(method or "") else handed
            owner = self._attr_owner(func.value)
            if isinstance(owner, cst.ClassDef) and method is not None:
                target = self._method(owner, method)
                if target is not None:
                    return self._invoke(target, node, bound=True)
            if isinstance(func.value, cst.Name) and owner is not _UNKNOWN and method not in (None, "losses"):
                # (`net.losses(logits, ...)` is a method of the user's class, not Keras' property)
                # `self.layer(x)`: the call of an attribute holding a value
                callee = self._attribute(func)
                self._note_keras_call(node, callee)
                return plain(callee | args) | _members(receiver, f"{method}()")
            self._note_keras_call(node, receiver)
            if SELECTING_WORDS & set(re.split(r"[^a-z]+", (method or "").lower())):
                args = frozenset(t for t in args if not isinstance(t, (Bias, Member)))
            members = _members(receiver, f"{method}()")
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

    def _method(self, cls: cst.ClassDef, name: str) -> cst.FunctionDef | None:
        """The method `name` of `cls`, or of its base classes defined in this file."""
        todo, seen = [cls], set()
        while todo:
            current = todo.pop(0)
            if current in seen:
                continue
            seen.add(current)
            scope = self.scope_of.get(current)
            if scope is None:
                continue
            if name in scope.functions:
                return scope.functions[name]
            todo.extend(self._bases(current))
        return None

    def _bases(self, cls: cst.ClassDef) -> list[cst.ClassDef]:
        scope = self.scope_of.get(cls)
        parent = scope.parent if scope is not None else None
        found = (self._find_class(arg.value.value, parent) for arg in cls.bases if isinstance(arg.value, cst.Name))
        return [base for base in found if base is not None]

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
        resolved = self.resolve(key) if key is not None else None
        return (
            resolved is not None
            and resolved.startswith(GRAPH_KEYS_CLASS + ".")
            and (GRAPH_KEYS.get(resolved.rpartition(".")[2]) in VARIABLE_COLLECTIONS)
        )

    def _is_reg_key(self, key: cst.BaseExpression) -> bool:
        if isinstance(key, cst.SimpleString):
            return key.evaluated_value == REGULARIZATION_COLLECTION
        return self.resolve(key) == f"{GRAPH_KEYS_CLASS}.REGULARIZATION_LOSSES"

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

    # -- queries for rules ------------------------------------------------------------------
    def eval_in(self, stmt: Stmt, node: cst.BaseExpression) -> frozenset[Any]:
        """The tags of an expression of `stmt`, once solved."""
        self._current = stmt
        try:
            return self.eval(node)
        finally:
            self._current = None

    def strings(self, scope: Scope, node: cst.BaseExpression | None) -> set[str] | None:
        """The strings an expression can be, or None when they cannot all be known."""
        origins = self.string_origins(scope, node)
        return None if origins is None else {text for text, _ in origins}

    def string_origins(
        self, scope: Scope, node: cst.BaseExpression | None, depth: int = 0
    ) -> list[tuple[str, cst.BaseExpression]] | None:
        """The strings an expression can be, each with the expression that spells it, or
        None when they cannot all be known: a literal, a `GraphKeys` attribute (its value),
        or a parameter of the enclosing function, which is its default, what the function
        assigns it, or what this file's call sites pass (a function that no call site of this
        file calls may be passed anything). `None` is no string: a parameter defaulting to it
        is replaced before use or the call fails."""
        if node is None or depth > 4:
            return None
        if isinstance(node, cst.SimpleString):
            value = node.evaluated_value
            return [(value, node)] if isinstance(value, str) else None
        if isinstance(node, cst.Name) and node.value == "None":
            return []
        resolved = self.resolve(node)
        if resolved is not None and resolved.startswith(GRAPH_KEYS_CLASS + "."):
            key = GRAPH_KEYS.get(resolved.rpartition(".")[2])
            return [(key, node)] if key is not None else None
        if not isinstance(node, cst.Name) or not isinstance(scope.node, cst.FunctionDef):
            return None
        func = scope.node
        if node.value not in scope.params or func.name.value not in self.called_names:
            return None
        default = next(
            (p.default for p in (*func.params.params, *func.params.kwonly_params) if p.name.value == node.value),
            None,
        )
        passed = list(self.param_args.get((func, node.value), ()))
        assigned = [
            stmt.node.value
            for stmt in self.stmts
            if stmt.scope is scope
            and isinstance(stmt.node, cst.Assign)
            and any(isinstance(t.target, cst.Name) and t.target.value == node.value for t in stmt.node.targets)
        ]
        if default is None and not passed:
            return None
        found: list[tuple[str, cst.BaseExpression]] = []
        for expr in ([default] if default is not None else []) + assigned + passed:
            caller = scope if expr is default or expr in assigned else self._scope_around(expr)
            origins = self.string_origins(caller, expr, depth + 1) if caller is not None else None
            if origins is None:
                return None
            found.extend(origins)
        return found

    def _scope_around(self, node: cst.CSTNode) -> Scope | None:
        """The scope of the statement an expression belongs to (of the recorded ones)."""
        for stmt in self.stmts:
            if contains(stmt.node, node):
                return stmt.scope
        return None

    def reached(self, source: Source) -> list[Sink]:
        return [sink for sink in self.sinks.values() if source in sink.tags]

    def combined(self, first: Source, second: Source) -> bool:
        """Whether the two terms are operands of one `+` or one list somewhere."""
        for parts in self.combinations:
            if any(first in a and second in b for i, a in enumerate(parts) for j, b in enumerate(parts) if i != j):
                return True
        return False

    def sink_list(self) -> list[Sink]:
        """Sinks in source order (by statement: positions are computed only to report)."""
        return sorted(self.sinks.values(), key=lambda s: s.stmt.order)

    def members(self, cls: cst.ClassDef) -> Iterator[tuple[str, frozenset[Any]]]:
        """What an object of `cls` holds, as another module sees it through `Member`: each
        attribute its methods (or its base classes' here) set on `self`, and each method's
        result, named `method()`."""
        root = self._root_class(cls)
        for (owner, attr), tags in self.attrs.items():
            if owner is root:
                yield attr, tags
        todo, seen, named = [cls], set(), set()
        while todo:
            current = todo.pop(0)
            scope = self.scope_of.get(current)
            if current in seen or scope is None:
                continue
            seen.add(current)
            for name, func in scope.functions.items():
                if name not in named:  # a subclass's method overrides its base's
                    named.add(name)
                    yield f"{name}()", self.returns.get(func, frozenset())
            todo.extend(self._bases(current))

    def source_list(self, kinds: Iterable[str]) -> list[Source]:
        wanted = set(kinds)
        return sorted((s for s in self.sources.values() if s.kind in wanted), key=lambda s: s.stmt.order)

    def tf_alias(self) -> str | None:
        """A name bound to TensorFlow (`tf`), for fixes that call it."""
        return self.ctx.resolver.alias_for("tensorflow")

    def tf_is_v2_module(self) -> bool:
        """Whether `tf` is TensorFlow 2's module and the file reaches TF1 through `compat.v1`."""
        for stmt in self.ctx.module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        if dotted(alias.name) == "tensorflow.compat.v1":
                            return False
        return "compat.v1." in self.ctx.text()

    def assignments_in(self, name: str, container: cst.CSTNode) -> list[Stmt]:
        """Statements assigning `name` (plainly) that lie in the body of `container`."""
        found = []
        for stmt in self.stmts:
            if not any(line is container for _, line in stmt.chain):
                continue
            node = stmt.node
            if (
                isinstance(node, cst.Assign)
                and any(isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets)
            ) or (
                isinstance(node, (cst.AugAssign, cst.AnnAssign))
                and isinstance(node.target, cst.Name)
                and node.target.value == name
            ):
                found.append(stmt)
        return found

    def names_used(self, name: str, scope: Scope) -> Iterator[tuple[cst.Name, Stmt]]:
        """Loads of `name` in statements of `scope` (assignment targets excluded)."""
        for stmt in self.stmts:
            if stmt.scope is not scope:
                continue
            for found in loads_of(stmt.node, name):
                yield found, stmt


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


class _Unknown:
    pass


_UNKNOWN = _Unknown()


@dataclass(frozen=True)
class _NameKey:
    name: str


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


def _members(receiver: frozenset[Any], member: str) -> frozenset[Any]:
    """`x.member` of an object made by another module's class (see `Member`)."""
    return frozenset(Member(t.name, member) for t in receiver if isinstance(t, Imported))


def _own_regularizer(call: cst.Call) -> frozenset[Any]:
    """`get_variable(..., regularizer=l2(...))`, `add_weight(..., regularizer=...)`: the
    variable's penalty goes to the regularization losses."""
    arg = next((a for a in call.args if a.keyword is not None and a.keyword.value == "regularizer"), None)
    if arg is None or (isinstance(arg.value, cst.Name) and arg.value.value == "None"):
        return frozenset()
    return frozenset({REGULARIZED})
