"""``nesy eval proofwriter|folio|prontoqa``: translator + prover pipelines on logic benchmarks.

Cheap to import (argparse only); the library is imported inside the run function.
"""

from __future__ import annotations

import argparse

DATASETS = {
    "proofwriter": "ProofWriter (OWA depth-5 as in Logic-LM, or the original JSONL)",
    "folio": "FOLIO (original JSONL with gold FOL, or Logic-LM's JSON)",
    "prontoqa": "ProntoQA (Logic-LM's JSON)",
}


def register(commands) -> None:
    for name, what in DATASETS.items():
        p = commands.add(
            f"eval {name}",
            help=f"translate {what} to first-order logic and prove it (LINC-style)",
            run=_run_eval,
        )
        p.set_defaults(dataset=name)
        p.add_argument("--data", required=True, help="data file or a directory to search (e.g. ../shared/data/" + name + ")")
        p.add_argument("--split", default=None, help="split to look for when --data is a directory (default: test/validation/dev)")
        p.add_argument("--translator", default="rule", help="rule (controlled English), hf:PATH (hf:default = SmolLM2-135M-Instruct) or openai:URL")
        p.add_argument("--mode", choices=("nl", "gold"), default="nl", help="gold: use FOLIO's own FOL instead of a translator")
        p.add_argument("--prover", default="prover9", help="prover9, z3 or eprover")
        p.add_argument("--agreement", action="store_true", help="run both prover9 and z3 on every problem and list disagreements")
        p.add_argument("--samples", "-k", type=int, default=None, help="LLM samples per problem, majority-voted (default 5 for LLMs; rule/gold use 1)")
        p.add_argument("--timeout", type=float, default=10.0, help="prover budget per problem, seconds (wall clock)")
        p.add_argument("--limit", type=int, default=None, help="evaluate only the first N problems (after --offset)")
        p.add_argument("--offset", type=int, default=0, help="skip the first N problems")
        p.add_argument("--negation", choices=("auto", "classical", "literal"), default="auto", help="controlled-English negation: literal = ProofWriter's forward-only semantics (auto: literal for ProofWriter+rule)")
        p.add_argument("--out", default=None, help="per-example JSONL (default: runs/logic/<dataset>-<translator>-<prover>.jsonl); a rerun resumes it")
        p.add_argument("--fresh", action="store_true", help="start --out over instead of resuming it")
        p.add_argument("--prompt", default=None, help="few-shot prompt file for LLM translators (default: the built-in one)")
        p.add_argument("--temperature", type=float, default=0.8, help="LLM sampling temperature")
        p.add_argument("--max-new-tokens", type=int, default=384, help="LLM completion length limit")
        p.add_argument("--model-name", default="default", help="model field sent to an openai: endpoint")
        p.add_argument("--threads", type=int, default=None, help="torch CPU threads for hf: models")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[:40].strip("_") or "x"


def _run_eval(args: argparse.Namespace) -> int:
    import math
    import sys
    from pathlib import Path

    from logic.errors import LogicError
    from logic.evaluation import EvalConfig, format_summary, run_eval
    from logic.translate.llm import LLMConfig

    translator = "gold" if args.mode == "gold" else args.translator
    if args.mode == "gold" and args.translator != "rule":
        raise LogicError("--mode gold uses the dataset's FOL; do not combine it with --translator")
    provers = ("prover9", "z3") if args.agreement else (args.prover,)
    is_llm = translator.startswith(("hf:", "openai:"))
    samples = args.samples if args.samples is not None else (5 if is_llm else 1)
    if samples < 1:
        raise LogicError(f"--samples must be >= 1, got {samples}")
    if samples != 1 and not is_llm:
        raise LogicError(f"--samples {samples} only applies to LLM translators (hf:PATH, openai:URL)")
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise LogicError(f"--timeout must be a positive finite number of seconds, got {args.timeout}")
    out = Path(args.out) if args.out else Path("runs") / "logic" / f"{args.dataset}-{_slug(translator)}-{'-'.join(provers)}.jsonl"
    config = EvalConfig(
        dataset=args.dataset,
        data=Path(args.data),
        split=args.split,
        translator=translator,
        provers=provers,
        timeout_s=args.timeout,
        limit=args.limit,
        offset=args.offset,
        negation=args.negation,
        output=out,
        llm=LLMConfig(
            spec=translator if is_llm else "hf:default",
            samples=samples,
            temperature=args.temperature,
            max_new_tokens=args.max_new_tokens,
            seed=args.seed,
            prompt=Path(args.prompt) if args.prompt else None,
            model_name=args.model_name,
            threads=args.threads,
        ),
        progress=not args.no_progress,
        fresh=args.fresh,
    )
    summary = run_eval(config)
    print(format_summary(summary), file=sys.stdout)
    return 0
