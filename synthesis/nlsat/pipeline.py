"""The NLSat pipeline: validate, run buckets (serially or on Ray), write shards, card and plots.

Output directory layout (the *dataset* is ``config.json``, ``shards/``, ``stats/``, ``card.json``
and ``card.md``; these are byte-for-byte reproducible for the same config, whatever the number of
workers; ``timings/`` and ``run.json`` hold wall-clock times and are not)::

    config.json            the config, its hash and the vocabulary fingerprint
    shards/<bucket>.jsonl  one JSON record per line, generation order
    stats/<bucket>.json    per-bucket statistics; its presence marks the bucket as done
    timings/<bucket>.json  seconds spent per stage
    card.json, card.md     the dataset card
    psat.png, effort.png   phase-transition plots
    run.json               timing summary of the last invocation
    disagreements/<id>.cnf a formula on which pysat and Z3 disagreed (the run stopped)

Resumption: rerunning with the same config and ``--out`` skips the buckets whose stats file
exists (each bucket's files are written atomically, stats last), so an interrupted run loses at
most the buckets in flight. A different config in the same directory is refused.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from nesyrun.extras import require
from nesyrun.files import atomic_write_text, writable_dir
from nesyrun.pool import map_unordered
from synthesis.errors import (
    BucketFailedError,
    ConfigError,
    CrossCheckDisagreement,
    MissingExtraError,
    OutputError,
    ResumeMismatchError,
)
from synthesis.nlsat.bucket import BucketResult, compute_bucket
from synthesis.nlsat.card import build_card, card_markdown, dumps
from synthesis.nlsat.config import Bucket, NLSatConfig, RunOptions, config_hash
from synthesis.nlsat.validate import validate
from synthesis.nlsat.vocabulary import Vocabulary


@dataclass(frozen=True)
class RunSummary:
    """What a run did. ``seconds_per_instance`` maps n to mean labelling seconds per candidate."""

    out: Path
    buckets: int
    resumed: int
    generated: int
    records: int
    card: dict
    seconds_per_instance: dict[int, float]
    wall_s: float
    plots: tuple[Path, ...]


def _write_atomic(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _prepare_out(config: NLSatConfig, vocabulary: Vocabulary, out: Path) -> str:
    digest = config_hash(config, vocabulary.fingerprint())
    cfg_path = out / "config.json"
    why = writable_dir(out)
    if why:
        raise ConfigError(why)
    if cfg_path.exists():
        try:
            previous = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ResumeMismatchError(f"{cfg_path} is not valid JSON ({exc}); use a new --out") from None
        if previous.get("config_hash") != digest:
            raise ResumeMismatchError(
                f"{out} holds a run with a different configuration (hash {str(previous.get('config_hash'))[:12]}, "
                f"this one {digest[:12]}); use a new --out or the same arguments to resume"
            )
    else:
        payload = {"config": config.to_json(), "config_hash": digest, "vocabulary": vocabulary.fingerprint()}
        _write_atomic(cfg_path, json.dumps(payload, indent=1, sort_keys=True) + "\n")
    return digest


def _results(config: NLSatConfig, buckets: list[Bucket], vocabulary: Vocabulary, options: RunOptions) -> Iterator[BucketResult | tuple[Bucket, BaseException]]:
    """Bucket results in completion order (on :func:`nesyrun.pool.map_unordered`); a crashed Ray
    task yields ``(bucket, exception)``."""
    if options.workers > 1 or options.address is not None:
        require("ray", "dist", error=MissingExtraError, what="NLSat on several workers")
    # biggest buckets first for load balance (the order never changes the output)
    ordered = sorted(buckets, key=lambda b: (-b.n * b.m, b)) if options.workers > 1 else buckets
    for bucket, result in map_unordered(_compute, ordered, args=(config, vocabulary), workers=options.workers,
                                        address=options.address, retries=1):
        yield (bucket, result) if isinstance(result, BaseException) else result


def _compute(config: NLSatConfig, vocabulary: Vocabulary, bucket: Bucket) -> BucketResult:
    return compute_bucket(config, bucket, vocabulary)


def _load_stats(out: Path, buckets: list[Bucket]) -> tuple[list[dict], dict[str, list[dict]]]:
    stats, records = [], {}
    for b in buckets:
        stats.append(json.loads((out / "stats" / f"{b.name}.json").read_text()))
        shard = out / "shards" / f"{b.name}.jsonl"
        records[b.name] = [json.loads(line) for line in shard.read_text().splitlines() if line]
    return stats, records


def run_nlsat(config: NLSatConfig, options: RunOptions) -> RunSummary:
    """Generate (or resume) a dataset into ``options.out``; see the module docstring."""
    start = time.perf_counter()
    buckets, vocabulary = validate(config)  # raises ConfigError before any work
    if options.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {options.workers}")
    out = options.out
    digest = _prepare_out(config, vocabulary, out)
    todo = [b for b in buckets if not (out / "stats" / f"{b.name}.json").exists()]
    resumed = len(buckets) - len(todo)

    from tqdm import tqdm

    failed: list[tuple[Bucket, BaseException]] = []
    timings: dict[str, dict] = {}
    bar = tqdm(total=len(todo), unit="bucket", desc="nlsat", file=sys.stderr, disable=not options.progress)
    try:
        with closing(_results(config, todo, vocabulary, options)) as results:
            for result in results:
                if isinstance(result, tuple):
                    failed.append(result)
                    bar.update(1)
                    continue
                if result.disagreement is not None:
                    d = result.disagreement
                    path = out / "disagreements" / f"{d.record_id}.cnf"
                    _write_atomic(path, d.dimacs)
                    raise CrossCheckDisagreement(
                        f"label disagreement in bucket {d.bucket}: {config.solver} says {d.solver_label.value}, "
                        f"z3 says {d.z3_label.value}; formula saved to {path}",
                        path,
                    )
                name = result.bucket.name
                shard = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in result.records)
                _write_atomic(out / "shards" / f"{name}.jsonl", shard)
                _write_atomic(out / "timings" / f"{name}.json", json.dumps(result.timing, indent=1, sort_keys=True) + "\n")
                _write_atomic(out / "stats" / f"{name}.json", json.dumps(result.stats, sort_keys=True) + "\n")
                timings[name] = result.timing
                bar.update(1)
    finally:
        bar.close()
    if failed:
        names = ", ".join(f"{b.name} ({type(e).__name__}: {e})" for b, e in failed[:5])
        raise BucketFailedError(
            f"{len(failed)} bucket(s) failed: {names}; the other buckets are saved in {out}, rerun the same command to resume"
        )

    stats, records = _load_stats(out, buckets)
    card = build_card(config, digest, stats, records)
    _write_atomic(out / "card.json", dumps(card))
    _write_atomic(out / "card.md", card_markdown(card))
    plots: tuple[Path, ...] = ()
    if options.plots:
        from synthesis.nlsat.plots import plot_card

        plots = tuple(plot_card(card, out))

    per_n: dict[int, list[float]] = {}
    for b in buckets:
        t = timings.get(b.name)
        if t is None:
            tpath = out / "timings" / f"{b.name}.json"
            t = json.loads(tpath.read_text()) if tpath.exists() else None
        if t:
            acc = per_n.setdefault(b.n, [0.0, 0.0])
            acc[0] += t["label_s"]
            acc[1] += t["candidates"]
    spi = {n: (s / c if c else float("nan")) for n, (s, c) in sorted(per_n.items())}
    wall = time.perf_counter() - start
    _write_atomic(
        out / "run.json",
        json.dumps(
            {"wall_s": wall, "generated_buckets": len(todo), "resumed_buckets": resumed, "workers": options.workers,
             "label_seconds_per_instance": {str(n): v for n, v in spi.items()}},
            indent=1, sort_keys=True,
        ) + "\n",
    )
    return RunSummary(out, len(buckets), resumed, len(todo), card["records"], card, spi, wall, plots)
