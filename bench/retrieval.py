"""Retrieval quality through the project's own build and search path.

Every paragraph of a data set becomes one .txt article, built with qa.build_index; every
question is a query to Index.search (dense, lexical, hybrid). The ranking of documents is
the order of their first passage. Reported: recall@1/5/20 and MRR@10 of the gold paragraph.

Query vectors are computed in batches with the index's own embedder and passed to
Index.search_with_duplicates(query_vector=...), which is what qa.ask does: the search path
(candidates, fusion, duplicate folding) is the product's, only the encoding is batched.

Run:  python bench/retrieval.py [--data DIR] [--tasks squad xquad-en ...] [--work DIR]
                                [--limit N] [--out bench/results/retrieval.json]
--work keeps the built indexes (a second run reuses them: builds are incremental).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TASKS = ["squad", "xquad-en", "xquad-ar", "xquad-en-ar", "arcd-test"]
MODES = ["dense", "lexical", "hybrid"]
PASSAGES = 30  # passages asked of search: 20 distinct documents for nearly every query (see "short")
MAX_RANK = 20


def build(task: common.Task, work: Path) -> tuple[Path, dict]:
    import qa

    folder = work / task.corpus
    articles = common.write_articles(task, folder / "articles")
    started = time.perf_counter()
    report = qa.build_index(articles, folder / "index")
    return folder / "index", {"articles": len(task.paragraphs), "chunks": report.chunks,
                              "embedded": report.embedded, "build_s": round(time.perf_counter() - started, 1)}


def gold_ranks(index, questions: list[common.Question], mode: str, vectors: np.ndarray):
    """Rank (1-based) of each question's gold paragraph, 0 when not in the top MAX_RANK;
    how many searches returned fewer than MAX_RANK documents; seconds per query."""
    ranks, short, started = [], 0, time.perf_counter()
    wanted = min(MAX_RANK, len(index.articles()))
    for q, vector in zip(questions, vectors):
        passages, _ = index.search_with_duplicates(q.text, k=PASSAGES, mode=mode,
                                                   query_vector=None if mode == "lexical" else vector)
        docs = common.doc_ranking(passages)[:MAX_RANK]
        short += len(docs) < wanted
        ranks.append(docs.index(q.gold) + 1 if q.gold in docs else 0)
    return ranks, short, (time.perf_counter() - started) / max(len(questions), 1)


def metrics(ranks: list[int]) -> dict:
    r = np.asarray(ranks)
    n = max(len(r), 1)
    found = r > 0
    return {"questions": len(r),
            "recall@1": float((found & (r <= 1)).sum() / n),
            "recall@5": float((found & (r <= 5)).sum() / n),
            "recall@20": float(found.sum() / n),
            "mrr@10": float(np.where(found & (r <= 10), 1.0 / np.maximum(r, 1), 0.0).sum() / n),
            "recall_curve": [float((found & (r <= k)).sum() / n) for k in range(1, MAX_RANK + 1)]}


def run(data: Path, tasks: list[str], work: Path, limit: int | None = None, log=print) -> dict:
    import faiss

    import qa

    # One query at a time on a shared 2-core machine: OpenMP threads only spin-wait on a
    # 3,000-vector flat search. Quality does not depend on it; bench/speed.py measures as shipped.
    faiss.omp_set_num_threads(1)

    held_out = common.tuning_ids(data) if "squad" in tasks else set()
    results, builds = {}, {}
    for task in common.load_tasks(data, tasks, limit):
        path, info = build(task, work)
        builds.setdefault(task.corpus, info)
        log(f"{task.name}: {info}")
        index = qa.load_index(path)
        embedder = index.embedder()
        vectors = np.vstack([embedder.queries([q.text for q in task.questions[i:i + 512]])
                             for i in range(0, len(task.questions), 512)])
        row = {"corpus": task.corpus, "articles": len(task.paragraphs), "chunks": info["chunks"], "modes": {}}
        for mode in MODES:
            ranks, short, seconds = gold_ranks(index, task.questions, mode, vectors)
            row["modes"][mode] = {**metrics(ranks), "short": short, "ms_per_query": round(seconds * 1000, 2)}
            if task.name == "squad":
                # The fusion was tuned on the questions XQuAD reuses: report the rest apart.
                kept = [r for r, q in zip(ranks, task.questions) if q.qid not in held_out]
                row["modes"][mode]["held_out"] = metrics(kept)
            m = row["modes"][mode]
            log(f"  {mode:8s} R@1 {m['recall@1']:.3f} R@5 {m['recall@5']:.3f} R@20 {m['recall@20']:.3f} "
                f"MRR@10 {m['mrr@10']:.3f}  ({m['ms_per_query']} ms/query)")
        results[task.name] = row
    return {"tasks": results, "builds": builds, "machine": common.machine(), "limit": limit,
            "passages_per_query": PASSAGES}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA, help="folder of the gzipped data sets")
    p.add_argument("--tasks", nargs="+", default=TASKS, choices=TASKS)
    p.add_argument("--work", type=Path, help="keep articles and indexes here (default: a temporary folder)")
    p.add_argument("--limit", type=int, help="only the first N paragraphs of each data set (smoke runs)")
    p.add_argument("--out", type=Path, default=common.RESULTS / "retrieval.json")
    args = p.parse_args(argv)
    started = time.perf_counter()
    return common.run_and_save(lambda work: run(args.data, args.tasks, work, args.limit), args.work, args.out,
                               started)


if __name__ == "__main__":
    main()
