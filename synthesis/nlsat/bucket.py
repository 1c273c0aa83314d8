"""Generate one bucket: sample, label, cross-check, deduplicate, select and build its records.

:func:`compute_bucket` is a pure function of ``(config, bucket, vocabulary)``: it reads and writes
no files, so the serial path and a Ray worker run exactly the same code, and the output does not
depend on the number of workers. Candidates are made in chunks of ``config.chunk_size`` with one seed
per chunk. At least ``stats_samples`` candidates are always made (they are the unbiased sample behind
the card's P(SAT) and effort figures); more chunks follow only while the selection cannot be
filled, up to ``max_candidates`` (rounded up to a whole chunk).

Only per-candidate counters and models (one byte per variable) are kept in memory; the literals
of the chosen candidates are re-sampled from their chunk seed at the end (cheap), never re-solved.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import numpy as np

from synthesis.nlsat.canonical import Deduplicator, canonical_hash, degree_keys
from synthesis.nlsat.config import GENERATOR_VERSION, Bucket, EffortMeasure, NLSatConfig
from synthesis.nlsat.labelling import Label, core_size, label_chunk, z3_label
from synthesis.nlsat.render import assign_atoms, render
from synthesis.nlsat.sampler import chunk_rng, sample_formulas, to_dimacs
from synthesis.nlsat.selection import is_satisfied, select, targets
from synthesis.nlsat.vocabulary import Vocabulary

QUESTION = "Is the theory consistent?"


@dataclass(frozen=True)
class Disagreement:
    """pysat and Z3 gave different labels to one formula."""

    record_id: str
    bucket: str
    dimacs: str
    solver_label: Label
    z3_label: Label


@dataclass(frozen=True)
class BucketResult:
    """What a bucket task returns. ``stats`` is deterministic; ``timing`` (seconds) is not.

    When ``disagreement`` is set the bucket stopped early: ``records`` is empty.
    """

    bucket: Bucket
    records: list[dict]
    stats: dict
    timing: dict
    disagreement: Disagreement | None = None


@dataclass
class _Counters:
    """Per-candidate arrays grown chunk by chunk (generation order)."""

    sat: list[np.ndarray] = field(default_factory=list)
    conflicts: list[np.ndarray] = field(default_factory=list)
    decisions: list[np.ndarray] = field(default_factory=list)
    propagations: list[np.ndarray] = field(default_factory=list)
    restarts: list[np.ndarray] = field(default_factory=list)
    models: list[np.ndarray] = field(default_factory=list)  # (B, n) bool: variable true (SAT rows)
    distinct: list[np.ndarray] = field(default_factory=list)
    checked: list[np.ndarray] = field(default_factory=list)

    def cat(self, name: str) -> np.ndarray:
        return np.concatenate(getattr(self, name))


def record_id(config: NLSatConfig, bucket: Bucket, index: int) -> str:
    """Stable id of candidate ``index`` of a bucket (SHA-256, 20 hex digits)."""
    text = f"{GENERATOR_VERSION}|{config.seed}|{bucket.k}|{bucket.n}|{bucket.m}|{index}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _chunk_formulas(config: NLSatConfig, bucket: Bucket, chunk: int) -> np.ndarray:
    rng = chunk_rng(config.seed, bucket.k, bucket.n, bucket.m, chunk)
    return sample_formulas(rng, bucket.n, bucket.m, bucket.k, config.chunk_size)


def compute_bucket(config: NLSatConfig, bucket: Bucket, vocabulary: Vocabulary) -> BucketResult:
    """Generate one bucket's records and statistics (see the module docstring)."""
    k, n, m = bucket.k, bucket.n, bucket.m
    tgts = targets(config.per_bucket, config.balance)
    size = config.chunk_size
    min_chunks = -(-config.stats_samples // size)
    max_chunks = max(min_chunks, -(-config.max_candidates // size))
    counters = _Counters()
    dedup = Deduplicator()
    timing = {"label_s": 0.0, "cross_check_s": 0.0, "dedup_s": 0.0, "sample_s": 0.0, "records_s": 0.0}
    z3_unknown = 0
    chunk = 0
    while True:
        t0 = time.perf_counter()
        lits = _chunk_formulas(config, bucket, chunk)
        t1 = time.perf_counter()
        labels = label_chunk(lits, config.solver, keep_models=True)
        t2 = time.perf_counter()
        checked = np.zeros(size, dtype=bool)
        if config.cross_check > 0:
            check_rng = chunk_rng(config.seed, k, n, m, chunk, stream="check")
            checked = check_rng.random(size) < config.cross_check
            for i in np.flatnonzero(checked):
                clauses = lits[i].tolist()
                answer = z3_label(clauses, n)
                if answer is None:
                    z3_unknown += 1
                    continue
                mine = Label.SAT if labels.sat[i] else Label.UNSAT
                if answer is not mine:
                    rid = record_id(config, bucket, chunk * size + int(i))
                    dimacs = to_dimacs(clauses, n, (f"id {rid}", f"{config.solver}: {mine.value}", f"z3: {answer.value}"))
                    return BucketResult(bucket, [], {}, timing, Disagreement(rid, bucket.name, dimacs, mine, answer))
        t3 = time.perf_counter()
        if config.dedup:
            keys = degree_keys(lits, n)
            rows = lits.tolist()
            distinct = np.fromiter((dedup.add(key, row) for key, row in zip(keys, rows)), dtype=bool, count=size)
        else:
            distinct = np.ones(size, dtype=bool)
        t4 = time.perf_counter()
        timing["sample_s"] += t1 - t0
        timing["label_s"] += t2 - t1
        timing["cross_check_s"] += t3 - t2
        timing["dedup_s"] += t4 - t3
        counters.sat.append(labels.sat)
        counters.conflicts.append(labels.conflicts)
        counters.decisions.append(labels.decisions)
        counters.propagations.append(labels.propagations)
        counters.restarts.append(labels.restarts)
        bits = np.zeros((size, n), dtype=bool)
        for i, model in enumerate(labels.models):
            if model is not None:  # pysat omits variables that occur in no clause
                lits_i = np.asarray(model, dtype=np.int64)
                lits_i = lits_i[np.abs(lits_i) <= n]
                bits[i, np.abs(lits_i) - 1] = lits_i > 0
        counters.models.append(bits)
        counters.distinct.append(distinct)
        counters.checked.append(checked)
        chunk += 1
        if chunk < min_chunks:
            continue
        if chunk >= max_chunks or is_satisfied(counters.cat("sat"), counters.cat("distinct"), tgts, config.hard_percentile):
            break

    sat = counters.cat("sat")
    conflicts = counters.cat("conflicts")
    decisions = counters.cat("decisions")
    propagations = counters.cat("propagations")
    distinct = counters.cat("distinct")
    checked_all = counters.cat("checked")
    effort = conflicts if config.effort is EffortMeasure.CONFLICTS else decisions + propagations
    groups = select(sat, distinct, effort, tgts, config.hard_percentile)

    t5 = time.perf_counter()
    chosen = sorted(i for g in groups for i in g.chosen)
    records = _build_records(config, bucket, vocabulary, chosen, counters, checked_all)
    timing["records_s"] = time.perf_counter() - t5
    timing["candidates"] = int(len(sat))
    timing["label_s_per_instance"] = timing["label_s"] / max(1, len(sat))

    s = config.stats_samples
    stats = {
        "bucket": bucket.name,
        "k": k,
        "n": n,
        "m": m,
        "ratios": list(bucket.ratios),
        "effective_ratio": m / n,
        "stats_samples": s,
        "sample_sat": "".join("1" if x else "0" for x in sat[:s]),
        "sample_conflicts": conflicts[:s].tolist(),
        "sample_decisions": decisions[:s].tolist(),
        "sample_propagations": propagations[:s].tolist(),
        "candidates": int(len(sat)),
        "candidates_sat": int(sat.sum()),
        "distinct": int(distinct.sum()),
        "dedup_exact_checks": dedup.exact_checks,
        "cross_checked": int(checked_all.sum()),
        "z3_unknown": z3_unknown,
        "groups": [
            {
                "label": None if g.target.sat is None else (Label.SAT if g.target.sat else Label.UNSAT).value,
                "wanted": g.target.count,
                "selected": len(g.chosen),
                "shortfall": g.target.count - len(g.chosen),
                "distinct_pool": g.pool,
                "hard_set": g.hard,
                "hard_threshold": g.threshold,
            }
            for g in groups
        ],
    }
    return BucketResult(bucket, records, stats, timing)


def _build_records(config, bucket, vocabulary, chosen, counters: _Counters, checked: np.ndarray) -> list[dict]:
    k, n, m = bucket.k, bucket.n, bucket.m
    size = config.chunk_size
    sat, conflicts, decisions = counters.cat("sat"), counters.cat("conflicts"), counters.cat("decisions")
    propagations, restarts = counters.cat("propagations"), counters.cat("restarts")
    models = np.concatenate(counters.models) if chosen else None
    variables = np.arange(1, n + 1)
    by_chunk: dict[int, list[int]] = {}
    for g in chosen:
        by_chunk.setdefault(g // size, []).append(g)
    records = []
    for chunk, members in sorted(by_chunk.items()):
        lits = _chunk_formulas(config, bucket, chunk)
        for g in members:
            i = g - chunk * size
            clauses = lits[i].tolist()
            rid = record_id(config, bucket, g)
            label = Label.SAT if sat[g] else Label.UNSAT
            rng = np.random.Generator(np.random.PCG64(int(rid, 16)))
            rendering = render(clauses, assign_atoms(n, config.fragment, vocabulary, rng), config.fragment)
            records.append(
                {
                    "id": rid,
                    "canonical_hash": canonical_hash(clauses, n, k),
                    "k": k,
                    "n": n,
                    "m": m,
                    "ratio": m / n,
                    "nominal_ratios": list(bucket.ratios),
                    "seed": {"dataset": config.seed, "chunk": chunk, "index": i},
                    "fragment": config.fragment.value,
                    "question": QUESTION,
                    "theory": rendering.text,
                    "sentences": list(rendering.sentences),
                    "fol": list(rendering.fol),
                    "atoms": [list(a) for a in rendering.atoms],
                    "dimacs": to_dimacs(clauses, n),
                    "label": label.value,
                    "consistent": label is Label.SAT,
                    "model": np.where(models[g], variables, -variables).tolist() if label is Label.SAT else None,
                    "core_size": core_size(clauses, n, config.solver) if (config.core and label is Label.UNSAT) else None,
                    "effort": {
                        "conflicts": int(conflicts[g]),
                        "decisions": int(decisions[g]),
                        "propagations": int(propagations[g]),
                        "restarts": int(restarts[g]),
                    },
                    "solver": config.solver,
                    "z3_checked": bool(checked[g]),
                }
            )
    return records
