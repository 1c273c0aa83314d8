"""Seconds per problem of the trained translator (``nesy train translator``) at k = 1, 5, 10
samples, side by side: translation (all sentences, k samples each, repaired decoding) and
proving (Prover9 on every parsed sample), interleaved problem by problem so that machine load
hits every k alike. Prints median / mean seconds per problem, the ratio to k = 1, and accuracy.

    .venv/bin/python benchmarks/translator_latency.py --model ~/.cache/nesy/translator \\
        --data ../shared/data/proofwriter --limit 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(Path.home() / ".cache" / "nesy" / "translator"), help="directory written by nesy train translator")
    parser.add_argument("--dataset", default="proofwriter", choices=("proofwriter", "folio", "prontoqa"))
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "proofwriter"))
    parser.add_argument("--split", default=None)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--ks", default="1,5,10")
    parser.add_argument("--prover", default="prover9")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from logic.datasets import load
    from logic.evaluation import _vote
    from logic.solvers import get_prover
    from logic.translate.llm import Translation
    from logic.translate.seq2seq import Seq2SeqTranslator, is_seq2seq_dir

    if not is_seq2seq_dir(args.model):
        print(f"error: {args.model} holds no model from nesy train translator", file=sys.stderr)
        return 2
    ks = [int(k) for k in args.ks.split(",")]
    translators = {k: Seq2SeqTranslator(args.model, args.dataset, samples=k, threads=args.threads) for k in ks}
    prover = get_prover(args.prover)
    problems = load(args.dataset, args.data, args.split)[: args.limit]
    seconds: dict[int, list[float]] = {k: [] for k in ks}
    translate_s: dict[int, list[float]] = {k: [] for k in ks}
    correct = {k: 0 for k in ks}
    for problem in tqdm(problems, desc="problems", file=sys.stderr):
        for k in ks:
            start = time.perf_counter()
            readings = translators[k].translate(problem.context, problem.question)
            translate_s[k].append(time.perf_counter() - start)
            results = [
                prover.entails(r.premises, r.conclusion, timeout_s=args.timeout) for r in readings if isinstance(r, Translation)
            ]
            seconds[k].append(time.perf_counter() - start)
            correct[k] += _vote(results) is problem.label
    base = statistics.median(seconds[ks[0]])
    print(f"{args.dataset}: {len(problems)} problems, model {args.model}, prover {args.prover}, seconds per problem")
    print("| k | median s | mean s | translation median s | median / k=1 | accuracy |")
    print("|---|---|---|---|---|---|")
    for k in ks:
        med = statistics.median(seconds[k])
        print(
            f"| {k} | {med:.3f} | {statistics.mean(seconds[k]):.3f} | {statistics.median(translate_s[k]):.3f} | "
            f"{med / base:.2f} | {correct[k]}/{len(problems)} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
