"""The errors of ``provers/``.

Two families, kept apart on purpose:

* **Expected outcomes are values, not exceptions.** A tactic that fails, is refused, or times out
  is a :class:`provers.protocol.TacticError` returned by ``run_tac``.
* **Broken infrastructure and bad input are exceptions**, all subclasses of :class:`ProverError`:

  - :class:`EnvError` — the prover process itself is in trouble:
      :class:`EnvInitError` (failed to start, or the theorem does not elaborate),
      :class:`EnvCrashError` (the process died during a call; it has been restarted),
      :class:`EnvTimeoutError` (the process stopped answering even after an interrupt; it was
      killed and restarted).
    After an :class:`EnvCrashError` or :class:`EnvTimeoutError` the environment is usable again:
    every state handed out earlier can still be passed to ``run_tac`` (it is replayed).
  - :class:`InputError` — input the user gave is malformed (a ``.v`` file with no theorem, an
    unknown backend name, a missing optional dependency).
"""

from __future__ import annotations


class ProverError(Exception):
    """Base of every exception raised by ``provers/``."""


class InputError(ProverError):
    """Malformed user input: a file, a name, an argument."""


class UnknownBackendError(InputError):
    """A backend name that is not in the registry."""


class MissingDependencyError(InputError):
    """An optional extra or external program is not installed."""


class EnvError(ProverError):
    """The prover process failed (not the tactic)."""


class EnvInitError(EnvError):
    """The environment could not start, or the theorem's header or statement does not elaborate."""


class EnvCrashError(EnvError):
    """The prover process died during a call. The environment restarted it."""


class EnvTimeoutError(EnvError):
    """The prover process did not answer even after an interrupt; it was killed and restarted."""
