"""Throughput of NLSat labelling: labelled instances per second on 2 cores.

For n = 12 and n = 50 at ratio 4.26 (m = 51 and 213 clauses, near the 3-SAT threshold), measures
side by side, in one run, with the library's own functions (the code the pipeline runs):

* ``label``             sample (numpy, chunks of 256) + solve with a fresh pysat solver per
                        formula (minisat22 via pysat's C API) + counters + model
* ``label+dedup``       + the exact-deduplication step of the pipeline (invariant key + lookup)
* ``label+render``      + NL rendering (rules fragment), FOL printing and DIMACS text
* ``label+z3``          + Z3 cross-check of every label
* ``label+render+z3``   all of it

Work is spread over ``--procs`` worker processes (default 2) in chunks; the figure is instances
divided by wall-clock seconds over a fixed amount of work, after a warm-up. Targets (issue 6):
>= 2,000/s for n = 12 and >= 500/s for n = 50 without the cross-check. The load average is
printed before and after, because other jobs on the machine slow every figure down.

    .venv/bin/python benchmarks/nlsat_throughput.py [--procs 2] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from synthesis.nlsat.canonical import Deduplicator, degree_keys
from synthesis.nlsat.config import CHUNK_SIZE, Fragment, clause_count
from synthesis.nlsat.labelling import Label, label_chunk, z3_label
from synthesis.nlsat.render import assign_atoms, render
from synthesis.nlsat.sampler import chunk_rng, sample_formulas, to_dimacs
from synthesis.nlsat.vocabulary import load_vocabulary

MODES = ("label", "label+dedup", "label+render", "label+z3", "label+render+z3")
TARGETS = {12: 2000.0, 50: 500.0}


def work(n: int, m: int, mode: str, chunk: int) -> int:
    """Process one chunk of CHUNK_SIZE formulas in ``mode``; returns the number of instances."""
    lits = sample_formulas(chunk_rng(0, 3, n, m, chunk), n, m, 3, CHUNK_SIZE)
    labels = label_chunk(lits, "minisat22", keep_models=True)
    rows = lits.tolist()
    if "dedup" in mode:
        dedup = Deduplicator()
        for key, row in zip(degree_keys(lits, n), rows):
            dedup.add(key, row)
    if "render" in mode:
        vocab = _vocab()
        rng = np.random.default_rng(chunk)
        for row in rows:
            r = render(row, assign_atoms(n, Fragment.RULES, vocab, rng), Fragment.RULES)
            _ = (r.text, to_dimacs(row, n))
    if "z3" in mode:
        for i, row in enumerate(rows):
            if z3_label(row, n) is not (Label.SAT if labels.sat[i] else Label.UNSAT):
                raise RuntimeError("pysat and z3 disagree")
    return len(rows)


_VOCAB = None


def _vocab():
    global _VOCAB
    if _VOCAB is None:
        _VOCAB = load_vocabulary()
    return _VOCAB


def measure(pool: ProcessPoolExecutor, procs: int, n: int, mode: str, seconds: float) -> tuple[float, int]:
    m = clause_count("4.26", n)
    # calibrate: one round of `procs` chunks, then enough rounds for about `seconds`
    t0 = time.perf_counter()
    list(pool.map(work, [n] * procs, [m] * procs, [mode] * procs, range(procs)))
    per_round = time.perf_counter() - t0
    chunks = max(procs, int(seconds / max(per_round, 1e-3)) * procs)
    t0 = time.perf_counter()
    done = sum(pool.map(work, [n] * chunks, [m] * chunks, [mode] * chunks, range(procs, procs + chunks)))
    return done / (time.perf_counter() - t0), done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0, help="approximate wall time per measurement")
    parser.add_argument("--n", default="12,50")
    args = parser.parse_args()
    ns = [int(x) for x in args.n.split(",")]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; cpus: {os.cpu_count()}; procs: {args.procs}")
    print(f"{'n':>4} {'m':>4} {'mode':<18} {'inst/s':>9} {'instances':>9} {'target':>7} {'x target':>8}")
    with ProcessPoolExecutor(max_workers=args.procs) as pool:
        list(pool.map(work, [12] * args.procs, [51] * args.procs, ["label+render+z3"] * args.procs, range(args.procs)))  # warm up
        for n in ns:
            for mode in MODES:
                rate, done = measure(pool, args.procs, n, mode, args.seconds)
                target = TARGETS.get(n) if "z3" not in mode else None
                ratio = f"{rate / target:8.1f}" if target else f"{'-':>8}"
                print(f"{n:>4} {clause_count('4.26', n):>4} {mode:<18} {rate:9.0f} {done:9d} {target or '-':>7} {ratio}", flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
