"""Written answers: what the check (qa/check.py) keeps, and what generation costs.

support — the check's support score on XQuAD, whose Arabic paragraphs are translations of the
  English ones: a sentence checked against its paragraph in the other language is a faithful
  restatement (supported); against the next paragraph of the same article in the other
  language, or against its own paragraph with that sentence taken out, it is a claim on the
  same topic that the passage does not make (unsupported). Reported: the share kept at each
  threshold, and by the whole check (facts + support at qa.check.SUPPORT_MIN).
model — a real model behind an OpenAI-compatible server (--llm-url, --llm-model; e.g. the
  bundled tiny SmolLM2 served by tests/llm_server.py) on questions about the seed articles:
  share of written sentences kept, share of answers that fall back, latency p50 with and
  without generation.

Run:  python bench/written.py support [--paragraphs 120] [--work DIR]
      python bench/written.py model --llm-url URL --llm-model NAME [--index DIR]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

THRESHOLDS = [round(t, 2) for t in np.arange(0.40, 0.86, 0.05)]  # on the same-language scale
SEED_QUESTIONS = [
    "What has Egypt co-produced with Türkiye?",
    "What did the Turkish air force commander inspect during his visit to Egypt?",
    "What did Egypt and Pakistan discuss?",
    "Which exercise did the Egyptian and Turkish navies hold?",
    "What is Aselsan opening in Egypt?",
    "What military cooperation do Egypt and Russia have?",
    "ما الذي اتفقت مصر وتركيا على تصنيعه؟",
    "من التقى قائد القوات الجوية التركية في القاهرة؟",
]


def _passage(doc_id, text, lang):
    from qa.types import Passage

    return Passage(doc_id=doc_id, title="", text=text, start=0, end=len(text), score=0.0, lang=lang,
                   date=None, source=None)


def support_run(args, work: Path) -> dict:
    import qa
    from qa.check import SUPPORT_MIN, _unstated_facts, support
    from qa.chunking import sentences

    en = common.read_articles(common.data_file(args.data, "xquad-en"))
    ar = common.read_articles(common.data_file(args.data, "xquad-ar"))
    pairs = []  # (article, paragraph, en text, ar text)
    for a, (en_article, ar_article) in enumerate(zip(en, ar)):
        for p, ((en_text, _), (ar_text, _)) in enumerate(zip(en_article, ar_article)):
            pairs.append((a, p, en_text, ar_text))
    pairs = pairs[:args.paragraphs]
    folder = work / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    for i, (_, _, en_text, ar_text) in enumerate(pairs):
        (folder / f"en{i:04d}.txt").write_text(en_text, encoding="utf-8")
        (folder / f"ar{i:04d}.txt").write_text(ar_text, encoding="utf-8")
    qa.build_index(folder, work / "index")
    index = qa.load_index(work / "index")
    kinds: dict[str, list[float]] = {}
    checked: dict[str, list[bool]] = {}

    def record(kind, sentence, source):
        score = support(sentence, [source], index)
        kinds.setdefault(kind, []).append(score)
        checked.setdefault(kind, []).append(score >= SUPPORT_MIN and _unstated_facts(sentence, [source], index) is None)

    for i, (a, _, en_text, ar_text) in enumerate(pairs):
        following = i + 1 if i + 1 < len(pairs) and pairs[i + 1][0] == a else None
        for lang, text, other_text, other_lang, other_key in (("en", en_text, ar_text, "ar", 3),
                                                               ("ar", ar_text, en_text, "en", 2)):
            spans = [(s, e) for s, e in sentences(text) if len(text[s:e].split()) >= 6]
            for s, e in spans[:args.per_paragraph]:
                sentence = text[s:e]
                record(f"{lang}→{other_lang} translation (supported)", sentence, _passage("x", other_text, other_lang))
                if following is not None:
                    record(f"{lang}→{other_lang} next paragraph (unsupported)", sentence,
                           _passage("y", pairs[following][other_key], other_lang))
                rest = (text[:s] + text[e:]).strip()
                if len(sentences(rest)) >= 2:
                    record(f"{lang}→{lang} sentence taken out (unsupported)", sentence, _passage("z", rest, lang))
    table = {}
    for kind, scores in kinds.items():
        scores = np.array(scores)
        table[kind] = {"n": len(scores), "median": round(float(np.median(scores)), 3),
                       "kept_at": {str(t): round(float((scores >= t).mean() * 100), 1) for t in THRESHOLDS},
                       "kept_by_check": round(float(np.mean(checked[kind]) * 100), 1)}
    return {"paragraphs": len(pairs), "support_min": SUPPORT_MIN, "kinds": table}


def model_run(args, work: Path) -> dict:
    import qa
    from qa.settings import from_env

    index_dir = Path(args.index) if args.index else work / "seeds-index"
    if not args.index:
        qa.build_index(common.ROOT / "seeds", index_dir)
    index = qa.load_index(index_dir)
    settings = from_env(llm_url=args.llm_url, llm_model=args.llm_model, llm_timeout=args.timeout,
                        llm_max_tokens=args.max_tokens)
    rows, plain_ms, written_ms = [], [], []
    for question in SEED_QUESTIONS * args.rounds:
        started = time.perf_counter()
        qa.ask(question, index)
        plain_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        answer = qa.ask(question, index, generate=True, settings=settings)
        written_ms.append((time.perf_counter() - started) * 1000)
        kept = len(answer.sentences) if answer.generated else 0
        rows.append({"question": question, "generated": answer.generated, "kept": kept,
                     "dropped": answer.dropped, "notice": answer.notice, "text": answer.text})
    asked = [r for r in rows if r["notice"] is not None or r["generated"]]  # extractive abstentions are not sent
    written = sum(r["kept"] + len(r["dropped"]) for r in asked)
    return {"model": args.llm_model, "max_tokens": args.max_tokens, "questions": len(rows), "sent_to_model": len(asked),
            "sentences_written": written, "kept_pct": round(100 * sum(r["kept"] for r in asked) / max(written, 1), 1),
            "fell_back_pct": round(100 * sum(not r["generated"] for r in asked) / max(len(asked), 1), 1),
            "ask_p50_ms": round(statistics.median(plain_ms), 1),
            "ask_generate_p50_ms": round(statistics.median(written_ms), 1), "answers": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["support", "model"])
    parser.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--paragraphs", type=int, default=120)
    parser.add_argument("--per-paragraph", type=int, default=3, help="sentences checked per paragraph and language")
    parser.add_argument("--llm-url")
    parser.add_argument("--llm-model")
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=120, help="most tokens a written answer may take")
    parser.add_argument("--index", help="an index of the seeds (default: built in the work folder)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    run = support_run if args.what == "support" else model_run
    out = args.out or common.RESULTS / f"written_{args.what}.json"
    report = common.run_and_save(lambda work: {"machine": common.machine(), **run(args, work)}, args.work, out, started)
    if args.what == "support":
        for kind, row in report["kinds"].items():
            print(f"{kind:42} n={row['n']:4} median {row['median']:.3f} kept by check {row['kept_by_check']:5.1f}%  "
                  + " ".join(f"{t}:{v:.0f}" for t, v in row["kept_at"].items()))
    else:
        print({k: v for k, v in report.items() if k not in ("answers", "machine", "code")})


if __name__ == "__main__":
    main()
