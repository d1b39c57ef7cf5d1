"""bench/synthetic_index.py writes the indexes bench/reader_memory.py measures at millions of
chunks without holding them in memory. Checked here at a few thousand chunks against the
product's own pieces: its BM25 columns score like bm25s's index() over the same terms, its
streamed IVF is tuned as VectorIndex.compressed tunes, and qa opens and searches the result."""
import json

import numpy as np
import pytest

import qa
from qa import store
from corpus import load_bench as load
from qa.lexical import LexicalIndex, tokenize


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    module = load("synthetic_index")
    module.BATCH = 1_000  # several batches, so the streaming is what is tested
    target = tmp_path_factory.mktemp("synthetic") / "index"
    module.make_index(target, 3_500, "ivf-sq8")
    return module, target


def test_bm25_columns_score_as_bm25s_index_does(synthetic):
    _, target = synthetic
    generation = next(p for p in target.glob("g*") if (p / "manifest.json").is_file())
    conn = store.open_db(generation / "store.sqlite", readonly=True)
    rows = conn.execute("SELECT chunk_id, text, terms FROM chunks ORDER BY chunk_id").fetchall()
    assert [r[0] for r in rows] == list(range(3_500))
    assert all(tokenize(text) == json.loads(terms) for _, text, terms in rows[:200])
    reference = LexicalIndex.build([json.loads(terms) for *_, terms in rows], np.arange(len(rows)))
    streamed = LexicalIndex.load(generation / "bm25")
    assert np.array_equal(streamed.ids, reference.ids)
    for query in ("defence minister visit Cairo drones", "joint naval exercise", "Pakistan air force training"):
        terms = tokenize(query)
        assert np.any(reference.scores(terms) > 0)
        np.testing.assert_allclose(streamed.scores(terms), reference.scores(terms), rtol=1e-5, atol=1e-6)
        assert [streamed.idf(t) for t in terms] == pytest.approx([reference.idf(t) for t in terms])


def test_streamed_ivf_is_tuned_and_the_index_opens_and_searches(synthetic):
    _, target = synthetic
    manifest = json.loads(next(target.glob("g*/manifest.json")).read_text())
    assert manifest["vector_index"] == "ivf-sq8"
    tuning = manifest["vector_search"]
    assert tuning["recall_at_10"] >= 0.95 and tuning["nlist"] >= 1 and tuning["nprobe"] >= 1
    index = qa.load_index(target)
    hits = index.search("Pakistan air force training agreement", k=5)
    assert len(hits) == 5
    dated = index.search("Pakistan air force training agreement", k=5, where={"date_from": "2020-01-01"})
    assert dated and all(h.date >= "2020-01-01" for h in dated)


def test_streamed_vectors_are_the_ones_scale_draws(synthetic):
    from qa.vectors import VectorIndex

    _, target = synthetic
    scale = load("scale")
    base, _ = scale.make_dataset("clustered", 3_500, 200)
    generation = next(p for p in target.glob("g*") if (p / "manifest.json").is_file())
    manifest = json.loads((generation / "manifest.json").read_text())
    vectors = VectorIndex.load(generation / "vectors.faiss", "ivf-sq8", manifest["vector_search"])
    sample = [0, 999, 1_000, 3_499]
    decoded = np.vstack([vectors.index.reconstruct(i) for i in sample])
    assert np.all(np.sum(decoded * base[sample], axis=1) > 0.99)  # 8-bit codes of the same rows
