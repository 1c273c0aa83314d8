"""The two splits of the LeanDojo Benchmark layout, deterministic given a seed.

* ``random``: theorems shuffled, then cut into train / val / test.
* ``novel_premises``: every val and test theorem uses at least one premise that no train theorem
  uses, so a retriever is tested on premises it never saw as positives (LeanDojo's harder split).

Both are independent of the order theorems are given in: theorems are first sorted by
``(file_path, start, full_name)``, then shuffled with ``random.Random(seed)``; every part is
returned in that sorted order.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.dataset import PART_NAMES, TracedTheorem
from retrieval.errors import SplitConfigError

PremiseKey = tuple[str, str]  # (def_path, full_name)


@dataclass(frozen=True)
class SplitConfig:
    """How to split: fractions of all theorems held out for val and test, and the seed.

    For ``novel_premises`` the fractions are upper bounds: a premise whose users would overflow
    the part is not chosen as novel, so the parts can come out smaller.
    """

    seed: int = 0
    val_fraction: float = 0.05
    test_fraction: float = 0.05

    def __post_init__(self) -> None:
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise SplitConfigError(f"{name} must be in [0, 1), got {value}")
        if self.val_fraction + self.test_fraction >= 1.0:
            raise SplitConfigError("val_fraction + test_fraction must be below 1")


@dataclass(frozen=True)
class Split:
    """Train / val / test theorems; disjoint, together all the theorems given."""

    train: tuple[TracedTheorem, ...]
    val: tuple[TracedTheorem, ...]
    test: tuple[TracedTheorem, ...]

    def as_parts(self) -> dict[str, tuple[TracedTheorem, ...]]:
        return dict(zip(PART_NAMES, (self.train, self.val, self.test)))


def premises_used(theorem: TracedTheorem) -> frozenset[PremiseKey]:
    """Every premise (``(def_path, full_name)``) any tactic of the theorem names."""
    return frozenset(
        (p.def_path, p.full_name)
        for tac in theorem.traced_tactics
        for p in tac.annotated_tactic.provenances
    )


def _sort_key(t: TracedTheorem) -> tuple:
    return (t.file_path, tuple(t.start), t.full_name)


def _counts(n: int, config: SplitConfig) -> tuple[int, int]:
    return round(n * config.val_fraction), round(n * config.test_fraction)


def random_split(theorems: Sequence[TracedTheorem], config: SplitConfig) -> Split:
    """Shuffle with the seed and cut: the first ``test`` theorems to test, the next to val."""
    ordered = sorted(theorems, key=_sort_key)
    order = list(range(len(ordered)))
    random.Random(config.seed).shuffle(order)
    n_val, n_test = _counts(len(ordered), config)
    test_ids = set(order[:n_test])
    val_ids = set(order[n_test:n_test + n_val])
    return _assemble(ordered, val_ids, test_ids)


def novel_premises_split(theorems: Sequence[TracedTheorem], config: SplitConfig) -> Split:
    """Hold out all users of randomly chosen premises, so each held-out theorem has a novel one.

    Premises are visited in a seeded random order; when all theorems still unassigned that use
    a premise fit in the part being filled (test first, then val), they all go there. As every
    user of such a premise is held out, no train theorem uses it. Theorems that name no premise
    can never be held out and always go to train.
    """
    ordered = sorted(theorems, key=_sort_key)
    n_val, n_test = _counts(len(ordered), config)
    users: dict[PremiseKey, list[int]] = defaultdict(list)
    for i, thm in enumerate(ordered):
        for key in premises_used(thm):
            users[key].append(i)
    candidates = sorted(users)
    random.Random(config.seed).shuffle(candidates)
    assigned: dict[int, str] = {}
    buckets = {"test": n_test, "val": n_val}
    sizes = {"test": 0, "val": 0}
    for key in candidates:
        part = next((b for b in ("test", "val") if sizes[b] < buckets[b]), None)
        if part is None:
            break
        fresh = [i for i in users[key] if i not in assigned]
        if not fresh or sizes[part] + len(fresh) > buckets[part]:
            continue
        for i in fresh:
            assigned[i] = part
        sizes[part] += len(fresh)
    test_ids = {i for i, p in assigned.items() if p == "test"}
    val_ids = {i for i, p in assigned.items() if p == "val"}
    return _assemble(ordered, val_ids, test_ids)


def _assemble(ordered: list[TracedTheorem], val_ids: set[int], test_ids: set[int]) -> Split:
    return Split(
        train=tuple(t for i, t in enumerate(ordered) if i not in val_ids and i not in test_ids),
        val=tuple(t for i, t in enumerate(ordered) if i in val_ids),
        test=tuple(t for i, t in enumerate(ordered) if i in test_ids),
    )


SPLITTERS = {"random": random_split, "novel_premises": novel_premises_split}


def make_splits(
    theorems: Sequence[TracedTheorem], config: SplitConfig
) -> dict[str, dict[str, tuple[TracedTheorem, ...]]]:
    """Both splits, as ``{split_name: {part: theorems}}`` ready for ``write_dataset``."""
    return {name: fn(theorems, config).as_parts() for name, fn in SPLITTERS.items()}


def novel_premise_violations(split: Split) -> list[str]:
    """Names of val/test theorems that use no premise unseen in train (empty when the split holds)."""
    seen = set().union(*(premises_used(t) for t in split.train)) if split.train else set()
    return [t.full_name for t in split.val + split.test if not (premises_used(t) - seen)]
