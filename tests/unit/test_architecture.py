"""Dependencies point one way, read from the imports themselves.

    cli ──> api ──> workers ──> ingest ──> cognition (the core) ──> cognee (in cognition/store only)

Each package may import those to its right, never those to its left; ``bench`` may import any
shipped package, and no package imports ``tests``.

In detail: the core imports no entry point, web framework or queue; only the store adapter
imports cognee; FastAPI lives in ``api`` and Arq in ``workers`` (``cli`` may start them from inside
a function); nothing imports the tests. A package that does not exist yet (``api``) passes
vacuously and is checked from the day it appears. Each rule is shown to catch a violating
import in a synthetic package, so a rule cannot silently stop checking anything.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("cognition", "ingest", "workers", "api", "cli")
PACKAGES = (*SHIPPED, "bench")
MAX_LINES = 400
_DYNAMIC = ("import_module", "__import__", "find_spec")


class Import(NamedTuple):
    module: str
    lazy: bool  # inside a function or an ``if TYPE_CHECKING:`` block: not run on import


@dataclass(frozen=True)
class Rule:
    """Modules under ``where`` (but not under ``exempt``) import nothing in ``forbidden``;
    in the ``lazy_ok`` packages, imports inside functions are allowed."""

    name: str
    where: tuple[str, ...]
    forbidden: tuple[str, ...]
    exempt: tuple[str, ...] = ()
    lazy_ok: tuple[str, ...] = ()


WEB = ("fastapi", "starlette", "uvicorn")
RULES = (
    Rule("core-is-independent", ("cognition",), ("ingest", "workers", "api", "cli", "bench", *WEB, "arq")),
    Rule("only-the-store-imports-cognee", PACKAGES, ("cognee",), exempt=("cognition/store",)),
    Rule("only-the-neo4j-store-imports-neo4j", PACKAGES, ("neo4j",), exempt=("cognition/store/neo4j",)),
    Rule("ingest-imports-no-entry-point", ("ingest",), ("workers", "api", "cli")),
    Rule("workers-import-no-api-or-cli", ("workers",), ("api", "cli")),
    Rule("api-imports-no-cli", ("api",), ("cli",)),
    Rule("web-framework-only-in-api", PACKAGES, WEB, exempt=("api",), lazy_ok=("cli",)),
    Rule("arq-only-in-workers", PACKAGES, ("arq",), exempt=("workers",), lazy_ok=("cli",)),
    Rule("shipped-code-imports-no-benchmark", SHIPPED, ("bench",)),
    # The Gemini SDK stays behind the provider ports and the governor (which reads its errors);
    # ``google`` itself is named because ``from google import genai`` imports it by that name.
    Rule(
        "genai-only-in-providers",
        PACKAGES,
        ("google.genai", "google"),
        exempt=("cognition/embedding/gemini.py", "cognition/extract/gemini.py", "cognition/governor"),
    ),
    Rule("nothing-imports-the-tests", PACKAGES, ("tests",)),
    # The Postgres driver stays behind the ledger's connections (one module), and the test cluster.
    Rule(
        "psycopg-only-in-postgres-db",
        PACKAGES,
        ("psycopg",),
        exempt=("cognition/postgres_db.py", "bench/postgres_server.py"),
    ),
)

# Modules over MAX_LINES today (none: add one only with a reason).
KNOWN_OVERSIZED: set[str] = set()


# --------------------------------------------------------------------------- the scanner


def _imports(path: Path) -> set[Import]:
    """Every module a file imports: top-level, inside functions, and by a constant name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[Import] = set()
    _collect(tree, lazy=False, found=found)
    return found


def _collect(node: ast.AST, lazy: bool, found: set[Import]) -> None:
    for child in ast.iter_child_nodes(node):
        inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        inner = inner or _is_type_checking_block(child)
        found.update(Import(module, inner) for module in _named_modules(child))
        _collect(child, inner, found)


def _named_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    if isinstance(node, ast.Call) and _called_name(node.func) in _DYNAMIC and node.args:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return [first.value]
    return []


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and _called_name(node.test) == "TYPE_CHECKING"


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _imported_modules(path: Path) -> set[str]:
    return {found.module for found in _imports(path)}


def _modules(root: Path, packages: tuple[str, ...]) -> list[Path]:
    """The Python files of ``packages`` under ``root``; a missing package has none."""
    return sorted(path for package in packages for path in (root / package).rglob("*.py"))


def _under(relative: str, prefixes: tuple[str, ...]) -> bool:
    return any(relative == p or relative.startswith(p + "/") for p in prefixes)


def _matches(module: str, forbidden: tuple[str, ...]) -> bool:
    return any(module == f or module.startswith(f + ".") for f in forbidden)


def violations(root: Path, rule: Rule) -> set[str]:
    """``"<file> imports <module>"`` for every import under ``root`` that breaks ``rule``."""
    found = set()
    for path in _modules(root, rule.where):
        relative = path.relative_to(root).as_posix()
        if _under(relative, rule.exempt):
            continue
        lazy_ok = _under(relative, rule.lazy_ok)
        for module, lazy in _imports(path):
            if _matches(module, rule.forbidden) and not (lazy and lazy_ok):
                found.add(f"{relative} imports {module}")
    return found


def oversized(root: Path, limit: int = MAX_LINES) -> dict[str, int]:
    """Modules of the packages longer than ``limit`` lines, with their length."""
    lengths = {
        path.relative_to(root).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in _modules(root, PACKAGES)
    }
    return {name: lines for name, lines in lengths.items() if lines > limit}


# --------------------------------------------------------------------------- the rules, on this repository


def test_the_scan_covers_every_existing_package() -> None:
    for package in PACKAGES:
        if (ROOT / package).is_dir():
            assert _modules(ROOT, (package,)), package
    assert len(_modules(ROOT, ("cognition",))) >= 15


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_rule_holds(rule: Rule) -> None:
    found = violations(ROOT, rule)

    assert not found, sorted(found)


def test_modules_over_the_size_limit_are_the_known_ones() -> None:
    found = oversized(ROOT)
    print(f"modules over {MAX_LINES} lines: {found}")

    assert set(found) == KNOWN_OVERSIZED, found


# --------------------------------------------------------------------------- the checker catches violations


def _tree(root: Path, files: dict[str, str]) -> Path:
    """A synthetic repository: each file with its source, every folder a package."""
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(root).parents:
            (root / folder / "__init__.py").touch()
        path.write_text(source, encoding="utf-8")
    return root


def _rule(name: str) -> Rule:
    return next(rule for rule in RULES if rule.name == name)


# One violating file per rule; a new rule without an example fails the coverage test below.
VIOLATIONS = {
    "core-is-independent": ("cognition/search.py", "from ingest.importer import Importer\n"),
    "only-the-store-imports-cognee": (
        "cognition/embedding/local.py",
        "def install():\n    import cognee.infrastructure\n",
    ),
    "only-the-neo4j-store-imports-neo4j": ("cognition/audit/checks.py", "from neo4j import AsyncDriver\n"),
    "ingest-imports-no-entry-point": ("ingest/pdf.py", "from workers.queue import enqueue\n"),
    "workers-import-no-api-or-cli": ("workers/tasks.py", "import api.app\n"),
    "api-imports-no-cli": ("api/routes.py", "from cli.main import app\n"),
    "web-framework-only-in-api": ("workers/run.py", "from starlette.requests import Request\n"),
    "arq-only-in-workers": ("cli/main.py", "from arq import create_pool\n"),
    "shipped-code-imports-no-benchmark": ("ingest/importer.py", "import bench.ingest\n"),
    "genai-only-in-providers": ("ingest/importer.py", "from google import genai\n"),
    "nothing-imports-the-tests": ("bench/queue.py", "from tests.helpers import BENCH\n"),
    "psycopg-only-in-postgres-db": ("cognition/ledger/postgres.py", "import psycopg\n"),
}


def test_every_rule_has_a_violating_example() -> None:
    assert set(VIOLATIONS) == {rule.name for rule in RULES}


@pytest.mark.parametrize("name", sorted(VIOLATIONS))
def test_a_violating_import_is_reported(name: str, tmp_path: Path) -> None:
    path, source = VIOLATIONS[name]
    root = _tree(tmp_path, {path: source, "cognition/settings.py": "import pydantic\n"})

    found = violations(root, _rule(name))

    assert len(found) == 1
    assert found.pop().startswith(f"{path} imports ")


@pytest.mark.parametrize(
    ("name", "path", "source"),
    [
        ("only-the-store-imports-cognee", "cognition/store/adapter.py", "import cognee\n"),
        ("only-the-neo4j-store-imports-neo4j", "cognition/store/neo4j/schema.py", "import neo4j\n"),
        ("web-framework-only-in-api", "api/app.py", "from fastapi import FastAPI\n"),
        ("web-framework-only-in-api", "cli/main.py", "def serve():\n    import uvicorn\n"),
        ("arq-only-in-workers", "workers/queue.py", "from arq import create_pool\n"),
        ("arq-only-in-workers", "cli/main.py", "async def work():\n    from arq import Worker\n"),
        ("ingest-imports-no-entry-point", "ingest/pdf.py", "import cognition.errors\nimport pypdf\n"),
        ("core-is-independent", "cognition/gate.py", "import cognition.errors\n"),
    ],
)
def test_an_allowed_import_is_not_reported(name: str, path: str, source: str, tmp_path: Path) -> None:
    assert violations(_tree(tmp_path, {path: source}), _rule(name)) == set()


def test_a_lazy_import_counts_outside_the_packages_allowed_to_be_lazy(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"ingest/service.py": "def run():\n    import arq.worker\n"})

    assert violations(root, _rule("arq-only-in-workers")) == {"ingest/service.py imports arq.worker"}


def test_an_import_by_name_counts(tmp_path: Path) -> None:
    source = "import importlib\n\ndef load():\n    return importlib.import_module('cognee.modules')\n"
    root = _tree(tmp_path, {"ingest/loader.py": source})

    assert violations(root, _rule("only-the-store-imports-cognee")) == {
        "ingest/loader.py imports cognee.modules"
    }


def test_a_package_that_appears_is_checked(tmp_path: Path) -> None:
    rule = _rule("api-imports-no-cli")
    assert violations(_tree(tmp_path, {"cognition/errors.py": ""}), rule) == set()  # no api yet

    _tree(tmp_path, {"api/deps.py": "import cli.progress\n"})

    assert violations(tmp_path, rule) == {"api/deps.py imports cli.progress"}


def test_a_name_that_only_starts_like_a_forbidden_one_is_allowed(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"cognition/x.py": "import apis_client\nimport clint\nimport arrow\n"})

    assert violations(root, _rule("core-is-independent")) == set()


def test_the_scanner_tells_lazy_imports_from_top_level_ones(tmp_path: Path) -> None:
    source = """\
from typing import TYPE_CHECKING
import os
from cognition.errors import CognitionError

if TYPE_CHECKING:
    from ingest.ledger import Ledger


def load() -> None:
    import cognee.modules
    __import__("fastapi")


handler = lambda: __import__("arq")
"""
    path = _tree(tmp_path, {"cli/main.py": source}) / "cli" / "main.py"

    assert _imports(path) == {
        Import("typing", False),
        Import("os", False),
        Import("cognition.errors", False),
        Import("ingest.ledger", True),
        Import("cognee.modules", True),
        Import("fastapi", True),
        Import("arq", True),
    }


def test_the_size_rule_reports_long_modules(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "ingest/long.py": "x = 1\n" * (MAX_LINES + 1),
            "ingest/at_limit.py": "x = 1\n" * MAX_LINES,
            "tests/huge.py": "x = 1\n" * 1000,
        },
    )

    assert oversized(root) == {"ingest/long.py": MAX_LINES + 1}
