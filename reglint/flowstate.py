"""The state of a file's dataflow (reglint/dataflow.py): what the owner rule feeds in (scopes,
statements, the `GradientTape` blocks and statement blocks around each), the tables solving
fills, who reads which entry while solving, and the lookups of the file's classes and functions
that the interpreter of statements and expressions (`Flow`) and the semantics of calls
(reglint/flowcalls.py) share."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import libcst as cst

from reglint.names import dotted
from reglint.rule import Rule
from reglint.values import (
    KNOWN_LIBRARIES,
    Addition,
    Imported,
    Member,
    Scope,
    Sink,
    Source,
    Stmt,
)

if TYPE_CHECKING:
    from reglint.engine import FileContext


class FlowState:
    """A file's dataflow state; `Flow` interprets statements and expressions over it."""

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

    # -- the file's classes and functions ----------------------------------------------------
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
        return UNKNOWN

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

    if TYPE_CHECKING:  # the interpreter's (reglint/dataflow.py `Flow`), used by the calls' semantics

        def eval(self, node: cst.BaseExpression) -> frozenset[Any]: ...

        def _assign(
            self, target: cst.BaseExpression, tags: frozenset[Any], parts: tuple[frozenset[Any], ...] | None = None
        ) -> None: ...

        def _attribute(self, node: cst.Attribute) -> frozenset[Any]: ...

        def _instance_models(self, cls: cst.ClassDef) -> frozenset[Any]: ...


class _Unknown:
    pass


# what `_attr_owner` says of an attribute's base it cannot place (an object it does not know)
UNKNOWN = _Unknown()


@dataclass(frozen=True)
class _NameKey:
    name: str


def imported_members(receiver: frozenset[Any], member: str) -> frozenset[Any]:
    """`x.member` of an object made by another module's class (see `Member`)."""
    return frozenset(Member(t.name, member) for t in receiver if isinstance(t, Imported))
