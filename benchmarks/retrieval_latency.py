"""Median query latency (encode + search) on a large premise index, exact vs approximate.

Builds a corpus of SYNTHETIC premise strings (Coq-like lemma statements generated from a seeded
vocabulary; no real library is needed), embeds it once with the dense encoder (cached on disk,
so reruns skip this), builds an exact ``IndexFlatIP`` and approximate HNSW and IVF indexes, then
times ``encode one goal + search top-k`` per query for each index, and measures the approximate
indexes' Recall@k against the exact top-k. Everything is printed side by side in one run.

    .venv/bin/python benchmarks/retrieval_latency.py                 # 100k premises
    .venv/bin/python benchmarks/retrieval_latency.py --n-premises 20000 --queries 100
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

_TYPES = ["nat", "Z", "R", "list A", "bool", "Q", "positive", "option A", "A * B", "set A"]
_FUNS = ["add", "mul", "sub", "app", "rev", "map", "fold", "max", "min", "gcd", "div", "mod", "pow", "len",
         "filter", "concat", "union", "inter", "succ", "pred", "abs", "opp", "inv", "sqrt", "nth", "firstn"]
_RELS = ["=", "<=", "<", "<>", "->", "<->"]


def synthetic_premises(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` (name, statement) pairs, distinct, from a seeded random grammar."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        f, g, h = rng.sample(_FUNS, 3)
        t = rng.choice(_TYPES)
        rel = rng.choice(_RELS)
        name = f"{f}_{g}_{h}_{i}"
        out.append((name, f"Lemma {name} : forall x y : {t}, {f} ({g} x y) {rel} {h} ({f} y) x."))
    return out


def synthetic_goals(n: int, seed: int) -> list[str]:
    rng = random.Random(seed + 1)
    goals = []
    for _ in range(n):
        f, g = rng.sample(_FUNS, 2)
        t = rng.choice(_TYPES)
        goals.append(f"a b : {t}\nH : {g} a b {rng.choice(_RELS)} a\n⊢ {f} ({g} a b) {rng.choice(_RELS)} {f} b")
    return goals


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-premises", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--max-seq-len", type=int, default=64, help="tokens per text (the statements are short)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", help="embedding cache (default: $NESY_CACHE or ~/.cache/nesy)")
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args(argv)

    from retrieval.corpus import PremiseCorpus
    from retrieval.dataset import CorpusFile, Pos, Premise
    from retrieval.embeddings import EmbeddingCache, embed_corpus
    from retrieval.encoder import DenseEncoder, EncoderConfig
    from retrieval.index import IndexConfig, PremiseIndex

    per_file = 1000
    prem = synthetic_premises(args.n_premises, args.seed)
    files = []
    for f0 in range(0, len(prem), per_file):
        path = f"Synthetic/F{f0 // per_file:04d}.v"
        files.append(CorpusFile(path, (), tuple(
            Premise(name, path, code, Pos(j + 1, 1), Pos(j + 1, len(code))) for j, (name, code) in enumerate(prem[f0:f0 + per_file]))))
    corpus = PremiseCorpus(files, source="synthetic")
    encoder = DenseEncoder(EncoderConfig(model=args.model, max_seq_len=args.max_seq_len, batch_size=256))
    t0 = time.monotonic()
    emb = embed_corpus(corpus, encoder, EmbeddingCache(args.cache_dir), progress=True)
    t_embed = time.monotonic() - t0

    indexes = {}
    build_s = {}
    for kind in ("flat", "hnsw", "ivf"):
        t0 = time.monotonic()
        indexes[kind] = PremiseIndex.build(emb, corpus_digest=corpus.digest, model_id=encoder.model_id,
                                           config=IndexConfig(kind=kind))
        build_s[kind] = time.monotonic() - t0

    goals = synthetic_goals(args.queries, args.seed)
    encoder.encode(goals[:5])  # warm-up
    # Per query: encode once (timed), then search every index with that vector (each timed);
    # an index's latency for the query is encode + its search.
    latencies: dict[str, list[float]] = {k: [] for k in indexes}
    search_s: dict[str, list[float]] = {k: [] for k in indexes}
    top: dict[str, list[np.ndarray]] = {k: [] for k in indexes}
    encode_only: list[float] = []
    for goal in goals:
        t0 = time.perf_counter()
        vec = encoder.encode([goal])
        enc = time.perf_counter() - t0
        encode_only.append(enc)
        for kind, index in indexes.items():
            t0 = time.perf_counter()
            _, ids = index.search(vec, args.k)
            s = time.perf_counter() - t0
            search_s[kind].append(s)
            latencies[kind].append(enc + s)
            top[kind].append(ids[0])
    rows = []
    for kind in indexes:
        recall = float(np.mean([len(set(a.tolist()) & set(b.tolist())) / args.k for a, b in zip(top[kind], top["flat"])]))
        rows.append({"index": kind, "exact": kind == "flat", "median_ms": 1000 * statistics.median(latencies[kind]),
                     "p90_ms": 1000 * float(np.percentile(latencies[kind], 90)),
                     "search_only_median_ms": 1000 * statistics.median(search_s[kind]),
                     f"recall@{args.k}_vs_exact": recall, "build_s": build_s[kind]})

    print(f"retrieval latency: {len(corpus)} SYNTHETIC premise strings (generated, not a real library), "
          f"{args.queries} synthetic goal queries, k={args.k}, model {encoder.name} (max {args.max_seq_len} tokens), "
          f"CPU threads: {__import__('torch').get_num_threads()}")
    print(f"corpus embedding: {t_embed:.1f}s (0 when served from the cache); median encode-only: "
          f"{1000 * statistics.median(encode_only):.2f} ms")
    print(f"| index | exact | median ms (encode+search) | p90 ms | search-only median ms | Recall@{args.k} vs exact | build s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['index']} | {'yes' if r['exact'] else 'no'} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} | "
              f"{r['search_only_median_ms']:.2f} | {r[f'recall@{args.k}_vs_exact']:.3f} | {r['build_s']:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"n_premises": len(corpus), "synthetic": True, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
