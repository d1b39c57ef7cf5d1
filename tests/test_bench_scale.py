"""Smoke test for bench/scale.py: a tiny run in-process, checking the report's shape and sanity."""
import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("faiss")
pytest.importorskip("matplotlib")

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "scale.py"
ROW_KEYS = {"distribution", "size", "index", "params", "build_s", "rss_growth_mb",
            "peak_rss_growth_mb", "serialized_mb", "p50_ms", "p95_ms", "cpu_p50_ms",
            "recall_at_10"}


def load_script():
    # bench/ is not a package: load the file as a module so main() runs in this process.
    spec = importlib.util.spec_from_file_location("bench_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("scale")
    out, png = out_dir / "scale.json", out_dir / "scale.png"
    returned = load_script().main(["--sizes", "2000", "--queries", "20",
                                   "--out", str(out), "--plot", str(png)])
    return json.loads(out.read_text()), returned, png


def test_report_has_settings_environment_and_rows(tiny_run):
    report, returned, _ = tiny_run
    assert report == json.loads(json.dumps(returned))
    assert {"settings", "environment", "results", "total_s"} <= report.keys()
    assert report["settings"]["dim"] == 384 and report["settings"]["k"] == 10
    for row in report["results"]:
        assert ROW_KEYS <= row.keys()
        assert row["size"] == 2000
        assert row["p50_ms"] <= row["p95_ms"]
    seen = {(r["distribution"], r["index"]) for r in report["results"]}
    assert seen == {(d, i) for d in ("clustered", "uniform") for i in ("flat", "hnsw", "ivf")}


def test_flat_is_exact_and_hnsw_recall_is_a_fraction(tiny_run):
    rows = tiny_run[0]["results"]
    assert all(r["recall_at_10"] == 1.0 for r in rows if r["index"] == "flat")
    hnsw = [r for r in rows if r["index"] == "hnsw"]
    assert sorted(r["params"]["efSearch"] for r in hnsw if r["distribution"] == "uniform") == [64, 128, 256]
    assert all(0.0 < r["recall_at_10"] <= 1.0 for r in hnsw)


def test_plot_is_a_png(tiny_run):
    png = tiny_run[2]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
