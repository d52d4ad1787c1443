"""The layout's arrows point one way: no module imports a layer above its own.

Every ``import`` in ``pipeline/`` and ``detectors/`` is read with :mod:`ast` (function-level
and ``TYPE_CHECKING`` imports included, since a lazy import is still a dependency) and
checked against the layer order the README's "Layout" table gives.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Lower number = lower layer. A module may import its own layer and the layers below it;
# detection and operators are peers that import neither each other nor anything above.
FOUNDATION = 0
LAYERS = {
    "pipeline.exceptions": FOUNDATION,
    "pipeline.keys": FOUNDATION,
    "pipeline.audit": FOUNDATION,
    "pipeline.shipped": FOUNDATION,
    "pipeline.data": FOUNDATION,
    "pipeline.configs": FOUNDATION,
    "detectors": 1,
    "pipeline.detection": 2,
    "pipeline.operators": 2,
    "pipeline.core": 3,
    "pipeline.stream": 4,
    "pipeline.tools": 5,
    "pipeline.cli": 6,
}
# The package's public facade (``from pipeline import Engine``) and ``python -m pipeline``.
ENTRY_POINTS = {"pipeline", "pipeline.__main__"}


def layer_of(module: str) -> str | None:
    best = None
    for name in LAYERS:
        if (module == name or module.startswith(name + ".")) and (
            best is None or len(name) > len(best)
        ):
            best = name
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _targets(nodes: list[ast.stmt] | list[ast.AST], package: str) -> set[str]:
    """The modules ``nodes`` import (``from a import b`` counts ``a`` and ``a.b``)."""
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from pipeline.stream import metrics` imports the module pipeline.stream.metrics
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _package_of(path: Path, module: str) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports_of(path: Path, module: str) -> set[str]:
    """Every import of ``path``, lazy and TYPE_CHECKING ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = _targets(list(ast.walk(tree)), _package_of(path, module))
    return {m for m in found if m.split(".")[0] in {"pipeline", "detectors"}}


def sources() -> list[Path]:
    return sorted(p for d in ("pipeline", "detectors") for p in (ROOT / d).rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    missing = [
        module_name(p)
        for p in sources()
        if module_name(p) not in ENTRY_POINTS and layer_of(module_name(p)) is None
    ]
    assert missing == [], f"modules outside every layer (add them to LAYERS): {missing}"


def test_no_module_imports_a_layer_above_its_own() -> None:
    wrong = []
    for path in sources():
        module = module_name(path)
        if module in ENTRY_POINTS:
            continue
        own = layer_of(module)
        assert own is not None
        for target in imports_of(path, module):
            theirs = layer_of(target)
            if theirs is None:  # `pipeline` itself, or a name inside a module
                continue
            above = LAYERS[theirs] > LAYERS[own]
            peer = LAYERS[theirs] == LAYERS[own] and theirs != own and LAYERS[own] != FOUNDATION
            if above or peer:
                wrong.append(f"{module} ({own}) imports {target} ({theirs})")
    assert wrong == [], "\n".join(sorted(wrong))


def test_the_check_sees_a_wrong_arrow(tmp_path: Path) -> None:
    # The checker itself: an engine module importing the stream must be reported.
    path = tmp_path / "engine.py"
    path.write_text("from pipeline.stream.metrics import Health\nimport pipeline.cli.main\n")
    found = imports_of(path, "pipeline.core.engine")
    assert "pipeline.stream.metrics" in found and "pipeline.cli.main" in found
    assert LAYERS[layer_of("pipeline.stream.metrics") or ""] > LAYERS["pipeline.core"]


def _module_level_imports(path: Path, module: str, known: set[str]) -> set[str]:
    """Modules ``path`` imports when it is loaded (top-level statements only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = _targets(tree.body, _package_of(path, module))
    return {m for m in found if m in known and m != module}


def test_no_import_cycles() -> None:
    # A cycle is what the scanner, names and NER had (dodged with function-level imports).
    known = {module_name(p) for p in sources()}
    graph = {module_name(p): _module_level_imports(p, module_name(p), known) for p in sources()}
    # Packages' __init__ are not edges of their own modules' cycles: drop parent packages.
    for mod, deps in graph.items():
        graph[mod] = {d for d in deps if not mod.startswith(d + ".")}
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*stack[stack.index(dep):], dep]))
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == [], "\n".join(cycles)
