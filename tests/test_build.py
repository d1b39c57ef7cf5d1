"""Building the index from the seed articles: passages, offsets, chunk sizes, boilerplate."""
import sqlite3

import numpy as np
import pytest

import qa
from qa.reading import title_prefix

from corpus import PAKISTAN, RUSSIA, SEEDS, TURKEY_AR, TURKEY_EN, TURKEY_MEETING


def all_chunks(index_dir):
    gen = (index_dir / "CURRENT").read_text()
    import json

    folder = index_dir / json.loads(gen)["generation"]
    conn = sqlite3.connect(folder / "store.sqlite")
    rows = conn.execute("SELECT c.doc_id, c.start, c.end, c.text, a.text, a.title FROM chunks c "
                        "JOIN articles a USING(doc_id)").fetchall()
    conn.close()
    return rows


def test_bayraktar_query_finds_the_edex_passage(index):
    hits = index.search("Bayraktar drones shown at EDEX", k=5)
    assert hits[0].doc_id == TURKEY_EN
    assert "Bayraktar" in hits[0].text
    assert hits == sorted(hits, key=lambda p: -p.score)


def test_passage_offsets_point_into_the_stored_article(index):
    for query in ["Bayraktar drones", "Pakistan army chief", "القوات الجوية", "Moscow naval drill"]:
        for p in index.search(query, k=5):
            assert index.article(p.doc_id).text[p.start:p.end] == p.text


def test_every_chunk_offset_is_exact(seed_index_dir):
    rows = all_chunks(seed_index_dir)
    assert len(rows) > 5
    for doc_id, start, end, text, article_text, _ in rows:
        assert article_text[start:end] == text, doc_id


def test_no_chunk_exceeds_the_model_limit(seed_index_dir, embedder):
    """Every chunk fits the model whose vectors represent it, counted by its tokenizer: the
    main model's, or for a language only the multilingual companion reads (Arabic beside
    MiniLM), the companion's (qa.companion.companion_languages). MiniLM still embeds those
    chunks, truncated: it ranks Arabic text near random whatever its length."""
    from qa import multilingual
    from qa.companion import companion_languages

    settings = qa.Settings()
    by_companion = companion_languages(settings)
    companion = multilingual.load() if by_companion else None
    counted_by = {lang: companion for lang in by_companion}
    languages = {doc_id: lang for doc_id, lang in articles_languages(seed_index_dir)}
    assert "ar" in languages.values()
    for doc_id, start, end, text, _, title in all_chunks(seed_index_dir):
        model = counted_by.get(languages[doc_id], embedder)
        limit = model.max_tokens - (model.special_tokens() if model is embedder else 2)  # e5: <s>, </s>
        prefix = title_prefix(title, model.count_tokens, settings.title_tokens)
        embedded = f"{prefix}\n{text}" if start else text
        assert model.count_tokens(embedded) <= limit, (doc_id, start)
        assert model.count_tokens(text) <= settings.chunk_tokens, (doc_id, start)


def articles_languages(index_dir):
    import json

    folder = index_dir / json.loads((index_dir / "CURRENT").read_text())["generation"]
    with sqlite3.connect(folder / "store.sqlite") as conn:
        return conn.execute("SELECT doc_id, lang FROM articles").fetchall()


def test_chunks_end_at_sentence_boundaries_where_possible(seed_index_dir):
    ends = [text[-1] for _, _, _, text, _, _ in all_chunks(seed_index_dir)]
    # Headings end with ":" and the last chunk of an article ends where the article does.
    assert sum(ch in ".?!؟”:" for ch in ends) / len(ends) > 0.8


@pytest.mark.parametrize("noise", ["Share this article", "Advertisement", "READ MORE ARTICLES ON", "Discover More",
                                   "ASA Logo", "REUTERS/", "TotalEnergies", "Request for interest", "min read",
                                   "vladimir putin fattah al sisi", "1. Home", "Original Source"])
def test_boilerplate_is_not_in_any_chunk(seed_index_dir, noise):
    for doc_id, _, _, text, _, _ in all_chunks(seed_index_dir):
        assert noise not in text, doc_id


def test_article_sentences_survive_cleaning(index):
    assert "Together, they embody a growing trend" in index.article(PAKISTAN).text
    assert "It is important for our countries." in index.article(RUSSIA).text
    assert "Original Source" in " ".join(index.article(TURKEY_MEETING).removed)
    assert index.article(TURKEY_EN).text.endswith("support to Egyptian partners.")


def test_metadata_of_each_seed(index):
    pak = index.article(PAKISTAN)
    assert pak.title == "Egypt and Pakistan Deepen Defence Cooperation in Cairo Meetings"
    assert pak.date == "2025-10-29" and pak.lang == "en"
    ar = index.article(TURKEY_AR)
    assert ar.lang == "ar" and ar.title == "محادثات عسكرية مصرية تركية لتعزيز الشراكة والتعاون"
    assert index.article(TURKEY_MEETING).source == "newscentral.africa"
    assert index.article(TURKEY_EN).source == "Asharq Al-Awsat"
    assert index.article(RUSSIA).title == "Russia and Egypt just got even closer"
    assert index.article(TURKEY_EN).title.startswith("Cairo and Ankara are moving to deepen")
    for doc_id in index.articles():
        a = index.article(doc_id)
        assert a.doc_id == doc_id and len(a.content_hash) == 64
        assert a.date is None or len(a.date) == 10


def test_search_matches_brute_force_cosine(index):
    """Dense search equals an exhaustive numpy ranking over the stored vectors. The seeds hold
    Arabic, so the multilingual companion scores every chunk: its cosine, calibrated per same-
    or cross-language pair, other languages discounted (qa.index._dense)."""
    from qa.index import CROSS_LANGUAGE_DENSE
    from qa.multilingual import calibrated

    snap = index._snapshot
    query = "joint naval drill in the Mediterranean"
    ids, vectors = snap.companion.all_vectors()
    model = index.multilingual()
    same = np.array([snap.row_lang[np.searchsorted(snap.chunk_ids, i)] == "en" for i in ids])
    scores = calibrated(vectors @ model.queries([query])[0], same) * np.where(same, 1.0, CROSS_LANGUAGE_DENSE)
    expected = ids[np.argsort(-scores)][:5]
    hits = index.search(query, k=5, mode="dense")
    assert [h.chunk_id for h in hits][:3] == expected[:3].tolist()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_main_model_search_matches_brute_force_cosine(tmp_path, embedder, monkeypatch):
    """The same for the main model's vectors, on an index built without the companion."""
    monkeypatch.setenv("QA_MULTILINGUAL", "never")
    qa.build_index(SEEDS, tmp_path / "index")
    index = qa.load_index(tmp_path / "index")
    snap = index._snapshot
    assert snap.companion is None
    ids, vectors = snap.vectors.all_vectors()
    q = embedder.queries(["joint naval drill in the Mediterranean"])[0]
    expected = ids[np.argsort(-(vectors @ q))][:5]
    hits = index.search("joint naval drill in the Mediterranean", k=5, mode="dense")
    assert [h.chunk_id for h in hits][:3] == expected[:3].tolist()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_manifest_describes_the_index(index):
    m = index.manifest
    assert m["model"] == "all-MiniLM-L6-v2" and m["dimension"] == 384 and m["normalized"] is True
    assert m["chunk_tokens"] == 200 and m["counts"]["articles"] == 5
    assert m["model_languages"] == ["en"]
    assert all(len(f["sha256"]) == 64 for f in m["files"].values())


def test_missing_index_and_empty_query_raise_named_errors(tmp_path, index):
    with pytest.raises(qa.IndexNotFoundError, match="no index at"):
        qa.load_index(tmp_path / "nowhere")
    for empty in ["", "   ", "\n\t"]:
        with pytest.raises(qa.EmptyQueryError):
            index.search(empty)


def test_missing_source_folder_is_a_named_error(tmp_path):
    with pytest.raises(qa.SourceNotFoundError):
        qa.build_index(tmp_path / "no-such-folder", tmp_path / "index")
