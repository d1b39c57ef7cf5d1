"""Incremental builds embed only what changed; an index refuses a different model."""
import shutil

import pytest

import qa
from qa.embedder import resolve_model

from corpus import RUSSIA, SEEDS, TURKEY_AR, TURKEY_EN

NEW_ARTICLE = """Egypt and Greece hold joint naval exercise Medusa

Egyptian and Greek navies concluded the Medusa joint exercise off the island of Crete on Monday,
practising anti-submarine warfare and search-and-rescue drills with frigates and helicopters.
"""


def test_add_modify_delete_and_repeat(source, tmp_path):
    index_dir = tmp_path / "index"
    first = qa.build_index(source, index_dir)
    assert len(first.added) == 5 and first.embedded == first.chunks > 0

    (source / "new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    added = qa.build_index(source, index_dir)
    assert added.added == ["new.txt"] and added.updated == [] and added.removed == []
    assert len(added.unchanged) == 5
    new_chunks = added.chunks - first.chunks
    assert added.embedded == new_chunks >= 1
    assert qa.load_index(index_dir).search("Medusa exercise off Crete", k=1)[0].doc_id == "new.txt"

    path = source / TURKEY_EN
    path.write_text(path.read_text(encoding="utf-8") + "\nThe two navies will also hold a drill named Blue Crescent.",
                    encoding="utf-8")
    modified = qa.build_index(source, index_dir)
    assert modified.updated == [TURKEY_EN] and modified.added == [] and modified.removed == []
    turkey_chunks = sum(1 for _ in _chunks_of(index_dir, TURKEY_EN))
    assert modified.embedded == turkey_chunks
    assert "Blue Crescent" in qa.load_index(index_dir).search("Blue Crescent drill", k=1)[0].text

    (source / RUSSIA).unlink()
    deleted = qa.build_index(source, index_dir)
    assert deleted.removed == [RUSSIA] and deleted.embedded == 0
    index = qa.load_index(index_dir)
    for mode in ("hybrid", "dense", "lexical"):
        assert all(h.doc_id != RUSSIA for h in index.search("Shoigu Moscow Russian defense ministry", k=10, mode=mode))
    with pytest.raises(KeyError):
        index.article(RUSSIA)

    again = qa.build_index(source, index_dir)
    assert again.embedded == 0 and again.added == again.updated == again.removed == []
    assert len(again.unchanged) == 5


def _chunks_of(index_dir, doc_id):
    index = qa.load_index(index_dir)
    snap = index._snapshot
    return [i for i, d in enumerate(snap.doc_of) if d == doc_id]


def test_rebuild_starts_fresh(source, tmp_path):
    index_dir = tmp_path / "index"
    qa.build_index(source, index_dir)
    report = qa.build_index(source, index_dir, rebuild=True)
    assert len(report.added) == 5 and report.embedded == report.chunks
    assert len(list(index_dir.glob("g*"))) == 1


def test_other_model_is_refused_naming_both(seed_index_dir, tmp_path):
    other = resolve_model("all-MiniLM-L6-v2")  # the same weights under another name: a path
    copy = tmp_path / "index"
    shutil.copytree(seed_index_dir, copy)
    with pytest.raises(qa.IndexMismatchError) as err:
        qa.build_index(SEEDS, copy, model=other)
    assert "all-MiniLM-L6-v2" in str(err.value) and other in str(err.value) and "--rebuild" in str(err.value)
    with pytest.raises(qa.IndexMismatchError):
        qa.load_index(copy, model=other)
    with pytest.raises(qa.IndexMismatchError):
        qa.build_index(SEEDS, copy, settings=qa.Settings(chunk_tokens=120))


def test_a_model_given_by_path_goes_through_the_generic_loader(tmp_path):
    """Any sentence-transformers name or path works; tested offline on the bundled weights."""
    path = resolve_model("all-MiniLM-L6-v2")
    index_dir = tmp_path / "index"
    qa.build_index(SEEDS, index_dir, model=path)
    index = qa.load_index(index_dir)
    assert index.model == path and index.manifest["model_languages"] == ["*"]
    assert index.search("Bayraktar drones at EDEX", k=1)[0].doc_id == TURKEY_EN


def test_large_indexes_switch_to_hnsw_and_keep_recall(tmp_path):
    """Above Settings.approximate_above the vectors go into HNSW (recorded in the manifest);
    its top 10 agree with exact search. The threshold is lowered to exercise it on the seeds."""
    import numpy as np

    exact_dir, approx_dir = tmp_path / "exact", tmp_path / "approx"
    qa.build_index(SEEDS, exact_dir)
    settings = qa.Settings(approximate_above=10)
    qa.build_index(SEEDS, approx_dir, settings=settings)
    exact, approx = qa.load_index(exact_dir), qa.load_index(approx_dir)
    assert exact.manifest["vector_index"] == "flat" and approx.manifest["vector_index"] == "hnsw"
    recalls = []
    for query in ["Bayraktar drones at EDEX", "Pakistan army chief", "Russian naval drill", "KAAN fighter jet"]:
        want = {(p.doc_id, p.start) for p in exact.search(query, k=10, mode="dense")}
        got = {(p.doc_id, p.start) for p in approx.search(query, k=10, mode="dense")}
        recalls.append(len(want & got) / len(want))
    assert np.mean(recalls) >= 0.95


def test_very_large_indexes_compress_their_vectors_and_keep_recall(tmp_path):
    """Above Settings.compress_above the vectors go into IVF over 8-bit codes, its nprobe tuned
    on its own vectors to recall@10 >= 0.95 (recorded in the manifest); search agrees with
    exact search (the reader's lists memory-mapped), an article removed leaves it (the next
    build reads the lists itself, while the reader still has them mapped), and a filter on one
    article still finds its chunks. Thresholds lowered to exercise it on 150 SQuAD paragraphs."""
    import sys

    import numpy as np

    from corpus import ROOT
    sys.path.insert(0, str(ROOT / "bench"))
    import common

    task = common.load_tasks(common.DEFAULT_DATA, ["squad"], 150)[0]
    articles = common.write_articles(task, tmp_path / "articles")
    exact_dir, small_dir = tmp_path / "exact", tmp_path / "compressed"
    qa.build_index(articles, exact_dir)
    settings = qa.Settings(approximate_above=10, compress_above=50)
    qa.build_index(articles, small_dir, settings=settings)
    exact, small = qa.load_index(exact_dir), qa.load_index(small_dir)
    assert small.manifest["vector_index"] == "ivf-sq8"
    assert small._snapshot.vectors.mapped  # the reader maps its lists, read-only
    tuning = small.manifest["vector_search"]
    assert tuning["recall_at_10"] >= 0.95 and 1 <= tuning["nprobe"] and tuning["nlist"] >= 2
    questions = [q.text for q in task.questions[:60]]
    recalls = []
    for query in questions:
        want = {p.chunk_id for p in exact.search(query, k=10, mode="dense")}
        got = {p.chunk_id for p in small.search(query, k=10, mode="dense")}
        recalls.append(len(want & got) / len(want))
    assert np.mean(recalls) >= 0.9, np.mean(recalls)
    top = small.search(questions[0], k=1)[0]
    its_chunks = len(_chunks_of(small_dir, top.doc_id))
    (articles / top.doc_id).unlink()
    report = qa.build_index(articles, small_dir, settings=settings)
    assert report.removed == [top.doc_id] and report.embedded == 0
    again = qa.load_index(small_dir)
    assert again.manifest["vector_index"] == "ivf-sq8" and len(again) == len(small) - its_chunks
    assert all(p.doc_id != top.doc_id for p in again.search(questions[0], k=10))
    one = sorted(p.name for p in articles.iterdir())[3]
    hits = again.search(questions[0], k=5, where={"doc_id": one})
    assert hits and {p.doc_id for p in hits} == {one}


def test_terms_of_an_older_tokenizer_are_rederived_without_embedding(source, tmp_path, monkeypatch):
    # An index whose stored BM25 terms came from another tokenizer (simulated: one that kept
    # no Arabic word, recorded as version 1) gets every chunk's terms re-derived by the next
    # build, with no file changed and nothing embedded.
    import json
    import sqlite3

    import qa.build
    import qa.reading
    from qa.lexical import tokenize

    index_dir = tmp_path / "index"
    real_tokenize = qa.reading.tokenize
    with monkeypatch.context() as m:
        m.setattr(qa.build, "TERMS_VERSION", 1)
        m.setattr(qa.reading, "tokenize", lambda text: [t for t in real_tokenize(text) if t.isascii()])
        first = qa.build_index(source, index_dir)
    arabic_query = "قائد القوات الجوية التركية"
    assert TURKEY_AR not in {p.doc_id for p in qa.load_index(index_dir).search(arabic_query, k=3, mode="lexical")}

    again = qa.build_index(source, index_dir)
    assert again.embedded == 0 and again.chunks == first.chunks
    index = qa.load_index(index_dir)
    assert index.manifest["terms_version"] == qa.build.TERMS_VERSION
    assert index.search(arabic_query, k=1, mode="lexical")[0].doc_id == TURKEY_AR
    gen = index_dir / json.loads((index_dir / "CURRENT").read_text())["generation"]
    with sqlite3.connect(gen / "store.sqlite") as conn:
        for start, text, title, terms in conn.execute(
                "SELECT c.start, c.text, a.title, c.terms FROM chunks c JOIN articles a USING (doc_id)"):
            assert json.loads(terms) == tokenize(f"{title}\n{text}" if start else text)
    assert qa.build_index(source, index_dir).embedded == 0  # and now nothing is left to do


def test_arabic_articles_are_cut_by_the_companions_tokens_and_older_cuts_redone(source, tmp_path, monkeypatch):
    # MiniLM spends ~4.7 word pieces on an Arabic word, so counting Arabic by it cut chunks a
    # third of the intended size. An index cut that way (simulated: recorded as rule 1, the
    # companion languages empty) has its Arabic articles cut again by the next build, and only
    # those are embedded again.
    import json
    import sqlite3

    import qa.companion
    from qa import multilingual

    if not multilingual.installed():
        pytest.skip("the multilingual companion cannot run here")
    index_dir = tmp_path / "index"
    with monkeypatch.context() as m:
        m.setattr(qa.companion, "CHUNK_COUNTING", 1)
        m.setattr(qa.companion, "companion_languages", lambda settings: ())
        first = qa.build_index(source, index_dir)

    def arabic_chunks():
        gen = index_dir / json.loads((index_dir / "CURRENT").read_text())["generation"]
        with sqlite3.connect(gen / "store.sqlite") as conn:
            return [text for (text,) in conn.execute(
                "SELECT text FROM chunks WHERE doc_id = ? ORDER BY ord", (TURKEY_AR,))]

    before = arabic_chunks()
    again = qa.build_index(source, index_dir)
    after = arabic_chunks()
    assert again.updated == [TURKEY_AR] and again.embedded == len(after)
    assert qa.load_index(index_dir).manifest["chunk_counting"] == qa.companion.CHUNK_COUNTING
    model = multilingual.load()
    assert len(after) < len(before)
    assert max(model.count_tokens(t) for t in after) <= qa.Settings().chunk_tokens
    assert sum(len(t.split()) for t in after) / len(after) > 1.5 * sum(len(t.split()) for t in before) / len(before)
    assert qa.load_index(index_dir).search("قائد القوات الجوية التركية", k=1)[0].doc_id == TURKEY_AR
    assert qa.build_index(source, index_dir).embedded == 0  # and now nothing is left to do
    assert first.chunks - len(before) == again.chunks - len(after)  # the other articles as they were
