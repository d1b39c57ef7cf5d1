"""The extraction benchmark (bench/extraction.py): its shingle F1 is ScrapingHub's evaluate.py
arithmetic, its ScrapingHub-layout loader reads gzipped pages and ground truth, and a run goes end
to end on the four real pages of tests/data/pages. Their reference here is trafilatura's own
output (we hold no published reference for them), so trafilatura must score 1.0 against itself;
the real figures are the benchmark's business (docs/BENCHMARKS.md). Nothing is downloaded."""
import gzip
import json
from pathlib import Path

import pytest

pytest.importorskip("trafilatura")

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "tests" / "data" / "pages"

from corpus import load_bench as load  # noqa: E402  (after the skip: bench/extraction imports trafilatura)

extraction = load("extraction")


def test_shingles_are_four_words_counted_with_repeats():
    assert extraction.shingles("a b c d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert extraction.shingles("a b c d a b c d")[("a", "b", "c", "d")] == 2
    assert extraction.shingles("Hello, world!") == {("Hello", "world"): 1}  # short text: one short shingle
    assert extraction.shingles("") == {}


def test_page_scores_are_shingle_precision_and_recall():
    ref = "one two three four five six seven eight"  # 5 shingles
    assert extraction.page_scores(ref, ref)["f1"] == 1.0
    half = extraction.page_scores(ref, "one two three four five")  # 2 of 5 shingles, nothing extra
    assert half["precision"] == 1.0 and half["recall"] == pytest.approx(2 / 5)
    assert half["f1"] == pytest.approx(2 * 0.4 / 1.4)
    noisy = extraction.page_scores(ref, ref + " menu login subscribe now")  # 4 extra shingles
    assert noisy["recall"] == 1.0 and noisy["precision"] == pytest.approx(5 / 9)
    assert extraction.page_scores(ref, "nothing in common at all")["f1"] == 0.0
    assert extraction.page_scores(ref, "")["recall"] == 0.0


def test_corpus_scores_average_pages_then_take_f1_like_evaluate_py():
    full = extraction.tp_fp_fn("a b c d e", "a b c d e")
    half = extraction.tp_fp_fn("a b c d e f", "a b c d e")  # tp 2, fn 1 -> recall 2/3
    empty = extraction.tp_fp_fn("a b c d e", "")  # no prediction: counts for recall only
    assert sum(half) == pytest.approx(1.0)  # normalised per page
    s = extraction.corpus_scores([full, half, empty])
    assert s["precision"] == pytest.approx(1.0)
    assert s["recall"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert s["f1"] == pytest.approx(2 * s["precision"] * s["recall"] / (s["precision"] + s["recall"]))


def test_dates_and_titles_compare_as_stated():
    assert extraction.iso_date("2018-06-19T05:50:00+09:00") == "2018-06-19"  # no time-zone shift
    assert extraction.iso_date("June 2018") is None and extraction.iso_date(None) is None
    assert extraction.same_title(" A  title\n", "A title") and not extraction.same_title("A title", "a title")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The four fixture pages in the ScrapingHub layout, trafilatura's text and date as truth."""
    import trafilatura

    tmp = tmp_path_factory.mktemp("extraction")
    html = tmp / "html"
    html.mkdir()
    truth = {}
    for page in sorted(PAGES.glob("*.html")):
        data = page.read_bytes()
        (html / f"{page.stem}.html.gz").write_bytes(gzip.compress(data))
        doc = trafilatura.bare_extraction(data.decode("utf-8"), include_comments=False, with_metadata=True)
        truth[page.stem] = {"articleBody": trafilatura.extract(data.decode("utf-8"), include_comments=False),
                            "url": doc.url, "datePublished": doc.date}
    (tmp / "ground-truth.json").write_text(json.dumps(truth), encoding="utf-8")
    out = tmp / "extraction.json"
    report = extraction.main(["--pages", str(tmp), "--truth", str(tmp / "ground-truth.json"), "--repeats", "1",
                              "--work", str(tmp / "work"), "--out", str(out)])
    return report, json.loads(out.read_text(encoding="utf-8")), truth


def test_a_run_on_four_real_pages_reports_every_figure(run):
    report, saved, truth = run
    assert saved == json.loads(json.dumps(report))
    systems = report["settings"]["systems"]
    assert systems[-2:] == ["trafilatura", "trafilatura-meta"] and systems[0] in ("qa-old", "qa-new")
    assert [r["name"] for r in report["pages"]] == sorted(truth)
    summary = report["summary"]
    assert summary["trafilatura"]["f1"] == 1.0  # scored against its own output
    dated = sum(1 for t in truth.values() if t["datePublished"])
    assert summary["trafilatura-meta"]["dated_pages"] == dated and summary["trafilatura-meta"]["date_share"] == 1.0
    for s in systems:
        e = summary[s]
        assert e["pages"] == 4 and 0 <= e["f1"] <= 1 and 0 <= e["precision"] <= 1 and 0 <= e["recall"] <= 1
        assert e["seconds_sum"] > 0 and e["ms_per_page"] > 0
    qa = systems[0]
    assert summary[qa]["time_ratio_vs_trafilatura"] > 0 and summary[qa]["f1_gap_vs_trafilatura"] <= 0
    assert set(report["losses"][qa]) == {"text_losses", "wrong_dates"}
    for row in report["pages"]:
        assert set(row["scores"]) == set(systems) and all(t > 0 for t in row["seconds"].values())
    assert {"trafilatura", "python", "cpu"} <= set(report["versions"]) | set(report["machine"])


def test_the_run_keeps_every_text_for_reading(run, tmp_path_factory):
    report, _, truth = run
    work = Path(report["dataset"]["pages_dir"]) / "work"
    for s in report["settings"]["systems"]:
        assert sorted(p.stem for p in (work / "out" / s).glob("*.txt")) == sorted(truth)
    assert "| system |" in extraction.render(report)
