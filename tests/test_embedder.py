"""Embedding precision: bf16 autocast must give the same vectors as fp32, for all practical
purposes, on the real bundled model."""
from __future__ import annotations

import numpy as np
import pytest

import qa
from qa.embedder import Embedder, resolve_backend, resolve_precision

from corpus import SEEDS


@pytest.fixture(scope="module")
def by_precision():
    """One real model per precision (get_embedder caches one per process, so build directly)."""
    mp = pytest.MonkeyPatch()
    out = {}
    for precision in ("fp32", "bf16"):
        mp.setenv("QA_EMBED_PRECISION", precision)
        out[precision] = Embedder(qa.Settings().model)
    mp.undo()
    return out


def _seed_paragraphs() -> list[str]:
    paragraphs = []
    for path in sorted(SEEDS.glob("*.txt")):
        paragraphs += [p for p in path.read_text(encoding="utf-8").split("\n") if len(p) > 80]
    return paragraphs


def test_bf16_vectors_match_fp32(by_precision):
    fp32, bf16 = by_precision["fp32"], by_precision["bf16"]
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    texts = _seed_paragraphs()
    assert len(texts) > 20
    a, b = fp32.documents(texts), bf16.documents(texts)
    assert a.dtype == b.dtype == np.float32
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() > 0.999, cosines.min()
    # bf16 is not a no-op: the vectors differ in their low bits.
    assert not np.array_equal(a, b)


def test_bf16_queries_rank_documents_like_fp32(by_precision):
    texts = _seed_paragraphs()
    questions = ["What has Egypt co-produced with Türkiye?", "joint naval drill in the Mediterranean",
                 "JF-17 Thunder fighter jets from Pakistan", "Russian air defence systems"]
    rankings = {}
    for name, embedder in by_precision.items():
        docs, queries = embedder.documents(texts), embedder.queries(questions)
        rankings[name] = np.argsort(-(queries @ docs.T), axis=1)[:, :3]
    assert np.array_equal(rankings["fp32"], rankings["bf16"])


def test_unknown_precision_is_refused_before_loading(monkeypatch):
    monkeypatch.setenv("QA_EMBED_PRECISION", "fp8")
    with pytest.raises(qa.SettingsError, match="fp32, bf16"):
        Embedder(qa.Settings().model)


def test_auto_picks_a_precision_and_the_manifest_records_it(index):
    precision = resolve_precision()
    assert precision in ("fp32", "bf16")
    embedding = index.manifest["embedding"]
    # bf16 where the CPU has it natively, else the int8 ONNX path (this machine: bf16; an
    # AVX2-only CPU: int8, tests/test_avx2_only.py builds on one).
    expected = {"backend": "torch", "precision": "bf16"} if precision == "bf16" else \
        {"backend": "onnx-int8", "precision": "int8"}
    assert embedding == expected
    assert index.info()["embedding"] == embedding


@pytest.mark.parametrize("env, precision, expected", [
    ({}, "bf16", "torch"),                                     # native bf16: torch under autocast
    ({}, "fp32", "onnx-int8"),                                 # no native bf16: int8 ONNX
    ({"QA_EMBED_PRECISION": "fp32"}, "fp32", "torch"),         # fp32 asked for: torch fp32
    ({"QA_EMBED_BACKEND": "torch"}, "fp32", "torch"),
    ({"QA_EMBED_BACKEND": "onnx-int8"}, "bf16", "onnx-int8"),
    ({"QA_EMBED_BACKEND": " Auto "}, "fp32", "onnx-int8"),
])
def test_the_backend_follows_the_cpu_unless_told(monkeypatch, env, precision, expected):
    for name in ("QA_EMBED_BACKEND", "QA_EMBED_PRECISION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert resolve_backend(precision) == expected


def test_unknown_backend_is_refused_before_loading(monkeypatch):
    monkeypatch.setenv("QA_EMBED_BACKEND", "tensorrt")
    with pytest.raises(qa.SettingsError, match="auto, torch, onnx-int8"):
        Embedder(qa.Settings().model)
