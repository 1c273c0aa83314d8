"""How often ``knn:`` proposes the tactic a proof really used: traced-tactic recall of variants of
the generator, side by side in one run, with no Coq process.

For a seeded sample of *validation* theorems of a traced split (never its test part, which the
proving tables evaluate), each of the first ``--per-theorem`` traced tactics is a query: the
generator is told the theorem's place (its file and position, as in a proof job), asked for ``k``
tactics on the recorded ``state_before``, and scores a hit when the traced tactic is among them
(whitespace collapsed, final period dropped). The memory is the split's *train* part. Rows:

- ``plain``: every training state counts its similarity, tactics are copied as written;
- ``same-file +B``: states of the theorem's own file count ``1 + B`` times (``knn.LOCAL_BONUS``);
- ``fit names``: hypothesis names fitted to the new state (``provers.generators.adapt``);
- ``drop unfit``: a tactic whose hypotheses have no counterpart is dropped, not copied as written;
- the combinations; the generator's defaults are marked.

A hit is a lower bound on usefulness (another tactic may close the goal too) and a proxy, not a
proving figure: the proving tables in README.md are. The run prints the table and, with
``--out``, writes it as JSON.

    .venv/bin/python benchmarks/knn_recall.py --data ~/.cache/nesy/traced/coq-stdlib --split random \\
        --theorems 300 --per-theorem 4 --k 8
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _norm(tactic: str) -> str:
    t = " ".join(tactic.split())
    return t[:-1].rstrip() if t.endswith(".") else t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="a traced dataset (nesy trace)")
    ap.add_argument("--split", default="random", choices=("random", "novel_premises"))
    ap.add_argument("--theorems", type=int, default=300, help="validation theorems sampled (seeded)")
    ap.add_argument("--per-theorem", type=int, default=4, help="first traced tactics of each theorem used as queries")
    ap.add_argument("--k", type=int, default=8, help="tactics asked per state")
    ap.add_argument("--bonus", default="0.1,0.25,0.5", help="same-file bonuses to try, comma-separated")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="write the table as JSON here")
    args = ap.parse_args(argv)

    from provers.generators import knn as knn_module
    from provers.generators.base import (
        GeneratorConfig,
        GeneratorConfigError,
        GeneratorError,
    )
    from provers.generators.place import Place, load_part
    from provers.generators.registry import build_generator
    from provers.protocol import TacticState

    try:
        bonuses = [float(b) for b in args.bonus.split(",") if b.strip()]
    except ValueError:
        ap.error(f"--bonus: not a comma-separated list of numbers: {args.bonus!r}")
    try:
        t0 = time.perf_counter()
        gen = build_generator(GeneratorConfig(spec=f"knn:{args.data}", retrieval_split=args.split))
        val = load_part(gen.path, args.split, "val")
    except (GeneratorError, GeneratorConfigError) as exc:
        print(f"knn_recall: {exc}", file=sys.stderr)
        return 2
    build_s = time.perf_counter() - t0
    usable = [t for t in val if t.traced_tactics]
    rng = random.Random(args.seed)
    sample = sorted(rng.sample(range(len(usable)), min(args.theorems, len(usable))))
    queries = []  # (place, state, traced tactic)
    for i in sample:
        thm = usable[i]
        place = Place(thm.file_path, tuple(thm.start), thm.full_name, thm.full_name.rsplit(".", 1)[-1])
        for tac in thm.traced_tactics[: args.per_theorem]:
            if tac.state_before.strip() and tac.state_before.strip() != "no goals":
                queries.append((place, tac.state_before, _norm(tac.tactic)))

    variants = [("plain", 0.0, "off")]
    variants += [(f"same-file +{b:g}", b, "off") for b in bonuses]
    variants += [("fit names", 0.0, "keep"), ("fit names, drop unfit", 0.0, "drop")]
    variants += [(f"same-file +{b:g}, fit names", b, "keep") for b in bonuses]
    variants += [(f"same-file +{b:g}, fit names, drop unfit", b, "drop") for b in bonuses]
    default = (knn_module.LOCAL_BONUS, knn_module.DEFAULT_FIT)
    rows = []
    for label, bonus, fit in variants:
        gen.local_bonus, gen.fit = bonus, fit
        hits1 = hitsk = 0
        t1 = time.perf_counter()
        current = None
        for place, state, truth in queries:
            if place is not current:
                gen.begin_at(place)
                current = place
            proposed = [_norm(t) for t, _ in gen.generate(TacticState(state, 0), args.k)]
            hits1 += bool(proposed) and proposed[0] == truth
            hitsk += truth in proposed
        n = max(len(queries), 1)
        rows.append({"variant": label + (" (default)" if (bonus, fit) == default else ""), "bonus": bonus, "fit": fit,
                     "recall@1": 100 * hits1 / n, f"recall@{args.k}": 100 * hitsk / n,
                     "ms_per_state": 1000 * (time.perf_counter() - t1) / n})
    base = rows[0][f"recall@{args.k}"] or float("nan")
    print(f"knn: traced-tactic recall, {args.split}/val: {len(sample)} theorems, {len(queries)} states "
          f"(first {args.per_theorem} tactics each), memory {len(gen.memory)} train states, k = {args.k}, "
          f"seed {args.seed}; memory built in {build_s:.1f} s")
    print(f"| variant | recall@1 | recall@{args.k} | × plain (recall@{args.k}) | ms / state |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['variant']} | {r['recall@1']:.1f} | {r[f'recall@{args.k}']:.1f} | "
              f"{r[f'recall@{args.k}'] / base:.3f} | {r['ms_per_state']:.1f} |")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"split": args.split, "theorems": len(sample), "states": len(queries),
                                        "k": args.k, "seed": args.seed, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
