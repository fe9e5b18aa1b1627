"""The package layout keeps one direction: what each package may import, checked over every
import in agentcal (also those inside functions; not those under `if TYPE_CHECKING:`), and no
import cycle between modules. The README's Development section draws the same rules."""

from __future__ import annotations

import ast
from pathlib import Path

import agentcal

ROOT = Path(agentcal.__file__).parent

# The store, settings and shared helpers: top-level modules and `otel`. They import nothing above.
FOUNDATION = {
    "",  # agentcal/__init__.py
    "basics",
    "db",
    "errors",
    "files",
    "log_setup",
    "masking",
    "models",
    "otel",
    "quick_settings",
    "reader",
    "schema",
    "records",
    "service",
    "settings",
    "settings_paths",
    "storecheck",
    "timeparse",
    "user_files",
    "validation",
    "vocab",
    "writer",
}
# Top to bottom, as in the README: a package imports only packages below it (and itself).
LAYERS = [
    {"__main__", "services"},  # the entry point; the seed's names (agentcal never imports them)
    {"cli"},
    {"mcp"},
    {"agent"},
    {"workers"},
    {"insights"},
    {"planning"},
    {"health"},
    {"observability"},
    {"users"},
    {"queue"},
    {"calendars"},
    {"foundation"},
]
ALLOWED = {
    package: set().union(*LAYERS[i + 1 :]) for i, layer in enumerate(LAYERS) for package in layer
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = ["agentcal", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The agentcal modules `name` imports (a package's submodule when it names one)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            # `from package import module` names the module; other names come from `base`.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names
            ]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target.startswith("agentcal") and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _package(module: str) -> str:
    top = module.split(".")[1] if "." in module else ""
    return "foundation" if top in FOUNDATION else top


def test_every_package_has_a_rule():
    packages = {_package(m) for m in _graph()}
    assert packages == set(ALLOWED), "add the new package to ALLOWED and to the README diagram"


def test_packages_import_in_one_direction():
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if _package(target) not in {_package(module), "foundation", *ALLOWED[_package(module)]}
    )
    assert not wrong, "imports against the layering (README, Development):\n" + "\n".join(wrong)


def test_no_import_cycle_between_modules():
    graph = _graph()
    cycles = {frozenset(c) for c in _strongly_connected(graph) if len(c) > 1}
    assert cycles == set(), f"import cycles: {[sorted(c) for c in cycles]}"


def test_the_seed_names_still_import():
    from agentcal.insights.user_insights import user_insights_service as insights
    from agentcal.observability.calls import agent_observability_service as calls
    from agentcal.planning.emitter import calendar_event_emitter as emitter
    from agentcal.services.agent_observability import agent_observability_service
    from agentcal.services.calendar_event_emitter import calendar_event_emitter
    from agentcal.services.user_insights import user_insights_service

    assert agent_observability_service is calls
    assert user_insights_service is insights
    assert calendar_event_emitter is emitter


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(component)
    return out
