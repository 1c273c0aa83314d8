"""Replay the traced proofs of a split in their file's context and kernel-check them there.

A check of :mod:`provers.coq.library` against the tracer: for every theorem of ``--split``/
``--part`` of a traced dataset that can start in its file's context, start it (on one warm pool,
in ``nesy eval library``'s order), compare its initial state with the traced ``state_before`` of
its first tactic, run the traced tactics one by one, and kernel-check the proof in the file's
context (:func:`provers.coq.library.check_library_proof`). Prints one line per theorem that does
not go through, then the counts.

Usage: python benchmarks/library_replay.py DATA [--split random] [--part test] [--limit N]
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

from provers.coq.env import CoqEnv
from provers.coq.library import check_library_proof, file_order_key, load_split
from provers.coq.pool import WarmPool
from provers.protocol import EnvConfig, ProofFinished, TacticState
from retrieval.dataset import open_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="a traced dataset (nesy trace --out)")
    ap.add_argument("--split", default="random")
    ap.add_argument("--part", default="test")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    problems = load_split(args.data, args.split, args.part)
    traced = {t.full_name: t for t in open_dataset(args.data).read_part(args.split, args.part)}
    counts: collections.Counter = collections.Counter(p.reason.value for p in problems if p.reason)
    for p in problems:
        if p.reason:
            print(f"cannot start: {p.error[:160]}")
    startable = sorted((p.theorem for p in problems if p.theorem is not None), key=file_order_key)[: args.limit]
    t0 = time.monotonic()
    with WarmPool() as pool:
        for lt in startable:
            tactics = traced[lt.full_name].traced_tactics
            try:
                with CoqEnv(lt.theorem, EnvConfig(tactic_timeout_s=30, extra_args=lt.env_args), pool=pool) as (env, state):
                    counts["started"] += 1
                    counts["same initial state"] += state.pp == tactics[0].state_before
                    for tt in tactics:
                        if not isinstance(state, TacticState):
                            break  # finished before the traced list ends (bullets are not traced)
                        state = env.run_tac(state, tt.tactic)
                    if not isinstance(state, ProofFinished):
                        counts["traced tactics do not finish"] += 1
                        print(f"not finished: {lt.full_name}: {str(state)[:160]}")
                        continue
                    verdict = check_library_proof(lt, env.proof_sentences(state))
            except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
                counts["start failed"] += 1
                print(f"start failed: {lt.full_name}: {type(exc).__name__}: {str(exc)[:160]}")
                continue
            counts["check passed" if verdict.ok else "check failed"] += 1
            if not verdict.ok:
                print(f"check failed: {lt.full_name}: {verdict.message[:200]}")
    print(f"\n{args.data.name} {args.split}/{args.part}: {len(problems)} theorems, {time.monotonic() - t0:.0f} s")
    for key, n in sorted(counts.items()):
        print(f"  {key}: {n}")


if __name__ == "__main__":
    main()
