"""Data flows one way, web → aggregator → models: every import in the source, nested ones
included, read from the files themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPOSITORY_ROOT

# What each layer must never import.
FORBIDDEN = {"models": {"aggregator", "web"}, "aggregator": {"web"}}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_the_one_above_it(layer: str) -> None:
    files = sorted((REPOSITORY_ROOT / layer).rglob("*.py"))
    assert files
    offenders = {
        str(path.relative_to(REPOSITORY_ROOT)): sorted(_imported_packages(path) & FORBIDDEN[layer])
        for path in files
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_the_check_sees_a_nested_import(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("def serve():\n    from web.app import create_app\n", encoding="utf-8")
    assert "web" in _imported_packages(module)
