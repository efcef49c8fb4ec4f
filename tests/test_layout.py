"""The flow is the layout: no room imports a room downstream of it, and no modules import each other in a circle.

Every import counts, at the top of a file or inside a function (an import put off to run time still makes
the room depend on the other), read from the source with `ast`, so nothing is imported to check it.
"""
import ast
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "goodfit"

# The rooms of goodfit (its modules and packages), upstream first, in tiers: a room may import the rooms of
# the tiers before its own, never one of its own tier or after it. The history table sits before the engine:
# the engine hands back its members' curves as a `History`, and the history room knows nothing of training.
FLOW = [
    ("errors",),
    ("words", "atomic", "metrics"),  # the ground every room stands on: p-values, safe writes, metric directions
    ("data", "remedies"),
    ("grammar", "space"),  # how arms and the recipe's search space are spelled, from the remedies' registry
    ("history",),
    ("nn",),
    ("models", "augment"),
    ("engine",),
    ("runs", "executors", "store", "lint", "fit"),  # a run's folder, where units run, the study's store, model lints,
    # a member trained by the user's own function
    ("diagnose", "stats", "weights"),  # from a history, from seeds' scores, from a state dict: none needs another
    ("integrations", "causes"),  # live diagnosis in the user's loop; why it overfits (trains through the engine)
    ("study", "adapters"),  # adapters: a framework's training as a study's function
    ("recipe", "hf", "keras", "lightning"),  # goodfit.hf.fit and its kin: the adapters by their frameworks' names
    ("report",),
    ("cli",),
    ("__main__",),
]
TIER = {room: i for i, rooms in enumerate(FLOW) for room in rooms}


def _modules() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its own name)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()
HOMES = next(ast.literal_eval(node.value) for node in ast.parse((PACKAGE / "__init__.py").read_text()).body
             if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "_HOMES")


def _module_of(name: str) -> str | None:
    """The goodfit module an import of `name` loads: the longest dotted prefix that is one; None outside goodfit."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@cache
def _reexports(package: str) -> dict[str, str]:
    """The names a package's `__init__` imports from its own modules, by the module each comes from;
    for the package itself, the names of its lazy table (`goodfit._HOMES`)."""
    if package == "goodfit":
        return {name: _module_of(home) for name, home in HOMES.items()}
    found = {}
    for node in ast.parse(MODULES[package].read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(f"{package}."):
            found |= {a.asname or a.name: _module_of(node.module) for a in node.names}
    return found


def _imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every goodfit module the file imports, anywhere in it. A name imported from a package
    counts as an import of the module it lives in (`from goodfit.study import Study` imports `goodfit.study.plan`;
    `from goodfit import Study` too, through `goodfit._HOMES`); `goodfit.__version__` loads no module of its own."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, m) for a in node.names if (m := _module_of(a.name))]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (m := _module_of(node.module or "")):
            for a in node.names:
                target = (f"{m}.{a.name}" if f"{m}.{a.name}" in MODULES else
                          _reexports(m).get(a.name, None if m == "goodfit" else m))
                if target:
                    found.append((node.lineno, target))
    return found


def _room(module: str) -> str | None:
    """The room a module belongs to (`goodfit.study.plan` -> `study`); None for the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_room_has_its_place_in_the_flow():
    rooms = {_room(m) for m in MODULES} - {None}
    assert rooms - set(TIER) == set(), "place the new room in FLOW, after every room it imports"
    assert set(TIER) - rooms == set(), "a room in FLOW no longer exists"


def test_no_room_imports_a_room_downstream_of_it_or_beside_it():
    crossings = []
    for module, path in MODULES.items():
        here = _room(module)
        if here is None:
            continue
        for line, target in _imported(path):
            there = _room(target)
            if there is not None and there != here and TIER[there] >= TIER[here]:
                crossings.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({here}) imports {target} ({there})")
    assert not crossings, "\n".join(crossings)


def test_no_modules_import_each_other_round_a_circle():
    """A package's `__init__` importing its own modules (to re-export them, or to register cli's commands)
    aside, the imports form no circle."""
    edges = {m: {t for _, t in _imported(p) if t != m and not t.startswith(f"{m}.")} for m, p in MODULES.items()}
    circles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circles.append(" -> ".join(path[path.index(module):] + [module]))
            return
        if module in done:
            return
        for target in sorted(edges[module]):
            visit(target, path + [module])
        done.add(module)

    for module in sorted(MODULES):
        visit(module, [])
    assert not circles, "\n".join(circles)
