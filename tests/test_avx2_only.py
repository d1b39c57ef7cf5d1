"""Builds on an AVX2-only CPU take the int8 ONNX path (issue 13, point 4).

This machine has AVX-512 with native bf16; bench/avx2_only makes a copy of the venv whose
native libraries ask a preloaded handler for CPUID, which answers as an AVX2-only CPU. Under
it the real qa CLI builds the seeds with the real model: the default must pick int8 ONNX (torch
would run fp32 there, slower than the peers), record it in the manifest, and answer like the
index built on the native CPU."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import qa

from corpus import SEEDS

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["What has Egypt co-produced with Türkiye?", "Which fighter jets did Pakistan offer Egypt?",
             "Where will Egyptian officers be trained under the deal with Russia?",
             "joint naval drill in the Mediterranean", "Russian air defence systems"]

pytestmark = pytest.mark.skipif(not shutil.which("objdump") or not shutil.which("gcc") or sys.platform != "linux"
                                or not Path(sys.prefix, "bin", "python").exists(),
                                reason="needs Linux x86-64, binutils and gcc (bench/avx2_only)")


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """A copy of this venv seeing an AVX2-only CPU (about 3 minutes, 3 GB, once per run)."""
    target = tmp_path_factory.mktemp("avx2") / "venv"
    subprocess.run([sys.executable, str(ROOT / "bench" / "avx2_only"), "prepare", "--venv", sys.prefix,
                    "--to", str(target)], check=True, capture_output=True, text=True, timeout=900)
    yield target
    shutil.rmtree(target, ignore_errors=True)  # 3 GB


def _run(capped: Path, *command: str, action: str = "run", timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "avx2_only"), action, "--to", str(capped),
                           "--", *command], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_the_libraries_see_an_avx2_only_cpu(capped):
    done = _run(capped, action="check")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "numpy sees AVX2 True AVX512F False" in done.stdout
    assert "torch capability AVX2 native bf16 False AMX False" in done.stdout
    assert "cpuid calls answered as an AVX2-only CPU" in done.stderr


def test_the_default_build_embeds_in_int8_and_answers_alike(capped, tmp_path, index):
    target = tmp_path / "index"
    built = _run(capped, "qa", "build", str(SEEDS), "--index", str(target))
    assert built.returncode == 0, built.stderr[-3000:]
    avx2 = qa.load_index(target)
    assert avx2.manifest["embedding"] == {"backend": "onnx-int8", "precision": "int8"}
    assert len(avx2) == len(index)
    # The native CPU's index (bf16 here) and the AVX2 one rank the seed passages alike.
    same_top = 0
    for question in QUESTIONS:
        tops = [[p.chunk_id for p in i.search(question, k=3, mode="dense")] for i in (index, avx2)]
        same_top += tops[0][0] == tops[1][0]
        assert set(tops[0]) & set(tops[1]), (question, tops)
    assert same_top >= len(QUESTIONS) - 1, same_top
    # And a question asked on the AVX2-only CPU is answered from the same article.
    asked = _run(capped, "qa", "ask", QUESTIONS[0], "--index", str(target), "--json")
    assert asked.returncode == 0, asked.stderr[-3000:]
    answer = json.loads(asked.stdout)
    expected = qa.ask(QUESTIONS[0], index)
    assert answer["answered"] and expected.answered
    cited = {c["doc_id"] for c in answer["citations"]}
    assert cited & {c.doc_id for c in expected.citations}, (cited, expected.citations)
