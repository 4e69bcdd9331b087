"""Imports point down the layers of DESIGN.md (a short AST check instead of an import-linter config)."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "src" / "tokenfall"
LAYER = {"types": 0, "errors": 0, "registry": 1, "store": 1, "fingerprint": 1, "loop": 1, "files": 1, "mockserver": 2, "models": 2,
         "engines": 2, "workloads": 2, "bench": 3, "cost": 3, "quality": 3, "levers": 3, "market": 3, "estimate": 3, "optimize": 4, "report": 4, "api": 4, "cli": 5, "__main__": 5, "__init__": 0}


def _unit(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    return rel.parts[0]


def test_imports_point_down_and_siblings_at_layer_3_stay_apart():
    bad = []
    for f in PKG.rglob("*.py"):
        me = _unit(f)
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tokenfall"):
                parts = node.module.split(".")
                names = [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
                for other in names:
                    if other not in LAYER or other == me or other == "__version__":
                        continue
                    up = LAYER[other] > LAYER[me]
                    sibling = LAYER[other] == LAYER[me] == 3
                    if up or sibling:
                        bad.append(f"{f.relative_to(PKG)} imports {other}")
    assert not bad, bad
