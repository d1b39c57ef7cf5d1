"""Plots for docs/BENCHMARKS.md from the JSON the benchmarks wrote.

  docs/img/recall.png  recall@k (k = 1..20) of dense, BM25 and hybrid, one panel per task
  docs/img/speed.png   build throughput and search latency, qa against the peers

Run:  python bench/plot.py [--retrieval bench/results/retrieval.json]
                          [--speed bench/results/speed.json] [--out docs/img]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

COLORS = {"dense": "#4c72b0", "lexical": "#dd8452", "hybrid": "#55a868",
          "qa": "#55a868", "qa-fp32": "#8fd19e", "qa-onnx": "#2e7d32", "langchain": "#4c72b0", "txtai": "#c44e52"}
LABELS = {"lexical": "BM25", "dense": "dense", "hybrid": "hybrid (qa)"}


def plot_recall(report: dict, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = report["tasks"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3.2), sharey=True, squeeze=False)
    for ax, (name, row) in zip(axes[0], tasks.items()):
        for mode, m in row["modes"].items():
            curve = m["recall_curve"]
            ax.plot(range(1, len(curve) + 1), curve, label=LABELS.get(mode, mode), color=COLORS.get(mode))
        ax.set_title(f"{name} ({row['articles']} paragraphs)", fontsize=9)
        ax.set_xlabel("k (documents)")
        ax.set_xticks([1, 5, 10, 15, 20])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("recall@k")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_speed(report: dict, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    build, search = report["build"], report["search"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.4))
    systems = list(build)
    a.bar(systems, [build[s]["passages_per_s"] for s in systems], color=[COLORS.get(s) for s in systems])
    a.set_ylabel("passages / s (median)")
    a.set_title(f"build, {build[systems[0]]['passages']} chunks", fontsize=9)
    names = [n for n in search if n.split()[1] in ("dense", "hybrid")]
    p50 = [search[n]["p50_ms"] for n in names]
    p95 = [search[n]["p95_ms"] for n in names]
    x = range(len(names))
    b.bar([i - 0.2 for i in x], p50, width=0.4, label="p50", color=[COLORS.get(n.split()[0]) for n in names])
    b.bar([i + 0.2 for i in x], p95, width=0.4, label="p95", color=[COLORS.get(n.split()[0]) for n in names],
          alpha=0.5)
    b.set_xticks(list(x))
    b.set_xticklabels(names, rotation=20, fontsize=8)
    b.set_ylabel("ms per query (p50 solid, p95 light)")
    b.set_title("search latency, k=5", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> list[Path]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--retrieval", type=Path, default=common.RESULTS / "retrieval.json")
    p.add_argument("--speed", type=Path, default=common.RESULTS / "speed.json")
    p.add_argument("--out", type=Path, default=common.ROOT / "docs" / "img")
    args = p.parse_args(argv)
    made = []
    if args.retrieval.is_file():
        made.append(plot_recall(json.loads(args.retrieval.read_text()), args.out / "recall.png"))
    if args.speed.is_file():
        made.append(plot_speed(json.loads(args.speed.read_text()), args.out / "speed.png"))
    for path in made:
        print(f"wrote {path}")
    return made


if __name__ == "__main__":
    main()
