"""The command line, through its entry point: JSON output parses, errors are one line."""
import json
import os
import subprocess
import sys

from corpus import ROOT, SEEDS, TURKEY_EN


def qa_cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


def test_search_json_parses(seed_index_dir):
    out = qa_cli("search", "Bayraktar drones", "--json", "--index", str(seed_index_dir))
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert hits[0]["doc_id"] == TURKEY_EN and "Bayraktar" in hits[0]["text"]


def test_build_json_and_rebuild(tmp_path):
    index_dir = tmp_path / "index"
    out = qa_cli("build", str(SEEDS), "--index", str(index_dir), "--json")
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["added"]) == 5
    again = json.loads(qa_cli("build", str(SEEDS), "--index", str(index_dir), "--json").stdout)
    assert again["embedded"] == 0 and len(again["unchanged"]) == 5
    fresh = json.loads(qa_cli("build", str(SEEDS), "--index", str(index_dir), "--rebuild", "--json").stdout)
    assert len(fresh["added"]) == 5


def test_info(seed_index_dir):
    info = json.loads(qa_cli("info", "--index", str(seed_index_dir), "--json").stdout)
    assert info["articles"] == 5 and info["model"] == "all-MiniLM-L6-v2" and info["size_bytes"] > 0


def test_errors_are_one_line_without_traceback(tmp_path, seed_index_dir):
    for args in (["search", "drones", "--index", str(tmp_path / "none")],
                 ["search", "   ", "--index", str(seed_index_dir)],
                 ["build", str(tmp_path / "no-source"), "--index", str(tmp_path / "i")]):
        out = qa_cli(*args)
        assert out.returncode == 1
        assert out.stderr.startswith("qa: error: ") and out.stderr.count("\n") == 1, out.stderr
        assert "Traceback" not in out.stderr


def test_help_does_not_import_torch():
    code = "import sys, qa.cli; qa.cli._parser(); print('torch' in sys.modules, 'gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False False"


def test_ask_prints_answer_and_sources(seed_index_dir):
    out = qa_cli("ask", "What has Egypt co-produced with Türkiye?", "--index", str(seed_index_dir))
    assert out.returncode == 0, out.stderr
    assert "[1]" in out.stdout and TURKEY_EN in out.stdout and "Sources:" in out.stdout
    data = json.loads(qa_cli("ask", "Who won the 2022 football World Cup?", "--json", "--index",
                             str(seed_index_dir)).stdout)
    assert data["answered"] is False and data["citations"] == []


def test_eval_reports_all_modes(seed_index_dir):
    out = qa_cli("eval", str(ROOT / "tests" / "data" / "questions.jsonl"), "--index", str(seed_index_dir), "--json")
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert set(results) == {"dense", "lexical", "hybrid"}
    assert results["hybrid"]["recall@5"] >= 0.9 and results["hybrid"]["abstain_recall"] >= 0.9
