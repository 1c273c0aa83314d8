"""Do the states ``nesy iterate`` trains on read like the traced ones? The traced proof of a seeded
sample of training theorems is replayed with :func:`provers.evaluation.iterate.replay` (the
environment started as the job engine starts a library theorem) and each state before a tactic is
compared, as text, with the ``state_before`` the tracer recorded.

Usage::

    python benchmarks/iterate_replay.py --data ~/.cache/nesy/traced/coq-stdlib --files 6 --theorems 15
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", default="random", choices=("random", "novel_premises"))
    ap.add_argument("--files", type=int, default=6, help="training files drawn at random (only their theorems are started)")
    ap.add_argument("--theorems", type=int, default=15, help="theorems of those files replayed (a seeded sample)")
    ap.add_argument("--max-steps", type=int, default=12, help="skip traced proofs longer than this")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    from provers.coq.backend import load_library
    from provers.evaluation.iterate import replay
    from retrieval.dataset import open_dataset

    data = args.data.expanduser()
    t0 = time.monotonic()
    train = {t.full_name: t for t in open_dataset(data).read_part(args.split, "train")}
    files = sorted({t.file_path for t in train.values()})
    random.Random(args.seed).shuffle(files)
    chosen = set(files[: args.files])
    problems = [p for p in load_library(data, args.split, "train", files=lambda f: f in chosen) if p.theorem is not None]
    random.Random(args.seed).shuffle(problems)
    print(f"{len(problems)} startable training theorems in {len(chosen)} files, loaded in {time.monotonic() - t0:.1f} s")
    tried = replayed = states = equal = 0
    for p in problems[: args.theorems]:
        traced = train[p.name].traced_tactics
        if not traced or len(traced) > args.max_steps:
            continue
        tried += 1
        steps = replay(p, [t.tactic for t in traced], tactic_timeout_s=10)
        if steps is None:
            print(f"replay did not finish: {p.name}")
            continue
        replayed += 1
        for (state, _), t in zip(steps, traced):
            states += 1
            equal += state == t.state_before
            if state != t.state_before:
                print(f"differs: {p.name}\n  replayed: {state[:300]!r}\n  traced:   {t.state_before[:300]!r}")
    print(f"theorems replayed to a finished proof: {replayed}/{tried}; states equal to the traced state_before: {equal}/{states}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
