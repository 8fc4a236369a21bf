"""Dependencies point one way: the core package imports none of the entry points."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "cognition"
FORBIDDEN = ("fastapi", "starlette", "arq", "ingest", "cli", "workers", "api")
_DYNAMIC = ("import_module", "__import__", "find_spec")


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports: top-level, inside functions, and by a constant name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Call) and _called_name(node.func) in _DYNAMIC and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def test_the_scan_sees_imports_inside_functions_and_by_name() -> None:
    store = _imported_modules(CORE / "store" / "cognee" / "store.py")
    engine = _imported_modules(CORE / "store" / "cognee" / "embedding.py")

    assert "cognee.modules.pipelines.tasks.task" in store  # imported inside a method
    assert "cognee.infrastructure.databases.vector.embeddings.get_embedding_engine" in engine  # import_module


def test_core_imports_no_web_framework_queue_or_entry_point() -> None:
    modules = sorted(CORE.rglob("*.py"))
    offenders = sorted(
        f"{path.relative_to(CORE.parent)} imports {module}"
        for path in modules
        for module in _imported_modules(path)
        if module.split(".")[0] in FORBIDDEN
    )

    assert len(modules) >= 15
    assert not offenders, offenders
