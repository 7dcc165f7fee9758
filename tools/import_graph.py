"""kd_tf's import graph, read from the sources with `ast` (nothing is
imported): which kd_tf modules each file imports, and what each BUILD file
declares. tools/update_build_files.py writes kd_tf's BUILD files from it;
tests/layering_test.py checks the code against it.

Modules are named by path relative to the workspace, without ".py"
("kd_tf/data/catalog", "kd_tf/data/__init__").
"""

import ast
import dataclasses
import os

PACKAGE = "kd_tf"


@dataclasses.dataclass(frozen=True)
class Import:
    module: str  # e.g. "kd_tf/data/catalog"
    names: tuple  # names taken from it with `from ... import`
    lazy: bool  # inside a function of a package's __init__.py (PEP 562 __getattr__)
    line: int


def module_of(root, dotted):
    """The module a dotted name refers to: "kd_tf.data" -> "kd_tf/data/__init__",
    "kd_tf.data.catalog" -> "kd_tf/data/catalog"; None if neither exists."""
    path = dotted.replace(".", "/")
    if os.path.isfile(os.path.join(root, path + ".py")):
        return path
    if os.path.isfile(os.path.join(root, path, "__init__.py")):
        return path + "/__init__"
    return None


def imports(root, module):
    """The kd_tf modules `module` imports, with where and how."""
    with open(os.path.join(root, module + ".py")) as f:
        tree = ast.parse(f.read(), module)
    is_init = module.endswith("/__init__")
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        target = module_of(root, alias.name)
                        found.append(Import(target or alias.name, (), is_init and in_function, child.lineno))
            elif isinstance(child, ast.ImportFrom) and child.module and child.module.split(".")[0] == PACKAGE:
                base = module_of(root, child.module)
                for alias in child.names:
                    sub = module_of(root, f"{child.module}.{alias.name}")  # `from package import module`
                    if sub:
                        found.append(Import(sub, (), is_init and in_function, child.lineno))
                    else:  # `from module import name`
                        found.append(Import(base or child.module, (alias.name,), is_init and in_function,
                                            child.lineno))
            visit(child, inner)

    visit(tree, False)
    return found


def modules(root, top=PACKAGE):
    """Every module under `top`, sorted."""
    out = []
    for directory, _, files in os.walk(os.path.join(root, top)):
        if "__pycache__" in directory:
            continue
        for name in files:
            if name.endswith(".py"):
                out.append(os.path.relpath(os.path.join(directory, name[:-3]), root))
    return sorted(out)


def label(module):
    """The Bazel target of a kd_tf module: one py_library per module, named after it."""
    package, name = module.rsplit("/", 1)
    return f"//{package}:{name}"


def init_of(module):
    """The package __init__ a module's import runs first (None for the top package's own)."""
    package = module.rsplit("/", 1)[0]
    own = package + "/__init__"
    if module != own:
        return own
    parent = package.rsplit("/", 1)[0] if "/" in package else None
    return parent + "/__init__" if parent else None


def required_deps(root, module):
    """The targets `module`'s py_library must depend on: its package's
    __init__, and every kd_tf module it imports (a lazy import in a package
    __init__ is a soft dependency, not declared)."""
    deps = set()
    parent = init_of(module)
    if parent:
        deps.add(label(parent))
    for imp in imports(root, module):
        if not imp.lazy and imp.module.startswith(PACKAGE + "/") and imp.module != module:
            deps.add(label(imp.module))
    return deps


def read_build_file(path):
    """{target name: {"srcs": [...], "deps": [...], "kind": rule}} of a BUILD
    file, evaluated with stand-ins for the native rules it uses."""
    targets = {}

    def rule(kind):
        def define(name, srcs=(), deps=(), **kwargs):
            targets[name] = {"kind": kind, "srcs": list(srcs), "deps": list(deps), **kwargs}
        return define

    env = {kind: rule(kind) for kind in ("py_library", "py_binary", "py_test", "filegroup")}
    env.update(package=lambda **kwargs: None, exports_files=lambda *args, **kwargs: None,
               glob=lambda *args, **kwargs: [])
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), env)  # noqa: S102  BUILD files are Starlark, a Python subset
    return targets


def cycles(graph):
    """The strongly connected components of more than one node (or a self
    loop) of {node: set of nodes}: the import circles."""
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def strongconnect(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                strongconnect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return result


def _tree(root, module):
    with open(os.path.join(root, module + ".py")) as f:
        return ast.parse(f.read(), module)


def third_party_imports(root, module):
    """Top-level names a module imports when it is loaded (imports inside
    functions are left out: they run later), other than kd_tf's own."""
    names = []
    for node in _tree(root, module).body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return [n for n in names if n.split(".")[0] != PACKAGE]


def private_attribute_uses(root, module):
    """(line, "alias._name") where a kd_tf module bound to `alias` has a
    private attribute read: e.g. `pipeline._key` after `from kd_tf.data import pipeline`."""
    tree = _tree(root, module)
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname for a in node.names if a.asname and a.name.startswith(PACKAGE + ".")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            aliases |= {a.asname or a.name for a in node.names if module_of(root, f"{node.module}.{a.name}")}
    return [(node.lineno, f"{node.value.id}.{node.attr}") for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
            and node.attr.startswith("_") and not node.attr.startswith("__")]
