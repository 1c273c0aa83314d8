"""The prover interface, its result types, and the owned-subprocess helper.

Every backend answers two questions about formulas from ``logic.syntax``:

``entails(premises, conclusion, timeout_s=...) -> EntailmentResult``
    ``Answer.TRUE`` when the conclusion is proved, ``Answer.FALSE`` when its negation is proved,
    ``Answer.UNKNOWN`` when the backend *established* that neither follows (search exhausted or a
    countermodel found for both). Anything else is an error value, not an answer: the budget ran
    out (``ErrorStage.PROVER_TIMEOUT``), the prover gave up (``PROVER_GAVE_UP``, e.g. Z3 on
    quantifiers it cannot decide), crashed (``PROVER_CRASH``), or proved *both* directions
    (``INCONSISTENT_PREMISES``). Stages before the prover (``PARSE``, ``TRANSLATION``) are filled
    in by the pipeline with ``EntailmentResult.failed``.

``satisfiable(premises, timeout_s=...) -> SatResult``
    ``SatResult.status`` is ``Satisfiability.SAT`` / ``UNSAT`` / ``UNKNOWN`` (budget ran out).

The budget (``timeout_s``, wall clock, seconds, for the whole call) is part of every result.
A backend implements ``_prove(premises, goal, timeout_s) -> ProofAttempt`` (``goal=None``
means: look for a refutation of the premises); ``entails``/``satisfiable`` are built on it.
"""

from __future__ import annotations

import enum
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from logic.errors import ProverUnavailableError
from logic.syntax import Formula, Not


class Answer(enum.Enum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ErrorStage(enum.Enum):
    """Which stage of the pipeline failed (for an example without an answer)."""

    TRANSLATION = "translation"  # natural language -> formula text failed (LLM or controlled English)
    PARSE = "parse"  # the formula text is not well formed
    INCONSISTENT_PREMISES = "inconsistent_premises"  # conclusion and its negation both proved
    PROVER_TIMEOUT = "prover_timeout"  # budget (time/memory/given clauses) ran out
    PROVER_GAVE_UP = "prover_gave_up"  # prover stopped without a verdict (incomplete)
    PROVER_CRASH = "prover_crash"  # process died, fatal error, unreadable output


class Satisfiability(enum.Enum):
    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"


class ProofStatus(enum.Enum):
    """Outcome of one prover run on one goal."""

    PROVED = "proved"
    NOT_PROVED = "not_proved"  # established: search saturated / countermodel found
    TIMEOUT = "timeout"
    GAVE_UP = "gave_up"
    CRASH = "crash"


@dataclass(frozen=True)
class ProofAttempt:
    status: ProofStatus
    elapsed_s: float
    message: str = ""  # why, for TIMEOUT/GAVE_UP/CRASH; a countermodel for NOT_PROVED when known


@dataclass(frozen=True)
class EntailmentResult:
    """``answer`` is set exactly when ``error`` is None."""

    answer: Answer | None
    error: ErrorStage | None
    prover: str
    timeout_s: float
    elapsed_s: float
    message: str = ""
    countermodel: str | None = None

    def __post_init__(self) -> None:
        if (self.answer is None) == (self.error is None):
            raise ValueError("EntailmentResult needs exactly one of answer and error")

    @classmethod
    def failed(cls, stage: ErrorStage, message: str, *, prover: str = "", timeout_s: float = 0.0) -> EntailmentResult:
        return cls(None, stage, prover, timeout_s, 0.0, message)


@dataclass(frozen=True)
class SatResult:
    status: Satisfiability
    prover: str
    timeout_s: float
    elapsed_s: float
    message: str = ""


def combine(prover: str, timeout_s: float, pos: ProofAttempt, neg: ProofAttempt, elapsed_s: float) -> EntailmentResult:
    """Turn the attempts on the conclusion (``pos``) and on its negation (``neg``) into a result."""
    proved_pos, proved_neg = pos.status is ProofStatus.PROVED, neg.status is ProofStatus.PROVED
    if proved_pos and proved_neg:
        return EntailmentResult(None, ErrorStage.INCONSISTENT_PREMISES, prover, timeout_s, elapsed_s, "the premises are inconsistent: both the conclusion and its negation were proved")
    if proved_pos:
        return EntailmentResult(Answer.TRUE, None, prover, timeout_s, elapsed_s)
    if proved_neg:
        return EntailmentResult(Answer.FALSE, None, prover, timeout_s, elapsed_s)
    if pos.status is ProofStatus.NOT_PROVED and neg.status is ProofStatus.NOT_PROVED:
        return EntailmentResult(Answer.UNKNOWN, None, prover, timeout_s, elapsed_s, countermodel=pos.message or None)
    for stage, status in (
        (ErrorStage.PROVER_CRASH, ProofStatus.CRASH),
        (ErrorStage.PROVER_TIMEOUT, ProofStatus.TIMEOUT),
        (ErrorStage.PROVER_GAVE_UP, ProofStatus.GAVE_UP),
    ):
        bad = [a for a in (pos, neg) if a.status is status]
        if bad:
            message = bad[0].message
            if stage is ErrorStage.PROVER_TIMEOUT:
                message = f"the {timeout_s:g}s budget of the call ran out ({message})"
            return EntailmentResult(None, stage, prover, timeout_s, elapsed_s, message)
    raise AssertionError(f"unreachable: {pos.status} {neg.status}")  # pragma: no cover


class Prover:
    """Base class of the backends: subclasses set ``name`` and implement ``_prove``."""

    name: str = "?"
    #: True when both directions may run at the same time (separate processes)
    parallel: bool = False

    def _prove(self, premises: Sequence[Formula], goal: Formula | None, timeout_s: float) -> ProofAttempt:
        raise NotImplementedError

    def entails(
        self,
        premises: Sequence[Formula],
        conclusion: Formula,
        *,
        timeout_s: float,
        refutation: Formula | None = None,
    ) -> EntailmentResult:
        """Does ``premises`` entail ``conclusion`` (TRUE), its negation (FALSE), or neither (UNKNOWN)?

        ``refutation`` replaces ``Not(conclusion)`` as the formula whose proof answers FALSE
        (used by the controlled translator's ``literal`` negation mode, where the opposite of
        ``red(b)`` is the atom ``not_red(b)``)."""
        _check_timeout(timeout_s)
        premises = list(premises)
        negated = Not(conclusion) if refutation is None else refutation
        start = time.perf_counter()
        if self.parallel:
            with ThreadPoolExecutor(2) as pool:
                pos_f = pool.submit(self._prove, premises, conclusion, timeout_s)
                neg_f = pool.submit(self._prove, premises, negated, timeout_s)
                pos, neg = pos_f.result(), neg_f.result()
        else:
            pos = self._prove(premises, conclusion, timeout_s / 2)
            neg = self._prove(premises, negated, max(timeout_s - (time.perf_counter() - start), timeout_s / 2))
        return combine(self.name, timeout_s, pos, neg, time.perf_counter() - start)

    def satisfiable(self, premises: Sequence[Formula], *, timeout_s: float) -> SatResult:
        """Are ``premises`` consistent? UNSAT = refutation found; SAT = the backend established a
        model exists (Z3 found one; Prover9/E saturated without refutation); UNKNOWN otherwise."""
        _check_timeout(timeout_s)
        attempt = self._prove(list(premises), None, timeout_s)
        status = {
            ProofStatus.PROVED: Satisfiability.UNSAT,
            ProofStatus.NOT_PROVED: Satisfiability.SAT,
        }.get(attempt.status, Satisfiability.UNKNOWN)
        return SatResult(status, self.name, timeout_s, attempt.elapsed_s, attempt.message)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def _check_timeout(timeout_s: float) -> None:
    if not isinstance(timeout_s, (int, float)) or not 0 < timeout_s < float("inf"):
        raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")


# ------------------------------------------------------------------------- owned subprocesses


@dataclass(frozen=True)
class ProcessOutcome:
    returncode: int | None  # None when killed at the limit
    stdout: str
    stderr: str
    timed_out: bool
    elapsed_s: float


class OwnedProcess:
    """A subprocess in its own session, killed with its whole process group on exit of the
    ``with`` block (also when start-up or communication fails)."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> OwnedProcess:
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            raise ProverUnavailableError(f"cannot start {self.argv[0]}: {exc}") from exc
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()

    def kill(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait()


def run_process(argv: Sequence[str], stdin: str, timeout_s: float) -> ProcessOutcome:
    """Run ``argv`` with ``stdin``; kill its process group after ``timeout_s`` seconds (wall)."""
    start = time.perf_counter()
    with OwnedProcess(argv) as owned:
        assert owned.proc is not None
        try:
            out, err = owned.proc.communicate(stdin, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            owned.kill()
            out, err = owned.proc.communicate()
            return ProcessOutcome(None, out or "", err or "", True, time.perf_counter() - start)
        return ProcessOutcome(owned.proc.returncode, out, err, False, time.perf_counter() - start)
