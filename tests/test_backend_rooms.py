"""The backend in its own rooms: framework code only under `ganzoo/backend/`.

Static checks over the source (ast, nothing imported but `ganzoo.backend`):
* only `ganzoo/backend/*` imports tensorflow, jax or torch (imports inside
  functions count), except the short allow-list below;
* only `ganzoo/backend/*` asks `keras.backend.backend()`, except to record
  the backend's name in metadata;
* the three backend modules export the same names with the same signatures;
* importing `ganzoo.backend` imports the current backend's module only;
* no import cycles among ganzoo's modules (module-level imports).
"""

import ast
import pathlib
import sys

from conftest import BACKEND

ROOT = pathlib.Path(__file__).resolve().parent.parent / "ganzoo"
FRAMEWORKS = {"tensorflow", "jax", "jaxlib", "torch"}
BACKENDS = ("tensorflow", "jax", "torch")

# Framework imports outside ganzoo/backend/ that are not about the Keras backend:
# each reads a file format or feeds a tool that works whatever the backend is.
ALLOWED_IMPORTS = {
    # tf.data / tfds input pipelines: Keras's fit takes a tf.data.Dataset on every backend.
    ("data/images.py", "tensorflow"),
    ("data/paired.py", "tensorflow"),
    ("data/unpaired.py", "tensorflow"),
    ("data/superres.py", "tensorflow"),
    ("training.py", "tensorflow"),
    # TensorBoard image summaries (tf.summary), optional, beside any backend.
    ("callbacks.py", "tensorflow"),
    # Reading pytorch-fid's .pth weights (torch.load), on any backend.
    ("metrics/inception_weights.py", "torch"),
    # Reading official StyleGAN2 checkpoints (torch pickles), on any backend.
    ("convert/stylegan2.py", "torch"),
    # Reading the published pix2pix/CycleGAN and BigGAN-deep state dicts (torch.load(weights_only=True)).
    ("models/pix2pix/convert.py", "torch"),
    ("convert/biggan.py", "torch"),
    # The CLI imports TensorFlow once with its start-up INFO lines filtered, before Keras loads it.
    ("cli.py", "tensorflow"),
}

# Calls of keras.backend.backend() outside ganzoo/backend/: only to record the name.
ALLOWED_BACKEND_CALLS = {
    "presets.py",  # metadata.json
    "training.py",  # the run's metrics record, DataParallel's name
    "metrics/extractor.py",  # the FID protocol record
    "engine/preset_io.py",  # metadata.json
}


def _modules():
    """`{dotted name: (relative path, ast tree)}` of every module under ganzoo/."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        parts = ["ganzoo", *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = (rel.as_posix(), ast.parse(path.read_text(), str(path)))
    return out


MODULES = _modules()


def _imported(node, module):
    """The absolute module names an Import / ImportFrom node loads.

    `from package import name` loads `package.name` when that is a module
    (the package itself is already initialised or being so), else `package`.
    """
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:  # relative: resolve against this module's package
        package = module.split(".")
        is_package = MODULES[module][0].endswith("__init__.py")
        base = package[: len(package) - node.level + (1 if is_package else 0)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module
    return sorted({f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names})


def _module_level(tree):
    """Import nodes that run at import time (not inside functions; not under TYPE_CHECKING)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def test_only_the_backend_package_imports_a_framework():
    found = set()
    for rel, tree in MODULES.values():
        if rel.startswith("backend/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in FRAMEWORKS and (rel, top) not in ALLOWED_IMPORTS:
                    found.add(f"{rel}:{node.lineno} imports {name}")
    assert not found, "framework code outside ganzoo/backend/: " + "; ".join(sorted(found))


def _is_backend_call(node):
    # keras.backend.backend() and keras.config.backend()
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "backend"
        and ast.unparse(node.func.value) in ("keras.backend", "keras.config")
    )


def test_only_the_backend_package_asks_which_backend_runs():
    found = sorted(
        f"{rel}:{node.lineno}"
        for rel, tree in MODULES.values()
        if not rel.startswith("backend/") and rel not in ALLOWED_BACKEND_CALLS
        for node in ast.walk(tree)
        if _is_backend_call(node)
    )
    assert not found, f"keras.backend.backend() outside ganzoo/backend/: {found}"


def _public_api(name):
    """`{name: signature}` of ganzoo/backend/<name>.py for the names of `common.API`, from its source."""
    from ganzoo.backend import common

    rel, tree = MODULES[f"ganzoo.backend.{name}"]
    exported, defined = list(common.API), {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined[node.name] = ast.unparse(node.args) if isinstance(node, ast.FunctionDef) else "class"
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    defined[target.id] = "value"
    missing = [n for n in exported if n not in defined]
    assert not missing, f"{rel} exports undefined names {missing}"
    public = {n for n in defined if not n.startswith("_") and n != "API"}
    assert public == set(exported), f"{rel}: public names not in __all__: {sorted(public - set(exported))}"
    return {n: defined[n] for n in exported}


def test_backend_modules_expose_the_same_names_and_signatures():
    apis = {name: _public_api(name) for name in BACKENDS}
    reference = apis["tensorflow"]
    for name, api in apis.items():
        assert sorted(api) == sorted(reference), f"{name} differs: {set(api) ^ set(reference)}"
        for fn, signature in api.items():
            assert signature == reference[fn], f"{name}.{fn}({signature}) != tensorflow.{fn}({reference[fn]})"


def test_importing_the_backend_package_imports_only_the_current_backend():
    import ganzoo.backend as backend

    assert backend.NAME == BACKEND
    assert sorted(backend.__all__) == sorted(_public_api(BACKEND))
    for name in backend.__all__:
        assert getattr(backend, name) is getattr(sys.modules[f"ganzoo.backend.{BACKEND}"], name)
    for other in BACKENDS:
        if other != BACKEND:
            assert f"ganzoo.backend.{other}" not in sys.modules, other


def _graph():
    graph = {}
    for module, (_, tree) in MODULES.items():
        edges = set()
        for node in _module_level(tree):
            for name in _imported(node, module):
                if name in MODULES and name != module:
                    edges.add(name)
        graph[module] = edges
    return graph


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(frozenset(component))
    return out


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [frozenset("abc")]


def test_backend_and_distribute_are_in_no_cycle_even_through_lazy_imports():
    # Imports inside functions count here: distribute <-> engine/multiworker_tf was one.
    graph = {
        module: {
            name
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for name in _imported(node, module)
            if name in MODULES and name != module
        }
        for module, (_, tree) in MODULES.items()
    }
    for cycle in _cycles(graph):
        rooms = sorted(m for m in cycle if m == "ganzoo.distribute" or m.startswith("ganzoo.backend"))
        assert not rooms, f"{rooms} in the import cycle {sorted(cycle)}"


def test_no_import_cycles():
    cycles = [sorted(c) for c in _cycles(_graph())]
    assert not cycles, f"import cycles among ganzoo modules (module-level imports): {cycles}"
