"""Builds on a real Ray cluster of two nodes on this machine (qa build --ray, qa/distributed.py):
the same articles, chunks and offsets as a local build, the same vectors and top-5, only a
changed article re-embedded, and a worker killed mid-build never costs the index."""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import qa
from qa import storage
from qa.vectors import VectorIndex

from corpus import ROOT, SEEDS

sys.path.insert(0, str(ROOT / "bench"))
import common  # noqa: E402

QUESTIONS = ["What has Egypt co-produced with Türkiye?", "What did the Pakistani delegation discuss in Cairo?",
             "Which aircraft did Egypt buy from Russia?", "ما الذي ناقشه قائد القوات الجوية التركية في مصر؟",
             "joint naval exercise", "Sea of Friendship"]


@pytest.fixture(scope="module")
def cluster():
    """Two Ray nodes (one CPU each) on 127.0.0.1, for this module, then stopped."""
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "object_store_memory": 150 * 1024 ** 2, "include_dashboard": False}
    ray_cluster = Cluster(initialize_head=True, head_node_args=node)
    ray_cluster.add_node(**{k: v for k, v in node.items() if k != "include_dashboard"})
    ray_cluster.wait_for_nodes()
    yield ray_cluster.address
    ray_cluster.shutdown()


@pytest.fixture(scope="module")
def squad(tmp_path_factory):
    """150 SQuAD dev paragraphs as article files (English only) and 100 of their questions."""
    task = common.load_tasks(common.DEFAULT_DATA, ["squad"], 150)[0]
    folder = tmp_path_factory.mktemp("ray-squad")
    return common.write_articles(task, folder / "articles"), [q.text for q in task.questions[:100]]


def _rows(index_dir: Path, sql: str) -> list[tuple]:
    folder, _ = storage.read_manifest(index_dir)
    conn = sqlite3.connect(folder / "store.sqlite")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _vectors(index_dir: Path, name: str) -> dict[int, np.ndarray]:
    folder, manifest = storage.read_manifest(index_dir)
    kind = manifest["vector_index"] if name == "vectors.faiss" else manifest["companion"]["vector_index"]
    ids, vectors = VectorIndex.load(folder / name, kind).all_vectors()
    return dict(zip(ids.tolist(), vectors))


def _assert_same_index(local: Path, distributed: Path, questions: list[str]) -> None:
    articles = "SELECT doc_id, title, lang, date, source, content_hash, text, url, author FROM articles ORDER BY doc_id"
    chunks = "SELECT chunk_id, doc_id, ord, start, end, tokens, text, terms FROM chunks ORDER BY chunk_id"
    assert _rows(distributed, articles) == _rows(local, articles)
    assert _rows(distributed, chunks) == _rows(local, chunks)
    names = ["vectors.faiss"] + (["companion.faiss"] if storage.read_manifest(local)[1].get("companion") else [])
    for name in names:
        mine, theirs = _vectors(local, name), _vectors(distributed, name)
        assert mine.keys() == theirs.keys(), name
        cosines = np.array([float(mine[i] @ theirs[i]) for i in mine])
        assert cosines.min() >= 0.999, (name, cosines.min())
    a, b = qa.load_index(local), qa.load_index(distributed)
    for question in questions:
        assert [p.chunk_id for p in a.search(question, k=5)] == [p.chunk_id for p in b.search(question, k=5)], question


def test_a_ray_build_of_the_seeds_equals_a_local_build(cluster, seed_index_dir, tmp_path):
    report = qa.build_index(SEEDS, tmp_path / "index", ray=cluster)
    assert report.embedded == report.chunks > 0 and not report.skipped
    manifest = storage.read_manifest(tmp_path / "index")[1]
    assert manifest.get("companion"), "the Arabic seed needs multilingual vectors, on Ray as locally"
    _assert_same_index(seed_index_dir, tmp_path / "index", QUESTIONS)


def test_a_ray_build_of_squad_paragraphs_equals_a_local_build(cluster, squad, tmp_path):
    articles, questions = squad
    qa.build_index(articles, tmp_path / "local")
    report = qa.build_index(articles, tmp_path / "ray", ray=cluster)
    assert len(report.added) == len(list(articles.iterdir())) > 100
    _assert_same_index(tmp_path / "local", tmp_path / "ray", questions)


def test_an_incremental_ray_build_embeds_only_the_changed_article(cluster, source, tmp_path):
    index = tmp_path / "index"
    qa.build_index(source, index, ray=cluster)
    changed = sorted(p for p in source.rglob("*") if p.is_file())[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nA closing line added by the editor.\n",
                       encoding="utf-8")
    doc_id = changed.relative_to(source).as_posix()
    report = qa.build_index(source, index, ray=cluster)
    assert report.updated == [doc_id] and not report.added and len(report.unchanged) == 4
    (own_chunks,) = _rows(index, f"SELECT COUNT(*) FROM chunks WHERE doc_id = '{doc_id}'")[0:1]
    assert report.embedded == own_chunks[0] < report.chunks
    assert any("closing line added by the editor" in p.text for p in qa.load_index(index).search(
        "closing line added by the editor", k=3))


def test_a_worker_killed_mid_build_leaves_a_working_index(cluster, squad, tmp_path):
    articles, questions = squad
    partial = tmp_path / "articles"
    partial.mkdir()
    files = sorted(p for p in articles.iterdir() if p.is_file())
    for path in files[:40]:
        shutil.copy(path, partial / path.name)
    index = tmp_path / "index"
    qa.build_index(partial, index)  # the previous generation, which must keep answering
    for path in files[40:]:
        shutil.copy(path, partial / path.name)
    build = subprocess.Popen([sys.executable, "-m", "qa.cli", "build", str(partial), "--index", str(index),
                              "--ray", cluster], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 240
    while killed is None and build.poll() is None and time.monotonic() < deadline:
        killed = _kill_an_embedding_actor()
        time.sleep(0.2)
    out, err = build.communicate(timeout=600)
    assert killed, f"no embedding actor was seen to kill (build exited {build.returncode}): {err[-2000:]}"
    opened = qa.load_index(index)  # integrity checks pass: the pointer names a complete generation
    if build.returncode == 0:  # Ray replaced the actor and sent its batch again
        assert len(_rows(index, "SELECT doc_id FROM articles")) == len(files)
        hits = opened.search(questions[-1], k=5)
        assert hits, "the finished index answers"
    else:  # the build failed, saying so, and the previous generation still answers
        assert err.strip(), "a failed build says why"
        assert len(_rows(index, "SELECT doc_id FROM articles")) == 40
        assert opened.search(questions[0], k=5)


def _kill_an_embedding_actor() -> int | None:
    """SIGKILL the first Ray worker process running the embedding actor (its title names it)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "EmbedActor" in cmdline and "MapWorker" in cmdline:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except ProcessLookupError:
                continue
            return int(proc.name)
    return None


def test_without_ray_the_build_says_how_to_install_it(tmp_path):
    shim = tmp_path / "shim" / "ray"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    env = {**os.environ, "PYTHONPATH": f"{shim.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    run = subprocess.run([sys.executable, "-m", "qa.cli", "build", str(SEEDS), "--index", str(tmp_path / "index"),
                          "--ray"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode != 0
    assert "pip install 'qa[ray]'" in run.stderr
    assert not (tmp_path / "index").exists() or not any((tmp_path / "index").iterdir())
