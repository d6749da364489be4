"""The layer arrows of STYLE.md: dags -> evidence_store -> forensics, never backwards."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "forensics": {"airflow", "sqlalchemy", "alembic", "evidence_store", "dags", "plugins"},
    "evidence_store": {"airflow", "dags", "plugins", "dfvfs", "pytsk3", "pyewf", "magic", "yara"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_packages_only_import_downwards():
    violations = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            bad = _imports(path) & forbidden
            if bad:
                violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert violations == []


LIGHT = {"evidence_store.stages.registry"}     # what a DAG file may import at parse time


def test_dags_do_no_heavy_imports_at_top_level():
    for path in sorted((ROOT / "dags").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                top.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                top.add(node.module)
        heavy = {name for name in top - LIGHT if name.split(".")[0] in
                 {"forensics", "evidence_store", "dfvfs", "pytsk3", "sqlalchemy"}}
        assert not heavy, path.name


def test_the_registry_the_dag_imports_is_light():
    """Importing the stage registry pulls in no database, evidence or processing library."""
    import subprocess
    import sys

    code = ("import sys, evidence_store.stages.registry; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'dfvfs', 'pytsk3', 'forensics', 'yara', 'magic', 'weasyprint', 'fastapi')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "[]"
