"""qa eval: retrieval and answer quality on a labelled question file.

Each line of the JSONL file is one question:
    {"question": "...", "gold": ["doc id", ...], "answers": ["accepted string", ...],
     "answerable": true, "history": [["earlier question", "earlier answer"], ...]}
`gold`, `answers` and `history` may be empty or absent for unanswerable questions.
"""
from __future__ import annotations

import json
from pathlib import Path

from .answer import ask, retrieval_query
from .errors import QAError


def load_questions(path: str | Path) -> list[dict]:
    rows = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise QAError(f"cannot read {path}: {exc.strerror or exc}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row.get("question"), str):
                raise ValueError("no question")
        except (ValueError, AttributeError) as exc:
            raise QAError(f"{path}:{n}: not a question record ({exc})") from None
        row.setdefault("gold", [])
        row.setdefault("answers", [])
        row.setdefault("answerable", bool(row["gold"]))
        row.setdefault("history", [])
        rows.append(row)
    return rows


def evaluate(path, index, mode: str = "hybrid", k: int = 5) -> dict:
    rows = load_questions(path)
    r1 = r5 = mrr = contains = 0.0
    answerable = [r for r in rows if r["answerable"]]
    tp = fp = fn = 0  # abstention as the positive class
    for row in rows:
        history = [tuple(t) for t in row["history"]]
        if row["answerable"] and row["gold"]:
            query = retrieval_query(row["question"], history)
            ranked = _doc_ranking(index.search(query, k=10, mode=mode))
            rank = next((i for i, d in enumerate(ranked, 1) if d in row["gold"]), None)
            r1 += rank == 1
            r5 += rank is not None and rank <= 5
            mrr += 1 / rank if rank else 0.0
        answer = ask(row["question"], index, history=history, k=k, mode=mode)
        if row["answerable"] and any(a in answer.text for a in row["answers"]):
            contains += 1
        abstained = not answer.answered
        tp += abstained and not row["answerable"]
        fp += abstained and row["answerable"]
        fn += (not abstained) and not row["answerable"]
    n = max(len(answerable), 1)
    return {
        "questions": len(rows), "answerable": len(answerable),
        "recall@1": r1 / n, "recall@5": r5 / n, "mrr@10": mrr / n, "answer_contains": contains / n,
        "abstain_precision": tp / (tp + fp) if tp + fp else 1.0,
        "abstain_recall": tp / (tp + fn) if tp + fn else 1.0,
    }


def _doc_ranking(passages) -> list[str]:
    seen = []
    for p in passages:
        if p.doc_id not in seen:
            seen.append(p.doc_id)
    return seen


def format_table(results: dict[str, dict]) -> str:
    keys = ["recall@1", "recall@5", "mrr@10", "answer_contains", "abstain_precision", "abstain_recall"]
    first = next(iter(results.values()))
    lines = [f"{first['questions']} questions, {first['answerable']} answerable",
             f"{'mode':8} " + " ".join(f"{k:>17}" for k in keys)]
    for mode, r in results.items():
        lines.append(f"{mode:8} " + " ".join(f"{r[k]:>17.3f}" for k in keys))
    return "\n".join(lines)
