"""Phase-transition plots from a card: P(SAT) and median effort against m/n, one curve per n."""

from __future__ import annotations

from pathlib import Path

from synthesis.nlsat.card import ASYMPTOTIC_3SAT


def plot_card(card: dict, out_dir: Path) -> list[Path]:
    """Write ``psat.png`` and ``effort.png`` into ``out_dir``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = sorted({b["n"] for b in card["buckets"]})
    k = card["config"]["k"]
    paths = []

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for n in ns:
        rows = [b for b in card["buckets"] if b["n"] == n]
        ax.plot([b["effective_ratio"] for b in rows], [b["p_sat"] for b in rows], marker=".", ms=3, lw=1, label=f"n = {n}")
    ax.axhline(0.5, color="grey", lw=0.6)
    if k == 3:
        ax.axvline(ASYMPTOTIC_3SAT, color="grey", lw=0.6, ls="--", label="4.267 (n -> inf)")
    ax.set_xlabel("clauses / variables (m/n)")
    ax.set_ylabel("P(SAT)")
    ax.set_title(f"random {k}-SAT: P(SAT) against ratio")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / "psat.png"
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)
    paths.append(path)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, name, title in ((axes[0], "conflicts", "median conflicts"), (axes[1], "decisions+propagations", "median decisions + propagations")):
        for n in ns:
            rows = [b for b in card["buckets"] if b["n"] == n]
            ax.plot(
                [b["effective_ratio"] for b in rows],
                [(b["sample_effort"][name] or {}).get("q50", 0.0) for b in rows],
                marker=".", ms=3, lw=1, label=f"n = {n}",
            )
        if k == 3:
            ax.axvline(ASYMPTOTIC_3SAT, color="grey", lw=0.6, ls="--")
        if name == "conflicts":  # medians of 0 conflicts occur at easy ratios: linear below 1
            ax.set_yscale("symlog", linthresh=1)
        else:
            ax.set_yscale("log")
        ax.set_ylim(bottom=0 if name == "conflicts" else None)
        ax.set_xlabel("clauses / variables (m/n)")
        ax.set_ylabel(title)
        ax.set_title(f"{title} ({card['config']['solver']})")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / "effort.png"
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)
    paths.append(path)
    return paths
