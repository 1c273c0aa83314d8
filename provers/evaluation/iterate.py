"""``nesy iterate``: expert iteration on a traced library (issue 12, item 3).

Each round ``k`` (``OUT/round-k/``) runs five stages; each stage's outcome is recorded in
``round.json`` as it finishes, and a rerun skips the stages recorded there (the prove stage also
resumes inside itself through the engine's ``results.jsonl``):

1. **prove** -- the one proof-job engine (:func:`provers.evaluation.job.run_proof_job`, best-first
   search) with the current model as ``hf:MODEL[,premises=TRACED]`` (plus the automation closers
   with ``closers``) on a seeded sample of ``theorems`` training theorems of the split (the sample
   is drawn per round from ``(seed, k)``). Rows in ``round-k/prove/``. Only ``proved`` rows count:
   proofs that passed the fresh kernel check in the theorem's file context.
2. **pairs** -- each new proof (a theorem not proved in an earlier round) is replayed through the
   environment, started as the engine starts it, and every ``(state before, tactic)`` is written
   with the theorem's ``name``, ``file`` and ``statement`` to ``round-k/pairs.jsonl``; a replay
   that does not finish the proof adds nothing (counted). ``round-k/all_pairs.jsonl`` holds every
   pair so far, deduplicated by ``(state, tactic)``. The state is the environment's ``pp``, the
   text the ``hf:`` generator reads when proving.
3. **overlap check** -- before any training, every pair of ``all_pairs.jsonl`` is checked against
   the val and test theorems of *every* split of the dataset (``random`` and ``novel_premises``):
   by theorem name and by statement (:func:`provers.generators.traced_training.normalise_statement`:
   attributes, keyword and name removed, whitespace collapsed), the pair's recorded statement and
   the dataset's statement of that name alike. A hit raises :class:`EvaluationLeakError` naming the
   theorem; nothing is trained. The sample of step 1 already leaves such theorems out (a training
   theorem of ``random`` can be a test theorem of ``novel_premises``, or state what a test theorem
   states), so the check fires only on data that was changed or injected.
4. **train** -- :func:`provers.generators.traced_training.train_traced` fine-tunes the previous
   round's model (``init`` for round 1) for ``steps`` steps on the split's traced training pairs
   (val/test statement twins left out, ``drop_overlap``) plus all proof pairs so far
   (``proof_pairs``) plus, with ``pairs``, synthesized pairs (``nesy synth alchemy``'s
   ``pairs.jsonl``, at ``pairs_ratio``). The model's input (retrieval or not, premises, retriever,
   state length, room for the tactic) is the previous model's (its ``nesy_generator.json``). The
   model goes to ``round-k/model`` (``hf:`` loads it); training resumes from its checkpoint.
5. **numbers** -- ``round-k/round.json`` (theorems tried, proved, new pairs, total pairs, training
   seconds, loss, val top-1/top-k) and one row per round in ``OUT/summary.md``.

Synthesized *theorems* are not proved: a variant of ``nesy synth alchemy`` is a statement at its
original's place with the proof alchemy composed and checked, so its pairs are already known
(``pairs``); starting variants through the engine would need a problem source for them, which the
engine does not have.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from nesyrun.files import atomic_write_text
from provers.errors import InputError
from provers.generators.traced_training import OverlapError, normalise_statement
from provers.search.result import MAX_WIDEN

ROUND_FILE = "round.json"
SPLITS = ("random", "novel_premises")


class IterateError(InputError):
    """Input ``nesy iterate`` cannot run on (printed as ``nesy: error: ...``)."""


class EvaluationLeakError(OverlapError):
    """A proof pair of a theorem that is a val/test theorem of some split (by name or statement)."""


@dataclass(frozen=True)
class IterateConfig:
    """One expert-iteration run (module doc). Search and training options keep the defaults of
    ``nesy eval library`` and ``nesy train tactics --data`` where they have one."""

    data: Path
    init: Path
    out: Path
    rounds: int = 2
    theorems: int = 100
    split: str = "random"
    seed: int = 0
    backend: str = "coq"  # one that starts a traced library's theorems in context (Backend.load_library)
    # prove
    time_s: float = 60.0
    expansions: int = 100
    k: int = 8
    widen: int = 3  # doublings of k when the frontier empties (SearchBudget.widen)
    tactic_timeout_s: float = 5.0
    closers: bool = False
    workers: int = 1
    warm: bool = True
    check_timeout_s: float = 120.0
    # train
    steps: int = 200
    pairs: Path | None = None
    pairs_ratio: float | None = None
    batch_size: int = 16
    lr: float = 1e-3
    warmup: int = 20
    checkpoint_every: int = 200
    top_k: int = 8
    val_limit: int | None = 300
    threads: int | None = 1


@dataclass(frozen=True)
class ModelInput:
    """What the previous model reads (its ``nesy_generator.json``), kept by every round's model."""

    retrieval: bool
    num_premises: int
    retriever: str
    max_input_chars: int
    max_new_tokens: int


# ----------------------------------------------------------------------------- checks


def check_model_dir(path: Path, what: str = "--init") -> Path:
    """``path`` if it is a Hugging Face model directory (``config.json`` and weights), else an :class:`IterateError`."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise IterateError(f"{what} {path}: no such directory (expected a model saved by nesy train tactics --data)")
    if not (path / "config.json").is_file():
        raise IterateError(f"{what} {path}: not a Hugging Face model directory (no config.json)")
    from provers.generators.traced_training import _weights_present

    if not _weights_present(path):
        raise IterateError(f"{what} {path}: no weights there (model.safetensors or pytorch_model.bin)")
    return path.resolve()


def model_input(path: Path) -> ModelInput:
    """The input settings of the model in ``path`` (module doc, step 4)."""
    from provers.generators.base import GeneratorConfig
    from provers.generators.hf import PROMPT_FILE

    settings: dict = {}
    f = path / PROMPT_FILE
    if f.is_file():
        try:
            settings = json.loads(f.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise IterateError(f"{f}: not valid JSON ({exc})") from exc
    retrieval = bool(settings.get("premises"))
    new_tokens = 64  # nesy train tactics' default
    try:
        positions = json.loads((path / "config.json").read_text(encoding="utf-8")).get("n_positions")
    except (OSError, json.JSONDecodeError) as exc:
        raise IterateError(f"{path / 'config.json'}: unreadable ({exc})") from exc
    if isinstance(positions, int) and isinstance(settings.get("max_input_tokens"), int):
        new_tokens = positions - settings["max_input_tokens"]  # what the trainer left for the tactic
    return ModelInput(retrieval, int(settings.get("premises") or 8), str(settings.get("retriever", "bm25")),
                      int(settings.get("max_input_chars", GeneratorConfig().max_input_chars)), new_tokens)


def _check_config(c: IterateConfig) -> None:
    if c.rounds < 1:
        raise IterateError(f"--rounds must be at least 1, not {c.rounds}")
    if c.theorems < 1 or c.steps < 1 or c.workers < 1 or c.k < 1 or c.expansions < 1:
        raise IterateError("--theorems, --steps, --workers, --k and --expansions must be at least 1")
    if not 0 <= c.widen <= MAX_WIDEN:
        raise IterateError(f"--widen must be between 0 and {MAX_WIDEN} (doublings of --k), not {c.widen}")
    if not (c.time_s > 0 and c.tactic_timeout_s > 0 and c.check_timeout_s > 0):
        raise IterateError("--time, --tactic-timeout and --check-timeout must be positive")
    if c.split not in SPLITS:
        raise IterateError(f"--split must be one of {', '.join(SPLITS)}, not {c.split!r}")
    if c.batch_size < 1 or c.top_k < 1 or not c.lr > 0 or (c.val_limit is not None and c.val_limit < 0):
        raise IterateError("--batch and --val-k must be at least 1, --lr positive, --val-limit at least 0")
    if c.pairs_ratio is not None and (c.pairs is None or not c.pairs_ratio > 0):
        raise IterateError("--pairs-ratio needs --pairs FILE and must be positive")
    from provers.registry import canonical_name

    canonical_name(c.backend)  # an unknown backend: its own typed error


class EvaluationSet:
    """The val and test theorems of every split of a traced dataset (names and normalised
    statements), and the statements of ``train_split``'s training theorems (read once: the
    stdlib's is 142 MB)."""

    def __init__(self, data: Path, train_split: str = "random") -> None:
        from retrieval.dataset import open_dataset
        from retrieval.errors import RetrievalError

        try:
            ds = open_dataset(data)
            self.statements: dict[str, str] = {}  # training theorem name -> statement, for pairs without one
            self.names: dict[str, str] = {}  # eval theorem name -> "split/part"
            self.by_statement: dict[str, str] = {}  # normalised statement -> eval theorem name
            found = False
            for split in SPLITS:
                if not ds.part_path(split, "train").is_file():
                    continue
                found = True
                for part in ("train", "val", "test") if split == train_split else ("val", "test"):
                    for t in ds.read_part(split, part):
                        if part == "train":
                            if t.theorem_statement:
                                self.statements.setdefault(t.full_name, t.theorem_statement)
                            continue
                        self.names.setdefault(t.full_name, f"{split}/{part}")
                        if t.theorem_statement:
                            self.by_statement.setdefault(normalise_statement(t.theorem_statement), t.full_name)
        except RetrievalError as exc:
            raise IterateError(f"--data {data}: not a usable traced dataset ({exc}); make one with nesy trace") from exc
        if not found:
            raise IterateError(f"--data {data}: a dataset without any split ({', '.join(SPLITS)}); make one with nesy trace")

    def hit(self, name: str, statement: str | None) -> str | None:
        """Why theorem ``name`` (stated ``statement``) is an evaluation theorem, or None."""
        if name in self.names:
            return f"{name} is a {self.names[name]} theorem"
        for s in (statement, self.statements.get(name)):
            if s:
                twin = self.by_statement.get(normalise_statement(s))
                if twin is not None:
                    return f"{name} states what {twin} ({self.names[twin]}) states"
        return None


def check_pairs(path: Path, evaluation: EvaluationSet) -> int:
    """Stage 3: every pair of ``path`` against ``evaluation``; the number of pairs, or an
    :class:`EvaluationLeakError` naming the first evaluation theorem met (module doc)."""
    n = 0
    for line_no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise IterateError(f"{path}:{line_no}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            raise IterateError(f"{path}:{line_no}: a pair without the name of its theorem: {line[:120]!r}")
        why = evaluation.hit(row["name"], row.get("statement") if isinstance(row.get("statement"), str) else None)
        if why:
            raise EvaluationLeakError(f"{path}:{line_no}: {why}; the evaluation split is never trained on (nothing was trained)")
        n += 1
    return n


# ------------------------------------------------------------------------------ stages


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def sample_problems(problems: list, n: int, seed: int, round_no: int) -> list:
    """A seeded sample of ``n`` problems for round ``round_no`` (kept in dataset order)."""
    if n >= len(problems):
        return list(problems)
    keep = set(random.Random(f"{seed}|iterate|{round_no}").sample(range(len(problems)), n))
    return [p for i, p in enumerate(problems) if i in keep]


def replay(problem, proof: list[str], *, backend: str = "coq", tactic_timeout_s: float = 10.0, pool=None) -> list[tuple[str, str]] | None:
    """The ``(state before, tactic)`` of each step of ``proof`` on ``problem``, started as the job
    engine starts a library theorem (on ``pool``, a warm pool, if given); None when the replay does
    not end in a finished proof."""
    from provers.protocol import EnvConfig, ProofFinished, TacticState
    from provers.registry import load_backend

    b = load_backend(backend)
    ctx = problem.context
    config = EnvConfig(tactic_timeout_s=tactic_timeout_s, extra_args=tuple(getattr(ctx, "env_args", ())))
    out = []
    env_obj = b.env(problem.theorem, config, pool=pool) if pool is not None else b.env(problem.theorem, config)
    with env_obj as (env, state):
        for tactic in proof:
            if not isinstance(state, TacticState):
                return None
            out.append((state.pp, " ".join(tactic.split())))
            state = env.run_tac(state, tactic)
        return out if isinstance(state, ProofFinished) else None


def _statement(problem) -> str:
    ctx = problem.context
    return getattr(getattr(ctx, "theorem", None), "statement", "") or ""


class Iteration:
    """One run of :class:`IterateConfig` (module doc); :meth:`run` does every round not yet done."""

    def __init__(self, config: IterateConfig, *, progress: Callable[[str], None] | None = None,
                 on_row: Callable[[dict], None] | None = None, on_step: Callable[[int, int, float], None] | None = None) -> None:
        _check_config(config)
        self.config = config
        self.init = check_model_dir(config.init)
        self.data = Path(config.data).expanduser()
        self.out = Path(config.out).expanduser()
        self.progress = progress or (lambda message: None)
        self.on_row, self.on_step = on_row, on_step
        self.evaluation = EvaluationSet(self.data, config.split)
        if config.pairs is not None:
            from provers.generators.traced_training import read_synthesized_pairs

            read_synthesized_pairs(config.pairs)  # a bad file stops the run now, not after the first proving stage
        self.input = model_input(self.init)

    # -------------------------------------------------------------------- helpers

    def round_dir(self, k: int) -> Path:
        return self.out / f"round-{k}"

    def _record(self, k: int) -> dict:
        path = self.round_dir(k) / ROUND_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"round": k, "stages": {}}

    def _save(self, k: int, record: dict) -> None:
        atomic_write_text(self.round_dir(k) / ROUND_FILE, json.dumps(record, indent=1) + "\n")

    def model_of(self, k: int) -> Path:
        return self.init if k == 0 else self.round_dir(k) / "model"

    def eligible(self) -> tuple[list, int]:
        """The split's training theorems that may be proved: startable, not an evaluation theorem of any split."""
        from provers.evaluation.data import load_library

        problems = load_library(self.data, self.config.split, "train", backend=self.config.backend)
        keep = [p for p in problems if p.theorem is not None and not self.evaluation.hit(p.name, _statement(p))]
        return keep, len(problems)

    # -------------------------------------------------------------------- stages

    def prove(self, k: int, problems: list) -> dict:
        from nesyrun.pool import PoolConfig
        from provers.evaluation.job import ProofJobConfig, run_proof_job
        from provers.evaluation.rows import Status
        from provers.generators.base import GeneratorConfig
        from provers.search.result import SearchBudget

        c, model = self.config, self.model_of(k - 1)
        spec = f"hf:{model}" + (f",premises={self.data.resolve()}" if self.input.retrieval else "")
        gen = GeneratorConfig(spec=spec, decoding="beam", max_new_tokens=self.input.max_new_tokens, seed=c.seed,
                              retriever=self.input.retriever, retrieval_split=c.split)
        budget = SearchBudget(time_s=c.time_s, max_expansions=c.expansions, num_candidates=c.k, tactic_timeout_s=c.tactic_timeout_s, widen=c.widen)
        job = ProofJobConfig(backend=c.backend, search="best-first", budget=budget, generator=gen, closers=c.closers, warm=c.warm,
                             check_timeout_s=c.check_timeout_s)
        self.progress(f"round {k}: proving {len(problems)} training theorems with {spec}{' + closers' if c.closers else ''}")
        rows, summary = run_proof_job(problems, job, self.round_dir(k) / "prove", PoolConfig(workers=c.workers), on_row=self.on_row)
        proved = [r for r in rows if r["status"] == Status.PROVED.value and r.get("proof")]
        return {"generator": spec, "tried": len(rows), "proved": len(proved), "counts": summary["counts"]}

    def pairs(self, k: int, problems: list) -> dict:
        from provers.evaluation.rows import Status
        from provers.registry import load_backend

        d = self.round_dir(k)
        before = _read_jsonl(self.round_dir(k - 1) / "all_pairs.jsonl") if k > 1 else []
        done_names = {r["name"] for r in before}
        by_name = {p.name: p for p in problems}
        replay_failed: list[str] = []
        pool = load_backend(self.config.backend).pool(self.config.warm, 2048.0)
        try:
            rows = _read_jsonl(d / "prove" / "results.jsonl")
            new = self._replay_rows(rows, by_name, done_names, pool, replay_failed)
        finally:
            if pool is not None:
                pool.close()
        again = sum(1 for r in rows if r["status"] == Status.PROVED.value and r["name"] in done_names)
        seen = {(r["state"], r["tactic"]) for r in before}
        fresh = []
        for r in new:
            if (r["state"], r["tactic"]) not in seen:
                seen.add((r["state"], r["tactic"]))
                fresh.append(r)
        _write_jsonl(d / "pairs.jsonl", fresh)
        _write_jsonl(d / "all_pairs.jsonl", before + fresh)
        self.progress(f"round {k}: {len(fresh)} new pairs from {len({r['name'] for r in fresh})} newly proved theorems "
                      f"({again} proved again, {len(replay_failed)} replays failed); {len(before) + len(fresh)} in all")
        return {"new_pairs": len(fresh), "total_pairs": len(before) + len(fresh), "new_theorems": len({r["name"] for r in fresh}),
                "proved_again": again, "replay_failed": replay_failed}

    def _replay_rows(self, rows: list[dict], by_name: dict, done_names: set[str], pool, failed: list[str]) -> list[dict]:
        from provers.evaluation.rows import Status

        new: list[dict] = []
        for row in rows:
            if row["status"] != Status.PROVED.value or not row.get("proof") or row["name"] not in by_name:
                continue  # only proofs that passed the kernel check
            if row["name"] in done_names:
                continue  # proved in an earlier round: nothing new
            p = by_name[row["name"]]
            steps = replay(p, list(row["proof"]), backend=self.config.backend, tactic_timeout_s=self.config.tactic_timeout_s, pool=pool)
            if steps is None:
                failed.append(row["name"])
                continue
            new += [{"state": s, "tactic": t, "name": p.name, "file": p.file, "statement": _statement(p)} for s, t in steps]
        return new

    def train(self, k: int) -> dict:
        from provers.generators.traced_training import TracedTrainConfig, train_traced

        c, i = self.config, self.input
        d = self.round_dir(k)
        total = check_pairs(d / "all_pairs.jsonl", self.evaluation)  # stage 3: before anything is trained
        self.progress(f"round {k}: overlap check passed ({total} proof pairs, none of a val/test theorem of any split)")
        config = TracedTrainConfig(
            data=self.data, out=d / "model", split=c.split, retrieval=i.retrieval, retriever=i.retriever, num_premises=i.num_premises,
            pairs=c.pairs, pairs_ratio=c.pairs_ratio, proof_pairs=(d / "all_pairs.jsonl").resolve(), drop_overlap=True,
            init=self.model_of(k - 1), max_new_tokens=i.max_new_tokens, max_input_chars=i.max_input_chars, steps=c.steps,
            batch_size=c.batch_size, lr=c.lr, warmup=min(c.warmup, max(1, c.steps // 10)), seed=c.seed + k,
            checkpoint_every=c.checkpoint_every, top_k=c.top_k, val_limit=c.val_limit, threads=c.threads)
        self.progress(f"round {k}: fine-tuning {self.model_of(k - 1)} for {c.steps} steps -> {d / 'model'}")
        report = train_traced(config, progress=self.progress, on_step=self.on_step)
        if not report.finished:
            raise IterateError(f"round {k}: training stopped at step {report.steps}/{report.total_steps}; rerun to continue")
        acc = report.accuracy
        return {"counts": report.counts, "train_seconds": report.train_seconds, "loss": report.final_loss,
                "val_pairs": acc.get("pairs"), "top1": acc.get("top1"), "topk": acc.get(f"top{c.top_k}"), "k": c.top_k}

    # ----------------------------------------------------------------------- run

    def run(self) -> list[dict]:
        """Every round not yet recorded as done; returns every round's record."""
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise IterateError(f"cannot create --out {self.out}: {exc.strerror or exc}") from None
        settings = run_settings(self.config)
        path = self.out / "config.json"
        if path.is_file():
            try:
                before = json.loads(path.read_text(encoding="utf-8")).get("settings")
            except json.JSONDecodeError as exc:
                raise IterateError(f"{path}: not valid JSON ({exc}); use a new --out") from exc
            if before != settings:
                changed = sorted(k for k in settings.keys() | (before or {}).keys() if (before or {}).get(k) != settings.get(k))
                raise IterateError(f"--out {self.out} holds an iteration with other settings ({', '.join(changed)}); "
                                   "use a new --out, or the same options to resume (--rounds may grow)")
        elif self.out.is_dir() and any(self.out.iterdir()):
            raise IterateError(f"--out {self.out} is not empty and holds no nesy iterate run; use a new directory")
        atomic_write_text(path, json.dumps({"settings": settings, "rounds": self.config.rounds}, indent=1) + "\n")
        eligible, total = self.eligible()
        if not eligible:
            raise IterateError(f"--data {self.data}: no training theorem of {self.config.split} can be started and proved "
                               f"({total} in its train part)")
        self.progress(f"{len(eligible)} of {total} training theorems of {self.config.split} may be proved "
                      "(the others cannot start, or are a val/test theorem of some split by name or statement)")
        records = []
        for k in range(1, self.config.rounds + 1):
            records.append(self.run_round(k, eligible))
            atomic_write_text(self.out / "summary.md", summary_markdown(records, self.config, init_row(self.init)))
        return records

    def run_round(self, k: int, eligible: list) -> dict:
        d = self.round_dir(k)
        d.mkdir(parents=True, exist_ok=True)
        record = self._record(k)
        stages = record["stages"]
        problems = sample_problems(eligible, self.config.theorems, self.config.seed, k)
        for name, stage in (("prove", lambda: self.prove(k, problems)), ("pairs", lambda: self.pairs(k, problems)),
                            ("train", lambda: self.train(k))):
            if name in stages:
                self.progress(f"round {k}: {name} done earlier, skipped")
                continue
            t0 = time.monotonic()
            stages[name] = {**stage(), "seconds": round(time.monotonic() - t0, 1)}
            self._save(k, record)
        p, q, t = stages["prove"], stages["pairs"], stages["train"]
        done = dict(record)
        record.update({"model": str(d / "model"), "theorems_tried": p["tried"], "proved": p["proved"], "new_pairs": q["new_pairs"],
                       "total_pairs": q["total_pairs"], "train_seconds": t["train_seconds"], "loss": t["loss"],
                       "val_top1": t["top1"], "val_topk": t["topk"], "k": t["k"]})
        if record != done:  # a finished round read back is left as it was
            self._save(k, record)
        self.progress(f"round {k}: {p['proved']}/{p['tried']} proved, {q['new_pairs']} new pairs ({q['total_pairs']} in all), "
                      f"loss {t['loss']:.3f}, val top-1 {t['top1']}, top-{t['k']} {t['topk']}")
        return record


def run_settings(config: IterateConfig) -> dict:
    """What a resumed run must share with the run it continues (not ``rounds``: a rerun may add
    rounds; not the workers or threads)."""
    d = json.loads(json.dumps(asdict(config), default=str))
    for k in ("out", "rounds", "workers", "threads"):
        d.pop(k)
    for k in ("data", "init", "pairs"):
        if d[k] is not None:
            d[k] = str(Path(d[k]).expanduser().resolve())
    return d


def init_row(init: Path) -> dict | None:
    """The round-0 row: the ``--init`` model's own training report, when it has a validation accuracy."""
    try:
        report = json.loads((Path(init) / "training.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    acc = report.get("accuracy") if isinstance(report, dict) else None
    if not isinstance(acc, dict) or acc.get("top1") is None or acc.get("k") is None:
        return None
    k = acc["k"]
    return {"loss": report.get("final_loss"), "train_seconds": report.get("train_seconds"), "top1": acc["top1"],
            "topk": acc.get(f"top{k}"), "k": k, "pairs": acc.get("pairs")}


def summary_markdown(records: list[dict], config: IterateConfig, init: dict | None = None) -> str:
    """One row per round; ``init`` (:func:`init_row`): a round-0 row for the starting model."""
    lines = [f"# nesy iterate: {Path(config.data).name} ({config.split}), from {config.init}", "",
             f"{config.theorems} training theorems sampled per round, {config.time_s:g} s each; {config.steps} training steps per round.", "",
             "| round | theorems tried | proved | new pairs | total pairs | train s | loss | val top-1 | val top-k |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def num(v, fmt):
        return "-" if v is None else format(v, fmt)

    if init is not None:
        lines.append(f"| 0 (--init) | - | - | - | - | {num(init['train_seconds'], '.0f')} | {num(init['loss'], '.3f')} | "
                     f"{num(init['top1'], '.3f')} | {num(init['topk'], '.3f')} (k={init['k']}) |")
    for r in records:
        lines.append(f"| {r['round']} | {r['theorems_tried']} | {r['proved']} | {r['new_pairs']} | {r['total_pairs']} | "
                     f"{r['train_seconds']:.0f} | {r['loss']:.3f} | {num(r['val_top1'], '.3f')} | {num(r['val_topk'], '.3f')} (k={r['k']}) |")
    return "\n".join(lines) + "\n"


def iterate(config: IterateConfig, **callbacks) -> list[dict]:
    """Run (or resume) expert iteration (module doc); returns one record per round."""
    return Iteration(config, **callbacks).run()
