"""Exact canonical forms of CNF formulas, deduplication, and counting distinct formulas.

Two formulas are *the same* when one becomes the other by reordering clauses, reordering the
literals inside clauses and renaming variables (a permutation of ``1..n``; polarities are not
flipped). A formula is a multiset of clauses: repeated clauses count.

:func:`canonical_form` is exact (not a hash): it returns a representative that is equal for two
formulas iff they are the same in the above sense. It is the individualisation-refinement scheme
of graph canonisation (as in nauty), written for the clause/variable structure:

1. colour refinement to the coarsest equitable ordered partition of the variables (a variable's
   colour is refined by the multiset of (clause colour, sign) of its occurrences, a clause's colour
   by the multiset of (variable colour, sign) of its literals; colours are ranks of sorted
   signatures, so the result is invariant under renaming);
2. if some used variable shares its colour, branch on each variable of the first such cell
   (individualise it, refine again) and keep the smallest relabelled formula over all leaves.

Variables that occur in no clause are set aside (any order of them gives the same formula), so
they never cause branching. Without automorphism pruning the search visits one leaf per
automorphism of the refined structure; random formulas with at least a few clauses per variable
almost always refine to a discrete partition at once (one leaf).

:class:`Deduplicator` uses a cheap renaming-invariant key (the sorted per-variable
(positive, negative) occurrence counts) and computes exact canonical forms only for candidates
whose key collides, so deduplication stays exact at the cost of the cheap key for most formulas.

:func:`count_distinct_formulas` counts the distinct formulas of a bucket exactly with Burnside's
lemma over the symmetric group (used to reject impossible requests before any work).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from functools import lru_cache
from itertools import combinations, product

import numpy as np

Form = tuple[tuple[int, ...], ...]


def canonical_form(clauses: Sequence[Sequence[int]]) -> Form:
    """The canonical representative: sorted clauses of sorted literals over relabelled variables.

    Used variables are relabelled ``1..u`` in canonical order; the number of variables ``n`` is
    not part of the form (keep it alongside when comparing formulas with different ``n``).
    """
    used = sorted({abs(lit) for clause in clauses for lit in clause})
    index = {v: i for i, v in enumerate(used)}
    cls = [[(index[abs(lit)], 1 if lit > 0 else -1) for lit in clause] for clause in clauses]
    occ: list[list[tuple[int, int]]] = [[] for _ in used]
    for c, clause in enumerate(cls):
        for v, s in clause:
            occ[v].append((c, s))
    if not used:
        return tuple(() for _ in clauses)
    colours = _refine([0] * len(used), cls, occ)
    return _search(colours, cls, occ)


def canonical_hash(clauses: Sequence[Sequence[int]], n: int, k: int) -> str:
    """SHA-256 hex digest of ``(k, n, canonical_form)``: equal iff the formulas are the same."""
    form = canonical_form(clauses)
    text = f"k={k};n={n};" + ";".join(",".join(map(str, c)) for c in form)
    return hashlib.sha256(text.encode()).hexdigest()


def _refine(colours: list[int], cls: list[list[tuple[int, int]]], occ: list[list[tuple[int, int]]]) -> list[int]:
    cells = len(set(colours))
    while True:
        csig = [tuple(sorted((colours[v], s) for v, s in clause)) for clause in cls]
        crank = {sig: i for i, sig in enumerate(sorted(set(csig)))}
        cc = [crank[sig] for sig in csig]
        vsig = [(colours[v], tuple(sorted((cc[c], s) for c, s in occ[v]))) for v in range(len(occ))]
        vrank = {sig: i for i, sig in enumerate(sorted(set(vsig)))}
        new = [vrank[sig] for sig in vsig]
        if len(vrank) == cells:
            return new
        colours, cells = new, len(vrank)


def _relabel(colours: list[int], cls: list[list[tuple[int, int]]]) -> Form:
    return tuple(
        sorted(tuple(sorted((s * (colours[v] + 1) for v, s in clause), key=lambda x: (abs(x), x))) for clause in cls)
    )


def _search(colours: list[int], cls: list[list[tuple[int, int]]], occ: list[list[tuple[int, int]]]) -> Form:
    counts: dict[int, int] = {}
    for c in colours:
        counts[c] = counts.get(c, 0) + 1
    target = min((c for c, cnt in counts.items() if cnt > 1), default=None)
    if target is None:
        return _relabel(colours, cls)
    best: Form | None = None
    for v in (u for u, c in enumerate(colours) if c == target):
        keyed = [(c, 0 if (u == v or c != target) else 1) for u, c in enumerate(colours)]
        rank = {key: i for i, key in enumerate(sorted(set(keyed)))}
        child = _refine([rank[key] for key in keyed], cls, occ)
        form = _search(child, cls, occ)
        if best is None or form < best:
            best = form
    assert best is not None
    return best


def degree_keys(lits: np.ndarray, n: int) -> list[bytes]:
    """Cheap renaming-invariant keys of a batch ``(count, m, k)``: sorted (pos, neg) counts.

    Equal formulas always get equal keys; unequal formulas usually get different ones.
    """
    count, m, _ = lits.shape
    slot = (np.abs(lits) - 1) * 2 + (lits < 0)
    offsets = (np.arange(count, dtype=np.int64) * 2 * n)[:, None, None]
    counts = np.bincount((slot + offsets).ravel(), minlength=count * 2 * n).reshape(count, n, 2)
    combined = np.sort(counts[:, :, 0] * (m + 1) + counts[:, :, 1], axis=1).astype(np.int32)
    return [row.tobytes() for row in combined]


class Deduplicator:
    """Exact deduplication of a stream of formulas with the same (k, n, m).

    ``add(key, clauses)`` returns True for the first occurrence of a formula (up to clause order,
    literal order and renaming) and False for a repeat.
    """

    def __init__(self) -> None:
        self._groups: dict[bytes, list[list]] = {}  # key -> [[clauses, form or None], ...]
        self.exact_checks = 0

    def add(self, key: bytes, clauses: Sequence[Sequence[int]]) -> bool:
        group = self._groups.get(key)
        if group is None:
            self._groups[key] = [[clauses, None]]
            return True
        form = canonical_form(clauses)
        self.exact_checks += 1
        for entry in group:
            if entry[1] is None:
                entry[1] = canonical_form(entry[0])
                entry[0] = None
            if entry[1] == form:
                return False
        group.append([None, form])
        return True


# ---------------------------------------------------------------------------------------------
# Counting distinct formulas (Burnside's lemma)


def count_formulas_upper(n: int, k: int, m: int) -> int:
    """Number of multisets of ``m`` clauses (before identifying renamings)."""
    clauses = math.comb(n, k) * 2**k
    return math.comb(clauses + m - 1, m)


def count_distinct_formulas(n: int, k: int, m: int, *, at_least: int | None = None) -> int:
    """Number of distinct formulas of a bucket up to clause order, literal order and renaming.

    With ``at_least`` given, may return early with any value ``>= at_least`` once the cheap lower
    bound ``ceil(multisets / n!)`` already reaches it (the exact count needs one term per
    partition of ``min(n, k*m)``).
    """
    total = count_formulas_upper(n, k, m)
    if at_least is not None and -(-total // math.factorial(n)) >= at_least:
        return -(-total // math.factorial(n))
    # A formula uses at most k*m variables, so beyond n = k*m extra variables add no new classes.
    return _burnside(min(n, k * m), k, m)


@lru_cache(maxsize=256)
def _burnside(n: int, k: int, m: int) -> int:
    clauses = [(vs, signs) for vs in combinations(range(n), k) for signs in product((1, -1), repeat=k)]
    position = {_clause_key(vs, signs): i for i, (vs, signs) in enumerate(clauses)}
    acc = 0
    for parts in _partitions(n):
        perm = []
        start = 0
        for p in parts:
            perm.extend(range(start + 1, start + p))
            perm.append(start)
            start += p
        seen = [False] * len(clauses)
        poly = [0] * (m + 1)
        poly[0] = 1
        for i, (vs, signs) in enumerate(clauses):
            if seen[i]:
                continue
            length, j = 0, i
            while not seen[j]:
                seen[j] = True
                length += 1
                cvs, csigns = clauses[j]
                j = position[_clause_key(tuple(perm[v] for v in cvs), csigns)]
            for t in range(length, m + 1):  # multiply by 1 / (1 - x^length)
                poly[t] += poly[t - length]
        acc += _class_size(parts) * poly[m]
    orbits, rem = divmod(acc, math.factorial(n))
    assert rem == 0, "Burnside sum must be divisible by n!"
    return orbits


def _clause_key(vs: tuple[int, ...], signs: tuple[int, ...]) -> tuple:
    return tuple(sorted(zip(vs, signs)))


def _class_size(parts: tuple[int, ...]) -> int:
    denom = 1
    for size in set(parts):
        mult = parts.count(size)
        denom *= size**mult * math.factorial(mult)
    return math.factorial(sum(parts)) // denom


def _partitions(n: int, largest: int | None = None) -> list[tuple[int, ...]]:
    largest = n if largest is None else largest
    if n == 0:
        return [()]
    out = []
    for first in range(min(n, largest), 0, -1):
        out.extend((first, *rest) for rest in _partitions(n - first, first))
    return out
