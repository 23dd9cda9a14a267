"""leadapp.domain stays pure: no Flask, no SQLAlchemy, no models (DESIGN.md section 4)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.domain.helpers import REPO

FORBIDDEN = ("flask", "sqlalchemy", "flask_sqlalchemy", "leadapp.models")
DOMAIN = REPO / "leadapp" / "domain"


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                base = ".".join(["leadapp", "domain"][: max(0, 3 - node.level)])
                module = f"{base}.{node.module}" if node.module else base
                names.append(module)
                names += [f"{module}.{a.name}" for a in node.names]
            else:
                names.append(node.module or "")
                names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_domain_imports_no_framework_or_models():
    files = sorted(DOMAIN.rglob("*.py"))
    assert len(files) >= 8
    bad = [(p.name, n) for p in files for n in _imports(p) if _forbidden(n)]
    assert not bad, f"leadapp/domain must stay pure: {bad}"


def test_the_check_catches_offenders(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text(
        "import flask\nfrom sqlalchemy.orm import Session\nfrom leadapp import models\n"
        "from ..models import Lead\nimport flask_sqlalchemy as fsa\n"
    )
    found = [n for n in _imports(sample) if _forbidden(n)]
    assert "flask" in found and "sqlalchemy.orm" in found and "flask_sqlalchemy" in found
    assert "leadapp.models" in found and "leadapp.models.Lead" in found
