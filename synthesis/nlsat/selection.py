"""Selection of a bucket's records from its labelled candidates.

Order of operations, per bucket:

1. **Deduplicate**: a candidate is kept only if no earlier candidate (in generation order) is the
   same formula up to clause order, literal order and renaming (exact, see ``canonical``).
2. **Hardness filter** (``hard_percentile`` P > 0): within each label group (SAT and UNSAT apart
   when balancing, else all together), keep the top ``ceil(size * (1 - P/100))`` distinct
   candidates by effort, ties broken by generation order (earlier first). Filtering per label
   keeps balance possible: UNSAT formulas near the threshold are harder than SAT ones.
3. **Balance**: take ``ceil(N/2)`` SAT and ``floor(N/2)`` UNSAT records (N = ``per_bucket``), the
   earliest-generated of each hard set; without balancing, the earliest N of the hard set. A side
   that cannot be filled within the candidate budget is left short (never filled with the other
   label) and the shortfall is reported in the card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from synthesis.nlsat.config import hard_keep_count


@dataclass(frozen=True)
class Target:
    """How many records of one label group a bucket wants (``sat`` None: both labels together)."""

    sat: bool | None
    count: int


def targets(per_bucket: int, balance: bool) -> tuple[Target, ...]:
    if not balance:
        return (Target(None, per_bucket),)
    return (Target(True, (per_bucket + 1) // 2), Target(False, per_bucket // 2))


def pool_needed(count: int, percentile: float) -> int:
    """Smallest pool size ``p`` with ``hard_keep_count(p, percentile) >= count``.

    ``ceil(p * q) >= count`` iff ``p * q > count - 1`` (q = 1 - P/100), so ``p = floor((count-1)/q) + 1``.
    """
    if count <= 0:
        return 0
    q = 1 - Fraction(str(percentile)) / 100
    return math.floor((count - 1) / q) + 1


def group_indices(sat: np.ndarray, distinct: np.ndarray, target: Target) -> np.ndarray:
    """Generation-ordered indices of the distinct candidates of a target's label group."""
    mask = distinct if target.sat is None else distinct & (sat == target.sat)
    return np.flatnonzero(mask)


def is_satisfied(sat: np.ndarray, distinct: np.ndarray, tgts: tuple[Target, ...], percentile: float) -> bool:
    return all(len(group_indices(sat, distinct, t)) >= pool_needed(t.count, percentile) for t in tgts)


@dataclass(frozen=True)
class GroupSelection:
    target: Target
    pool: int  # distinct candidates of the group
    hard: int  # size of the hard set
    threshold: int | None  # smallest effort in the hard set (None if empty)
    chosen: tuple[int, ...]  # candidate indices, generation order


def select(
    sat: np.ndarray, distinct: np.ndarray, effort: np.ndarray, tgts: tuple[Target, ...], percentile: float
) -> list[GroupSelection]:
    """Apply steps 2-3 of the module docstring; returns one selection per target."""
    out = []
    for t in tgts:
        idx = group_indices(sat, distinct, t)
        keep = hard_keep_count(len(idx), percentile)
        # stable sort on -effort keeps generation order among ties
        order = idx[np.argsort(-effort[idx], kind="stable")]
        hard = np.sort(order[:keep])
        chosen = hard[: t.count]
        threshold = int(effort[order[keep - 1]]) if keep else None
        out.append(GroupSelection(t, int(len(idx)), int(keep), threshold, tuple(int(i) for i in chosen)))
    return out
