"""Retrievers by name, like the backends (:mod:`provers.registry`) and generators
(:mod:`provers.generators.registry`).

``build_retriever(kind, corpus, options)`` -> an object with ``name`` and ``rank(requests, k)``
(:class:`retrieval.retrievers.Retriever`). Adding a retriever is one builder function and one
line in :data:`RETRIEVERS`; ``nesy retrieve``, ``nesy eval retrieval`` and the retrieval-guided
tactic generators all build retrievers here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.corpus import PremiseCorpus
from retrieval.errors import UnknownNameError


@dataclass(frozen=True)
class RetrieverOptions:
    """What builders may need. ``model``: an encoder directory or name (dense); ``index``: a saved
    faiss index to load instead of embedding the corpus; ``cache``: an embedding cache (None: none);
    ``name``: the label rows carry (default: the kind); ``max_seq_len``/``batch_size``: encoding."""

    model: str | None = None
    index: Path | None = None
    cache: Any = None
    progress: bool = False
    name: str | None = None
    max_seq_len: int | None = None  # None: the checkpoint's own
    batch_size: int = 64


def _bm25(corpus: PremiseCorpus, options: RetrieverOptions):
    from retrieval.retrievers import BM25Retriever

    return BM25Retriever(corpus)


def _dense(corpus: PremiseCorpus, options: RetrieverOptions):
    from retrieval.encoder import DenseEncoder, EncoderConfig
    from retrieval.retrievers import DenseRetriever, build_dense_retriever

    settings = {"max_seq_len": options.max_seq_len, "batch_size": options.batch_size}
    encoder = DenseEncoder(EncoderConfig(model=options.model, **settings) if options.model else EncoderConfig(**settings))
    if options.index is not None:
        from retrieval.index import PremiseIndex

        index = PremiseIndex.load(options.index, corpus_digest=corpus.digest, model_id=encoder.model_id)
        return DenseRetriever(corpus, encoder, index)
    return build_dense_retriever(corpus, encoder, cache=options.cache, progress=options.progress, name=options.name or "dense")


RETRIEVERS: dict[str, tuple[str, Callable[[PremiseCorpus, RetrieverOptions], Any]]] = {
    "bm25": ("Okapi BM25 over premise text (rank-bm25)", _bm25),
    "dense": ("a bi-encoder (pretrained MiniLM by default, or a checkpoint of `nesy train retriever`) + faiss", _dense),
}


def retriever_names() -> list[str]:
    return sorted(RETRIEVERS)


def parse_retriever_spec(spec: str) -> tuple[str, RetrieverOptions]:
    """``bm25``, ``dense`` (the pretrained MiniLM) or ``dense:PATH`` (a checkpoint of ``nesy train
    retriever``, or any encoder directory) -> (kind, options); :class:`UnknownNameError` otherwise.
    A dense retriever gets the default embedding cache (``$NESY_CACHE/retrieval/embeddings``)."""
    kind, sep, model = spec.partition(":")
    if kind not in RETRIEVERS or (sep and (kind != "dense" or not model.strip())):
        raise UnknownNameError(f"unknown retriever {spec!r}; known: bm25, dense, dense:PATH (an encoder checkpoint)")
    if kind != "dense":
        return kind, RetrieverOptions()
    from retrieval.embeddings import EmbeddingCache

    # the corpus embeddings are cached (keyed by weights, length, corpus and text format), so a
    # job's workers and later jobs embed a corpus once, as nesy index / eval retrieval do
    return kind, RetrieverOptions(model=str(Path(model.strip()).expanduser()) if sep else None, cache=EmbeddingCache())


def build_retriever_spec(spec: str, corpus: PremiseCorpus):
    """The retriever a spec names (:func:`parse_retriever_spec`) over ``corpus``."""
    kind, options = parse_retriever_spec(spec)
    return build_retriever(kind, corpus, options)


def build_retriever(kind: str, corpus: PremiseCorpus, options: RetrieverOptions | None = None):
    """The retriever ``kind`` over ``corpus``; :class:`UnknownNameError` naming the known ones."""
    if kind not in RETRIEVERS:
        raise UnknownNameError(f"unknown retriever {kind!r}; known: {', '.join(retriever_names())}")
    return RETRIEVERS[kind][1](corpus, options or RetrieverOptions())
