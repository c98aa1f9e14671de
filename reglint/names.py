"""One name resolver for every rule.

Written by hand rather than with LibCST's ScopeProvider + QualifiedNameProvider: those cost
about ten times the parse (measured, see the performance issue), while what rules need is
narrower: which module attribute an expression like `tf.compat.v1.GraphKeys.X` or
`regularizers.l2` denotes. This resolver reads the import statements and simple re-bindings
(`reg = tf.keras.regularizers`) of each scope, statement by statement, without walking
expressions, and canonicalises the many spellings of one TensorFlow API to one name:

    tf.compat.v1.GraphKeys, tf.GraphKeys, `import tensorflow.compat.v1 as tf` -> tensorflow.GraphKeys
    tf.keras.regularizers, tensorflow.python.keras..., tf_keras..., keras...  -> keras.regularizers
    tf.contrib.slim..., tf_slim...                                            -> slim...

A name bound in a scope by anything else than an import or an alias (a parameter, a class,
an assignment of a call result) shadows outer bindings and resolves to None: precision first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst

# Prefix rewrites applied until none matches; the order matters (compat first).
_CANONICAL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("tensorflow.compat.v1", "tensorflow"),
    ("tensorflow.compat.v2", "tensorflow"),
    ("tensorflow.python.keras", "keras"),
    ("tensorflow.contrib.keras", "keras"),
    ("tensorflow.keras", "keras"),
    ("tf_keras", "keras"),
    ("keras.api", "keras"),
    ("keras.src", "keras"),
    ("tensorflow.contrib.slim", "slim"),
    ("tf_slim", "slim"),
    ("tensorflow.contrib.framework", "tensorflow.contrib.layers"),
    ("tensorflow.python.ops.variable_scope", "tensorflow"),
)
# Modules that only share some names with the module they are rewritten to: their attributes
# are rewritten (`variable_scope.get_variable` is `tf.get_variable`), the module itself is not
# (`from tensorflow.python.ops import variable_scope` does not bind TensorFlow: a fix that
# spelled `variable_scope.keras.regularizers` would break the file).
_NAMES_ONLY = frozenset({"tensorflow.contrib.framework", "tensorflow.python.ops.variable_scope"})

_BUILTINS = frozenset(
    {
        "sum",
        "print",
        "len",
        "list",
        "map",
        "filter",
        "isinstance",
        "range",
        "zip",
        "getattr",
        "setattr",
        "hasattr",
        "sorted",
        "any",
        "all",
        "tuple",
        "dict",
        "set",
        "enumerate",
    }
)

LOCAL = ""  # a binding that is not a resolvable module attribute
_IS_EXPRESSION: dict[type, bool] = {}  # node type -> whether it is an expression (cached: see _chain)


def canonical(qualified: str) -> str:
    """The one spelling rules match against for any spelling of a TensorFlow name."""
    changed = True
    while changed:
        changed = False
        for prefix, replacement in _CANONICAL_PREFIXES:
            if qualified.startswith(prefix + ".") or (qualified == prefix and prefix not in _NAMES_ONLY):
                qualified = replacement + qualified[len(prefix) :]
                changed = True
    return qualified


def _chain(node: cst.BaseExpression) -> tuple[str, list[str]] | None:
    """(`a`, [`b`, `c`]) for `a.b.c`, a chain of Names and Attributes; else None."""
    # `type(...) is`, not isinstance: libcst's nodes are ABCs, whose isinstance goes through
    # ABCMeta.__instancecheck__ (a tenth of the analysis when this ran on every name);
    # Attribute and Name have no subclasses
    attrs: list[str] = []
    while type(node) is cst.Attribute:
        attrs.append(node.attr.value)
        node = node.value
    if type(node) is not cst.Name:
        return None
    return node.value, attrs[::-1]


def dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a chain of Names and Attributes, else None."""
    chain = _chain(node)
    return None if chain is None else ".".join([chain[0], *chain[1]])


@dataclass
class Scope:
    """Bindings of one module or function body: name -> qualified name, or LOCAL."""

    bindings: dict[str, str] = field(default_factory=dict)
    # name -> every expression assigned to it in this scope (for single-assignment lookups)
    values: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)


def package_of(path: str) -> str | None:
    """The dotted package a file's relative imports start from (`lib/nets/vgg.py` ->
    `lib.nets`), as far as its path tells: the project phase matches modules by their
    trailing parts, so a path relative to wherever reglint runs is enough."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or not all(p.isidentifier() for p in parts[:-1]):
        return None
    return ".".join(parts[:-1])


def _relative(package: str | None, level: int, module: str) -> str:
    """`from ..a import b` in package `p.q.r`: `p.q.a`; LOCAL when the path cannot tell."""
    if package is None:
        return LOCAL
    base = package.split(".") if package else []
    if level - 1 > len(base):
        return LOCAL
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imported_from(stmt: cst.ImportFrom, package: str | None) -> str | None:
    """The module a `from ... import` statement imports from, dotted; a relative one named
    from the file's package (`package_of`), None when the path cannot tell."""
    within = dotted(stmt.module) or "" if stmt.module else ""
    if not stmt.relative:
        return within or None
    base = _relative(package, len(stmt.relative), within)
    return base if base and base != LOCAL else None


def _import_bindings(stmt: cst.Import | cst.ImportFrom, package: str | None = None) -> Iterator[tuple[str, str]]:
    if isinstance(stmt, cst.Import):
        for alias in stmt.names:
            full = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, canonical(full)
            else:
                # `import a.b.c` binds `a`
                top = full.split(".")[0]
                yield top, canonical(top)
        return
    if stmt.relative or stmt.module is None:
        within = dotted(stmt.module) or "" if stmt.module else ""
        module = "." * len(stmt.relative) + within
        # a module of the project, named from the file's own package
        base = _relative(package, len(stmt.relative), within)
    else:
        module = dotted(stmt.module) or ""
        base = LOCAL
    if isinstance(stmt.names, cst.ImportStar):
        return
    for alias in stmt.names:
        name = alias.name.value if isinstance(alias.name, cst.Name) else dotted(alias.name) or ""
        bound = name
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            bound = alias.asname.name.value
        if module.startswith("."):
            yield bound, f"{base}.{name}" if base else LOCAL
        else:
            yield bound, canonical(f"{module}.{name}")


def statement_targets(node: cst.CSTNode) -> list[cst.BaseExpression]:
    """The target expressions a statement assigns: `=`, `+=`, annotated assignment, a `for`
    loop's target, a `with`'s `as` names."""
    if isinstance(node, cst.Assign):
        return [t.target for t in node.targets]
    if isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.For)):
        return [node.target]
    if isinstance(node, cst.With):
        return [item.asname.name for item in node.items if item.asname is not None]
    return []


def target_names(target: cst.BaseExpression) -> Iterator[str]:
    """The names an assignment target binds (`a`, `a, (b, *c)`; not `x.a` nor `x[a]`)."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)


class _StatementScanner:
    """Collects a scope's bindings from its statements, not descending into nested scopes
    or into expressions (cheap: statements only)."""

    def __init__(self, resolver: Resolver, scopes: list[Scope]) -> None:
        self.scope = scopes[-1]
        self.scopes = scopes
        self.resolver = resolver
        self.imported: set[str] = set()

    def scan(self, body: Sequence[cst.CSTNode]) -> None:
        for stmt in body:
            self._statement(stmt)

    def _bind(self, name: str, qualified: str, *, from_import: bool) -> None:
        if from_import:
            self.imported.add(name)
            # the first import of a name wins over later imports (try/except fallbacks)
            if self.scope.bindings.get(name, LOCAL) == LOCAL:
                self.scope.bindings[name] = qualified
            return
        if name in self.imported:
            # `except ImportError: layers = None` must not hide the import
            return
        previous = self.scope.bindings.get(name)
        if previous is None:
            self.scope.bindings[name] = qualified
        elif previous != qualified:
            self.scope.bindings[name] = LOCAL

    def _statement(self, stmt: cst.CSTNode) -> None:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self._small(small)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            self._bind(stmt.name.value, LOCAL, from_import=False)
        elif isinstance(stmt, (cst.If, cst.While)):
            self.scan(stmt.body.body)
            if stmt.orelse is not None:
                self._statement(stmt.orelse)
        elif isinstance(stmt, cst.Else):
            self.scan(stmt.body.body)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            self.scan(stmt.body.body)
            for handler in stmt.handlers:
                self.scan(handler.body.body)
            if stmt.orelse is not None:
                self.scan(stmt.orelse.body.body)
            if stmt.finalbody is not None:
                self.scan(stmt.finalbody.body.body)
        elif isinstance(stmt, cst.For):
            for name in target_names(stmt.target):
                self._bind(name, LOCAL, from_import=False)
            self.scan(stmt.body.body)
            if stmt.orelse is not None:
                self.scan(stmt.orelse.body.body)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                if item.asname is not None:
                    for name in target_names(item.asname.name):
                        self._bind(name, LOCAL, from_import=False)
            self.scan(stmt.body.body)
        elif isinstance(stmt, cst.IndentedBlock):
            self.scan(stmt.body)

    def _small(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            for name, qualified in _import_bindings(small, self.resolver.package):
                self._bind(name, qualified, from_import=True)
        elif isinstance(small, cst.Assign):
            alias = self.resolver._resolve(small.value, self.scopes)
            for target in small.targets:
                names = list(target_names(target.target))
                for name in names:
                    single = len(names) == 1 and isinstance(target.target, cst.Name)
                    self._bind(name, alias if (alias and single) else LOCAL, from_import=False)
                    if single:
                        self.scope.values.setdefault(name, []).append(small.value)
                    else:
                        self.scope.values.setdefault(name, []).append(cst.Name("__unknown__"))
        elif isinstance(small, cst.AnnAssign):
            for name in target_names(small.target):
                self._bind(name, LOCAL, from_import=False)
                if small.value is not None:
                    self.scope.values.setdefault(name, []).append(small.value)
        elif isinstance(small, cst.AugAssign):
            for name in target_names(small.target):
                self._bind(name, LOCAL, from_import=False)
                self.scope.values.setdefault(name, []).append(cst.Name("__unknown__"))
        elif isinstance(small, cst.Global | cst.Nonlocal):
            for item in small.names:
                self.scope.bindings.pop(item.name.value, None)


class Resolver:
    """Resolves expressions to canonical qualified names within a stack of scopes."""

    def __init__(self, module: cst.Module, package: str | None = None) -> None:
        self.package = package  # the file's package, for relative imports (see package_of)
        self.module_scope = Scope()
        self.stack: list[Scope] = [self.module_scope]
        _StatementScanner(self, self.stack).scan(module.body)

    # scopes are pushed by the engine's walker on entering a function or lambda
    def push_function(self, node: cst.FunctionDef | cst.Lambda) -> None:
        scope = Scope()
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            scope.bindings[param.name.value] = LOCAL
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.bindings[star.name.value] = LOCAL
        self.stack.append(scope)
        if isinstance(node, cst.FunctionDef) and isinstance(node.body, cst.IndentedBlock):
            _StatementScanner(self, self.stack).scan(node.body.body)

    def push_comprehension(self, node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp) -> None:
        """A comprehension's variables are its own. (Its first iterable is evaluated outside;
        a comprehension that iterates a name it also binds is taken as binding it.)"""
        scope = Scope()
        for_in: cst.CompFor | None = node.for_in
        while for_in is not None:
            for name in target_names(for_in.target):
                scope.bindings[name] = LOCAL
            for_in = for_in.inner_for_in
        self.stack.append(scope)

    def pop_function(self) -> None:
        self.stack.pop()

    def _lookup(self, name: str, scopes: Sequence[Scope]) -> str | None:
        for scope in reversed(scopes):
            if name in scope.bindings:
                return scope.bindings[name] or None
        if name in _BUILTINS:
            return f"builtins.{name}"
        return None

    def resolve(self, node: cst.CSTNode) -> str | None:
        """The canonical qualified name an expression denotes, or None when unknown."""
        kind = type(node)
        expression = _IS_EXPRESSION.get(kind)
        if expression is None:
            expression = _IS_EXPRESSION[kind] = issubclass(kind, cst.BaseExpression)
        return self._resolve(node, self.stack) if expression else None  # type: ignore[arg-type]

    def _resolve(self, node: cst.BaseExpression, scopes: Sequence[Scope]) -> str | None:
        chain = _chain(node)
        if chain is None:
            return None
        base = self._lookup(chain[0], scopes)
        if base is None:
            return None
        if not chain[1]:
            return base
        return canonical(".".join([base, *chain[1]]))

    def alias_for(self, qualified: str) -> str | None:
        """A name visible here that denotes `qualified` (`tf` for "tensorflow"), for fixes
        that must spell a TensorFlow name the way the file does; inner scopes first."""
        seen: set[str] = set()
        for scope in reversed(self.stack):
            for name, bound in scope.bindings.items():
                if name in seen:
                    continue
                seen.add(name)
                if bound == qualified and self._lookup(name, self.stack) == qualified:
                    return name
        return None

    def assigned_values(self, name: cst.Name) -> list[cst.BaseExpression]:
        """Every expression assigned to this name in the innermost scope that binds it."""
        for scope in reversed(self.stack):
            if name.value in scope.bindings:
                return list(scope.values.get(name.value, []))
        return []

    def single_value(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """For a name assigned exactly once in its scope, the assigned expression; else the node."""
        if isinstance(node, cst.Name):
            values = self.assigned_values(node)
            if len(values) == 1 and not (isinstance(values[0], cst.Name) and values[0].value == "__unknown__"):
                return values[0]
        return node
