"""Extraction: the text, date and title qa stores for a real news page, next to trafilatura's.

Data (never copied into the project): the test pages of newspaper4k 0.9.6 (MIT), fetched as
its PyPI sdist into --work the first time (pinned by sha256) and reused: real pages
(tests/data/html/<name>.html), the article text newspaper4k's own tests expect
(tests/data/txt/<name>.txt) and its expected metadata (tests/data/metadata/<name>.json:
publish_date, title). Every page with both a page and a reference text is used; the others,
and a page repeated under a second name, are listed in the report with the reason. The
references are newspaper4k's regression expectations, checked by its authors: they follow its
idea of an article (captions and "Read more" lines in or out), not a neutral judge's.
With --pages DIR --truth FILE the same run reads the ScrapingHub article-extraction-benchmark
layout instead (DIR/<id>.html.gz, gzipped UTF-8, and ground-truth.json: {id: {"articleBody",
"url", optional "datePublished"}}; github.com/scrapinghub/article-extraction-benchmark).

Systems, each given the page as a file named <name>.html and nothing else (no URL):
  qa-old            what qa.build stored before issue 11: qa.readers.read_file + qa.cleaning.clean
  qa-new            what it stores now: qa.articles.load_article (when that module exists)
  trafilatura       trafilatura.extract(html, include_comments=False), exactly as the
                    benchmark's extractors/run_trafilatura.py calls it (text only)
  trafilatura-meta  trafilatura.bare_extraction(html, include_comments=False,
                    with_metadata=True): text + title + date, the job qa does
The trafilatura peers get the file's bytes decoded as UTF-8 (as the benchmark and newspaper4k's
tests read them), or the raw bytes when they are not UTF-8.

Scores. Text: precision, recall and F1 over 4-word shingles, exactly the benchmark's
evaluate.py (string_shingle_matching, metrics_from_tp_fp_fns): per page tp/fp/fn normalised to
sum 1; precision is the mean over pages with any predicted text, recall the mean over pages
with any reference text, and F1 = 2PR/(P+R) of those means (not a mean of per-page F1s, which
is reported beside it). A page qa skips counts as empty text (recall 0). Dates: the share of
pages whose reference states a date (YYYY-MM-DD, as written, no time-zone conversion) where
the system's date equals it. Titles: exact match after collapsing white space.
Speed: per page, every system in turn, the order rotated page by page and repeat by repeat,
after an untimed pass that also gives the scores; the figure per page is the median over
--repeats, and the ratio is the sum of qa's medians over the sum of the peer's. qa's time is all
it does for a file (reading the bytes, decoding, extraction, clean-up); CPU time is reported
beside wall time because the machine is shared.

Run:  python bench/extraction.py [--work DIR] [--repeats 5] [--path old|new|both]
                                 [--out bench/results/extraction.json]
      python bench/extraction.py --pages article-extraction-benchmark/html \\
                                 --truth article-extraction-benchmark/ground-truth.json
The old qa/ from an earlier commit, without touching the checkout (qa_commit names it):
      git -C /work/main archive cde76d9 qa | tar -x -C /tmp/qa-before
      PYTHONPATH=/tmp/qa-before python /work/main/bench/extraction.py --path old \\
          --out /work/main/bench/results/extraction_before.json
--work keeps the pages, and every system's text per page (out/<system>/<name>.txt), for reading.
"""
from __future__ import annotations

import argparse
import gc
import gzip
import hashlib
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SDIST = {"name": "newspaper4k", "version": "0.9.6", "license": "MIT",
         "sha256": "a3f2f0e017dddb6f1019ee77aaa8980e13e6ecea0b949abc7167aae4770d2d0e"}
# Pages of the sdist without a reference text, and what they are.
NOT_ARTICLES = {
    "cnn_main_site": "a site's front page (a listing of stories), no reference text",
    "wired_main_site": "a site's front page (a listing of stories), no reference text",
    "yahoo_main_site": "a site's front page (a listing of stories), no reference text",
    "sample_rss": "an RSS feed, not a page",
    "google_meta_refresh": "a redirect stub (meta refresh), no article",
    "ap_meta_refresh": "an AP news listing with a meta refresh, no reference text",
}
GOALS = {"f1_gap_vs_trafilatura": ">= -0.01", "date_share": ">= 0.80", "time_ratio": "<= 1.10"}
QA_SYSTEMS = ("qa-old", "qa-new")
PEERS = ("trafilatura", "trafilatura-meta")


@dataclass(frozen=True)
class Page:
    name: str
    html: Path  # the page as the systems read it: <work>/pages/<name>.html
    text: str  # reference article text
    date: str | None  # reference publication date, YYYY-MM-DD
    title: str | None
    lang: str | None


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None = None
    date: str | None = None
    lang: str | None = None
    skipped: str | None = None  # qa's reason for not storing the page


# ---------------------------------------------------------------------------------------------
# Scores: ScrapingHub article-extraction-benchmark, evaluate.py (MIT), same definitions

_TOKEN_RE = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


def shingles(text: str, n: int = 4) -> Counter:
    """Counts of n-word shingles; a text of fewer than n words is one shorter shingle."""
    tokens = _TOKEN_RE.findall(text or "")
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i:i + n])


def tp_fp_fn(true: str, pred: str, n: int = 4) -> tuple[float, float, float]:
    """Shingle matches, normalised to sum 1 so that long pages weigh no more than short ones."""
    t, p = shingles(true, n), shingles(pred, n)
    tp = float(sum((t & p).values()))
    fp = float(sum((p - t).values()))
    fn = float(sum((t - p).values()))
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (tp, fp, fn)


def precision_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fp == 0:
        return 0.0
    return tp / (tp + fp)


def recall_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fn == 0:
        return 0.0
    return tp / (tp + fn)


def page_scores(true: str, pred: str) -> dict:
    counts = tp_fp_fn(true, pred)
    p, r = precision_score(*counts), recall_score(*counts)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "counts": counts}


def corpus_scores(counts: list[tuple[float, float, float]]) -> dict:
    """evaluate.py's metrics_from_tp_fp_fns: means over pages, F1 of the means."""
    ps = [precision_score(*c) for c in counts if c[0] + c[1] > 0]
    rs = [recall_score(*c) for c in counts if c[0] + c[2] > 0]
    if not ps or not rs:
        return {"precision": None, "recall": None, "f1": None}
    p, r = statistics.mean(ps), statistics.mean(rs)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def iso_date(value) -> str | None:
    match = re.match(r"\d{4}-\d{2}-\d{2}", str(value or "").strip())
    return match.group(0) if match else None


def same_title(a: str | None, b: str | None) -> bool:
    return bool(a and b) and " ".join(a.split()) == " ".join(b.split())


# ---------------------------------------------------------------------------------------------
# Data

def fetch_sdist(work: Path) -> Path:
    """tests/data of the newspaper4k sdist, downloaded with pip into `work` once (hash-checked)."""
    stem = f"{SDIST['name']}-{SDIST['version']}"
    data = work / stem / "tests" / "data"
    if (data / "txt").is_dir():
        return data
    tarball = work / f"{stem}.tar.gz"
    if not tarball.is_file():
        req = work / "newspaper4k-requirement.txt"
        req.write_text(f"{SDIST['name']}=={SDIST['version']} --hash=sha256:{SDIST['sha256']}\n")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-r", str(req),
               "-d", str(work)]
        print("fetching the test pages:", " ".join(cmd), flush=True)
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode or not tarball.is_file():
            sys.exit(f"could not download {stem} from PyPI:\n{done.stderr[-2000:]}")
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != SDIST["sha256"]:
        sys.exit(f"{tarball}: sha256 {digest}, expected {SDIST['sha256']}; delete it and run again")
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(f"{stem}/tests/data/")]
        tar.extractall(work, members=members, filter="data")
    return data


def newspaper_pages(data: Path, folder: Path) -> tuple[list[Page], list[dict]]:
    folder.mkdir(parents=True, exist_ok=True)
    pages, skipped, seen = [], [], {}
    for html in sorted((data / "html").glob("*.html")):
        name, raw = html.stem, html.read_bytes()
        ref = data / "txt" / f"{name}.txt"
        digest = hashlib.sha256(raw).hexdigest()
        if not ref.is_file():
            skipped.append({"name": name, "why": NOT_ARTICLES.get(name, "no reference text")})
            continue
        if digest in seen:
            skipped.append({"name": name, "why": f"the same page (identical bytes) as {seen[digest]}"})
            continue
        seen[digest] = name
        meta_file = data / "metadata" / f"{name}.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
        target = folder / f"{name}.html"
        target.write_bytes(raw)
        pages.append(Page(name, target, ref.read_text(encoding="utf-8"), iso_date(meta.get("publish_date")),
                          meta.get("title") or None, meta.get("language") or meta.get("meta_lang") or None))
    for ref in sorted((data / "txt").glob("*.txt")):
        if not (data / "html" / f"{ref.stem}.html").is_file():
            skipped.append({"name": ref.stem, "why": "a reference text without its page"})
    return pages, skipped


def scrapinghub_pages(html_dir: Path, truth_file: Path, folder: Path) -> tuple[list[Page], list[dict]]:
    """The article-extraction-benchmark layout: html/<id>.html.gz (gzipped UTF-8) and
    ground-truth.json mapping each id to {"articleBody", "url", and "datePublished" if known}."""
    if (html_dir / "html").is_dir():
        html_dir = html_dir / "html"
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    pages, skipped = [], []
    for item_id, ref in sorted(truth.items()):
        gz, plain = html_dir / f"{item_id}.html.gz", html_dir / f"{item_id}.html"
        if not gz.is_file() and not plain.is_file():
            skipped.append({"name": item_id, "why": f"no page {gz.name} in {html_dir}"})
            continue
        target = folder / f"{item_id}.html"
        target.write_bytes(gzip.decompress(gz.read_bytes()) if gz.is_file() else plain.read_bytes())
        pages.append(Page(item_id, target, ref.get("articleBody") or "", iso_date(ref.get("datePublished")),
                          None, None))
    return pages, skipped


# ---------------------------------------------------------------------------------------------
# Systems: path of a <name>.html file -> what it extracts

def markup(path: Path) -> str | bytes:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data  # trafilatura detects the encoding itself


def run_trafilatura(path: Path) -> Extracted:
    import trafilatura

    return Extracted(trafilatura.extract(markup(path), include_comments=False) or "")


def run_trafilatura_meta(path: Path) -> Extracted:
    import trafilatura

    doc = trafilatura.bare_extraction(markup(path), include_comments=False, with_metadata=True)
    if doc is None:
        return Extracted("")
    return Extracted(doc.text or "", doc.title, iso_date(doc.date), doc.language)


def run_qa_old(path: Path) -> Extracted:
    from qa.cleaning import clean
    from qa.readers import Skip, read_file

    try:
        _, raw = read_file(path, MAX_BYTES)
    except Skip as why:
        return Extracted("", skipped=str(why))
    c = clean(raw, fallback_title=path.stem)
    if not c.text.strip():  # qa.build skips such a file
        return Extracted("", skipped="no article text left after removing page boilerplate")
    return Extracted(c.text, c.title, c.date, c.lang)


def run_qa_new(path: Path) -> Extracted:
    from qa.articles import load_article
    from qa.readers import Skip

    try:
        a = load_article(path, path.name, MAX_BYTES)
    except Skip as why:
        return Extracted("", skipped=str(why))
    return Extracted(a.text, a.title, a.date, a.lang)


MAX_BYTES = 10_000_000  # qa.Settings().max_file_bytes, read at run time
SYSTEMS: dict[str, Callable[[Path], Extracted]] = {
    "qa-old": run_qa_old, "qa-new": run_qa_new, "trafilatura": run_trafilatura,
    "trafilatura-meta": run_trafilatura_meta}
LABELS = {"qa-old": "qa, old path (read_file + clean)", "qa-new": "qa (load_article)",
          "trafilatura": "trafilatura.extract", "trafilatura-meta": "trafilatura.bare_extraction"}


def new_path_exists() -> bool:
    return importlib.util.find_spec("qa.articles") is not None


# ---------------------------------------------------------------------------------------------
# The run

def extract_all(pages: list[Page], systems: list[str], out: Path) -> dict[str, dict[str, Extracted]]:
    """The untimed pass: every system's output per page (also written to out/<system>/)."""
    results: dict[str, dict[str, Extracted]] = {s: {} for s in systems}
    for s in systems:
        (out / s).mkdir(parents=True, exist_ok=True)
    (out / "reference").mkdir(parents=True, exist_ok=True)
    for page in pages:
        (out / "reference" / f"{page.name}.txt").write_text(page.text, encoding="utf-8")
        for s in systems:
            got = SYSTEMS[s](page.html)
            results[s][page.name] = got
            head = f"# title: {got.title}\n# date: {got.date}\n# skipped: {got.skipped}\n\n"
            (out / s / f"{page.name}.txt").write_text(head + got.text, encoding="utf-8")
    return results


def timings(pages: list[Page], systems: list[str], repeats: int, log) -> dict[str, dict[str, dict]]:
    """Per system and page, the wall and CPU seconds of each repeat; systems interleaved and
    their order rotated page by page and repeat by repeat, so each takes each slot equally."""
    wall = {s: {p.name: [] for p in pages} for s in systems}
    cpu = {s: {p.name: [] for p in pages} for s in systems}
    for r in range(repeats):
        for i, page in enumerate(pages):
            k = (i + r) % len(systems)
            gc.collect()
            for s in systems[k:] + systems[:k]:
                c0, t0 = time.process_time(), time.perf_counter()
                SYSTEMS[s](page.html)
                wall[s][page.name].append(time.perf_counter() - t0)
                cpu[s][page.name].append(time.process_time() - c0)
        log(f"  timing repeat {r + 1}/{repeats} done")
    return {s: {p.name: {"wall": statistics.median(wall[s][p.name]), "cpu": statistics.median(cpu[s][p.name])}
                for p in pages} for s in systems}


def page_rows(pages: list[Page], systems: list[str], got: dict, secs: dict) -> list[dict]:
    rows = []
    for page in pages:
        row = {"name": page.name, "lang": page.lang, "ref_words": len(_TOKEN_RE.findall(page.text)),
               "date": {"reference": page.date}, "title_exact": {}, "scores": {}, "seconds": {},
               "cpu_seconds": {}, "skipped": {}}
        for s in systems:
            e = got[s][page.name]
            sc = page_scores(page.text, e.text)
            row["scores"][s] = {"precision": round(sc["precision"], 4), "recall": round(sc["recall"], 4),
                                "f1": round(sc["f1"], 4), "words": len(_TOKEN_RE.findall(e.text)),
                                "tp_fp_fn": [round(x, 6) for x in sc["counts"]]}
            row["seconds"][s] = round(secs[s][page.name]["wall"], 5) if secs else None
            row["cpu_seconds"][s] = round(secs[s][page.name]["cpu"], 5) if secs else None
            if s != "trafilatura":  # extract() gives text only
                row["date"][s] = e.date
                row["title_exact"][s] = same_title(e.title, page.title) if page.title else None
            if s in QA_SYSTEMS:
                row["qa_lang"] = e.lang
            if e.skipped:
                row["skipped"][s] = e.skipped
        rows.append(row)
    return rows


def summarise(rows: list[dict], systems: list[str]) -> dict:
    summary: dict = {}
    dated = [r for r in rows if r["date"]["reference"]]
    titled = [r for r in rows if any(v is not None for v in r["title_exact"].values())]
    for s in systems:
        text = corpus_scores([tuple(r["scores"][s]["tp_fp_fn"]) for r in rows])
        entry = {k: round(v, 4) if v is not None else None for k, v in text.items()}
        entry.update(pages=len(rows), mean_page_f1=round(statistics.mean(r["scores"][s]["f1"] for r in rows), 4),
                     empty_pages=sum(r["scores"][s]["words"] == 0 for r in rows),
                     skipped_pages=sum(s in r["skipped"] for r in rows))
        if s != "trafilatura":
            right = sum(r["date"][s] == r["date"]["reference"] for r in dated)
            entry.update(dated_pages=len(dated), dates_right=right,
                         date_share=round(right / len(dated), 4) if dated else None,
                         titled_pages=len(titled),
                         title_share=round(sum(bool(r["title_exact"][s]) for r in titled) / len(titled), 4)
                         if titled else None)
        if rows[0]["seconds"][s] is not None:
            entry.update(seconds_sum=round(sum(r["seconds"][s] for r in rows), 4),
                         cpu_seconds_sum=round(sum(r["cpu_seconds"][s] for r in rows), 4),
                         ms_per_page=round(1000 * sum(r["seconds"][s] for r in rows) / len(rows), 2))
        summary[s] = entry
    for q in (s for s in systems if s in QA_SYSTEMS):
        for peer in (s for s in systems if s in PEERS):
            summary[q][f"f1_gap_vs_{peer}"] = round(summary[q]["f1"] - summary[peer]["f1"], 4)
            if "seconds_sum" in summary[q]:
                summary[q][f"time_ratio_vs_{peer}"] = round(summary[q]["seconds_sum"] / summary[peer]["seconds_sum"], 3)
                summary[q][f"cpu_ratio_vs_{peer}"] = round(
                    summary[q]["cpu_seconds_sum"] / summary[peer]["cpu_seconds_sum"], 3)
                summary[q][f"median_page_ratio_vs_{peer}"] = round(statistics.median(
                    r["seconds"][q] / r["seconds"][peer] for r in rows), 3)
    return summary


def goals(summary: dict) -> dict:
    out = {}
    for q in (s for s in summary if s in QA_SYSTEMS):
        s = summary[q]
        out[q] = {"f1_gap_vs_trafilatura": s.get("f1_gap_vs_trafilatura"), "date_share": s.get("date_share"),
                  "time_ratio_vs_trafilatura": s.get("time_ratio_vs_trafilatura"),
                  "time_ratio_vs_trafilatura-meta": s.get("time_ratio_vs_trafilatura-meta")}
        out[q]["met"] = {
            "f1": s.get("f1_gap_vs_trafilatura") is not None and s["f1_gap_vs_trafilatura"] >= -0.01,
            "dates": s.get("date_share") is not None and s["date_share"] >= 0.80,
            "time_vs_extract": s.get("time_ratio_vs_trafilatura") is not None
            and s["time_ratio_vs_trafilatura"] <= 1.10,
            "time_vs_bare_extraction": s.get("time_ratio_vs_trafilatura-meta") is not None
            and s["time_ratio_vs_trafilatura-meta"] <= 1.10}
    return out


def losses(rows: list[dict], systems: list[str], margin: float = 0.02) -> dict:
    """Pages where qa's F1 is more than `margin` below trafilatura's, and wrong dates."""
    out = {}
    for q in (s for s in systems if s in QA_SYSTEMS):
        lost = [{"name": r["name"], "lang": r["lang"], "qa": r["scores"][q], "trafilatura": r["scores"]["trafilatura"],
                 "ref_words": r["ref_words"], "skipped": r["skipped"].get(q)}
                for r in rows if r["scores"][q]["f1"] < r["scores"]["trafilatura"]["f1"] - margin]
        wrong = [{"name": r["name"], "reference": r["date"]["reference"], "qa": r["date"][q],
                  "trafilatura": r["date"].get("trafilatura-meta")}
                 for r in rows if r["date"]["reference"] and r["date"][q] != r["date"]["reference"]]
        out[q] = {"text_losses": sorted(lost, key=lambda x: x["qa"]["f1"] - x["trafilatura"]["f1"]),
                  "wrong_dates": wrong}
    return out


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("trafilatura", "htmldate", "justext", "lxml", "courlan", "beautifulsoup4", "charset-normalizer"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def provenance() -> dict:
    from trust import provenance as qa_provenance  # which qa/ was imported, and its commit

    return qa_provenance()


def run(work: Path, args) -> dict:
    global MAX_BYTES
    from qa.settings import Settings

    MAX_BYTES = Settings().max_file_bytes
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    if args.truth:
        dataset = {"name": "scrapinghub article-extraction-benchmark", "pages_dir": str(args.pages),
                   "truth": str(args.truth)}
        pages, skipped = scrapinghub_pages(args.pages, args.truth, work / "pages" / "scrapinghub")
    else:
        dataset = {"name": f"{SDIST['name']} {SDIST['version']} sdist tests/data", **SDIST,
                   "url": f"https://pypi.org/project/{SDIST['name']}/{SDIST['version']}/"}
        pages, skipped = newspaper_pages(fetch_sdist(work), work / "pages" / "newspaper4k")
    if args.limit:
        pages = pages[:args.limit]
    path = args.path or ("new" if new_path_exists() else "old")
    if path in ("new", "both") and not new_path_exists():
        sys.exit("qa.articles (load_article) does not exist in the qa imported; use --path old")
    systems = {"old": ["qa-old"], "new": ["qa-new"], "both": ["qa-old", "qa-new"]}[path] + list(PEERS)
    log(f"{len(pages)} pages, skipped {len(skipped)}; systems: {', '.join(systems)}")
    load_before = os.getloadavg()
    for s in systems:  # imports and first-call caches, outside any measurement
        SYSTEMS[s](pages[0].html)
    got = extract_all(pages, systems, work / "out")
    secs = timings(pages, systems, args.repeats, log) if args.repeats else {}
    rows = page_rows(pages, systems, got, secs)
    summary = summarise(rows, systems)
    report = {"dataset": dataset, "settings": {"repeats": args.repeats, "path": path, "systems": systems,
                                               "max_file_bytes": MAX_BYTES, "limit": args.limit},
              **provenance(), "versions": versions(), "machine": common.machine(),
              "load_average": {"before": [round(x, 2) for x in load_before],
                               "after": [round(x, 2) for x in os.getloadavg()]},
              "goals": GOALS, "goals_met": goals(summary), "summary": summary,
              "skipped_pages": skipped, "losses": losses(rows, systems), "pages": rows}
    if args.before:
        before = json.loads(args.before.read_text(encoding="utf-8"))
        report["before"] = {"file": args.before.name, "qa_commit": before.get("qa_commit"),
                            "summary": {s: before["summary"][s] for s in QA_SYSTEMS if s in before["summary"]}}
    print(render(report))
    return report


# ---------------------------------------------------------------------------------------------
# Printing

def _f(x, digits=3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _ratio(system: str, e: dict, peer: str, summary: dict) -> str:
    """Time against a peer measured in the same run (a before row carries its own run's)."""
    if f"time_ratio_vs_{peer}" in e:
        return f"{e[f'time_ratio_vs_{peer}']:.2f}x"
    if system in PEERS and "seconds_sum" in e:
        return f"{e['seconds_sum'] / summary[peer]['seconds_sum']:.2f}x"
    return "—"


def render(report: dict) -> str:
    summary, systems = report["summary"], report["settings"]["systems"]
    lines = [f"Extraction on {summary[systems[0]]['pages']} pages ({report['dataset']['name']}); "
             f"F1 as in ScrapingHub's evaluate.py", "",
             "| system | precision | recall | F1 | mean page F1 | dates right | titles exact | ms/page | "
             "time vs extract | time vs bare_extraction |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    shown = [(s, LABELS[s], summary[s]) for s in systems]
    if report.get("before"):
        commit = (report["before"]["qa_commit"] or "uncommitted")[:7]
        shown[:0] = [(s, f"qa before ({commit}, read_file + clean)", e) for s, e in report["before"]["summary"].items()]
    for s, label, e in shown:
        dates = f"{e['dates_right']}/{e['dated_pages']} ({100 * e['date_share']:.0f}%)" if e.get("date_share") \
            is not None else "—"
        titles = f"{100 * e['title_share']:.0f}%" if e.get("title_share") is not None else "—"
        ratio = lambda peer: _ratio(s, e, peer, summary)  # noqa: E731
        lines.append(f"| {label} | {_f(e['precision'])} | {_f(e['recall'])} | **{_f(e['f1'])}** | "
                     f"{_f(e['mean_page_f1'])} | {dates} | {titles} | {_f(e.get('ms_per_page'), 1)} | "
                     f"{ratio('trafilatura')} | {ratio('trafilatura-meta')} |")
    for q, loss in report["losses"].items():
        lines += ["", f"{LABELS[q]}: pages where its F1 is more than 0.02 below trafilatura.extract's", "",
                  "| page | lang | ref words | qa F1 (P/R) | words | trafilatura F1 (P/R) | words |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for x in loss["text_losses"]:
            a, b = x["qa"], x["trafilatura"]
            lines.append(f"| {x['name']} | {x['lang'] or '?'} | {x['ref_words']} | {a['f1']:.3f} "
                         f"({a['precision']:.2f}/{a['recall']:.2f}) | {a['words']} | {b['f1']:.3f} "
                         f"({b['precision']:.2f}/{b['recall']:.2f}) | {b['words']} |"
                         + (f" skipped: {x['skipped']}" if x["skipped"] else ""))
        lines += ["", f"{LABELS[q]}: wrong dates", "", "| page | reference | qa | trafilatura |", "|---|---|---|---|"]
        lines += [f"| {x['name']} | {x['reference']} | {x['qa']} | {x['trafilatura']} |" for x in loss["wrong_dates"]]
    if report["skipped_pages"]:
        lines += ["", "Not used: " + "; ".join(f"{x['name']} ({x['why']})" for x in report["skipped_pages"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, help="keep the downloaded pages and extracted texts here (default: temporary)")
    p.add_argument("--pages", type=Path, help="ScrapingHub layout: folder of <id>.html.gz (or the repository)")
    p.add_argument("--truth", type=Path, help="ScrapingHub layout: ground-truth.json")
    p.add_argument("--path", choices=["old", "new", "both"],
                   help="qa's path(s): old = read_file + clean (meaningful on a qa before issue 11), "
                        "new = qa.articles.load_article (default: new where it exists, else old)")
    p.add_argument("--before", type=Path, help="a report of the old qa on the same pages, shown beside this run")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per page (0: scores only)")
    p.add_argument("--limit", type=int, help="only the first N pages (smoke runs)")
    p.add_argument("--out", type=Path, default=common.RESULTS / "extraction.json")
    args = p.parse_args(argv)
    if bool(args.pages) != bool(args.truth):
        p.error("--pages and --truth go together")
    started = time.perf_counter()
    return common.run_and_save(lambda work: run(work, args), args.work, args.out, started, prefix="qa-extraction-")


if __name__ == "__main__":
    main()
