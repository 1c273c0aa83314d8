"""Prover latency per ProofWriter problem: Prover9, Z3 (and E where installed), side by side.

Every problem is translated once with the controlled-English translator; then each prover
answers it (both directions), interleaved problem by problem so that machine load hits all
provers alike. Prints median / p95 / mean wall-clock seconds per problem, accuracy, and the
ratio to the fastest prover.

    .venv/bin/python benchmarks/prover_latency.py --data ../shared/data/proofwriter --limit 600
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "proofwriter"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=200, help="number of problems (600 = the whole test set)")
    parser.add_argument("--provers", default="prover9,z3,eprover", help="comma-separated; unavailable ones are skipped")
    parser.add_argument("--negation", default="literal", choices=("literal", "classical"))
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from logic.datasets import load
    from logic.errors import ProverUnavailableError
    from logic.solvers import get_prover
    from logic.translate.controlled import complement, translate_problem

    problems = load("proofwriter", args.data, args.split)[: args.limit]
    provers = []
    for name in args.provers.split(","):
        try:
            provers.append(get_prover(name.strip()))
        except ProverUnavailableError as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
    translated = []
    for p in problems:
        premises, goal = translate_problem(p.context, p.question, negation=args.negation)
        translated.append((p, premises, goal, complement(goal) if args.negation == "literal" else None))

    times: dict[str, list[float]] = {pr.name: [] for pr in provers}
    correct: dict[str, int] = {pr.name: 0 for pr in provers}
    for p, premises, goal, refutation in tqdm(translated, desc="problems", file=sys.stderr):
        for prover in provers:
            start = time.perf_counter()
            result = prover.entails(premises, goal, timeout_s=args.timeout, refutation=refutation)
            times[prover.name].append(time.perf_counter() - start)
            correct[prover.name] += result.answer is p.label

    def p95(xs: list[float]) -> float:
        return statistics.quantiles(xs, n=20, method="inclusive")[-1] if len(xs) > 1 else xs[0]

    fastest = min(statistics.median(v) for v in times.values())
    print(f"ProofWriter {args.split}, {len(translated)} problems, negation={args.negation}, timeout {args.timeout:g}s, wall-clock seconds per problem (both directions)")
    print(f"{'prover':<10}{'median':>10}{'p95':>10}{'mean':>10}{'max':>10}{'accuracy':>12}{'median/fastest':>16}")
    for name, xs in times.items():
        med = statistics.median(xs)
        print(f"{name:<10}{med:>10.4f}{p95(xs):>10.4f}{statistics.fmean(xs):>10.4f}{max(xs):>10.4f}{correct[name] / len(xs):>12.4f}{med / fastest:>16.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
