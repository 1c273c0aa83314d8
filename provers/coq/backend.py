"""The Coq backend as one descriptor (:class:`provers.backend.Backend`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from provers.backend import Backend
from provers.coq.check import check_proof, proof_file_text
from provers.coq.env import CoqEnv
from provers.coq.files import load_problem_set
from provers.coq.portfolio import coq_portfolio, nesy_imports, root_only
from provers.coq.sentences import check_tactic
from provers.errors import InputError
from provers.protocol import CheckResult, Problem, Theorem


def prepare(theorem: Theorem, *, hammer: bool = False, tactic_imports: bool = True) -> Theorem:
    """The theorem with the imports its portfolio needs added after its own header, as ``prelude``
    (the kernel check confirms the statement means the same with and without them)."""
    extra = [s for s in nesy_imports(tactic_imports, hammer) if s not in theorem.header and s not in theorem.prelude]
    if not extra:
        return theorem
    return replace(theorem, prelude="\n".join([theorem.prelude, *extra]).strip())


def check(theorem: Theorem, tactics: Sequence[str], timeout_s: float = 120.0) -> CheckResult:
    """:func:`provers.coq.check.check_proof`: fresh coqc, statement compared as terms, fail-closed
    Print Assumptions, coqchk. Tactic strings are vetted again there, as hostile input."""
    return check_proof(theorem, list(tactics), timeout_s=timeout_s)


def proof_file(theorem: Theorem, tactics: Sequence[str]) -> str:
    """A complete ``.v`` file: one vetted sentence per line (``nesy check --problem`` reads it)."""
    sentences = [s for t in tactics for s in check_tactic(t).sentences]
    return proof_file_text(theorem, sentences)


def load_split(root: Path, split: str, options: dict) -> list[Problem]:
    """miniF2F-rocq: ``<root>/<split>/*.v``, or a flat directory of ``.v`` files."""
    if any(root.glob("*.v")) and not (root / split).is_dir():
        return load_problem_set(root)
    directory = root / split
    if not directory.is_dir():
        raise InputError(f"{directory}: split directory missing (expected {root}/{split}/*.v)")
    return load_problem_set(directory)  # its TheoremFileError is an InputError


def new_pool(budget_mib: float):
    from provers.coq.pool import WarmPool

    return WarmPool(budget_mib)


def order(problems: list[Problem]) -> list[Problem]:
    """Grouped by header (stable): a worker then meets the same header, or one sharing its first
    sentences, in a row, and starts there warm. Unreadable problems come first."""
    return sorted(problems, key=lambda p: p.theorem.header if p.theorem is not None else "")


def _trace(config, **kwargs):
    """:func:`provers.tracing.driver.run_trace` (imported when used)."""
    from provers.tracing.driver import run_trace

    return run_trace(config, **kwargs)


def load_library(data: Path, split: str, part: str, *, tactic_imports: bool = True, hammer: bool = False, files=None) -> list[Problem]:
    """:func:`provers.coq.library.load_split` as problems; unstartable theorems carry the reason
    (``files``: an optional predicate on the dataset-relative file path)."""
    from provers.coq.library import LibraryConfig, load_split

    out = []
    for p in load_split(data, split, part, LibraryConfig(tactic_imports=tactic_imports, hammer=hammer), files=files):
        if p.theorem is None:
            out.append(Problem(p.full_name, p.file, None, p.error))
        else:
            out.append(Problem(p.full_name, p.file, p.theorem.theorem, None, p.theorem))
    return out


BACKEND = Backend(
    name="coq",
    env=CoqEnv,
    problem_suffix=".v",
    load_problems=lambda path: load_problem_set(path),
    load_split=load_split,
    portfolio=coq_portfolio,
    check=check,
    proof_file=proof_file,
    prepare=prepare,
    new_pool=new_pool,
    order=order,
    tracer=_trace,
    load_library=load_library,
    benchmark_dirs={"minif2f": "minif2f-rocq"},
    aliases=("rocq",),
    root_only=root_only,
    needs="Coq 8.16 (Debian: apt-get install -y coq libcoq-stdlib)",
)
