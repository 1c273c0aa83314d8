"""A proof backend as one object: everything nesy needs from a prover, in one descriptor.

Each backend folder (``provers/coq/``, ``provers/lean/``) exports one :class:`Backend` from its
``backend`` module; :mod:`provers.registry` maps names to them. Code outside a backend's folder
asks the descriptor and never branches on a backend's name. Adding a backend (Isabelle, a Lean
REPL) is one folder plus one line in the registry; ``tests/provers/test_conformance.py`` then
runs the same suite over it: loading, stepping, checking, writing a proof file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provers.protocol import CheckResult, Problem, ProofEnv, Theorem


@dataclass(frozen=True)
class Backend:
    """What a backend provides.

    * ``env``: the :class:`ProofEnv` class; ``env(theorem, config, pool=...)`` when ``new_pool``
      gives pools.
    * ``load_problems(path)``: a problem file or a directory of them -> problems (unreadable ones
      carry an ``error``); ``problem_suffix`` is their file suffix.
    * ``load_split(root, split, options)``: a benchmark checkout in this backend's layout
      (miniF2F: ``benchmark_dirs["minif2f"]`` under the shared data directory).
    * ``prepare(theorem, hammer=..., tactic_imports=...)``: the theorem with what nesy's own
      tactics need added after its header (Coq: the imports of lia/lra/psatz, CoqHammer).
    * ``portfolio(hammer)``: the default automation portfolio, cheap first; ``root_only(tactic)``:
      a portfolio tactic too slow to run as a closer on every node of a search (initial state only).
    * ``check(theorem, tactics, timeout_s)``: the fresh, fail-closed kernel check of a proof.
    * ``proof_file(theorem, tactics)``: the text of a complete proof file (what jobs write to
      ``proofs/<name><problem_suffix>`` and what ``nesy check`` reads).
    * ``new_pool(budget_mib)``: a pool of warm provers shared by one worker's theorems, or None.
    * ``order(problems)``: the order in which a worker meets theorems best (warm starts).
    * ``tracer``: ``trace(config) -> result`` for tracing a library, or None.
    * ``load_library(data, split, part, tactic_imports=...)``: the theorems of a traced dataset's
      split part as problems started in their file's context (``Problem.context``), or None;
      ``files=`` (a predicate on the file path) reads only some files.
    """

    name: str
    env: type[ProofEnv]
    problem_suffix: str
    load_problems: Callable[[Path], list[Problem]]
    load_split: Callable[[Path, str, dict], list[Problem]]
    portfolio: Callable[[bool], tuple[str, ...]]
    check: Callable[..., CheckResult]
    proof_file: Callable[[Theorem, Sequence[str]], str]
    prepare: Callable[..., Theorem] = lambda theorem, **_: theorem
    new_pool: Callable[[float], Any] | None = None
    order: Callable[[list[Problem]], list[Problem]] = list
    tracer: Callable[..., Any] | None = None
    load_library: Callable[..., list[Problem]] | None = None
    benchmark_dirs: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    root_only: Callable[[str], bool] = lambda tactic: False
    needs: str = ""  # what must be installed, for messages ("Coq 8.16", "nesy[lean] and a Lean toolchain")

    def pool(self, warm: bool, budget_mib: float) -> Any:
        """A warm pool when ``warm`` and this backend has one, else None."""
        return self.new_pool(budget_mib) if warm and self.new_pool is not None else None
