"""Check a request completely before any work starts (impossible requests are ConfigErrors)."""

from __future__ import annotations

from synthesis.errors import ConfigError
from synthesis.nlsat.canonical import count_distinct_formulas
from synthesis.nlsat.config import Bucket, NLSatConfig, clause_count, hard_keep_count
from synthesis.nlsat.labelling import solver_name
from synthesis.nlsat.render import check_capacity
from synthesis.nlsat.selection import pool_needed, targets
from synthesis.nlsat.vocabulary import Vocabulary, load_vocabulary

MAX_VARS = 100_000
#: Most clauses a formula may have, and the memory one chunk of formulas may take while sampling
#: (``chunk_size * m * k`` int64 literals, about four arrays of that size alive at once).
MAX_CLAUSES = 1_000_000
CHUNK_MEMORY_BYTES = 2 * 1024**3


def validate(config: NLSatConfig) -> tuple[list[Bucket], Vocabulary]:
    """Return the buckets and the vocabulary of a valid request, or raise ConfigError.

    Checks: k >= 1; each n >= k; each ratio > 0 and giving at least one clause; per_bucket >= 1;
    0 <= hard_percentile < 100; 0 <= cross_check <= 1; 1 <= stats_samples <= max_candidates;
    a known solver; a non-empty vocabulary large enough for the fragment; enough distinct formulas
    in every bucket for ``per_bucket`` records (and for the hard share of them); a candidate budget
    that can hold the pool the hard filter needs.
    """
    if not config.vars:
        raise ConfigError("--vars: no variable counts given")
    if not config.ratios:
        raise ConfigError("--ratio: no ratios given")
    if config.k < 1:
        raise ConfigError(f"--k must be at least 1, got {config.k}")
    for n in config.vars:
        if n < 1 or n > MAX_VARS:
            raise ConfigError(f"--vars: variable count {n} is out of range 1..{MAX_VARS}")
        if config.k > n:
            raise ConfigError(f"--k {config.k} > n = {n}: a clause cannot have more distinct variables than exist")
    for r in config.ratios:
        if float(r) <= 0:
            raise ConfigError(f"--ratio must be > 0, got {r}")
        for n in config.vars:
            m = clause_count(r, n)
            if m < 1:
                raise ConfigError(f"--ratio {r} with n = {n} gives round({r} * {n}) = 0 clauses")
            if m > MAX_CLAUSES:
                raise ConfigError(f"--ratio {r} with n = {n} gives m = {m} clauses; at most {MAX_CLAUSES} are supported")
            need = 4 * 8 * config.chunk_size * m * config.k
            if need > CHUNK_MEMORY_BYTES:
                raise ConfigError(
                    f"--ratio {r} with n = {n} (m = {m} clauses of {config.k} literals) needs about {need / 1024**3:.1f} GiB "
                    f"per chunk of {config.chunk_size} formulas, above the {CHUNK_MEMORY_BYTES // 1024**3} GiB limit; "
                    "lower --ratio, --vars or --stats-samples"
                )
    if config.per_bucket < 1:
        raise ConfigError(f"--per-bucket must be at least 1, got {config.per_bucket}")
    if not 0 <= config.hard_percentile < 100:
        raise ConfigError(f"--hard-percentile must be in [0, 100), got {config.hard_percentile}")
    if not 0 <= config.cross_check <= 1:
        raise ConfigError(f"--cross-check is a fraction in [0, 1], got {config.cross_check}")
    if config.stats_samples < 1:
        raise ConfigError(f"--stats-samples must be at least 1, got {config.stats_samples}")
    if config.max_candidates < config.stats_samples:
        raise ConfigError(
            f"--max-candidates {config.max_candidates} is below --stats-samples {config.stats_samples}"
        )
    solver_name(config.solver)
    vocabulary = load_vocabulary(config.names_file, config.adjectives_file)
    for n in config.vars:
        check_capacity(n, config.fragment, vocabulary)
    needed_pool = sum(pool_needed(t.count, config.hard_percentile) for t in targets(config.per_bucket, config.balance))
    if needed_pool > max(config.max_candidates, config.stats_samples):
        raise ConfigError(
            f"--per-bucket {config.per_bucket} with --hard-percentile {config.hard_percentile} needs at least "
            f"{needed_pool} distinct candidates per bucket, above --max-candidates {config.max_candidates}"
        )
    buckets = config.buckets()
    for b in buckets:
        want = config.per_bucket if config.dedup else 1
        distinct = count_distinct_formulas(b.n, b.k, b.m, at_least=max(want, needed_pool))
        if config.dedup and distinct < config.per_bucket:
            raise ConfigError(
                f"--per-bucket {config.per_bucket} exceeds the {distinct} distinct formulas with "
                f"k = {b.k}, n = {b.n}, m = {b.m} clauses (up to clause order, literal order and renaming)"
            )
        if config.dedup and config.hard_percentile > 0 and hard_keep_count(distinct, config.hard_percentile) < config.per_bucket:
            raise ConfigError(
                f"--per-bucket {config.per_bucket} exceeds the top {100 - config.hard_percentile:g}% of the "
                f"{distinct} distinct formulas with k = {b.k}, n = {b.n}, m = {b.m}"
            )
    return buckets, vocabulary
