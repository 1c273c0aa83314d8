"""The traced tactics of a split part as a searchable memory of (goal state, tactic) pairs.

What a Tactician-style k-nearest-neighbour tactic predictor needs (:mod:`provers.generators.knn`):
every tactic of the *training* theorems with the goal state it was run on, where it was run (file,
theorem start), and the corpus premises it names, and a search for the states nearest to a new
one. Two searches: ``bm25`` (Okapi BM25 over the states' terms, :func:`retrieval.text.bm25_query_tokens`;
cheap, no model) and ``dense`` (the encoder's L2-normalised embeddings, exact inner-product search).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.corpus import PremiseCorpus
from retrieval.dataset import Pos, TracedTheorem, open_dataset
from retrieval.errors import RetrievalError
from retrieval.index import exact_top_k
from retrieval.retrievers import BM25Index
from retrieval.text import QUERY_FORMAT, bm25_query_tokens, query_text_as

STATE_SEARCHES = ("bm25", "dense")


@dataclass(frozen=True)
class TacticRecord:
    """One traced tactic: the state before it, the tactic, where, and the premises it names
    (corpus indices; ``unresolved``: names that resolve to no premise of the corpus)."""

    state: str
    tactic: str
    theorem: str
    file_path: str
    theorem_start: Pos
    premises: tuple[int, ...]
    unresolved: int = 0


def tactic_records(corpus: PremiseCorpus, theorems: Sequence[TracedTheorem]) -> list[TacticRecord]:
    """Every traced tactic of ``theorems`` (empty tactics and states with no goals left out)."""
    out: list[TacticRecord] = []
    for thm in theorems:
        for tac in thm.traced_tactics:
            text = tac.tactic.strip()
            if not text or not tac.state_before.strip() or tac.state_before.strip() == "no goals":
                continue
            found, unresolved = corpus.resolve_all(tac.annotated_tactic.provenances)
            out.append(TacticRecord(tac.state_before, text, thm.full_name, thm.file_path, Pos(*thm.start),
                                    tuple(sorted(found)), unresolved))
    return out


class StateMemory:
    """The tactic records of a split part, searchable by goal state.

    ``nearest(state, k, exclude=..., weights=...)`` gives ``(record index, similarity)`` pairs, best first;
    ``exclude`` is a boolean mask over records that must not be returned (the evaluated theorem's
    own states, when the memory is not built from the training part alone).
    """

    def __init__(self, records: list[TacticRecord], search: str = "bm25", encoder=None) -> None:
        if search not in STATE_SEARCHES:
            raise RetrievalError(f"unknown state search {search!r}; known: {', '.join(STATE_SEARCHES)}")
        if not records:
            raise RetrievalError("no traced tactics to search (the split part has no tactic with a goal state)")
        self.records = records
        self.search = search
        self.encoder = None
        if search == "bm25":
            self._bm25 = BM25Index([bm25_query_tokens(r.state) for r in records])
        else:
            from retrieval.encoder import DenseEncoder, EncoderConfig

            self.encoder = encoder or DenseEncoder(EncoderConfig())
            self._emb = np.asarray(self.encoder.encode([self._text(r.state) for r in records]), dtype=np.float32)

    def _text(self, state: str) -> str:
        """A state as the encoder reads queries (a trained checkpoint: the format it was trained on)."""
        return query_text_as(getattr(self.encoder, "query_format", QUERY_FORMAT), state)

    def __len__(self) -> int:
        return len(self.records)

    def similarities(self, state: str) -> np.ndarray:
        if self.search == "bm25":
            return self._bm25.scores(bm25_query_tokens(state))
        q = np.asarray(self.encoder.encode([self._text(state)]), dtype=np.float32)[0]
        return self._emb @ q

    def nearest(self, state: str, k: int, exclude: np.ndarray | None = None,
                weights: np.ndarray | None = None) -> list[tuple[int, float]]:
        """``weights`` (one factor per record) multiply the similarities before the top-k cut."""
        sims = self.similarities(state)
        if weights is not None:
            sims = sims * weights
        cand = None if exclude is None else np.flatnonzero(~exclude)
        idx, sc = exact_top_k(sims, cand, k)
        return [(int(i), float(s)) for i, s in zip(idx, sc)]


def load_memory(dataset: str | Path, split: str, part: str = "train", search: str = "bm25") -> tuple[PremiseCorpus, StateMemory]:
    """The corpus of a traced dataset and a :class:`StateMemory` of one split part's tactics."""
    ds = open_dataset(Path(dataset).expanduser())
    corpus = PremiseCorpus.from_jsonl(ds.corpus_path)
    return corpus, StateMemory(tactic_records(corpus, ds.read_part(split, part)), search)
