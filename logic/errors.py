"""The one exception hierarchy of ``logic/``.

Expected outcomes (a conclusion that is not provable, a prover that runs out of its time budget,
an LLM sample that does not parse) are *values* in result objects. Exceptions are for input the
user must fix and for broken infrastructure:

``LogicError``
    ``ParseError``           a formula string is not well formed (position + what was expected)
    ``TranslationError``     a natural-language sentence could not be translated (names it)
    ``DataError``            a benchmark file is missing or not in a known format
    ``UnknownBackendError``  a prover / translator name that is not in its registry
    ``MissingDependencyError``  an optional extra is not installed (names the pip command)
    ``ProverUnavailableError``  a prover binary cannot be found or run
    ``ProverCrashError``     a prover process died or produced output we cannot read
    ``ModelError``           an LLM backend failed (model not loadable, endpoint unreachable)

The CLI prints every ``LogicError`` as ``nesy: error: <message>`` and exits with status 2.
"""

from __future__ import annotations


class LogicError(Exception):
    """Base class of every error raised on purpose by ``logic/``."""


class ParseError(LogicError):
    """A formula string is not well formed.

    ``position`` is the 0-based character offset where parsing failed, ``expected`` says what
    the parser was looking for there, ``text`` is the whole input.
    """

    def __init__(self, text: str, position: int, expected: str, found: str | None = None) -> None:
        self.text = text
        self.position = position
        self.expected = expected
        self.found = found
        shown = text if len(text) <= 120 else text[:117] + "..."
        what = f"found {found!r}" if found else "found end of input"
        super().__init__(f"cannot parse formula at position {position}: expected {expected}, {what} in {shown!r}")


class TranslationError(LogicError):
    """A natural-language sentence is outside what a translator can read."""

    def __init__(self, sentence: str, reason: str = "not covered by the controlled-English grammar") -> None:
        self.sentence = sentence
        self.reason = reason
        super().__init__(f"cannot translate sentence {sentence!r}: {reason}")


class DataError(LogicError):
    """A benchmark file is missing, unreadable or not in a format we know."""


class UnknownBackendError(LogicError):
    """A name that is not in a registry (provers, translators, datasets)."""


class MissingDependencyError(LogicError):
    """An optional dependency is missing; the message names the ``pip install`` to run."""


class ProverUnavailableError(LogicError):
    """A prover binary cannot be found or started."""


class ProverCrashError(LogicError):
    """A prover process died or gave output we could not interpret."""


class ModelError(LogicError):
    """An LLM backend could not be loaded or queried."""


class FormulaTooDeepError(LogicError, ValueError):
    """A syntax tree deeper than ``logic.syntax.MAX_DEPTH`` levels was about to be built.

    Raised by the node constructors, so no formula that printing, hashing or proving would have
    to recurse through too deeply can exist; the parser turns it into a ``ParseError``."""

    def __init__(self, depth: int, limit: int) -> None:
        self.depth = depth
        self.limit = limit
        super().__init__(f"formula nested {depth} levels deep (at most {limit} levels are supported)")
