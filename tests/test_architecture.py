"""The dependency rules of docs/architecture.md, checked on the source as a reader sees it.

Three ways one app can depend on another, all checked:
* an import (`from reception.models import Visit`),
* an ORM path through another app's relation, written as a string or a keyword
  (`Customer.objects.filter(visits__branch=...)` reaches reception's Visit without importing it),
* for the pure modules, any import of the ORM or of a models module.
"""

import ast
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_APPS = {"queueing", "crm", "reception", "feedback", "kpi", "quality"}
# app -> domain apps it may depend on (third-party code is always allowed). accounts is the
# foundation every app may use; it uses none of them.
ALLOWED = {
    "accounts": set(),
    "queueing": set(),
    "crm": set(),
    # reception sends SMS through feedback's gateway (feedback.sms only: see the test below).
    "reception": {"queueing", "crm", "feedback"},
    "feedback": {"crm", "queueing"},
    "kpi": {"queueing", "crm", "reception", "feedback"},
    # quality reads the others through their selectors only (test below); none imports it.
    "quality": {"queueing", "crm", "reception", "feedback", "kpi"},
}
PURE_MODULES = [
    "queueing/routing.py",
    "queueing/eta.py",
    "queueing/states.py",
    "queueing/remote.py",
    "reception/triage.py",
    "reception/alerts.py",
    "reception/prefill.py",
    "reception/slots.py",
    "reception/controls.py",
    "feedback/policy.py",
    "feedback/pad_rules.py",
    "feedback/metrics.py",
    "kpi/metrics.py",
    "crm/personal_data.py",
    "crm/deadlines.py",
    "crm/complaint_flow.py",
    "crm/rules.py",
    "crm/timeline.py",
    "quality/scoring.py",
    "quality/search.py",
]
ORM_PATH_METHODS = {
    "select_related",
    "prefetch_related",
    "values",
    "values_list",
    "only",
    "defer",
    "order_by",
    "F",
    "Count",
    "Sum",
    "Max",
    "Min",
    "Avg",
    "Exists",
    "OuterRef",
}


def source_files(app: str):
    for path in (ROOT / app).rglob("*.py"):
        if "migrations" not in path.parts:
            yield path


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names.add("." * node.level + module)
            names |= {f"{'.' * node.level}{module}.{alias.name}" for alias in node.names}
    return names


def foreign_accessors(app: str) -> dict[str, str]:
    """Reverse-relation names on this app's models (and accounts') that lead into a domain app
    `app` may not depend on: {"visits": "reception", ...}."""
    forbidden = DOMAIN_APPS - ALLOWED[app] - {app}
    accessors: dict[str, str] = {}
    for model in apps.get_models():
        if model._meta.app_label not in {app, "accounts"}:
            continue
        for relation in model._meta.related_objects:
            owner = relation.related_model._meta.app_label
            if owner in forbidden:
                accessors[relation.get_accessor_name()] = owner
                accessors[relation.field.related_query_name()] = owner
    return accessors


def orm_paths(tree: ast.AST):
    """(line, path) for every keyword argument with '__', every string constant with '__', and
    every string given to an ORM method that takes field paths."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg and "__" in node.arg:
            yield node.value.lineno, node.arg
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "__" in node.value
            and " " not in node.value
            and not node.value.startswith("_")
        ):
            yield node.lineno, node.value
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ORM_PATH_METHODS:
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        yield arg.lineno, arg.value
                for keyword in node.keywords:
                    if keyword.arg:
                        yield keyword.value.lineno, keyword.arg


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_it_keeps_imports_pointing_one_way(app):
    offending = []
    for path in source_files(app):
        imported = {name.split(".")[0] for name in imported_modules(ast.parse(path.read_text()))}
        wrong = (imported & DOMAIN_APPS) - ALLOWED[app] - {app}
        if wrong:
            offending.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert not offending, "\n".join(offending)


def test_reception_uses_only_the_sms_gateway_of_feedback():
    """reception may send SMS (verification codes, appointment notices) through feedback.sms,
    and nothing else of feedback: surveys stay feedback's own."""
    offending = []
    for path in source_files("reception"):
        for name in imported_modules(ast.parse(path.read_text())):
            if name.split(".")[0] == "feedback" and not name.startswith("feedback.sms"):
                offending.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offending, "\n".join(offending)


def test_quality_reads_other_apps_only_through_their_selectors():
    """quality depends on accounts; of the domain apps it reads only `<app>.selectors` (their
    public reads), so it never writes another app's rows or leans on its models' shape."""
    offending = []
    for path in source_files("quality"):
        for name in imported_modules(ast.parse(path.read_text())):
            app = name.split(".")[0]
            if (
                app in DOMAIN_APPS - {"quality"}
                and not name.startswith(f"{app}.selectors")
                # reception's panel registry: quality registers its panels there by URL name.
                and not name.startswith("reception.extensions")
            ):
                offending.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offending, "\n".join(offending)


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_it_does_not_reach_into_other_apps_through_orm_paths(app):
    accessors = foreign_accessors(app)
    offending = [
        f"{path.relative_to(ROOT)}:{line} '{orm_path}' reaches {accessors[first]}"
        for path in source_files(app)
        for line, orm_path in orm_paths(ast.parse(path.read_text()))
        if (first := orm_path.split("__")[0].lstrip("-")) in accessors
    ]
    assert not offending, "\n".join(offending)


def test_the_orm_path_check_sees_a_reverse_relation():
    """The check itself: crm reaching reception's visits would be caught."""
    tree = ast.parse("Customer.objects.filter(visits__branch=branch).select_related('visits')")
    accessors = foreign_accessors("crm")
    assert accessors.get("visits") == "reception"
    found = {path.split("__")[0] for _line, path in orm_paths(tree)}
    assert "visits" in found


@pytest.mark.parametrize("module", PURE_MODULES)
def test_it_keeps_pure_logic_free_of_the_orm(module):
    app = module.split("/")[0]
    imported = imported_modules(ast.parse((ROOT / module).read_text(encoding="utf-8")))
    roots = {name.lstrip(".").split(".")[0] for name in imported if not name.startswith(".")}
    # gettext for labels is fine; the ORM, models and other apps are not.
    assert not (roots & DOMAIN_APPS - {app, "queueing"}), imported
    orm = [
        name
        for name in imported
        if name.startswith("django.db")
        or name.split(".")[-1] == "models"
        or ".models." in name
        or name.startswith(".models")
        or "django.contrib" in name
    ]
    assert not orm, f"{module} imports {orm}"
