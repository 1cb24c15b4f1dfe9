"""The layers of docs/architecture.md: every import (lazy ones inside functions too) points
down the list, and no two mediamix modules import each other in a cycle."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "mediamix"

# bottom -> top; a module may import its own layer or any layer below it
LAYERS = [
    ["mediamix", "mediamix.errors", "mediamix.jsonable", "mediamix.yamlio", "mediamix.schemas",
     "mediamix.devices"],
    ["mediamix.transforms"],
    ["mediamix.data"],
    ["mediamix.optimize"],
    ["mediamix.runs.layout"],
    ["mediamix.model"],
    ["mediamix.inference"],
    ["mediamix.analysis"],
    ["mediamix.report.figures", "mediamix.report.plot", "mediamix.report.png"],
    ["mediamix.estimator"],
    ["mediamix.runs"],
    ["mediamix.loop", "mediamix.fleet", "mediamix.validation"],
    ["mediamix.rtb"],
    ["mediamix.report"],
    ["mediamix.app"],
    ["mediamix.cli"],
]  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> int:
    best, depth = None, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and name.count(".") > depth:
                best, depth = i, name.count(".")
    assert best is not None, f"{module} is in no layer; add it to LAYERS and the docs"
    return best


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The mediamix modules ``path`` imports (at module level or inside functions)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            # `from pkg import sub` names the submodule; `from pkg import func`, the package
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in modules:  # `from pkg import name` may name a function
                name = name.rpartition(".")[0]
            if name and name != me and name != "mediamix":
                out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PKG.rglob("*.py") if "migrations" not in p.parts}
    mods = set(files)
    return {m: imports_of(p, mods) for m, p in files.items()}


def test_every_import_points_down_the_layers():
    wrong = []
    for mod, deps in sorted(graph().items()):
        for dep in sorted(deps):
            if layer_of(dep) > layer_of(mod):
                wrong.append(f"{mod} (layer {layer_of(mod)}) imports {dep} (layer {layer_of(dep)})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    g = graph()
    # a package's __init__ importing its own submodules is how packages export names
    edges = {m: {d for d in ds if not d.startswith(m + ".")} for m, ds in g.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep) :] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize(
    "code",
    [
        "import os, mediamix.model, mediamix.optimize; assert 'XLA_FLAGS' not in os.environ",
        "import sys, mediamix.optimize; assert 'jax' not in sys.modules, 'optimize imports JAX'",
        "import sys, mediamix.model, mediamix.data; assert 'jax' not in sys.modules",
    ],
)
def test_imports_have_no_side_effects(code):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
