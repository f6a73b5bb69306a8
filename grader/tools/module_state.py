"""What a module does when it is imported, and the state its functions share, from the
syntax tree alone.

An import-time side effect is a call at module level (outside functions, classes'
methods and ``if __name__ == "__main__":``) that opens a connection, builds a client or
an engine, or reads and writes files and the network: ``create_engine(...)``,
``redis.Redis(...)``, ``OpenAI()``, ``requests.get(...)``, ``open(...)``,
``boto3.client(...)``, ``sqlite3.connect(...)``. Importing such a module for a test, a
script or a type check does the work and needs the service. Reading the environment
(``os.environ``, ``os.getenv``, python-dotenv's ``load_dotenv()``, which its
documentation calls at import) and the framework's own application object
(``FastAPI()``, ``Flask(__name__)``) are conventional and not charged.

Global mutable state is a ``global`` statement in a function, or a list, dict or set
created at module level that a function mutates (``CACHE[key] = ...``,
``ITEMS.append(...)``): state every caller shares and no test can reset.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# The last part of a call's name that always means a client, a connection or I/O.
CONSTRUCTORS = frozenset(
    {"create_engine", "create_async_engine", "Redis", "StrictRedis", "MongoClient",
     "AsyncIOMotorClient", "OpenAI", "AsyncOpenAI", "AzureOpenAI", "Anthropic",
     "AsyncAnthropic", "urlopen", "BlockingConnection", "Elasticsearch",
     "QdrantClient", "PersistentClient", "HttpClient", "KafkaProducer", "KafkaConsumer",
     "from_pretrained", "SentenceTransformer", "read_csv", "read_parquet", "read_excel",
     "read_sql", "makedirs", "mkdir", "read_text", "read_bytes", "write_text",
     "write_bytes", "create_client", "Pinecone", "ConnectionPool", "create_pool",
     "create_all", "drop_all"}
)  # fmt: skip
# The last part that means I/O only after one of these modules (``sqlite3.connect``).
QUALIFIED = {
    "connect": frozenset(
        {"sqlite3", "psycopg2", "psycopg", "pymysql", "MySQLdb", "mysql", "asyncpg",
         "duckdb", "pymongo", "redis", "cx_Oracle", "oracledb", "pyodbc", "socket"}
    ),
    "client": frozenset({"boto3", "session"}),
    "resource": frozenset({"boto3", "session"}),
    "from_url": frozenset({"redis", "Redis", "aioredis"}),
    "load": frozenset({"json", "pickle", "joblib", "torch", "yaml", "np", "numpy"}),
    "socket": frozenset({"socket"}),
    "system": frozenset({"os"}),
}  # fmt: skip
HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "request"})
HTTP_MODULES = frozenset({"requests", "httpx", "urllib3"})
SUBPROCESS = frozenset({"run", "call", "check_call", "check_output", "Popen"})
BUILTIN_IO = frozenset({"open"})

MUTATORS = frozenset(
    {"append", "extend", "insert", "add", "update", "pop", "popitem", "clear", "remove",
     "discard", "setdefault", "appendleft", "extendleft", "popleft"}
)  # fmt: skip
MUTABLE_CALLS = frozenset({"list", "dict", "set", "defaultdict", "deque", "OrderedDict", "Counter"})
_MUTABLE_LITERALS = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)


@dataclass(frozen=True)
class Place:
    """One charged place: its line and what it is."""

    line: int
    message: str


def dotted(node: ast.expr) -> str:
    """``a.b.c`` for a name or an attribute chain; '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else f"?.{node.attr}"
    if isinstance(node, ast.Call):
        return dotted(node.func)
    return ""


def import_bindings(tree: ast.Module) -> dict[str, str]:
    """Each name an import in ``tree`` binds, with the top-level module it comes from
    (``views`` from ``app`` for ``from app import views``; '' for a relative import)."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                bound[alias.asname or top] = top
        elif isinstance(node, ast.ImportFrom):
            top = (node.module or "").split(".")[0] if not node.level else ""
            for alias in node.names:
                bound[alias.asname or alias.name] = top
    return bound


def reads_argv(tree: ast.Module) -> bool:
    """Whether the module reads ``sys.argv`` itself (a command line parsed by hand)."""
    return any(
        isinstance(node, ast.Attribute) and dotted(node) == "sys.argv" for node in ast.walk(tree)
    )


def _io_call(name: str) -> bool:
    parts = name.split(".")
    last, qualifiers = parts[-1], {p.lower() for p in parts[:-1]} | set(parts[:-1])
    if last in CONSTRUCTORS or (len(parts) == 1 and last in BUILTIN_IO):
        return True
    if last in QUALIFIED and qualifiers & QUALIFIED[last]:
        return True
    if last in HTTP_VERBS and qualifiers & HTTP_MODULES:
        return True
    return last in SUBPROCESS and "subprocess" in qualifiers


def is_main_guard(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":`` (either way round)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    names = {s.id for s in sides if isinstance(s, ast.Name)}
    values = {s.value for s in sides if isinstance(s, ast.Constant)}
    return "__name__" in names and "__main__" in values


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements that run at import: into if/try/with/loops, not into defs or the guard."""
    found: list[ast.stmt] = []
    for node in body:
        if is_main_guard(node) or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.ClassDef):
            found += _module_level(node.body)
            continue
        found.append(node)
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                found += _module_level(inner)
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                found += _module_level(handler.body)
    return found


def _own_calls(node: ast.stmt) -> list[ast.Call]:
    """Calls a statement makes itself: not inside a lambda or a nested block's body."""
    roots: list[ast.AST] = []
    if isinstance(node, ast.If | ast.While):
        roots.append(node.test)
    elif isinstance(node, ast.For | ast.AsyncFor):
        roots.append(node.iter)
    elif isinstance(node, ast.With | ast.AsyncWith):
        roots += [item.context_expr for item in node.items]
    elif not isinstance(node, ast.Try):
        roots.append(node)
    calls = []
    for root in roots:
        stack = [root]
        while stack:
            current = stack.pop()
            if isinstance(current, ast.Lambda):
                continue
            if isinstance(current, ast.Call):
                calls.append(current)
            stack += list(ast.iter_child_nodes(current))
    return calls


def _io_in(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The first I/O call a function's own statements make, or ''."""
    for statement in function.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and _io_call(name := dotted(node.func)):
                return name
    return ""


def import_side_effects(tree: ast.Module) -> list[Place]:
    """Module-level calls that connect, build a client or do I/O when imported, directly
    or through a function of the same module (``init_models()`` running
    ``Base.metadata.create_all``): one call deep, as far as the module itself shows."""
    helpers = {
        node.name: io
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (io := _io_in(node))
    }
    found = []
    for statement in _module_level(tree.body):
        for call in _own_calls(statement):
            name = dotted(call.func)
            if name and _io_call(name):
                found.append(Place(call.lineno, f"{name}(...) runs when the module is imported"))
            elif name in helpers:
                found.append(
                    Place(
                        call.lineno,
                        f"{name}() runs when the module is imported, and calls {helpers[name]}",
                    )
                )
    return sorted(found, key=lambda p: p.line)


def _is_mutable(value: ast.expr) -> bool:
    """A list, dict or set display or comprehension, or a call making a container."""
    return isinstance(value, _MUTABLE_LITERALS) or (
        isinstance(value, ast.Call) and dotted(value.func).split(".")[-1] in MUTABLE_CALLS
    )


def _mutable_globals(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        if value is not None and _is_mutable(value):
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _locals(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    arguments = function.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    bound = {a.arg for a in every}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    return bound


def _mutation(node: ast.AST, shared: set[str]) -> str | None:
    """The shared name ``node`` mutates, if it does."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        target = node.func.value
        if isinstance(target, ast.Name) and target.id in shared and node.func.attr in MUTATORS:
            return target.id
    if not isinstance(node, ast.Subscript) or not isinstance(node.ctx, ast.Store | ast.Del):
        return None
    if isinstance(node.value, ast.Name) and node.value.id in shared:
        return node.value.id
    return None


def _unset(test: ast.expr, name: str) -> bool:
    """``name is None`` or ``not name``."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return isinstance(test.operand, ast.Name) and test.operand.id == name
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == name
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Is)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    )


def _lazily_created(function: ast.FunctionDef | ast.AsyncFunctionDef, names: list[str]) -> bool:
    """Whether ``function`` only creates each of ``names`` once, when it is not set yet
    (``if _engine is None: _engine = create_engine(...)``): a lazy singleton, the way a
    client or engine is made on first use instead of at import, not state callers change."""
    guarded: set[int] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.If) and any(_unset(node.test, n) for n in names):
            guarded |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    assigned = [
        node
        for node in ast.walk(function)
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign)
        and any(
            isinstance(t, ast.Name) and t.id in names
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    ]
    # A container made on first use and then filled is shared state all the same.
    containers = any(node.value is not None and _is_mutable(node.value) for node in assigned)
    return bool(assigned) and not containers and all(id(node) in guarded for node in assigned)


def global_state(tree: ast.Module) -> list[Place]:
    """``global`` statements in functions (a lazily created singleton aside), and
    module-level containers functions mutate."""
    containers = _mutable_globals(tree)
    found: list[Place] = []
    seen: set[str] = set()
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for function in functions:
        declared: set[str] = set()
        for node in ast.walk(function):
            if isinstance(node, ast.Global):
                declared |= set(node.names)
                if _lazily_created(function, node.names):
                    continue
                found.append(
                    Place(
                        node.lineno,
                        f"global {', '.join(node.names)} in {function.name}(): state every "
                        "caller shares",
                    )
                )
        shared = (containers - _locals(function)) | (containers & declared)
        for node in ast.walk(function):
            name = _mutation(node, shared)
            if name and name not in seen:
                seen.add(name)
                found.append(
                    Place(
                        getattr(node, "lineno", function.lineno),
                        f"module-level {name} is mutated in {function.name}(): state every "
                        "caller shares",
                    )
                )
    return sorted(found, key=lambda p: p.line)
