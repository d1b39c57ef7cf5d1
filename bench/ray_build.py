"""The cost of Ray: the same SQuAD dev build locally, with `--ray` on one Ray node, and on two
Ray nodes (this machine's cores split between them), through the product's build_index.

    python bench/ray_build.py [--paragraphs 600] [--rounds 2] [--out bench/results/ray_build.json]

Each round builds from scratch into a fresh folder; the Ray cluster is started before the
timed build (as a user's cluster would be running already) and stopped after. Reported:
whole-build seconds and chunks per second, medians over rounds, and the ratio to local.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common  # noqa: E402
import qa  # noqa: E402


def _cluster(nodes: int, cpus: int):
    from ray.cluster_utils import Cluster

    per_node = max(1, cpus // nodes)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": per_node, "include_dashboard": False})
    for _ in range(nodes - 1):
        cluster.add_node(num_cpus=per_node)
    cluster.wait_for_nodes()
    return cluster


def _build(articles: Path, work: Path, ray_address: str | None) -> dict:
    target = work / f"index-{time.monotonic_ns()}"
    started = time.perf_counter()
    report = qa.build_index(articles, target, ray=ray_address)
    seconds = time.perf_counter() - started
    shutil.rmtree(target)
    return {"seconds": seconds, "chunks": report.chunks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paragraphs", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "ray_build.json")
    args = parser.parse_args()
    import os

    cpus = os.cpu_count() or 2
    task = common.load_tasks(args.data, ["squad"], args.paragraphs)[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        articles = common.write_articles(task, work / "articles")
        qa.build_index(articles, work / "warm")  # model files in the page cache, ONNX export made
        runs: dict[str, list[dict]] = {"local": [], "ray, 1 node": [], "ray, 2 nodes": []}
        for round_ in range(args.rounds):
            runs["local"].append(_build(articles, work, None))
            for nodes in (1, 2):
                cluster = _cluster(nodes, cpus)
                try:
                    runs[f"ray, {nodes} node{'s' if nodes > 1 else ''}"].append(_build(articles, work, cluster.address))
                finally:
                    cluster.shutdown()
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]['seconds']:.1f} s" for k, v in runs.items()),
                  flush=True)
    table = {}
    for name, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        table[name] = {"seconds": round(seconds, 2), "chunks": results[0]["chunks"],
                       "chunks_per_s": round(results[0]["chunks"] / seconds, 1)}
    local = table["local"]["seconds"]
    for row in table.values():
        row["vs_local"] = round(local / row["seconds"], 2)
    out = {"paragraphs": len(task.paragraphs), "rounds": args.rounds, "cpus": cpus,
           "machine": common.machine(), "builds": table}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    for name, row in table.items():
        print(f"{name:14s} {row['seconds']:7.1f} s  {row['chunks_per_s']:6.1f} chunks/s  {row['vs_local']:.2f}x local")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
