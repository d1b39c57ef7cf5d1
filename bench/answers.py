"""Answer quality of qa.ask: does the answer contain a gold answer string, do its citations
include the gold paragraph? On a seeded sample of SQuAD dev questions and on XQuAD en / ar,
and across languages: English questions over XQuAD's Arabic paragraphs (xquad-en-ar), and the
mixed English + Arabic corpus asked across (xquad-mixed, see bench/retrieval.py). The gold
answer strings are the corpus paragraph's own (Arabic for an English question about an Arabic
paragraph): an extractive answer can only quote the articles.

Same indexes as bench/retrieval.py (every paragraph one article); pass the same --work to
reuse them. Also reported: how often ask answers at all (it abstains when nothing scores
high enough), and the two shares among the answered questions only.

Run:  python bench/answers.py [--data DIR] [--tasks squad xquad-en xquad-ar xquad-en-ar] [--sample 1000]
                              [--work DIR] [--out bench/results/answers.json]
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

TASKS = ["squad", "xquad-en", "xquad-ar", "xquad-en-ar"]


def contains_answer(text: str, answers: list[str]) -> bool:
    folded = text.casefold()
    return any(a.strip() and a.strip().casefold() in folded for a in answers)


def run(data: Path, tasks: list[str], work: Path, sample: int, limit: int | None = None, log=print) -> dict:
    import qa

    results = {}
    for task in common.load_tasks(data, tasks, limit):
        path, info = retrieval.build(task, work)
        index = qa.load_index(path)
        questions = task.questions
        if sample and len(questions) > sample:
            picked = np.random.default_rng(0).choice(len(questions), size=sample, replace=False)
            questions = [questions[i] for i in sorted(picked)]
        answered = contains = cited = both_answered = cited_answered = 0
        started = time.perf_counter()
        for q in questions:
            answer = qa.ask(q.text, index)
            hit = contains_answer(answer.text, q.answers) if answer.answered else False
            cites = any(p.doc_id == q.gold for p in answer.citations)
            answered += answer.answered
            contains += hit
            cited += cites
            both_answered += hit and answer.answered
            cited_answered += cites and answer.answered
        n = max(len(questions), 1)
        name = retrieval.row_name(task)
        results[name] = {
            "questions": len(questions), "of": len(task.questions), "articles": len(task.paragraphs),
            "companion": info["companion"],
            "answered": answered / n, "contains_gold_answer": contains / n, "cites_gold_paragraph": cited / n,
            "contains_when_answered": both_answered / max(answered, 1),
            "cites_when_answered": cited_answered / max(answered, 1),
            "ms_per_question": round((time.perf_counter() - started) / n * 1000, 1)}
        r = results[name]
        log(f"{name}: {len(questions)} questions, answered {r['answered']:.3f}, contains gold answer "
            f"{r['contains_gold_answer']:.3f}, cites gold paragraph {r['cites_gold_paragraph']:.3f}")
    return {"tasks": results, "sample": sample, "machine": common.machine(),
            "multilingual": common.multilingual_setting()}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    p.add_argument("--tasks", nargs="+", default=TASKS, choices=retrieval.TASKS)
    p.add_argument("--sample", type=int, default=1000, help="questions per task at most (seeded); 0 = all")
    p.add_argument("--work", type=Path, help="keep articles and indexes here (default: temporary)")
    p.add_argument("--limit", type=int, help="only the first N paragraphs (smoke runs)")
    p.add_argument("--out", type=Path, default=common.RESULTS / "answers.json")
    args = p.parse_args(argv)
    started = time.perf_counter()
    return common.run_and_save(lambda work: run(args.data, args.tasks, work, args.sample, args.limit), args.work,
                               args.out, started)


if __name__ == "__main__":
    main()
