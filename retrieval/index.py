"""faiss indexes over premise embeddings (inner product of unit vectors = cosine similarity).

Kinds, chosen by name from :data:`INDEX_KINDS`: ``flat`` (exact, ``IndexFlatIP``), ``hnsw``
(``IndexHNSWFlat``), ``ivf`` (``IndexIVFFlat``), and ``auto``: flat below
``IndexConfig.approx_threshold`` premises, hnsw above.

Searches can be restricted to a candidate set (the premises accessible from a theorem) with
faiss ID selectors; an approximate index that returns fewer than ``k`` candidates falls back to
exact scoring of the candidates, so a restricted search never returns too few results.

On disk an index is a directory: ``index.faiss`` and ``manifest.json`` (kind, size, dimension,
corpus digest, encoder id, sha256 of ``index.faiss``). ``save`` removes the manifest first and
writes it last, each file atomically; ``load`` refuses a directory without a manifest, with a
checksum mismatch, or built for another corpus or encoder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nesyrun.extras import require
from retrieval.errors import MissingExtraError
from nesyrun.files import atomic_write_bytes, atomic_write_text, sha256_file
from retrieval.errors import EmptyCorpusError, IndexCorruptError, IndexMismatchError, UnknownNameError

INDEX_FILE = "index.faiss"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class IndexConfig:
    """Which index and its knobs. ``ivf_nlist=None`` picks ``~4*sqrt(n)`` lists."""

    kind: str = "auto"
    approx_threshold: int = 100_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 128
    ivf_nlist: int | None = None
    ivf_nprobe: int = 16


def _build_flat(faiss, emb: np.ndarray, cfg: IndexConfig):
    index = faiss.IndexFlatIP(emb.shape[1])
    index.add(emb)
    return index


def _build_hnsw(faiss, emb: np.ndarray, cfg: IndexConfig):
    index = faiss.IndexHNSWFlat(emb.shape[1], cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = cfg.hnsw_ef_construction
    index.hnsw.efSearch = cfg.hnsw_ef_search
    index.add(emb)
    return index


def _build_ivf(faiss, emb: np.ndarray, cfg: IndexConfig):
    n, d = emb.shape
    # faiss wants >= 39 training points per list; never more lists than that allows.
    nlist = cfg.ivf_nlist or int(4 * math.sqrt(n))
    nlist = max(1, min(nlist, n // 39 or 1))
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(emb)
    index.add(emb)
    index.make_direct_map()  # lets restricted searches reconstruct candidate vectors
    index.nprobe = min(cfg.ivf_nprobe, nlist)
    return index


INDEX_KINDS: dict[str, Callable] = {"flat": _build_flat, "hnsw": _build_hnsw, "ivf": _build_ivf}
INDEX_ALIASES = {"exact": "flat", "flatip": "flat", "approximate": "hnsw"}


def resolve_kind(kind: str, n: int, cfg: IndexConfig) -> str:
    """The concrete kind for ``kind`` (``auto`` decided by corpus size); UnknownNameError if unknown."""
    k = INDEX_ALIASES.get(kind.lower(), kind.lower())
    if k == "auto":
        return "hnsw" if n >= cfg.approx_threshold else "flat"
    if k not in INDEX_KINDS:
        raise UnknownNameError(f"unknown index kind {kind!r}; known: auto, {', '.join(INDEX_KINDS)}")
    return k


class PremiseIndex:
    """A faiss index over the embeddings of one corpus made by one encoder."""

    def __init__(self, index, kind: str, corpus_digest: str, model_id: str, config: IndexConfig) -> None:
        self.index = index
        self.kind = kind
        self.corpus_digest = corpus_digest
        self.model_id = model_id
        self.config = config
        self._vectors: np.ndarray | None = None  # the stored embeddings, for exact search

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def exact(self) -> bool:
        return self.kind == "flat"

    @classmethod
    def build(cls, embeddings: np.ndarray, *, corpus_digest: str, model_id: str,
              config: IndexConfig = IndexConfig()) -> PremiseIndex:
        """Index ``embeddings`` (rows = corpus indices, unit vectors)."""
        faiss = require("faiss", "ml", error=MissingExtraError)
        emb = np.ascontiguousarray(embeddings, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[0] == 0:
            raise EmptyCorpusError(f"cannot build an index from embeddings of shape {emb.shape}")
        kind = resolve_kind(config.kind, emb.shape[0], config)
        return cls(INDEX_KINDS[kind](faiss, emb, config), kind, corpus_digest, model_id, config)

    # ------------------------------------------------------------------------------- search

    def _params(self, faiss, sel, k: int):
        if self.kind == "hnsw":
            return faiss.SearchParametersHNSW(sel=sel, efSearch=max(self.config.hnsw_ef_search, k))
        if self.kind == "ivf":
            return faiss.SearchParametersIVF(sel=sel, nprobe=self.index.nprobe)
        return faiss.SearchParameters(sel=sel)

    def search(self, queries: np.ndarray, k: int, candidates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, indices) per query row, best first; ``-1`` pads missing slots.

        ``candidates`` (sorted corpus indices) restricts every query of the batch to that set.
        """
        faiss = require("faiss", "ml", error=MissingExtraError)
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        k = max(1, min(k, self.size))
        if self.exact:
            return self._exact_search(q, k, candidates)
        if candidates is None:
            if self.kind == "hnsw":
                self.index.hnsw.efSearch = max(self.config.hnsw_ef_search, k)
            return _ties_by_index(*self.index.search(q, k))
        cand = np.ascontiguousarray(candidates, dtype=np.int64)
        if cand.size == 0:
            return np.full((len(q), k), -np.inf, dtype=np.float32), np.full((len(q), k), -1, dtype=np.int64)
        kk = min(k, cand.size)
        sel = faiss.IDSelectorBatch(cand)
        scores, ids = self.index.search(q, kk, params=self._params(faiss, sel, kk))
        if not self.exact and (ids < 0).any():
            # An approximate graph/list search can miss candidates when few are allowed: score
            # the candidates exactly instead (there are few of them when this happens).
            vecs = self.index.reconstruct_batch(cand)
            for row in np.flatnonzero((ids < 0).any(axis=1)):
                s = vecs @ q[row]
                top = np.argsort(-s, kind="stable")[:kk]
                scores[row], ids[row] = s[top], cand[top]
        scores, ids = _ties_by_index(scores, ids)
        if kk < k:
            pad = k - kk
            scores = np.hstack([scores, np.full((len(q), pad), -np.inf, dtype=np.float32)])
            ids = np.hstack([ids, np.full((len(q), pad), -1, dtype=np.int64)])
        return scores, ids

    def _exact_search(self, q: np.ndarray, k: int, candidates: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Exact inner products, cut with :func:`exact_top_k` (ties: lower index first), so the
        dense top-k does not depend on k or on faiss's order among equal scores (premises
        with the same statement have the same embedding)."""
        if self._vectors is None:
            self._vectors = self.index.reconstruct_n(0, self.size)
        cand = None if candidates is None else np.ascontiguousarray(candidates, dtype=np.int64)
        vecs = self._vectors if cand is None else self._vectors[cand]
        out_s = np.full((len(q), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(q), k), -1, dtype=np.int64)
        if vecs.shape[0] == 0:
            return out_s, out_i
        allowed = np.arange(vecs.shape[0]) if cand is None else cand
        for row, sc in enumerate(q @ vecs.T):
            full = np.full(self.size, -np.inf, dtype=np.float32)
            full[allowed] = sc
            idx, s = exact_top_k(full, allowed, k)
            out_s[row, : idx.size], out_i[row, : idx.size] = s, idx
        return out_s, out_i

    # --------------------------------------------------------------------------------- disk

    def save(self, directory: str | Path) -> Path:
        """Write ``index.faiss`` then ``manifest.json`` into ``directory`` (see module docstring)."""
        faiss = require("faiss", "ml", error=MissingExtraError)
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / MANIFEST_FILE).unlink(missing_ok=True)
        atomic_write_bytes(d / INDEX_FILE, faiss.serialize_index(self.index).tobytes())
        manifest = {
            "format": MANIFEST_FORMAT,
            "kind": self.kind,
            "size": self.size,
            "dim": self.dim,
            "corpus_digest": self.corpus_digest,
            "model_id": self.model_id,
            "index_sha256": sha256_file(d / INDEX_FILE),
            "index_bytes": (d / INDEX_FILE).stat().st_size,
            "config": {k: getattr(self.config, k) for k in self.config.__dataclass_fields__},
        }
        atomic_write_text(d / MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")
        return d

    @classmethod
    def load(cls, directory: str | Path, *, corpus_digest: str | None = None,
             model_id: str | None = None) -> PremiseIndex:
        """Load and verify an index directory; check it matches the corpus/encoder when given.

        Raises IndexCorruptError (missing/partial/corrupt files) or IndexMismatchError.
        """
        faiss = require("faiss", "ml", error=MissingExtraError)
        d = Path(directory)
        man_path, idx_path = d / MANIFEST_FILE, d / INDEX_FILE
        if not d.is_dir():
            raise IndexCorruptError(f"index directory {d} not found")
        if not man_path.is_file():
            raise IndexCorruptError(f"{man_path} is missing: {d} is not a complete index (rebuild it with `nesy index`)")
        try:
            man = json.loads(man_path.read_text(encoding="utf-8"))
            kind, size, dim = man["kind"], int(man["size"]), int(man["dim"])
            cfg = IndexConfig(**man.get("config", {}))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"{man_path} is malformed ({exc}); rebuild the index with `nesy index`") from exc
        if not idx_path.is_file():
            raise IndexCorruptError(f"{idx_path} is missing; rebuild the index with `nesy index`")
        if idx_path.stat().st_size != man.get("index_bytes") or sha256_file(idx_path) != man.get("index_sha256"):
            raise IndexCorruptError(f"{idx_path} does not match the checksum in {man_path}: the file is corrupt or was "
                                    "replaced; rebuild the index with `nesy index`")
        try:
            index = faiss.deserialize_index(np.frombuffer(idx_path.read_bytes(), dtype=np.uint8))
        except RuntimeError as exc:
            raise IndexCorruptError(f"{idx_path} cannot be read by faiss: {exc}") from exc
        if int(index.ntotal) != size or int(index.d) != dim:
            raise IndexCorruptError(f"{idx_path} holds {index.ntotal}x{index.d} vectors, the manifest says {size}x{dim}")
        if corpus_digest is not None and man.get("corpus_digest") != corpus_digest:
            raise IndexMismatchError(f"index {d} was built for another corpus (digest {str(man.get('corpus_digest'))[:12]}, "
                                     f"this corpus {corpus_digest[:12]}); rebuild it with `nesy index`")
        if model_id is not None and man.get("model_id") != model_id:
            raise IndexMismatchError(f"index {d} was built with another encoder (id {str(man.get('model_id'))[:12]}, "
                                     f"this encoder {model_id[:12]}); pass the same --model or rebuild the index")
        if kind == "ivf":
            index.make_direct_map()
            index.nprobe = min(cfg.ivf_nprobe, index.nlist)
        return cls(index, kind, man.get("corpus_digest", ""), man.get("model_id", ""), cfg)


def _ties_by_index(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of an approximate search sorted by score, ties by lower index, ``-1`` slots last."""
    for row in range(len(ids)):
        order = np.lexsort((ids[row], -scores[row], ids[row] < 0))
        scores[row], ids[row] = scores[row][order], ids[row][order]
    return scores, ids


def exact_top_k(scores: np.ndarray, candidates: Sequence[int] | np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best candidates by score (ties: lower index first) as (indices, scores)."""
    cand = np.arange(len(scores)) if candidates is None else np.asarray(candidates, dtype=np.int64)
    if cand.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    s = scores[cand]
    kk = min(k, cand.size)
    if kk < cand.size:
        # the kk-th best score; all better ones, then the lowest-index ties at the cut (an
        # argpartition alone would pick tied candidates at the cut arbitrarily, so top-10 and
        # the first 10 of a top-100 could differ)
        cut = np.partition(-s, kk - 1)[kk - 1]
        above = np.flatnonzero(-s < cut)
        tied = np.flatnonzero(-s == cut)
        tied = tied[np.argsort(cand[tied], kind="stable")][: kk - above.size]
        part = np.concatenate([above, tied])
    else:
        part = np.arange(cand.size)
    order = part[np.lexsort((cand[part], -s[part]))]
    return cand[order], s[order]
