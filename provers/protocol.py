"""The proof-environment protocol, shaped like LeanDojo's ``Dojo``.

::

    with get_backend("coq")(theorem, config) as (env, state):
        match env.run_tac(state, "intros; lia"):
            case ProofFinished():      ...
            case TacticState() as s:   ...   # a new state; s == other iff same goals
            case TacticError(message=m): ...
            case ProofGivenUp():       ...

``run_tac`` accepts any state handed out earlier for the same theorem, not only the latest one:
best-first search jumps around the tree. Results are a closed set of frozen dataclasses
(:data:`TacticResult`); infrastructure failures are exceptions from :mod:`provers.errors`.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Theorem:
    """A theorem to prove.

    ``statement`` is the declaration as the prover reads it, *without* a proof (Coq: the whole
    ``Theorem name binders : type.`` sentence; Lean: the ``theorem ... :=`` signature).
    ``header`` is everything the statement needs before it (imports, scopes, definitions).
    ``prelude`` is what nesy itself adds after the header for its own tactics (Coq: the imports
    of ``lia``/``lra``/``psatz``); it is not part of the problem, and the kernel check confirms
    that the statement means the same with and without it.
    The remaining fields say where it came from; Lean's backend needs ``repo_url``/``commit``/
    ``file_path``/``name`` to locate the theorem in a traced repository.
    """

    name: str
    statement: str
    header: str = ""
    file_path: str | None = None
    line: int | None = None
    repo_url: str | None = None
    commit: str | None = None
    prelude: str = ""

    @property
    def source(self) -> str:
        where = self.file_path or "<string>"
        return f"{where}:{self.line}" if self.line else where


@dataclass(frozen=True)
class Problem:
    """One item of a problem set: a theorem read from ``file``, or the reason it could not be read
    (``theorem is None``, ``error`` says why: the job writes an error row and goes on).

    ``context`` is set by problem sources whose theorems live in a context of their own (a library
    theorem at its place in its file): it gives the prover options (``env_args``), the kernel
    check in that context (``check(tactics, timeout_s=...)``), the proof file
    (``proof_file(sentences)``) and the order a warm job takes theorems in (``order_key``); its
    theorem is already prepared. Without it, the theorem is a stand-alone problem (miniF2F): the
    backend prepares it and checks it with its usual check.
    """

    name: str
    file: str
    theorem: Theorem | None
    error: str | None = None
    context: Any = None


@dataclass(frozen=True)
class CheckResult:
    """Verdict of a backend's kernel check. ``ok`` iff every stage accepted.

    ``scope`` says what an ``ok`` means: ``"statement"`` -- a proof of the problem's own statement
    resting only on allowed axioms; ``"soundness"`` -- a whole file whose every constant rests only
    on allowed axioms (no problem to compare the statement with).
    """

    ok: bool
    message: str
    axioms: tuple[str, ...] = ()
    disallowed: tuple[str, ...] = ()
    seconds: float = 0.0
    per_theorem: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    scope: str = "statement"
    stages: dict[str, float] = field(default_factory=dict, compare=False)  # seconds per stage


@dataclass(frozen=True)
class Hypothesis:
    """One hypothesis line of a goal: ``names : type`` or ``name := body : type``."""

    names: tuple[str, ...]
    type: str
    body: str | None = None

    def __str__(self) -> str:
        body = f" := {self.body}" if self.body is not None else ""
        return f"{', '.join(self.names)}{body} : {self.type}"


@dataclass(frozen=True)
class Goal:
    """A goal: its hypotheses (in order) and its conclusion."""

    hypotheses: tuple[Hypothesis, ...]
    conclusion: str
    name: str | None = None

    def __str__(self) -> str:
        lines = [str(h) for h in self.hypotheses]
        lines.append("=" * 28)
        lines.append(self.conclusion)
        return "\n".join(lines)


def render_goals(goals: tuple[Goal, ...], unfocused: tuple[Goal, ...] = ()) -> str:
    """The pretty-printed form of a proof state (what a model reads; what equality compares)."""
    parts = [str(g) for g in goals]
    text = "\n\n".join(parts)
    if unfocused:
        rest = "\n\n".join(str(g) for g in unfocused)
        head = "(no focused goals)" if not goals else ""
        text = "\n\n".join(p for p in (text or head, f"(unfocused goals: {len(unfocused)})", rest) if p)
    return text


@dataclass(frozen=True)
class TacticState:
    """A proof state with goals left.

    Equality and hashing use ``pp`` only: two states with the same goals are equal whatever their
    ``id`` (search merges them). ``goals`` are the focused goals in structured form and
    ``unfocused`` the goals hidden by bullets or braces (they are part of ``pp``).
    """

    pp: str
    id: int = field(compare=False)
    goals: tuple[Goal, ...] = field(default=(), compare=False)
    unfocused: tuple[Goal, ...] = field(default=(), compare=False)
    message: str | None = field(default=None, compare=False)

    @property
    def num_goals(self) -> int:
        return len(self.goals) + len(self.unfocused)


@dataclass(frozen=True)
class ProofFinished:
    """No goals are left. ``id`` identifies the state for :meth:`ProofEnv.proof_of`."""

    id: int
    message: str | None = field(default=None, compare=False)


class ErrorKind(enum.Enum):
    """Why a tactic was not applied."""

    FAILED = "failed"  # the prover rejected it (wrong tactic, does not apply, parse error)
    TIMEOUT = "timeout"  # cut by the per-tactic time limit; the session is intact
    REFUSED = "refused"  # not a tactic: a vernacular command or other forbidden input


@dataclass(frozen=True)
class TacticError:
    """The tactic was not applied. The state passed in is unchanged and still usable."""

    message: str
    kind: ErrorKind = ErrorKind.FAILED


@dataclass(frozen=True)
class ProofGivenUp:
    """The tactic gave up on a goal (``admit``, ``give_up``, ``sorry``): never a proof."""

    message: str = ""


TacticResult = TacticState | ProofFinished | TacticError | ProofGivenUp


@dataclass(frozen=True)
class EnvConfig:
    """Settings common to all backends.

    ``tactic_timeout_s`` bounds one ``run_tac`` call's prover time; ``start_timeout_s`` bounds
    starting the process and elaborating the header and statement. ``extra_args`` go to the
    prover's command line (Coq: ``-Q dir Name`` load paths, say).
    """

    tactic_timeout_s: float = 10.0
    start_timeout_s: float = 120.0
    extra_args: tuple[str, ...] = ()
    workdir: Path | None = None


class ProofEnv(abc.ABC):
    """A live proof environment for one theorem. Use it as a context manager.

    ``__enter__`` starts the prover and returns ``(env, initial_state)``; on failure it cleans up
    whatever it started and raises :class:`provers.errors.EnvInitError`. ``__exit__`` kills the
    whole process tree.
    """

    theorem: Theorem
    config: EnvConfig

    @abc.abstractmethod
    def __enter__(self) -> tuple[ProofEnv, TacticState]: ...

    @abc.abstractmethod
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    @abc.abstractmethod
    def run_tac(self, state: TacticState, tactic: str) -> TacticResult:
        """Run ``tactic`` on ``state`` (any state of this theorem handed out before)."""

    @abc.abstractmethod
    def proof_of(self, state: TacticState | ProofFinished) -> list[str]:
        """The tactics, in order, that lead from the initial state to ``state``."""

    def proof_script(self, state: ProofFinished) -> str:
        """A complete proof script for a finished state (backend syntax)."""
        return "\n".join(self.proof_of(state))
