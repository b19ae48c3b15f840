"""The house stays standing: genre_tagger's layers import only downwards (docs/ARCHITECTURE.md).

Every import in every module of the package, at module level or inside a function, is
read with ``ast`` and resolved to the package it names; a module may import its own
package and the layers below it, never a layer above or beside it. Also: no import
circle between the package's modules, and no Qt or torch below the GUI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "genre_tagger"

# each layer, with the layers it may import (its own always)
LAYERS = {
    "base": set(),  # errors, genres, reasons, the package's __init__
    "listen": {"base"},
    "tagstore": {"base"},
    "library": {"base", "listen", "tagstore"},
    "cli": {"base", "listen", "tagstore", "library", "gui"},  # cli starts the GUI (a lazy import)
    "gui": {"base", "listen", "tagstore", "library"},
    "main": {"base", "cli"},
    "models": set(),
}


def layer_of(module: str) -> str:
    """``genre_tagger.tagstore.journal`` -> ``tagstore``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "base"
    head = parts[1]
    if head in ("listen", "tagstore", "library", "gui", "models", "cli"):
        return head
    if head == "__main__":
        return "main"
    return "base"


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[str, int]]:
    """The genre_tagger modules ``path`` imports (absolute names), with line numbers."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "genre_tagger"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "genre_tagger":
                continue
            if node.module is None or node.level and not node.module:
                out += [(f"{target}.{a.name}", node.lineno) for a in node.names]  # from . import x: x may be a module
            else:
                out.append((target, node.lineno))
    return out


def all_modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_belongs_to_a_known_layer():
    for p in all_modules():
        assert layer_of(module_name(p)) in LAYERS, p


def test_no_layer_imports_a_higher_or_a_sibling_layer():
    wrong = []
    for p in all_modules():
        me = layer_of(module_name(p))
        for target, line in imports_of(p):
            other = layer_of(target)
            if other != me and other not in LAYERS[me]:
                wrong.append(f"{p.relative_to(PKG.parent)}:{line}: {me} imports {target} ({other})")
    assert not wrong, "\n".join(wrong)


def test_no_import_circle_between_modules():
    names = {module_name(p): p for p in all_modules()}
    graph = {}
    for name, p in names.items():
        deps = set()
        for target, _ in imports_of(p):
            while target and target not in names:  # "pkg.mod.Name" -> "pkg.mod"
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):  # a package's own __init__ is no edge
                deps.add(target)
        graph[name] = deps
    state: dict[str, int] = {}

    def visit(n: str, stack: list[str]) -> None:
        state[n] = 1
        for d in sorted(graph[n]):
            if state.get(d) == 1:
                raise AssertionError("import circle: " + " -> ".join([*stack, n, d]))
            if d not in state:
                visit(d, stack + [n])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [])


@pytest.mark.parametrize("forbidden", ["PySide6", "torch"])
def test_no_qt_or_torch_below_the_gui(forbidden):
    wrong = []
    for p in all_modules():
        if layer_of(module_name(p)) in ("gui", "cli"):
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []  # fmt: skip
            wrong += [f"{p.relative_to(PKG.parent)}:{node.lineno}" for n in names if n.split(".")[0] == forbidden]
    assert not wrong, wrong


def test_the_checker_sees_a_wrong_import_and_a_circle(tmp_path, monkeypatch):
    """The rules themselves can fail: a tag store module that imports the scanner is
    caught, and so is a circle between two modules of one layer."""
    fake = tmp_path / "genre_tagger"
    (fake / "tagstore").mkdir(parents=True)
    (fake / "library").mkdir()
    for f in ("__init__.py", "tagstore/__init__.py", "library/__init__.py", "library/scanner.py"):
        (fake / f).write_text("")
    (fake / "tagstore" / "journal.py").write_text("def f():\n    from ..library.scanner import Scanner\n")
    monkeypatch.setitem(globals(), "PKG", fake)
    with pytest.raises(AssertionError, match="tagstore imports genre_tagger.library.scanner"):
        test_no_layer_imports_a_higher_or_a_sibling_layer()
    (fake / "tagstore" / "journal.py").write_text("from .write import x\n")
    (fake / "tagstore" / "write.py").write_text("from . import journal\n")
    with pytest.raises(AssertionError, match="import circle"):
        test_no_import_circle_between_modules()
