"""The kernel check's completeness on real proofs: the traced proof of each theorem of a split,
checked in its file's context the way ``nesy eval library`` checks a found proof.

A proof the library itself compiles must pass; every rejection here is a theorem the prover could
never be credited for. ``--context`` keeps only theorems inside functors and module types (where
the check reads the functor as a module with declared parameters, docs/provers.md).

Usage::

    python benchmarks/check_traced.py --data ~/.cache/nesy/traced/coq-stdlib --split random --part test --context
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", default="random", choices=("random", "novel_premises"))
    ap.add_argument("--part", default="test")
    ap.add_argument("--context", action="store_true", help="only theorems inside functors or module types")
    ap.add_argument("--limit", type=int, default=None, help="a seeded sample of this many")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()

    from provers.coq.library import check_library_proof, load_split
    from retrieval.dataset import open_dataset

    data = args.data.expanduser()
    tactics = {t.full_name: [x.tactic for x in t.traced_tactics] for t in open_dataset(data).read_part(args.split, args.part)}
    problems = [p for p in load_split(data, args.split, args.part) if p.theorem is not None]
    if args.context:
        problems = [p for p in problems if p.theorem.context]
    if args.limit is not None and args.limit < len(problems):
        problems = sorted(random.Random(args.seed).sample(problems, args.limit), key=lambda p: (p.file, p.theorem.position))
    passed, seconds, rejected = 0, [], []
    for k, p in enumerate(problems, 1):
        t0 = time.monotonic()
        verdict = check_library_proof(p.theorem, tactics[p.full_name], timeout_s=args.timeout)
        seconds.append(time.monotonic() - t0)
        passed += verdict.ok
        if not verdict.ok:
            rejected.append((p.full_name, verdict.message.replace("\n", " ")[:240]))
        print(f"[{k}/{len(problems)}] {'pass' if verdict.ok else 'REJECTED'} {p.full_name} {seconds[-1]:.1f}s", file=sys.stderr, flush=True)
    print(f"{args.split}/{args.part}{' (in functors or module types)' if args.context else ''}: "
          f"{passed}/{len(problems)} traced proofs pass the check in context; "
          f"median {statistics.median(seconds) if seconds else 0:.1f} s per check")
    for name, why in rejected:
        print(f"  rejected {name}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
