"""Abstention calibration: how high does qa.ask's best sentence score when the articles answer
the question, and when they do not?

For each dataset the index holds the paragraphs of every other article (0, 2, 4, ...): the
questions of those articles are answerable, the questions of the articles left out are not
(another Wikipedia topic; nothing in the index states their answers). For every question the
best sentence score qa.ask compared with its abstention threshold is recorded (through a
hook on the scoring step; questions refused earlier because they name something no article
mentions count as abstentions at any threshold). Reported per dataset, for a range of
thresholds: the share of answerable questions answered and the share of unanswerable ones
answered (false answers), so a threshold for one model can be set to the false-answer rate
another model has at its own.

Datasets: squad (English: the main model scores sentences; first 10 paragraphs of each
article) and arcd-train (Arabic: the multilingual companion scores them). ARCD's train split,
so that the Arabic answer benchmarks (XQuAD ar, ARCD test) are not what the threshold is set on.

Run:  python bench/abstention.py [--work DIR] [--datasets squad arcd-train] [--per-side 300]
                                 [--out bench/results/abstention.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

FILES = {"squad": "squad-dev-v1.1.json.gz", "arcd-train": "arcd-train.json.gz",
         "xquad-en": "xquad.en.json.gz", "xquad-ar": "xquad.ar.json.gz"}
PARAGRAPHS_PER_ARTICLE = {"squad": 10, "arcd-train": None, "xquad-en": None, "xquad-ar": None}
THRESHOLDS = [round(t, 2) for t in np.arange(0.20, 0.56, 0.02)]


def split(dataset: str, data: Path):
    """(indexed paragraphs, answerable questions, unanswerable questions) as common.Task rows."""
    articles = common.read_articles(data / FILES[dataset])
    cap = PARAGRAPHS_PER_ARTICLE[dataset]
    articles = [a[:cap] if cap else a for a in articles]
    inside = [p for a in articles[0::2] for p in a]
    outside = [p for a in articles[1::2] for p in a]
    task = common._task(dataset, f"abstention-{dataset}", inside)
    asked_out = [q["question"] for _, qas in outside for q in qas]
    return task, [q.text for q in task.questions], asked_out


def best_scores(index, questions: list[str]) -> np.ndarray:
    """The best sentence score qa.ask weighed for each question (-inf: refused before scoring)."""
    import qa
    from qa import answer

    seen: list[float] = []
    original = answer.prefer_own_language

    def record(scored, lang, threshold):
        kept = original(scored, lang, threshold)
        seen.append(kept[0].score if kept else 0.0)
        return kept

    answer.prefer_own_language = record
    try:
        out = []
        for q in questions:
            seen.clear()
            qa.ask(q, index)
            out.append(seen[0] if seen else -np.inf)
    finally:
        answer.prefer_own_language = original
    return np.array(out)


def main(argv: list[str] | None = None) -> dict:
    import qa
    from qa.answer import ABSTAIN_BELOW, ABSTAIN_BELOW_COMPANION  # the product's own, among the others

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    p.add_argument("--datasets", nargs="+", default=list(FILES), choices=list(FILES))
    p.add_argument("--per-side", type=int, default=300, help="questions per side at most (seeded)")
    p.add_argument("--work", type=Path, default=Path("/tmp/qa-abstention"))
    p.add_argument("--out", type=Path, default=common.ROOT / "bench" / "results" / "abstention.json")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    report = {"machine": common.machine(), "code": common.code_state(), "datasets": {}}
    for dataset in args.datasets:
        task, inside, outside = split(dataset, args.data)
        folder = args.work / dataset
        qa.build_index(common.write_articles(task, folder / "articles"), folder / "index")
        index = qa.load_index(folder / "index")
        pick = lambda qs: [qs[i] for i in sorted(rng.choice(len(qs), size=min(args.per_side, len(qs)), replace=False))]
        answerable, unanswerable = best_scores(index, pick(inside)), best_scores(index, pick(outside))
        thresholds = sorted({*THRESHOLDS, round(ABSTAIN_BELOW, 3), round(ABSTAIN_BELOW_COMPANION, 3)})
        rows = [{"threshold": t, "answered_answerable": round(float(np.mean(answerable >= t)), 3),
                 "answered_unanswerable": round(float(np.mean(unanswerable >= t)), 3)} for t in thresholds]
        report["datasets"][dataset] = {
            "articles_indexed": len(task.paragraphs), "answerable": len(answerable), "unanswerable": len(unanswerable),
            "companion": bool(index.manifest.get("companion")),
            "median_best_answerable": round(float(np.median(answerable)), 3),
            "median_best_unanswerable": round(float(np.median(unanswerable)), 3), "thresholds": rows}
        print(f"{dataset}: {len(task.paragraphs)} paragraphs indexed, median best score answerable "
              f"{np.median(answerable):.3f}, unanswerable {np.median(unanswerable):.3f}")
        print("  threshold  answered(answerable)  answered(unanswerable)")
        for r in rows:
            print(f"  {r['threshold']:.3f}      {r['answered_answerable']:.3f}                 "
                  f"{r['answered_unanswerable']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
