"""Re-check random verified variants of a ``nesy synth alchemy`` run one at a time.

Each of ``--n`` randomly chosen variants (seeded) is kernel-checked alone: a fresh ``coqc`` on its
original file's prefix, the variant and its proof under a private name, ``Print Assumptions``
against the allow-list and ``coqchk`` (:func:`synthesis.alchemy.standalone.check_sample`). Prints how
many pass, how many state their original's very type (none should), and ``--show`` of them as
Markdown (the examples in docs/synthesis.md come from here).

Usage: python benchmarks/alchemy_sample.py --out RUN_DIR [--n 100] [--seed 0] [--show 5]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from synthesis.alchemy.standalone import check_sample


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="the output directory of a nesy synth alchemy run")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", type=int, default=5)
    args = ap.parse_args()
    results = check_sample(args.out, args.n, args.seed)
    passed = sum(r.ok for r in results)
    same = sum(r.same_as_original for r in results)
    print(f"{passed}/{len(results)} variants pass a fresh kernel check on their own; "
          f"{same} state their original's type; median {statistics.median(r.cpu_s for r in results):.2f} CPU-s per check")
    for r in results:
        if not r.ok:
            print(f"FAILED {r.record['name']}: {r.message[:300]}")
    for r in [r for r in results if r.ok][: args.show]:
        rec = r.record
        arrow = {"->": "left to right", "<-": "right to left"}.get(rec["direction"], "")
        where = "the conclusion" if rec["target"] == "goal" else f"hypothesis {rec['target']}"
        how = " ".join(x for x in (rec["mode"], arrow) if x)
        print(f"\n**{rec['original']}** ({rec['file']}), {how} with `{rec['lemma']}` on {where}:\n")
        print("```coq\n" + rec["text"].rstrip() + "\n```")


if __name__ == "__main__":
    main()
