"""Smoke runs of the benchmarks (bench/) on 20 paragraphs: the scripts run end to end
through the project's build and search, and write the reports docs/BENCHMARKS.md is made of.
The full runs are in docs/BENCHMARKS.md; these only check that the commands still work."""
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
common = pytest.importorskip("common", reason="bench/common.py not importable")

pytestmark = pytest.mark.skipif(not common.DEFAULT_DATA.is_dir(),
                                reason=f"benchmark data not found at {common.DEFAULT_DATA}")

from corpus import load_bench as load  # noqa: E402


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("bench-work")


def test_tasks_read_squad_format_and_name_the_missing_data(tmp_path):
    task = common.load_tasks(common.DEFAULT_DATA, ["xquad-en-ar"], limit=3)[0]
    assert len(task.paragraphs) == 3 and task.questions
    assert all(q.gold in task.paragraphs for q in task.questions)
    assert any("\u0600" <= ch <= "\u06ff" for ch in next(iter(task.paragraphs.values())))
    # English questions against Arabic paragraphs; the gold answers are the Arabic paragraph's own.
    assert not any("\u0600" <= ch <= "\u06ff" for q in task.questions for ch in q.text)
    assert all(a in task.paragraphs[q.gold] for q in task.questions for a in q.answers)
    with pytest.raises(SystemExit, match="benchmark data is missing"):
        common.load_tasks(tmp_path, ["squad"])


def test_mixed_corpus_is_asked_across_languages():
    arabic = lambda text: any("\u0600" <= ch <= "\u06ff" for ch in text)
    ar_en, en_ar = common.load_tasks(common.DEFAULT_DATA, ["xquad-mixed"], limit=4)
    assert (ar_en.name, en_ar.name) == ("xquad-mixed-ar→en", "xquad-mixed-en→ar")
    # One corpus, both languages: English paragraphs of the first articles, Arabic of the last.
    assert ar_en.paragraphs == en_ar.paragraphs and sorted(map(arabic, ar_en.paragraphs.values())) == [0, 0, 1, 1]
    assert ar_en.questions and all(arabic(q.text) and not arabic(ar_en.paragraphs[q.gold]) for q in ar_en.questions)
    assert en_ar.questions and all(not arabic(q.text) and arabic(en_ar.paragraphs[q.gold]) for q in en_ar.questions)
    assert all(a in t.paragraphs[q.gold] for t in (ar_en, en_ar) for q in t.questions for a in q.answers)


def test_retrieval_reports_recall_for_every_mode(work, tmp_path):
    out = tmp_path / "retrieval.json"
    report = load("retrieval").main(["--tasks", "xquad-en", "xquad-ar", "--limit", "20", "--work", str(work),
                                     "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    for name in ("xquad-en", "xquad-ar"):
        modes = report["tasks"][name]["modes"]
        assert set(modes) == {"dense", "lexical", "hybrid"}
        for m in modes.values():
            assert 0 <= m["recall@1"] <= m["recall@5"] <= m["recall@20"] <= 1
            assert len(m["recall_curve"]) == 20
    # 20 paragraphs are easy: BM25 finds nearly every gold paragraph in the top 5.
    assert report["tasks"]["xquad-en"]["modes"]["hybrid"]["recall@5"] > 0.8


def test_fusion_tuning_compares_weights_and_rrf(work, tmp_path):
    report = load("tune_fusion").main(["--limit", "20", "--work", str(work), "--out", str(tmp_path / "t.json")])
    assert report["questions"] > 0
    assert "rrf k=60" in report["fusions"] and report["best_by_mrr@10"].startswith("convex")


def test_answers_report_containment_and_citation(work, tmp_path):
    report = load("answers").main(["--tasks", "xquad-en", "--limit", "20", "--sample", "15",
                                   "--work", str(work), "--out", str(tmp_path / "a.json")])
    row = report["tasks"]["xquad-en"]
    assert row["questions"] == 15
    assert 0 <= row["contains_gold_answer"] <= row["answered"] <= 1
    assert row["cites_gold_paragraph"] > 0.5


def test_plots_are_written(tmp_path):
    plot = load("plot")
    retrieval = {"tasks": {"t": {"articles": 3, "modes": {m: {"recall_curve": [0.5] * 20}
                                                          for m in ("dense", "lexical", "hybrid")}}}}
    speed = {"build": {s: {"passages_per_s": 10.0, "passages": 5} for s in ("qa", "langchain")},
             "search": {"qa dense": {"p50_ms": 1, "p95_ms": 2}, "langchain dense": {"p50_ms": 1, "p95_ms": 3}}}
    (tmp_path / "r.json").write_text(json.dumps(retrieval))
    (tmp_path / "s.json").write_text(json.dumps(speed))
    made = plot.main(["--retrieval", str(tmp_path / "r.json"), "--speed", str(tmp_path / "s.json"),
                      "--out", str(tmp_path / "img")])
    assert [p.name for p in made] == ["recall.png", "speed.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in made)


def test_speed_against_peers(tmp_path):
    pytest.importorskip("langchain_community", reason="peers are in the bench extra: pip install -e '.[bench]'")
    pytest.importorskip("langchain_huggingface", reason="peers are in the bench extra: pip install -e '.[bench]'")
    pytest.importorskip("txtai", reason="peers are in the bench extra: pip install -e '.[bench]'")
    report = load("speed").main(["--limit", "20", "--rounds", "1", "--queries", "5",
                                 "--systems", "qa", "qa-fp32", "langchain", "txtai",
                                 "--work", str(tmp_path / "w"), "--out", str(tmp_path / "s.json")])
    assert set(report["build"]) == {"qa", "qa-fp32", "langchain", "txtai"}
    # Same chunks for everyone: the peers index exactly the passages qa stored.
    assert len({row["passages"] for row in report["build"].values()}) == 1
    for name in ("qa dense", "qa hybrid", "langchain dense", "txtai dense", "txtai hybrid", "qa answer"):
        assert report["search"][name]["p50_ms"] > 0
    assert report["update"]["in_process_s"] > 0 and report["cli"]["qa --help"]["median_s"] > 0
    assert "qa/langchain build passages/s" in report["ratios"]
    assert "qa-fp32/txtai build passages/s" in report["ratios"]
    assert set(report["quality"]) == {"qa", "qa-fp32"}
    assert all(0 <= m["hybrid"]["recall@5"] <= 1 for m in report["quality"].values())
    # A speed figure is read with the instruction sets it ran on (bf16, AVX2).
    flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    assert ("avx2" in report["machine"]["cpu_features"]) == (" avx2" in flags)
