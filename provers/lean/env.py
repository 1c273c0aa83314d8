"""The Lean 4 proof environment, over ``lean-dojo``'s :class:`lean_dojo.Dojo` (optional extra).

``pip install 'nesy[lean]'`` and a Lean toolchain (``elan``/``lake`` on PATH) are needed to run
it; the theorem must live in a repository LeanDojo can trace (``Theorem.repo_url``,
``Theorem.commit``, ``Theorem.file_path``, ``Theorem.name`` = the full Lean name).

Mapping onto nesy's protocol:

========================================  =============================================
lean_dojo                                 nesy
========================================  =============================================
``TacticState(pp, id, message)``          :class:`TacticState` (goals parsed by lean_dojo)
``ProofFinished``                         :class:`ProofFinished`
``LeanError(error)``                      :class:`TacticError` (``FAILED``)
``ProofGivenUp``                          :class:`ProofGivenUp`
``DojoTacticTimeoutError``                Dojo restarted, :class:`TacticError` (``TIMEOUT``)
``DojoCrashError``                        Dojo restarted, :class:`EnvCrashError` raised
``DojoInitError`` / other start failure   :class:`EnvInitError`
========================================  =============================================

A LeanDojo session is poisoned by a tactic timeout (LeanDojo issue #218), so the Dojo is
restarted. nesy's state ids are its own, stable across restarts: a state of an earlier Dojo is
reached again by replaying its tactics, as the Coq backend does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from provers.errors import EnvCrashError, EnvInitError, MissingDependencyError
from provers.protocol import (
    EnvConfig,
    ErrorKind,
    Goal,
    Hypothesis,
    ProofEnv,
    ProofFinished,
    ProofGivenUp,
    TacticError,
    TacticResult,
    TacticState,
    Theorem,
)

_GIVE_UP = re.compile(r"(?<![\w.'])(sorry|admit)(?![\w'])")


def import_lean_dojo() -> Any:
    try:
        import lean_dojo
    except ImportError as exc:
        raise MissingDependencyError("the Lean backend needs lean-dojo: pip install 'nesy[lean]'") from exc
    return lean_dojo


def to_lean_theorem(theorem: Theorem) -> Any:
    """nesy's :class:`Theorem` → ``lean_dojo.Theorem`` (needs repo URL, commit and file path)."""
    missing = [f for f in ("repo_url", "commit", "file_path") if not getattr(theorem, f)]
    if missing:
        raise EnvInitError(f"{theorem.name}: the Lean backend needs {', '.join(missing)} to locate the theorem")
    ld = import_lean_dojo()
    from pathlib import Path

    repo = ld.LeanGitRepo(theorem.repo_url, theorem.commit)
    return ld.Theorem(repo, Path(theorem.file_path), theorem.name)


def convert_goals(lean_state: Any) -> tuple[Goal, ...]:
    """lean_dojo's parsed goals (``Goal(assumptions=[Declaration(ident, lean_type)], conclusion)``)."""
    goals = []
    for g in lean_state.goals:
        hyps = tuple(Hypothesis((d.ident,), d.lean_type) for d in g.assumptions)
        goals.append(Goal(hyps, g.conclusion))
    return tuple(goals)


@dataclass(frozen=True)
class _Node:
    parent: int | None
    tactic: str


class LeanEnv(ProofEnv):
    """A proof environment for one Lean 4 theorem through LeanDojo.

    ``dojo_factory(theorem, timeout_s)`` builds the Dojo for nesy's :class:`Theorem`; the default
    converts it with :func:`to_lean_theorem` (``LeanGitRepo`` looks the repository up, online)
    and builds a ``lean_dojo.Dojo``. It exists so that the mapping can be tested without Lean.
    """

    backend_name = "lean"

    def __init__(
        self,
        theorem: Theorem,
        config: EnvConfig | None = None,
        dojo_factory: Callable[[Any, int], Any] | None = None,
    ) -> None:
        self.theorem = theorem
        self.config = config or EnvConfig()
        self._factory = dojo_factory
        self._dojo: Any = None
        self._nodes: dict[int, _Node] = {}
        self._lean_states: dict[int, Any] = {}  # our id -> lean_dojo state in the current Dojo
        self._next_id = 0
        self.restarts = 0

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> tuple[LeanEnv, TacticState]:
        init = self._start()
        self._nodes = {0: _Node(None, "")}
        self._lean_states = {0: init}
        self._next_id = 1
        return self, self._state(init, 0)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop()

    def _start(self) -> Any:
        ld = import_lean_dojo()
        factory = self._factory or (lambda thm, timeout: ld.Dojo(to_lean_theorem(thm), timeout=timeout))
        try:
            dojo = factory(self.theorem, max(1, int(round(self.config.tactic_timeout_s))))
            entered = dojo.__enter__()
        except EnvInitError:
            raise
        except ld.DojoInitError as exc:
            raise EnvInitError(f"{self.theorem.name}: LeanDojo could not start: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - network, git, toolchain: all mean "could not start"
            raise EnvInitError(f"{self.theorem.name}: LeanDojo failed while starting: {exc!r}") from exc
        self._dojo, init = entered
        if not isinstance(init, ld.TacticState):
            self._stop()
            raise EnvInitError(f"{self.theorem.name}: LeanDojo gave no tactic state at start")
        return init

    def _stop(self) -> None:
        if self._dojo is not None:
            dojo, self._dojo = self._dojo, None
            try:
                dojo.__exit__(None, None, None)
            except Exception:  # noqa: BLE001 - a dying Dojo must not hide the real error
                pass

    def _restart(self) -> None:
        self._stop()
        self.restarts += 1
        init = self._start()
        self._lean_states = {0: init}

    # ------------------------------------------------------------------ protocol

    def run_tac(self, state: TacticState, tactic: str) -> TacticResult:
        if state.id not in self._nodes:
            raise ValueError(f"state {state.id} does not belong to this environment")
        if self._dojo is None:
            raise EnvInitError("the environment is not started (use it as a context manager)")
        if not tactic.strip():
            return TacticError("empty tactic", ErrorKind.REFUSED)
        if _GIVE_UP.search(tactic):
            return ProofGivenUp(f"tactic gives up on a goal: {tactic.strip()[:80]!r}")
        lean_state = self._reach(state.id)
        result = self._run(lean_state, tactic)
        if isinstance(result, _Timeout):
            return TacticError(f"timeout: tactic ran over {self.config.tactic_timeout_s:g}s", ErrorKind.TIMEOUT)
        return self._convert(result, state.id, tactic)

    def proof_of(self, state: TacticState | ProofFinished) -> list[str]:
        return [self._nodes[n].tactic for n in self._path(state.id)[1:]]

    # ------------------------------------------------------------------ internals

    def _run(self, lean_state: Any, tactic: str) -> Any:
        ld = import_lean_dojo()
        try:
            return self._dojo.run_tac(lean_state, tactic)
        except ld.DojoTacticTimeoutError:
            self._restart()
            return _Timeout()
        except ld.DojoCrashError as exc:
            self._restart()
            raise EnvCrashError(f"Lean crashed ({exc}); the Dojo was restarted") from exc

    def _convert(self, result: Any, parent: int, tactic: str) -> TacticResult:
        ld = import_lean_dojo()
        if isinstance(result, ld.LeanError):
            return TacticError(result.error)
        if isinstance(result, ld.ProofGivenUp):
            return ProofGivenUp("Lean reported the proof contains sorry")
        node_id = self._next_id
        self._next_id += 1
        self._nodes[node_id] = _Node(parent, tactic)
        if isinstance(result, ld.ProofFinished):
            return ProofFinished(node_id, result.message)
        if isinstance(result, ld.TacticState):
            self._lean_states[node_id] = result
            return self._state(result, node_id)
        raise EnvCrashError(f"LeanDojo returned an unknown result type {type(result).__name__}")

    def _state(self, lean_state: Any, node_id: int) -> TacticState:
        return TacticState(lean_state.pp, node_id, convert_goals(lean_state), (), lean_state.message)

    def _path(self, node_id: int) -> list[int]:
        path, cur = [], node_id
        while cur is not None:
            path.append(cur)
            cur = self._nodes[cur].parent
        return path[::-1]

    def _reach(self, node_id: int) -> Any:
        """The lean_dojo state for ``node_id`` in the current Dojo, replaying tactics if needed."""
        ld = import_lean_dojo()
        path = self._path(node_id)
        k = max(i for i, n in enumerate(path) if n in self._lean_states)
        current = self._lean_states[path[k]]
        for nid in path[k + 1 :]:
            result = self._run(current, self._nodes[nid].tactic)
            if not isinstance(result, ld.TacticState):
                raise EnvCrashError(f"replaying the path to state {node_id} failed: {result!r}")
            self._lean_states[nid] = result
            current = result
        return current


class _Timeout:
    """Internal marker: the Dojo timed out and was restarted."""
