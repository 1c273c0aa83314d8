"""Configuration of an NLSat run: one frozen object, its parsing helpers and its buckets.

Only :class:`NLSatConfig` decides what the dataset contains (it is hashed for resumption and
written into ``config.json``); :class:`RunOptions` says how to run (output directory, workers,
progress bar) and never changes a byte of the output.

Clause counts: the number of clauses of a bucket is ``m = floor(ratio * n + 1/2)`` (round half
up), computed in exact decimal arithmetic from the ratio as typed, so ``4.26 * 50`` is exactly
``213`` and not ``212.99999``. Nominal ratios that give the same ``m`` for a given ``n`` describe
the same random formula distribution and are merged into one bucket ``(k, n, m)``; the card lists
the nominal ratios of each bucket and uses the effective ratio ``m / n`` for its curves.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

from synthesis.errors import ConfigError

# Candidates are sampled and labelled in chunks of ``min(CHUNK_SIZE, stats_samples)`` formulas;
# every chunk has its own seed, so the dataset does not depend on how work is spread over workers.
CHUNK_SIZE = 256

# Version of the generation procedure; part of every record id and of the config hash.
GENERATOR_VERSION = "nlsat-1"


class Fragment(enum.Enum):
    """Natural-language fragment a formula is rendered in."""

    RULES = "rules"  # grounded RuleTaker-style rules: "If Bob is not big then Anne is red."
    DISJUNCTIVE = "disjunctive"  # "Bob is big or Bob is not red or Anne is kind."
    RELATIVE = "relative"  # "Every person who is big and is not red is kind."


class EffortMeasure(enum.Enum):
    """Which solver counter measures hardness (the hard filter ranks by it)."""

    CONFLICTS = "conflicts"
    DECISIONS_PROPAGATIONS = "decisions+propagations"


@dataclass(frozen=True, order=True)
class Bucket:
    """One cell of the sweep: ``m`` clauses of ``k`` literals over ``n`` variables.

    ``ratios`` are the nominal ratios (as typed, normalised decimal strings) that round to ``m``.
    """

    k: int
    n: int
    m: int
    ratios: tuple[str, ...] = field(compare=False)

    @property
    def name(self) -> str:
        """File-name stem, sortable: ``k3-n0012-m00051``."""
        return f"k{self.k}-n{self.n:04d}-m{self.m:05d}"

    @property
    def effective_ratio(self) -> float:
        return self.m / self.n


@dataclass(frozen=True)
class NLSatConfig:
    """Everything that decides the content of an NLSat dataset.

    Invariants (checked by :func:`synthesis.nlsat.validate.validate`, before any work):
    ``1 <= k <= min(vars)``, every ratio > 0 and gives at least one clause, ``per_bucket >= 1``,
    ``0 <= hard_percentile < 100``, ``0 <= cross_check <= 1``,
    ``1 <= stats_samples <= max_candidates``, and enough distinct formulas and vocabulary exist.
    """

    vars: tuple[int, ...]
    ratios: tuple[str, ...]
    per_bucket: int
    k: int = 3
    fragment: Fragment = Fragment.RULES
    hard_percentile: float = 0.0
    balance: bool = True
    dedup: bool = True
    effort: EffortMeasure = EffortMeasure.CONFLICTS
    solver: str = "minisat22"
    cross_check: float = 0.05
    core: bool = False
    seed: int = 0
    stats_samples: int = 500
    max_candidates: int = 20_000
    names_file: str | None = None
    adjectives_file: str | None = None

    def to_json(self) -> dict:
        """A JSON-ready dict (enums as their values); stable key order."""
        d = asdict(self)
        d["fragment"] = self.fragment.value
        d["effort"] = self.effort.value
        d["vars"] = list(self.vars)
        d["ratios"] = list(self.ratios)
        d["generator"] = GENERATOR_VERSION
        d["chunk_size"] = self.chunk_size
        return d

    @property
    def chunk_size(self) -> int:
        """Formulas per chunk: ``min(CHUNK_SIZE, stats_samples)`` (small samples for large n)."""
        return min(CHUNK_SIZE, self.stats_samples)

    def buckets(self) -> list[Bucket]:
        """The sweep's buckets, sorted by (k, n, m); nominal ratios with equal ``m`` are merged."""
        merged: dict[tuple[int, int, int], list[str]] = {}
        for n in sorted(set(self.vars)):
            for r in self.ratios:
                m = clause_count(r, n)
                merged.setdefault((self.k, n, m), []).append(r)
        return [Bucket(k, n, m, tuple(rs)) for (k, n, m), rs in sorted(merged.items())]


@dataclass(frozen=True)
class RunOptions:
    """How to run (never what is produced): output directory, parallelism, progress, plots."""

    out: Path
    workers: int = 1
    address: str | None = None
    progress: bool = True
    plots: bool = True


def config_hash(config: NLSatConfig, vocabulary_fingerprint: str) -> str:
    """Stable hex digest of everything that determines the output (for resumption)."""
    payload = json.dumps({"config": config.to_json(), "vocabulary": vocabulary_fingerprint}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def clause_count(ratio: str | Decimal, n: int) -> int:
    """``floor(ratio * n + 1/2)`` in exact decimal arithmetic (round half up)."""
    value = Decimal(ratio) * n
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"{what}: {text!r} is not a number") from None
    if not value.is_finite():
        raise ConfigError(f"{what}: {text!r} is not a finite number")
    return value


def _normalise(value: Decimal) -> str:
    """Canonical decimal string: ``4.250`` -> ``4.25``, ``4.0`` -> ``4``; never exponent form."""
    text = format(value.normalize(), "f")
    return text


def parse_ratio_sweep(text: str) -> tuple[str, ...]:
    """Parse ratios: ``"4.26"``, ``"2.0,4.26,6"`` or an inclusive sweep ``"3.0..7.0:0.25"``.

    Items may be mixed with commas (``"2.0..3.0:0.5,4.26"``). Values are returned as normalised
    decimal strings, deduplicated, in increasing order. Does not check positivity (``validate``
    does, with the rest of the request).
    """
    values: set[Decimal] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            raise ConfigError(f"--ratio: empty item in {text!r}")
        match = re.fullmatch(r"(.+?)\.\.(.+?)(?::(.+))?", item)
        if match is None:
            values.add(_decimal(item, "--ratio"))
            continue
        start = _decimal(match.group(1), "--ratio start")
        stop = _decimal(match.group(2), "--ratio stop")
        if match.group(3) is None:
            raise ConfigError(f"--ratio: sweep {item!r} needs a step, e.g. {item}:0.25")
        step = _decimal(match.group(3), "--ratio step")
        if step <= 0:
            raise ConfigError(f"--ratio: step must be positive in {item!r}")
        if stop < start:
            raise ConfigError(f"--ratio: sweep {item!r} stops before it starts")
        count = int((stop - start) / step) + 1
        if count > 100_000:
            raise ConfigError(f"--ratio: sweep {item!r} has {count} values (at most 100000)")
        values.update(start + i * step for i in range(count))
    return tuple(_normalise(v) for v in sorted(values))


def parse_int_sweep(text: str, what: str = "--vars") -> tuple[int, ...]:
    """Parse integers: ``"12"``, ``"5,8,12"``, ``"5..12"`` (inclusive) or ``"10..100:10"``."""
    values: set[int] = set()
    for item in (part.strip() for part in text.split(",")):
        match = re.fullmatch(r"(-?\d+)(?:\.\.(-?\d+)(?::(\d+))?)?", item)
        if match is None:
            raise ConfigError(f"{what}: {item!r} is not an integer or a range like 5..12 or 10..100:10")
        start = int(match.group(1))
        if match.group(2) is None:
            values.add(start)
            continue
        stop, step = int(match.group(2)), int(match.group(3) or 1)
        if step <= 0 or stop < start:
            raise ConfigError(f"{what}: bad range {item!r}")
        values.update(range(start, stop + 1, step))
    return tuple(sorted(values))


def hard_keep_count(pool: int, percentile: float) -> int:
    """How many of ``pool`` candidates lie above the ``percentile``-th percentile of effort.

    Defined as ``ceil(pool * (1 - percentile/100))`` (the top share, ties broken by generation
    order), so the kept set has a predictable size even when efforts are tied small integers.
    """
    if percentile <= 0:
        return pool
    return math.ceil(Fraction(pool) * (1 - Fraction(str(percentile)) / 100))
