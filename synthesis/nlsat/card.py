"""The dataset card: counts, label balance, hardness quantiles, phase-transition physics.

Everything here is computed from the buckets' deterministic statistics (``stats/*.json``) and the
shards, so ``card.json`` and ``card.md`` are byte-for-byte reproducible. Definitions:

* **P(SAT)** of a bucket is measured on its first ``stats_samples`` candidates, which are made
  whatever their labels (the later, adaptive chunks are excluded, so the estimate is unbiased).
* **Crossing** per n: P(SAT) against the effective ratio m/n is made monotone (non-increasing) by
  weighted isotonic regression (pool adjacent violators, weights = samples), and the crossing of
  0.5 is linearly interpolated between the last point >= 0.5 and the first point < 0.5. ``None``
  with a reason when the sweep does not bracket 0.5.
* **Hardness ratio** per n, effort measure and percentile P: the pool is the stats samples of all
  buckets of that n, each bucket counted once per nominal ratio it covers (so the pool is uniform
  over the sweep's ratios). The hard set is the top ``ceil(|pool| (1 - P/100))`` by effort (ties
  by pool order). Ratio = median(hard) / median(pool): the denominator is the median of the whole
  pool (not of a random subsample, whose median at small n could make p75's ratio exceed p90's),
  so the ratio is non-decreasing in P. ``None`` if the pool's median is 0.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from synthesis.nlsat.config import NLSatConfig, hard_keep_count

HARDNESS_PERCENTILES = (75, 90, 95)
ASYMPTOTIC_3SAT = 4.267
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
CLAUSE_RULE = "m = floor(ratio * n + 1/2) (round half up, exact decimal arithmetic); buckets are (k, n, m)"


def _measures(stats: dict) -> dict[str, np.ndarray]:
    conflicts = np.asarray(stats["sample_conflicts"], dtype=np.int64)
    dp = np.asarray(stats["sample_decisions"], dtype=np.int64) + np.asarray(stats["sample_propagations"], dtype=np.int64)
    return {"conflicts": conflicts, "decisions+propagations": dp}


def _quantiles(values: np.ndarray) -> dict[str, float] | None:
    if len(values) == 0:
        return None
    return {f"q{int(q * 100):02d}": float(np.quantile(values, q)) for q in QUANTILES} | {"max": float(values.max())}


def isotonic_decreasing(y: Sequence[float], w: Sequence[float]) -> list[float]:
    """Weighted least-squares non-increasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [value, weight, count]
    for yi, wi in zip(y, w):
        blocks.append([float(yi), float(wi), 1])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            v2, w2, c2 = blocks.pop()
            v1, w1, c1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out: list[float] = []
    for v, _, c in blocks:
        out.extend([v] * int(c))
    return out


def crossing(ratios: Sequence[float], psat: Sequence[float], weights: Sequence[float]) -> tuple[float | None, str]:
    """Interpolated ratio where the isotonic P(SAT) curve crosses 0.5, and a note."""
    if not ratios:
        return None, "no buckets"
    fit = isotonic_decreasing(psat, weights)
    if fit[0] < 0.5:
        return None, f"P(SAT) < 0.5 already at the smallest ratio {ratios[0]:.3f}"
    for i in range(1, len(fit)):
        if fit[i] < 0.5:
            r0, r1, p0, p1 = ratios[i - 1], ratios[i], fit[i - 1], fit[i]
            return r0 + (p0 - 0.5) / (p0 - p1) * (r1 - r0), "interpolated"
    return None, f"P(SAT) >= 0.5 up to the largest ratio {ratios[-1]:.3f}"


def hardness_ratio(pool: np.ndarray, percentile: float) -> dict:
    """Median effort of the top ``(100 - percentile)%`` of ``pool`` over the pool's median."""
    size = hard_keep_count(len(pool), percentile)
    order = np.argsort(-pool, kind="stable")
    hard = pool[order[:size]]
    mh, mp = float(np.median(hard)), float(np.median(pool))
    return {"size": int(size), "pool": int(len(pool)), "median_hard": mh, "median_pool": mp, "ratio": (mh / mp) if mp > 0 else None}


def build_card(config: NLSatConfig, config_digest: str, stats: list[dict], records_by_bucket: dict[str, list[dict]]) -> dict:
    """The card as a JSON-ready dict (see the module docstring for definitions)."""
    stats = sorted(stats, key=lambda s: (s["k"], s["n"], s["m"]))
    buckets = []
    for s in stats:
        sample_sat = np.frombuffer(s["sample_sat"].encode(), dtype=np.uint8) == ord("1")
        measures = _measures(s)
        recs = records_by_bucket.get(s["bucket"], [])
        buckets.append(
            {
                "bucket": s["bucket"],
                "n": s["n"],
                "m": s["m"],
                "effective_ratio": round(s["effective_ratio"], 6),
                "nominal_ratios": s["ratios"],
                "samples": int(len(sample_sat)),
                "p_sat": float(sample_sat.mean()),
                "candidates": s["candidates"],
                "distinct": s["distinct"],
                "cross_checked": s["cross_checked"],
                "z3_unknown": s["z3_unknown"],
                "records": len(recs),
                "records_sat": sum(r["label"] == "SAT" for r in recs),
                "records_unsat": sum(r["label"] == "UNSAT" for r in recs),
                "shortfall": sum(g["shortfall"] for g in s["groups"]),
                "hard_threshold": {str(g["label"]): g["hard_threshold"] for g in s["groups"]},
                "sample_effort": {name: _quantiles(v) for name, v in measures.items()},
                "record_effort": {
                    "conflicts": _quantiles(np.array([r["effort"]["conflicts"] for r in recs], dtype=np.int64)),
                },
            }
        )
    per_n = []
    for n in sorted({s["n"] for s in stats}):
        group = [s for s in stats if s["n"] == n]
        rows = [b for b in buckets if b["n"] == n]
        cross, note = crossing(
            [b["effective_ratio"] for b in rows], [b["p_sat"] for b in rows], [b["samples"] * len(b["nominal_ratios"]) for b in rows]
        )
        hardness: dict[str, dict] = {}
        for name in ("conflicts", "decisions+propagations"):
            pool = np.concatenate([np.tile(_measures(s)[name], len(s["ratios"])) for s in group])
            hardness[name] = {
                f"p{p}": hardness_ratio(pool, p) for p in HARDNESS_PERCENTILES
            }
        recs = [r for b in group for r in records_by_bucket.get(b["bucket"], [])]
        per_n.append(
            {
                "n": n,
                "crossing_ratio": None if cross is None else round(cross, 4),
                "crossing_note": note,
                "hardness_ratio": hardness,
                "records": len(recs),
                "records_sat": sum(r["label"] == "SAT" for r in recs),
            }
        )
    total = sum(b["records"] for b in buckets)
    total_sat = sum(b["records_sat"] for b in buckets)
    return {
        "dataset": "nlsat",
        "config": config.to_json(),
        "config_hash": config_digest,
        "clause_count_rule": CLAUSE_RULE,
        "effort_measure": config.effort.value,
        "records": total,
        "records_sat": total_sat,
        "records_unsat": total - total_sat,
        "sat_fraction": (total_sat / total) if total else None,
        "shortfall": sum(b["shortfall"] for b in buckets),
        "per_n": per_n,
        "buckets": buckets,
    }


def dumps(card: dict) -> str:
    return json.dumps(card, indent=1, sort_keys=True) + "\n"


def _fmt(x, digits: int = 2) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def card_markdown(card: dict) -> str:
    """Human-readable card (deterministic: no timings)."""
    cfg = card["config"]
    lines = [
        "# NLSat dataset card",
        "",
        f"k = {cfg['k']}, fragment = {cfg['fragment']}, solver = {cfg['solver']}, seed = {cfg['seed']}, "
        f"per bucket = {cfg['per_bucket']}, hard percentile = {cfg['hard_percentile']}, balance = {cfg['balance']}, "
        f"dedup = {cfg['dedup']}, cross-check fraction = {cfg['cross_check']}, effort = {card['effort_measure']}",
        "",
        f"Clause count: {card['clause_count_rule']}.",
        "",
        f"Records: {card['records']} ({card['records_sat']} SAT / {card['records_unsat']} UNSAT); "
        f"shortfall {card['shortfall']}.",
        "",
        "## Phase transition and hardness per n",
        "",
        "P(SAT)=0.5 crossing: isotonic fit of P(SAT) vs m/n, linear interpolation. Hardness ratio: median effort of "
        "the top (100-P)% of the pooled sweep / median effort of the whole pool (the stats samples of every ratio).",
        "",
        "| n | crossing | conflicts p75 | p90 | p95 | dec+prop p75 | p90 | p95 | records (SAT) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in card["per_n"]:
        h = row["hardness_ratio"]
        cells = [_fmt(h[name][f"p{p}"]["ratio"]) for name in ("conflicts", "decisions+propagations") for p in HARDNESS_PERCENTILES]
        cross = _fmt(row["crossing_ratio"], 3) if row["crossing_ratio"] is not None else f"- ({row['crossing_note']})"
        lines.append(f"| {row['n']} | {cross} | " + " | ".join(cells) + f" | {row['records']} ({row['records_sat']}) |")
    checked = sum(b["cross_checked"] for b in card["buckets"])
    unknown = sum(b["z3_unknown"] for b in card["buckets"])
    lines += [
        "",
        "## Cross-check",
        "",
        f"{checked} labels re-checked with Z3 (fraction {cfg['cross_check']} of the labelled candidates), "
        f"0 disagreements (a disagreement stops the run), {unknown} left undecided by Z3.",
        "",
        "## Buckets",
        "",
        "Hard threshold: the effort (" + card["effort_measure"] + ") a candidate had to exceed to be kept, per label "
        "(the hard set's smallest effort; with the filter off every candidate counts).",
        "",
        "| n | m | m/n | P(SAT) | samples | conflicts q50 | q90 | q95 | records SAT/UNSAT | shortfall | distinct/candidates "
        "| cross-checked | z3 unknown | hard threshold |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for b in card["buckets"]:
        q = b["sample_effort"]["conflicts"] or {}
        thresholds = ", ".join(f"{'any' if k == 'None' else k} {_fmt(v, 1)}" for k, v in sorted(b["hard_threshold"].items())) or "-"
        lines.append(
            f"| {b['n']} | {b['m']} | {b['effective_ratio']:.3f} | {b['p_sat']:.3f} | {b['samples']} | "
            f"{_fmt(q.get('q50'), 1)} | {_fmt(q.get('q90'), 1)} | {_fmt(q.get('q95'), 1)} | "
            f"{b['records_sat']}/{b['records_unsat']} | {b['shortfall']} | {b['distinct']}/{b['candidates']} | "
            f"{b['cross_checked']} | {b['z3_unknown']} | {thresholds} |"
        )
    return "\n".join(lines) + "\n"
