"""Cost of one training step of ``nesy train tactics --data``, per model size, side by side.

The examples are what the trainer feeds: pairs of the traced dataset's ``random`` train part, each
with its retrieved premises laid out by ``training_input`` (premise dropout 0.5) and cut as in
training. The tokenizer is trained on a sample of those texts. Each size then takes the same
batches: forward, backward, AdamW step; the sizes are interleaved so they see the same machine
load. Printed: parameters, mean tokens per example, median seconds per step, and the hours the
default number of steps would take at that rate.

    nice -n 10 .venv/bin/python benchmarks/tactic_train_step.py --data ~/.cache/nesy/traced/slice
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("~/.cache/nesy/traced/slice").expanduser())
    ap.add_argument("--sizes", default="3x192,4x256", help="LAYERSxWIDTH,...")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=4, help="timed steps per size (after one warm-up step)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch

    from provers.generators.reprover_input import cut_state
    from provers.generators.traced_training import (
        STATE_CUT,
        PremiseSource,
        TracedTrainConfig,
        prepare,
        training_input,
    )
    from provers.generators.training import (
        causal_example,
        collate,
        gpt2_from_config,
        train_bpe_tokenizer,
    )

    torch.set_num_threads(args.threads)
    config = TracedTrainConfig(data=args.data, out=Path("/nonexistent"), drop_overlap=True)
    root, pairs, _, _, evaluation = prepare(config)
    source = PremiseSource(root, "random", "bm25", config.num_premises, evaluation)
    rng = random.Random(0)
    sample = [pairs[rng.randrange(len(pairs))] for _ in range(args.batch * (args.steps + 1))]
    source.fill(sample)
    vocab_sample = pairs[:4000]  # the tokenizer's texts as the trainer builds them: all premises, the state, the tactic
    source.fill(vocab_sample)
    tok = train_bpe_tokenizer(["".join(t + "\n\n" for t in source.texts(p.state, p.place)) + cut_state(p.state, config.max_input_chars, STATE_CUT)
                               + p.tactic for p in vocab_sample], config.vocab_size)
    max_input = config.n_positions - config.max_new_tokens
    pieces = functools.lru_cache(maxsize=None)(lambda t: len(tok(t, add_special_tokens=False)["input_ids"]))
    examples = []
    for i, p in enumerate(sample):
        text = training_input(tok, p.state, source.texts(p.state, p.place), max_input_chars=config.max_input_chars,
                              max_input_tokens=max_input, drop=0.5, rng=random.Random(i), piece_tokens=pieces)
        examples.append(causal_example(tok, text, p.tactic, config.n_positions, max_prompt=max_input)[:2])
    batches = [collate(torch, examples[i : i + args.batch], tok.pad_token_id) for i in range(0, len(examples), args.batch)]
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    models = {}
    for layers, width in sizes:
        torch.manual_seed(0)
        model = gpt2_from_config(tok, n_layer=layers, n_head=4, n_embd=width, n_positions=config.n_positions)
        models[(layers, width)] = (model, torch.optim.AdamW(model.parameters(), lr=1e-3))
    times: dict = {s: [] for s in sizes}
    for b, (ids, mask, labels) in enumerate(batches):
        for s in sizes:  # interleaved: every size sees the same load
            model, opt = models[s]
            t = time.perf_counter()
            model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
            opt.step()
            opt.zero_grad()
            if b > 0:  # the first step warms up
                times[s].append(time.perf_counter() - t)
    mean_len = statistics.mean(len(ids) for ids, _ in examples)
    print(f"{len(examples)} examples from {root} (random/train), mean {mean_len:.0f} tokens, batch {args.batch}, {args.threads} thread(s)")
    print("| model | parameters | s / step (median) | hours for the default steps |")
    print("|---|---:|---:|---:|")
    for (layers, width), ts in times.items():
        n = sum(p.numel() for p in models[(layers, width)][0].parameters())
        med = statistics.median(ts)
        print(f"| {layers} layers x {width} | {n:,} | {med:.2f} | {med * config.steps / 3600:.2f} ({config.steps} steps) |")


if __name__ == "__main__":
    main()
