"""The dependency rules of docs/architecture.md, checked on the source (ast, no imports run)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_APPS = {"queueing", "crm", "reception", "feedback", "kpi"}
# app -> domain apps it may import (accounts and third-party code are always allowed)
ALLOWED = {
    "queueing": set(),
    "crm": set(),
    "reception": {"queueing", "crm"},
    "feedback": {"crm"},
    "kpi": {"queueing", "crm", "reception", "feedback"},
}
PURE_MODULES = [
    "queueing/routing.py",
    "queueing/eta.py",
    "queueing/states.py",
    "reception/triage.py",
    "feedback/policy.py",
    "kpi/metrics.py",
    "crm/personal_data.py",
]


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_it_keeps_dependencies_pointing_one_way(app):
    offending = []
    for path in (ROOT / app).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        wrong = (imported_top_levels(path) & DOMAIN_APPS) - ALLOWED[app] - {app}
        if wrong:
            offending.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert not offending, "\n".join(offending)


@pytest.mark.parametrize("module", PURE_MODULES)
def test_it_keeps_pure_logic_free_of_the_orm(module):
    imported = imported_top_levels(ROOT / module)
    # gettext for labels is fine; models, the ORM and other apps are not.
    assert not (imported & DOMAIN_APPS - {module.split("/")[0]} - {"queueing"})
    source = (ROOT / module).read_text(encoding="utf-8")
    assert "django.db" not in source and ".models import" not in source
