"""The import graph of cortex_sim: no circle, and no upward import.

Every ``import`` statement of every module counts, at module level or inside a function (a lazy
import is still a dependency). A module importing its own parent package (``from .. import x``
from inside it) is not an edge. Layers, lowest first: the simulator core (errors, params, cache,
devices, inputs, models, plasticity, networks, protocols, bench), then the engines and studies
(learning, sweeps), then the command line (cli). A lower layer never imports a higher one: no
protocol imports the sweep engine (``sweep_pairing`` lives in cortex_sim.sweeps), only
``__main__`` imports the CLI.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cortex_sim"


def _modules():
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _graph():
    mods = _modules()
    graph = {m: set() for m in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(max(node.level - 1, 0)):
                    base = base.rsplit(".", 1)[0]
                target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
                found = [f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target for a in node.names]
            elif isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            else:
                continue
            graph[name] |= {t for t in found if t in mods and t != name and not name.startswith(t + ".")}
    return graph


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _layer(module):
    if module in ("cortex_sim", "cortex_sim.__main__"):
        return 3
    if module.startswith("cortex_sim.cli"):
        return 2
    if module.startswith(("cortex_sim.learning", "cortex_sim.sweeps")):
        return 1
    return 0


def test_the_graph_sees_module_level_and_lazy_imports():
    graph = _graph()
    assert "cortex_sim.sweeps.engine" in graph["cortex_sim.sweeps.jobs"]           # at module level
    assert "cortex_sim.protocols.pairing" in graph["cortex_sim.sweeps.jobs"]       # inside functions only
    assert "cortex_sim.cache" in graph["cortex_sim.devices"] and len(graph) > 40
    # and the checks below would see a circle or an upward import
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert _layer("cortex_sim.protocols.pairing") < _layer("cortex_sim.sweeps.engine") < _layer("cortex_sim.cli")


def test_no_import_circle():
    assert _cycles(_graph()) == []


def test_no_upward_import():
    upward = sorted((a, b) for a, targets in _graph().items() for b in targets if _layer(b) > _layer(a))
    assert upward == []


def test_no_module_reaches_into_another_modules_private_names():
    """``from X import _name`` across modules would tie a module to another's insides (as the sweep
    jobs once imported the pairing protocol's private builders). Private *modules* (``_files``,
    ``_choices``, ``cli._options``) are shared helpers of their package and may be imported."""
    offenders = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("cortex_sim")):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if private and not (node.module or "").split(".")[-1].startswith("_"):
                    offenders.append(f"{name}: from {'.' * node.level}{node.module or ''} import {', '.join(private)}")
    assert not offenders, offenders
