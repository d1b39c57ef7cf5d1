"""Choose the hybrid fusion on questions that are never reported: the 1,190 SQuAD dev
questions that XQuAD reuses, searched against the whole SQuAD dev index (2,067 paragraphs).

For each question the dense and BM25 candidate lists come from the index's own _rank (one
call per retriever); each fusion (qa.index.fuse_convex at several weights, qa.index.fuse_rrf)
then orders them, and documents are ranked by their first chunk. bench/retrieval.py reports
the chosen fusion on the other 9,380 SQuAD questions and on the other data sets.

Run:  python bench/tune_fusion.py [--data DIR] [--work DIR] [--out bench/results/tune_fusion.json]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import retrieval  # noqa: E402

WEIGHTS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0]


def candidates(index, query: str, vector: np.ndarray):
    from qa.index import CANDIDATES
    from qa.lexical import tokenize

    snap = index._snapshot
    dense = index._rank(snap, query, "dense", None, CANDIDATES, vector)
    lexical = index._rank(snap, query, "lexical", None, CANDIDATES, None)
    return dense, lexical, snap.lexical.scores(tokenize(query))


def rank_of(gold: str, fused, doc_of) -> int:
    seen: dict[str, None] = {}
    for row, _ in fused:
        seen.setdefault(doc_of[row], None)
        if len(seen) > retrieval.MAX_RANK:
            break
    docs = list(seen)[:retrieval.MAX_RANK]
    return docs.index(gold) + 1 if gold in docs else 0


def run(data: Path, work: Path, limit: int | None = None, log=print) -> dict:
    import qa
    from qa.index import fuse_convex, fuse_rrf

    task = common.load_tasks(data, ["squad"], limit)[0]
    tune = common.tuning_ids(data)
    questions = [q for q in task.questions if q.qid in tune]
    path, info = retrieval.build(task, work)
    index = qa.load_index(path)
    doc_of = index._snapshot.doc_of
    vectors = index.embedder().queries([q.text for q in questions])
    pools = [candidates(index, q.text, v) for q, v in zip(questions, vectors)]
    fusions = {f"convex w={w}": (lambda d, l, a, w=w: fuse_convex(d, l, a, w)) for w in WEIGHTS}
    fusions["rrf k=60"] = lambda d, l, a: fuse_rrf(d, l, 1.0)
    table = {}
    for name, fuse in fusions.items():
        ranks = [rank_of(q.gold, fuse(*pool), doc_of) for q, pool in zip(questions, pools)]
        m = retrieval.metrics(ranks)
        m.pop("recall_curve")
        table[name] = m
        log(f"{name:14s} R@1 {m['recall@1']:.3f} R@5 {m['recall@5']:.3f} R@20 {m['recall@20']:.3f} "
            f"MRR@10 {m['mrr@10']:.3f}")
    best = max((n for n in table if n.startswith("convex")), key=lambda n: (table[n]["mrr@10"], n))
    return {"questions": len(questions), "articles": len(task.paragraphs), "fusions": table,
            "best_by_mrr@10": best, "machine": common.machine()}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    p.add_argument("--work", type=Path, help="keep articles and the index here (default: temporary)")
    p.add_argument("--limit", type=int, help="only the first N paragraphs (smoke runs)")
    p.add_argument("--out", type=Path, default=common.RESULTS / "tune_fusion.json")
    args = p.parse_args(argv)
    started = time.perf_counter()
    return common.run_and_save(lambda work: run(args.data, work, args.limit), args.work, args.out, started)


if __name__ == "__main__":
    main()
