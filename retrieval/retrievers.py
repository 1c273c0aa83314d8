"""Retrievers: rank the premises of a corpus for goal states, accessible premises only.

Both retrievers implement one small interface, :class:`Retriever`: ``rank(requests, k)`` returns
one :class:`Ranking` per request. A request carrying ``file_path``/``pos`` is restricted to the
premises accessible there (:meth:`PremiseCorpus.accessible_indices`); without them, the whole
corpus is searched. Requests from the same theorem share one accessibility computation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from nesyrun.extras import require
from retrieval.errors import MissingExtraError
from retrieval.corpus import PremiseCorpus
from retrieval.dataset import Pos
from retrieval.encoder import DenseEncoder
from retrieval.index import PremiseIndex, exact_top_k
from retrieval.text import bm25_query_tokens, bm25_tokens, premise_text, query_text_as


@dataclass(frozen=True)
class RetrievalRequest:
    """A goal state, and optionally where it is (to filter by accessibility)."""

    state: str
    file_path: str | None = None
    pos: Pos | None = None


@dataclass(frozen=True)
class Ranking:
    """Corpus indices best first, with their scores (higher is better); at most ``k`` long."""

    indices: tuple[int, ...]
    scores: tuple[float, ...]


class Retriever(Protocol):
    name: str

    def rank(self, requests: Sequence[RetrievalRequest], k: int, *, progress: bool = False) -> list[Ranking]:
        ...


def _groups(corpus: PremiseCorpus, requests: Sequence[RetrievalRequest]):
    """Yield (candidate indices or None, request positions) per distinct (file, pos)."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, r in enumerate(requests):
        key = (r.file_path, tuple(r.pos)) if r.file_path is not None and r.pos is not None else None
        groups[key].append(i)
    for key, members in groups.items():
        cand = None if key is None else corpus.accessible_indices(key[0], key[1])
        yield cand, members


@dataclass(frozen=True)
class BM25Config:
    """Okapi BM25 parameters (rank-bm25's defaults)."""

    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25


class BM25Index:
    """Okapi BM25 over token lists, built with rank-bm25: rank-bm25 computes the document
    statistics and idf; scoring uses an inverted index built from them, which gives the same
    scores as ``BM25Okapi.get_scores`` without its per-document loop. Shared by the premise
    retriever and the kNN memory of traced states (:mod:`retrieval.states`)."""

    def __init__(self, docs: list[list[str]], k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> None:
        rank_bm25 = require("rank_bm25", "ml", error=MissingExtraError)
        self.bm25 = rank_bm25.BM25Okapi([d or ["<empty>"] for d in docs], k1=k1, b=b, epsilon=epsilon)
        self.k1 = k1
        self.size = len(docs)
        doc_len = np.asarray(self.bm25.doc_len, dtype=np.float64)
        self._norm = k1 * (1 - b + b * doc_len / self.bm25.avgdl)
        postings: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for d, freqs in enumerate(self.bm25.doc_freqs):
            for term, tf in freqs.items():
                ids, tfs = postings[term]
                ids.append(d)
                tfs.append(tf)
        self._postings = {t: (np.asarray(i, dtype=np.int64), np.asarray(f, dtype=np.float64))
                          for t, (i, f) in postings.items()}

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every document for the query ``tokens``."""
        out = np.zeros(self.size, dtype=np.float64)
        counts: dict[str, int] = defaultdict(int)
        for tok in tokens:
            counts[tok] += 1
        for term, c in counts.items():
            post = self._postings.get(term)
            idf = self.bm25.idf.get(term)
            if post is None or not idf:
                continue
            ids, tf = post
            out[ids] += c * idf * (tf * (self.k1 + 1) / (tf + self._norm[ids]))
        return out


class BM25Retriever:
    """Okapi BM25 over premise statements (:class:`BM25Index`); states are tokenized by
    :func:`retrieval.text.bm25_query_tokens`."""

    name = "bm25"

    def __init__(self, corpus: PremiseCorpus, config: BM25Config = BM25Config()) -> None:
        self.corpus = corpus
        self.config = config
        self.index = BM25Index([bm25_tokens(premise_text(p)) for p in corpus.premises], k1=config.k1, b=config.b, epsilon=config.epsilon)

    def scores(self, state: str) -> np.ndarray:
        """BM25 score of every premise for ``state`` (equal to rank-bm25's ``get_scores``)."""
        return self.index.scores(bm25_query_tokens(state))

    def rank(self, requests: Sequence[RetrievalRequest], k: int, *, progress: bool = False) -> list[Ranking]:
        from tqdm import tqdm

        results: list[Ranking | None] = [None] * len(requests)
        with tqdm(total=len(requests), desc="bm25", unit="query", disable=not progress, leave=False) as bar:
            for cand, members in _groups(self.corpus, requests):
                for i in members:
                    idx, sc = exact_top_k(self.scores(requests[i].state), cand, k)
                    results[i] = Ranking(tuple(int(x) for x in idx), tuple(float(x) for x in sc))
                    bar.update(1)
        return results  # type: ignore[return-value]


class DenseRetriever:
    """An encoder for the goal states plus a faiss index of the premise embeddings."""

    def __init__(self, corpus: PremiseCorpus, encoder: DenseEncoder, index: PremiseIndex, name: str = "dense") -> None:
        self.corpus = corpus
        self.encoder = encoder
        self.index = index
        self.name = name

    def rank(self, requests: Sequence[RetrievalRequest], k: int, *, progress: bool = False) -> list[Ranking]:
        from tqdm import tqdm

        vecs = self.encoder.encode([query_text_as(self.encoder.query_format, r.state) for r in requests], progress=progress, desc="encoding goals")
        results: list[Ranking | None] = [None] * len(requests)
        with tqdm(total=len(requests), desc=f"{self.name} search", unit="query", disable=not progress,
                  leave=False) as bar:
            for cand, members in _groups(self.corpus, requests):
                scores, ids = self.index.search(vecs[members], k, cand)
                for row, i in enumerate(members):
                    keep = ids[row] >= 0
                    results[i] = Ranking(tuple(int(x) for x in ids[row][keep]),
                                         tuple(float(x) for x in scores[row][keep]))
                bar.update(len(members))
        return results  # type: ignore[return-value]


def build_dense_retriever(corpus: PremiseCorpus, encoder: DenseEncoder, *, cache=None, index_config=None,
                          progress: bool = False, name: str = "dense") -> DenseRetriever:
    """Embed the corpus (through ``cache``) and index it in memory."""
    from retrieval.embeddings import embed_corpus
    from retrieval.index import IndexConfig

    emb = embed_corpus(corpus, encoder, cache, progress=progress)
    index = PremiseIndex.build(emb, corpus_digest=corpus.digest, model_id=encoder.model_id,
                               config=index_config or IndexConfig())
    return DenseRetriever(corpus, encoder, index, name=name)
