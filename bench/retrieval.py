"""Retrieval quality through the project's own build and search path.

Every paragraph of a data set becomes one .txt article, built with qa.build_index; every
question is a query to Index.search (dense, lexical, hybrid). The ranking of documents is
the order of their first passage. Reported: recall@1/5/20 and MRR@10 of the gold paragraph.

On an index without multilingual vectors, query vectors are computed in batches with the
index's own embedder and passed to Index.search_with_duplicates(query_vector=...), as qa.ask
does: the search path (candidates, fusion, duplicate folding) is the product's, only the
encoding is batched. On an index with multilingual vectors (the corpus holds a language the
main model does not cover, or QA_MULTILINGUAL=always) no vector is passed: search embeds each
query itself with whichever models it uses, exactly as Index.search(query, mode=...) does.

Tasks: squad, xquad-en, xquad-ar, arcd-test (questions in the corpus's language);
xquad-en-ar (English questions, Arabic paragraphs), xquad-ar-en (Arabic questions, English
paragraphs); xquad-mixed: one corpus of XQuAD's English paragraphs of articles 0-23 and
Arabic paragraphs of articles 24-47, asked across (rows xquad-mixed-ar→en, xquad-mixed-en→ar).
A run with QA_MULTILINGUAL set to other than auto builds its own indexes and suffixes its rows.

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

TASKS = common.TASK_NAMES
# What a run without --tasks measures; the cross-language tasks xquad-ar-en and xquad-mixed are
# asked for by name (bench/report.py names the rows it renders).
DEFAULT_TASKS = ["squad", "xquad-en", "xquad-ar", "xquad-en-ar", "arcd-test"]
MODES = ["dense", "lexical", "hybrid"]
PASSAGES = 30  # passages asked of search: 20 distinct documents for nearly every query (see "short")
MAX_RANK = 20


def build(task: common.Task, work: Path) -> tuple[Path, dict]:
    import qa

    setting = common.multilingual_setting()
    folder = work / (task.corpus if setting == "auto" else f"{task.corpus}-multilingual-{setting}")
    articles = common.write_articles(task, folder / "articles")
    started = time.perf_counter()
    report = qa.build_index(articles, folder / "index")
    seconds = round(time.perf_counter() - started, 1)
    companion = qa.load_index(folder / "index").manifest.get("companion")
    return folder / "index", {"articles": len(task.paragraphs), "chunks": report.chunks,
                              "embedded": report.embedded, "build_s": seconds, "multilingual": setting,
                              "companion": f"{companion['model']}, {companion['vectors']} vectors" if companion
                              else None}


def row_name(task: common.Task) -> str:
    setting = common.multilingual_setting()
    return task.name if setting == "auto" else f"{task.name} [multilingual={setting}]"


def query_vectors(index, questions: list[common.Question]) -> list:
    """Main-model query vectors in batches (what qa.ask computes and passes to search), or
    None for every question when the index's multilingual vectors are in use: search then
    embeds each query itself, with the models the product would use for it."""
    if index.multilingual() is not None:
        return [None] * len(questions)
    embedder = index.embedder()
    return list(np.vstack([embedder.queries([q.text for q in questions[i:i + 512]])
                           for i in range(0, len(questions), 512)]))


def gold_ranks(index, questions: list[common.Question], mode: str, vectors: list):
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
        builds.setdefault(path.parent.name, info)
        log(f"{row_name(task)}: {info}")
        index = qa.load_index(path)
        vectors = query_vectors(index, task.questions)
        row = {"corpus": task.corpus, "articles": len(task.paragraphs), "chunks": info["chunks"],
               "companion": info["companion"], "modes": {},
               "query_vectors": "by search" if index.multilingual() is not None else "batched"}
        for mode in MODES:
            ranks, short, seconds = gold_ranks(index, task.questions, mode, vectors)
            # Per question, in task order (0 = not in the top MAX_RANK): runs compare question by question.
            row["modes"][mode] = {**metrics(ranks), "short": short, "ms_per_query": round(seconds * 1000, 2),
                                  "gold_ranks": " ".join(map(str, ranks))}
            if task.name == "squad":
                # The fusion was tuned on the questions XQuAD reuses: report the rest apart.
                kept = [r for r, q in zip(ranks, task.questions) if q.qid not in held_out]
                row["modes"][mode]["held_out"] = metrics(kept)
            m = row["modes"][mode]
            log(f"  {mode:8s} R@1 {m['recall@1']:.3f} R@5 {m['recall@5']:.3f} R@20 {m['recall@20']:.3f} "
                f"MRR@10 {m['mrr@10']:.3f}  ({m['ms_per_query']} ms/query)")
        results[row_name(task)] = row
    return {"tasks": results, "builds": builds, "machine": common.machine(), "limit": limit,
            "passages_per_query": PASSAGES, "multilingual": common.multilingual_setting()}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA, help="folder of the gzipped data sets")
    p.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS, choices=TASKS)
    p.add_argument("--work", type=Path, help="keep articles and indexes here (default: a temporary folder)")
    p.add_argument("--limit", type=int, help="only the first N paragraphs of each data set (smoke runs)")
    p.add_argument("--out", type=Path, default=common.RESULTS / "retrieval.json")
    args = p.parse_args(argv)
    started = time.perf_counter()
    return common.run_and_save(lambda work: run(args.data, args.tasks, work, args.limit), args.work, args.out,
                               started)


if __name__ == "__main__":
    main()
