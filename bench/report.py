"""Markdown tables for docs/BENCHMARKS.md from the JSON reports in bench/results/.

Run:  python bench/report.py [--results bench/results] > tables.md
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

# Reference figures of the issue: all-MiniLM-L6-v2, FAISS flat, bm25s, plain RRF, whole paragraphs.
REFERENCE = {"squad": {"dense": (62.5, 86.4, 72.7), "lexical": (75.0, 90.8, 81.8), "rrf": (72.9, 92.9, 81.5)},
             "xquad-en": {"dense": (88.5, 98.2, 92.8), "lexical": (91.8, 98.6, 94.8), "rrf": (92.9, 99.0, 95.7)},
             "xquad-ar": {"dense": (0.8, 3.1, 2.3), "lexical": (81.6, 93.4, 86.7), "rrf": (19.3, 43.7, 29.5)},
             "arcd-test": {"dense": (2.4, 5.3, 4.1), "lexical": (58.8, 84.5, 70.0), "rrf": (18.2, 48.0, 30.9)}}
TASK_NAMES = {"squad": "SQuAD dev", "xquad-en": "XQuAD en→en", "xquad-ar": "XQuAD ar→ar",
              "xquad-en-ar": "XQuAD en→ar", "arcd-test": "ARCD test"}


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def retrieval_tables(r: dict) -> str:
    lines = ["| task | paragraphs | chunks | questions | mode | R@1 | R@5 | R@20 | MRR@10 |",
             "|---|---:|---:|---:|---|---:|---:|---:|---:|"]
    for name, row in r["tasks"].items():
        for mode in ("dense", "lexical", "hybrid"):
            m = row["modes"][mode]
            label = {"lexical": "BM25 (qa)", "dense": "dense (qa)", "hybrid": "**hybrid (qa)**"}[mode]
            lines.append(f"| {TASK_NAMES[name]} | {row['articles']:,} | {row['chunks']:,} | {m['questions']:,} | "
                         f"{label} | {pct(m['recall@1'])} | {pct(m['recall@5'])} | {pct(m['recall@20'])} | "
                         f"{pct(m['mrr@10'])} |")
            if "held_out" in m:
                h = m["held_out"]
                lines.append(f"| SQuAD dev, held out | | | {h['questions']:,} | {label} | {pct(h['recall@1'])} | "
                             f"{pct(h['recall@5'])} | {pct(h['recall@20'])} | {pct(h['mrr@10'])} |")
    out = ["\n".join(lines), "", "Against the reference table (R@1 / R@5 / MRR@10; best reference column per figure):", "",
           "| task | best reference | qa hybrid | beats all three? |", "|---|---|---|---|"]
    for name, ref in REFERENCE.items():
        if name not in r["tasks"]:
            continue
        m = r["tasks"][name]["modes"]["hybrid"]
        m = m.get("held_out", m)
        best = [max(col[i] for col in ref.values()) for i in range(3)]
        ours = [100 * m["recall@1"], 100 * m["recall@5"], 100 * m["mrr@10"]]
        wins = all(round(o, 1) > b for o, b in zip(ours, best))
        held = " (held-out questions)" if name == "squad" else ""
        out.append(f"| {TASK_NAMES[name]}{held} | {' / '.join(f'{b:.1f}' for b in best)} | "
                   f"{' / '.join(f'{o:.1f}' for o in ours)} | {'yes' if wins else 'no'} |")
    return "\n".join(out)


def precision_table(results: Path) -> str | None:
    """The shipped embedding (retrieval.json) and the int8 ONNX option against fp32 torch,
    task by task, with the share of fp32's R@5 each keeps."""
    runs = {"fp32 (torch)": "retrieval_fp32.json", "as shipped (bf16 here)": "retrieval.json",
            "onnx-int8": "retrieval_onnx.json"}
    loaded = {name: json.loads((results / f).read_text()) for name, f in runs.items() if (results / f).is_file()}
    if len(loaded) < 2 or "fp32 (torch)" not in loaded:
        return None
    reference = loaded["fp32 (torch)"]["tasks"]
    lines = ["| task | mode | embedding | R@1 | R@5 | MRR@10 | R@5 kept |", "|---|---|---|---:|---:|---:|---:|"]
    for task in reference:
        for mode in ("dense", "hybrid"):
            ref = reference[task]["modes"][mode]["recall@5"]
            for name, report in loaded.items():
                if task in report["tasks"]:
                    m = report["tasks"][task]["modes"][mode]
                    lines.append(f"| {TASK_NAMES[task]} | {mode} | {name} | {pct(m['recall@1'])} | "
                                 f"{pct(m['recall@5'])} | {pct(m['mrr@10'])} | {100 * m['recall@5'] / ref:.1f}% |")
    return "\n".join(lines)


def tuning_table(t: dict) -> str:
    lines = [f"{t['questions']:,} tuning questions against {t['articles']:,} paragraphs:", "",
             "| fusion | R@1 | R@5 | R@20 | MRR@10 |", "|---|---:|---:|---:|---:|"]
    for name, m in t["fusions"].items():
        bold = "**" if name == t["best_by_mrr@10"] else ""
        lines.append(f"| {bold}{name}{bold} | {pct(m['recall@1'])} | {pct(m['recall@5'])} | {pct(m['recall@20'])} | "
                     f"{pct(m['mrr@10'])} |")
    return "\n".join(lines)


def answers_table(a: dict) -> str:
    lines = ["| task | questions | answered | contains a gold answer | cites the gold paragraph | "
             "contains, when answered | cites, when answered | ms / question |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, m in a["tasks"].items():
        n = f"{m['questions']:,}" + (f" of {m['of']:,} (seeded sample)" if m["questions"] < m["of"] else "")
        lines.append(f"| {TASK_NAMES[name]} | {n} | {pct(m['answered'])} | {pct(m['contains_gold_answer'])} | "
                     f"{pct(m['cites_gold_paragraph'])} | {pct(m['contains_when_answered'])} | "
                     f"{pct(m['cites_when_answered'])} | {m['ms_per_question']} |")
    return "\n".join(lines)


def speed_tables(s: dict) -> str:
    b = s["build"]
    lines = [f"Build ({b['qa']['passages']:,} chunks of {s['articles']:,} SQuAD paragraphs, median of "
             f"{s['rounds']} interleaved rounds, each build its own process):", "",
             "| system | passages/s (in-process) | build in-process s | whole process s | peak RSS MB | index on disk MB |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, m in b.items():
        lines.append(f"| {name} | {m['passages_per_s']:.1f} | {m['build_s']:.1f} | {m['process_s']:.1f} | "
                     f"{m['peak_rss_mb']:.0f} | {m['disk_mb']:.2f} |")
    lines += ["", f"Search ({s['queries']} SQuAD questions, k=5, one query at a time, systems interleaved; "
              "each system encodes its own query):", "", "| call | p50 ms | p95 ms |", "|---|---:|---:|"]
    for name, m in s["search"].items():
        lines.append(f"| {name} | {m['p50_ms']:.1f} | {m['p95_ms']:.1f} |")
    u = s["update"]
    lines += ["", "Adding one article:", "", "| | add 1 article s | full build s | share |", "|---|---:|---:|---:|",
              f"| in-process (model loaded) | {u['in_process_s']:.2f} | {u['full_build_in_process_s']:.1f} | "
              f"{100 * u['share_in_process']:.1f}% |",
              f"| `qa build` process | {u['process_s']:.2f} | {u['full_build_process_s']:.1f} | "
              f"{100 * u['share_process']:.1f}% |",
              "", f"(index of {u['articles']:,} articles, {u['chunks']:,} chunks; full build: {u['full_build']})",
              "", "| command | median s | runs |", "|---|---:|---|"]
    for name, m in s["cli"].items():
        lines.append(f"| `{name}` | {m['median_s']:.2f} | {', '.join(f'{x:.2f}' for x in m['runs'])} |")
    lines += ["", "Ratios qa / peer (throughput: above 1 = qa faster; time, memory, disk: below 1 = qa better):", "",
              "| ratio | value |", "|---|---:|"]
    for name, v in s["ratios"].items():
        lines.append(f"| {name} | {v:.2f} |")
    q = s.get("quality") or s.get("onnx_quality")
    if q:
        lines += ["", f"Quality of each build ({s['queries']} questions, each index queried with its own "
                  "precision/backend):", "",
                  "| system | dense R@1 | dense R@5 | hybrid R@1 | hybrid R@5 |", "|---|---:|---:|---:|---:|"]
        for name, m in q.items():
            lines.append(f"| {name} | {pct(m['dense']['recall@1'])} | {pct(m['dense']['recall@5'])} | "
                         f"{pct(m['hybrid']['recall@1'])} | {pct(m['hybrid']['recall@5'])} |")
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in s["versions"].items() if v)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--results", type=Path, default=common.RESULTS)
    args = p.parse_args(argv)
    parts = []
    for name, render in (("retrieval", retrieval_tables), ("tune_fusion", tuning_table),
                         ("answers", answers_table), ("speed", speed_tables)):
        path = args.results / f"{name}.json"
        if path.is_file():
            report = json.loads(path.read_text())
            parts.append(f"### {name}\n\n{render(report)}\n\nMachine: {json.dumps(report.get('machine', {}))}")
    precision = precision_table(args.results)
    if precision:
        parts.append(f"### precision\n\n{precision}")
    text = "\n\n".join(parts)
    print(text)
    return text


if __name__ == "__main__":
    main()
