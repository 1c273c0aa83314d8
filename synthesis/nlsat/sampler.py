"""Fixed-clause-length random k-SAT (the textbook model of Mitchell, Selman and Levesque).

A formula of a bucket ``(k, n, m)`` is ``m`` clauses drawn independently; each clause picks an
ordered ``k``-tuple of distinct variables uniformly at random and negates each literal with
probability 1/2. Clauses may repeat (as in the textbook model); no variable repeats inside a
clause. The literal order inside a clause is random too, which matters for rendering (the last
literal becomes a rule's conclusion).

Formulas are produced in vectorised batches as an ``int64`` array of shape ``(count, m, k)``
holding DIMACS literals (``+v`` / ``-v``, ``1 <= v <= n``).
"""

from __future__ import annotations

import hashlib

import numpy as np


def chunk_rng(seed: int, k: int, n: int, m: int, chunk: int, stream: str = "sample") -> np.random.Generator:
    """The generator of one chunk of one bucket, derived with SHA-256 (stable across processes)."""
    digest = hashlib.sha256(f"nlsat|{seed}|{k}|{n}|{m}|{chunk}|{stream}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "little")))


def sample_formulas(rng: np.random.Generator, n: int, m: int, k: int, count: int) -> np.ndarray:
    """``count`` random k-CNF formulas as an ``(count, m, k)`` array of DIMACS literals.

    The j-th variable of a clause is uniform over the ``n - j`` variables not yet used in that
    clause: draw ``x`` in ``[0, n - j)`` and map it to the x-th unused index by stepping over the
    already chosen ones in increasing order.
    """
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    idx = np.empty((count, m, k), dtype=np.int64)
    for j in range(k):
        x = rng.integers(0, n - j, size=(count, m), dtype=np.int64)
        if j:
            chosen = np.sort(idx[:, :, :j], axis=2)
            for t in range(j):
                x += x >= chosen[:, :, t]
        idx[:, :, j] = x
    negate = rng.integers(0, 2, size=(count, m, k), dtype=np.int64)
    return (idx + 1) * (1 - 2 * negate)


def to_dimacs(clauses: np.ndarray | list, n: int, comments: tuple[str, ...] = ()) -> str:
    """DIMACS CNF text of one formula (``clauses``: rows of literals)."""
    rows = clauses.tolist() if isinstance(clauses, np.ndarray) else clauses
    lines = [f"c {c}" for c in comments]
    lines.append(f"p cnf {n} {len(rows)}")
    lines.extend(" ".join(map(str, row)) + " 0" for row in rows)
    return "\n".join(lines) + "\n"
