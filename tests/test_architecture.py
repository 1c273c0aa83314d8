"""The shape of the code (docs/architecture.md), checked: layer contracts, no import cycles, the
CLI only in nesy/, no backend named outside its folder."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("nesy", "nesyrun", "provers", "retrieval", "synthesis", "logic")


def test_import_contracts_hold():
    """`lint-imports` with the contracts of pyproject.toml (import-linter is in the dev extra)."""
    pytest.importorskip("importlinter", reason="import-linter is in nesy[dev]; CI installs it")
    proc = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_no_import_cycles():
    """No module imports itself through others, counting imports inside functions too."""
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (nesy[dev])")
    sys.path.insert(0, str(REPO))
    graph = grimp.build_graph(*PACKAGES)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:  # Tarjan's strongly connected components, iteratively deep enough here
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def _sources(*roots: str):
    for root in roots:
        yield from (p for p in (REPO / root).rglob("*.py") if "__pycache__" not in p.parts)


def test_argparse_only_in_the_cli():
    offenders = [str(p.relative_to(REPO)) for p in _sources("provers", "retrieval", "synthesis", "logic", "nesyrun")
                 if re.search(r"^\s*(import argparse|from argparse)", p.read_text(encoding="utf-8"), re.M)]
    assert not offenders, f"argparse outside nesy/: {offenders}"


def test_no_backend_is_named_outside_its_folder():
    """Code outside provers/coq/ and provers/lean/ asks the backend descriptor; it never compares a
    backend's name (defaults such as backend="coq" are fine)."""
    pattern = re.compile(r"""(==|!=|\bin\b)\s*\(?\s*["'](coq|lean|rocq|lean4)["']|["'](coq|lean)["']\s*(==|!=)""")
    offenders = []
    for p in _sources("provers", "nesy", "synthesis"):
        rel = p.relative_to(REPO)
        if rel.parts[:2] in (("provers", "coq"), ("provers", "lean")) or rel == Path("provers/registry.py"):
            continue
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_every_backend_descriptor_is_complete():
    from provers.backend import Backend
    from provers.registry import backend_names, load_backend

    for name in backend_names():
        b = load_backend(name)
        assert isinstance(b, Backend) and b.name == name
        assert b.problem_suffix.startswith(".") and b.portfolio(False)
        for attr in ("env", "load_problems", "load_split", "check", "proof_file", "prepare", "order"):
            assert callable(getattr(b, attr)), (name, attr)
