"""Questions and builds in one process never interfere: the web app answers while an upload
is indexed, and a user's app may build and ask from several threads. One embedder serves them
all, so these tests hammer it from every side at once, for a bounded time, and count failures.

The defect they guard against (issue 10): counting tokens for the builder's chunker
reconfigured the shared tokenizer's padding and truncation while another thread was encoding,
and that encoding failed with "Unable to create tensor, you should probably activate truncation
and/or padding", or a count came back capped at the model's limit."""
from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pytest

import qa
from qa.embedder import Embedder

from probes import SEEDS

# Texts whose batches need padding (different lengths): the race switched padding off.
BATCH = ["drones", "What has Egypt co-produced with Türkiye in the last two years?"]
# Longer than the model's 256 word pieces: a count capped by a stray truncation shows.
LONG = " ".join(f"exercise{i} off Crete with frigates" for i in range(80))
COUNTED = ["Bayraktar drones", LONG]
# question -> the seed article its answer must cite
QUESTIONS = {"Which fighter jet program has Cairo joined?": "000_5e926bf560c9b563.txt",
             "What co-production opportunities did Egypt and Pakistan explore?": "001_1ca882c574d82c6e.txt"}
TARGETED_SECONDS = 6  # the race showed within 1-3 s on a loaded 2-core machine before the fix
HAMMER_SECONDS = 12


class Hammer:
    """Runs workers in threads until a deadline (or, with stop_on_error, the first error) and
    collects every exception and wrong result instead of losing it in a thread."""

    def __init__(self, seconds: float, stop_on_error: bool = False):
        self.deadline = time.monotonic() + seconds
        self.stop_on_error = stop_on_error
        self.errors: list[str] = []
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def running(self) -> bool:
        return time.monotonic() < self.deadline and not (self.stop_on_error and self.errors)

    def add(self, name: str, step, pause: float = 0.0) -> None:
        def loop():
            while self.running():
                try:
                    step()
                except Exception as exc:  # noqa: BLE001 (any failure is the finding)
                    with self._lock:
                        self.errors.append(f"{name}: {type(exc).__name__}: {str(exc)[:160]}")
                with self._lock:
                    self.calls[name] = self.calls.get(name, 0) + 1
                if pause:
                    time.sleep(pause)  # lets the other threads at the GIL between our calls
        self._threads.append(threading.Thread(target=loop, name=name, daemon=True))

    def run(self) -> None:
        for t in self._threads:
            t.start()
        for t in self._threads:
            t.join(timeout=max(self.deadline - time.monotonic(), 0) + 120)
        assert not any(t.is_alive() for t in self._threads), "a worker hung"


def _hammer_one_embedder(embedder, seconds: float) -> Hammer:
    """Token counting (the chunker's calls) against query and document encoding."""
    counts = {t: embedder.count_tokens(t) for t in COUNTED}
    special = embedder.special_tokens()
    vectors = {"queries": embedder.queries(BATCH), "documents": embedder.documents(BATCH)}
    assert counts[LONG] > embedder.max_tokens  # else a capped count would go unseen

    def count():
        for text, expected in counts.items():
            assert embedder.count_tokens(text) == expected, "a token count changed under concurrency"
        assert embedder.special_tokens() == special

    def encode(kind):
        def step():
            got = getattr(embedder, kind)(BATCH)
            assert np.allclose(got, vectors[kind], atol=1e-4), f"{kind} vectors changed under concurrency"
        return step

    hammer = Hammer(seconds, stop_on_error=True)
    hammer.add("count_tokens", count, pause=0.0002)
    hammer.add("queries", encode("queries"))
    hammer.add("documents", encode("documents"))
    hammer.run()
    return hammer


def test_counting_tokens_never_disturbs_encoding(embedder):
    hammer = _hammer_one_embedder(embedder, TARGETED_SECONDS)
    assert not hammer.errors, "\n".join(hammer.errors)
    assert min(hammer.calls.get(k, 0) for k in ("count_tokens", "queries", "documents")) > 0, hammer.calls
    print(f"calls in {TARGETED_SECONDS}s: {hammer.calls}")


def test_counting_tokens_never_disturbs_the_onnx_backend(monkeypatch):
    """The int8 ONNX backend tokenizes outside torch: the same race, its own lock. The model is
    exported once per machine into ~/.cache/qa/onnx (or QA_ONNX_CACHE), as a user's is."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    monkeypatch.setenv("QA_EMBED_BACKEND", "onnx-int8")
    embedder = Embedder(qa.Settings().model)  # not get_embedder: its cache holds the torch one
    assert embedder.backend == "onnx-int8"
    hammer = _hammer_one_embedder(embedder, TARGETED_SECONDS)
    assert not hammer.errors, "\n".join(hammer.errors)
    print(f"calls in {TARGETED_SECONDS}s: {hammer.calls}")


def test_questions_and_builds_in_one_process_never_interfere(index, seed_index_dir, embedder, tmp_path):
    """Readers ask and search an open index, a builder indexes one more article per round into
    another index, which a reader keeps asking too, and three threads call the embedder directly:
    no call fails and every answer is the one it is alone."""
    source, index_dir = tmp_path / "src", tmp_path / "index"
    shutil.copytree(SEEDS, source)
    shutil.copytree(seed_index_dir, index_dir)
    live = qa.load_index(index_dir)  # moves to each new generation as the builds complete
    answers = {q: qa.ask(q, index) for q in QUESTIONS}
    for question, gold in QUESTIONS.items():
        assert gold in {p.doc_id for p in answers[question].citations}, answers[question]
    searches = {q: [p.chunk_id for p in index.search(q, k=5)] for q in QUESTIONS}
    paragraphs = [p for path in sorted(SEEDS.glob("*.txt"))
                  for p in path.read_text(encoding="utf-8").split("\n") if len(p) > 80][:8]
    counts = [embedder.count_tokens(p) for p in paragraphs]
    vectors = {"queries": embedder.queries(BATCH), "documents": embedder.documents(BATCH)}
    rounds = []

    def ask(idx, same_as_alone):
        def step():
            for question, gold in QUESTIONS.items():
                answer = qa.ask(question, idx)
                assert gold in {p.doc_id for p in answer.citations}, f"{question!r} lost {gold}: {answer}"
                if same_as_alone:
                    assert answer.text == answers[question].text, f"{question!r} changed: {answer.text}"
        return step

    def search():
        for question, expected in searches.items():
            assert [p.chunk_id for p in index.search(question, k=5)] == expected, question

    def build():
        n = len(rounds)
        name = f"upload_{n:02d}.txt"
        body = f"Round {n} of the Medusa-{n} exercise practised search and rescue. " * 3
        (source / name).write_text(f"Greek and Egyptian frigates held drill Medusa-{n} off Crete.\n\n{body}",
                                   encoding="utf-8")
        report = qa.build_index(source, index_dir)
        assert report.added == [name] and report.embedded > 0, report
        assert live.search(f"drill Medusa-{n} off Crete", k=1)[0].doc_id == name
        rounds.append(report.seconds)

    def count():
        assert [embedder.count_tokens(p) for p in paragraphs] == counts, "token counts changed"

    def encode(kind):
        def step():
            assert np.allclose(getattr(embedder, kind)(BATCH), vectors[kind], atol=1e-4), f"{kind} changed"
        return step

    hammer = Hammer(HAMMER_SECONDS)
    hammer.add("build", build)
    hammer.add("ask", ask(index, same_as_alone=True))
    hammer.add("ask-live", ask(live, same_as_alone=False))
    hammer.add("search", search)
    hammer.add("count_tokens", count, pause=0.0002)
    hammer.add("queries", encode("queries"))
    hammer.add("documents", encode("documents"))
    hammer.run()
    failures = "\n".join(hammer.errors[:5])
    assert not hammer.errors, f"{len(hammer.errors)} failures in {hammer.calls}:\n{failures}"
    assert len(rounds) >= 2 and min(hammer.calls.values()) > 0, (rounds, hammer.calls)
    print(f"{len(rounds)} builds, calls: {hammer.calls}")
