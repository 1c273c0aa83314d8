"""Premise embeddings, computed once per (model, corpus) and cached on disk.

The cache key is the sha256 of the encoder's :attr:`model_id`, its ``max_seq_len``, the corpus
:attr:`digest` and :data:`~retrieval.text.TEXT_FORMAT`. An entry is ``<key>.npy`` plus
``<key>.json`` (shape and sha256 of the ``.npy``), both written atomically, the ``.json`` last;
an entry whose checksum or shape does not match is ignored and recomputed, never trusted.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from nesyrun.files import atomic_write_bytes, atomic_write_text
from nesyrun.cache import cache_dir
from retrieval.corpus import PremiseCorpus
from retrieval.encoder import DenseEncoder
from retrieval.text import TEXT_FORMAT, premise_text


def default_cache_dir() -> Path:
    """``$NESY_CACHE/retrieval/embeddings`` (default ``~/.cache/nesy/retrieval/embeddings``)."""
    return cache_dir("retrieval", "embeddings")


def cache_key(encoder: DenseEncoder, corpus: PremiseCorpus) -> str:
    parts = [encoder.model_id, str(encoder.max_seq_len), corpus.digest, TEXT_FORMAT]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class EmbeddingCache:
    """A directory of cached embedding matrices (see the module docstring)."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.npy", self.directory / f"{key}.json"

    def get(self, key: str, shape: tuple[int, int]) -> np.ndarray | None:
        """The cached matrix, or None if absent, of another shape, or failing its checksum."""
        npy, meta = self._paths(key)
        if not (npy.is_file() and meta.is_file()):
            return None
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            data = npy.read_bytes()
            if hashlib.sha256(data).hexdigest() != info.get("sha256"):
                return None
            arr = np.load(io.BytesIO(data), allow_pickle=False)
        except (OSError, ValueError, json.JSONDecodeError):
            return None
        if arr.shape != tuple(shape) or arr.dtype != np.float32:
            return None
        return arr

    def put(self, key: str, arr: np.ndarray) -> None:
        npy, meta = self._paths(key)
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(arr, dtype=np.float32), allow_pickle=False)
        data = buf.getvalue()
        atomic_write_bytes(npy, data)
        atomic_write_text(meta, json.dumps({"shape": list(arr.shape), "sha256": hashlib.sha256(data).hexdigest()}))


def embed_corpus(
    corpus: PremiseCorpus,
    encoder: DenseEncoder,
    cache: EmbeddingCache | None = None,
    *,
    progress: bool = False,
) -> np.ndarray:
    """``(len(corpus), dim)`` unit vectors of every premise, from ``cache`` when already there."""
    key = cache_key(encoder, corpus)
    shape = (len(corpus), encoder.dim)
    if cache is not None:
        hit = cache.get(key, shape)
        if hit is not None:
            return hit
    arr = encoder.encode([premise_text(p) for p in corpus.premises], progress=progress, desc="encoding premises")
    if cache is not None:
        cache.put(key, arr)
    return arr
