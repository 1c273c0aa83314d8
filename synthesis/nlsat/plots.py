"""Phase-transition plots from a card: P(SAT) and median effort against m/n, one curve per n.

Both figures say how many samples each point rests on (in the legend) and mark each n's
P(SAT) = 0.5 crossing from the card (a dotted vertical line in the curve's colour). Effort is
plotted as ``1 + median`` on a log axis with plain-number tick labels, so medians of 0 (easy
ratios) stay visible and every decade is labelled.
"""

from __future__ import annotations

from pathlib import Path

from synthesis.nlsat.card import ASYMPTOTIC_3SAT


def _samples_text(rows: list[dict]) -> str:
    sizes = sorted({b["samples"] for b in rows})
    return f"{sizes[0]} samples/point" if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]} samples/point"


def plot_card(card: dict, out_dir: Path) -> list[Path]:
    """Write ``psat.png`` and ``effort.png`` into ``out_dir``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator

    ns = sorted({b["n"] for b in card["buckets"]})
    crossings = {row["n"]: row["crossing_ratio"] for row in card["per_n"]}
    k = card["config"]["k"]
    colours = {n: f"C{i % 10}" for i, n in enumerate(ns)}
    paths = []

    def mark_crossings(ax, label: bool) -> None:
        for n in ns:
            c = crossings.get(n)
            if c is not None:
                ax.axvline(c, color=colours[n], lw=0.8, ls=":", label=f"n = {n}: P(SAT)=0.5 at {c:.2f}" if label else None)
        if k == 3:
            ax.axvline(ASYMPTOTIC_3SAT, color="grey", lw=0.6, ls="--", label="4.267 (n -> inf)" if label else None)

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for n in ns:
        rows = [b for b in card["buckets"] if b["n"] == n]
        ax.plot(
            [b["effective_ratio"] for b in rows], [b["p_sat"] for b in rows], marker=".", ms=3, lw=1,
            color=colours[n], label=f"n = {n} ({_samples_text(rows)})",
        )
    ax.axhline(0.5, color="grey", lw=0.6)
    mark_crossings(ax, label=True)
    ax.set_xlabel("clauses / variables (m/n)")
    ax.set_ylabel("P(SAT)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"random {k}-SAT: P(SAT) against ratio")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out_dir / "psat.png"
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)
    paths.append(path)

    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, name, title in ((axes[0], "conflicts", "conflicts"), (axes[1], "decisions+propagations", "decisions + propagations")):
        for n in ns:
            rows = [b for b in card["buckets"] if b["n"] == n]
            ax.plot(
                [b["effective_ratio"] for b in rows],
                [1 + (b["sample_effort"][name] or {}).get("q50", 0.0) for b in rows],
                marker=".", ms=3, lw=1, color=colours[n], label=f"n = {n} ({_samples_text(rows)})",
            )
        mark_crossings(ax, label=name == "conflicts")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.set_xlabel("clauses / variables (m/n)")
        ax.set_ylabel(f"1 + median {title} (log scale)")
        ax.set_title(f"median {title} per instance ({card['config']['solver']})")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = out_dir / "effort.png"
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)
    paths.append(path)
    return paths
