"""pass@k, coverage curves and the "Large Language Monkeys" power-law fit.

pass@k uses the unbiased estimator of Chen et al. (2021): for a problem with ``n`` samples of
which ``c`` are correct, ``pass@k = 1 - C(n - c, k) / C(n, k)`` (computed as a stable product).
Coverage at k is its mean over problems.

The fit: Brown et al. ("Large Language Monkeys", 2024) model coverage as an exponentiated power
law ``coverage(k) ≈ exp(a * k**b)`` with ``a, b < 0``. Taking logs twice,
``log(-log coverage) = log(-a) + b * log k``: a straight line, fitted by least squares on the
points with ``0 < coverage < 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for ``c`` correct out of ``n`` samples (``k <= n``)."""
    if not (0 <= c <= n) or not (1 <= k <= n):
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (got n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def coverage_curve(counts: list[tuple[int, int]], max_k: int) -> list[float]:
    """Mean pass@k over problems for k = 1..max_k; ``counts`` are ``(n, c)`` with ``n >= max_k``."""
    if not counts:
        return [0.0] * max_k
    return [sum(pass_at_k(n, c, k) for n, c in counts) / len(counts) for k in range(1, max_k + 1)]


@dataclass(frozen=True)
class PowerLawFit:
    a: float
    b: float
    points: int  # how many (k, coverage) points the fit used

    def __call__(self, k: float) -> float:
        return math.exp(self.a * k**self.b)


def fit_power_law(ks: list[int], coverage: list[float]) -> PowerLawFit | None:
    """Least-squares fit of ``coverage ≈ exp(a k^b)``; None with fewer than 2 usable points."""
    pts = [(math.log(k), math.log(-math.log(c))) for k, c in zip(ks, coverage) if 0.0 < c < 1.0]
    if len(pts) < 2 or len({x for x, _ in pts}) < 2:
        return None
    n = len(pts)
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    sxy = sum((x - mx) * (y - my) for x, y in pts)
    b = sxy / sxx
    log_neg_a = my - b * mx
    return PowerLawFit(a=-math.exp(log_neg_a), b=b, points=n)


def plot_coverage(curves: dict[str, list[float]], path: str, title: str) -> dict[str, PowerLawFit | None]:
    """Coverage against samples (log x) for each named curve, with its fitted power law; PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fits: dict[str, PowerLawFit | None] = {}
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, cov in curves.items():
        ks = list(range(1, len(cov) + 1))
        (line,) = ax.plot(ks, cov, marker="o", markersize=3, label=f"{label} (measured)")
        fit = fit_power_law(ks, cov)
        fits[label] = fit
        if fit is not None:
            dense = [1 + i * (len(cov) - 1) / 200 for i in range(201)] if len(cov) > 1 else [1]
            ax.plot(dense, [fit(k) for k in dense], linestyle="--", color=line.get_color(), label=f"exp({fit.a:.3f}·k^{fit.b:.3f})")
    ax.set_xscale("log")
    ax.set_xlabel("samples k")
    ax.set_ylabel("coverage (pass@k)")
    ax.set_ylim(0, max(0.05, min(1.0, max((max(c) for c in curves.values() if c), default=0) * 1.2)))
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return fits
