"""``nesy iterate``: expert iteration (prove training theorems, add the checked proofs as pairs,
retrain), :mod:`provers.evaluation.iterate`. Cheap to import: argparse only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(commands) -> None:
    it = commands.add(
        "iterate",
        help="expert iteration: prove training theorems with the model, add the kernel-checked proofs as pairs, retrain",
        run=_run_iterate,
        description=(
            "Rounds of: prove a seeded sample of a traced library's training theorems with the current model "
            "(hf:MODEL,premises=TRACED, best-first, the job engine of nesy eval library); replay each new kernel-checked "
            "proof for its (state, tactic) pairs; check that no pair belongs to a val/test theorem of any split (by name "
            "or statement; a hit stops the run before training); fine-tune the previous model on the traced training "
            "pairs + all proof pairs so far (+ --pairs). Each round's rows, pairs, model and numbers stay in "
            "OUT/round-K/; OUT/summary.md has one row per round. A rerun resumes, skipping finished stages."
        ),
    )
    it.add_argument("--data", type=Path, required=True, help="a traced dataset (nesy trace --out)")
    it.add_argument("--init", type=Path, required=True, help="the round-0 model: a directory written by nesy train tactics --data")
    it.add_argument("--out", type=Path, required=True, help="output directory (round-1/, round-2/, ..., summary.md)")
    it.add_argument("--rounds", type=int, default=2)
    it.add_argument("--theorems", type=int, default=100, metavar="N", help="training theorems proved per round (a sample drawn with --seed and the round)")
    it.add_argument("--split", default="random", choices=("random", "novel_premises"), help="the split whose training part is proved and trained on")
    it.add_argument("--time", type=float, default=60.0, help="seconds per theorem (model + prover)")
    it.add_argument("--expansions", type=int, default=100, help="node expansions per best-first search")
    it.add_argument("--k", type=int, default=8, help="tactics asked of the model per expansion (beam search)")
    it.add_argument("--widen", type=int, default=3, metavar="N", help="when every open node is expanded before the budget runs out, double k and expand again, up to N times")
    it.add_argument("--tactic-timeout", type=float, default=5.0, help="seconds per tactic")
    it.add_argument("--closers", action="store_true", help="also try the automation portfolio on every expanded node")
    it.add_argument("--workers", type=int, default=1, help="parallel prover workers (Ray actors when > 1)")
    it.add_argument("--no-warm", action="store_true", help="a fresh Coq process per theorem")
    it.add_argument("--check-timeout", type=float, default=120.0, help="seconds per prover run of the kernel check")
    it.add_argument("--steps", type=int, default=200, help="fine-tuning steps per round")
    it.add_argument("--pairs", type=Path, default=None, help="synthesized (state, tactic) pairs mixed into every round's training (nesy synth alchemy's pairs.jsonl)")
    it.add_argument("--pairs-ratio", type=float, default=None, metavar="R", help="--pairs: R synthesized pairs per traced pair (default: all of the file)")
    it.add_argument("--batch", type=int, default=16, help="batch size")
    it.add_argument("--lr", type=float, default=1e-3, help="peak learning rate of each round's fine-tuning")
    it.add_argument("--val-limit", type=int, default=300, help="validation pairs in each round's accuracy report (0: none)")
    it.add_argument("--val-k", type=int, default=8, help="tactics per validation state for the top-k accuracy")
    it.add_argument("--threads", type=int, default=1, help="torch threads")
    it.add_argument("--seed", type=int, default=0)


def _run_iterate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from provers.evaluation.iterate import IterateConfig, iterate

    config = IterateConfig(
        data=args.data, init=args.init, out=args.out, rounds=args.rounds, theorems=args.theorems, split=args.split, seed=args.seed,
        time_s=args.time, expansions=args.expansions, k=args.k, widen=args.widen, tactic_timeout_s=args.tactic_timeout, closers=args.closers,
        workers=args.workers, warm=not args.no_warm, check_timeout_s=args.check_timeout, steps=args.steps, pairs=args.pairs,
        pairs_ratio=args.pairs_ratio, batch_size=args.batch, lr=args.lr, top_k=args.val_k, val_limit=args.val_limit,
        threads=args.threads,
    )
    bars: dict[str, tqdm] = {}

    def close(key: str) -> None:
        bar = bars.pop(key, None)
        if bar is not None:
            bar.close()

    def progress(message: str) -> None:
        for key in list(bars):
            close(key)
        print(f"nesy iterate: {message}", file=sys.stderr)

    def on_row(row: dict) -> None:
        if "prove" not in bars:
            bars["prove"] = tqdm(desc="proving", unit="thm", file=sys.stderr)
        bar = bars["prove"]
        bar.update(1)
        if row.get("status") == "proved":
            bar.set_postfix_str(f"last proved: {row['name'][-40:]}")

    def on_step(step: int, total: int, loss: float) -> None:
        if "train" not in bars:
            bars["train"] = tqdm(total=total, initial=step - 1, desc="training", unit="step", file=sys.stderr)
        bar = bars["train"]
        bar.update(1)
        if step % 10 == 0:
            bar.set_postfix(loss=f"{loss:.3f}")

    try:
        records = iterate(config, progress=progress, on_row=on_row, on_step=on_step)
    finally:
        for key in list(bars):
            close(key)
    out = Path(args.out).expanduser()
    print((out / "summary.md").read_text(encoding="utf-8"))
    last = records[-1]
    print(f"rounds: {out}/round-*/round.json  last model: {last['model']}  summary: {out / 'summary.md'}")
    return 0
