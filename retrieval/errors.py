"""The one exception hierarchy of ``retrieval/``.

Everything the user can fix (a malformed file, an unknown premise, a corrupt index, a missing
model, a missing extra) is a :class:`RetrievalError` subclass whose message names what was wrong
and where. The CLI prints these as ``nesy: error: <message>`` and exits with status 2. Anything
else escaping this package is a bug.
"""

from __future__ import annotations

from pathlib import Path


class RetrievalError(Exception):
    """Base class of every user-facing error raised by ``retrieval/``."""


class DatasetFormatError(RetrievalError):
    """A dataset file (``corpus.jsonl``, a split ``.json``, a manifest) is malformed.

    ``path`` is the offending file and ``line`` its 1-based line number when known.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class IncompleteDatasetError(DatasetFormatError):
    """A dataset directory whose writer did not finish (its ``.incomplete`` marker is present)."""


class SplitConfigError(RetrievalError, ValueError):
    """Split fractions that make no sense (a part below 0 or at least 1, or val + test >= 1)."""


class EmptyCorpusError(RetrievalError):
    """A corpus without a single premise: nothing could ever be retrieved from it."""


class UnknownPremiseError(RetrievalError):
    """A premise name (or provenance) that resolves to no premise of the corpus."""


class IndexCorruptError(RetrievalError):
    """An index directory whose files are missing, truncated, or fail their checksum."""


class IndexMismatchError(RetrievalError):
    """An index built for another corpus or another encoder than the one it is used with."""


class ModelNotFoundError(RetrievalError):
    """An encoder name or checkpoint path that does not lead to a loadable model."""


class UnknownNameError(RetrievalError):
    """An unknown name given to a registry (retriever, index kind, ...)."""


class MissingExtraError(RetrievalError):
    """An optional dependency is not installed; the message names the ``pip install`` to run."""


class TrainingError(RetrievalError):
    """Training cannot start or go on (no training examples, a bad configuration)."""
