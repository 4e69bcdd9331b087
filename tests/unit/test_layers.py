"""Imports point down the layers of DESIGN.md (a short AST check instead of an import-linter config)."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "src" / "tokenfall"
# cost sits with the adapters, below the capabilities: it is arithmetic over a price and measured rates that both
# bench (a run's $/M) and estimate (a roofline's $/M) need, and L3 siblings may not import each other
LAYER = {"types": 0, "errors": 0, "__init__": 0, "registry": 1, "store": 1, "spawn": 1, "fingerprint": 1, "loop": 1, "files": 1, "progress": 1,
         "mockserver": 2, "models": 2, "engines": 2, "workloads": 2, "cost": 2,
         "bench": 3, "quality": 3, "levers": 3, "market": 3, "estimate": 3, "ttc": 3, "routing": 3,
         "optimize": 4, "report": 4, "api": 4, "cli": 5, "__main__": 5}
NEVER = {("optimize", "api"), ("report", "api"), ("optimize", "report")}  # L4 rooms that reach capabilities directly


def _unit(path: Path) -> str:
    return path.relative_to(PKG).with_suffix("").parts[0]


def _imported(node) -> list[str]:
    """The tokenfall units an import statement names: `from tokenfall.x import y`, `from tokenfall import x`, `import tokenfall.x`."""
    if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tokenfall":
        parts = node.module.split(".")
        return [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
    if isinstance(node, ast.Import):
        return [a.name.split(".")[1] for a in node.names if a.name.startswith("tokenfall.")]
    return []


def test_every_unit_has_a_layer():
    units = {_unit(f) for f in PKG.rglob("*.py")}
    assert units <= set(LAYER), units - set(LAYER)


def test_imports_point_down_and_siblings_at_layer_3_stay_apart():
    bad = []
    for f in PKG.rglob("*.py"):
        me = _unit(f)
        for node in ast.walk(ast.parse(f.read_text())):
            for other in _imported(node):
                if other not in LAYER or other == me or other == "__version__":
                    continue
                if LAYER[other] > LAYER[me] or LAYER[other] == LAYER[me] == 3 or (me, other) in NEVER:
                    bad.append(f"{f.relative_to(PKG)} imports {other}")
    assert not bad, bad


def test_the_check_sees_plain_imports():
    tree = ast.parse("import tokenfall.cli\nimport os\nfrom tokenfall import api, types\nfrom tokenfall.bench.job import run\n")
    assert [u for n in ast.walk(tree) for u in _imported(n)] == ["cli", "api", "types", "bench"]
