"""The torch-free reader (qa/reader_model.py): a build exports the index's model once, a fresh
process answers with it without importing torch, and it ranks exactly as the torch model does
(real model, real ONNX Runtime, real FAISS, SQuAD paragraphs)."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import qa
from qa import reader_model
from qa.embedder import Embedder

from corpus import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import common  # noqa: E402

MODEL = "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def squad(tmp_path_factory):
    """120 SQuAD dev paragraphs (English only: no multilingual vectors) and 200 of their questions."""
    if not common.DEFAULT_DATA.is_dir():
        pytest.skip(f"benchmark data not found at {common.DEFAULT_DATA}")
    task = common.load_tasks(common.DEFAULT_DATA, ["squad"], 120)[0]
    folder = tmp_path_factory.mktemp("squad")
    qa.build_index(common.write_articles(task, folder / "articles"), folder / "index")
    return folder / "index", [q.text for q in task.questions[:200]]


def test_a_build_leaves_the_export_readers_use(seed_index_dir):
    reader = reader_model.load(MODEL)
    assert reader is not None and reader.backend == "onnx-fp32"
    assert type(qa.load_index(seed_index_dir).embedder()) is reader_model.OnnxReader


def test_vectors_match_the_torch_model(monkeypatch):
    monkeypatch.setenv("QA_EMBED_PRECISION", "fp32")
    torch_model, reader = Embedder(MODEL), reader_model.load(MODEL)
    texts = ["What has Egypt co-produced with Türkiye?", "  padded on both sides  ", "long " * 400,
             "محادثات عسكرية مصرية تركية", "x"]
    for kind in ("queries", "documents"):
        cosines = (getattr(torch_model, kind)(texts) * getattr(reader, kind)(texts)).sum(axis=1)
        assert cosines.min() > 0.9999, (kind, cosines)


def test_same_top5_as_the_torch_path(squad, monkeypatch):
    path, questions = squad
    fast = qa.load_index(path)
    assert isinstance(fast.embedder(), reader_model.OnnxReader)
    monkeypatch.setenv("QA_READER_BACKEND", "torch")
    monkeypatch.setenv("QA_EMBED_BACKEND", "torch")  # torch itself, also on a CPU where builds use int8
    reader_model.load.cache_clear()
    slow = qa.load_index(path)
    assert not isinstance(slow.embedder(), reader_model.OnnxReader)
    same = 0
    for q in questions:
        top = [[p.chunk_id for p in index.search(q, k=5, mode="dense")] for index in (fast, slow)]
        same += top[0] == top[1]
    monkeypatch.delenv("QA_READER_BACKEND")
    reader_model.load.cache_clear()
    assert same / len(questions) >= 0.995, f"{same} of {len(questions)} identical"


def test_a_fresh_process_answers_without_torch(squad):
    path, questions = squad
    code = ("import sys, qa; index = qa.load_index(sys.argv[1]); "
            "answer = qa.ask(sys.argv[2], index); index.search(sys.argv[2], k=3); "
            "print(answer.answered, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(path), questions[0]], capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300, check=True).stdout.split()
    assert out[1:] == ["False", "False"], out


def test_without_an_export_the_torch_path_answers(squad, tmp_path, monkeypatch):
    path, questions = squad
    monkeypatch.setenv("QA_ONNX_CACHE", str(tmp_path / "empty-cache"))
    reader_model.load.cache_clear()
    try:
        index = qa.load_index(path)
        assert not isinstance(index.embedder(), reader_model.OnnxReader)
        assert index.search(questions[0], k=3, mode="dense")
    finally:
        monkeypatch.delenv("QA_ONNX_CACHE")
        reader_model.load.cache_clear()
    assert np.isfinite(qa.load_index(path).embedder().queries(["x"])).all()
