"""What the retrieval-guided generators (``premises:``, ``knn:``) share: the traced dataset they
read (loaded once per process) and the place of the theorem they serve.

A theorem's *place* is its file and the position of its declaration, read from the problem's
context (:class:`provers.coq.library.LibraryTheorem`, as ``nesy eval library`` loads them). At a
place, a premise is accessible by ReProver's rule (:meth:`retrieval.corpus.PremiseCorpus.accessible_indices`):
defined in a file the theorem's file imports, or earlier in its own file, ending before the
declaration starts. So the theorem itself, the lemmas of its own proof and everything later in
its file are never accessible. A problem without a context (a miniF2F file) has no place: the
whole corpus is searched, and nothing of the problem's own is in it.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from provers.generators.base import GeneratorConfigError, GeneratorError


@dataclass(frozen=True)
class Place:
    """A theorem at its place: ``file`` (relative to the library root, as in the dataset),
    ``start`` (line, column) of its declaration, and its names."""

    file: str
    start: tuple[int, int]
    full_name: str
    short_name: str


def place_of(problem) -> Place | None:
    """The place of ``problem`` (a :class:`provers.protocol.Problem`), or None without a context."""
    ctx = getattr(problem, "context", None)
    if ctx is None:
        return None
    theorem = getattr(ctx, "theorem", None)
    file = getattr(ctx, "file", None)
    start = getattr(ctx, "start", None)
    if not start or tuple(start) == (0, 0):
        start = (getattr(theorem, "line", 0), 0)
    if file is None:
        return None
    full = getattr(ctx, "full_name", "") or getattr(problem, "name", "")
    return Place(str(file), (int(start[0]), int(start[1])), full, full.rsplit(".", 1)[-1])


def dataset_dir(arg: str, kind: str) -> Path:
    if not arg:
        raise GeneratorConfigError(f"{kind}: needs a traced dataset directory, e.g. {kind}:~/.cache/nesy/traced/coq-stdlib")
    path = Path(arg).expanduser()
    if not (path / "corpus.jsonl").is_file():
        raise GeneratorConfigError(f"{kind}:{arg}: not a traced dataset (no corpus.jsonl there; make one with nesy trace)")
    return path.resolve()


@functools.lru_cache(maxsize=4)
def load_corpus(path: Path):
    """The premise corpus of a traced dataset, read once per process."""
    from retrieval.corpus import PremiseCorpus
    from retrieval.errors import RetrievalError

    try:
        return PremiseCorpus.from_jsonl(path / "corpus.jsonl")
    except RetrievalError as exc:
        raise GeneratorError(f"cannot read the corpus of {path}: {exc}") from exc


@functools.lru_cache(maxsize=4)
def load_part(path: Path, split: str, part: str):
    """The traced theorems of ``split``/``part``, read once per process."""
    from retrieval.dataset import open_dataset
    from retrieval.errors import RetrievalError

    try:
        return open_dataset(path).read_part(split, part)
    except RetrievalError as exc:
        raise GeneratorError(f"cannot read {split}/{part} of {path}: {exc}") from exc


def accessible(corpus, place: Place | None) -> np.ndarray | None:
    """Sorted corpus indices accessible at ``place`` (None: no place, the whole corpus)."""
    if place is None:
        return None
    return corpus.accessible_indices(place.file, place.start)


def log_softmax(values: list[float]) -> list[float]:
    if not values:
        return []
    top = max(values)
    z = top + math.log(sum(math.exp(v - top) for v in values))
    return [v - z for v in values]


def relative_scores(scores: list[float], sharpness: float) -> list[float]:
    """Scores divided by the best one's magnitude, times ``sharpness``: a retriever's raw scores
    (BM25: 0..40, cosine: -1..1) on one scale before a softmax, so that half the best score costs
    ``sharpness / 2`` nats whatever the retriever."""
    top = max((abs(s) for s in scores), default=0.0)
    if top <= 0:
        return [0.0 for _ in scores]
    return [sharpness * s / top for s in scores]


_WORD = re.compile(r"[A-Za-z_][\w'.]*")


def mentions(tactic: str, name: str) -> bool:
    """True when ``tactic`` names ``name`` (as a whole identifier, qualified or not)."""
    if not name:
        return False
    return any(w == name or w.endswith("." + name) for w in _WORD.findall(tactic))


def build_premise_retriever(kind: str, corpus, who: str):
    """The ``kind`` retriever (``bm25``, ``dense`` or ``dense:PATH``,
    :func:`retrieval.registry.parse_retriever_spec`) over ``corpus``; a :class:`GeneratorError`
    naming ``who`` when it cannot be built."""
    from retrieval.errors import RetrievalError
    from retrieval.registry import build_retriever_spec

    try:
        return build_retriever_spec(kind, corpus)
    except RetrievalError as exc:
        raise GeneratorError(f"{who}: cannot build the {kind} retriever: {exc}") from exc


def retrieve_at(retriever, state: str, place: Place | None, n: int) -> list[tuple[int, float]]:
    """The ``n`` best premises for ``state`` accessible at ``place`` (all of the corpus without a
    place): ``(corpus index, retrieval score)``, best first."""
    from retrieval.retrievers import RetrievalRequest

    req = RetrievalRequest(state) if place is None else RetrievalRequest(state, place.file, place.start)
    ranking = retriever.rank([req], n)[0]
    return list(zip(ranking.indices, ranking.scores))
