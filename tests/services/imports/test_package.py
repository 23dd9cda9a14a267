"""The import engine's layout (issue 19): one package, one module per stage, each module
importable on its own and no two modules importing each other, however indirectly."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import leadapp.services.imports as package

PACKAGE = package.__name__
FOLDER = Path(package.__file__).parent

# Each module is imported in a child forked from one interpreter that has loaded the
# package once and then forgotten every service module (the package's and those around
# it): each child imports its module alone, as a fresh interpreter would, while the slow
# parts (third-party libraries, the models) are loaded once.
IMPORT_EACH_ALONE = """
import importlib, os, sys, traceback
for name in sys.argv[1:]:
    importlib.import_module(name)
for name in [m for m in sys.modules if m.startswith("leadapp.services")]:
    del sys.modules[name]
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    if os.waitpid(pid, 0)[1]:
        failed.append(name)
print(" ".join(failed))
sys.exit(1 if failed else 0)
"""


def module_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(FOLDER)]))


def sibling_imports(folder: Path, package_name: str) -> dict[str, set[str]]:
    """For each module of the package in ``folder``: the sibling modules it imports, at
    module level or inside a function (a lazy import is how a cycle hides)."""
    siblings = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for name in sorted(siblings):
        tree = ast.parse((folder / f"{name}.py").read_text())
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                dotted = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = "." * node.level + (node.module or "")
                if base.startswith("."):
                    base = package_name + base[node.level - 1 :] if node.module else package_name
                dotted = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for target in dotted:
                if target.startswith(package_name + "."):
                    first = target[len(package_name) + 1 :].split(".")[0]
                    if first in siblings and first != name:
                        found.add(first)
        graph[name] = found
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (``[a, b, a]``), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            cycle = visit(nxt, path + [node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_the_package_has_one_module_per_stage():
    assert {"read", "stage", "analyse", "write", "report"} <= set(module_names())


def test_every_module_has_a_docstring_and_at_most_400_lines():
    for name in module_names():
        text = (FOLDER / f"{name}.py").read_text()
        assert ast.get_docstring(ast.parse(text)), f"{name} says nothing of its stage"
        assert text.count("\n") <= 400, f"{name} has {text.count(chr(10))} lines"


def test_each_module_imports_alone_in_a_fresh_interpreter():
    names = [PACKAGE] + [f"{PACKAGE}.{m}" for m in module_names()]
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH_ALONE, *names],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_module_of_the_package_imports_another_in_a_cycle():
    graph = sibling_imports(FOLDER, PACKAGE)
    assert graph["run"] >= {"stage", "analyse", "write"}  # the walk sees the imports
    assert find_cycle(graph) is None


def test_the_cycle_check_sees_a_cycle_through_lazy_imports(tmp_path):
    """The cycle the engine had before it was a package: ``imports`` and ``staging`` each
    imported the other inside a function."""
    (tmp_path / "imports.py").write_text(
        "def staged(imp):\n    from leadapp.services import staging\n\n"
        "    return staging.apply_changes(imp, None)\n"
    )
    (tmp_path / "staging.py").write_text(
        "import json\n\n\ndef row_flags(imp):\n"
        "    from leadapp.services.imports import DuplicateSettings, staged\n"
    )
    (tmp_path / "audit.py").write_text("from . import imports\n")
    graph = sibling_imports(tmp_path, "leadapp.services")
    assert graph == {"audit": {"imports"}, "imports": {"staging"}, "staging": {"imports"}}
    assert find_cycle(graph) == ["imports", "staging", "imports"]
